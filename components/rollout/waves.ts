/**
 * The wave plan and the failure budget, pure: which hosts go in which wave (config order, the canary
 * first), how many failed hosts stop the rollout, and which host a resource (URN) belongs to. The
 * program (index.ts) and the wave runner (scripts/up.ts) both plan with `planWaves`, so they never
 * disagree about the waves.
 */
import { failureBudget, RolloutSettings, waveSizeFor } from "./schema";

/** The waves of a stack and its failure budget (what the stack output `rollout` shows). */
export interface WavePlan {
    /** Host names per wave, in order; the first wave is the canary when `canary` > 0. */
    waves: string[][];
    /** Failed hosts tolerated; one more stops the rollout before the next wave. */
    maxFailures: number;
    /** Whether `conntune:rollout` is set (without it: one wave, every host at once, as a plain `pulumi up`). */
    configured: boolean;
}

/** Plan the waves of `hosts` (config order) with the `conntune:rollout` settings, or one wave without them. */
export function planWaves(hosts: string[], r: RolloutSettings | undefined): WavePlan {
    if (!r) return { waves: hosts.length ? [[...hosts]] : [], maxFailures: 0, configured: false };
    const n = hosts.length;
    const canary = Math.min(r.canary, n);
    const size = waveSizeFor(r, n);
    const waves: string[][] = canary > 0 ? [hosts.slice(0, canary)] : [];
    for (let i = canary; i < n; i += size) waves.push(hosts.slice(i, i + size));
    return { waves, maxFailures: failureBudget(r, n), configured: true };
}

/** True once the failed hosts are more than the budget: no later wave may start. */
export function budgetSpent(failed: number, maxFailures: number): boolean {
    return failed > maxFailures;
}

/**
 * The environment variable through which the wave runner tells the program which hosts failed in an
 * earlier wave of this run: later waves do not wait for them (a failed host's never-created resources
 * would otherwise make every targeted later wave an "untargeted create" error). Comma-separated names.
 */
export const HELD_ENV = "CONNTUNE_ROLLOUT_FAILED";

/** The host names in `HELD_ENV`'s value. */
export function heldHosts(value: string | undefined): Set<string> {
    return new Set((value ?? "").split(",").map((s) => s.trim()).filter(Boolean));
}

/** The Pulumi type token of the per-host component. */
export const HOST_TYPE = "conntune:host:TunedHost";

/** The resource's own type and name from its URN (`urn:pulumi:STACK::PROJECT::T1$T2::NAME`). */
export function urnParts(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    const types = (parts[2] ?? "").split("$");
    return { type: types[types.length - 1], name: parts.slice(3).join("::") };
}

/**
 * The host a resource belongs to: the name of the TunedHost above it (itself included), walking
 * `parents` (URN → parent URN); undefined for what belongs to no host (the stack, providers, the Redis
 * ConfigMap).
 */
export function hostOf(urn: string, parents: ReadonlyMap<string, string | undefined>): string | undefined {
    const seen = new Set<string>();
    for (let u: string | undefined = urn; u && !seen.has(u); u = parents.get(u)) {
        seen.add(u);
        const { type, name } = urnParts(u);
        if (type === HOST_TYPE) return name;
    }
    return undefined;
}

/** A list of host names in words: "r1", "r1 and r2", "r1, r2 and r3". */
export function names(hosts: string[]): string {
    return hosts.length <= 1 ? (hosts[0] ?? "") : `${hosts.slice(0, -1).join(", ")} and ${hosts[hosts.length - 1]}`;
}

/** Waves from index `from` on, as "wave 3 (r5), wave 4 (r6 and r7)". */
export function wavesText(waves: string[][], from: number): string {
    return waves.slice(from).map((w, i) => `wave ${from + i + 1} (${names(w)})`).join(", ");
}
