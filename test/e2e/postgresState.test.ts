/**
 * The team state backend (issue 14 part 3): PostgreSQL, Debian's server, a throwaway cluster of the
 * test's own (lab/postgres.ts), the state role's password only in PGPASSWORD. Two host-group stacks
 * of the conntune project, one test host each: init, up, history and `npm run rollback` on it; the
 * state lock refusing a second `up`; both groups updating at once; secrets still encrypted in the
 * table (read back with psql); `npm run pulumi` and `npm run drift` reading the same state.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, startHosts, stopHosts, TestHost } from "../../lab/hosts/harness";
import { sshRun } from "../../lab/hosts/ssh";
import { postgresUnavailable, startPostgres, TestPostgres } from "../../lab/postgres";
import { dispose, e2eGate, hostStack, REPO, Stack } from "../../lab/stack";
import { BACKEND_URL_PASSWORD } from "../../scripts/engine";

const cap = capability();
const run = e2eGate(cap.ok ? postgresUnavailable() : cap.reason);

describe.runIf(run)("team state in PostgreSQL", () => {
    let pg: TestPostgres;
    let h1: TestHost;
    let h2: TestHost;
    let a: Stack;
    let b: Stack;
    /** One host per group: group-a logs in as the sudo user (its sudo password a secret), group-b as root. */
    const entryA = (interval: number, keepalive: number) => [{
        name: "web1", connection: { host: h1.address, port: h1.port, user: h1.sudoUser, hostKey: h1.hostKey, sudoPasswordSecret: "sudoPassword" },
        sshd: { clientAliveInterval: interval }, sysctl: { settings: { "net.ipv4.tcp_keepalive_time": keepalive }, keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
        limits: { enabled: false, soft: 4096, hard: 16384 },
    }];
    const entryB = (interval: number) => [{
        name: "web2", connection: { host: h2.address, port: h2.port, user: "root", hostKey: h2.hostKey },
        sshd: { clientAliveInterval: interval }, sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
        limits: { enabled: false, soft: 4096, hard: 16384 },
    }];
    const values = (h: TestHost) => sshRun(h, "sshd -T | grep ^clientaliveinterval; sysctl -n net.ipv4.tcp_keepalive_time");
    /** The table's rows: key → the stored object's bytes (the backend keeps each as base64 in a JSON column). */
    const rows = (where = "true"): Map<string, string> => {
        const out = pg.sql(`SELECT key || '|' || (data->>'data') FROM ${pg.table} WHERE ${where} ORDER BY key;`);
        return new Map(out.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("|")), Buffer.from(l.slice(l.indexOf("|") + 1), "base64").toString("utf8")]));
    };
    const lockKeys = (stack: string) => [...rows("key LIKE '%/.pulumi/locks/%'").keys()].filter((k) => k.includes(`/conntune/${stack}/`));
    const history = async (s: Stack) => JSON.parse((await s.run(["stack", "history", "--json", "--stack", s.name])).stdout) as { kind: string; result: string; message: string }[];
    const tsx = (script: string, args: string[], env: NodeJS.ProcessEnv) =>
        spawnSync("npx", ["tsx", path.join(REPO, script), ...args], { env, encoding: "utf8", cwd: REPO, stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });

    beforeAll(async () => {
        pg = await startPostgres();
        [h1, h2] = await startHosts(2);
        a = await hostStack(h1, "group-a", true, pg.env);
        b = await hostStack(h2, "group-b", false, pg.env);
    });

    afterAll(async () => {
        await dispose(a);
        await dispose(b);
        await pg?.stop();
        await stopHosts([h1, h2].filter(Boolean));
    });

    it("keeps a host-group stack in the table: init, up on a real host, its history, nothing in a local state dir", async () => {
        await a.setHosts(entryA(300, 600));
        await a.up();
        expect(await values(h1)).toBe("clientaliveinterval 300\n600");
        const state = rows().get("conntune/.pulumi/stacks/conntune/group-a.json");
        expect(state, [...rows().keys()].join("\n")).toBeDefined();
        const resources = (JSON.parse(state!) as { checkpoint: { latest: { resources: { urn: string }[] } } }).checkpoint.latest.resources;
        expect(resources.some((r) => r.urn.endsWith("::web1-sshd-dropin-apply"))).toBe(true);
        expect(fs.existsSync(path.join(a.backendDir, ".pulumi"))).toBe(false);
        const h = await history(a);
        expect(h.map((u) => `${u.kind} ${u.result}`)).toEqual(["update succeeded"]);
    });

    it("rolls the stack back to update 1 with npm run rollback, from the table's history", async () => {
        await a.setHosts(entryA(120, 300));
        await a.up();
        expect(await values(h1)).toBe("clientaliveinterval 120\n300");
        const r = tsx("scripts/rollback.ts", ["--stack", a.name, "--to", "1", "--yes", "--project-dir", a.projectDir], a.env);
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(await values(h1)).toBe("clientaliveinterval 300\n600");
        const h = await history(a);
        expect(h).toHaveLength(3);
        expect(h[0].message).toBe("conntune rollback to update 1");
    });

    it("refuses a second up of the same stack while the first holds the lock, naming the holder; the first completes", async () => {
        await a.setHosts(entryA(200, 400));
        const first = a.up();
        let lock: string | undefined;
        for (let i = 0; i < 600 && !lock; i++) {
            lock = lockKeys(a.name)[0];
            if (!lock) await new Promise((r) => setTimeout(r, 100));
        }
        expect(lock, "the first up never took the lock").toBeDefined();
        // Pause the lock's holder so that the second up meets it for certain, then let it go on.
        const holder = (JSON.parse(rows().get(lock!)!) as { pid: number }).pid;
        process.kill(holder, "SIGSTOP");
        let second;
        try {
            second = await a.up([], true);
        } finally {
            process.kill(holder, "SIGCONT");
        }
        expect(second.code).not.toBe(0);
        const said = `${second.stdout}${second.stderr}`;
        expect(said).toContain("the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.");
        expect(said).toMatch(new RegExp(`postgres://\\*{4}:\\*{4}@127\\.0\\.0\\.1:${pg.port}/\\S*locks/\\S*conntune/group-a/\\S*: created by \\S+ \\(pid ${holder}\\)`));
        await first;
        expect(await values(h1)).toBe("clientaliveinterval 200\n400");
        expect(lockKeys(a.name)).toEqual([]);
        expect((await history(a)).map((u) => u.result)).toEqual(["succeeded", "succeeded", "succeeded", "succeeded"]);
    });

    it("updates two host-group stacks at the same time, each under its own lock", async () => {
        await a.setHosts(entryA(90, 450));
        await b.setHosts(entryB(240));
        const both = new Set<string>();
        let done = false;
        const watch = (async () => {
            while (!done) {
                const held = [a.name, b.name].filter((s) => lockKeys(s).length > 0);
                if (held.length === 2) both.add(held.join(","));
                await new Promise((r) => setTimeout(r, 100));
            }
        })();
        try {
            await Promise.all([a.up(), b.up()]);
        } finally {
            done = true;
            await watch;
        }
        expect([...both], "both stacks held their locks at one moment").toEqual(["group-a,group-b"]);
        expect(await values(h1)).toBe("clientaliveinterval 90\n450");
        expect(await sshRun(h2, "sshd -T | grep ^clientaliveinterval")).toBe("clientaliveinterval 240");
    });

    it("is what npm run pulumi and npm run drift read (PULUMI_BACKEND_URL and PGPASSWORD from the environment)", () => {
        const ls = spawnSync("bash", [path.join(REPO, "scripts/pulumi.sh"), "stack", "ls", "--json", "--non-interactive"], { env: a.env, encoding: "utf8" });
        expect(ls.status, ls.stderr).toBe(0);
        expect((JSON.parse(ls.stdout) as { name: string }[]).map((s) => s.name).sort()).toEqual(["group-a", "group-b"]);
        const drift = tsx("scripts/drift.ts", ["--stack", b.name, "--project-dir", b.projectDir], b.env);
        expect(drift.status, `${drift.stdout}\n${drift.stderr}`).toBe(0);
    });

    it("keeps every secret encrypted in the table: the sudo password, the SSH key and the database password never occur", () => {
        const all = [...rows().values()].join("\n");
        // The secrets are there, encrypted: in the checkpoints, and as each update's recorded config.
        expect(all).toContain('"ciphertext"');
        expect(all).toMatch(/"conntune:sudoPassword":\{"secure":"v1:/);
        const keyLine = h1.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"))[1];
        for (const secret of [h1.sudoPassword, keyLine, h2.privateKey.split("\n")[1], pg.password]) {
            expect(all).not.toContain(secret);
            expect([...a.transcript, ...b.transcript].join("\n")).not.toContain(secret);
        }
        expect(pg.sql(`SELECT count(*) FROM ${pg.table} WHERE data::text LIKE '%${h1.sudoPassword}%';`).trim()).toBe("0");
    });

    it("says why it cannot open the table, without the password: wrong password, nothing listening", () => {
        const wrong = spawnSync("bash", [path.join(REPO, "scripts/pulumi.sh"), "stack", "ls", "--non-interactive"], { env: { ...a.env, PGPASSWORD: "not-the-password" }, encoding: "utf8" });
        expect(wrong.status).not.toBe(0);
        expect(wrong.stderr).toContain(`error: unable to open state database "${pg.url}": failed to ping PostgreSQL: pq: password authentication failed for user "conntune_state"`);
        const closed = pg.url.replace(`:${pg.port}/`, ":1/");
        const none = spawnSync("bash", [path.join(REPO, "scripts/pulumi.sh"), "stack", "ls", "--non-interactive"], { env: { ...a.env, PULUMI_BACKEND_URL: closed }, encoding: "utf8" });
        expect(none.status).not.toBe(0);
        expect(none.stderr).toContain("connect: connection refused");
        for (const r of [wrong, none]) expect(`${r.stdout}${r.stderr}`).not.toContain(pg.password);
    });

    it("refuses a backend URL with the password in it in npm run pulumi, drift and rollback, before the CLI could print it", () => {
        const env = { ...b.env, PULUMI_BACKEND_URL: pg.url.replace("conntune_state@", `conntune_state:${pg.password}@`) };
        const runs = [
            spawnSync("bash", [path.join(REPO, "scripts/pulumi.sh"), "stack", "ls", "--non-interactive"], { env, encoding: "utf8" }),
            tsx("scripts/drift.ts", ["--stack", b.name, "--project-dir", b.projectDir], env),
            tsx("scripts/rollback.ts", ["--stack", b.name, "--list", "--project-dir", b.projectDir], env),
        ];
        for (const r of runs) {
            expect(r.status).not.toBe(0);
            expect(r.stderr).toContain(BACKEND_URL_PASSWORD);
            expect(`${r.stdout}${r.stderr}`).not.toContain(pg.password);
        }
    });
});
