/**
 * Drift detection on a real test host: a change behind conntune's back is reported (exactly that
 * key), over one SSH login per host, with a non-zero exit; a clean host reports no drift.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, hostStack, REPO, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

interface Report { drift: boolean; hosts: Record<string, Array<{ setting: string; wanted: string; found: string; status: string }>> }

describe.runIf(run)("npm run drift", () => {
    let h: TestHost;
    let stack: Stack;
    const drift = (...extra: string[]) => {
        const r = spawnSync("npx", ["tsx", path.join(REPO, "scripts/drift.ts"), "--stack", stack.name, "--json", "--project-dir", stack.projectDir, ...extra], { env: stack.env, encoding: "utf8", cwd: REPO });
        return { code: r.status, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
    };
    const logins = () => Number(hostExec(h, "journalctl -t sshd -o cat --no-pager | grep -c '^Accepted' || true").trim());

    beforeAll(async () => {
        h = await startHost();
        stack = await hostStack(h, "e2e-drift");
        await stack.setHosts([{
            name: "web1", connection: { host: h.address, user: "root", hostKey: h.hostKey },
            // tcp_keepalive_intvl takes policy skip too: the read-only check below watches its file.
            sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip", "net.ipv4.tcp_keepalive_intvl": "skip" } }, limits: { soft: 4096, hard: 16384, systemdDefault: null },
        }]);
        await stack.up();
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("reports no drift right after up, with one SSH login", () => {
        const before = logins();
        const r = drift();
        expect(r.code, r.stderr).toBe(0);
        expect(r.report.drift).toBe(false);
        expect(r.report.hosts.web1.find((x) => x.setting === "sysctl:net.ipv4.tcp_keepalive_time")).toMatchObject({ wanted: "600", found: "600", status: "ok" });
        expect(logins() - before).toBe(1);
    });

    it("only reads: a check writes nothing to /proc/sys, not even the value it just read for a skip-policy key", () => {
        // A plain file bound over the key's /proc/sys file: any write, even of the same value, moves its mtime/ctime.
        const f = "/proc/sys/net/ipv4/tcp_keepalive_intvl";
        hostExec(h, `printf '30\\n' >/run/ct-intvl && mount --bind /run/ct-intvl ${f}`);
        try {
            const before = hostExec(h, `stat -c '%y %z' ${f}`);
            const r = drift();
            expect(r.code, r.stderr).toBe(0);
            expect(r.report.hosts.web1.find((x) => x.setting === "sysctl:net.ipv4.tcp_keepalive_intvl")).toMatchObject({ wanted: "30", found: "30", status: "ok" });
            expect(hostExec(h, `stat -c '%y %z' ${f}`)).toBe(before);
            expect(hostExec(h, `cat ${f}`)).toBe("30\n");
        } finally {
            hostExec(h, `umount ${f}; rm -f /run/ct-intvl`);
        }
    });

    it("exits 2, never 0, for a bad flag or when a host's check did not run, naming the flag", () => {
        for (const [extra, message] of [[["--repiar"], "unknown flag --repiar"], [["--parallel", "abc"], "flag --parallel: must be a whole number"], [["--parallel", "0"], "flag --parallel"]] as const) {
            const r = spawnSync("npx", ["tsx", path.join(REPO, "scripts/drift.ts"), "--stack", stack.name, "--project-dir", stack.projectDir, ...extra], { env: stack.env, encoding: "utf8", cwd: REPO });
            expect(r.status, `${extra.join(" ")}: ${r.stdout}${r.stderr}`).toBe(2);
            expect(r.stderr).toContain(message);
            expect(r.stderr).toContain("usage: npm run drift -- --stack NAME");
        }
    });

    it("reports exactly the key changed behind conntune's back and exits non-zero", () => {
        hostExec(h, "sysctl -w net.ipv4.tcp_keepalive_time=7200");
        const r = drift();
        expect(r.code).toBe(1);
        const drifted = r.report.hosts.web1.filter((x) => x.status === "drift");
        expect(drifted).toEqual([{ setting: "sysctl:net.ipv4.tcp_keepalive_time", wanted: "600", found: "7200", status: "drift" }]);
        hostExec(h, "sysctl -w net.ipv4.tcp_keepalive_time=600");
    });

    it("reports an edited managed file by its content hash", () => {
        hostExec(h, "echo 'ClientAliveInterval 0' >> /etc/ssh/sshd_config.d/00-conntune.conf");
        const r = drift();
        expect(r.code).toBe(1);
        expect(r.report.hosts.web1.filter((x) => x.status === "drift").map((x) => x.setting)).toEqual(["file:/etc/ssh/sshd_config.d/00-conntune.conf"]);
    });

    it("repairs drift with pulumi up, re-applying only the drifted files, and is clean after", () => {
        hostExec(h, "sysctl -w net.ipv4.tcp_keepalive_time=7200");
        const limitsBefore = hostExec(h, "stat -c %Y:%i /etc/security/limits.d/90-conntune-nofile.conf");
        const r = drift("--repair");
        expect(r.code, r.stderr).toBe(0);
        expect(r.report.drift).toBe(false);
        expect(hostExec(h, "sysctl -n net.ipv4.tcp_keepalive_time").trim()).toBe("600");
        expect(hostExec(h, "grep -c 'ClientAliveInterval 0' /etc/ssh/sshd_config.d/00-conntune.conf || true").trim()).toBe("0");
        expect(hostExec(h, "stat -c %Y:%i /etc/security/limits.d/90-conntune-nofile.conf")).toBe(limitsBefore);
        expect(drift().code).toBe(0);
    });
});
