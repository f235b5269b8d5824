/**
 * Proof by a real Redis: Debian's redis-server starts with every rendered config (loopback, own
 * port) and CONFIG GET shows each directive took effect.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ACTIVEDEFRAG_PROBE, activedefragUnsupported, redisDirectives, renderRedisConf, RESTART_ONLY } from "../../components/redis/redisConf";
import { redisSettingsSchema, RedisSettings } from "../../components/redis/settings";
import { seed003 } from "../../lab/fixtures/redis";
import { e2eGate } from "../../lab/stack";

const haveRedis = spawnSync("sh", ["-c", "command -v redis-server && command -v redis-cli"]).status === 0;
const run = e2eGate(haveRedis ? undefined : "redis-server / redis-cli are not installed (scripts/setup.sh installs them)");

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

interface Started { port: number; stop: () => void; cli: (...args: string[]) => string }

/** Start redis-server with the rendered file; resolves when it accepts connections, rejects with its output if it exits. */
async function startRedis(conf: string, sets: RedisSettings): Promise<Started> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-redis-"));
    fs.writeFileSync(path.join(dir, "redis.conf"), conf);
    const port = await freePort();
    const args = [path.join(dir, "redis.conf"), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no"];
    if (sets.save === undefined) args.push("--save", "");
    const p = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const stop = () => {
        if (p.exitCode === null) p.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
    };
    await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
            if (/Ready to accept connections/.test(out)) {
                clearInterval(t);
                resolve();
            }
        }, 20);
        p.on("exit", (code) => {
            clearInterval(t);
            stop();
            reject(new Error(`redis-server exited ${code}: ${out}`));
        });
    });
    return { port, stop, cli: (...a: string[]) => execFileSync("redis-cli", ["-p", String(port), ...a], { encoding: "utf8" }).trim() };
}

/** What CONFIG GET shows for a rendered value. */
function normalize(directive: string, value: string): string {
    return directive === "save" && value === '""' ? "" : value;
}

const seed002 = {
    bind: ["0.0.0.0"], port: 6379, timeout: 300, tcpKeepalive: 60, maxmemory: "8gb", maxmemoryPolicy: "allkeys-lru", maxmemorySamples: 10,
    save: [[3600, 1], [7200, 10000]], ioThreads: 10, ioThreadsDoReads: true, slowlogLogSlowerThan: 10000, slowlogMaxLen: 128, maxclients: 10000,
};

describe.runIf(run)("rendered redis.conf files on a real redis-server", () => {
    it.each([
        ["seed 003 (activedefrag off: Debian's build cannot defrag)", { ...seed003(), activedefrag: false }],
        ["seed 002 (the VM template)", seed002],
        ["AOF off, snapshots off, volatile policy", { appendonly: false, save: [], maxmemory: "64mb", maxmemoryPolicy: "volatile-ttl", hz: 10, lazyfreeLazyUserDel: false }],
    ])("%s: every directive took effect (CONFIG GET)", async (_what, raw) => {
        const s = redisSettingsSchema.parse(raw);
        const r = await startRedis(renderRedisConf(s), s);
        try {
            for (const [k, v] of redisDirectives(s)) {
                if (k === "port" || k === "bind") continue; // the test runs on its own loopback port
                expect(r.cli("config", "get", k).split("\n")[1] ?? "", k).toBe(normalize(k, v));
            }
        } finally {
            r.stop();
        }
    });

    it("knows which directives need a restart: exactly those CONFIG SET refuses as immutable", async () => {
        const s = redisSettingsSchema.parse({ ...seed003(), activedefrag: false, ...seed002, maxmemory: "1gb", memoryLimit: undefined, cpuLimit: undefined });
        const r = await startRedis(renderRedisConf(s), s);
        try {
            for (const [k] of redisDirectives(s)) {
                const cur = r.cli("config", "get", k).split("\n")[1] ?? "";
                const res = spawnSync("redis-cli", ["-p", String(r.port), "config", "set", k, cur], { encoding: "utf8" }).stdout.trim();
                expect(res === "OK", `${k}: ${res}`).toBe(!RESTART_ONLY.has(k));
            }
        } finally {
            r.stop();
        }
    });

    it("says clearly when the target Redis cannot do activedefrag, instead of dropping it", async () => {
        const probe = spawnSync("bash", ["-c", ACTIVEDEFRAG_PROBE], { encoding: "utf8" });
        const s = redisSettingsSchema.parse(seed003());
        if (probe.status === 0) {
            const r = await startRedis(renderRedisConf(s), s);
            expect(r.cli("config", "get", "activedefrag").split("\n")[1]).toBe("yes");
            r.stop();
            return;
        }
        expect(probe.stdout).toMatch(/does not support activedefrag: .*jemalloc/i);
        expect(activedefragUnsupported(probe.stdout)).toMatch(/^activedefrag: yes needs a Redis built with its own jemalloc/);
        expect(renderRedisConf(s)).toContain("activedefrag yes\n");
        await expect(startRedis(renderRedisConf(s), s)).rejects.toThrow(/jemalloc/i);
    });
});
