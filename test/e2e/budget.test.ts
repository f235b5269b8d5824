/**
 * The connection budget through the real CLI (issue 13 part 1): `pulumi preview` of the conntune
 * program with the seed stacks' declared clients (Pulumi.k8s.yaml's miner and relayer, Pulumi.redfin.yaml's
 * pool of 10) shows the stack output `budget` with its table, and the budget's warnings as Pulumi
 * warnings. The errors are in badInput.test.ts. No test host is needed: preview opens no connection,
 * and redfin's address is swapped for a test-subnet address that nothing listens on anyway.
 */
import { throwawayKeyPair } from "../../lab/keys";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conntuneProject, dispose, e2eGate, REPO, RunResult, Stack } from "../../lab/stack";

const yaml = createRequire(__filename)("js-yaml") as { load(text: string): { config: Record<string, unknown> } };
const seedStack = (file: string) => yaml.load(fs.readFileSync(path.join(REPO, file), "utf8")).config;

const keyPair = throwawayKeyPair;

const toolchain = spawnSync("bash", [path.join(REPO, "scripts", "toolchain.sh"), "--check"], { encoding: "utf8" });
const run = e2eGate(toolchain.status === 0 ? undefined : "the Pulumi toolchain is not built: run `bash scripts/setup.sh`");

describe.runIf(run)("the connection budget at preview (seed stacks 000 and 003)", () => {
    let stack: Stack;
    let preview: RunResult;

    beforeAll(async () => {
        stack = new Stack(conntuneProject(), "e2e-budget");
        await stack.init();
        const keys = keyPair();
        await stack.setConfig("conntune:sshPrivateKey", keys.priv, true);
        const redfin = seedStack("Pulumi.redfin.yaml")["conntune:hosts"] as Array<{ connection: Record<string, unknown> }>;
        // Never the user's machine: an address of a test subnet, and a key pinned for this test.
        for (const h of redfin) Object.assign(h.connection, { host: "10.213.251.2", hostKey: keys.pub });
        await stack.setObject("conntune:hosts", redfin);
        await stack.setObject("conntune:redis", seedStack("Pulumi.k8s.yaml")["conntune:redis"]);
        preview = await stack.preview([], true);
    });

    afterAll(async () => {
        await dispose(stack);
    });

    it("passes with both seed stacks' clients declared", () => {
        expect(preview.code, `${preview.stdout}\n${preview.stderr}`).toBe(0);
        expect(preview.stdout).not.toContain("invalid conntune stack config");
    });

    it("shows the budget output with each target's table (seed 003: 2 × 200 × (3 + 1) = 1,600 of 10,000; seed 000: 10)", () => {
        // The stack's outputs are in the preview's diff of the stack resource.
        const out = preview.stdout;
        expect(out).toMatch(/\bbudget\s*:/);
        for (const line of [
            "miner    go-redis  200 × (3 + 1 surge)        800   8.0 %",
            "relayer  go-redis  200 × (3 + 1 surge)        800   8.0 %",
            "total                                       1,600  16.0 %",
            "ganuda  redis-py  10 × 1                   10  0.1 %",
            "of maxclients 10,000 − reserve 32 = 9,968 available",
        ]) {
            expect(out, out).toContain(line);
        }
        expect(out).toMatch(/runsOn\s*:\s*"bluefin"/);
    });

    it("shows the budget's warnings as Pulumi warnings (seed 000's redis-py pool has keepalive off)", () => {
        const text = `${preview.stdout}\n${preview.stderr}`;
        expect(text).toMatch(/warning: connection budget: conntune:hosts\[0\]\.redis\.clients\[0\]\.keepalive: ganuda: TCP keepalive is off/);
        // Seed 003's pools (ConnMaxIdleTime 5 min < timeout 600, keepalive 300 = tcp-keepalive 300) have none.
        expect(text).not.toMatch(/connection budget: conntune:redis\./);
    });
});
