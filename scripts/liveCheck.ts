/**
 * The live check of a stack's hosts: the probe on every host (in parallel), parsed, compared with
 * the declared connection budget. Used by `npm run drift` (Redis only) and `npm run health`.
 */
import { parseStackConfig, StackConfig } from "../components/config";
import { configuredHosts } from "../components/load";
import { REPO } from "./engine";
import { DeclaredBudget, liveFindings, parseProbe, Probe, probeError } from "./live";
import { declaredBudgets } from "./liveBudget";
import { loginOf, probeScript, redisPasswordOf, runProbe } from "./liveProbe";

/** What the live check found on one host. */
export interface HostLive {
    host: string;
    probe?: Probe;
    findings: string[];
    /** Why the check of this host is incomplete (login, host key, Redis refused the probe). */
    error?: string;
    budget?: DeclaredBudget;
}

/** The stack's config (as readConfig gives it) validated: the hosts (also from `conntune:hostsFile` in the project `dir`) and the ConfigMap. */
export function stackConfigOf(config: Record<string, unknown>, dir: string = REPO): StackConfig {
    const redis = config["conntune:redis"];
    return parseStackConfig({ hosts: configuredHosts(config, dir), redis: typeof redis === "string" ? (JSON.parse(redis) as unknown) : redis });
}

/**
 * Probe the hosts of `stack` (drift: those with Redis on the host; health: all of them) and compare.
 * `config` is the stack's config with secrets shown (scripts/engine.ts readConfig).
 */
export async function liveCheck(stack: StackConfig, config: Record<string, unknown>, mode: "drift" | "health"): Promise<HostLive[]> {
    const budgets = declaredBudgets(stack);
    const hosts = stack.hosts.filter((h) => mode === "health" || h.redis?.enabled || h.redis?.runsOn !== undefined);
    return Promise.all(
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
}

/** The line for a ConfigMap target (k8s stack): it has no host to log in to. */
export function configMapNotChecked(stack: StackConfig): string | undefined {
    if (!stack.redis) return undefined;
    return `redis ConfigMap ${stack.redis.namespace}/${stack.redis.name}: not checked live (a ConfigMap has no host conntune logs in to; check its pods with redis-cli INFO clients)`;
}
