/**
 * What `pulumi` runs (Pulumi.yaml `main`): conntune's TypeScript program (index.ts, components/),
 * started without ts-node and without the SDK's slow modules that a conntune run never uses.
 *
 * - Every .ts file of the project is transpiled once per content: the JavaScript is kept in
 *   node_modules/.cache/conntune-program/ under a hash of the file's bytes, the TypeScript version,
 *   the tsconfig files and this loader. Each run reads and hashes the sources it loads, so it always
 *   runs exactly the checkout's sources (an edited file hashes differently and is transpiled anew,
 *   on the spot); there is no build step to remember and nothing can be stale. Only a cache miss
 *   loads TypeScript. Transpile only, like ts-node's transpileOnly: type checking is `npm run typecheck`.
 * - @pulumi/pulumi's index loads the Automation API and the closure serializer (with @npmcli/arborist
 *   and TypeScript) eagerly; conntune's program uses neither. They are deferred: the first use loads
 *   the real module (dynamic providers and `pulumi.automation` still work). Where an SDK upgrade
 *   changes those modules' shape, the deferral is skipped and they load as before.
 *
 * - Marked @conntune-program-loader: scripts/nodejs-run.js then starts Pulumi's runner without
 *   ts-node, opens the SDK's V8-hooks inspector session on first use and, with tracing off, defers
 *   the OpenTelemetry SDK (deferRunnerModules below).
 *
 * CONNTUNE_PROGRAM_EAGER=1 turns every deferral off (the transpile cache stays; the SDK loads as it ships).
 * This file is plain CommonJS on purpose: it is what runs before anything can be transpiled.
 */
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

/** Bump when the transpile settings below change: old cache entries then stop matching. */
const LOADER_VERSION = "1";
const ROOT = __dirname;
const CACHE = path.join(ROOT, "node_modules", ".cache", "conntune-program");

/**
 * The SDK modules deferred, each with the exports that other SDK modules read while loading (they
 * become stubs that load the real module on the first call). Anything else read from them loads it.
 */
const DEFERRED = [
    { request: "@pulumi/pulumi/automation", stubs: [] },
    { request: "@pulumi/pulumi/runtime/closure/serializeClosure", stubs: ["serializeFunction", "serializeFunctionAsync"] },
    { request: "@pulumi/pulumi/runtime/closure/codePaths", stubs: ["computeCodePaths"] },
    // Only a stack with a Redis ConfigMap creates Kubernetes resources.
    { request: "@pulumi/kubernetes", stubs: [] },
    // zod's index of its ~50 message locales (z.locales): its English messages load on their own.
    { request: "zod/v4/locales", stubs: [] },
];

const sha = (...parts) => {
    const h = crypto.createHash("sha256");
    for (const p of parts) h.update(p).update("\0");
    return h.digest("hex");
};

/** The tsconfig the program is transpiled with: Pulumi's variable, else tsconfig.pulumi.json, else tsconfig.json. */
function tsconfigPath() {
    const named = process.env.PULUMI_NODEJS_TSCONFIG_PATH;
    if (named) return path.resolve(ROOT, named);
    const pulumiConfig = path.join(ROOT, "tsconfig.pulumi.json");
    return fs.existsSync(pulumiConfig) ? pulumiConfig : path.join(ROOT, "tsconfig.json");
}

/** The raw text of a tsconfig and of the files it extends (relative `extends` only; enough for the cache key). */
function tsconfigTexts(file, seen = new Set()) {
    if (seen.has(file) || !fs.existsSync(file)) return [];
    seen.add(file);
    const text = fs.readFileSync(file, "utf8");
    let ext;
    try {
        ext = JSON.parse(text).extends;
    } catch {
        // Comments in the file: its text is still in the key, the file it extends is not.
    }
    const more = typeof ext === "string" && ext.startsWith(".") ? tsconfigTexts(path.resolve(path.dirname(file), ext.endsWith(".json") ? ext : `${ext}.json`), seen) : [];
    return [file, text, ...more];
}

/** On a cache miss: with more than MAX_ENTRIES files cached, remove those written over a week ago. */
const MAX_ENTRIES = 2000;
function prune() {
    const names = fs.readdirSync(CACHE);
    if (names.length <= MAX_ENTRIES) return;
    const old = Date.now() - 7 * 24 * 3600 * 1000;
    for (const n of names) {
        const f = path.join(CACHE, n);
        try {
            if (fs.statSync(f).mtimeMs < old) fs.rmSync(f, { force: true });
        } catch {
            // Another run removed it.
        }
    }
}

/** The TypeScript the project has (package.json's devDependency), resolved from the project. */
function typescriptDir() {
    return path.dirname(require.resolve("typescript/package.json", { paths: [ROOT] }));
}

/**
 * Register the .ts loader: a content-addressed transpile cache (see the file's comment).
 * Returns the map of transpiled files (file name → JavaScript), for source maps.
 */
function registerTypeScript() {
    const tsDir = typescriptDir();
    const configFile = tsconfigPath();
    const common = sha(LOADER_VERSION, fs.readFileSync(path.join(tsDir, "package.json"), "utf8"), ...tsconfigTexts(configFile));
    const outputs = new Map();
    let compilerOptions;

    const transpile = (file, source) => {
        const ts = require(tsDir);
        if (!compilerOptions) {
            const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
            compilerOptions = {
                ...(parsed ? parsed.options : {}),
                module: ts.ModuleKind.CommonJS,
                sourceMap: false,
                inlineSourceMap: true,
                inlineSources: false,
                declaration: false,
                declarationMap: false,
                composite: false,
                noEmit: false,
                outDir: undefined,
                rootDir: undefined,
            };
        }
        const out = ts.transpileModule(source, { compilerOptions, fileName: path.basename(file), reportDiagnostics: true });
        // Syntax errors only (transpile only, as ts-node's transpileOnly): types are `npm run typecheck`'s.
        const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
        if (errors.length) {
            const where = (d) => (d.file && d.start !== undefined ? `(${d.file.getLineAndCharacterOfPosition(d.start).line + 1},${d.file.getLineAndCharacterOfPosition(d.start).character + 1})` : "");
            const text = errors.map((d) => `${path.relative(ROOT, file)}${where(d)}: error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`).join("\n");
            const e = new Error(`conntune could not transpile the program:\n${text}`);
            e.stack = e.message;
            throw e;
        }
        return out.outputText;
    };

    const load = (file) => {
        const source = fs.readFileSync(file, "utf8");
        const cached = path.join(CACHE, `${sha(common, path.basename(file), source)}.js`);
        try {
            return fs.readFileSync(cached, "utf8");
        } catch {
            // A miss: transpile this file and keep it.
        }
        const js = transpile(file, source);
        try {
            fs.mkdirSync(CACHE, { recursive: true });
            prune();
            const tmp = `${cached}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, js);
            fs.renameSync(tmp, cached);
        } catch {
            // A read-only node_modules: run from memory, transpile again next time.
        }
        return js;
    };

    const previous = Module._extensions[".ts"];
    Module._extensions[".ts"] = function (module, filename) {
        if (filename.includes(`${path.sep}node_modules${path.sep}`)) {
            if (previous) return previous(module, filename);
            throw new Error(`conntune's program loader does not transpile dependencies: ${filename}`);
        }
        const js = load(filename);
        outputs.set(filename, js);
        module._compile(js, filename);
    };
    return outputs;
}

/** Stack traces of the program name the .ts lines (the SDK's runner installs source-map-support). */
function sourceMapsFor(outputs) {
    try {
        const sms = require(require.resolve("source-map-support", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [ROOT] }))] }));
        sms.install({ environment: "node", retrieveFile: (file) => outputs.get(file) ?? null });
    } catch {
        // Without source-map-support, traces name the transpiled lines.
    }
}

/**
 * Put a stand-in for a module into the require cache: its exports load the real module on first
 * use; the named `stubs` (exports other modules read while loading) become functions that load it
 * when called or constructed. Returns false (and changes nothing) when the module is missing,
 * already loaded, or no longer has the shape this relies on (after an upgrade): it then loads as it ships.
 */
function defer({ request, stubs, ready = [] }, from = ROOT) {
    let file;
    try {
        file = require.resolve(request, { paths: [from] });
    } catch {
        return false;
    }
    if (Module._cache[file]) return false;
    const text = fs.readFileSync(file, "utf8");
    if (!text.includes('Object.defineProperty(exports, "__esModule", { value: true })')) return false;
    if (![...stubs, ...ready].every((s) => text.includes(`exports.${s} = `) || text.includes(`exports, "${s}"`))) return false;
    let real;
    const load = () => {
        if (!real) {
            if (Module._cache[file] === stand) delete Module._cache[file];
            real = require(file);
        }
        return real;
    };
    const stub = (name) => {
        const fn = {
            [name]: function (...args) {
                const target = load()[name];
                return new.target ? Reflect.construct(target, args) : target.apply(this, args);
            },
        }[name];
        // An instance made through the stub is the real class's: `instanceof` either answers alike.
        Object.defineProperty(fn, Symbol.hasInstance, { value: (x) => x instanceof load()[name] });
        return fn;
    };
    // `ready` names: async functions that have nothing to wait for until the module is loaded.
    const stubFns = Object.fromEntries([...stubs.map((s) => [s, stub(s)]), ...ready.map((s) => [s, async () => undefined])]);
    const stand = new Module(file, module);
    stand.filename = file;
    stand.paths = Module._nodeModulePaths(path.dirname(file));
    stand.loaded = true;
    stand.exports = new Proxy(
        {},
        {
            get: (_, k) => (k === "__esModule" ? true : !real && k in stubFns ? stubFns[k] : Reflect.get(load(), k)),
            has: (_, k) => k === "__esModule" || k in load(),
            ownKeys: () => Reflect.ownKeys(load()),
            getOwnPropertyDescriptor: (_, k) => {
                const d = Reflect.getOwnPropertyDescriptor(load(), k);
                return d && { ...d, configurable: true };
            },
            set: (_, k, v) => Reflect.set(load(), k, v),
            defineProperty: (_, k, d) => Reflect.defineProperty(load(), k, d),
        },
    );
    Module._cache[file] = stand;
    return true;
}

/** Defer the SDK modules a conntune run does not use; returns the ones deferred (for the tests). */
function deferSdkModules() {
    return DEFERRED.filter((d) => defer(d)).map((d) => d.request);
}

/**
 * The SDK's V8 hooks: the runner opens an inspector session with the debugger enabled before it
 * loads anything else, which slows the compilation of every module loaded after it (a third or more
 * here). Only the closure serializer (dynamic providers) uses that session: it is opened on its
 * first use instead (where the serializer only loses the file names in its error messages for
 * functions compiled before that). Deferred by scripts/nodejs-run.js.
 */
const V8_HOOKS = { request: "@pulumi/pulumi/runtime/closure/v8Hooks", stubs: ["getSessionAsync", "getScriptUrl"], ready: ["isInitializedAsync"] };

/**
 * The OpenTelemetry modules that @pulumi/pulumi's runner loads for tracing (cmd/run/tracing.js loads
 * them eagerly; only its `start` uses them). Deferred by scripts/nodejs-run.js when tracing is off.
 */
const TRACING = [
    { request: "@opentelemetry/resources", stubs: ["defaultResource", "resourceFromAttributes"] },
    { request: "@opentelemetry/sdk-trace-base", stubs: ["SimpleSpanProcessor", "BatchSpanProcessor"] },
    { request: "@opentelemetry/exporter-zipkin", stubs: ["ZipkinExporter"] },
    { request: "@opentelemetry/instrumentation-grpc", stubs: ["GrpcInstrumentation"] },
    { request: "@opentelemetry/sdk-trace-node", stubs: ["NodeTracerProvider"] },
    { request: "@opentelemetry/instrumentation", stubs: ["registerInstrumentations"] },
];

/**
 * Defer the runner's V8 hooks and (with `tracing` false) its tracing modules, resolved as
 * @pulumi/pulumi's runner in `projectDir` resolves them; returns the ones deferred.
 */
function deferRunnerModules(projectDir = ROOT, { tracing = false } = {}) {
    let runDir;
    try {
        runDir = path.dirname(require.resolve("@pulumi/pulumi/cmd/run/tracing", { paths: [projectDir] }));
    } catch {
        return [];
    }
    return [V8_HOOKS, ...(tracing ? [] : TRACING)].filter((d) => defer(d, runDir)).map((d) => d.request);
}

/**
 * source-map-support (installed by the SDK's runner; every resource registration formats a stack
 * trace through it) parses each source map with source-map 0.6, which sorts the parsed mappings with
 * its own JavaScript quicksort: half of the parse time. Array.prototype.sort gives the same order
 * (the comparators compare every field of a mapping, so mappings that compare equal are equal) in
 * less time. Called by scripts/nodejs-run.js before source-map loads (it keeps the function it finds
 * then); left alone when the file is not the one this relies on. Returns whether it was done.
 */
function sortSourceMapsNatively(projectDir = ROOT) {
    try {
        const sdk = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [projectDir] }));
        const support = path.dirname(require.resolve("source-map-support", { paths: [sdk] }));
        const file = require.resolve("source-map/lib/quick-sort.js", { paths: [support] });
        if (require.cache[require.resolve("source-map/lib/source-map-consumer.js", { paths: [support] })]) return false;
        if (!fs.readFileSync(file, "utf8").includes("exports.quickSort = function (ary, comparator) {\n  doQuickSort(ary, comparator, 0, ary.length - 1);\n};")) return false;
        require(file).quickSort = (ary, comparator) => void ary.sort(comparator);
        return true;
    } catch {
        return false;
    }
}

module.exports = { defer, deferSdkModules, deferRunnerModules, sortSourceMapsNatively, registerTypeScript, DEFERRED, TRACING, V8_HOOKS, CACHE };

// Run by Pulumi's runner (it sets PULUMI_NODEJS_MONITOR): load the program, whose exports are the
// stack's outputs. Required anywhere else (scripts/nodejs-run.js, the unit tests) it is a library.
if (process.env.PULUMI_NODEJS_MONITOR) {
    if (process.env.CONNTUNE_PROGRAM_EAGER !== "1") deferSdkModules();
    sourceMapsFor(registerTypeScript());
    module.exports = require("./index.ts");
}
