/**
 * remote.Command inputs that need a real host: addPreviousOutputInEnv exports the previous output to
 * an update, an empty create opens no connection, and a refused input (connection.proxy) fails at
 * preview before any connection. Logins are counted with `journalctl -t sshd` on the host.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, projectCopy, REPO, Stack } from "../../lab/stack";

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

    /** Start `pulumi up` of the slow command as `user`, interrupt it (Ctrl-C) once the command runs on the host. */
    async function interruptSlowUp(user: string): Promise<{ code: number | null | string; ms: number; out: string }> {
        await stack.setConfig("mode", "slow");
        await stack.setConfig("user", user);
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
            return { code, ms: Date.now() - t0, out };
        } finally {
            if (p.exitCode === null) p.kill("SIGKILL");
            await exited;
        }
    }

    /** Processes of the slow command still on the host (its shell: `bash -c "sleep 600; touch …"`). */
    const slowShell = () => hostExec(host, "pgrep -f '[s]leep 600; touch' || true").trim();
    const endSlow = () => hostExec(host, "for pid in $(pgrep -f '^sleep 600') $(pgrep -f '[s]leep 600; touch'); do kill \"$pid\"; done; rm -f /tmp/ct-slow-finished; true");

    it("stops a running command on the host and returns promptly when `pulumi up` is interrupted (Ctrl-C: the engine's Cancel)", async () => {
        try {
            const r = await interruptSlowUp(host.sudoUser);
            expect(r.code, r.out).not.toBe("timeout");
            expect(r.code, r.out).not.toBe(0);
            expect(r.out).toContain("the engine cancelled the operation");
            // The command got SIGTERM (sshd signals the session's process group): its shell is gone
            // and the rest of it never runs.
            await new Promise((res) => setTimeout(res, 1000));
            expect(slowShell()).toBe("");
            expect(hostExec(host, "test -e /tmp/ct-slow-finished && echo yes || echo no").trim()).toBe("no");
        } finally {
            endSlow();
        }
    });

    it("returns promptly on Ctrl-C for a root login too, where OpenSSH refuses to signal the command", async () => {
        try {
            const r = await interruptSlowUp("root");
            expect(r.code, r.out).not.toBe("timeout");
            expect(r.code, r.out).not.toBe(0);
            expect(r.out).toContain("the engine cancelled the operation");
            // OpenSSH does not pass signals to a root session ("session signalling requires privilege
            // separation"): the command runs on (README, "Toolchain"); conntune's scripts are safe to re-run.
            expect(hostExec(host, "journalctl -t sshd -o cat --no-pager | grep -c 'session signalling requires privilege separation' || true").trim()).not.toBe("0");
        } finally {
            endSlow();
            await stack.run(["config", "rm", "--stack", stack.name, "user"], { allowFail: true });
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
