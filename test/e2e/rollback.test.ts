/**
 * Stack-based rollback on a real test host: v1, then v2 (another keepalive and sshd setting), then
 * `npm run rollback -- --to 1 --yes`: the host's files and effective values equal v1's again, and
 * the history shows the rollback as a new update. With --program, the program revision an update
 * ran comes back too (from a temporary git worktree).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { sshRun } from "../../lab/hosts/ssh";
import { conntuneProject, dispose, e2eGate, hostStack, REPO, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

/**
 * Watch every process's argv (read from /proc; the poller's own argv names only files) for any of
 * `patterns` until `stop`, which resolves with the /proc entries that held one.
 */
function watchArgv(patterns: string[]): { stop: () => Promise<string> } {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-argv-"));
    fs.writeFileSync(path.join(work, "patterns"), patterns.map((p) => `${p}\n`).join(""));
    const poller = spawn("bash", ["-c", 'while [ ! -e "$1/stop" ]; do grep -aFl -f "$1/patterns" /proc/[0-9]*/cmdline >>"$1/hits" 2>/dev/null; sleep 0.02; done; echo done >"$1/stopped"', "poller", work], { stdio: "ignore" });
    return {
        stop: async () => {
            fs.writeFileSync(path.join(work, "stop"), "");
            for (let i = 0; i < 100 && !fs.existsSync(path.join(work, "stopped")); i++) await new Promise((r) => setTimeout(r, 50));
            if (poller.exitCode === null && poller.pid) process.kill(poller.pid, "SIGKILL");
            const hits = fs.existsSync(path.join(work, "hits")) ? fs.readFileSync(path.join(work, "hits"), "utf8") : "";
            fs.rmSync(work, { recursive: true, force: true });
            return hits;
        },
    };
}

describe.runIf(run)("npm run rollback", () => {
    let h: TestHost;
    let stack: Stack;
    const hosts = (keepalive: number, interval: number) => [{
        name: "web1", connection: { host: h.address, user: "root", hostKey: h.hostKey },
        sshd: { clientAliveInterval: interval }, sysctl: { settings: { "net.ipv4.tcp_keepalive_time": keepalive }, keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
        limits: { enabled: false, soft: 4096, hard: 16384 },
    }];
    const files = () => hostExec(h, "sha256sum /etc/ssh/sshd_config.d/00-conntune.conf /etc/sysctl.d/99-conntune-tcp.conf");
    const values = () => sshRun(h, "sysctl -n net.ipv4.tcp_keepalive_time; sshd -T | grep ^clientaliveinterval");

    beforeAll(async () => {
        h = await startHost();
        stack = await hostStack(h, "e2e-rollback");
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("returns the host to update 1's files and values, as a new update", async () => {
        await stack.setHosts(hosts(600, 300));
        await stack.up();
        const v1Files = files();
        expect(await values()).toBe("600\nclientaliveinterval 300");
        await stack.setHosts(hosts(300, 120));
        await stack.up();
        expect(await values()).toBe("300\nclientaliveinterval 120");
        expect(files()).not.toBe(v1Files);

        const r = spawnSync("npx", ["tsx", path.join(REPO, "scripts/rollback.ts"), "--stack", stack.name, "--to", "1", "--yes", "--project-dir", stack.projectDir], { env: stack.env, encoding: "utf8", cwd: REPO });
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(/-\s*ClientAliveInterval 120/);
        expect(r.stdout).toMatch(/\+\s*ClientAliveInterval 300/);
        expect(files()).toBe(v1Files);
        expect(await values()).toBe("600\nclientaliveinterval 300");

        const list = spawnSync("npx", ["tsx", path.join(REPO, "scripts/rollback.ts"), "--stack", stack.name, "--list", "--project-dir", stack.projectDir], { env: stack.env, encoding: "utf8", cwd: REPO });
        expect(list.stdout.trim().split("\n")).toHaveLength(4);
        expect(list.stdout).toMatch(/^3\s+.*update\s+succeeded\s+.*conntune rollback to update 1$/m);
    });

    it("with --program runs the program revision update N ran, from a fresh git worktree (its own npm ci, a command provider) it removes again", async () => {
        const dir = stack.projectDir;
        const sh = (cmd: string) => execFileSync("bash", ["-c", cmd], { cwd: dir, encoding: "utf8" });
        const rollback = (...a: string[]) =>
            spawnSync("npx", ["tsx", path.join(REPO, "scripts/rollback.ts"), "--stack", stack.name, ...a, "--project-dir", dir], { env: stack.env, encoding: "utf8", cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
        const header = () => hostExec(h, "head -n1 /etc/sysctl.d/99-conntune-tcp.conf");
        // v1's lockfile differs from the checkout's (by a trailing newline): its worktree installs its
        // own dependencies (npm ci), which bring no command provider (Pulumi.yaml's plugin path).
        const lockText = fs.readFileSync(path.join(REPO, "package-lock.json"), "utf8");
        fs.writeFileSync(path.join(dir, "package-lock.json"), `${lockText}\n`);
        fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules\nPulumi.*.yaml\n");
        const commit = (m: string) => sh(`git add -A && git -c user.name=t -c user.email=t@example.invalid commit -qm ${m} && git rev-parse HEAD`).trim();
        sh("git init -q");
        const v1 = commit("v1");
        await stack.up(); // update 4: the v1 program
        const before = header();
        const render = path.join(dir, "components/core/render.ts");
        fs.writeFileSync(render, fs.readFileSync(render, "utf8").replace("# Managed by conntune:", "# Managed by conntune (v2):"));
        fs.writeFileSync(path.join(dir, "package-lock.json"), lockText);
        commit("v2");
        await stack.up(); // update 5: the v2 program rewrites every file's first line
        expect(header()).toMatch(/^# Managed by conntune \(v2\):/);
        const tmpBefore = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("conntune-rollback-"));

        // Update 1 ran before the project was a git repository: there is no revision to go back to.
        const none = rollback("--to", "1", "--program", "--yes");
        expect(none.status).toBe(1);
        expect(none.stderr).toMatch(/update 1 recorded no git revision/);

        const r = rollback("--to", "4", "--program", "--yes");
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`program at revision ${v1.slice(0, 10)}`));
        expect(r.stdout).toContain(`installing the dependencies of revision ${v1.slice(0, 10)} (npm ci)`);
        expect(r.stdout).toMatch(/-\s*# Managed by conntune \(v2\):/);
        expect(header()).toBe(before);
        expect(sh("git worktree list").trim().split("\n")).toHaveLength(1);
        expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("conntune-rollback-"))).toEqual(tmpBefore);
    });

    it("never puts a secret on a command line, and changes the stack config only once the user confirms", async () => {
        const dir = stack.projectDir;
        const file = path.join(dir, `Pulumi.${stack.name}.yaml`);
        const before = fs.readFileSync(file, "utf8");
        const leftovers = () => fs.readdirSync(dir).filter((f) => f.startsWith(".conntune-rollback-"));
        const cmd = ["npx", "tsx", path.join(REPO, "scripts/rollback.ts"), "--stack", stack.name, "--to", "2", "--project-dir", dir];
        // Every process's argv while the rollbacks run.
        const watch = watchArgv([h.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"))[1]]);
        let hits = "";
        try {
            const noTty = spawnSync(cmd[0], cmd.slice(1), { env: stack.env, encoding: "utf8", cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
            expect(noTty.status, `${noTty.stdout}\n${noTty.stderr}`).toBe(1);
            expect(noTty.stderr).toMatch(/not applied: pass --yes .*the stack's config is unchanged/);
            expect(fs.readFileSync(file, "utf8")).toBe(before);

            // A terminal (script(1) gives it one) where the user answers "n".
            const declined = spawnSync("script", ["-qec", cmd.map((a) => `'${a}'`).join(" "), "/dev/null"], { env: stack.env, encoding: "utf8", cwd: REPO, input: "n\n", timeout: 300_000 });
            expect(declined.stdout).toMatch(/apply the rollback of .* to update 2\? \[y\/N\]/);
            expect(declined.stdout).toMatch(/not applied \(the stack's config is unchanged\)/);
            expect(fs.readFileSync(file, "utf8")).toBe(before);
            expect(leftovers()).toEqual([]);

            const yes = spawnSync(cmd[0], [...cmd.slice(1), "--yes"], { env: stack.env, encoding: "utf8", cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
            expect(yes.status, `${yes.stdout}\n${yes.stderr}`).toBe(0);
            expect(await values()).toBe("300\nclientaliveinterval 120");
            expect(fs.readFileSync(file, "utf8")).not.toBe(before);
            expect(leftovers()).toEqual([]);
        } finally {
            hits = await watch.stop();
        }
        expect(hits, "processes whose argv held the private key").toBe("");
    });

    it("restores a secret that changed since update N, encrypted, handing it to pulumi on stdin only", async () => {
        // No host needed: the stack's only secret changes between its two updates.
        const s = new Stack(conntuneProject(), "e2e-rollback-secret");
        const one = `rollback-secret-one-${randomBytes(8).toString("hex")}`;
        const two = `rollback-secret-two-${randomBytes(8).toString("hex")}`;
        try {
            await s.init();
            await s.setHosts([]);
            await s.setConfig("conntune:sshPrivateKey", one, true);
            await s.up();
            await s.setConfig("conntune:sshPrivateKey", two, true);
            await s.up();
            const watch = watchArgv([one]);
            let hits = "";
            let r: ReturnType<typeof spawnSync>;
            try {
                r = spawnSync("npx", ["tsx", path.join(REPO, "scripts/rollback.ts"), "--stack", s.name, "--to", "1", "--yes", "--project-dir", s.projectDir], { env: s.env, encoding: "utf8", cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
            } finally {
                hits = await watch.stop();
            }
            expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
            expect((await s.run(["config", "get", "--stack", s.name, "conntune:sshPrivateKey"])).stdout.trim()).toBe(one);
            const file = fs.readFileSync(path.join(s.projectDir, `Pulumi.${s.name}.yaml`), "utf8");
            expect(file).toMatch(/sshPrivateKey:\s*\n\s*secure: /);
            expect(file).not.toContain(one);
            expect(hits, "processes whose argv held the secret").toBe("");
        } finally {
            await dispose(s);
        }
    });

    it("refuses to apply without --yes when nobody can answer the prompt", () => {
        const r = spawnSync("npx", ["tsx", path.join(REPO, "scripts/rollback.ts"), "--stack", stack.name, "--to", "2", "--project-dir", stack.projectDir], { env: stack.env, encoding: "utf8", cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/not applied: pass --yes/);
    });
});
