/**
 * program.js, what `pulumi` runs: the content-addressed transpile cache (never older than the
 * sources), and the SDK modules it defers (still there after an upgrade, and working on first use).
 * Each case runs in a child Node process, as the language host would start it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "../..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loader = require(path.join(REPO, "program.js")) as { DEFERRED: Array<{ request: string }>; TRACING: Array<{ request: string }>; V8_HOOKS: { request: string } };

/** Run `script` in a fresh Node in `cwd`; its last stdout line is JSON. */
function node(cwd: string, script: string, env: Record<string, string> = {}): any {
    const r = spawnSync(process.execPath, ["-e", script], { cwd, encoding: "utf8", env: { ...process.env, PULUMI_NODEJS_MONITOR: "", ...env } });
    if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

/** A throwaway project: program.js, the repo's tsconfig files, node_modules linked, the given sources. */
function project(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-loader-"));
    for (const f of ["program.js", "tsconfig.json", "tsconfig.pulumi.json"]) fs.copyFileSync(path.join(REPO, f), path.join(dir, f));
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    return dir;
}

/** Run the project's program as Pulumi's runner would (PULUMI_NODEJS_MONITOR set): its exports, and whether TypeScript was loaded. */
const RUN = `const m = require("./program.js");
console.log(JSON.stringify({ out: m.out, typescript: Object.keys(require.cache).some((k) => k.includes("/node_modules/typescript/")) }));`;

describe("program.js runs the checkout's TypeScript sources", () => {
    let dir: string;
    // A unique value, so that no earlier run of this test has this content in the shared cache.
    const stamp = `${process.pid}-${Date.now()}`;

    beforeAll(() => {
        dir = project({ "index.ts": `import { v } from "./lib";\nexport const out: string = v;\n`, "lib.ts": `export const v: string = "first ${stamp}";\n` });
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("transpiles a source on its first run and loads no TypeScript on the next", () => {
        expect(node(dir, RUN, { PULUMI_NODEJS_MONITOR: "127.0.0.1:1" })).toEqual({ out: `first ${stamp}`, typescript: true });
        expect(node(dir, RUN, { PULUMI_NODEJS_MONITOR: "127.0.0.1:1" })).toEqual({ out: `first ${stamp}`, typescript: false });
    });

    it("runs a source edited after a run as edited (the cache is keyed by content, never stale)", () => {
        fs.writeFileSync(path.join(dir, "lib.ts"), `export const v: string = "second ${stamp}";\n`);
        expect(node(dir, RUN, { PULUMI_NODEJS_MONITOR: "127.0.0.1:1" }).out).toBe(`second ${stamp}`);
        // Back to the first content: that transpiled file is still cached.
        fs.writeFileSync(path.join(dir, "lib.ts"), `export const v: string = "first ${stamp}";\n`);
        expect(node(dir, RUN, { PULUMI_NODEJS_MONITOR: "127.0.0.1:1" })).toEqual({ out: `first ${stamp}`, typescript: false });
    });

    it("names the TypeScript file and line in a stack trace", () => {
        const d = project({ "index.ts": `export const out = "x";\n\nexport function boom(): never {\n    throw new Error("boom ${stamp}");\n}\n` });
        try {
            const r = node(d, `const m = require("./program.js"); try { m.boom(); } catch (e) { console.log(JSON.stringify(e.stack)); }`, { PULUMI_NODEJS_MONITOR: "127.0.0.1:1" });
            expect(r).toMatch(/index\.ts:4:\d+/);
        } finally {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });

    it("stops on a syntax error naming the file, line and column (types are not checked: npm run typecheck does)", () => {
        const d = project({ "index.ts": `export const out: number = "a string is a type error only";\nexport const bad = (;\n` });
        try {
            const r = spawnSync(process.execPath, ["-e", `require("./program.js")`], { cwd: d, encoding: "utf8", env: { ...process.env, PULUMI_NODEJS_MONITOR: "127.0.0.1:1" } });
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(/conntune could not transpile the program:\nindex\.ts\(2,21\): error TS\d+: Expression expected/);
            expect(r.stderr).not.toMatch(/type error only/);
        } finally {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });

    it("is a library, not the program, when Pulumi's runner did not start it", () => {
        const r = node(dir, `const m = require("./program.js"); console.log(JSON.stringify({ out: m.out ?? null, api: typeof m.deferSdkModules }));`);
        expect(r).toEqual({ out: null, api: "function" });
    });
});

describe("the SDK modules program.js defers (they must survive an SDK upgrade)", () => {
    it("resolves every deferred module in the installed SDK and defers it", () => {
        const r = node(REPO, `const l = require("./program.js"); console.log(JSON.stringify({ sdk: l.deferSdkModules(), runner: l.deferRunnerModules() }));`);
        expect(r.sdk).toEqual(loader.DEFERRED.map((d) => d.request));
        expect(r.runner).toEqual([loader.V8_HOOKS, ...loader.TRACING].map((d) => d.request));
    });

    it("loads @pulumi/pulumi and zod without the Automation API, the closure serializer, arborist, TypeScript, @pulumi/kubernetes or zod's locales", () => {
        const r = node(
            REPO,
            `const l = require("./program.js"); l.deferSdkModules(); require("@pulumi/pulumi"); require("@pulumi/command");
const z = require("zod"); const message = z.object({ a: z.enum(["x", "y"]) }).safeParse({ a: "q" }).error.issues[0].message;
// A deferred module is one stand-in entry; a loaded one is many files.
const real = (s) => Object.keys(require.cache).filter((k) => k.includes(s)).length > 1;
console.log(JSON.stringify({ automation: real("/@pulumi/pulumi/automation/"), arborist: real("/@npmcli/arborist/"), typescript: real("/node_modules/typescript/"), kubernetes: real("/@pulumi/kubernetes/"),
  zodLocales: Object.keys(require.cache).some((k) => k.endsWith("/zod/v4/locales/de.cjs")), message }));`,
        );
        // zod's English messages still load (directly, not through its locales index).
        expect(r).toEqual({ automation: false, arborist: false, typescript: false, kubernetes: false, zodLocales: false, message: 'Invalid option: expected one of "x"|"y"' });
    });

    it("still gives the real modules on first use: Automation API, closure serialization, code paths, Kubernetes, tracing", async () => {
        const r = node(
            REPO,
            `const l = require("./program.js"); l.deferSdkModules(); l.deferRunnerModules();
const hooksReady = require("@pulumi/pulumi/runtime/closure/v8Hooks").isInitializedAsync();
const pulumi = require("@pulumi/pulumi");
const base = 40;
const add = (x) => x + base;
(async () => {
    await hooksReady;
    // Defined before the inspector session opens: the serializer still sees what it captures.
    const fn = await pulumi.runtime.serializeFunction(() => add(2));
    const { NodeTracerProvider } = require("@opentelemetry/sdk-trace-node");
    const provider = new NodeTracerProvider({});
    console.log(JSON.stringify({
        workspace: typeof pulumi.automation.LocalWorkspace.create,
        closure: /base: 40/.test(fn.text) && /add: __f[0-9]/.test(fn.text),
        codePaths: typeof pulumi.runtime.computeCodePaths,
        configMap: typeof require("@pulumi/kubernetes").core.v1.ConfigMap,
        tracer: provider instanceof NodeTracerProvider && typeof provider.register,
        span: typeof require("@pulumi/pulumi/cmd/run/tracing").newSpan("x").end,
        zodLocale: typeof require("zod").locales.de,
    }));
})();`,
        );
        expect(r).toEqual({ workspace: "function", closure: true, codePaths: "function", configMap: "function", tracer: "function", span: "function", zodLocale: "function" });
    });

    it("sorts source maps natively with the very same result (every mapping of the SDK's and gRPC's source maps)", () => {
        const script = (native: boolean) => `const l = require("./program.js");
const done = ${native} ? l.sortSourceMapsNatively() : false;
const path = require("path"), fs = require("fs"), crypto = require("crypto");
const support = path.dirname(require.resolve("source-map-support", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] }));
const { SourceMapConsumer } = require(require.resolve("source-map", { paths: [support] }));
const maps = [];
for (const dir of ["@pulumi/pulumi/runtime", "@pulumi/pulumi/cmd/run", "@pulumi/pulumi", "@grpc/grpc-js/build/src"]) {
    const abs = path.join("node_modules", dir);
    for (const f of fs.readdirSync(abs).filter((f) => f.endsWith(".js.map")).sort()) maps.push(path.join(abs, f));
}
const h = crypto.createHash("sha256");
for (const m of maps) {
    const c = new SourceMapConsumer(fs.readFileSync(m, "utf8"));
    h.update(m).update(JSON.stringify([c._generatedMappings, c._originalMappings]));
    c.eachMapping((x) => h.update(JSON.stringify(c.originalPositionFor({ line: x.generatedLine, column: x.generatedColumn }))));
}
console.log(JSON.stringify({ done, maps: maps.length, hash: h.digest("hex") }));`;
        const stock = node(REPO, script(false));
        const native = node(REPO, script(true));
        expect(native.done).toBe(true);
        expect(stock.maps).toBeGreaterThan(50);
        expect(native).toEqual({ ...stock, done: true });
    });

    it("leaves a module alone when it no longer has the shape relied on (it then loads as it ships)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-defer-"));
        try {
            fs.writeFileSync(path.join(dir, "plain.js"), `exports.f = () => 1;\n`);
            fs.writeFileSync(path.join(dir, "esm.js"), `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.g = () => 2;\n`);
            const r = node(
                dir,
                `const l = require(${JSON.stringify(path.join(REPO, "program.js"))});
console.log(JSON.stringify({ plain: l.defer({ request: "./plain.js", stubs: [] }, process.cwd()), renamed: l.defer({ request: "./esm.js", stubs: ["f"] }, process.cwd()),
  missing: l.defer({ request: "./gone.js", stubs: [] }, process.cwd()), esm: l.defer({ request: "./esm.js", stubs: ["g"] }, process.cwd()), g: require("./esm.js").g() }));`,
            );
            expect(r).toEqual({ plain: false, renamed: false, missing: false, esm: true, g: 2 });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
