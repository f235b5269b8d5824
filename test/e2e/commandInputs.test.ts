/**
 * remote.Command inputs that need a real host: addPreviousOutputInEnv exports the previous output to
 * an update, an empty create opens no connection, and a refused input (connection.proxy) fails at
 * preview before any connection. Logins are counted with `journalctl -t sshd` on the host.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../hosts/harness";
import { dispose, e2eGate, projectCopy, REPO, Stack } from "./pulumi";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

function acceptedLogins(h: TestHost): number {
    return Number(hostExec(h, "journalctl -t sshd -o cat --no-pager 2>/dev/null | grep -c '^Accepted' || true").trim()) || 0;
}

describe.runIf(run)("remote.Command inputs on a test host", () => {
    let host: TestHost;
    let stack: Stack;

    beforeAll(async () => {
        host = await startHost();
        // The previous output travels as SSH env requests, which sshd takes only when allowed.
        hostExec(host, "printf 'AcceptEnv PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR\\n' >/etc/ssh/sshd_config.d/10-e2e-acceptenv.conf && systemctl reload ssh");
        stack = new Stack(projectCopy(path.join(REPO, "test/e2e/fixtures/command-inputs")), "e2e-command-inputs");
        await stack.init();
        await stack.setConfig("host", host.address);
        await stack.setConfig("port", String(host.port));
        await stack.setConfig("hostKey", host.hostKey);
        await stack.setConfig("privateKey", host.privateKey, true);
    }, 120_000);

    afterAll(async () => {
        await dispose(stack);
        if (host) await stopHosts([host]);
    });

    it("creates a command without `create` without opening an SSH connection", async () => {
        await stack.setConfig("mode", "empty");
        const before = acceptedLogins(host);
        await stack.up();
        expect(acceptedLogins(host)).toBe(before);
        await stack.destroy(); // its delete runs: one login
        expect(acceptedLogins(host)).toBe(before + 1);
    });

    it("gives an update the previous stdout and stderr as PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR", async () => {
        await stack.setConfig("mode", "previous");
        await stack.setConfig("round", "1");
        await stack.up();
        await stack.setConfig("round", "2");
        await stack.up();
        expect(hostExec(host, "cat /root/ct-previous-seen").trim()).toBe("first-out|first-err");
        await stack.setConfig("round", "3");
        await stack.up();
        expect(hostExec(host, "cat /root/ct-previous-seen").trim()).toBe("round-2|");
    });

    it("exports nothing with addPreviousOutputInEnv: false", async () => {
        await stack.setConfig("addPreviousOutputInEnv", "false");
        await stack.setConfig("round", "4");
        await stack.up();
        expect(hostExec(host, "cat /root/ct-previous-seen").trim()).toBe("|");
    });

    it("stops a running command promptly when `pulumi up` is interrupted (Ctrl-C: the engine's Cancel)", async () => {
        await stack.setConfig("mode", "slow");
        const p = spawn("pulumi", ["up", "--stack", stack.name, "--yes", "--skip-preview", "--non-interactive"], { cwd: stack.projectDir, env: stack.env });
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (out += d));
        const exited = new Promise<number | null>((resolve) => p.on("close", resolve));
        try {
            const deadline = Date.now() + 120_000;
            while (hostExec(host, "pgrep -f '^sleep 600' || true").trim() === "") {
                if (Date.now() > deadline) throw new Error(`the slow command never started on the host:\n${out}`);
                await new Promise((r) => setTimeout(r, 200));
            }
            const t0 = Date.now();
            p.kill("SIGINT");
            const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 30_000))]);
            expect(code, out).not.toBe("timeout");
            expect(code, out).not.toBe(0);
            expect(Date.now() - t0).toBeLessThan(30_000);
            expect(out).toContain("cancelled");
            // The command's shell on the host got SIGTERM and is gone: the rest of it never runs. (A
            // process it started and that ignores the shell's end, here `sleep`, is the host's to end.)
            await new Promise((r) => setTimeout(r, 1000));
            expect(hostExec(host, "pgrep -f '[s]leep 600; touch' || true").trim()).toBe("");
            expect(hostExec(host, "test -e /root/ct-slow-finished && echo yes || echo no").trim()).toBe("no");
        } finally {
            hostExec(host, "for pid in $(pgrep -f '^sleep 600'); do kill \"$pid\"; done; true");
            if (p.exitCode === null) p.kill("SIGKILL");
            await exited;
            await stack.run(["cancel", "--stack", stack.name, "--yes"], { allowFail: true });
        }
    });

    it("refuses connection.proxy at preview, naming the field, before any connection", async () => {
        await stack.destroy();
        await stack.setConfig("mode", "proxy");
        const before = acceptedLogins(host);
        const r = await stack.preview([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toContain("connection.proxy: a bastion/proxy host is not supported");
        expect(acceptedLogins(host)).toBe(before);
    });
});
