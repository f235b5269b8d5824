/**
 * What a rollback with --program checks before it applies anything: whether the older revision's
 * command provider can run the deletes its program would ask for. A command recorded by this checkout
 * has as its `delete` the delete operation of its create script (DELETE_BY_OPERATION), which only a
 * provider from 2026-12 on runs; an older one fails on it, after the update has already created that
 * revision's own commands for the same files. The state then holds both, and a later plain `up` would
 * delete the older ones as the files' owners: the hosts' originals back while the state says applied.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { DELETE_BY_OPERATION } from "../components/core/managedFileScript";

/** The names of the commands an update (its preview's events) would delete whose delete is the create script's delete operation. */
export function deletesByOperation(events: EngineEvent[]): string[] {
    const names: string[] = [];
    for (const e of events) {
        const m = e.resourcePreEvent?.metadata;
        if (!m || (m.op !== "delete" && m.op !== "delete-replaced") || m.type !== "command:remote:Command") continue;
        if (m.old?.inputs?.delete === DELETE_BY_OPERATION) names.push(m.urn.split("::").pop() ?? m.urn);
    }
    return [...new Set(names)];
}

/** Whether the program revision checked out in `dir` has a command provider that runs a delete by operation. */
export function runsDeleteByOperation(dir: string): boolean {
    const src = path.join(dir, "tools", "command-provider", "read.go");
    return fs.existsSync(src) && fs.readFileSync(src, "utf8").includes(`const deleteByOperation = \`${DELETE_BY_OPERATION}\``);
}

/** The refusal, naming the revision and the commands. */
export function cannotDelete(rev: string, names: string[]): string {
    const shown = names.slice(0, 5).join(", ") + (names.length > 5 ? ` and ${names.length - 5} more` : "");
    return `not applied: revision ${rev.slice(0, 10)}'s command provider cannot run the delete of ${names.length} command(s) this checkout recorded (${shown}): their delete is an operation of the create script, which only conntune's provider from 2026-12 runs. The update would stop half-way with both revisions' commands in the state. Roll back the config alone (without --program); the stack is unchanged`;
}
