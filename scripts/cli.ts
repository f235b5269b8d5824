/**
 * What the operator commands (drift, rollback) share: argument lookup and the toolchain's pulumi
 * (scripts/pulumi.sh) run in a project directory.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

export const REPO = path.resolve(__dirname, "..");

/** Flags a command takes: a string flag takes a value (`--stack NAME`), a boolean one does not (`--json`). */
export type FlagSpec = Record<string, "string" | "boolean">;
type Flags<S extends FlagSpec> = { [K in keyof S]?: S[K] extends "string" ? string : boolean };

let parsed: Record<string, string | boolean | undefined> | undefined;

/** Thrown for a command line a command does not take; scripts exit 2 with the usage. */
export class UsageError extends Error {}

/**
 * The command's flags, strictly: an unknown flag, a missing value or a stray argument is a
 * UsageError naming it (never silently ignored, never a default in its place).
 */
export function parseFlags<S extends FlagSpec>(spec: S, argv: string[] = process.argv.slice(2)): Flags<S> {
    const options = Object.fromEntries(Object.entries(spec).map(([name, type]) => [name, { type }]));
    try {
        parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
    } catch (e) {
        const err = e as Error & { code?: string };
        const what = /'([^']+)'/.exec(err.message)?.[1] ?? "";
        const msg =
            err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
                ? `unknown flag ${what}`
                : err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL"
                  ? `unexpected argument '${what}' (flags are written --name value)`
                  : err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE"
                    ? `flag ${what.split(" ")[0]}: ${/ does not take an argument/.test(err.message) ? "takes no value" : "needs a value"}`
                    : err.message;
        throw new UsageError(msg);
    }
    return parsed as Flags<S>;
}

/** A flag's value as a whole number from `min` to `max` (UsageError otherwise), or `dflt` when absent. */
export function intFlag(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
    if (value === undefined) return dflt;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`flag --${name}: must be a whole number from ${min} to ${max}, not '${value}'`);
    return n;
}

/** Print a UsageError with the usage and exit 2; any other error as `name: message` with `code`. */
export function exitOnError(name: string, usage: string, code = 2): (e: unknown) => never {
    return (e) => {
        if (e instanceof UsageError) {
            console.error(`${name}: ${e.message}\nusage: ${usage}`);
            process.exit(2);
        }
        console.error(`${name}: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(code);
    };
}

/** The value of `--name` (after parseFlags: the parsed one). */
export function arg(name: string): string | undefined {
    if (parsed) return typeof parsed[name] === "string" ? (parsed[name] as string) : undefined;
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
}

/** The project the stack belongs to: --project-dir, or this repository. */
export const projectDir = (): string => arg("project-dir") ?? REPO;

/**
 * Run the toolchain's pulumi in the project (or in `cwd`). `capture` returns stdout (stderr kept for the error);
 * `quiet` discards stdout; otherwise output goes to the terminal. Throws on a non-zero exit.
 * `input` goes to pulumi's stdin: the way to hand it a secret, which must never be an argument
 * (arguments are visible to every user of the machine in `ps`).
 */
export function pulumi(args: string[], mode: "capture" | "quiet" | "show" = "show", cwd = projectDir(), input?: string): string {
    const r = spawnSync("bash", [path.join(REPO, "scripts", "pulumi.sh"), "--cwd", cwd, ...args], {
        encoding: "utf8",
        input,
        stdio: [input === undefined ? "ignore" : "pipe", mode === "show" ? "inherit" : "pipe", mode === "capture" ? "pipe" : "inherit"],
    });
    if (r.status !== 0) throw new Error(`pulumi ${args[0]} ${args[1] ?? ""} failed${mode === "capture" ? `: ${r.stderr}` : ""}`);
    return r.stdout ?? "";
}

/** `pulumi config set-all` for one structured value (the JSON form `pulumi config --json` prints). */
export function objectConfig(key: string, value: unknown): string {
    return JSON.stringify({ [key]: { value: JSON.stringify(value), objectValue: value, secret: false } });
}

/**
 * The environment scripts/pulumi.sh gives the CLI (the toolchain's env file, a local file backend
 * under .pulumi-state/ unless PULUMI_BACKEND_URL is set, transpile-only TypeScript, parallelism),
 * for commands that drive the engine through the Automation API.
 */
export function engineEnv(): Record<string, string> {
    const tc = spawnSync("bash", [path.join(REPO, "scripts", "toolchain.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (tc.status !== 0) throw new Error("the Pulumi toolchain step (scripts/toolchain.sh) failed");
    const envFile = tc.stdout.trim().split("\n").pop()!;
    const out = spawnSync("bash", ["-c", '. "$1" && env -0', "env", envFile], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`cannot read the toolchain's environment file ${envFile}`);
    const env = Object.fromEntries(out.stdout.split("\0").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    if (!env.PULUMI_BACKEND_URL) {
        fs.mkdirSync(path.join(REPO, ".pulumi-state"), { recursive: true });
        env.PULUMI_BACKEND_URL = `file://${path.join(REPO, ".pulumi-state")}`;
    }
    env.PULUMI_NODEJS_TSCONFIG_PATH ||= "tsconfig.pulumi.json";
    env.PULUMI_PARALLEL ||= "64";
    return env;
}
