/**
 * Stack-based rollback: return a stack to what it was after update N. Pulumi has no rollback of its
 * own; every update records its config in the stack history, so: restore update N's config, show the
 * preview, apply on confirmation (--yes for pipelines). The rollback is itself a new update.
 *
 *   npm run rollback -- --stack NAME --list
 *   npm run rollback -- --stack NAME --to N [--yes] [--project-dir DIR]
 *
 * N counts the stack's history from 1 (oldest) as `--list` shows it (the file backend numbers every
 * update 0, so the position is the only stable name).
 */
import { execFileSync } from "node:child_process";
import * as readline from "node:readline/promises";
import { arg, projectDir, pulumi } from "./cli";

interface ConfigValue {
    value?: string;
    objectValue?: unknown;
    secret: boolean;
}
interface HistoryEntry {
    kind: string;
    startTime: string;
    message: string;
    result: string;
    environment?: Record<string, string>;
    config?: Record<string, ConfigValue>;
}

function history(stack: string): HistoryEntry[] {
    const h = JSON.parse(pulumi(["stack", "history", "--json", "--show-secrets", "--stack", stack], "capture")) as HistoryEntry[];
    return h.reverse(); // oldest first: update 1 is the first one
}

function gitHead(): string | undefined {
    try {
        return execFileSync("git", ["-C", projectDir(), "rev-parse", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        return undefined;
    }
}

async function main(): Promise<void> {
    const stack = arg("stack");
    if (!stack) throw new Error("usage: npm run rollback -- --stack NAME (--list | --to N [--yes])");
    const h = history(stack);
    if (process.argv.includes("--list") || !arg("to")) {
        console.log("N    started                   kind     result     git        message");
        h.forEach((e, i) =>
            console.log(`${String(i + 1).padEnd(4)} ${e.startTime.padEnd(25)} ${e.kind.padEnd(8)} ${e.result.padEnd(10)} ${(e.environment?.["git.head"] ?? "-").slice(0, 10).padEnd(10)} ${e.message}`),
        );
        return;
    }
    const n = Number(arg("to"));
    const target = h[n - 1];
    if (!Number.isInteger(n) || !target) throw new Error(`--to must be from 1 to ${h.length} (see --list)`);
    if (target.kind !== "update" || target.result !== "succeeded" || !target.config) {
        throw new Error(`update ${n} is a ${target.result} ${target.kind}: roll back to a succeeded update`);
    }
    const recorded = target.environment?.["git.head"];
    const head = gitHead();
    if (recorded && head && recorded !== head) {
        console.warn(`note: update ${n} ran program revision ${recorded}; this checkout is ${head}.\n      The config is rolled back; check out ${recorded} first to roll back the program as well.`);
    }
    // Update N's config replaces the current one: keys it did not have are removed.
    const current = JSON.parse(pulumi(["config", "--json", "--stack", stack], "capture")) as Record<string, ConfigValue>;
    for (const key of Object.keys(current)) if (!(key in target.config)) pulumi(["config", "rm", "--stack", stack, key], "capture");
    pulumi(["config", "set-all", "--stack", stack, "--json", JSON.stringify(target.config)], "capture");
    console.log(`config of stack ${stack} restored to update ${n} (${target.startTime}); preview:`);
    pulumi(["preview", "--diff", "--stack", stack]);
    if (!process.argv.includes("--yes")) {
        if (!process.stdin.isTTY) throw new Error("not applied: pass --yes to apply without a prompt (the stack's config is already restored; `git diff` shows it)");
        const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`apply the rollback of ${stack} to update ${n}? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
            console.log("not applied");
            return;
        }
    }
    pulumi(["up", "--yes", "--skip-preview", "--stack", stack, "--message", `conntune rollback to update ${n}`]);
}

main().catch((e) => {
    console.error(`rollback: ${(e as Error).message}`);
    process.exit(1);
});
