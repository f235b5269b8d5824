/**
 * Faults through the real CLI: an unreachable host is a clear error with nothing applied; two `up`s
 * on one stack at once: the second is refused by the state lock. (Invalid configs rejected at
 * preview: badInput.test.ts.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, hostStack, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4";

describe.runIf(run)("faults through the real CLI", () => {
    let stack: Stack;
    let h: TestHost | undefined;
    const base = (over: Record<string, unknown> = {}) => ({ name: "web1", connection: { host: "10.213.251.2", hostKey: KEY }, ...over });

    beforeAll(async () => {
        h = await startHost();
        stack = await hostStack(h, "e2e-faults2");
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("reports an unreachable host clearly and applies nothing", async () => {
        // Our own test host, on a port where nothing listens: connections are refused.
        await stack.setHosts([base({ connection: { host: h!.address, port: 2222, hostKey: h!.hostKey }, sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 } })]);
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toContain(`could not reach ${h!.address}:2222 after 4 attempts`);
        expect(hostExec(h!, "ls /etc/ssh/sshd_config.d/")).toBe("");
    });

    it("refuses a second concurrent up on the same stack (state lock)", async () => {
        if (!h) throw new Error("no test host");
        await stack.setHosts([{ name: "web1", connection: { host: h.address, user: "root", hostKey: h.hostKey }, sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } }, limits: { soft: 4096, hard: 16384 } }]);
        // The first up holds the stack's lock (a file in the backend naming its pid): it is paused while
        // it does, so that the second surely meets the lock however fast an up is (a no-op takes ~1 s).
        const locks = path.join(stack.backendDir, ".pulumi", "locks");
        const lockHolder = (): number | undefined => {
            const files = fs.existsSync(locks) ? (fs.readdirSync(locks, { recursive: true }) as string[]).filter((f) => f.endsWith(".json")) : [];
            for (const f of files) {
                const pid = (JSON.parse(fs.readFileSync(path.join(locks, f), "utf8")) as { pid?: number }).pid;
                if (pid) return pid;
            }
            return undefined;
        };
        let done = false;
        const first = stack.up([], true).finally(() => (done = true));
        let holder: number | undefined;
        for (let i = 0; i < 600 && !done && holder === undefined; i++) {
            holder = lockHolder();
            if (holder === undefined) await new Promise((r) => setTimeout(r, 20));
        }
        expect(holder, "the first up took the stack's lock").toBeDefined();
        process.kill(holder!, "SIGSTOP");
        let second;
        try {
            second = await stack.up([], true);
        } finally {
            process.kill(holder!, "SIGCONT");
        }
        expect(second.code).not.toBe(0);
        expect(`${second.stdout}${second.stderr}`).toMatch(/locked/i);
        const r = await first;
        expect(r.code, r.stderr).toBe(0);
    });
});
