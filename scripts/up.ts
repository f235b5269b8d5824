/**
 * The wave runner: `pulumi up` for a stack, one wave of hosts at a time (conntune:rollout), with a
 * failure budget. It previews the whole stack once (the operator confirms that preview, or passes
 * --yes), then for each wave runs an update targeted at that wave's resources with continue-on-error:
 * a failed host does not stop the other hosts of its wave, and Pulumi skips the failed host's own later
 * resources (they depend on the failed one). A host counts as failed when any of its resources failed.
 * Once more hosts failed than `maxFailures`, no later wave starts. Waves without pending changes are
 * skipped, so a re-run continues where the last one stopped (converged hosts are no-ops, failed hosts
 * are tried again). Once every host succeeded, one untargeted update applies what belongs to no host
 * (the Redis ConfigMap, hosts removed from the config: a removal goes alone, without other host changes).
 *
 *   npm run up -- --stack NAME [--yes] [--policy-pack DIR] [--project-dir DIR]
 *
 * Exits 0 only when every host succeeded; 1 when a host failed (the failed hosts and the waves not
 * started are named), 2 for a usage error.
 */
import * as readline from "node:readline/promises";
import { CommandError, Stack } from "@pulumi/pulumi/automation";
import { budgetSpent, ConfigError, HELD_ENV, hostOf, names, planWaves, urnParts, WavePlan, wavesText } from "../components";
import { stackConfigOf } from "../components/load";
import { Observed } from "./upEvents";
import { exitOnError, parseFlags, projectDir, UsageError } from "./cli";
import { engineStep, errorLines, openStack, readConfig, shown } from "./engine";

const USAGE = "npm run up -- --stack NAME [--yes] [--policy-pack DIR] [--project-dir DIR]";

const infra = (urn: string) => {
    const { type } = urnParts(urn);
    return type.startsWith("pulumi:providers:") || type === "pulumi:pulumi:Stack";
};

/** The stack's wave plan, from its config and the same planner as the program's. */
async function wavePlan(stack: Stack): Promise<WavePlan> {
    const raw = await engineStep("config", () => readConfig(stack));
    try {
        const config = stackConfigOf(raw, projectDir());
        return planWaves(config.hosts.map((h) => h.name), config.rollout);
    } catch (e) {
        if (e instanceof ConfigError) throw new Error(e.message);
        throw e;
    }
}

async function confirm(question: string): Promise<boolean> {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(question);
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

/** Engine errors of a failed operation, as `pulumi up` printed them, each with its reason (errorLines). */
function engineErrors(e: unknown): string {
    if (!(e instanceof CommandError)) throw e;
    return errorLines(e.message).join("; ");
}

async function main(): Promise<number> {
    const flags = parseFlags({ stack: "string", yes: "boolean", "policy-pack": "string", "project-dir": "string" });
    if (!flags.stack) throw new UsageError("--stack is required");
    // The policy pack (README "Policy pack") runs on the preview and on every wave's update, as with `pulumi up --policy-pack`.
    const policy = flags["policy-pack"] ? { policyPacks: [flags["policy-pack"]] } : {};
    const stack = await engineStep("stack select", () => openStack(flags.stack!, { workDir: projectDir() }));
    const plan = await wavePlan(stack);
    const total = plan.waves.length;
    const say = (s: string) => console.log(`[up] ${s}`);
    say(
        plan.configured
            ? `${total} wave(s): ${wavesText(plan.waves, 0)}; failure budget: ${plan.maxFailures} host(s)`
            : `conntune:rollout is not set: every host in one wave${total ? ` (${names(plan.waves[0])})` : ""}, failure budget 0`,
    );

    const preview = new Observed();
    await engineStep("preview", () => stack.preview({ diff: true, onEvent: preview.onEvent, ...policy, ...shown }));
    const pendingHosts = (wave: string[]) => wave.filter((h) => preview.of(h).some((u) => preview.changed.has(u)));
    // Hosts removed from the config. A targeted wave cannot restore them: Pulumi refuses a targeted
    // update that leaves a removed resource depending on a target behind, and targeting the removal
    // while a later host still depends on it in the state ended in a snapshot integrity error (e2e).
    // So a removal goes alone, in one untargeted update, when no host has other changes.
    const planned = new Set(plan.waves.flat());
    const removed = [...new Set([...preview.changed].map((u) => hostOf(u, preview.parents)).filter((h): h is string => h !== undefined && !planned.has(h)))];
    const changing = plan.waves.flatMap((w) => pendingHosts(w));
    if (removed.length && changing.length) {
        throw new Error(
            `${names(removed)}: removed from the config while ${names(changing)} also have changes; a rollout cannot restore a removed host between its waves. Apply the removal alone first (keep the other hosts' config as it is applied, run npm run up: one update restores the removed hosts), then the other changes`,
        );
    }
    // What belongs to no host (the Redis ConfigMap): one untargeted update once every host converged.
    const elsewhere = [...preview.changed].filter((u) => hostOf(u, preview.parents) === undefined && !infra(u));
    if (plan.waves.every((w) => pendingHosts(w).length === 0) && elsewhere.length === 0 && removed.length === 0) {
        say("no changes");
        return 0;
    }
    if (!flags.yes) {
        if (!process.stdin.isTTY) throw new Error("not applied: pass --yes to apply without a prompt");
        if (!(await confirm(`apply these changes in ${total} wave(s)? [y/N] `))) {
            say("not applied");
            return 0;
        }
    }

    const failed = new Map<string, string>();
    for (const [k, wave] of plan.waves.entries()) {
        const label = `wave ${k + 1}/${total} (${names(wave)})`;
        const pending = pendingHosts(wave);
        if (pending.length === 0) {
            say(`${label}: no changes`);
            continue;
        }
        say(`${label}: applying ${names(pending)}`);
        const targets = wave.flatMap((h) => preview.of(h));
        const run = new Observed();
        // Later waves do not wait for hosts that failed in this run (see HELD_ENV).
        stack.workspace.envVars[HELD_ENV] = [...failed.keys()].join(",");
        let engineError: string | undefined;
        try {
            await stack.up({ target: targets, continueOnError: true, diff: true, message: `conntune up: ${label}`, onEvent: run.onEvent, ...policy, ...shown });
        } catch (e) {
            engineError = engineErrors(e) || "pulumi up failed";
        }
        const waveFailed = [...run.failedHosts()].filter((h) => wave.includes(h));
        if (engineError && waveFailed.length === 0) {
            // Not a host's failure (the program, the state, the backend): nothing says which hosts changed.
            throw new Error(`${label} failed, and no host failed in it: ${engineError}${k + 1 < total ? `; not started: ${wavesText(plan.waves, k + 1)}` : ""}`);
        }
        for (const h of pending) {
            const before = run.of(h).filter((u) => run.done.has(u)).map((u) => urnParts(u).name);
            const left = before.length ? ` (changed before the failure, and left so: ${before.join(", ")})` : "";
            if (waveFailed.includes(h)) {
                failed.set(h, run.reason(h));
                say(`  ${h}: FAILED: ${run.reason(h) || "see the errors above"}${left}`);
            } else if (!run.completed(h, preview)) {
                // The update stopped (an engine error) before this host's changes ran: not applied, and
                // it counts against the budget like a failed host.
                failed.set(h, "the update stopped before its changes ran");
                say(`  ${h}: NOT APPLIED: the update stopped before its changes ran${left}`);
            } else say(`  ${h}: applied`);
        }
        if (budgetSpent(failed.size, plan.maxFailures) && k + 1 < total) {
            console.error(
                `up: stopped after ${label}: ${failed.size} failed host(s) (${names([...failed.keys()])}) exceed maxFailures ${plan.maxFailures}; not started: ${wavesText(plan.waves, k + 1)}`,
            );
            return 1;
        }
    }
    if (failed.size > 0) {
        const within = budgetSpent(failed.size, plan.maxFailures) ? `more than maxFailures ${plan.maxFailures}` : `within maxFailures ${plan.maxFailures}`;
        console.error(`up: every wave ran, but ${failed.size} host(s) failed (${names([...failed.keys()])}), ${within}: fix them and run npm run up again`);
        return 1;
    }
    if (elsewhere.length || removed.length) {
        say(`every host converged; applying what belongs to no host${removed.length ? ` (removing ${names(removed)})` : " (the Redis ConfigMap)"}`);
        stack.workspace.envVars[HELD_ENV] = "";
        await engineStep("up", () => stack.up({ diff: true, message: "conntune up: the rest", ...policy, ...shown }));
    }
    say(`done: every host converged`);
    return 0;
}

main().then((code) => process.exit(code), exitOnError("up", USAGE, 1));
