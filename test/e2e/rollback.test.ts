/**
 * Stack-based rollback on a real test host: v1, then v2 (another keepalive and sshd setting), then
 * `npm run rollback -- --to 1 --yes`: the host's files and effective values equal v1's again, and
 * the history shows the rollback as a new update.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../hosts/harness";
import { sshRun } from "../hosts/ssh";
import { dispose, e2eGate, hostStack, REPO, Stack } from "./pulumi";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

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

    it("refuses to apply without --yes when nobody can answer the prompt", () => {
        const r = spawnSync("npx", ["tsx", path.join(REPO, "scripts/rollback.ts"), "--stack", stack.name, "--to", "2", "--project-dir", stack.projectDir], { env: stack.env, encoding: "utf8", cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/not applied: pass --yes/);
    });
});
