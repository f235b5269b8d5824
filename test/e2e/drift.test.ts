/**
 * Drift through Pulumi itself, on a real test host: `pulumi preview --refresh --diff` shows what
 * changed behind conntune's back (the changed line of an edited file; the key and both values of a
 * runtime change), over ONE SSH login per host; `pulumi up --refresh` re-applies exactly the drifted
 * file; a clean host shows no change; a plain preview opens no SSH connection. `npm run drift` sits
 * on the same refresh preview (exit 0 clean, 1 drift, 2 error).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addGatewayUnit, capability, hostExec, startHost, startHosts, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, hostStack, noChanges, REPO, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

const SSHD = "/etc/ssh/sshd_config.d/00-conntune.conf";
const SYSCTL = "/etc/sysctl.d/99-conntune-tcp.conf";
const LIMITS = "/etc/security/limits.d/90-conntune-nofile.conf";
const OVERRIDE = "/etc/systemd/system/llm-gateway.service.d/50-conntune.conf";
const FILES = [SSHD, SYSCTL, LIMITS, OVERRIDE];

interface Report { drift: boolean; hosts: Record<string, { files?: Array<{ file: string; kind: string; details: string[] }>; error?: string }>; pending: Array<{ op: string; name: string; keys: string[] }> }

/** `npm run drift` on a lab stack (its project copy and backend). */
function runDrift(stack: Stack, ...extra: string[]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync("npx", ["tsx", path.join(REPO, "scripts/drift.ts"), "--stack", stack.name, "--project-dir", stack.projectDir, ...extra], { env: stack.env, encoding: "utf8", cwd: REPO, timeout: 300_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.runIf(run)("drift through pulumi refresh", () => {
    let h: TestHost;
    let stack: Stack;
    const logins = () => Number(hostExec(h, "journalctl -t sshd -o cat --no-pager | grep -c '^Accepted' || true").trim());
    /** inode and mtime (ns) of each managed file: what a re-apply of that file would change. */
    const stamps = () => Object.fromEntries(FILES.map((f) => [f, hostExec(h, `stat -c '%i %y' ${f} 2>/dev/null || echo missing`).trim()]));
    const except = (s: Record<string, string>, file: string) => Object.fromEntries(Object.entries(s).filter(([f]) => f !== file));
    const previewRefresh = async () => {
        const before = logins();
        const r = await stack.preview(["--refresh"]);
        expect(logins() - before, "SSH logins for one refresh preview of one host").toBe(1);
        return `${r.stdout}\n${r.stderr}`;
    };
    /** up --refresh, then: only `file` changed on the host (inode or mtime), the others untouched, and a clean refresh after. */
    const repairOnly = async (file: string | undefined) => {
        const before = stamps();
        await stack.up(["--refresh"]);
        const after = stamps();
        expect(file ? except(after, file) : after).toEqual(file ? except(before, file) : before);
        expect(noChanges((await stack.preview(["--refresh"])).stdout)).toBe(true);
    };
    const drift = (...extra: string[]) => runDrift(stack, ...extra);
    const web1 = (soft: number) => ({
        name: "web1", connection: { host: h.address, user: "root", hostKey: h.hostKey },
        sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
        limits: { soft, hard: 16384, systemdDefault: null },
        systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 16384 } } }],
    });

    beforeAll(async () => {
        h = await startHost({ prepare: (root) => addGatewayUnit(root, true) });
        stack = await hostStack(h, "e2e-drift");
        await stack.setHosts([web1(4096)]);
        await stack.up();
        expect(hostExec(h, "systemctl is-active llm-gateway.service").trim()).toBe("active");
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("on a clean host preview --refresh and refresh --preview-only show no change over one login, a plain preview opens none, and refresh changes nothing", async () => {
        expect(noChanges(await previewRefresh())).toBe(true);
        let before = logins();
        // The stack's env skips confirmations (implied --yes), which refresh --preview-only refuses.
        const r = spawnSync("pulumi", ["refresh", "--preview-only", "--diff", "--non-interactive", "--stack", stack.name], { cwd: stack.projectDir, env: { ...stack.env, PULUMI_SKIP_CONFIRMATIONS: "false" }, encoding: "utf8", timeout: 300_000 });
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(logins() - before).toBe(1);
        expect(r.stdout).not.toMatch(/\bupdated?\b|~ /);
        before = logins();
        expect(noChanges((await stack.preview()).stdout)).toBe(true);
        expect(logins() - before, "a plain preview opens no SSH connection").toBe(0);
        const s = stamps();
        await stack.run(["refresh", "--yes", "--skip-preview", "--stack", stack.name]);
        before = logins();
        expect(noChanges((await stack.preview()).stdout), "a plain preview after refresh of a clean host").toBe(true);
        expect(logins() - before).toBe(0);
        expect(stamps()).toEqual(s);
    });

    it("shows an edited sshd drop-in as the changed line, and up --refresh re-applies only that file", async () => {
        hostExec(h, `echo 'MaxAuthTries 2' >> ${SSHD}`);
        const out = await previewRefresh();
        expect(out).toMatch(/sshd[^\n]*\n(?:.*\n)*?.*stdin/);
        expect(out).toContain("MaxAuthTries 2");
        await repairOnly(SSHD);
        expect(hostExec(h, `grep -c MaxAuthTries ${SSHD} || true`).trim()).toBe("0");
    });

    it("shows a sysctl -w with the key and both values, and up --refresh sets it again touching no file", async () => {
        hostExec(h, "sysctl -w net.ipv4.tcp_keepalive_time=7200");
        const out = await previewRefresh();
        expect(out).toContain("net.ipv4.tcp_keepalive_time: wanted 600, the kernel shows 7200");
        await repairOnly(undefined);
        expect(hostExec(h, "sysctl -n net.ipv4.tcp_keepalive_time").trim()).toBe("600");
    });

    it("shows a removed limits file as its lines gone, and up --refresh puts back only that file", async () => {
        const content = hostExec(h, `cat ${LIMITS}`);
        hostExec(h, `rm ${LIMITS}`);
        const out = await previewRefresh();
        expect(out).toContain("soft nofile 4096");
        expect(out).toContain(`${LIMITS} is missing`);
        await repairOnly(LIMITS);
        expect(hostExec(h, `cat ${LIMITS}`)).toBe(content);
    });

    it("shows a stopped override's unit by its ActiveState, and up --refresh starts it again touching no file", async () => {
        hostExec(h, "systemctl stop llm-gateway.service");
        const out = await previewRefresh();
        expect(out).toMatch(/ActiveState[^\n]*inactive/);
        await repairOnly(undefined);
        expect(hostExec(h, "systemctl is-active llm-gateway.service").trim()).toBe("active");
    });

    it("npm run drift: 0 and a table on a clean host, 1 with the host, file and values on drift, 2 on a bad flag; --repair repairs", () => {
        let r = drift();
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain("no drift");
        hostExec(h, "sysctl -w net.ipv4.tcp_keepalive_time=7200");
        r = drift();
        expect(r.code, r.stdout + r.stderr).toBe(1);
        expect(r.stdout).toMatch(/web1[\s\S]*99-conntune-tcp\.conf[\s\S]*net\.ipv4\.tcp_keepalive_time: wanted 600, the kernel shows 7200/);
        const j = drift("--json");
        expect(j.code).toBe(1);
        const report = JSON.parse(j.stdout) as Report;
        expect(report.drift).toBe(true);
        expect(report.hosts.web1.files?.map((f) => f.file)).toEqual([SYSCTL]);
        for (const [extra, message] of [[["--repiar"], "unknown flag --repiar"], [["--parallel", "abc"], "flag --parallel: must be a whole number"]] as const) {
            const b = drift(...extra);
            expect(b.code, `${extra.join(" ")}: ${b.stdout}${b.stderr}`).toBe(2);
            expect(b.stderr).toContain(message);
            expect(b.stderr).toContain("usage: npm run drift -- --stack NAME");
        }
        r = drift("--repair");
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(hostExec(h, "sysctl -n net.ipv4.tcp_keepalive_time").trim()).toBe("600");
        expect(drift().code).toBe(0);
    });

    it("a settings change not applied yet is a pending change of the program, not drift, and --repair refuses to apply it", async () => {
        await stack.setHosts([web1(2048)]);
        try {
            const before = stamps();
            const r = drift();
            expect(r.code, r.stdout + r.stderr).toBe(1);
            expect(r.stdout).toMatch(/host web1\nno host drift found; pending changes of the program below\n/);
            expect(r.stdout).toMatch(/pending changes of the program[^\n]*\nupdate\s+web1-limits[^\n]*stdin/);
            expect(r.stdout).toContain("PENDING changes of the program (not host drift)");
            const report = JSON.parse(drift("--json").stdout) as Report;
            expect(report.drift).toBe(false);
            expect(report.hosts.web1.files).toEqual([]);
            expect(report.pending.map((p) => p.op)).toContain("update");
            // With drift besides, --repair still refuses: up --refresh would apply the new settings too.
            hostExec(h, "sysctl -w net.ipv4.tcp_keepalive_time=7200");
            const rep = drift("--repair");
            expect(rep.code, rep.stdout + rep.stderr).toBe(2);
            expect(rep.stderr).toContain("drift --repair refused: the program has pending changes");
            expect(rep.stdout).toMatch(/99-conntune-tcp\.conf\s+runtime/);
            expect(stamps()).toEqual(before);
            expect(hostExec(h, `cat ${LIMITS}`)).toContain("soft nofile 4096");
            expect(hostExec(h, "sysctl -n net.ipv4.tcp_keepalive_time").trim()).toBe("7200");
        } finally {
            await stack.setHosts([web1(4096)]);
        }
        expect(drift("--repair").code).toBe(0);
        expect(hostExec(h, "sysctl -n net.ipv4.tcp_keepalive_time").trim()).toBe("600");
    });

    it("prints a host's control characters escaped (\\xNN), never raw to the terminal", async () => {
        hostExec(h, `printf '# \\033]0;pwned\\007\\033[2J\\n' >> ${SSHD}`);
        const r = drift();
        expect(r.code, r.stdout + r.stderr).toBe(1);
        expect(r.stdout).toContain("+ # \\x1b]0;pwned\\x07\\x1b[2J");
        expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
        expect(drift("--repair").code).toBe(0);
    });

    it("a host that cannot be read fails the refresh naming the file and host, and npm run drift exits 2 naming the host", async () => {
        hostExec(h, "systemctl stop ssh.service");
        try {
            const p = await stack.preview(["--refresh"], true);
            expect(p.code).not.toBe(0);
            expect(`${p.stdout}${p.stderr}`).toMatch(new RegExp(`refresh could not read /etc/\\S+ on ${h.address.replace(/\./g, "\\.")}`));
            const r = drift();
            expect(r.code, r.stdout + r.stderr).toBe(2);
            expect(r.stdout).toMatch(/host web1\nERROR: cannot read \/etc\//);
            expect(r.stdout).toContain("drift check incomplete");
        } finally {
            hostExec(h, "systemctl start ssh.service");
        }
    });

    it("a stack that still has conntune:repair (repair tokens of an older conntune) keeps working, with one upgrade note", async () => {
        await stack.setObject("conntune:repair", { web1: { [SYSCTL]: "lx1" } });
        try {
            const r = await stack.preview();
            const note = "conntune:repair is no longer used (drift is repaired with pulumi up --refresh): remove it with pulumi config rm conntune:repair";
            expect(`${r.stdout}${r.stderr}`.split(note).length - 1, r.stdout).toBe(1);
            expect(noChanges(r.stdout)).toBe(true);
        } finally {
            await stack.run(["config", "rm", "conntune:repair", "--stack", stack.name]);
        }
    });

    it("a state whose outputs still hold the scripts (an earlier provider's) and the host component's outputs shows no drift, a no-op up stays one, and destroy restores the host", async () => {
        // Put the state back as the provider before issue 14 wrote it: every input echoed into the outputs.
        type Res = { type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> };
        const exported = JSON.parse((await stack.run(["stack", "export", "--stack", stack.name])).stdout) as { deployment: { resources: Res[] } };
        const commands = exported.deployment.resources.filter((r) => r.type === "command:remote:Command");
        expect(commands.length).toBe(FILES.length);
        for (const r of commands) {
            expect(Object.keys(r.outputs), "this provider's outputs hold no script").not.toContain("create");
            expect(Object.keys(r.inputs)).toContain("delete");
            for (const k of ["create", "update", "delete"]) if (k in r.inputs) r.outputs[k] = r.inputs[k];
        }
        // …and the host component's outputs as the program before issue 14 registered them (its stack outputs again).
        const stackOutputs = exported.deployment.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.outputs as Record<string, Record<string, unknown>>;
        const host = exported.deployment.resources.find((r) => r.type === "conntune:host:TunedHost")!;
        expect(host.outputs ?? {}).toEqual({});
        host.outputs = { outputs: stackOutputs.effective.web1, files: stackOutputs.files.web1 };
        const file = path.join(stack.backendDir, "old-style-state.json");
        fs.writeFileSync(file, JSON.stringify(exported));
        await stack.run(["stack", "import", "--file", file, "--stack", stack.name]);
        const s = stamps();
        expect(noChanges(await previewRefresh())).toBe(true);
        const r = drift();
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain("no drift");
        const before = logins();
        const up = await stack.up();
        expect(noChanges(up.stdout), up.stdout).toBe(true);
        expect(logins() - before, "a no-op up opens no SSH connection").toBe(0);
        expect(stamps()).toEqual(s);
        await stack.destroy();
        expect(stamps()).toEqual(Object.fromEntries(FILES.map((f) => [f, "missing"])));
        expect(hostExec(h, "sshd -T | grep ^clientaliveinterval; sysctl -n net.ipv4.tcp_keepalive_time")).toBe("clientaliveinterval 0\n7200\n");
    });

    it("a stack made when each kind had its own component between the host and its commands is taken over: no command replaced, no login, the host untouched, and destroy restores it", async () => {
        await stack.up();
        const applied = stamps();
        // Put the state back as conntune wrote it before the kinds' commands moved directly under the host:
        // TunedHost → SshdHardening (web1-sshd) → command, and so on per kind.
        type Res = { urn: string; type: string; custom?: boolean; parent?: string; dependencies?: string[]; propertyDependencies?: Record<string, string[]> };
        const exported = JSON.parse((await stack.run(["stack", "export", "--stack", stack.name])).stdout) as { deployment: { resources: Res[] } };
        const res = exported.deployment.resources;
        const host = res.find((r) => r.type === "conntune:host:TunedHost")!;
        const kinds: Array<[string, string]> = [["web1-sshd-", "conntune:host:SshdHardening"], ["web1-sysctl-", "conntune:host:SysctlProfile"], ["web1-limits-", "conntune:host:FileDescriptorLimits"], ["web1-llm-gateway.service-50-conntune.conf-", "conntune:host:SystemdUnitOverride"]];
        const moved = new Map<string, string>();
        const components: Res[] = [];
        for (const r of res.filter((x) => x.type === "command:remote:Command")) {
            expect(r.parent, "this program's commands sit directly under the host").toBe(host.urn);
            const name = r.urn.split("::").pop()!;
            const [prefix, token] = kinds.find(([p]) => name.startsWith(p))!;
            const kindName = prefix.slice(0, -1);
            const kindUrn = `${host.urn.replace(/::web1$/, "")}$${token}::${kindName}`;
            if (!components.some((c) => c.urn === kindUrn)) components.push({ urn: kindUrn, type: token, custom: false, parent: host.urn });
            moved.set(r.urn, r.urn.replace("$command:remote:Command::", `$${token}$command:remote:Command::`));
            r.parent = kindUrn;
        }
        expect(components).toHaveLength(4);
        const renamed = (u: string) => moved.get(u) ?? u;
        for (const r of res) {
            r.urn = renamed(r.urn);
            if (r.dependencies) r.dependencies = r.dependencies.map(renamed);
            if (r.propertyDependencies) r.propertyDependencies = Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.map(renamed)]));
        }
        res.splice(res.indexOf(host) + 1, 0, ...components);
        const file = path.join(stack.backendDir, "kind-components-state.json");
        fs.writeFileSync(file, JSON.stringify(exported));
        await stack.run(["stack", "import", "--file", file, "--stack", stack.name]);
        const before = logins();
        const up = await stack.up();
        // Only the four old components go; every command is the same one (its alias), so none runs.
        expect(up.stdout, up.stdout).toMatch(/- 4 deleted/);
        expect(up.stdout, up.stdout).not.toMatch(/^\s*[-+~]+\s*\d+ (created|updated|replaced)/m);
        expect(logins() - before, "taking the commands over opens no SSH connection").toBe(0);
        expect(stamps()).toEqual(applied);
        const after = JSON.parse((await stack.run(["stack", "export", "--stack", stack.name])).stdout) as { deployment: { resources: Res[] } };
        expect(after.deployment.resources.filter((r) => r.type === "command:remote:Command").map((r) => r.parent)).toEqual(FILES.map(() => host.urn));
        expect(noChanges((await stack.up()).stdout)).toBe(true);
        await stack.destroy();
        expect(stamps()).toEqual(Object.fromEntries(FILES.map((f) => [f, "missing"])));
        expect(hostExec(h, "sshd -T | grep ^clientaliveinterval; sysctl -n net.ipv4.tcp_keepalive_time")).toBe("clientaliveinterval 0\n7200\n");
    });
});

describe.runIf(run)("npm run drift across two hosts", () => {
    let hosts: TestHost[] = [];
    let stack: Stack;

    beforeAll(async () => {
        hosts = await startHosts(2);
        stack = await hostStack(hosts[0], "e2e-drift-two");
        await stack.setHosts(hosts.map((x, i) => ({
            name: `web${i + 1}`, connection: { host: x.address, user: "root", hostKey: x.hostKey },
            sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } }, limits: { soft: 4096, hard: 16384, systemdDefault: null },
        })));
    });

    afterAll(async () => {
        await dispose(stack);
        await stopHosts(hosts);
    });

    it("a stack never applied reports its creates as pending changes, not 'no drift'", () => {
        const r = runDrift(stack);
        expect(r.code, r.stdout + r.stderr).toBe(1);
        expect(r.stdout).toMatch(/pending changes of the program[^\n]*\ncreate\s/);
        expect(r.stdout).toContain("PENDING changes of the program (not host drift)");
        expect(r.stdout).not.toMatch(/^no drift$/m);
    });

    it("one unreachable host is an error of its own: the other host still gets its rows (exit 2)", async () => {
        await stack.up();
        expect(runDrift(stack).code).toBe(0);
        hostExec(hosts[0], `echo 'net.core.somaxconn = 7' >> ${SYSCTL}`);
        hostExec(hosts[1], "systemctl stop ssh.service");
        try {
            const r = runDrift(stack);
            expect(r.code, r.stdout + r.stderr).toBe(2);
            expect(r.stdout).toMatch(/host web1\nfile[^\n]*\n[^\n]*99-conntune-tcp\.conf\s+content\s+\+ net\.core\.somaxconn = 7/);
            expect(r.stdout).toMatch(/host web2\nERROR: cannot read \/etc\//);
            expect(r.stdout).toContain("drift check incomplete");
            const j = JSON.parse(runDrift(stack, "--json").stdout) as Report;
            expect(j.hosts.web1.files?.map((f) => f.file)).toEqual([SYSCTL]);
            expect(j.hosts.web1.error).toBeUndefined();
            expect(j.hosts.web2.error).toMatch(/cannot read/);
        } finally {
            hostExec(hosts[1], "systemctl start ssh.service");
        }
    });
});
