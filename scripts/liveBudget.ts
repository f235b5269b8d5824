/**
 * The declared connection budget per host, as the live check compares with it: from the budget's
 * pure API (components/budget), keyed by host name. A target that declares no clients has none (the
 * live check then reports only refused connections and clients near maxclients).
 */
import { Budget, stackBudgets } from "../components/budget/budget";
import type { StackConfig } from "../components/config";
import type { DeclaredBudget } from "./live";

/** One budget as the live check reads it: each client's maximum with its arithmetic, the reserve. */
export function declaredBudget(b: Budget): DeclaredBudget {
    return {
        clients: b.clients.map((c) => ({
            name: c.name,
            maxConnections: c.maxConnections,
            arithmetic: c.surge ? `${c.perProcess} × (${c.replicas} + ${c.surge} surge)` : `${c.perProcess} × ${c.replicas}`,
        })),
        reserve: b.reserve,
        maxclients: b.maxclients,
    };
}

/** Per host name: the budget of its Redis target (on the host, or `runsOn` elsewhere), where clients are declared. */
export function declaredBudgets(stack: StackConfig): Map<string, DeclaredBudget> {
    const out = new Map<string, DeclaredBudget>();
    for (const b of Object.values(stackBudgets(stack))) {
        if (b.kind === "host" && b.clients.length > 0) out.set(b.target, declaredBudget(b));
    }
    return out;
}
