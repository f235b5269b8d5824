/**
 * sysctl settings (seed 000 §2, seed 004), schema first: the catalog of known keys with their
 * kernel ranges and reasons, the presets, and what is refused without an opt-in. Pure zod.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { confFileName } from "../core/schema";
import { distance } from "../core/schemaText";

/** Typed kernel settings conntune knows, with the ranges the kernel accepts. */
export const SYSCTL_CATALOG = {
    "net.ipv4.tcp_keepalive_time": { min: 1, max: 32767, reason: "first keepalive probe after 10 min idle, not 2 h (seed 000)" },
    "net.ipv4.tcp_keepalive_intvl": { min: 1, max: 32767, reason: "probe every 30 s after that (seed 000)" },
    "net.ipv4.tcp_keepalive_probes": { min: 1, max: 127, reason: "give up after 3 failed probes: dead peers found in 690 s (seed 000)" },
    "net.ipv4.tcp_tw_reuse": { min: 0, max: 2, reason: "reuse TIME_WAIT sockets for new outgoing connections when safe (seed 000, 004)" },
    "net.ipv4.tcp_fin_timeout": { min: 1, max: 3600, reason: "hold FIN-WAIT-2 for 30 s, not 60 (seed 000, 004)" },
    "net.netfilter.nf_conntrack_max": { min: 1, max: 2147483647, reason: "room for more tracked connections with iptables/nftables (seed 000)" },
    "net.core.somaxconn": { min: 1, max: 4194304, reason: "listen backlog for bursts of connects (seed 004)" },
    "net.ipv4.tcp_max_syn_backlog": { min: 1, max: 4194304, reason: "more half-open connections during bursts (seed 004)" },
    "net.ipv4.tcp_syncookies": { min: 0, max: 2, reason: "SYN cookies when the SYN backlog overflows (seed 004)" },
    "net.core.rmem_max": { min: 4096, max: 2147483647, reason: "max receive buffer per socket (seed 004)" },
    "net.core.wmem_max": { min: 4096, max: 2147483647, reason: "max send buffer per socket (seed 004)" },
    "net.ipv4.tcp_orphan_retries": { min: 0, max: 127, reason: "fewer retries for orphaned sockets: fewer FIN-WAIT-1 (seed 004)" },
    "vm.overcommit_memory": { min: 0, max: 2, reason: "Redis background saves need overcommit (seed 004)" },
    "vm.swappiness": { min: 0, max: 200, reason: "keep Redis memory out of swap (seed 004)" },
} as const satisfies Record<string, { min: number; max: number; reason: string }>;

export type SysctlKey = keyof typeof SYSCTL_CATALOG;

/** Seed 000: faster idle detection and TIME_WAIT recycling. */
export const KEEPALIVE_PRESET: Partial<Record<SysctlKey, number>> = {
    "net.ipv4.tcp_keepalive_time": 600,
    "net.ipv4.tcp_keepalive_intvl": 30,
    "net.ipv4.tcp_keepalive_probes": 3,
    "net.ipv4.tcp_tw_reuse": 1,
    "net.ipv4.tcp_fin_timeout": 30,
    "net.netfilter.nf_conntrack_max": 262144,
};

/** Seed 004: a Redis server that takes bursts of thousands of concurrent connections. */
export const HIGH_CONCURRENCY_PRESET: Partial<Record<SysctlKey, number>> = {
    "net.ipv4.tcp_tw_reuse": 1,
    "net.core.rmem_max": 500000,
    "net.core.wmem_max": 500000,
    "net.ipv4.tcp_max_syn_backlog": 10000,
    "net.ipv4.tcp_syncookies": 1,
    "net.core.somaxconn": 10000,
    "net.ipv4.tcp_orphan_retries": 1,
    "net.ipv4.tcp_fin_timeout": 30,
    "vm.overcommit_memory": 1,
    "vm.swappiness": 0,
};

export const SYSCTL_PRESETS = { keepalive: KEEPALIVE_PRESET, highConcurrency: HIGH_CONCURRENCY_PRESET } as const;

/**
 * Common net.* keys outside the catalog: a typo check must not call a real key a typo of a
 * catalog key (net.ipv4.tcp_wmem is one letter from tcp_rmem), and typos of these are caught too.
 */
export const WELL_KNOWN_NET_KEYS = [
    "net.core.netdev_max_backlog", "net.core.optmem_max", "net.core.rmem_default", "net.core.wmem_default", "net.core.busy_poll", "net.core.busy_read",
    "net.core.default_qdisc", "net.ipv4.ip_forward", "net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.ip_nonlocal_bind",
    "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_mem", "net.ipv4.udp_mem", "net.ipv4.udp_rmem_min", "net.ipv4.udp_wmem_min",
    "net.ipv4.tcp_congestion_control", "net.ipv4.tcp_fastopen", "net.ipv4.tcp_mtu_probing", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack",
    "net.ipv4.tcp_window_scaling", "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_orphans", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_retries1", "net.ipv4.tcp_retries2", "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_no_metrics_save", "net.ipv4.tcp_notsent_lowat",
    "net.ipv4.tcp_rfc1337", "net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_autocorking", "net.ipv4.tcp_ecn", "net.ipv4.tcp_adv_win_scale",
    "net.ipv4.tcp_moderate_rcvbuf", "net.ipv4.tcp_user_timeout", "net.ipv4.ping_group_range", "net.ipv4.icmp_echo_ignore_all",
    "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter", "net.ipv4.conf.all.forwarding", "net.ipv4.conf.all.accept_redirects",
    "net.ipv4.conf.all.send_redirects", "net.ipv4.conf.all.accept_source_route", "net.ipv4.conf.all.log_martians",
    "net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6", "net.ipv6.conf.all.forwarding", "net.ipv6.bindv6only",
    "net.netfilter.nf_conntrack_buckets", "net.netfilter.nf_conntrack_tcp_timeout_established", "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait", "net.netfilter.nf_conntrack_tcp_timeout_fin_wait", "net.nf_conntrack_max", "net.unix.max_dgram_qlen",
];

/**
 * Keys that, once set, cannot be set back until a reboot: destroy could not restore them.
 * (All machine-wide keys outside the catalog are refused; these get their own words.)
 */
export const ONE_WAY_SYSCTL_KEYS = new Set(["kernel.modules_disabled", "kernel.kexec_load_disabled", "kernel.unprivileged_bpf_disabled", "kernel.yama.ptrace_scope"]);

/** The known key `key` is most likely a typo of (edit distance 1 or 2), or undefined. */
export function sysctlTypo(key: string): string | undefined {
    const known = [...Object.keys(SYSCTL_CATALOG), ...WELL_KNOWN_NET_KEYS];
    if (known.includes(key)) return undefined;
    let best: { key: string; d: number } | undefined;
    for (const k of known) {
        const d = distance(key, k);
        if (d <= 2 && (!best || d < best.d)) best = { key: k, d };
    }
    return best?.key;
}

/**
 * Why setting `key` is refused without naming it in sysctl.allowRiskyKeys, or undefined: a typo of a
 * known key, a key that cannot be undone, or a machine-wide key (anything outside net.*) that is not
 * in the catalog.
 */
export function sysctlRisk(key: string): string | undefined {
    if (key in SYSCTL_CATALOG) return undefined;
    const near = sysctlTypo(key);
    if (near) return `is not a known key: did you mean ${near}? (the host would refuse it mid-apply; if ${key} is meant, list it in sysctl.allowRiskyKeys)`;
    if (ONE_WAY_SYSCTL_KEYS.has(key)) return `cannot be undone until the host reboots (destroy could not put the old value back) and applies to the whole machine: list it in sysctl.allowRiskyKeys to set it anyway`;
    const top = key.split(".")[0];
    if (top !== "net") {
        const ok = Object.keys(SYSCTL_CATALOG).filter((k) => !k.startsWith("net."));
        return `is a machine-wide ${top}.* key outside conntune's catalog (known: ${ok.join(", ")}): list it in sysctl.allowRiskyKeys to set it anyway`;
    }
    return undefined;
}

const sysctlKey = z.string().regex(/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/, "must be a sysctl key like net.ipv4.tcp_keepalive_time");
/** A value for any key (known keys are range-checked below), or null to remove a preset key. */
const SYSCTL_VALUE = "must be an integer, simple text (letters, digits, space . _ : -), or null to remove a preset key";
const sysctlValue = z.union([z.number().int(), z.string().regex(/^[A-Za-z0-9 ._:-]{1,200}$/, SYSCTL_VALUE), z.null()], { error: SYSCTL_VALUE });
const unavailablePolicy = z.enum(["fail", "skip"], { error: "must be 'fail' or 'skip'" });

/** sysctl settings (seed 000 §2, seed 004): `hosts[i].sysctl`. */
export const sysctlSettings = {
    enabled: setting(z.boolean().default(true), { allowed: "boolean", reason: "write the file (false: leave the kernel settings alone)" }),
    fileName: setting(confFileName.default("99-conntune-tcp.conf"), { allowed: "plain `*.conf` name", reason: "the file under /etc/sysctl.d/ (seed 000 used 99-ganuda-tcp.conf)" }),
    presets: setting(z.array(z.enum(["keepalive", "highConcurrency"], { error: "must be 'keepalive' or 'highConcurrency'" })).default(["keepalive"]), {
        allowed: "list of `keepalive`, `highConcurrency` (applied in order)",
        reason: "the seeds' profiles (below), then `settings` on top",
    }),
    settings: setting(z.record(sysctlKey, sysctlValue).default({}), {
        allowed: "`key: value` on top of the presets; `null` removes a preset key; known keys range-checked",
        reason: "any other kernel setting, or a preset's value changed",
    }),
    onUnavailable: setting(unavailablePolicy.default("fail"), { allowed: "`fail` or `skip`", reason: "what to do with a key the host cannot take (unknown, module not loaded, not writable in a container)" }),
    keyPolicy: setting(z.record(sysctlKey, unavailablePolicy).default({}), { allowed: "`key: fail|skip` per key", reason: "onUnavailable for one key (seed 000: nf_conntrack_max only with iptables/nftables)" }),
    allowRiskyKeys: setting(z.array(sysctlKey).default([]), {
        allowed: "keys set in `settings`",
        reason: "the opt-in, key by key, to the keys below that are refused by default",
    }),
};

export const sysctlSchema = z
    .object(shape(sysctlSettings))
    .strict()
    .superRefine((s, ctx) => {
        for (const [key, value] of Object.entries(s.settings)) {
            const risk = value === null ? undefined : sysctlRisk(key);
            if (risk && !s.allowRiskyKeys.includes(key)) ctx.addIssue({ code: "custom", path: ["settings", key], message: risk });
        }
        s.allowRiskyKeys.forEach((key, i) => {
            if (s.settings[key] === undefined || s.settings[key] === null) ctx.addIssue({ code: "custom", path: ["allowRiskyKeys", i], message: `names ${key}, which sysctl.settings does not set: list only keys set there` });
        });
        for (const [key, value] of Object.entries(s.settings)) {
            const known = SYSCTL_CATALOG[key as SysctlKey];
            if (known && value !== null) {
                if (typeof value !== "number" || value < known.min || value > known.max) {
                    ctx.addIssue({ code: "custom", path: ["settings", key], message: `must be an integer from ${known.min} to ${known.max}` });
                }
            }
        }
        // A policy for a key that is not set is a typo that would only show on the host, mid-apply.
        const set = new Set(s.presets.flatMap((p) => Object.keys(SYSCTL_PRESETS[p])));
        for (const [key, value] of Object.entries(s.settings)) (value === null ? set.delete(key) : set.add(key));
        for (const key of Object.keys(s.keyPolicy)) {
            if (!set.has(key)) ctx.addIssue({ code: "custom", path: ["keyPolicy", key], message: `names a key that is not set: must be one of ${[...set].sort().join(", ") || "(none: no presets or settings)"}` });
        }
    });

export type SysctlSettings = z.infer<typeof sysctlSchema>;
