/**
 * `conntune:rollout`: apply the hosts in waves, a canary first, and stop once more hosts failed than
 * the failure budget allows. Pure zod; the cross-field rules (which need the number of hosts) are
 * `rolloutProblems`, called by the stack schema.
 */
import { z } from "zod";

const PERCENT = /^(100|[1-9][0-9]?)%$/;
const PERCENT_OR_ZERO = /^(100|[1-9]?[0-9])%$/;

const waveSizeAllowed = 'a whole number of at least 1 or a percentage of the hosts from 1% to 100% (e.g. "25%")';
const maxFailuresAllowed = 'a whole number of at least 0 or a percentage of the hosts from 0% to 99% (e.g. "10%")';

export const rolloutSchema = z
    .object({
        /** Hosts in the first wave (the canary), taken first in config order; 0: no separate canary wave. */
        canary: z.number({ error: "must be a whole number of at least 0" }).int("must be a whole number of at least 0").min(0, "must be a whole number of at least 0").default(1),
        /** Hosts per wave after the canary: a count, or a percentage of all hosts (rounded up, at least 1). Default: all the rest in one wave. */
        waveSize: z
            .union([z.number({ error: `must be ${waveSizeAllowed}` }).int(`must be ${waveSizeAllowed}`).min(1, `must be ${waveSizeAllowed}`), z.string({ error: `must be ${waveSizeAllowed}` }).regex(PERCENT, `must be ${waveSizeAllowed}`)], { error: `must be ${waveSizeAllowed}` })
            .default("100%"),
        /** Failed hosts the rollout tolerates: a count, or a percentage of all hosts (rounded down). One more stops it before the next wave. */
        maxFailures: z
            .union([z.number({ error: `must be ${maxFailuresAllowed}` }).int(`must be ${maxFailuresAllowed}`).min(0, `must be ${maxFailuresAllowed}`), z.string({ error: `must be ${maxFailuresAllowed}` }).regex(PERCENT_OR_ZERO, `must be ${maxFailuresAllowed}`)], { error: `must be ${maxFailuresAllowed}` })
            .default(0),
    })
    .strict();

export type RolloutSettings = z.infer<typeof rolloutSchema>;

/** `pct` percent of `n`, as a whole number: rounded up (a wave) or down (a budget). */
function percentOf(value: string, n: number, round: (x: number) => number): number {
    return round((Number(value.slice(0, -1)) * n) / 100);
}

/** The wave size after the canary for `n` hosts (at least 1). */
export function waveSizeFor(r: RolloutSettings, n: number): number {
    return typeof r.waveSize === "number" ? r.waveSize : Math.max(1, percentOf(r.waveSize, n, Math.ceil));
}

/** The failure budget for `n` hosts as a count: the rollout stops once more hosts than this failed. */
export function failureBudget(r: RolloutSettings, n: number): number {
    return typeof r.maxFailures === "number" ? r.maxFailures : percentOf(r.maxFailures, n, Math.floor);
}

/**
 * What the schema alone cannot check: the canary and the budget against the number of hosts. Each
 * problem as [field, message]. A stack without hosts has nothing to roll out and no problem.
 */
export function rolloutProblems(r: RolloutSettings, hosts: number): Array<[keyof RolloutSettings, string]> {
    if (hosts === 0) return [];
    const problems: Array<[keyof RolloutSettings, string]> = [];
    if (r.canary > hosts) problems.push(["canary", `${r.canary} is more than the ${hosts} host(s) of the stack: allowed are 0 to ${hosts}`]);
    const budget = failureBudget(r, hosts);
    if (budget >= hosts) {
        const shown = typeof r.maxFailures === "number" ? String(r.maxFailures) : `${r.maxFailures} (${budget} of ${hosts} hosts)`;
        problems.push([
            "maxFailures",
            `${shown} is not less than the ${hosts} host(s) of the stack: the rollout could never stop; allowed are 0 to ${hosts - 1}, or a percentage whose share of the hosts stays below ${hosts}`,
        ]);
    }
    return problems;
}
