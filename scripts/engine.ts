/**
 * The one way conntune's commands (rollback, drift, demo, benchmarks, lab stacks) reach the Pulumi
 * engine: the Automation API of @pulumi/pulumi, with the toolchain's pulumi and environment and the
 * defaults of scripts/pulumi.sh (a local file backend under .pulumi-state/ unless
 * PULUMI_BACKEND_URL is set, e.g. to the team's PostgreSQL database; never with a password in it),
 * transpile-only tsconfig, PULUMI_PARALLEL).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandError, ConfigMap, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";

/** This repository (the default project). */
export const REPO = path.resolve(__dirname, "..");

/** The language host's runner for conntune's commands (scripts/nodejs-run.js). */
export const NODEJS_RUN = path.join(REPO, "scripts", "nodejs-run.js");

let cachedToolchain: Record<string, string> | undefined;

/**
 * The toolchain step's environment (scripts/toolchain.sh: PATH with its pulumi, PULUMI_HOME, no
 * plugin downloads, the Automation API's version check off) on top of this process's, read once.
 * Throws when the toolchain is not built: a command never starts that long build itself.
 */
export function toolchainEnv(): Record<string, string> {
    if (!cachedToolchain) {
        const check = spawnSync("bash", [path.join(REPO, "scripts", "toolchain.sh"), "--check"], { encoding: "utf8" });
        if (check.status !== 0) throw new Error("the Pulumi toolchain is not built: run `bash scripts/setup.sh` (or `npm test`, which does)");
        const envFile = execFileSync("bash", [path.join(REPO, "scripts", "toolchain.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim().split("\n").pop()!;
        const out = execFileSync("bash", ["-c", '. "$1" && env -0', "env", envFile], { encoding: "utf8" });
        cachedToolchain = Object.fromEntries(out.split("\0").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    }
    return cachedToolchain;
}

/**
 * The environment the engine runs with for the project in `workDir`: the toolchain's with `extra` on
 * top, then what scripts/pulumi.sh adds where neither says otherwise.
 */
export function engineEnv(workDir: string = REPO, extra: Record<string, string> = {}): Record<string, string> {
    const env = { ...toolchainEnv(), ...extra };
    const problem = backendUrlProblem(env.PULUMI_BACKEND_URL);
    if (problem) throw new Error(problem);
    if (!env.PULUMI_BACKEND_URL) {
        // The local file backend of scripts/pulumi.sh: no Pulumi Cloud account needed.
        fs.mkdirSync(path.join(REPO, ".pulumi-state"), { recursive: true });
        env.PULUMI_BACKEND_URL = fileBackendUrl(path.join(REPO, ".pulumi-state"));
    }
    // Transpile only (type checking is `npm run typecheck`); the language host built here reads
    // the file's name only from this variable.
    if (!env.PULUMI_NODEJS_TSCONFIG_PATH && fs.existsSync(path.join(workDir, "tsconfig.pulumi.json"))) env.PULUMI_NODEJS_TSCONFIG_PATH = "tsconfig.pulumi.json";
    // program.js starts without ts-node (see scripts/nodejs-run.js); other programs run as before.
    env.PULUMI_LANGUAGE_NODEJS_RUN_PATH ??= NODEJS_RUN;
    // conntune's operations wait on the hosts, not on this machine's CPU (see scripts/pulumi.sh).
    env.PULUMI_PARALLEL ??= "64";
    return env;
}

/**
 * The file backend in `dir`, without the storage library's sidecar files (`?metadata=skip`): the
 * backend rewrites the whole state at every step of an update, and each write also wrote a
 * `.json.attrs` file (and one for the `.bak` copy) after hashing the state twice more for it, a sixth
 * of the CLI's CPU on a 50-host first apply. The backend keeps nothing in them (a stack's time is the
 * file's own). The same URL as scripts/pulumi.sh's default.
 */
export function fileBackendUrl(dir: string): string {
    return `file://${dir}?metadata=skip`;
}

/** What conntune says when PULUMI_BACKEND_URL carries a password (scripts/pulumi.sh says the same). */
export const BACKEND_URL_PASSWORD = "PULUMI_BACKEND_URL holds a password: pulumi prints the backend URL in its errors, so it would reach logs; remove it from the URL and give it in PGPASSWORD (or a PGPASSFILE) instead";

/**
 * Why the backend URL `url` must not be used, or undefined: a password in its user info (e.g.
 * `postgres://user:secret@host/db`, or `?password=secret`). The CLI prints the URL as given when it cannot open the
 * backend; PostgreSQL's client reads the password from PGPASSWORD or PGPASSFILE instead.
 */
export function backendUrlProblem(url: string | undefined): string | undefined {
    const rest = url?.split("://")[1];
    if (rest === undefined) return undefined;
    const authority = rest.split(/[/?#]/)[0];
    const at = authority.lastIndexOf("@");
    // The PostgreSQL drivers also take the password as a query parameter (`?password=`).
    const query = rest.split("#")[0].split("?").slice(1).join("?");
    const inQuery = query.split("&").some((kv) => kv.split("=")[0].toLowerCase() === "password");
    return (at >= 0 && authority.slice(0, at).includes(":")) || inQuery ? BACKEND_URL_PASSWORD : undefined;
}

/** The toolchain's pulumi binary (the first one on the toolchain's PATH). */
export function pulumiBinary(env: Record<string, string> = toolchainEnv()): string {
    for (const dir of (env.PATH ?? "").split(":")) {
        const p = path.join(dir, "pulumi");
        if (dir && fs.existsSync(p)) return p;
    }
    throw new Error("no pulumi on the toolchain's PATH: run `bash scripts/setup.sh`");
}

let cachedCommand: Promise<PulumiCommand> | undefined;

/** The toolchain's pulumi for the Automation API (not whatever `pulumi` this shell finds first). */
export function pulumiCommand(): Promise<PulumiCommand> {
    cachedCommand ??= PulumiCommand.get({ root: path.dirname(path.dirname(pulumiBinary())), skipVersionCheck: true });
    return cachedCommand;
}

/** Where and how to open a stack. */
export interface OpenOptions {
    /** The project's directory (its Pulumi.yaml); default this repository. */
    workDir?: string;
    /** Create the stack when it does not exist yet (default: it must exist). */
    create?: boolean;
    /** More environment for the engine (e.g. PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE of a lab stack). */
    env?: Record<string, string>;
    /** Another pulumi than the toolchain's (see pulumiCommand). */
    command?: PulumiCommand;
}

/** A workspace on the project in `workDir` (no stack selected): for config work on a copy. */
export async function openWorkspace(opts: Omit<OpenOptions, "create"> = {}): Promise<LocalWorkspace> {
    const workDir = opts.workDir ?? REPO;
    return LocalWorkspace.create({ workDir, envVars: engineEnv(workDir, opts.env), pulumiCommand: opts.command ?? (await pulumiCommand()) });
}

/** The stack `name` of the project in `opts.workDir`, through the Automation API. */
export async function openStack(name: string, opts: OpenOptions = {}): Promise<Stack> {
    const workDir = opts.workDir ?? REPO;
    // The CLI's own complaint here is about fully qualified stack names, which misleads.
    if (!["Pulumi.yaml", "Pulumi.yml"].some((f) => fs.existsSync(path.join(workDir, f)))) throw new Error(`${workDir} holds no Pulumi project (Pulumi.yaml): pass the project's directory`);
    const args = { stackName: name, workDir };
    const ws = { envVars: engineEnv(workDir, opts.env), pulumiCommand: opts.command ?? (await pulumiCommand()) };
    return opts.create ? LocalWorkspace.createOrSelectStack(args, ws) : LocalWorkspace.selectStack(args, ws);
}

/** A config value as `pulumi config --json` prints it: structured values come as objectValue too. */
export type ConfigEntry = ConfigMap[string] & { objectValue?: unknown };

/** The stack's config, secrets shown, each key's value (the structured value where there is one). */
export async function readConfig(stack: Stack): Promise<Record<string, unknown>> {
    const raw = (await stack.getAllConfig()) as Record<string, ConfigEntry>;
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.objectValue ?? v.value]));
}

/**
 * Set one secret config value of `stack` in the project in `workDir`, handing the value to pulumi on
 * stdin. The Automation API's setConfig puts the value on pulumi's command line, which every user of
 * the machine can read in `ps`: a secret never goes that way.
 */
export function setSecretConfig(workDir: string, stack: string, key: string, value: string, env: Record<string, string> = {}): void {
    const e = engineEnv(workDir, env);
    const r = spawnSync(pulumiBinary(e), ["config", "set", "--stack", stack, "--secret", "--raw", "--non-interactive", "--", key], { cwd: workDir, env: e, input: value, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`pulumi config set --secret ${key} failed: ${r.stderr.trim()}`);
}

/** Put one structured value (e.g. `conntune:hosts`) into the stack's config, as `pulumi config --json` shows it. */
export async function setObjectConfig(stack: Stack, key: string, value: unknown): Promise<void> {
    await stack.workspace.setAllConfigJson(stack.name, JSON.stringify({ [key]: { value: JSON.stringify(value), objectValue: value, secret: false } }));
}

/** The engine's output on this process's stdout and stderr, as the CLI would show it (spread into up/preview options). */
export const shown = {
    onOutput: (s: string): void => void process.stdout.write(s),
    onError: (s: string): void => void process.stderr.write(s),
};

/**
 * The CLI's `error:` lines, each with the lines that continue it (a failed command's stderr tail: the
 * reason) up to a blank line or the next `error:`, and the resource line before it (`TYPE (NAME):`);
 * each distinct one once.
 */
export function errorLines(text: string): string[] {
    const all = text.split("\n").map((l) => l.trim());
    const out: string[] = [];
    for (let i = 0; i < all.length; i++) {
        if (!/^error: /.test(all[i])) continue;
        const what = i > 0 && /\):$/.test(all[i - 1]) ? `${all[i - 1]} ` : "";
        const rest: string[] = [];
        for (let j = i + 1; j < all.length && all[j] !== "" && !/^error: /.test(all[j]) && rest.length < 30; j++) rest.push(all[j]);
        out.push(`${what}${[all[i], ...rest].join(" / ")}`);
    }
    return [...new Set(out)];
}

/**
 * Run one engine operation; a failure of the CLI underneath becomes `pulumi OP failed: <its error
 * lines>` (the Automation API's own message carries the whole command line and output).
 */
export async function engineStep<T>(op: string, f: () => Promise<T>): Promise<T> {
    try {
        return await f();
    } catch (e) {
        if (!(e instanceof CommandError)) throw e;
        const lines = errorLines(e.message);
        throw new Error(`pulumi ${op} failed${lines.length ? `: ${lines.join("; ")}` : ""}`);
    }
}
