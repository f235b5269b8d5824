/**
 * Drive the real Pulumi CLI (from the toolchain step) against a local file backend in a temp dir.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { objectConfig } from "../scripts/cli";

export const REPO = path.resolve(__dirname, "..");

let cachedEnv: NodeJS.ProcessEnv | undefined;
/** Environment of the toolchain step (PATH with pulumi, PULUMI_HOME, no downloads). */
export function toolchainEnv(): NodeJS.ProcessEnv {
    if (!cachedEnv) {
        // The test command runs scripts/setup.sh first; a test never starts a long build itself.
        const check = spawnSync("bash", [path.join(REPO, "scripts", "toolchain.sh"), "--check"], { encoding: "utf8" });
        if (check.status !== 0) throw new Error("the Pulumi toolchain is not built: run `bash scripts/setup.sh` (or `npm test`, which does)");
        const envFile = execFileSync("bash", [path.join(REPO, "scripts", "toolchain.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim().split("\n").pop()!;
        const out = execFileSync("bash", ["-c", `. "${envFile}" && env -0`], { encoding: "utf8" });
        cachedEnv = Object.fromEntries(out.split("\0").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    }
    return cachedEnv;
}

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
    for (const f of ["Pulumi.yaml", "index.ts", "components", "package.json", "tsconfig.json", "tsconfig.pulumi.json"]) {
        fs.cpSync(path.join(REPO, f), path.join(dir, f), { recursive: true });
    }
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

export class Stack {
    readonly backendDir: string;
    readonly env: NodeJS.ProcessEnv;
    /** Everything the CLI printed, for the secrets check. */
    readonly transcript: string[] = [];

    /**
     * @param projectDir a temp copy of a Pulumi project (see projectCopy / conntuneProject)
     * @param name stack name
     */
    constructor(readonly projectDir: string, readonly name: string) {
        this.backendDir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-state-"));
        this.env = {
            ...toolchainEnv(),
            PULUMI_BACKEND_URL: `file://${this.backendDir}`,
            PULUMI_CONFIG_PASSPHRASE: "conntune-e2e-passphrase",
            PULUMI_SKIP_CONFIRMATIONS: "true",
            NO_COLOR: "1",
        };
        // Transpile only, as scripts/pulumi.sh does (type checking is `npm run typecheck`).
        if (fs.existsSync(path.join(projectDir, "tsconfig.pulumi.json"))) this.env.PULUMI_NODEJS_TSCONFIG_PATH = "tsconfig.pulumi.json";
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

/** A stack of the conntune project for a test host: the host's login key (and sudo password) as secrets. */
export async function hostStack(h: { privateKey: string; sudoPassword: string }, name: string, sudo = false): Promise<Stack> {
    const s = new Stack(conntuneProject(), name);
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
