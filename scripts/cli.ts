/**
 * What the operator commands (drift, rollback) share: argument lookup and the toolchain's pulumi
 * (scripts/pulumi.sh) run in a project directory.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "..");

/** The value after `--name`, if given. */
export function arg(name: string): string | undefined {
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
