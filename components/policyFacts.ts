/**
 * The settings the policy pack (policy/) checks, as plain data from the validated stack config: the
 * program exports them as the stack output `policyFacts`, known at preview, because the Node SDK
 * hands a component's inputs to policies as empty. Pure, and free of secrets by construction: it
 * copies only tuning values, never a connection, a key or a password.
 */
import type { HostConfig, StackConfig } from "./config";
import { k8sBytes, maxmemoryBytes, RedisSettings } from "./redis/settings";

/** The Redis memory settings of one target (a host's Redis or the ConfigMap). */
export interface RedisPolicyFacts {
    /** `memoryLimit` as written in the config (e.g. `32Gi`), if set. */
    memoryLimit?: string;
    /** `memoryLimit` in bytes. */
    memoryLimitBytes?: number;
    /** The effective `maxmemory` in bytes (a percentage resolved against the limit). */
    maxmemoryBytes?: number;
    maxmemoryPolicy?: string;
}

/** What the policies read of one host. */
export interface HostPolicyFacts {
    sshd: { enabled: boolean; clientAliveInterval: number; clientAliveCountMax: number; extra: Record<string, string> };
    limits: { enabled: boolean; soft: number; hard: number; systemdDefault?: number | null };
    /** `LimitNOFILE` per overridden unit (`unit/fileName`), where an override sets it. */
    unitNofile: Record<string, string | number | boolean>;
    redis?: RedisPolicyFacts;
}

/** The stack output `policyFacts`. */
export interface PolicyFacts {
    /** Bumped when the shape changes, so an older pack can say it cannot read it. */
    version: 1;
    hosts: Record<string, HostPolicyFacts>;
    /** The Redis ConfigMap (k8s stack), by ConfigMap name. */
    configMaps: Record<string, RedisPolicyFacts>;
}

function redisFacts(s: RedisSettings): RedisPolicyFacts {
    return {
        memoryLimit: s.memoryLimit,
        memoryLimitBytes: s.memoryLimit === undefined ? undefined : k8sBytes(s.memoryLimit),
        maxmemoryBytes: maxmemoryBytes(s),
        maxmemoryPolicy: s.maxmemoryPolicy,
    };
}

function hostFacts(h: HostConfig): HostPolicyFacts {
    const unitNofile: Record<string, string | number | boolean> = {};
    for (const o of h.systemdOverrides) {
        const v = o.settings.Service?.LimitNOFILE;
        if (v !== undefined) unitNofile[`${o.unit}/${o.fileName}`] = v;
    }
    return {
        sshd: { enabled: h.sshd.enabled, clientAliveInterval: h.sshd.clientAliveInterval, clientAliveCountMax: h.sshd.clientAliveCountMax, extra: { ...h.sshd.extra } },
        limits: { enabled: h.limits.enabled, soft: h.limits.soft, hard: h.limits.hard, systemdDefault: h.limits.systemdDefault },
        unitNofile,
        redis: h.redis?.enabled ? redisFacts(h.redis.settings) : undefined,
    };
}

/** The policy facts of a validated stack config. */
export function policyFacts(config: StackConfig): PolicyFacts {
    return {
        version: 1,
        hosts: Object.fromEntries(config.hosts.map((h) => [h.name, hostFacts(h)])),
        configMaps: config.redis ? { [config.redis.name]: redisFacts(config.redis.settings) } : {},
    };
}
