/**
 * The shared SSH connection degrades, it does not collapse: with sshd's MaxSessions at 2, an update
 * that changes many files at once (sshd, sysctl, limits and four unit overrides, the overrides all in
 * parallel) still succeeds: refused channels wait for a free one instead of killing the connection.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { sshRun } from "../../lab/hosts/ssh";
import { dispose, e2eGate, hostStack, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

const UNITS = ["ct-a.service", "ct-b.service", "ct-c.service", "ct-d.service"];

describe.runIf(run)("the shared SSH connection under sshd MaxSessions 2", () => {
    let h: TestHost;
    let stack: Stack;
    const entry = (v: { alive: number; keepalive: number; soft: number; nofile: number }) => [{
        name: "ms1",
        connection: { host: h.address, user: "root", hostKey: h.hostKey },
        sshd: { maxSessions: 2, clientAliveInterval: v.alive },
        sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" }, settings: { "net.ipv4.tcp_keepalive_time": v.keepalive } },
        limits: { soft: v.soft, hard: 16384, systemdDefault: null },
        systemdOverrides: UNITS.map((unit) => ({ unit, settings: { Service: { LimitNOFILE: v.nofile } } })),
    }];

    beforeAll(async () => {
        h = await startHost({
            prepare: (root) => {
                for (const u of UNITS) fs.writeFileSync(`${root}/etc/systemd/system/${u}`, "[Unit]\nDescription=conntune test stand-in\n[Service]\nExecStart=/bin/sleep infinity\n");
            },
        });
        hostExec(h, `systemctl start ${UNITS.join(" ")}`);
        stack = await hostStack(h, "e2e-maxsessions");
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("applies sshd.maxSessions 2", async () => {
        await stack.setHosts(entry({ alive: 300, keepalive: 600, soft: 4096, nofile: 8192 }));
        await stack.up();
        expect(hostExec(h, "sshd -T | grep -E '^maxsessions '").trim()).toBe("maxsessions 2");
    });

    it("then an update that changes sshd, sysctl, limits and four unit overrides at once succeeds on the limited connection", async () => {
        await stack.setHosts(entry({ alive: 240, keepalive: 900, soft: 2048, nofile: 12288 }));
        const r = await stack.up([], true);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        // sshd did refuse channels during the update (the path under test was taken).
        expect(Number(hostExec(h, "journalctl -t sshd -o cat --no-pager | grep -c 'no more sessions' || true").trim())).toBeGreaterThan(0);
        expect(hostExec(h, "sshd -T | grep -E '^(maxsessions|clientaliveinterval) ' | sort").trim()).toBe("clientaliveinterval 240\nmaxsessions 2");
        expect(hostExec(h, "sysctl -n net.ipv4.tcp_keepalive_time").trim()).toBe("900");
        expect(await sshRun(h, "ulimit -Sn")).toBe("2048");
        for (const u of UNITS) expect(hostExec(h, `systemctl show -p LimitNOFILE --value ${u}`).trim(), u).toBe("12288");
    });
});
