/**
 * The connection-health monitor on a real test host: levels follow the connection count (seed 001),
 * the critical action restarts the named unit once, and the cooldown holds.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, hostStack, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

describe.runIf(run)("ConnectionMonitor", () => {
    let h: TestHost;
    let stack: Stack;
    let before: string;
    const check = () => {
        hostExec(h, "systemctl start conntune-conn-monitor.service");
        return hostExec(h, "journalctl -t conntune-conn-monitor -o cat --no-pager | grep -E '^(level|action)=' | tail -n 2");
    };
    /** Hold N connections to the local Redis (each shows as 2 sockets: client and server side). */
    const hold = (n: number) =>
        hostExec(h, `nohup python3 -c 'import socket,time; s=[socket.create_connection(("127.0.0.1",6379)) for _ in range(${n})]; time.sleep(600)' >/dev/null 2>&1 & sleep 1`);
    const pid = () => hostExec(h, "systemctl show -p MainPID --value batch-writer.service").trim();

    beforeAll(async () => {
        h = await startHost({ prepare: (root) => fs.writeFileSync(`${root}/etc/systemd/system/batch-writer.service`, "[Service]\nExecStart=/bin/sleep infinity\n") });
        hostExec(h, "systemctl start redis-server.service batch-writer.service");
        before = hostExec(h, "find /etc/systemd/system /usr/local/lib -xdev | sort");
        stack = await hostStack(h, "e2e-monitor");
        await stack.setHosts([{
            name: "redis1", connection: { host: h.address, user: "root", hostKey: h.hostKey },
            sshd: { enabled: false }, sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 },
            monitor: { ports: [6379, 22], alertPort: 6379, services: ["redis-server.service"], criticalAction: { restartUnit: "batch-writer.service", cooldownSeconds: 300 }, intervalSeconds: 3600 },
        }]);
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("installs the service and an active timer", async () => {
        await stack.up();
        expect(hostExec(h, "systemctl is-active conntune-conn-monitor.timer; systemctl is-enabled conntune-conn-monitor.timer")).toBe("active\nenabled\n");
        expect(check()).toMatch(/^level=HEALTHY port=6379 connections=0$/m);
        expect(hostExec(h, "cat /var/lib/conntune/conn-monitor.samples.6379")).toMatch(/^0$/m);
        expect(hostExec(h, "journalctl -t conntune-conn-monitor -o cat --no-pager")).toMatch(/open_files redis-server.service=\d+/);
    });

    it("moves to WARNING, then CRITICAL with one restart of the named unit", () => {
        hold(15);
        expect(check()).toMatch(/^level=WARNING port=6379 connections=30$/m);
        const p0 = pid();
        hold(40);
        const out = check();
        expect(out).toMatch(/^level=CRITICAL port=6379 connections=110$/m);
        expect(out).toMatch(/^action=restarted batch-writer.service$/m);
        expect(pid()).not.toBe(p0);
    });

    it("holds the cooldown: no second restart within 300 s", () => {
        const p1 = pid();
        const out = check();
        expect(out).toMatch(/^action=skipped: cooldown, \d+ s left$/m);
        expect(pid()).toBe(p1);
    });

    it("disables the timer and removes its files on destroy", async () => {
        await stack.destroy();
        expect(hostExec(h, "systemctl is-enabled conntune-conn-monitor.timer 2>&1 || true").trim()).not.toBe("enabled");
        expect(hostExec(h, "find /etc/systemd/system /usr/local/lib -xdev | sort")).toBe(before);
        expect(hostExec(h, "ls /var/lib/conntune")).not.toMatch(/conn-monitor\.samples/);
    });
});
