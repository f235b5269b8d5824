/**
 * What the operator commands (drift, rollback, demo, bench) share: strict flags, usage errors, the
 * project directory. Driving the engine is scripts/engine.ts (the Automation API).
 */
import * as path from "node:path";
import { parseArgs } from "node:util";

export const REPO = path.resolve(__dirname, "..");

/** Flags a command takes: a string flag takes a value (`--stack NAME`), a boolean one does not (`--json`). */
export type FlagSpec = Record<string, "string" | "boolean">;
type Flags<S extends FlagSpec> = { [K in keyof S]?: S[K] extends "string" ? string : boolean };

let parsed: Record<string, string | boolean | undefined> | undefined;

/** Thrown for a command line a command does not take; scripts exit 2 with the usage. */
export class UsageError extends Error {}

/** Thrown for `--help` / `-h`: scripts print the usage and exit 0, before they do anything. */
export class HelpRequested extends Error {}

/**
 * The command's flags, strictly: an unknown flag, a missing value or a stray argument is a
 * UsageError naming it (never silently ignored, never a default in its place). `--help` (`-h`),
 * which every command takes, is a HelpRequested.
 */
export function parseFlags<S extends FlagSpec>(spec: S, argv: string[] = process.argv.slice(2)): Flags<S> {
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = Object.fromEntries(Object.entries(spec).map(([name, type]) => [name, { type }]));
    options.help ??= { type: "boolean", short: "h" };
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
    if (parsed.help === true && !("help" in spec)) throw new HelpRequested();
    return parsed as Flags<S>;
}

/** A flag's value as a whole number from `min` to `max` (UsageError otherwise), or `dflt` when absent. */
export function intFlag(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
    if (value === undefined) return dflt;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`flag --${name}: must be a whole number from ${min} to ${max}, not '${value}'`);
    return n;
}

/**
 * Print a UsageError with the usage and exit 2; a HelpRequested as the usage on stdout, exit 0; any
 * other error as `name: message` with `code`.
 */
export function exitOnError(name: string, usage: string, code = 2): (e: unknown) => never {
    return (e) => {
        if (e instanceof HelpRequested) {
            console.log(`usage: ${usage}`);
            process.exit(0);
        }
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

/** `pulumi config set-all` for one structured value (the JSON form `pulumi config --json` prints). */
export function objectConfig(key: string, value: unknown): string {
    return JSON.stringify({ [key]: { value: JSON.stringify(value), objectValue: value, secret: false } });
}

