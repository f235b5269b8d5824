/**
 * A V8 code cache for the CommonJS modules a conntune run loads (the SDK's runner, gRPC, zod, and
 * the program's transpiled sources): compiling them was a fifth to a quarter of a run's Node time.
 * Node 20 has no module.enableCompileCache, so `enableCodeCache` compiles each module itself with
 * vm.Script and V8's cached data, kept in node_modules/.cache/conntune-v8/ like program.js's
 * transpile cache:
 *
 * - Keyed by a hash of the module's file name and its exact source text (and Node's version), so an
 *   entry never serves other code than the file holds: an edited or upgraded module is a new key.
 *   V8 still checks each entry (its version and flags) and rejects what does not fit; each entry also
 *   carries a checksum of its bytes (V8 does not verify one in release builds), so a corrupt or
 *   truncated entry is compiled anew and rewritten, never run.
 * - Entries are written when the process exits, so they hold the functions the run compiled, not
 *   only the top level; written to a temp file and renamed (runs in parallel never see half an
 *   entry). A read-only or missing cache directory only costs the compile time, as without it.
 * - Modules it does not handle (ES modules, a shebang, a syntax error, a policy manifest or
 *   --inspect-brk) are compiled by Node as usual.
 *
 * Used by scripts/nodejs-run.js for program.js's runs; CONNTUNE_CODE_CACHE=0 turns it off.
 * Plain CommonJS: it runs before anything else is loaded.
 */
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const vm = require("node:vm");

/** Bump when the entry format or the compile options below change. */
const FORMAT = "1";
/** The checksum at the head of every entry (sha256 of the rest: V8's cached data). */
const SUM = 32;
/** On a write: with more than this many entries, remove those written over a week ago. */
const MAX_ENTRIES = 5000;

const sha = (...parts) => {
    const h = crypto.createHash("sha256");
    for (const p of parts) h.update(p).update("\0");
    return h.digest();
};

/** V8's cached data in `entry` (the file's bytes), or undefined when the checksum does not match. */
function payloadOf(entry) {
    if (entry.length <= SUM) return undefined;
    const data = entry.subarray(SUM);
    return crypto.createHash("sha256").update(data).digest().equals(entry.subarray(0, SUM)) ? data : undefined;
}

/** The entry for V8's cached data `data`: its checksum, then the data. */
const entryOf = (data) => Buffer.concat([crypto.createHash("sha256").update(data).digest(), data]);

function prune(dir) {
    const names = fs.readdirSync(dir);
    if (names.length <= MAX_ENTRIES) return;
    const old = Date.now() - 7 * 24 * 3600 * 1000;
    for (const n of names) {
        const f = path.join(dir, n);
        try {
            if (fs.statSync(f).mtimeMs < old) fs.rmSync(f, { force: true });
        } catch {
            // Another run removed it.
        }
    }
}

/**
 * The two functions that are on the stack while a module runs (its `_compile` and its `require`),
 * compiled under a `node:` name: a stack trace through them then looks like one through Node's own
 * loader. That matters beyond looks: @pulumi/pulumi records every frame of a resource's creation
 * that is not `node:` in the state (each resource's stackTrace), so frames named after this file
 * would change the state of every resource a module creates while it loads (conntune's program).
 */
const TRAMPOLINE = `(function (compileWith, original, Module, dirname) {
    // As Node's makeRequireFunction (lib/internal/modules/helpers).
    function requireFor(mod) {
        const require = function require(id) { return mod.require(id); };
        require.resolve = function resolve(request, options) { return Module._resolveFilename(request, mod, false, options); };
        require.resolve.paths = function paths(request) { return Module._resolveLookupPaths(request, mod); };
        require.main = process.mainModule;
        require.extensions = Module._extensions;
        require.cache = Module._cache;
        return require;
    }
    return function _compile(content, filename, format) {
        const fn = compileWith(content, filename, format);
        if (!fn) return Reflect.apply(original, this, [content, filename, format]);
        return Reflect.apply(fn, this.exports, [this.exports, requireFor(this), this, filename, dirname(filename)]);
    };
})`;

/** Where the entry for the module `filename` with the source text `content` is kept in `dir`. */
const entryFile = (dir, filename, content) => path.join(dir, sha(FORMAT, process.version, process.arch, filename, content).toString("hex"));

let enabled;

/**
 * Compile CommonJS modules loaded from now on with a V8 code cache in `dir` (see the file's
 * comment). Returns the counts so far ({ hits, misses, rejected }: rejected entries are misses
 * too), or undefined where it is off (CONNTUNE_CODE_CACHE=0, a policy manifest, --inspect-brk).
 * Idempotent: a second call returns the first one's counts.
 */
function enableCodeCache(dir) {
    if (enabled) return enabled.stats;
    if (process.env.CONNTUNE_CODE_CACHE === "0") return undefined;
    // Node's own _compile checks a policy manifest's integrity and pauses for --inspect-brk.
    if (/--(experimental-policy|policy-integrity|inspect-brk)/.test([...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" "))) return undefined;
    const stats = { hits: 0, misses: 0, rejected: 0 };
    const pending = [];
    const original = Module.prototype._compile;
    const prefix = Module.wrap("\0").split("\0")[0];

    /** The module's compiled wrapper, or undefined where Node compiles it itself. */
    const compileWith = (content, filename, format) => {
        if ((format !== undefined && format !== "commonjs") || typeof content !== "string" || content.startsWith("#!")) return undefined;
        const file = entryFile(dir, filename, content);
        let cachedData;
        try {
            cachedData = payloadOf(fs.readFileSync(file));
            if (!cachedData) stats.rejected++;
        } catch {
            // No entry yet.
        }
        let script;
        try {
            script = new vm.Script(Module.wrap(content), {
                filename,
                // The wrapper's text is not the module's: columns on the first line count from the module's start.
                columnOffset: -prefix.length,
                cachedData,
                importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
            });
        } catch {
            // A syntax error (or an ES module): Node compiles it and reports it in its own words.
            return undefined;
        }
        if (cachedData && !script.cachedDataRejected) stats.hits++;
        else {
            if (cachedData) stats.rejected++;
            stats.misses++;
            pending.push({ file, script });
        }
        return script.runInThisContext({ displayErrors: true });
    };
    const makeCompile = vm.runInThisContext(TRAMPOLINE, { filename: "node:conntune/code-cache" });
    Module.prototype._compile = makeCompile(compileWith, original, Module, path.dirname);

    process.once("exit", () => {
        if (!pending.length) return;
        try {
            fs.mkdirSync(dir, { recursive: true });
            prune(dir);
            for (const { file, script } of pending) {
                const tmp = `${file}.${process.pid}.tmp`;
                try {
                    fs.writeFileSync(tmp, entryOf(script.createCachedData()));
                    fs.renameSync(tmp, file);
                } catch (e) {
                    fs.rmSync(tmp, { force: true });
                    throw e;
                }
            }
        } catch {
            // A read-only node_modules (or a full disk): the next run compiles again.
        }
    });
    enabled = { stats };
    return stats;
}

module.exports = { enableCodeCache, entryFile };
