/**
 * The sysctl hooks' key checks (hooks.sh ct_sysctl_unavailable, in preflight and verify), run for real
 * with bash against a stand-in /proc/sys tree: they never write a value, so a value that another
 * writer sets meanwhile (another tool, another file applied at that moment) is never undone.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shVars } from "../core/shell";
import { sysctlHooks } from "./hooks";

let dir = "";
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-sysctl-"));
    fs.mkdirSync(path.join(dir, "proc", "net", "ipv4"), { recursive: true });
    fs.writeFileSync(path.join(dir, "proc", "net", "ipv4", "tcp_keepalive_intvl"), "75\n");
    // A key the host cannot write: a read-only key of the kernel's own (open for writing fails, even for root).
    fs.symlinkSync("/proc/sys/kernel/osrelease", path.join(dir, "proc", "net", "ipv4", "tcp_fin_timeout"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Run one hook with /proc/sys replaced by the stand-in tree. */
function hook(name: "preflight" | "verify", sysctl: string): { out: string; code: number | null } {
    const body = sysctlHooks()[name]!.replaceAll("/proc/sys/", `${dir}/proc/`);
    const vars = shVars({ CT_SYSCTL: sysctl, CT_ORIG: path.join(dir, "orig") });
    const r = spawnSync("bash", ["-c", `set -uo pipefail\n${vars}\n${body}`], { encoding: "utf8" });
    return { out: r.stdout + r.stderr, code: r.status };
}

const stamp = (f: string) => {
    const s = fs.statSync(path.join(dir, "proc", f));
    return `${s.ino} ${s.mtimeMs} ${fs.readFileSync(path.join(dir, "proc", f), "utf8")}`;
};

describe("the sysctl key checks", () => {
    it("pre-flight writes no value: the key's file is not written at all (a write-back would undo another writer's value set meanwhile)", () => {
        const before = stamp("net/ipv4/tcp_keepalive_intvl");
        const r = hook("preflight", "net.ipv4.tcp_keepalive_intvl=30=fail");
        expect(r.code, r.out).toBe(0);
        expect(stamp("net/ipv4/tcp_keepalive_intvl")).toBe(before);
        // It still records the runtime value from before conntune, for destroy.
        expect(fs.readFileSync(path.join(dir, "orig.runtime"), "utf8")).toBe("net.ipv4.tcp_keepalive_intvl=75\n");
    });

    it("verify reads the value and writes none", () => {
        fs.writeFileSync(path.join(dir, "proc", "net", "ipv4", "tcp_keepalive_intvl"), "30\n");
        const before = stamp("net/ipv4/tcp_keepalive_intvl");
        const r = hook("verify", "net.ipv4.tcp_keepalive_intvl=30=fail");
        expect(r.code, r.out).toBe(0);
        expect(r.out).toBe("ct:net.ipv4.tcp_keepalive_intvl=30\n");
        expect(stamp("net/ipv4/tcp_keepalive_intvl")).toBe(before);
    });

    it("still finds a key the host cannot write: skipped with a warning (policy skip) or refused before anything is written (fail)", () => {
        const skip = hook("preflight", "net.ipv4.tcp_fin_timeout=30=skip");
        expect(skip.code, skip.out).toBe(0);
        expect(skip.out).toContain("ct-warn:sysctl net.ipv4.tcp_fin_timeout skipped: not writable in this host");
        const fail = hook("preflight", "net.ipv4.tcp_fin_timeout=30=fail");
        expect(fail.code).toBe(1);
        expect(fail.out).toContain("net.ipv4.tcp_fin_timeout: not writable in this host");
        expect(hook("preflight", "net.ipv4.no_such_key=1=fail").out).toContain("net.ipv4.no_such_key: unknown key on this kernel");
    });
});
