import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../components/config";
import { driftExitCode, probeScript, wantedState } from "../../components/drift";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4";
const hostConfig = (over: Record<string, unknown> = {}) => parseStackConfig({ hosts: [{ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY }, ...over }] }).hosts[0];

describe("the drift probe", () => {
    // Every skip-policy key, and keys under every kind of setting: the probe for them all.
    const script = probeScript(wantedState(hostConfig({
        sysctl: { presets: ["keepalive", "highConcurrency"], onUnavailable: "skip" },
        systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 4096 } } }],
    })));

    it("is read-only: it writes to no file (only to /dev/null), never with sysctl -w, -p or tee", () => {
        const redirects = [...script.matchAll(/\d*>>?\s*("?[^\s;)]+)/g)].map((m) => m[1]);
        expect(redirects.filter((t) => t !== "/dev/null" && !t.startsWith("&")), script).toEqual([]);
        expect(script).not.toMatch(/sysctl\s+(-\w+\s+)*-[wp]\b|\btee\b|\bdd\b|\bcp\b|\bmv\b|\binstall\b/);
    });

    it("is valid bash", () => {
        const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });
});

describe("the drift check's exit code", () => {
    const ok = [{ setting: "sysctl:a", wanted: "1", found: "1", status: "ok" as const }];
    const drifted = [{ setting: "sysctl:a", wanted: "1", found: "2", status: "drift" as const }];
    it.each([
        ["every host clean", { a: ok, b: ok }, 0],
        ["drift on one host", { a: ok, b: drifted }, 1],
        ["an error on one host (even with drift on another)", { a: drifted, b: { error: "ssh: refused" } }, 2],
        ["a host without a result", { a: ok }, 2],
    ])("is right for %s", (_what, results, code) => {
        expect(driftExitCode(["a", "b"], results)).toBe(code);
    });
});
