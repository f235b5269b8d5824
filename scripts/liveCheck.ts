/**
 * The live check of a stack's hosts: the probe on every host (in parallel), parsed, compared with
 * the declared connection budget. Used by `npm run drift` (Redis only) and `npm run health`.
 */
import { StackConfig } from "../components/config";
import { stackConfigOf } from "../components/load";
import { DeclaredBudget, liveFindings, parseProbe, Probe, probeError } from "./live";
import { declaredBudget, declaredBudgets } from "./liveBudget";
import { readRedis } from "./liveRedis";
import { stackBudgets } from "../components/budget/budget";
import { loginOf, probeScript, redisPasswordOf, runProbe } from "./liveProbe";

/** What the live check found on one host. */
export interface HostLive {
    host: string;
    probe?: Probe;
    findings: string[];
    /** Why the check of this host is incomplete (login, host key, Redis refused the probe). */
    error?: string;
    budget?: DeclaredBudget;
    /** How the report names it when it is not a host (`redis ConfigMap NS/NAME at ADDRESS`). */
    label?: string;
}


/**
 * Probe the hosts of `stack` (drift: those with Redis on the host; health: all of them) and compare.
 * `config` is the stack's config with secrets shown (scripts/engine.ts readConfig).
 */
export async function liveCheck(stack: StackConfig, config: Record<string, unknown>, mode: "drift" | "health"): Promise<HostLive[]> {
    const budgets = declaredBudgets(stack);
    const hosts = stack.hosts.filter((h) => mode === "health" || h.redis?.enabled || h.redis?.runsOn !== undefined);
    const configMap = stack.redis?.liveCheck ? [configMapLive(stack, config)] : [];
    const checked = Promise.all(
        hosts.map(async (h): Promise<HostLive> => {
            const budget = budgets.get(h.name);
            try {
                const out = await runProbe(h.name, loginOf(h, config), probeScript(h, mode), redisPasswordOf(h, config));
                const probe = parseProbe(out);
                const target = h.redis?.enabled || !h.redis?.runsOn ? `redis on host ${h.name}` : `redis on ${h.redis.runsOn} (used from host ${h.name})`;
                return { host: h.name, probe, findings: liveFindings(target, probe, budget), error: probeError(target, probe), budget };
            } catch (e) {
                return { host: h.name, findings: [], error: e instanceof Error ? e.message : String(e), budget };
            }
        }),
    );
    return [...(await checked), ...(await Promise.all(configMap))];
}

/**
 * The ConfigMap's Redis read at `conntune:redis.liveCheck.address` from this machine (its clients
 * compared with `conntune:redis.clients`, as a host's Redis is): a failure makes the check incomplete.
 */
export async function configMapLive(stack: StackConfig, config: Record<string, unknown>, timeoutMs = 10_000): Promise<HostLive> {
    const r = stack.redis!;
    const lc = r.liveCheck!;
    const target = `redis ConfigMap ${r.namespace}/${r.name} at ${lc.address}`;
    const b = Object.values(stackBudgets(stack)).find((x) => x.kind === "configmap");
    const budget = b && b.clients.length > 0 ? declaredBudget(b) : undefined;
    const base = { host: r.name, label: target, budget };
    try {
        let password = "";
        if (lc.passwordSecret) {
            const v = config[`conntune:${lc.passwordSecret}`];
            if (typeof v !== "string") return { ...base, findings: [], error: `${target}: conntune:${lc.passwordSecret} (redis.liveCheck.passwordSecret) is not set: cannot read Redis for the live check` };
            password = v;
        }
        const probe = parseProbe(await readRedis(lc.address, password, timeoutMs));
        return { ...base, probe, findings: liveFindings(target, probe, budget), error: probeError(target, probe) };
    } catch (e) {
        return { ...base, findings: [], error: `${target}: cannot read Redis: ${e instanceof Error ? e.message : String(e)} (is the address reachable from this machine, e.g. a running kubectl port-forward?)` };
    }
}

/** The line for a ConfigMap target (k8s stack) that is not read live: no `liveCheck` address. */
export function configMapNotChecked(stack: StackConfig): string | undefined {
    if (!stack.redis || stack.redis.liveCheck) return undefined;
    return `redis ConfigMap ${stack.redis.namespace}/${stack.redis.name}: not checked live (a ConfigMap has no host conntune logs in to): set conntune:redis.liveCheck.address to HOST:PORT this machine reaches (e.g. a kubectl port-forward to the service) to compare its clients with the budget`;
}
