/**
 * The Node.js language host's runner for conntune's commands (PULUMI_LANGUAGE_NODEJS_RUN_PATH, set by
 * scripts/pulumi.sh, scripts/engine.ts and lab/stack.ts): @pulumi/pulumi's own runner, except that a
 * program run by conntune's loader (program.js) starts without ts-node.
 *
 * The language host built here (v3.68) does not get Pulumi.yaml's runtime options from the CLI, so it
 * always asks the runner for TypeScript (PULUMI_NODEJS_TYPESCRIPT=true), which loads TypeScript and
 * ts-node (0.3–0.8 s) before the program starts. program.js transpiles (and caches) the sources
 * itself, so for it that is dropped; every other program (the test fixtures) runs exactly as before.
 * The SDK's runner comes from the program's own node_modules, as the language host would pick it.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const args = process.argv.slice(2);
const flag = (name) => {
    const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return args[i].includes("=") ? args[i].slice(args[i].indexOf("=") + 1) : args[i + 1];
};
const pwd = path.resolve(flag("pwd") ?? process.cwd());

/** The program argument: the first argument that is neither a flag nor a flag's value (as the SDK's runner parses). */
function programArg() {
    const valued = new Set(["organization", "project", "root-directory", "stack", "parallel", "pwd", "monitor", "engine", "sync", "tracing", "query-mode"]);
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith("--")) return a;
        if (!a.includes("=") && valued.has(a.slice(2))) i++;
    }
    return undefined;
}

const program = programArg();
if (program && program.endsWith(".js")) {
    const file = path.resolve(pwd, program);
    let text = "";
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        // No such program: the SDK's runner reports it.
    }
    if (text.includes("@conntune-program-loader")) {
        delete process.env.PULUMI_NODEJS_TYPESCRIPT;
        // Every module from here on (the runner, gRPC, the program) compiles from V8's code cache.
        require("./codeCache").enableCodeCache(path.join(path.dirname(file), "node_modules", ".cache", "conntune-v8"));
        if (process.env.CONNTUNE_PROGRAM_EAGER !== "1") {
            // The V8 hooks' inspector session opens on first use; without tracing, the OpenTelemetry
            // SDK the runner loads for it is never used (program.js, deferRunnerModules).
            try {
                // Required as a library (program.js runs the program only under Pulumi's runner,
                // which sets this variable again from --monitor).
                delete process.env.PULUMI_NODEJS_MONITOR;
                const loader = require(file);
                loader.deferRunnerModules(pwd, { tracing: Boolean(flag("tracing") || process.env.TRACEPARENT) });
                loader.sortSourceMapsNatively?.(pwd);
            } catch {
                // Nothing deferred: the runner starts as it ships.
            }
            // The runner requires the program itself later: then it must run, not come from the cache.
            delete require.cache[file];
        }
    }
}

require(require.resolve("@pulumi/pulumi/cmd/run", { paths: [pwd] }));
