/**
 * The ConfigMap target's live check (`conntune:redis.liveCheck`) against a real Redis: Debian's
 * redis-server with requirepass on loopback stands in for the cluster's Redis behind a port-forward.
 * A render-mode k8s stack (no cluster) declares its clients; `npm run drift` reads the Redis from
 * this machine and reports more connections than declared, by peer address. No test host is needed.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conntuneProject, dispose, e2eGate, REPO, Stack } from "../../lab/stack";

const haveRedis = spawnSync("sh", ["-c", "command -v redis-server"]).status === 0;
const toolchain = spawnSync("bash", [path.join(REPO, "scripts", "toolchain.sh"), "--check"], { encoding: "utf8" });
const run = e2eGate(!haveRedis ? "redis-server is not installed (scripts/setup.sh installs it)" : toolchain.status === 0 ? undefined : "the Pulumi toolchain is not built: run `bash scripts/setup.sh`");

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

function drift(stack: Stack, name: "drift" | "health" = "drift"): { code: number | null; out: string } {
    const r = spawnSync("npx", ["tsx", path.join(REPO, `scripts/${name}.ts`), "--stack", stack.name, "--project-dir", stack.projectDir], { env: stack.env, encoding: "utf8", cwd: REPO, timeout: 300_000 });
    return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe.runIf(run)("the ConfigMap's Redis read live by npm run drift (conntune:redis.liveCheck)", () => {
    let stack: Stack;
    let port: number;
    let redis: ReturnType<typeof spawn> | undefined;
    let dir: string | undefined;
    const password = `ctpw${randomBytes(10).toString("hex")}`;
    const pool: net.Socket[] = [];
    const RENDER_DIR = "rendered/livecheck";
    const redisConfig = (address: string) => ({
        mode: "render", renderDir: RENDER_DIR, namespace: "redis", name: "redis-standalone-ext-config",
        settings: { maxclients: 100 },
        // Budget 3: api 2 × 1 + reserve 1.
        clients: [{ name: "api", library: "generic", poolSize: 2, replicas: 1 }], clientsReserve: 1,
        liveCheck: { address, passwordSecret: "redisPassword" },
    });

    /** Open `n` authenticated connections to the Redis (each answers +OK to its AUTH first). */
    async function openPool(n: number): Promise<void> {
        for (let i = 0; i < n; i++) {
            const s = net.connect({ host: "127.0.0.1", port });
            pool.push(s);
            await new Promise<void>((resolve, reject) => {
                s.once("error", reject);
                s.once("data", () => resolve());
                s.write(`*2\r\n$4\r\nAUTH\r\n$${password.length}\r\n${password}\r\n`);
            });
        }
    }
    async function closePool(): Promise<void> {
        await Promise.all(pool.splice(0).map((s) => new Promise<void>((resolve) => s.end(resolve))));
        // Redis notices the closed connections on its next event loop turn.
        await new Promise((r) => setTimeout(r, 300));
    }

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-livecm-"));
        port = await freePort();
        const p = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--requirepass", password, "--maxclients", "100", "--daemonize", "no"], { stdio: ["ignore", "pipe", "pipe"] });
        redis = p;
        let out = "";
        p.stdout!.on("data", (d) => (out += d));
        p.stderr!.on("data", (d) => (out += d));
        await new Promise<void>((resolve, reject) => {
            const deadline = setTimeout(() => reject(new Error(`redis-server did not start within 15 s: ${out}`)), 15_000);
            const t = setInterval(() => {
                if (/Ready to accept connections/.test(out)) {
                    clearInterval(t);
                    clearTimeout(deadline);
                    resolve();
                }
            }, 20);
            p.on("exit", (code) => {
                clearInterval(t);
                clearTimeout(deadline);
                reject(new Error(`redis-server exited ${code}: ${out}`));
            });
        });
        stack = new Stack(conntuneProject(), "e2e-livecm");
        await stack.init();
        await stack.setConfig("conntune:redisPassword", password, true);
        await stack.setObject("conntune:redis", redisConfig(`127.0.0.1:${port}`));
        // Render mode writes the manifests: up once so drift's refresh has nothing pending.
        const up = await stack.up();
        expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    }, 240_000);

    afterAll(async () => {
        for (const s of pool.splice(0)) s.destroy();
        if (redis && redis.exitCode === null) process.kill(redis.pid!, "SIGKILL");
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
        if (stack) {
            fs.rmSync(path.join(stack.projectDir, RENDER_DIR), { recursive: true, force: true });
            await dispose(stack);
        }
    });

    it("more connections than the declared clients allow: exit 1, naming the budget excess and 127.0.0.1; the password never shown", async () => {
        await openPool(5);
        const r = drift(stack);
        const target = `redis ConfigMap redis/redis-standalone-ext-config at 127.0.0.1:${port}`;
        expect(r.out).toContain(`${target}: 5 connected clients (blocked 0, rejected 0, maxclients 100); by peer: 127.0.0.1 5`);
        expect(r.out).toContain(`LIVE: ${target}: 5 connected clients > declared budget 3 (clients: api 2 × 1 + reserve 1); most from 127.0.0.1 (5)`);
        expect(r.code, r.out).toBe(1);
        expect(r.out).not.toContain(password);
        const h = drift(stack, "health");
        expect(h.out).toContain(`${target}\n  Connections: Redis: 5 connected clients`);
        expect(h.out).toContain(`  Budget: ${target}: 5 connected clients > declared budget 3`);
        expect(h.code, h.out).toBe(1);
        expect(h.out).not.toContain(password);
    }, 300_000);

    it("within the budget: exit 0, no finding", async () => {
        await closePool();
        await openPool(2);
        const r = drift(stack);
        expect(r.out).toMatch(/at 127\.0\.0\.1:\d+: 2 connected clients \(blocked 0, rejected 0, maxclients 100\); by peer: 127\.0\.0\.1 2/);
        expect(r.out).not.toContain("LIVE:");
        expect(r.code, r.out).toBe(0);
        expect(r.out).not.toContain(password);
    }, 300_000);

    it("an address nothing answers at makes the check incomplete: exit 2", async () => {
        const closed = await freePort();
        await stack.setObject("conntune:redis", redisConfig(`127.0.0.1:${closed}`));
        const r = drift(stack);
        expect(r.out).toContain(`ERROR: redis ConfigMap redis/redis-standalone-ext-config at 127.0.0.1:${closed}: cannot read Redis: ECONNREFUSED 127.0.0.1:${closed}`);
        expect(r.out).toContain("live check incomplete");
        expect(r.code, r.out).toBe(2);
        expect(r.out).not.toContain(password);
    }, 300_000);
});
