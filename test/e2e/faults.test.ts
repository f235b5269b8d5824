/**
 * Bad input and faults through the real CLI: invalid configs are rejected at preview before any
 * resource exists (naming the field and what is allowed); an unreachable host is a clear error with
 * nothing applied; two `up`s on one stack at once: the second is refused by the state lock.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../hosts/harness";
import { dispose, e2eGate, hostStack, Stack } from "./pulumi";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4";

describe.runIf(run)("bad input and faults through the real CLI", () => {
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

    it.each([
        ["a port out of range", [base({ connection: { host: "h", hostKey: KEY, port: 0 } })], "conntune:hosts[0].connection.port: must be from 1 to 65535"],
        ["an unknown key", [base({ sshd: { clientAliveIntervall: 300 } })], 'conntune:hosts[0].sshd: Unrecognized key: "clientAliveIntervall"'],
        ["keepalive above the kernel maximum", [base({ sysctl: { settings: { "net.ipv4.tcp_keepalive_time": 99999 } } })], "conntune:hosts[0].sysctl.settings.net.ipv4.tcp_keepalive_time: must be an integer from 1 to 32767"],
        ["a unit name with a path", [base({ systemdOverrides: [{ unit: "../../x.service", settings: { Service: { LimitNOFILE: 1 } } }] })], "conntune:hosts[0].systemdOverrides[0].unit: must be a systemd unit name"],
        ["soft above hard", [base({ limits: { soft: 9000, hard: 4096 } })], "conntune:hosts[0].limits.soft: must not exceed hard"],
        ["a missing host key", [{ name: "web1", connection: { host: "10.0.0.1" } }], "conntune:hosts[0].connection.hostKey: required: pin the host's key"],
        ["a shell metacharacter in a host", [base({ connection: { host: "a;reboot", hostKey: KEY } })], "conntune:hosts[0].connection.host: must be an IP address or DNS name"],
        ["Redis maxmemory above the host limit", [base({ redis: { settings: { memoryLimit: "1Gi", maxmemory: "4gb" } } })], "conntune:hosts[0].redis.settings.maxmemory: must not exceed memoryLimit 1Gi"],
    ])("rejects %s at preview, creating nothing", async (_what, hosts, message) => {
        await stack.setHosts(hosts);
        const r = await stack.preview([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toContain(message);
        expect(`${r.stdout}${r.stderr}`).not.toMatch(/command:remote:Command/);
    });

    it("reports an unreachable host clearly and applies nothing", async () => {
        // Our own test host, on a port where nothing listens: connections are refused.
        await stack.setHosts([base({ connection: { host: h!.address, port: 2222, hostKey: h!.hostKey }, sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 } })]);
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toContain(`could not reach ${h!.address}:2222 after 3 attempts`);
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
