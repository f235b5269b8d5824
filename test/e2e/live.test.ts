/**
 * The live check on a real host and a real Redis (Debian's redis-server with requirepass): a pool of
 * real client connections from another address is reported by `npm run drift` with that address; the
 * monitor's growth (LEAK below the threshold) and latency lines in its journal; `npm run health`
 * prints seed 001's check and fails when a watched unit is down.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, hostStack, REPO, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

/** `npm run drift` / `npm run health` on a lab stack (its project copy and backend). */
function script(stack: Stack, name: "drift" | "health", ...extra: string[]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync("npx", ["tsx", path.join(REPO, `scripts/${name}.ts`), "--stack", stack.name, "--project-dir", stack.projectDir, ...extra], { env: stack.env, encoding: "utf8", cwd: REPO, timeout: 300_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.runIf(run)("the live check, the monitor's growth and latency, npm run health", () => {
    let h: TestHost;
    let stack: Stack;
    let clientStack: Stack | undefined;
    const password = `ctpw${randomBytes(10).toString("hex")}`;
    const pool: net.Socket[] = [];
    /** The test machine's address as the host sees it (the host side of its veth pair). */
    const peer = () => h.address.replace(/\.2$/, ".1");
    const info = (k: string) => hostExec(h, `REDISCLI_AUTH=${password} redis-cli info | tr -d '\\r' | sed -n 's/^${k}://p'`).trim();
    const monitorRun = () => {
        hostExec(h, "systemctl start conntune-conn-monitor.service");
        return hostExec(h, "journalctl -t conntune-conn-monitor -o cat --no-pager | grep -E '^(level|latency)' | tail -n 2");
    };
    /** Hold N authenticated connections to the local Redis (each shows as 2 sockets: client and server side). */
    const hold = (n: number) =>
        // Waits (bounded) until the holder has its connections open and authenticated: a loaded machine
        // must not sample before they exist.
        hostExec(h, `rm -f /run/ct-hold-ready; nohup python3 -c 'import socket,time
s=[socket.create_connection(("127.0.0.1",6379)) for _ in range(${n})]
[c.sendall(b"AUTH ${password}\\r\\n") for c in s]
[c.recv(64) for c in s]
open("/run/ct-hold-ready","w").close()
time.sleep(600)' >/dev/null 2>&1 & echo $! >>/run/ct-holds; for _ in $(seq 200); do [ -e /run/ct-hold-ready ] && break; sleep 0.1; done; [ -e /run/ct-hold-ready ]`);
    /** Stop the holders this test started, by their PIDs. */
    const dropHolds = () => hostExec(h, "if [ -f /run/ct-holds ]; then kill $(cat /run/ct-holds) 2>/dev/null; rm -f /run/ct-holds; fi; sleep 0.5");

    /** Open `n` connections from this machine, each AUTH + PING: resolves with those Redis kept (the others were refused). */
    async function openPool(n: number): Promise<number> {
        const opened = await Promise.all(
            Array.from({ length: n }, () =>
                new Promise<net.Socket | undefined>((resolve) => {
                    const s = net.connect({ host: h.address, port: 6379 });
                    let buf = "";
                    s.on("data", (d) => {
                        buf += d.toString();
                        if (buf.includes("+PONG\r\n")) resolve(s);
                        else if (buf.startsWith("-")) resolve(undefined);
                    });
                    s.on("error", () => resolve(undefined));
                    s.on("close", () => resolve(undefined));
                    s.write(`AUTH ${password}\r\nPING\r\n`);
                    setTimeout(() => resolve(undefined), 10_000);
                }),
            ),
        );
        for (const s of opened) if (s) pool.push(s);
        return opened.filter(Boolean).length;
    }
    /** Close all but `keep` of the pool's connections, and wait (bounded) until the host shows only those kept. */
    const closePool = async (keep = 0) => {
        while (pool.length > keep) pool.pop()!.destroy();
        // The host sees the closes a moment later, longer on a loaded machine: a fixed pause let the
        // monitor count connections that were already closed here.
        const open = () => Number(hostExec(h, `ss -Htn state established '( sport = :6379 )' | grep -c ' ${peer()}:' || true`).trim());
        for (let i = 0; i < 100 && open() > keep; i++) await new Promise((r) => setTimeout(r, 200));
    };

    beforeAll(async () => {
        h = await startHost({
            prepare: (root) => {
                fs.appendFileSync(`${root}/etc/redis/redis.conf`, `\nrequirepass ${password}\n`);
                fs.writeFileSync(`${root}/etc/systemd/system/batch-writer.service`, "[Service]\nExecStart=/bin/sleep infinity\n");
            },
        });
        hostExec(h, "systemctl start redis-server.service batch-writer.service");
        stack = await hostStack(h, "e2e-live");
        await stack.setConfig("conntune:redisPassword", password, true);
        await stack.setHosts([{
            name: "cache1", connection: { host: h.address, user: "root", hostKey: h.hostKey },
            sshd: { enabled: false }, sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 },
            redis: {
                auth: { passwordSecret: "redisPassword" }, settings: { bind: ["0.0.0.0"], port: 6379, maxclients: 40 },
                // Seed 000's pool of 10, and 2 connections kept for everyone else: at most 12.
                clients: [{ name: "api", library: "generic", poolSize: 10 }], clientsReserve: 2,
            },
            monitor: {
                ports: [6379, 22], alertPort: 6379, services: ["batch-writer.service"], criticalAction: { restartUnit: "batch-writer.service", cooldownSeconds: 300 },
                intervalSeconds: 3600, growth: { samples: 4, minRise: 3 }, latency: { seconds: 2, p50Ms: 1000, p99Ms: 1000 },
            },
        }]);
        await stack.up();
    });

    afterAll(async () => {
        await closePool();
        dropHolds();
        await dispose(clientStack);
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("npm run drift reports a pool beyond the declared budget naming its address, the refused connections and clients near maxclients; exit 1", async () => {
        // 45 clients against maxclients 40: Redis refuses 5; then the pool keeps 36 (90 % of 40, 3 × the budget).
        expect(await openPool(45)).toBe(40);
        await closePool(36);
        // redis-cli asking is one of the connected clients.
        expect(Number(info("connected_clients")) - 1).toBe(36);
        expect(Number(info("rejected_connections"))).toBe(5);
        expect(hostExec(h, `ss -Htn state established '( sport = :6379 )' | grep -c ' ${peer()}:'`).trim()).toBe("36");
        const r = script(stack, "drift");
        expect(r.stdout).toContain(`host cache1: 36 connected clients (blocked 0, rejected 5, maxclients 40); by peer: ${peer()} 36`);
        expect(r.stdout).toContain(`LIVE: redis on host cache1: 36 connected clients > declared budget 12 (clients: api 10 × 1 + reserve 2); most from ${peer()} (36)`);
        expect(r.stdout).toContain(`LIVE: redis on host cache1: rejected_connections 5: Redis refused clients at maxclients 40 since it started; most from ${peer()} (36)`);
        expect(r.stdout).toContain(`LIVE: redis on host cache1: 36 connected clients is 90% of maxclients 40 (reported from 90%); most from ${peer()} (36)`);
        expect(r.code, r.stdout + r.stderr).toBe(1);
        const j = JSON.parse(script(stack, "drift", "--json").stdout) as { live: { findings: string[]; hosts: Record<string, { connectedClients: number; peers: Array<{ address: string; count: number }> }> } };
        expect(j.live.hosts.cache1.connectedClients).toBe(36);
        expect(j.live.hosts.cache1.peers[0]).toEqual({ address: peer(), count: 36 });
        expect(j.live.findings).toHaveLength(3);
        // The Redis password never reaches the output.
        expect(`${r.stdout}${r.stderr}`).not.toContain(password);
    });

    it("within the budget the live check finds nothing", async () => {
        await closePool(8);
        hostExec(h, `REDISCLI_AUTH=${password} redis-cli config resetstat >/dev/null`);
        const r = script(stack, "drift");
        // (Another short-lived local client, e.g. an operator's redis-cli, may be there too: within the budget all the same.)
        expect(r.stdout).toMatch(new RegExp(`^host cache1: (8|9) connected clients \\(blocked 0, rejected 0, maxclients 40\\); by peer: ${peer().replace(/\./g, "\\.")} 8\\b`, "m"));
        expect(r.stdout).not.toContain("LIVE:");
        // The Redis password makes redis.conf's command secret: a clean host is still no drift (exit 0)...
        expect(r.code, r.stdout + r.stderr).toBe(0);
        // ...and a change behind conntune's back still is (the engine's refresh diff names it; the values stay masked).
        hostExec(h, `REDISCLI_AUTH=${password} redis-cli config set maxclients 39 >/dev/null`);
        try {
            const d = script(stack, "drift", "--no-live");
            expect(d.stdout).toMatch(/^\/etc\/redis\/redis\.conf +runtime +\(the command's output is secret/m);
            expect(d.code, d.stdout + d.stderr).toBe(1);
            expect(`${d.stdout}${d.stderr}`).not.toContain(password);
        } finally {
            hostExec(h, `REDISCLI_AUTH=${password} redis-cli config set maxclients 40 >/dev/null`);
        }
        const j = JSON.parse(script(stack, "drift", "--json").stdout) as { live: { findings: string[] } };
        expect(j.live.findings).toEqual([]);
    });

    it("a steady rise over the monitor's samples is a LEAK below the leak threshold, logged with the samples; the latency line has p50/p99", async () => {
        await closePool();
        dropHolds();
        onTestFinished(() => {
            dropHolds();
        });
        expect(monitorRun()).toMatch(/^level=HEALTHY port=6379 connections=0$/m);
        hold(2);
        monitorRun();
        hold(2);
        monitorRun();
        hold(2);
        const out = monitorRun();
        expect(out).toMatch(/^level=LEAK port=6379 connections=12 growth=\+12 samples=0,4,8,12$/m);
        expect(out).toMatch(/^latency p50=\d+\.\d\dms p99=\d+\.\d\dms n=\d+ target p50<1000ms p99<1000ms ok$/m);
        expect(hostExec(h, "cat /var/lib/conntune/conn-monitor.samples.6379; stat -c '%U' /var/lib/conntune; find /var/lib/conntune -maxdepth 0 -perm /022")).toBe("0\n4\n8\n12\nroot\n");
        dropHolds();
        expect(monitorRun()).toMatch(/^level=HEALTHY port=6379 connections=0$/m);
    });

    it("npm run health prints every part of seed 001's check and exits 0; non-zero with the unit named when a watched unit is down", async () => {
        await closePool();
        hostExec(h, `REDISCLI_AUTH=${password} redis-cli config resetstat >/dev/null`);
        let r = script(stack, "health");
        expect(r.stdout).toContain("=== System Health Check ===");
        expect(r.stdout).toMatch(/^ {2}Connections: \d+ established on the Redis port; Redis: 0 connected clients \(blocked 0, rejected 0, maxclients 40\)/m);
        expect(r.stdout).toContain("  Health Monitor: timer active; last: level=HEALTHY port=6379 connections=0");
        expect(r.stdout).toContain("  redis-server.service: active");
        expect(r.stdout).toContain("  batch-writer.service: active");
        expect(r.stdout).toMatch(/^ {2}Latency: p50=\d+\.\d\dms p99=\d+\.\d\dms n=\d+ target p50<1000ms p99<1000ms ok$/m);
        expect(r.stdout).toMatch(/^ {2}Budget: /m);
        expect(r.stdout).toMatch(/all hosts HEALTHY$/m);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        hostExec(h, "systemctl stop batch-writer.service");
        expect(hostExec(h, "systemctl is-active batch-writer.service || true").trim()).toBe("inactive");
        r = script(stack, "health");
        expect(r.stdout).toContain("  batch-writer.service: inactive");
        expect(r.stdout).toMatch(/^ {2}UNHEALTHY: batch-writer\.service is inactive$/m);
        expect(r.code).toBe(1);
        expect(`${r.stdout}${r.stderr}`).not.toContain(password);
        hostExec(h, "systemctl start batch-writer.service");
    });

    it("a Redis on another machine (runsOn): npm run drift counts this host's connections to it and names the process holding the most", async () => {
        // Seed 000's shape: the clients' host declares a pool of 2 (+ 1 reserve) for a Redis it does not manage.
        // Here the clients' host and the Redis are one test host: runsOn names the Redis by its address.
        clientStack = await hostStack(h, "e2e-live-client");
        await clientStack.setHosts([{
            name: "app1", connection: { host: h.address, user: "root", hostKey: h.hostKey },
            sshd: { enabled: false }, sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 },
            redis: { enabled: false, runsOn: "127.0.0.1", settings: { port: 6379 }, clients: [{ name: "ganuda", library: "generic", poolSize: 2 }], clientsReserve: 1 },
        }]);
        await clientStack.up();
        dropHolds();
        hold(6);
        const pid = hostExec(h, "cat /run/ct-holds").trim();
        expect(hostExec(h, `ss -Htnp state established '( dport = :6379 )' | grep -c 'pid=${pid},'`).trim()).toBe("6");
        const r = script(clientStack, "drift");
        expect(r.stdout).toContain(`LIVE: redis on 127.0.0.1 (used from host app1): 6 established connections from this host to 127.0.0.1 > declared budget 3 (clients: ganuda 2 × 1 + reserve 1); most from python3 (pid ${pid}) (6)`);
        expect(r.code, r.stdout + r.stderr).toBe(1);
        dropHolds();
        const ok = script(clientStack, "drift");
        expect(ok.stdout).toContain("host app1: 0 established connections to 127.0.0.1 (127.0.0.1) from this host");
        expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    });
});
