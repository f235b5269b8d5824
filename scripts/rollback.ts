/**
 * Stack-based rollback: return a stack to what it was after update N. Pulumi has no rollback of its
 * own; every update records its config in the stack history, so: prepare update N's config beside the
 * stack's, show the preview with it, and only on confirmation (--yes for pipelines) put it in place
 * (one rename) and apply. The rollback is itself a new update.
 * Every update also records the git revision of the program it ran: with --program the preview and
 * the update run that revision's program, from a temporary git worktree (removed afterwards).
 *
 *   npm run rollback -- --stack NAME --list
 *   npm run rollback -- --stack NAME --to N [--program] [--yes] [--project-dir DIR]
 *
 * N counts the stack's history from 1 (oldest) as `--list` shows it (the file backend numbers every
 * update 0, so the position is the only stable name). The engine is driven through the Automation
 * API (scripts/engine.ts).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline/promises";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { exitOnError, intFlag, parseFlags, projectDir, UsageError } from "./cli";
import { ConfigEntry, engineStep, openStack, openWorkspace, REPO, setSecretConfig, shown } from "./engine";
import { cannotDelete, deletesByOperation, runsDeleteByOperation } from "./rollbackGuard";

const USAGE = "npm run rollback -- --stack NAME (--list | --to N [--program] [--yes]) [--project-dir DIR]";

interface HistoryEntry {
    kind: string;
    /** As `pulumi stack history --json` prints it (ISO 8601, UTC). */
    startTime: string;
    message: string;
    result: string;
    environment?: Record<string, string>;
    config?: Record<string, ConfigEntry>;
}

async function history(stack: Stack): Promise<HistoryEntry[]> {
    const h = await engineStep("stack history", () => stack.history(undefined, undefined, true));
    // The Automation API hands times as Dates; the list shows them as the CLI does.
    const time = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);
    return h.map((u) => ({ ...u, startTime: time(u.startTime), config: u.config as Record<string, ConfigEntry> | undefined })).reverse(); // oldest first: update 1 is the first one
}


function git(args: string[]): string {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** The checkout's commit, if the project is in git. */
function gitHead(): string | undefined {
    try {
        return git(["-C", projectDir(), "rev-parse", "HEAD"]);
    } catch {
        return undefined;
    }
}

/** Where Pulumi.yaml names conntune's command provider (built per clone by scripts/toolchain.sh). */
const PROVIDER = path.join("node_modules", ".cache", "conntune-command-provider");

/**
 * The project's program at revision `rev`, checked out in a temporary git worktree. Its dependencies
 * are this project's node_modules when the lockfile is the same, else installed there with `npm ci`.
 * Its command provider (Pulumi.yaml's plugin path, which no `npm ci` creates) is built by the
 * revision's own toolchain step when the revision has one, into the worktree's own node_modules
 * (this project's packages linked one by one, never its provider); else this project's provider is linked.
 */
function programAt(rev: string): { dir: string; remove: () => void } {
    const proj = projectDir();
    const top = git(["-C", proj, "rev-parse", "--show-toplevel"]);
    const wt = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-rollback-"));
    git(["-C", top, "worktree", "add", "--detach", "--quiet", wt, rev]);
    const remove = () => {
        try {
            git(["-C", top, "worktree", "remove", "--force", wt]);
        } catch {
            fs.rmSync(wt, { recursive: true, force: true });
            git(["-C", top, "worktree", "prune"]);
        }
    };
    try {
        const dir = path.join(wt, path.relative(top, proj));
        const modules = path.join(dir, "node_modules");
        const toolchain = path.join(dir, "scripts", "toolchain.sh");
        const lock = (d: string) => (fs.existsSync(path.join(d, "package-lock.json")) ? fs.readFileSync(path.join(d, "package-lock.json"), "utf8") : "");
        if (lock(dir) !== "" && lock(dir) === lock(proj) && fs.existsSync(path.join(proj, "node_modules"))) {
            if (fs.existsSync(toolchain)) {
                // The revision's toolchain builds its provider into node_modules/.cache: not into this project's.
                fs.mkdirSync(modules);
                for (const e of fs.readdirSync(path.join(proj, "node_modules"))) if (e !== ".cache") fs.symlinkSync(path.join(proj, "node_modules", e), path.join(modules, e));
            } else {
                fs.symlinkSync(path.join(proj, "node_modules"), modules);
            }
        } else {
            console.log(`installing the dependencies of revision ${rev.slice(0, 10)} (npm ci) …`);
            execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: dir, stdio: "inherit" });
        }
        if (fs.existsSync(toolchain)) {
            console.log(`building the toolchain step of revision ${rev.slice(0, 10)} (its command provider: bash scripts/toolchain.sh) …`);
            execFileSync("bash", [toolchain], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
        } else if (!fs.existsSync(path.join(dir, PROVIDER))) {
            const mine = [proj, REPO].map((d) => path.join(d, PROVIDER)).find((d) => fs.existsSync(path.join(d, "pulumi-resource-command")));
            if (!mine) throw new Error(`revision ${rev.slice(0, 10)} has no scripts/toolchain.sh and this checkout has no command provider at ${PROVIDER}: run \`bash scripts/setup.sh\` first`);
            fs.mkdirSync(path.dirname(path.join(dir, PROVIDER)), { recursive: true });
            fs.symlinkSync(mine, path.join(dir, PROVIDER));
        }
        return { dir, remove };
    } catch (e) {
        remove();
        throw e;
    }
}

/** The stack's config file: Pulumi.<stack>.yaml in the project (the stack's short name). */
function stackConfigFile(stack: string): string {
    return path.join(projectDir(), `Pulumi.${stack.split("/").pop()}.yaml`);
}

/**
 * Update N's config, written to a copy of the stack's config file in a private directory beside it
 * (mode 700, the file 600): nothing of the stack changes until `commit` renames the copy over the
 * stack's file, one atomic step. The copy is edited by a workspace on that directory (it holds a copy
 * of Pulumi.yaml too). Secret values reach pulumi on stdin, never as arguments; the copy holds them
 * encrypted, as the stack's file does. `discard` removes whatever was not committed.
 */
async function prepareConfig(stack: string, config: Record<string, ConfigEntry>): Promise<{ file: string; live: string; commit: () => void; discard: () => void }> {
    const live = stackConfigFile(stack);
    if (!fs.existsSync(live)) throw new Error(`the config file of stack ${stack} is not at ${live}: pass --project-dir (the directory of Pulumi.yaml)`);
    const secretObjects = Object.entries(config).filter(([, v]) => v.secret && v.objectValue !== undefined).map(([k]) => k);
    if (secretObjects.length) {
        throw new Error(`cannot restore the structured secret ${secretObjects.join(", ")} without putting it on a command line: set it by hand (\`pulumi config set --secret --path\`), then roll back`);
    }
    const dir = fs.mkdtempSync(path.join(path.dirname(live), ".conntune-rollback-"));
    const file = path.join(dir, path.basename(live));
    const discard = () => fs.rmSync(dir, { recursive: true, force: true });
    try {
        fs.copyFileSync(live, file);
        fs.chmodSync(file, 0o600);
        fs.copyFileSync(path.join(projectDir(), "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const ws = await openWorkspace({ workDir: dir });
        const current = await engineStep("config", () => ws.getAllConfig(stack));
        // Keys update N did not have are removed.
        const stale = Object.keys(current).filter((k) => !(k in config));
        if (stale.length) await engineStep("config rm-all", () => ws.removeAllConfig(stack, stale));
        const plain = Object.fromEntries(Object.entries(config).filter(([, v]) => !v.secret));
        if (Object.keys(plain).length) await engineStep("config set-all", () => ws.setAllConfigJson(stack, JSON.stringify(plain)));
        for (const [key, v] of Object.entries(config)) {
            // A secret the copy already holds with this value keeps its ciphertext.
            if (v.secret && !(current[key]?.secret && current[key].value === v.value)) setSecretConfig(dir, stack, key, v.value ?? "");
        }
    } catch (e) {
        discard();
        throw e;
    }
    return { file, live, commit: () => fs.renameSync(file, live), discard };
}

async function main(): Promise<void> {
    const flags = parseFlags({ stack: "string", list: "boolean", to: "string", program: "boolean", yes: "boolean", "project-dir": "string" });
    const stack = flags.stack;
    if (!stack) throw new UsageError("--stack is required");
    if (flags.list && flags.to !== undefined) throw new UsageError("--list and --to exclude each other");
    const to = flags.to === undefined ? undefined : intFlag("to", flags.to, 0, 1, Number.MAX_SAFE_INTEGER);
    const st = await engineStep("stack select", () => openStack(stack, { workDir: projectDir() }));
    const h = await history(st);
    if (flags.list || to === undefined) {
        console.log("N    started                   kind     result     git        message");
        h.forEach((e, i) =>
            console.log(`${String(i + 1).padEnd(4)} ${e.startTime.padEnd(25)} ${e.kind.padEnd(8)} ${e.result.padEnd(10)} ${(e.environment?.["git.head"] ?? "-").slice(0, 10).padEnd(10)} ${e.message}`),
        );
        return;
    }
    const n = to;
    const target = h[n - 1];
    if (!Number.isInteger(n) || !target) throw new Error(`--to must be from 1 to ${h.length} (see --list)`);
    if (target.kind !== "update" || target.result !== "succeeded" || !target.config) {
        throw new Error(`update ${n} is a ${target.result} ${target.kind}: roll back to a succeeded update`);
    }
    const recorded = target.environment?.["git.head"];
    const head = gitHead();
    const withProgram = flags.program === true;
    if (withProgram && !recorded) throw new Error(`update ${n} recorded no git revision (its project was not in a git repository): roll back the config alone, without --program`);
    if (withProgram && target.environment?.["git.dirty"] === "true") {
        console.warn(`note: update ${n} ran revision ${recorded} with uncommitted changes; those are not part of the rollback.`);
    }
    if (!withProgram && recorded && head && recorded !== head) {
        console.warn(`note: update ${n} ran program revision ${recorded}; this checkout is ${head}.\n      The config is rolled back; pass --program to run that revision's program as well.`);
    }
    // Update N's config is prepared beside the stack's config file; the stack's config changes only
    // on confirmation, in one step.
    const prepared = await prepareConfig(stack, target.config);
    // With --program: update N's program from a worktree, reading this project's stack config.
    let program: ReturnType<typeof programAt> | undefined;
    try {
        program = withProgram && recorded && recorded !== head ? programAt(recorded) : undefined;
        console.log(`config of stack ${stack} as of update ${n} (${target.startTime})${program ? `, program at revision ${recorded!.slice(0, 10)}` : ""}; preview:`);
        const run = program ? await engineStep("stack select", () => openStack(stack, { workDir: program!.dir })) : st;
        const events: EngineEvent[] = [];
        await engineStep("preview", () => run.preview({ diff: true, configFile: prepared.file, ...shown, ...(program ? { onEvent: (e: EngineEvent) => void events.push(e) } : {}) }));
        // An older provider cannot delete what this checkout recorded: refuse before anything changes.
        const stuck = program ? deletesByOperation(events) : [];
        if (program && stuck.length && !runsDeleteByOperation(program.dir)) throw new Error(cannotDelete(recorded!, stuck));
        if (!flags.yes) {
            if (!process.stdin.isTTY) throw new Error("not applied: pass --yes to apply without a prompt (the stack's config is unchanged)");
            const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
            const answer = await rl.question(`apply the rollback of ${stack} to update ${n}? [y/N] `);
            rl.close();
            if (!/^y(es)?$/i.test(answer.trim())) {
                console.log("not applied (the stack's config is unchanged)");
                return;
            }
        }
        prepared.commit();
        await engineStep("up", () => run.up({ message: `conntune rollback to update ${n}`, ...(program ? { configFile: prepared.live } : {}), ...shown }));
    } finally {
        prepared.discard();
        program?.remove();
    }
}

main().catch(exitOnError("rollback", USAGE, 1));
