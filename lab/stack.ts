/**
 * Throwaway stacks of a temp copy of a Pulumi project, each with its own local file backend in a
 * temp dir and passphrase secrets, on the toolchain's pulumi. Two drivers: `Stack` runs the CLI
 * itself (the e2e tests, which assert on what the CLI prints); `LabStack` goes through the
 * Automation API (the demo and the benchmarks, which only need the engine's operations).
 * Shared by tests, demo and benchmarks; product code (components/, index.ts) never imports lab/.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PreviewResult, PulumiCommand, Stack as EngineStack, UpResult } from "@pulumi/pulumi/automation";
import { objectConfig } from "../scripts/cli";
import { engineStep, fileBackendUrl, NODEJS_RUN, openStack, pulumiCommand, setObjectConfig, setSecretConfig, REPO, toolchainEnv } from "../scripts/engine";

export { REPO };

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Copy a Pulumi project into a temp dir (its stack files land there, not in the repo). */
export function projectCopy(source: string, extra: string[] = []): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-proj-"));
    for (const f of fs.readdirSync(source)) {
        if (f === "node_modules" || f.startsWith("Pulumi.") && f !== "Pulumi.yaml") continue;
        fs.cpSync(path.join(source, f), path.join(dir, f), { recursive: true });
    }
    for (const f of extra) fs.cpSync(path.join(REPO, f), path.join(dir, f), { recursive: true });
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

/** The conntune project itself (program, components, package.json), copied for a test stack. */
export function conntuneProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-proj-"));
    for (const f of ["Pulumi.yaml", "program.js", "index.ts", "components", "policy", "package.json", "tsconfig.json", "tsconfig.pulumi.json"]) {
        fs.cpSync(path.join(REPO, f), path.join(dir, f), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

/** What every lab stack's engine runs with besides the toolchain: its own backend, a fixed passphrase, no prompts. */
function labEnv(backendDir: string): Record<string, string> {
    return {
        PULUMI_BACKEND_URL: fileBackendUrl(backendDir),
        PULUMI_CONFIG_PASSPHRASE: "conntune-e2e-passphrase",
        PULUMI_SKIP_CONFIRMATIONS: "true",
        NO_COLOR: "1",
    };
}

export class Stack {
    readonly backendDir: string;
    readonly env: NodeJS.ProcessEnv;
    /** Everything the CLI printed, for the secrets check. */
    readonly transcript: string[] = [];

    /**
     * @param projectDir a temp copy of a Pulumi project (see projectCopy / conntuneProject)
     * @param name stack name
     * @param env more environment for the CLI, over the lab's (e.g. another PULUMI_BACKEND_URL and its PGPASSWORD)
     */
    constructor(readonly projectDir: string, readonly name: string, env: Record<string, string> = {}) {
        this.backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-state-"));
        this.env = { ...toolchainEnv(), ...labEnv(this.backendDir), ...env };
        // Transpile only, as scripts/pulumi.sh does (type checking is `npm run typecheck`).
        if (fs.existsSync(path.join(projectDir, "tsconfig.pulumi.json"))) this.env.PULUMI_NODEJS_TSCONFIG_PATH = "tsconfig.pulumi.json";
        // program.js starts without ts-node, as scripts/pulumi.sh runs it (scripts/nodejs-run.js).
        this.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH = NODEJS_RUN;
    }

    run(args: string[], opts: { input?: string; allowFail?: boolean } = {}): Promise<RunResult> {
        return new Promise((resolve, reject) => {
            const p = spawn("pulumi", [...args, "--non-interactive"], { cwd: this.projectDir, env: this.env });
            let stdout = "";
            let stderr = "";
            p.stdout.on("data", (d) => (stdout += d));
            p.stderr.on("data", (d) => (stderr += d));
            if (opts.input !== undefined) p.stdin.end(opts.input);
            else p.stdin.end();
            p.on("error", reject);
            p.on("close", (code) => {
                const r = { code: code ?? -1, stdout, stderr };
                this.transcript.push(`$ pulumi ${args.join(" ")}\n${stdout}\n${stderr}`);
                if (r.code !== 0 && !opts.allowFail) {
                    reject(new Error(`pulumi ${args.join(" ")} exited ${r.code}\n${stdout}\n${stderr}`));
                } else resolve(r);
            });
        });
    }

    private cf(): string[] {
        return ["--stack", this.name];
    }

    async init(): Promise<void> {
        await this.run(["stack", "init", this.name]);
    }

    async setConfig(key: string, value: string, secret = false): Promise<void> {
        await this.run(["config", "set", ...this.cf(), ...(secret ? ["--secret"] : []), key], { input: value });
    }

    async setConfigPath(pathKey: string, value: string): Promise<void> {
        await this.run(["config", "set", ...this.cf(), "--path", pathKey, value]);
    }

    /** Replace one structured config value, e.g. `conntune:redis`. */
    async setObject(key: string, value: unknown): Promise<void> {
        await this.run(["config", "set-all", ...this.cf(), "--json", objectConfig(key, value)]);
    }

    /** Replace the whole `conntune:hosts` value. */
    setHosts(hosts: unknown): Promise<void> {
        return this.setObject("conntune:hosts", hosts);
    }

    preview(extra: string[] = [], allowFail = false): Promise<RunResult> {
        return this.run(["preview", ...this.cf(), "--diff", ...extra], { allowFail });
    }

    up(extra: string[] = [], allowFail = false): Promise<RunResult> {
        return this.run(["up", ...this.cf(), "--yes", "--skip-preview", "--diff", ...extra], { allowFail });
    }

    destroy(allowFail = false): Promise<RunResult> {
        return this.run(["destroy", ...this.cf(), "--yes", "--skip-preview"], { allowFail });
    }

    async outputs(): Promise<Record<string, unknown>> {
        const r = await this.run(["stack", "output", "--json", "--show-secrets", "--stack", this.name]);
        return JSON.parse(r.stdout) as Record<string, unknown>;
    }

    /** The raw state file of the stack (for the secrets check). */
    stateText(): string {
        const files: string[] = [];
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) walk(p);
                else if (e.name.endsWith(".json")) files.push(fs.readFileSync(p, "utf8"));
            }
        };
        walk(path.join(this.backendDir, ".pulumi"));
        return files.join("\n");
    }

    /** Remove the stack, its backend dir and the project copy (after destroy). */
    async remove(): Promise<void> {
        await this.run(["stack", "rm", "--yes", "--force", "--stack", this.name], { allowFail: true });
        fs.rmSync(this.backendDir, { recursive: true, force: true });
        fs.rmSync(this.projectDir, { recursive: true, force: true });
    }
}

/** Parse "Resources: … N changes" style summaries: true when the update changed nothing. */
export function noChanges(out: string): boolean {
    return /Resources:\s*\n\s*\d+ unchanged\s*\n/m.test(out) && !/\b(created|updated|deleted|replaced|to create|to update|to delete|to replace)\b/.test(out.split("Resources:")[1] ?? "");
}

/** The test's expectation wrapper for e2e suites: skip with a printed reason, but never under CI. */
export function e2eGate(reason: string | undefined): boolean {
    if (!reason) return true;
    if (process.env.CI === "true") throw new Error(`CI=true but the e2e tests cannot run here: ${reason}`);
    console.warn(`SKIPPING e2e tests: ${reason}`);
    return false;
}

/** A stack of the conntune project for a test host: the host's login key (and sudo password) as secrets; `env` as for Stack. */
export async function hostStack(h: { privateKey: string; sudoPassword: string }, name: string, sudo = false, env: Record<string, string> = {}): Promise<Stack> {
    const s = new Stack(conntuneProject(), name, env);
    await s.init();
    await s.setConfig("conntune:sshPrivateKey", h.privateKey, true);
    if (sudo) await s.setConfig("conntune:sudoPassword", h.sudoPassword, true);
    return s;
}

/** Destroy what a stack still holds (tolerating failure), then remove it with its files. */
export async function dispose(stack: Stack | undefined): Promise<void> {
    await stack?.destroy(true);
    await stack?.remove();
}

/**
 * The toolchain's pulumi, adding `--otel-traces file://FILE` to an `up` while `traces()` names a
 * file: the Automation API has no option for that flag, and the converge benchmark reads the
 * per-operation times (and the provider's SSH dial times) from that trace.
 */
async function tracingCommand(traces: () => string | undefined): Promise<PulumiCommand> {
    const base = await pulumiCommand();
    const run = (base as unknown as { run?: (args: string[], ...rest: unknown[]) => unknown }).run;
    if (typeof run !== "function") throw new Error("this @pulumi/pulumi has no PulumiCommand.run: --otel-traces cannot be added");
    const cmd = Object.create(base) as PulumiCommand & { run: typeof run };
    cmd.run = (args: string[], ...rest: unknown[]) => {
        const file = traces();
        return run.call(base, args[0] === "up" && file ? [...args, "--otel-traces", `file://${file}`] : args, ...rest);
    };
    return cmd;
}

/** Options of a LabStack's up and preview. */
export interface LabRunOptions {
    /** Resource operations at once (`--parallel`). */
    parallel?: number;
    /** up only: write the engine's OpenTelemetry trace to this file (`--otel-traces file://…`). */
    otelTraces?: string;
    /** Echo what the engine prints as it goes. */
    onOutput?: (out: string) => void;
}

/**
 * A throwaway stack for the demo and the benchmarks, through the Automation API: a temp copy of a
 * project (see conntuneProject), its own file backend, passphrase secrets. `remove` deletes all of it.
 */
export class LabStack {
    private traces: string | undefined;

    private constructor(
        /** The Automation API's stack. */
        readonly stack: EngineStack,
        /** The project copy the stack runs. */
        readonly projectDir: string,
        /** The stack's file backend. */
        readonly backendDir: string,
        /** The environment the engine runs with (for a CLI command of one's own). */
        readonly env: Record<string, string>,
    ) {}

    /** Create stack `name` of the project copy in `projectDir` on a new backend of its own. */
    static async create(projectDir: string, name: string): Promise<LabStack> {
        const backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-state-"));
        const env = labEnv(backendDir);
        let lab: LabStack | undefined;
        const command = await tracingCommand(() => lab?.traces);
        try {
            const stack = await engineStep("stack init", () => openStack(name, { workDir: projectDir, create: true, env, command }));
            lab = new LabStack(stack, projectDir, backendDir, env);
            return lab;
        } catch (e) {
            fs.rmSync(backendDir, { recursive: true, force: true });
            throw e;
        }
    }

    get name(): string {
        return this.stack.name;
    }

    /** Set a secret config value (handed to pulumi on stdin, never as an argument). */
    setSecret(key: string, value: string): void {
        setSecretConfig(this.projectDir, this.name, key, value, this.env);
    }

    /** Replace one structured config value, e.g. `conntune:redis`. */
    setObject(key: string, value: unknown): Promise<void> {
        return engineStep("config set-all", () => setObjectConfig(this.stack, key, value));
    }

    /** Replace the whole `conntune:hosts` value. */
    setHosts(hosts: unknown): Promise<void> {
        return this.setObject("conntune:hosts", hosts);
    }

    /** `pulumi preview --diff`. */
    preview(opts: LabRunOptions = {}): Promise<PreviewResult> {
        return engineStep("preview", () => this.stack.preview({ diff: true, parallel: opts.parallel, onOutput: opts.onOutput }));
    }

    /** `pulumi up --yes --skip-preview --diff`. */
    async up(opts: LabRunOptions = {}): Promise<UpResult> {
        this.traces = opts.otelTraces;
        try {
            return await engineStep("up", () => this.stack.up({ diff: true, parallel: opts.parallel, onOutput: opts.onOutput }));
        } finally {
            this.traces = undefined;
        }
    }

    /** `pulumi destroy --yes --skip-preview`. */
    async destroy(): Promise<void> {
        await engineStep("destroy", () => this.stack.destroy());
    }

    /** The stack's outputs (secrets shown). */
    async outputs(): Promise<Record<string, unknown>> {
        const out = await engineStep("stack output", () => this.stack.outputs());
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value]));
    }

    /** Destroy what the stack still holds (tolerating failure), remove it, its backend and the project copy. */
    async dispose(): Promise<void> {
        await this.destroy().catch(() => undefined);
        await this.remove();
    }

    /** Remove the stack (after destroy), its backend dir and the project copy. */
    async remove(): Promise<void> {
        await this.stack.workspace.removeStack(this.name, { force: true }).catch(() => undefined);
        fs.rmSync(this.backendDir, { recursive: true, force: true });
        fs.rmSync(this.projectDir, { recursive: true, force: true });
    }
}

/** A LabStack of the conntune project for a test host, the host's login key (and sudo password) as secrets. */
export async function labHostStack(h: { privateKey: string; sudoPassword: string }, name: string, sudo = false): Promise<LabStack> {
    const s = await LabStack.create(conntuneProject(), name);
    try {
        s.setSecret("conntune:sshPrivateKey", h.privateKey);
        if (sudo) s.setSecret("conntune:sudoPassword", h.sudoPassword);
    } catch (e) {
        await s.remove();
        throw e;
    }
    return s;
}
