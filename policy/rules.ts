/**
 * The production rules of conntune's policy pack as pure functions: facts in (the stack outputs
 * `policyFacts` and `budget`, a command's connection), messages out, each naming the host (or
 * ConfigMap) and the field. policy/index.ts wires them to the engine; unit tests call them directly.
 */
import type { Budget } from "../components/budget/budget";
import type { HostPolicyFacts, PolicyFacts, RedisPolicyFacts } from "../components/policyFacts";
import { sshdRisk } from "../components/sshd/schema";

/** The stack tag that marks a stack as production, and its value. */
export const PRODUCTION_TAG = "conntune:environment";
export const PRODUCTION_VALUE = "production";

/** Longest idle SSH session a production host keeps (seed 000 §1: 300 s × 2). */
export const MAX_IDLE_SECONDS = 600;
/** Least nofile limit on a production host (seed 000 §4). */
export const MIN_NOFILE = 65536;
/** Largest share of the memory limit maxmemory should take: the rest is Redis's own overhead. */
export const MAX_MAXMEMORY_SHARE = 0.9;

/** True when the stack's tags mark it production (`pulumi stack tag set conntune:environment production`). */
export function isProduction(tags: ReadonlyMap<string, string>): boolean {
    return tags.get(PRODUCTION_TAG)?.trim().toLowerCase() === PRODUCTION_VALUE;
}

/** A stack rule: reads the stack outputs, returns one message per violation. */
export type StackRule = (facts: PolicyFacts, budget: unknown) => string[];

const hostsOf = (f: PolicyFacts) => Object.entries(f.hosts ?? {});

/** sshd idle timeout set and at most 10 min: clientAliveInterval × clientAliveCountMax ≤ 600 s. */
export const sshdIdleTimeout: StackRule = (f) =>
    hostsOf(f).flatMap(([name, h]) => {
        const s = h.sshd;
        if (!s.enabled) return [`host ${name}: sshd.enabled = false: conntune does not set the idle timeout (production needs sshd.clientAliveInterval × clientAliveCountMax ≤ ${MAX_IDLE_SECONDS} s)`];
        if (s.clientAliveInterval === 0) return [`host ${name}: sshd.clientAliveInterval = 0: idle sessions are never dropped (set 1–${MAX_IDLE_SECONDS} s)`];
        if (s.clientAliveCountMax === 0) return [`host ${name}: sshd.clientAliveCountMax = 0: sshd never drops an unanswering client (set at least 1)`];
        const idle = s.clientAliveInterval * s.clientAliveCountMax;
        return idle > MAX_IDLE_SECONDS ? [`host ${name}: sshd.clientAliveInterval × clientAliveCountMax = ${s.clientAliveInterval} × ${s.clientAliveCountMax} = ${idle} s > ${MAX_IDLE_SECONDS} s`] : [];
    });

/** No `sshd.extra` directive that weakens authentication (those opted in with allowRiskyKeywords). */
export const sshdNoAuthWeakening: StackRule = (f) =>
    hostsOf(f).flatMap(([name, h]) =>
        h.sshd.enabled
            ? Object.entries(h.sshd.extra ?? {}).flatMap(([k, v]) => {
                  const risk = sshdRisk(k, v);
                  return risk ? [`host ${name}: sshd.extra.${k} = ${v}: ${risk}`] : [];
              })
            : [],
    );

/** The soft part of a systemd LimitNOFILE value (`N`, `S:H` or `infinity`), or undefined if unreadable. */
export function nofileSoft(v: string | number | boolean): number | undefined {
    if (typeof v === "number") return v;
    const soft = String(v).trim().split(":")[0];
    if (soft === "infinity") return Infinity;
    return /^\d+$/.test(soft) ? Number(soft) : undefined;
}

/** nofile at least 65536: the login limits, systemd's default for services and every unit override. */
export const nofileMinimum: StackRule = (f) =>
    hostsOf(f).flatMap(([name, h]: [string, HostPolicyFacts]) => {
        const l = h.limits;
        if (!l.enabled) return [`host ${name}: limits.enabled = false: conntune does not set nofile (production needs at least ${MIN_NOFILE})`];
        const out: string[] = [];
        if (l.soft < MIN_NOFILE) out.push(`host ${name}: limits.soft = ${l.soft} < ${MIN_NOFILE}`);
        if (l.hard < MIN_NOFILE) out.push(`host ${name}: limits.hard = ${l.hard} < ${MIN_NOFILE}`);
        if (typeof l.systemdDefault === "number" && l.systemdDefault < MIN_NOFILE) out.push(`host ${name}: limits.systemdDefault = ${l.systemdDefault} < ${MIN_NOFILE}`);
        for (const [unit, v] of Object.entries(h.unitNofile ?? {})) {
            const soft = nofileSoft(v);
            if (soft === undefined || soft < MIN_NOFILE) out.push(`host ${name}: systemdOverrides ${unit} Service.LimitNOFILE = ${v} < ${MIN_NOFILE}`);
        }
        return out;
    });

/** Advisory: systemd's default for services is managed too (`systemdDefault: null` leaves services at systemd's own soft 1024). */
export const nofileServices: StackRule = (f) =>
    hostsOf(f).flatMap(([name, h]) =>
        h.limits.enabled && h.limits.systemdDefault === null
            ? [`host ${name}: limits.systemdDefault = null: services keep systemd's own DefaultLimitNOFILE (soft 1024) unless a unit override raises theirs`]
            : [],
    );

/** Every Redis target with its label for messages and the config path of its settings. */
function redisTargets(f: PolicyFacts): { who: string; field: string; target: string; r: RedisPolicyFacts }[] {
    return [
        ...hostsOf(f).flatMap(([name, h]) => (h.redis ? [{ who: `host ${name}`, field: "redis.settings", target: name, r: h.redis }] : [])),
        ...Object.entries(f.configMaps ?? {}).map(([name, r]) => ({ who: `ConfigMap ${name}`, field: "conntune:redis.settings", target: name, r })),
    ];
}

/** Redis maxmemory set, under a memory limit, with an eviction policy (not noeviction). */
export const redisMaxmemory: StackRule = (f) =>
    redisTargets(f).flatMap(({ who, field, r }) => {
        const out: string[] = [];
        if (r.maxmemoryBytes === undefined) out.push(`${who}: ${field}.maxmemory is not set: Redis grows until the kernel or the container kills it`);
        else if (r.maxmemoryBytes === 0) out.push(`${who}: ${field}.maxmemory = 0: Redis reads 0 as no limit and grows until the kernel or the container kills it`);
        if (r.memoryLimitBytes === undefined) out.push(`${who}: ${field}.memoryLimit is not set: maxmemory must sit under a stated memory limit`);
        else if (r.maxmemoryBytes !== undefined && r.maxmemoryBytes >= r.memoryLimitBytes)
            out.push(`${who}: ${field}.maxmemory = ${r.maxmemoryBytes} bytes ≥ memoryLimit ${r.memoryLimit} (${r.memoryLimitBytes} bytes)`);
        if (r.maxmemoryPolicy === undefined || r.maxmemoryPolicy === "noeviction")
            out.push(`${who}: ${field}.maxmemoryPolicy = ${r.maxmemoryPolicy ?? "unset (noeviction)"}: writes fail once maxmemory is reached; set an eviction policy such as allkeys-lru`);
        return out;
    });

/** Advisory: maxmemory at most 90 % of the memory limit (buffers, fragmentation and forks need the rest). */
export const redisMemoryHeadroom: StackRule = (f) =>
    redisTargets(f).flatMap(({ who, field, r }) => {
        if (r.maxmemoryBytes === undefined || r.memoryLimitBytes === undefined || r.maxmemoryBytes >= r.memoryLimitBytes) return [];
        const share = r.maxmemoryBytes / r.memoryLimitBytes;
        return share > MAX_MAXMEMORY_SHARE
            ? [`${who}: ${field}.maxmemory = ${r.maxmemoryBytes} bytes = ${(share * 100).toFixed(1)} % of memoryLimit ${r.memoryLimit} > ${MAX_MAXMEMORY_SHARE * 100} %: little room for client buffers, fragmentation and the fork of a save`]
            : [];
    });

/** The budget output's targets, each with its label for messages (`host a`, `host redfin (Redis on bluefin)`, `ConfigMap x`). */
function budgetsOf(budget: unknown): { who: string; b: Budget }[] {
    if (budget === undefined || budget === null || typeof budget !== "object") return [];
    return Object.entries(budget as Record<string, Budget>).map(([target, b]) => ({
        who: b.kind === "configmap" ? `ConfigMap ${target}` : `host ${target}${b.runsOn ? ` (Redis on ${b.runsOn})` : ""}`,
        b,
    }));
}

/**
 * The connection budget holds: the declared clients' most connections fit maxclients minus the
 * reserve, and the budget has no errors. (conntune's program already fails the preview on a budget
 * error; this holds any program that exports the output, and re-checks the sum itself.)
 */
export const connectionBudget: StackRule = (_f, budget) =>
    budgetsOf(budget).flatMap(({ who, b }) => {
        const out = (b.errors ?? []).map((e) => `${who}: ${e}`);
        if (out.length === 0 && b.total > b.available)
            out.push(`${who}: redis clients' most connections ${b.total} > maxclients ${b.maxclients} − clientsReserve ${b.reserve} = ${b.available}`);
        return out;
    });

/** Advisory: the budget's warnings, and every managed Redis without a declared client (the budget then checks nothing). */
export const connectionBudgetWarnings: StackRule = (f, budget) => {
    const budgets = budgetsOf(budget);
    const out = budgets.flatMap(({ who, b }) => (b.warnings ?? []).map((w) => `${who}: ${w}`));
    const byTarget = new Map(budgets.map(({ b }) => [b.target, b]));
    for (const { who, field, target } of redisTargets(f)) {
        if ((byTarget.get(target)?.clients.length ?? 0) === 0) out.push(`${who}: ${field.replace(/settings$/, "clients")} is empty: no client is declared, so the connection budget checks nothing`);
    }
    return out;
};

/** What a command's `connection` input must hold on production: a pinned host key. */
export function hostKeyPinned(command: string, connection: { host?: unknown; port?: unknown; hostKey?: unknown } | undefined): string[] {
    if (connection === undefined) return [];
    if (typeof connection.hostKey === "string" && connection.hostKey.trim() !== "") return [];
    const host = `${String(connection.host)}${connection.port !== undefined ? `:${String(connection.port)}` : ""}`;
    return [`host ${host}: connection.hostKey is not set on command ${command}: any host key would be accepted (pin it: hosts[i].connection.hostKey)`];
}

/** The stack rules of the pack, by policy name. */
export const STACK_RULES = {
    "sshd-idle-timeout": { level: "mandatory", rule: sshdIdleTimeout, description: `sshd drops idle sessions within ${MAX_IDLE_SECONDS} s (clientAliveInterval × clientAliveCountMax, both set)` },
    "sshd-no-auth-weakening": { level: "mandatory", rule: sshdNoAuthWeakening, description: "no sshd directive that weakens authentication (sshd.extra with allowRiskyKeywords)" },
    "nofile-minimum": { level: "mandatory", rule: nofileMinimum, description: `nofile at least ${MIN_NOFILE}: login limits, systemd's default and unit overrides` },
    "nofile-services": { level: "advisory", rule: nofileServices, description: `systemd's default nofile for services is set too (not left at systemd's soft 1024)` },
    "redis-maxmemory": { level: "mandatory", rule: redisMaxmemory, description: "Redis maxmemory set under a memory limit, with an eviction policy" },
    "redis-memory-headroom": { level: "advisory", rule: redisMemoryHeadroom, description: `Redis maxmemory at most ${MAX_MAXMEMORY_SHARE * 100} % of the memory limit` },
    "connection-budget": { level: "mandatory", rule: connectionBudget, description: "the declared Redis clients' most connections fit maxclients minus the reserve (stack output budget)" },
    "connection-budget-warnings": { level: "advisory", rule: connectionBudgetWarnings, description: "the connection budget's warnings; every managed Redis declares its clients" },
} as const satisfies Record<string, { level: "mandatory" | "advisory"; rule: StackRule; description: string }>;
