import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { asRoot } from "./core/connection";
import type { KindFile, Settings } from "./core/kind";
import { applyScript } from "./core/managedFileScript";
import { limitsHooks } from "./limits/hooks";
import { sysctlHooks } from "./sysctl/hooks";
import { KINDS, SETTINGS_TABLES } from "./kinds";
import { limitsKind } from "./limits/kind";
import { monitorKind } from "./monitor/kind";
import { redisHostKind } from "./redisHost/kind";
import { sshdKind } from "./sshd/kind";
import { sysctlKind } from "./sysctl/kind";
import { systemdOverrideKind } from "./systemdOverride/kind";

/** Every file every host kind can write: each kind with settings that turn all its files on. */
const files: Array<[string, KindFile]> = [
    ...sshdKind.files(sshdKind.schema.parse({})).map((f) => ["sshd", f] as [string, KindFile]),
    ...sysctlKind.files(sysctlKind.schema.parse({})).map((f) => ["sysctl", f] as [string, KindFile]),
    ...limitsKind.files(limitsKind.schema.parse({ pam: "enable" }), { user: "root" }).map((f) => ["limits", f] as [string, KindFile]),
    ...systemdOverrideKind.files(systemdOverrideKind.schema.parse({ unit: "x.service", settings: { Service: { LimitNOFILE: 1024 } } })).map((f) => ["override", f] as [string, KindFile]),
    ...systemdOverrideKind.files(systemdOverrideKind.schema.parse({ unit: "ssh.service", settings: { Service: { LimitNOFILE: 1024 } } })).map((f) => ["ssh.service override", f] as [string, KindFile]),
    ...monitorKind.files(monitorKind.schema.parse({})).map((f) => ["monitor", f] as [string, KindFile]),
    ...redisHostKind.files(redisHostKind.schema.parse({ settings: {}, auth: { passwordSecret: "pw" } }), { user: "root", redisPassword: true }).map((f) => ["redis", f] as [string, KindFile]),
];

describe("every kind", () => {
    it.each(files.map(([k, f]) => [`${k} ${f.suffix}`, f] as const))("writes valid bash for %s (apply and delete, as root and through sudo)", (_k, f) => {
        const spec = { path: f.path, mode: f.mode, vars: f.vars, hooks: f.hooks };
        for (const script of [applyScript(spec)]) {
            for (const cmd of [asRoot({ sudo: false }, script), asRoot({ sudo: true }, script), asRoot({ sudo: true, sudoPassword: "pw" }, script)]) {
                const r = spawnSync("bash", ["-n", "-c", cmd], { encoding: "utf8" });
                expect(r.stderr).toBe("");
                expect(r.status).toBe(0);
            }
            const inner = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
            expect(inner.stderr).toBe("");
        }
    });

    it("keeps the component type tokens existing stacks hold", () => {
        expect(KINDS.map((k) => [k.component, k.token])).toEqual([
            ["SshdHardening", "conntune:host:SshdHardening"],
            ["SysctlProfile", "conntune:host:SysctlProfile"],
            ["FileDescriptorLimits", "conntune:host:FileDescriptorLimits"],
            ["SystemdUnitOverride", "conntune:host:SystemdUnitOverride"],
            ["ConnectionMonitor", "conntune:host:ConnectionMonitor"],
            ["RedisServerConfig", "conntune:host:RedisServerConfig"],
            ["RedisConfigMap", "conntune:k8s:RedisConfigMap"],
        ]);
    });

    it.each(Object.entries(SETTINGS_TABLES))("says what each %s setting allows and why", (_name, settings) => {
        const all = (s: Settings): Array<[string, { allowed: string; reason: string }]> => Object.entries(s).flatMap(([k, v]) => [[k, v] as [string, { allowed: string; reason: string }], ...(v.nested ? all(v.nested) : [])]);
        for (const [key, s] of all(settings)) {
            expect(s.allowed.trim(), key).not.toBe("");
            expect(s.reason.trim(), key).not.toBe("");
        }
    });

    it("builds its schema from its settings, in their order (error messages list the keys in that order)", () => {
        for (const k of KINDS) {
            let def = (k.schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
            while (!def.shape && (def.in || def.schema)) def = ((def.in ?? def.schema) as { _zod: { def: Record<string, unknown> } })._zod.def;
            expect(Object.keys(def.shape as object), k.component).toEqual(Object.keys(k.settings));
        }
    });
});

describe("the read operation (Pulumi's refresh) per kind", () => {
    it("in read, the sysctl and limits hooks do not write or log in (open without a write, in every operation; the script's own limits)", () => {
        const sys = sysctlHooks().verify!;
        expect(sys).toContain('{ : >>"$f"; } 2>/dev/null ||');
        expect(sys).not.toMatch(/(^|[^>])>\s*"\$f"/);
        const lim = limitsHooks().verify!;
        expect(lim.indexOf("ulimit -Sn")).toBeGreaterThan(0);
    });
});
