/**
 * The policy pack (policy/) through the real `pulumi preview --policy-pack policy`: each production
 * rule fails a bad stack with a message naming the host (or ConfigMap) and the field, the advisory
 * rule warns without failing, a stack not tagged production is not held to the rules, and the seed
 * stacks (Pulumi.redfin.yaml, Pulumi.k8s.yaml) pass when tagged production. Previews only: no test
 * host is needed, and no address below (nor the seed stacks') is ever contacted.
 */
import { throwawayKeyPair } from "../../lab/keys";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conntuneProject, e2eGate, projectCopy, REPO, Stack } from "../../lab/stack";

/** Real keys made for this file (conntune's provider parses both at preview); never used for a login. */
const KEYS = throwawayKeyPair();
/** Addresses of a test subnet nothing listens on; preview never connects anyway. */
const ADDR = "10.213.251.2";
let next = 2;
const host = (name: string, over: Record<string, unknown> = {}) => ({ name, connection: { host: `10.213.251.${next++}`, hostKey: KEYS.pub }, ...over });
const TAG = "conntune:environment";
/** What the CLI prints after a preview the pack ran on. */
const PACK_RAN = /Policy Packs run:\s+Name\s+Version\s+conntune-production\|local\|policy\s+0\.1\.0/;

interface Case {
    /** Short id, also the stack name's suffix. */
    id: string;
    /** `production`, another value, or no tag at all. */
    tag?: string;
    /** conntune: config objects (hosts, redis), or a seed stack file to start from. */
    config?: Record<string, unknown>;
    seed?: string;
    /** A fixture program instead of conntune's. */
    fixture?: string;
}

const BAD_EVERYTHING = {
    hosts: [
        host("idle", { sshd: { clientAliveInterval: 450 } }),
        host("root", { sshd: { extra: { PermitRootLogin: "yes" }, allowRiskyKeywords: ["PermitRootLogin"] } }),
        host("fds", { limits: { soft: 4096 }, systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 4096 } } }] }),
        host("cache", { redis: { settings: { maxmemory: "512mb", maxmemoryPolicy: "noeviction" } } }),
    ],
};

const CASES: Case[] = [
    { id: "idle", tag: "production", config: { hosts: [BAD_EVERYTHING.hosts[0]] } },
    { id: "auth", tag: "production", config: { hosts: [BAD_EVERYTHING.hosts[1]] } },
    { id: "nofile", tag: "production", config: { hosts: [BAD_EVERYTHING.hosts[2]] } },
    { id: "redis", tag: "production", config: { hosts: [BAD_EVERYTHING.hosts[3]] } },
    {
        id: "headroom",
        tag: "production",
        config: { redis: { namespace: "redis", name: "redis-cfg", settings: { memoryLimit: "32Gi", maxmemory: { percentOfLimit: 95 }, maxmemoryPolicy: "allkeys-lru" } } },
    },
    { id: "unpinned", tag: "production", fixture: "test/e2e/fixtures/unpinned-command" },
    { id: "budget", tag: "production", fixture: "test/e2e/fixtures/foreign-budget" },
    { id: "staging", tag: "staging", config: BAD_EVERYTHING },
    { id: "untagged", config: BAD_EVERYTHING },
    { id: "redfin", tag: "production", seed: "Pulumi.redfin.yaml" },
    { id: "k8s", tag: "production", seed: "Pulumi.k8s.yaml" },
];

interface Outcome {
    code: number;
    out: string;
}

/** The stack of a case, configured and tagged, ready to preview. */
async function stackFor(c: Case): Promise<Stack> {
    const name = `e2e-policy-${c.id}`;
    // The pack reads conntune's pure modules (components/): a fixture's copy gets them beside it.
    const dir = c.fixture ? projectCopy(path.join(REPO, c.fixture), ["policy", "components"]) : conntuneProject();
    if (c.seed) fs.copyFileSync(path.join(REPO, c.seed), path.join(dir, `Pulumi.${name}.yaml`));
    const s = new Stack(dir, name);
    await s.init();
    if (c.fixture?.endsWith("unpinned-command")) {
        await s.setConfig("host", ADDR);
        await s.setConfig("privateKey", KEYS.priv, true);
    } else if (c.seed !== "Pulumi.k8s.yaml") {
        await s.setConfig("conntune:sshPrivateKey", KEYS.priv, true);
    }
    // The seed's own first step (its header comment): pin the host key. Here a key made above.
    if (c.seed === "Pulumi.redfin.yaml") await s.setConfigPath("conntune:hosts[0].connection.hostKey", KEYS.pub);
    for (const [k, v] of Object.entries(c.config ?? {})) await s.setObject(`conntune:${k}`, v);
    if (c.tag) await s.run(["stack", "tag", "set", "--stack", name, TAG, c.tag]);
    return s;
}

const toolchain = spawnSync("bash", [path.join(REPO, "scripts", "toolchain.sh"), "--check"], { encoding: "utf8" });
const run = e2eGate(toolchain.status === 0 ? undefined : "the Pulumi toolchain is not built: run `bash scripts/setup.sh`");

describe.runIf(run)("the policy pack through the real pulumi preview --policy-pack policy", () => {
    const stacks: Stack[] = [];
    const outcomes = new Map<string, Outcome>();

    beforeAll(async () => {
        // Three previews at a time keep 2 cores busy while each waits for the CLI.
        const queue = [...CASES];
        await Promise.all(
            [0, 1, 2].map(async () => {
                for (let c = queue.shift(); c; c = queue.shift()) {
                    const s = await stackFor(c);
                    stacks.push(s);
                    const r = await s.preview(["--policy-pack", "policy"], true);
                    outcomes.set(c.id, { code: r.code, out: `${r.stdout}\n${r.stderr}` });
                }
            }),
        );
    });

    afterAll(async () => {
        for (const s of stacks) await s.remove();
    });

    const outcome = (id: string) => {
        const o = outcomes.get(id);
        if (!o) throw new Error(`no preview for ${id}`);
        return o;
    };
    /** The policy's violation lines: `- [level]  name  (…)` followed by its description and message. */
    const failsWith = (id: string, rule: string, messages: string[]) => {
        const o = outcome(id);
        expect(o.code, o.out).not.toBe(0);
        expect(o.out).toMatch(new RegExp(`\\[mandatory\\]\\s+${rule}\\b`));
        for (const m of messages) expect(o.out).toContain(m);
        expect(o.out).not.toContain(KEYS.priv.split("\n")[1]);
    };

    it("fails a production stack whose host keeps idle SSH sessions 900 s, naming the host and both fields", () =>
        failsWith("idle", "sshd-idle-timeout", ["host idle: sshd.clientAliveInterval × clientAliveCountMax = 450 × 2 = 900 s > 600 s"]));

    it("fails a production stack that lets root log in with a password, even opted in", () =>
        failsWith("auth", "sshd-no-auth-weakening", ["host root: sshd.extra.PermitRootLogin = yes: PermitRootLogin yes lets root log in with a password: it weakens authentication"]));

    it("fails a production stack with nofile 4096 in the login limits and in a unit override", () =>
        failsWith("nofile", "nofile-minimum", ["host fds: limits.soft = 4096 < 65536", "host fds: systemdOverrides llm-gateway.service/50-conntune.conf Service.LimitNOFILE = 4096 < 65536"]));

    it("fails a production stack whose Redis has no memory limit and no eviction policy", () =>
        failsWith("redis", "redis-maxmemory", [
            "host cache: redis.settings.memoryLimit is not set: maxmemory must sit under a stated memory limit",
            "host cache: redis.settings.maxmemoryPolicy = noeviction: writes fail once maxmemory is reached; set an eviction policy such as allkeys-lru",
        ]));

    it("fails a production stack with a remote command that pins no host key, and says the program exports no policyFacts", () =>
        failsWith("unpinned", "ssh-host-key-pinned", [
            `host ${ADDR}:22: connection.hostKey is not set on command unpinned: any host key would be accepted`,
            "stack output policyFacts is missing",
        ]));

    it("fails a production stack whose budget output holds more client connections than maxclients minus the reserve", () =>
        failsWith("budget", "connection-budget", ["host cache: redis clients' most connections 12000 > maxclients 10000 − clientsReserve 32 = 9968"]));

    it("only warns (advisory) when maxmemory takes 95 % of the ConfigMap's memory limit: the preview passes", () => {
        const o = outcome("headroom");
        expect(o.code, o.out).toBe(0);
        expect(o.out).toMatch(/\[advisory\]\s+redis-memory-headroom\b/);
        expect(o.out).toContain("ConfigMap redis-cfg: conntune:redis.settings.maxmemory = 32641751449 bytes = 95.0 % of memoryLimit 32Gi > 90 %");
        expect(o.out).not.toMatch(/\[mandatory\]/);
    });

    it.each(["staging", "untagged"])("does not hold a %s stack to the production rules (the same bad settings pass)", (id) => {
        const o = outcome(id);
        expect(o.code, o.out).toBe(0);
        expect(o.out).not.toMatch(/\[(mandatory|advisory)\]/);
        expect(o.out).toMatch(PACK_RAN);
    });

    it("passes the seed stack k8s tagged production, with no warning", () => {
        const o = outcome("k8s");
        expect(o.code, o.out).toBe(0);
        expect(o.out).not.toMatch(/\[(mandatory|advisory)\]/);
        expect(o.out).toMatch(PACK_RAN);
    });

    it("passes the seed stack redfin tagged production; its one advisory is the redis-py client's keepalive", () => {
        const o = outcome("redfin");
        expect(o.code, o.out).toBe(0);
        expect(o.out).not.toMatch(/\[mandatory\]/);
        expect([...o.out.matchAll(/\[advisory\]\s+(\S+)/g)].map((m) => m[1])).toEqual(["connection-budget-warnings"]);
        expect(o.out).toMatch(/host redfin \(Redis on bluefin\): conntune:hosts\[0\]\.redis\.clients\[0\]\.keepalive: ganuda: TCP keepalive is off/);
        expect(o.out).toMatch(PACK_RAN);
    });
});
