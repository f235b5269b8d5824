/**
 * scripts/codeCache.js, the V8 code cache of a conntune run's modules: it always runs a module's
 * current text (keyed by content, never stale), never runs a corrupt entry, works without a writable
 * cache, and a module compiled through it behaves as Node's own (require, stack traces, errors).
 * Each case runs in a child Node process, as scripts/nodejs-run.js enables it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "../..");
const CODE_CACHE = path.join(REPO, "scripts", "codeCache.js");

let dir: string;
let cache: string;

/** Enable the cache in `cacheDir`, require `main` from `dir`; prints { out, stats } as JSON on the last line. */
function run(main = "./main.js", cacheDir = cache, env: Record<string, string> = {}): { out: unknown; stats: { hits: number; misses: number; rejected: number } | null } {
    const script = `const stats = require(${JSON.stringify(CODE_CACHE)}).enableCodeCache(${JSON.stringify(cacheDir)});
const out = require(${JSON.stringify(main)});
console.log(JSON.stringify({ out, stats: stats ? { ...stats } : null }));`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8", env: { ...process.env, CONNTUNE_CODE_CACHE: "", ...env } });
    if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const entries = () => (fs.existsSync(cache) ? fs.readdirSync(cache).filter((n) => !n.endsWith(".tmp")) : []);

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-codecache-"));
    cache = path.join(dir, "node_modules", ".cache", "conntune-v8");
    fs.writeFileSync(path.join(dir, "main.js"), `module.exports = require("./lib.js").value;\n`);
    fs.writeFileSync(path.join(dir, "lib.js"), `exports.value = "first";\n`);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the V8 code cache of a run's modules", () => {
    it("compiles each module on the first run and takes it from the cache on the next", () => {
        expect(run()).toEqual({ out: "first", stats: { hits: 0, misses: 2, rejected: 0 } });
        expect(entries()).toHaveLength(2);
        expect(run()).toEqual({ out: "first", stats: { hits: 2, misses: 0, rejected: 0 } });
    });

    it("runs a module edited after a run as edited (keyed by content, never stale)", () => {
        run();
        // Same length as before: V8's own check of cached data only compares the source's length.
        fs.writeFileSync(path.join(dir, "lib.js"), `exports.value = "other";\n`);
        expect(run()).toEqual({ out: "other", stats: { hits: 1, misses: 1, rejected: 0 } });
        fs.writeFileSync(path.join(dir, "lib.js"), `exports.value = "first";\n`);
        expect(run()).toEqual({ out: "first", stats: { hits: 2, misses: 0, rejected: 0 } });
    });

    it("never runs a corrupt or truncated entry: the module is compiled anew and its entry rewritten", () => {
        run();
        const [a, b] = entries().map((n) => path.join(cache, n));
        const flipped = fs.readFileSync(a);
        flipped[flipped.length - 8] ^= 0xff;
        fs.writeFileSync(a, flipped);
        fs.writeFileSync(b, fs.readFileSync(b).subarray(0, 40));
        expect(run()).toEqual({ out: "first", stats: { hits: 0, misses: 2, rejected: 2 } });
        expect(run()).toEqual({ out: "first", stats: { hits: 2, misses: 0, rejected: 0 } });
    });

    it("runs as without it when the cache directory cannot be written", () => {
        // A regular file where the cache's parent directory would be: nothing can be created there.
        fs.writeFileSync(path.join(dir, "blocked"), "");
        const blocked = path.join(dir, "blocked", "conntune-v8");
        expect(run("./main.js", blocked)).toEqual({ out: "first", stats: { hits: 0, misses: 2, rejected: 0 } });
        expect(run("./main.js", blocked)).toEqual({ out: "first", stats: { hits: 0, misses: 2, rejected: 0 } });
    });

    it("is off with CONNTUNE_CODE_CACHE=0", () => {
        expect(run("./main.js", cache, { CONNTUNE_CODE_CACHE: "0" })).toEqual({ out: "first", stats: null });
        expect(entries()).toHaveLength(0);
    });

    it("gives a cached module what Node gives it: require, module, this, __filename, __dirname, and stack traces with its own lines and columns", () => {
        fs.writeFileSync(
            path.join(dir, "lib.js"),
            `function boom() { throw new Error("boom"); }
let stack; try { boom(); } catch (e) { stack = e.stack; }
exports.value = { stack, self: this === module.exports, file: __filename, dirname: __dirname, resolved: require.resolve("./main.js"),
  paths: Array.isArray(require.resolve.paths("x")), main: require.main === process.mainModule, cache: require.cache[__filename] === module, extensions: typeof require.extensions[".js"] };
`,
        );
        for (let i = 0; i < 2; i++) {
            const v = run().out as Record<string, unknown>;
            expect(v.stack).toContain(`at boom (${path.join(dir, "lib.js")}:1:25)`);
            expect(v.stack).toContain(`${path.join(dir, "lib.js")}:2:`);
            expect(v).toMatchObject({ self: true, file: path.join(dir, "lib.js"), dirname: dir, resolved: path.join(dir, "main.js"), paths: true, main: true, cache: true, extensions: "function" });
        }
    });

    it("adds no frame of its own to a stack trace taken while a module loads, as @pulumi/pulumi records it in the state", () => {
        // Resource.callsites: the file, line and column of each frame, none for `node:` frames.
        const sdk = "/^\\s*at .* \\((?<file>.*):(?<line>[0-9]+):(?<column>[0-9]+)\\)$/";
        fs.writeFileSync(
            path.join(dir, "lib.js"),
            `Error.stackTraceLimit = Infinity;
exports.value = new Error().stack.split("\\n").slice(1).map((f) => { const g = ${sdk}.exec(f)?.groups; return g && !g.file.startsWith("node:") ? \`\${g.file}:\${g.line}\` : "-"; });
`,
        );
        const plain = run("./main.js", cache, { CONNTUNE_CODE_CACHE: "0" }).out as string[];
        expect(plain).toContain(`${path.join(dir, "main.js")}:1`);
        expect(run().out).toEqual(plain);
        expect(run().out).toEqual(plain);
    });

    it("leaves a syntax error to Node, which names the file and line", () => {
        fs.writeFileSync(path.join(dir, "lib.js"), `exports.value = (;\n`);
        const script = `require(${JSON.stringify(CODE_CACHE)}).enableCodeCache(${JSON.stringify(cache)}); require("./main.js");`;
        const r = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8" });
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain(`${path.join(dir, "lib.js")}:1`);
        expect(r.stderr).toContain("SyntaxError: Unexpected token ';'");
    });

    it("loads @pulumi/pulumi and zod from the cache with the same exports", () => {
        const probe = `const p = require("@pulumi/pulumi"); const z = require("zod");
module.exports = { keys: Object.keys(p).sort().join(","), parsed: z.object({ a: z.number() }).safeParse({ a: "x" }).success };\n`;
        fs.rmSync(path.join(dir, "main.js"));
        fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"), "dir");
        fs.writeFileSync(path.join(dir, "probe.js"), probe);
        const cacheDir = path.join(dir, "v8");
        const plain = run("./probe.js", cacheDir, { CONNTUNE_CODE_CACHE: "0" });
        run("./probe.js", cacheDir);
        const second = run("./probe.js", cacheDir);
        expect(second.out).toEqual(plain.out);
        expect((plain.out as { parsed: boolean }).parsed).toBe(false);
        expect(second.stats!.misses).toBe(0);
        expect(second.stats!.hits).toBeGreaterThan(100);
    });
});
