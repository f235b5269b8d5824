import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { HelpRequested, intFlag, parseFlags, UsageError } from "../../scripts/cli";

const REPO = path.join(__dirname, "..", "..");
const TSX = path.join(REPO, "node_modules", ".bin", "tsx");

describe("the scripts' flags", () => {
    it("are parsed strictly: an unknown flag, a missing value or a stray argument names itself", () => {
        const spec = { stack: "string", json: "boolean" } as const;
        expect(parseFlags(spec, ["--stack", "prod", "--json"])).toEqual({ stack: "prod", json: true });
        expect(() => parseFlags(spec, ["--stack", "prod", "--jsn"])).toThrow(new UsageError("unknown flag --jsn"));
        expect(() => parseFlags(spec, ["--stack"])).toThrow(/flag --stack: needs a value/);
        expect(() => parseFlags(spec, ["--stack", "prod", "extra"])).toThrow(/unexpected argument 'extra'/);
        expect(() => parseFlags(spec, ["--json=yes"])).toThrow(/flag --json: takes no value/);
    });

    it("take --help (or -h) everywhere, asking for the usage instead of a run", () => {
        expect(() => parseFlags({ stack: "string" }, ["--help"])).toThrow(HelpRequested);
        expect(() => parseFlags({}, ["-h"])).toThrow(HelpRequested);
    });

    it("take whole numbers in range, or say which flag is wrong", () => {
        expect(intFlag("parallel", undefined, 4, 1, 64)).toBe(4);
        expect(intFlag("parallel", "8", 4, 1, 64)).toBe(8);
        for (const bad of ["abc", "0", "1.5", "-1", "", "65"]) expect(() => intFlag("parallel", bad, 4, 1, 64)).toThrow(/^flag --parallel: must be a whole number from 1 to 64/);
    });

    // Each script stops at its command line, before it reads a stack or boots a host.
    it.each([
        ["scripts/drift.ts", ["--stack", "nosuch", "--repiar"], "unknown flag --repiar", "npm run drift"],
        ["scripts/drift.ts", ["--stack", "nosuch", "--parallel", "abc"], "flag --parallel: must be a whole number", "npm run drift"],
        ["scripts/drift.ts", ["--json"], "--stack is required", "npm run drift"],
        ["scripts/health.ts", ["--stack", "nosuch", "--jsno"], "unknown flag --jsno", "npm run health"],
        ["scripts/health.ts", ["--json"], "--stack is required", "npm run health"],
        ["scripts/rollback.ts", ["--stack", "nosuch", "--to", "1", "--yse"], "unknown flag --yse", "npm run rollback"],
        ["scripts/rollback.ts", ["--stack", "nosuch", "--to", "two"], "flag --to: must be a whole number", "npm run rollback"],
        ["scripts/demo.ts", ["--keep"], "unknown flag --keep", "npm run demo"],
        ["bench/converge.ts", ["--size", "1"], "unknown flag --size", "npm run bench"],
        ["bench/burst/run.ts", ["--reps", "9"], "flag --reps: must be a whole number from 1 to 5", "npm run bench:burst"],
        ["bench/burst/client.ts", ["--host", "127.0.0.1", "--count", "many"], "flag --count: must be a whole number", "client.ts --host"],
    ])("%s %j exits 2 with the usage, naming the bad flag", (script, args, message, usage) => {
        const r = spawnSync(TSX, [path.join(REPO, script), ...args], { cwd: REPO, encoding: "utf8", timeout: 60_000 });
        expect(r.stderr).toContain(message);
        expect(r.stderr).toContain(`usage: ${usage}`);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stdout).toBe("");
    }, 60_000);

    it.each([
        ["scripts/drift.ts", "npm run drift"],
        ["scripts/health.ts", "npm run health"],
        ["scripts/rollback.ts", "npm run rollback"],
        ["scripts/demo.ts", "npm run demo"],
        ["bench/converge.ts", "npm run bench"],
        ["bench/burst/run.ts", "npm run bench:burst"],
        ["bench/burst/client.ts", "client.ts --host"],
    ])("%s --help prints the usage and exits 0, before it reads a stack or boots a host", (script, usage) => {
        const r = spawnSync(TSX, [path.join(REPO, script), "--help"], { cwd: REPO, encoding: "utf8", timeout: 60_000 });
        expect(r.stdout).toContain(`usage: ${usage}`);
        expect(r.status, r.stderr).toBe(0);
    }, 60_000);
});
