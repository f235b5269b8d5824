/**
 * Typed Redis server settings (the directives seeds 002 and 003 use), schema first, with the
 * cross-field rules: maxmemory within the memory limit, io-threads within the CPU limit, defrag
 * thresholds in order. An eviction policy that does not fit the data's TTL use is a warning.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";

const UNIT: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
const K8S_UNIT: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** Redis memory notation ("8gb", "512mb", "100mb", a byte count) → bytes. */
export function redisBytes(v: string | number): number {
    if (typeof v === "number") return v;
    const m = /^(\d+)\s*(b|k|kb|m|mb|g|gb)?$/i.exec(v.trim());
    if (!m) throw new Error(`not a Redis memory size: ${v}`);
    return Number(m[1]) * UNIT[(m[2] ?? "b").toLowerCase()];
}

/** Kubernetes quantity ("32Gi", "512Mi", "4G") → bytes. */
export function k8sBytes(q: string): number {
    const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
    if (!m) throw new Error(`not a Kubernetes memory quantity: ${q}`);
    return Math.floor(Number(m[1]) * K8S_UNIT[m[2] ?? ""]);
}

const redisSize = z.union([
    z.number().int("must be a whole number of bytes").min(0, "must be at least 0"),
    z.string().regex(/^\d+\s*(b|k|kb|m|mb|g|gb)?$/i, "must be bytes or a Redis size like 512mb or 8gb"),
]);
const k8sQuantity = z.string().regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/, "must be a Kubernetes quantity like 32Gi");
const int = (min: number, max: number) =>
    z.number({ error: `must be an integer from ${min} to ${max}` }).int(`must be an integer from ${min} to ${max}`).min(min, `must be from ${min} to ${max}`).max(max, `must be from ${min} to ${max}`);

export const EVICTION_POLICIES = ["noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] as const;

/** The Redis settings both targets share (a host's redis.conf, the ConfigMap): all optional, only set ones are written. */
export const redisSettings = {
    memoryLimit: setting(k8sQuantity.optional(), { allowed: "Kubernetes quantity, e.g. `32Gi`", reason: "the container's memory limit; needed for maxmemory as a percentage" }),
    cpuLimit: setting(z.number().positive("must be a positive number of cores").max(1024).optional(), { allowed: "cores", reason: "the container's CPU limit: ioThreads must not exceed it" }),
    maxmemory: setting(z.union([redisSize, z.object({ percentOfLimit: z.number().gt(0, "must be above 0").max(100, "must be at most 100") }).strict()]).optional(), { allowed: "bytes, a Redis size like `8gb`, or `{ percentOfLimit: 88 }`", reason: "seed 003: 88 % of 32Gi" }),
    maxmemoryPolicy: setting(z.enum(EVICTION_POLICIES, { error: `must be one of ${EVICTION_POLICIES.join(", ")}` }).optional(), { allowed: "noeviction, allkeys-lru/lfu/random, volatile-lru/lfu/random/ttl", reason: "eviction when maxmemory is reached (seeds 002, 003: allkeys-lru)" }),
    maxmemorySamples: setting(int(1, 64).optional(), { allowed: "1–64", reason: "keys sampled per eviction (seed 002: 10)" }),
    dataTtlUse: setting(z.enum(["all", "some", "none"], { error: "must be 'all', 'some' or 'none'" }).optional(), { allowed: "`all`, `some`, `none`", reason: "how the data uses TTLs: only for the eviction-policy check, not written" }),
    activedefrag: setting(z.boolean().optional(), { allowed: "boolean", reason: "active defragmentation (seed 003); needs a Redis built with its own jemalloc" }),
    activeDefragIgnoreBytes: setting(redisSize.optional(), { allowed: "bytes or a Redis size", reason: "seed 003: 100mb" }),
    activeDefragThresholdLower: setting(int(0, 1000).optional(), { allowed: "0–1000, below the upper", reason: "seed 003: 10" }),
    activeDefragThresholdUpper: setting(int(0, 1000).optional(), { allowed: "0–1000", reason: "seed 003: 25" }),
    ioThreads: setting(int(1, 128).optional(), { allowed: "1–128, at most `cpuLimit`", reason: "I/O threads (seed 003: 3 of 4 cores; seed 002: 10)" }),
    ioThreadsDoReads: setting(z.boolean().optional(), { allowed: "boolean", reason: "threads for reads too (seed 003)" }),
    appendonly: setting(z.boolean().optional(), { allowed: "boolean", reason: "AOF persistence (seed 003)" }),
    appendfsync: setting(z.enum(["always", "everysec", "no"], { error: "must be 'always', 'everysec' or 'no'" }).optional(), { allowed: "`always`, `everysec`, `no`", reason: "AOF fsync policy (seed 003: everysec)" }),
    noAppendfsyncOnRewrite: setting(z.boolean().optional(), { allowed: "boolean", reason: "seed 003" }),
    autoAofRewritePercentage: setting(int(0, 10000).optional(), { allowed: "0–10000", reason: "seed 003: 100" }),
    autoAofRewriteMinSize: setting(redisSize.optional(), { allowed: "bytes or a Redis size", reason: "seed 003: 512mb" }),
    aofRewriteIncrementalFsync: setting(z.boolean().optional(), { allowed: "boolean", reason: "seed 003" }),
    aofUseRdbPreamble: setting(z.boolean().optional(), { allowed: "boolean", reason: "seed 003" }),
    save: setting(z.array(z.tuple([int(1, 86400 * 365), int(0, 2 ** 31 - 1)])).optional(), { allowed: "`[[seconds, changes], …]`; `[]` disables", reason: "RDB snapshots (seed 002: 3600 1, 7200 10000)" }),
    lazyfreeLazyEviction: setting(z.boolean().optional(), { allowed: "boolean", reason: "non-blocking frees (seed 003)" }),
    lazyfreeLazyExpire: setting(z.boolean().optional(), { allowed: "boolean", reason: "non-blocking frees (seed 003)" }),
    lazyfreeLazyServerDel: setting(z.boolean().optional(), { allowed: "boolean", reason: "non-blocking frees (seed 003)" }),
    lazyfreeLazyUserDel: setting(z.boolean().optional(), { allowed: "boolean", reason: "non-blocking frees (seed 003)" }),
    hz: setting(int(1, 500).optional(), { allowed: "1–500", reason: "background task frequency (seed 003: 100)" }),
    tcpBacklog: setting(int(1, 65535).optional(), { allowed: "1–65535", reason: "listen backlog (seed 003: 511; bounded by net.core.somaxconn)" }),
    tcpKeepalive: setting(int(0, 7200).optional(), { allowed: "0–7200", reason: "seconds between TCP keepalives to clients (seed 003: 300, seed 002: 60)" }),
    timeout: setting(int(0, 31536000).optional(), { allowed: "0–31536000", reason: "close idle clients after N seconds; 0 never (seed 003: 600)" }),
    maxclients: setting(int(1, 1000000).optional(), { allowed: "1–1000000", reason: "connection cap (seed 002: 10000)" }),
    slowlogLogSlowerThan: setting(int(-1, 2 ** 31 - 1).optional(), { allowed: "-1 or more (µs)", reason: "slow log threshold (seed 002: 10000 µs)" }),
    slowlogMaxLen: setting(int(0, 2 ** 31 - 1).optional(), { allowed: "0 or more", reason: "slow log entries kept (seed 002: 128)" }),
    bind: setting(z.array(z.string().regex(/^(\*|-?[0-9a-fA-F.:]+)$/, "must be an IP address")).min(1).optional(), { allowed: "IP addresses", reason: "where Redis listens" }),
    port: setting(int(0, 65535).optional(), { allowed: "0–65535", reason: "its TCP port (on a host: the instance conntune talks to)" }),
};

export const redisSettingsSchema = z
    .object(shape(redisSettings))
    .strict()
    .superRefine((s, ctx) => {
        const safe = <T>(f: () => T): T | undefined => {
            try {
                return f();
            } catch {
                return undefined; // the field's own check already reported it
            }
        };
        const limit = s.memoryLimit ? safe(() => k8sBytes(s.memoryLimit!)) : undefined;
        if (s.maxmemory !== undefined) {
            if (typeof s.maxmemory === "object") {
                if (s.memoryLimit === undefined) ctx.addIssue({ code: "custom", path: ["maxmemory"], message: "percentOfLimit needs memoryLimit" });
            } else if (limit !== undefined && (safe(() => redisBytes(s.maxmemory as string | number)) ?? 0) > limit) {
                ctx.addIssue({ code: "custom", path: ["maxmemory"], message: `must not exceed memoryLimit ${s.memoryLimit} (${limit} bytes)` });
            }
        }
        if (s.ioThreads !== undefined && s.cpuLimit !== undefined && s.ioThreads > Math.max(1, Math.floor(s.cpuLimit))) {
            ctx.addIssue({ code: "custom", path: ["ioThreads"], message: `must not exceed the CPU limit (${s.cpuLimit} cores)` });
        }
        if (s.activeDefragThresholdLower !== undefined && s.activeDefragThresholdUpper !== undefined && s.activeDefragThresholdLower >= s.activeDefragThresholdUpper) {
            ctx.addIssue({ code: "custom", path: ["activeDefragThresholdLower"], message: "must be below activeDefragThresholdUpper" });
        }
    });

export type RedisSettings = z.infer<typeof redisSettingsSchema>;

/** The effective maxmemory in bytes (percentages resolved against the memory limit). */
export function maxmemoryBytes(s: RedisSettings): number | undefined {
    if (s.maxmemory === undefined) return undefined;
    if (typeof s.maxmemory === "object") return Math.floor((k8sBytes(s.memoryLimit!) * s.maxmemory.percentOfLimit) / 100);
    return redisBytes(s.maxmemory);
}

/** Advice that is not an error: settings that work but probably not as intended. */
export function redisWarnings(s: RedisSettings): string[] {
    const w: string[] = [];
    const p = s.maxmemoryPolicy;
    if (p?.startsWith("volatile-") && s.dataTtlUse === "none") {
        w.push(`maxmemoryPolicy ${p} evicts only keys with a TTL, and dataTtlUse is none: Redis will behave like noeviction and refuse writes when full`);
    }
    if (p === "noeviction" && s.maxmemory !== undefined) w.push("maxmemoryPolicy noeviction with maxmemory: writes fail once memory is full");
    if (p?.startsWith("allkeys-") && s.dataTtlUse === "all") w.push(`every key has a TTL: a volatile-* policy would spare nothing and ${p} is fine, but volatile-ttl evicts the soonest-expiring first`);
    if (s.maxmemory === undefined && s.memoryLimit !== undefined) w.push("no maxmemory under a memory limit: the container is OOM-killed instead of Redis evicting");
    return w;
}
