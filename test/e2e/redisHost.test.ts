/**
 * Redis on a VM (seed 002) through the managed-file mechanism on a real test host running Debian's
 * redis-server: validated on a spare port, CONFIG SET where possible, a restart only where needed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { sshRun } from "../../lab/hosts/ssh";
import { dispose, e2eGate, hostStack, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

describe.runIf(run)("Redis on a host (seed 002)", () => {
    let h: TestHost;
    let stack: Stack;
    let original: string;
    const seed002 = (over: Record<string, unknown> = {}) => ({
        bind: ["0.0.0.0"], port: 6379, timeout: 300, tcpKeepalive: 60, maxmemory: "64mb", maxmemoryPolicy: "allkeys-lru", maxmemorySamples: 10,
        save: [[3600, 1], [7200, 10000]], ioThreads: 2, ioThreadsDoReads: true, slowlogLogSlowerThan: 10000, slowlogMaxLen: 128, maxclients: 4000, ...over,
    });
    const hostCfg = (settings: Record<string, unknown>) => [{
        name: "vm3", connection: { host: h.address, user: "root", hostKey: h.hostKey },
        sshd: { enabled: false }, sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 }, redis: { settings },
    }];
    const get = async (k: string) => (await sshRun(h, `redis-cli config get ${k} | sed -n 2p`)).trim();
    const mainPid = () => hostExec(h, "systemctl show -p MainPID --value redis-server.service").trim();

    beforeAll(async () => {
        h = await startHost();
        hostExec(h, "systemctl start redis-server.service");
        original = hostExec(h, "sha256sum /etc/redis/redis.conf; stat -c '%a %U %G' /etc/redis/redis.conf");
        stack = await hostStack(h, "e2e-redis-vm");
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("applies the seed-002 template: CONFIG GET shows every directive, restarting only for io-threads", async () => {
        await stack.setHosts(hostCfg(seed002()));
        await stack.up();
        expect(await get("maxmemory")).toBe("67108864");
        expect(await get("maxmemory-policy")).toBe("allkeys-lru");
        expect(await get("save")).toBe("3600 1 7200 10000");
        expect(await get("io-threads")).toBe("2");
        expect(await get("timeout")).toBe("300");
        const r = ((await stack.outputs()).effective as Record<string, { redis: Record<string, string> }>).vm3.redis;
        expect(r.redis_restarted_for.split(" ").sort()).toEqual(["io-threads", "io-threads-do-reads"]);
        expect(r.maxclients).toBe("4000");
    });

    it("changes a runtime directive with CONFIG SET, without restarting Redis", async () => {
        const pid = mainPid();
        await stack.setHosts(hostCfg(seed002({ timeout: 120, maxmemory: "96mb" })));
        await stack.up();
        expect(await get("timeout")).toBe("120");
        expect(await get("maxmemory")).toBe("100663296");
        expect(mainPid()).toBe(pid);
        const r = ((await stack.outputs()).effective as Record<string, { redis: Record<string, string> }>).vm3.redis;
        expect(r.redis_applied_live.split(" ").sort()).toEqual(["maxmemory", "timeout"]);
        expect(r.redis_restarted_for).toBeUndefined();
    });

    it("refuses activedefrag on a Redis that cannot do it, with the reason, and changes nothing", async () => {
        const before = hostExec(h, "sha256sum /etc/redis/redis.conf");
        await stack.setHosts(hostCfg(seed002({ timeout: 120, maxmemory: "96mb", activedefrag: true })));
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/activedefrag: yes needs a Redis built with its own jemalloc/);
        expect(hostExec(h, "sha256sum /etc/redis/redis.conf")).toBe(before);
        await stack.setHosts(hostCfg(seed002({ timeout: 120, maxmemory: "96mb" })));
    });

    it("puts the original redis.conf back byte for byte on destroy, Redis still running", async () => {
        await stack.destroy();
        expect(hostExec(h, "sha256sum /etc/redis/redis.conf; stat -c '%a %U %G' /etc/redis/redis.conf")).toBe(original);
        expect(await sshRun(h, "redis-cli ping")).toBe("PONG");
        expect(await get("maxmemory")).toBe("0");
    });
});
