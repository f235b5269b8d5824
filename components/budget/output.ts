/**
 * The program's side of the budget: the stack output `budget` (known at preview, so the preview
 * shows it) and its warnings as Pulumi warnings, each once. The errors never get here: they fail
 * parseStackConfig first.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import { Budget, stackBudgets } from "./budget";

/** Every Redis target's budget, keyed by target (undefined: the stack has no Redis target); logs each warning once. */
export function budgetOutput(config: Pick<StackConfig, "hosts" | "redis">): Record<string, Budget> | undefined {
    const budgets = stackBudgets(config);
    const shown = new Set<string>();
    for (const b of Object.values(budgets)) {
        for (const w of b.warnings) {
            if (shown.has(w)) continue;
            shown.add(w);
            void pulumi.log.warn(`connection budget: ${w}`);
        }
    }
    return Object.keys(budgets).length ? budgets : undefined;
}
