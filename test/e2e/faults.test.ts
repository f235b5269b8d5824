/**
 * Faults through the real CLI: an unreachable host is a clear error with nothing applied; two `up`s
 * on one stack at once: the second is refused by the state lock. (Invalid configs rejected at
 * preview: badInput.test.ts.)
 */
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
        const first = stack.up([], true);
        await new Promise((r) => setTimeout(r, 2500));
        const second = stack.up([], true);
        // Whichever takes the lock first applies; the other is refused (on a slow machine the order can flip).
        const results = await Promise.all([first, second]);
        const ok = results.filter((r) => r.code === 0);
        const refused = results.filter((r) => r.code !== 0);
        expect(ok, JSON.stringify(results.map((r) => r.stderr))).toHaveLength(1);
        expect(refused).toHaveLength(1);
        expect(`${refused[0].stdout}${refused[0].stderr}`).toMatch(/locked/i);
    });
});
