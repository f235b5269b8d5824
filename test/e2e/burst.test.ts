/**
 * Seed 004 on a real test host, in small: 2000 connects reach a Redis that is not accepting. The stock
 * accept queue (tcp-backlog 511) overflows and the kernel drops SYNs; after conntune's high-concurrency
 * profile (somaxconn 10000, tcp-backlog 10000, maxclients 16000) the queue holds all of them and every
 * connection is answered on its first SYN. The full benchmark with figures is `npm run bench:burst`.
 *
 * Deterministic by construction, not by timing: Redis is stopped (SIGSTOP) before the burst and only
 * continued once the kernel has shown the outcome (an overflow before; all 2000 queued after), so a
 * slow or loaded machine changes how long the test takes, never what it sees. Only kernel and Redis
 * counters are asserted, no latencies.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostConfig, netstat, redisInfo, runClient, waitForRedis } from "../../bench/burst/run";
import type { BurstResult } from "../../bench/burst/client";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, hostStack, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

const COUNT = 2000;

interface Outcome {
    client: BurstResult;
    overflows: number;
    synRetrans: number;
    rejected: number;
}

/** Connected sockets to Redis waiting in its accept queue (ss: Recv-Q of the listener). */
function queued(h: TestHost): number {
    return Number(hostExec(h, "ss -Hltn 'sport = :6379' | awk '$4 ~ /^127\\.0\\.0\\.1:/ {print $2}'").trim() || "0");
}

/**
 * Stop Redis, start the burst, wait (bounded) until `seen` says the kernel has shown its outcome,
 * continue Redis, and collect the client's result and the counters.
 */
async function burstAgainstStoppedRedis(h: TestHost, seen: (overflows: number) => boolean): Promise<Outcome> {
    const pid = hostExec(h, "systemctl show -p MainPID --value redis-server.service").trim();
    const k0 = netstat(h);
    const rejected0 = Number(redisInfo(h).rejected_connections);
    hostExec(h, `kill -STOP ${pid}`);
    let client: Promise<BurstResult>;
    try {
        client = runClient(h, { host: "127.0.0.1", port: 6379, count: COUNT, windowMs: 200, timeoutMs: 10000, holdMs: 0, stallMs: 0 });
        for (let i = 0; i < 300 && !seen(netstat(h).ListenOverflows - k0.ListenOverflows); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
        hostExec(h, `kill -CONT ${pid}`);
    }
    const result = await client;
    const k1 = netstat(h);
    return { client: result, overflows: k1.ListenOverflows - k0.ListenOverflows, synRetrans: k1.TCPSynRetrans - k0.TCPSynRetrans, rejected: Number(redisInfo(h).rejected_connections) - rejected0 };
}

describe.runIf(run)("a connection burst against a Redis host, before and after the high-concurrency profile (seed 004)", () => {
    let h: TestHost;
    let stack: Stack;

    beforeAll(async () => {
        h = await startHost();
        hostExec(h, "systemctl start redis-server.service");
        waitForRedis(h);
        stack = await hostStack(h, "e2e-burst");
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("on the stock host the 511-connection accept queue overflows and the kernel drops SYNs", async () => {
        expect(queued(h)).toBe(0);
        const r = await burstAgainstStoppedRedis(h, (overflows) => overflows > 0);
        expect(r.overflows).toBeGreaterThan(0);
        // A dropped SYN is only sent again after the 1 s initial retransmission timeout.
        expect(r.synRetrans).toBeGreaterThan(0);
        expect(r.client.attempted).toBe(COUNT);
    });

    it("after pulumi up every connection is queued, answered on its first SYN, and none is rejected", async () => {
        await stack.setHosts(hostConfig(h));
        await stack.up();
        waitForRedis(h);
        expect(hostExec(h, "sysctl -n net.core.somaxconn; redis-cli config get tcp-backlog | sed -n 2p; redis-cli config get maxclients | sed -n 2p")).toBe("10000\n10000\n16000\n");
        const r = await burstAgainstStoppedRedis(h, (overflows) => overflows > 0 || queued(h) >= COUNT);
        expect(r.overflows).toBe(0);
        expect(r.synRetrans).toBe(0);
        expect(r.rejected).toBe(0);
        expect(r.client).toMatchObject({ attempted: COUNT, succeeded: COUNT, refused: 0, rejectedByRedis: 0, timedOut: 0, otherErrors: {} });
    });
});
