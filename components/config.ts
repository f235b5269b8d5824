/**
 * The whole stack config, schema first. Every setting is data with a default and a one-line reason
 * (from the runbooks in the seeds); `loadConfig` validates once and lists every problem as
 * `path: message`, so `pulumi preview` fails before any resource exists.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { redisSettingsSchema } from "./redis/settings";

// ---------------------------------------------------------------------------------------------
// Shared patterns: names that become paths, unit names or shell arguments.
// ---------------------------------------------------------------------------------------------

/** A file name inside a drop-in directory: no '/', no '..', no whitespace or shell characters. */
export const confFileName = z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,100}\.conf$/, "must be a plain file name ending in .conf (letters, digits, _ . @ -; no '/', '..' or spaces)");

const dnsHostName = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** An IP address, or a DNS name whose last label is not all digits (so 10.0.0.300 is a typo, not a name). */
const hostAddress = z
    .string()
    .refine((v) => isIP(v) !== 0 || (dnsHostName.test(v) && !/(^|\.)\d+$/.test(v)), "must be an IP address or DNS name");

const userName = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name (lowercase letters, digits, _ -; at most 32)");

const hostKey = z
    .string({ error: (i) => (i.input === undefined ? "required: pin the host's key, e.g. `ssh-keyscan -t ed25519 HOST | cut -d' ' -f2-`" : "must be a string 'TYPE BASE64'") })
    .regex(
        /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/,
        "must be a public host key line 'TYPE BASE64', TYPE one of ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (e.g. from `ssh-keyscan -t ed25519 HOST | cut -d' ' -f2-`)",
    );

const configKeyName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, "must be a config key name (letters, digits, _ -)");

const int = (min: number, max: number) =>
    z.number({ error: `must be an integer from ${min} to ${max}` }).int(`must be an integer from ${min} to ${max}`).min(min, `must be from ${min} to ${max}`).max(max, `must be from ${min} to ${max}`);

// ---------------------------------------------------------------------------------------------
// Connection
// ---------------------------------------------------------------------------------------------

export const connectionSchema = z
    .object({
        /** Address or DNS name. */
        host: hostAddress,
        /** SSH port. */
        port: int(1, 65535).default(22),
        /** Login user; root, or a user with sudo. */
        user: userName.default("root"),
        /** Pinned host key: a different key is never accepted. */
        hostKey,
        /** Use sudo for the remote work. Default: true unless user is root. */
        sudo: z.boolean().optional(),
        /** Name of the secret config key holding the private key (default `sshPrivateKey`). */
        privateKeySecret: configKeyName.default("sshPrivateKey"),
        /** Name of the secret config key holding the sudo password, if sudo asks for one. */
        sudoPasswordSecret: configKeyName.optional(),
    })
    .strict()
    .superRefine((c, ctx) => {
        // A password nothing asks for would only be one more copy of a secret on the way to the host.
        const noSudo = c.sudo === false ? "sudo is false" : c.user === "root" ? "the user is root" : undefined;
        if (c.sudoPasswordSecret !== undefined && noSudo) {
            ctx.addIssue({ code: "custom", path: ["sudoPasswordSecret"], message: `must not be set: no sudo runs (${noSudo}), so no password is asked for; remove sudoPasswordSecret` });
        }
    });

// ---------------------------------------------------------------------------------------------
// sshd (seed 000 §1)
// ---------------------------------------------------------------------------------------------

const maxStartups = z
    .string({ error: `must be a string: 'start:rate:full' (e.g. "200:30:400") or one number in quotes (e.g. "10")` })
    .regex(/^\d+(:\d+:\d+)?$/, "must be 'start:rate:full' (e.g. 200:30:400) or a single number")
    .refine((v) => {
        const p = v.split(":").map(Number);
        return p.length === 1 ? p[0] >= 1 : p[0] >= 1 && p[1] >= 1 && p[1] <= 100 && p[2] >= p[0];
    }, { message: "start must be at least 1, rate from 1 to 100 (percent) and full at least start", when: (payload) => payload.issues.length === 0 });

const sshdDirective = z.string().regex(/^[A-Za-z][A-Za-z0-9]{1,40}$/, "must be an sshd_config keyword (letters and digits)");
const sshdValue = z.string().min(1, "must not be empty").regex(/^[^\x00-\x08\x0a-\x1f\x7f#]+$/, "must be one line without '#' or control characters");
/**
 * Keywords `extra` may not set, lowercase → the typed field that owns them (sshd keeps the first
 * value it reads, so a second one would be silently ignored). Match and Include are refused too.
 */
const SSHD_TYPED: Record<string, string> = {
    clientaliveinterval: "clientAliveInterval",
    clientalivecountmax: "clientAliveCountMax",
    logingracetime: "loginGraceTime",
    tcpkeepalive: "tcpKeepAlive",
    maxstartups: "maxStartups",
    maxsessions: "maxSessions",
};

/**
 * `extra` keywords that weaken authentication (lowercase), with the values that do (`risky`), or
 * every value but the `safe` ones. Refused unless named in sshd.allowRiskyKeywords.
 */
const SSHD_RISKY: Record<string, { risky?: string[]; safe?: string[]; why: string }> = {
    permitrootlogin: { risky: ["yes"], why: "lets root log in with a password" },
    passwordauthentication: { risky: ["yes"], why: "turns password logins on" },
    permitemptypasswords: { risky: ["yes"], why: "lets accounts without a password log in" },
    kbdinteractiveauthentication: { risky: ["yes"], why: "turns keyboard-interactive (password) logins on" },
    challengeresponseauthentication: { risky: ["yes"], why: "turns challenge-response (password) logins on" },
    hostbasedauthentication: { risky: ["yes"], why: "lets a trusted host vouch for its users" },
    permituserenvironment: { safe: ["no"], why: "lets a user's ~/.ssh/environment set the login's environment (e.g. LD_PRELOAD)" },
    authorizedkeysfile: { why: "moves where sshd reads the keys that may log in" },
    authorizedkeyscommand: { safe: ["none"], why: "lets a program decide which keys may log in" },
    authorizedprincipalscommand: { safe: ["none"], why: "lets a program decide which certificate principals may log in" },
    trustedusercakeys: { safe: ["none"], why: "lets every user certificate that CA signs log in" },
};

/** Why `Keyword value` in sshd `extra` weakens authentication, or undefined when it does not. */
export function sshdRisk(keyword: string, value: string): string | undefined {
    const r = SSHD_RISKY[keyword.toLowerCase()];
    // Compared as sshd reads it: double quotes group words and are dropped ("yes" is yes), and a
    // keyword takes its first word.
    const v = (value.replace(/"/g, "").trim().split(/\s+/)[0] ?? "").toLowerCase();
    if (!r || (r.risky && !r.risky.includes(v)) || r.safe?.includes(v)) return undefined;
    return `${keyword} ${value} ${r.why}: it weakens authentication`;
}

/** With loginGraceTime 0 no unauthenticated slot is ever freed: MaxStartups must leave at least sshd's default (100) of them. */
const MIN_FULL_WITHOUT_GRACE = 100;

export const sshdSchema = z
    .object({
        enabled: z.boolean().default(true),
        /** Drop-in name under /etc/ssh/sshd_config.d/. sshd keeps the FIRST value it reads, so it must sort first. */
        fileName: confFileName.default("00-conntune.conf"),
        /** Probe an idle client every 300 s ... */
        clientAliveInterval: int(0, 86400).default(300),
        /** ... and drop it after 2 unanswered probes: idle SSH sessions die after 10 min (seed 000). */
        clientAliveCountMax: int(0, 100).default(2),
        /** Unauthenticated connections get 30 s to log in (seed 000: "Reduce login grace time"). */
        loginGraceTime: int(0, 3600).default(30),
        /** TCP keepalives at the SSH level notice dead peers (seed 000). */
        tcpKeepAlive: z.boolean().default(true),
        /** Concurrent unauthenticated connections: heavy automation opens many at once (seed 000 "already good"). */
        maxStartups: maxStartups.default("200:30:400"),
        /**
         * Sessions per connection, for multiplexed automation (seed 000 "already good"). At least 1:
         * 0 refuses every shell and command session, conntune's own included. conntune's provider
         * opens at most 6 at once on its shared connection and adapts down to whatever sshd allows.
         */
        maxSessions: int(1, 10000).default(100),
        /** More directives, written as `Keyword value` (checked by `sshd -t` on the host). */
        extra: z.record(sshdDirective, sshdValue).default({}),
        /**
         * Opt-in, keyword by keyword, to settings refused by default because they weaken
         * authentication or can lock logins out (e.g. `PermitRootLogin yes`, `loginGraceTime: 0`).
         */
        allowRiskyKeywords: z.array(sshdDirective).optional(),
    })
    .strict()
    .superRefine((s, ctx) => {
        const allowed = new Set((s.allowRiskyKeywords ?? []).map((k) => k.toLowerCase()));
        const optIn = (keyword: string) => `list "${keyword}" in sshd.allowRiskyKeywords to set it anyway`;
        for (const [key, value] of Object.entries(s.extra)) {
            const risk = sshdRisk(key, value);
            if (risk && !allowed.has(key.toLowerCase())) ctx.addIssue({ code: "custom", path: ["extra", key], message: `${risk}: ${optIn(key)}` });
        }
        const full = Number(s.maxStartups.split(":").pop());
        if (s.loginGraceTime === 0 && full < MIN_FULL_WITHOUT_GRACE && !allowed.has("logingracetime")) {
            ctx.addIssue({
                code: "custom",
                path: ["loginGraceTime"],
                message:
                    `0 never frees the slot of a connection that does not log in: ${full} such connections (maxStartups ${s.maxStartups}) and sshd refuses every new login. ` +
                    `With loginGraceTime 0, maxStartups must allow at least ${MIN_FULL_WITHOUT_GRACE} (sshd's default full); or set loginGraceTime above 0 (a slot is freed after that many seconds); or ${optIn("LoginGraceTime")}`,
            });
        }
        const seen = new Map<string, string>();
        for (const key of Object.keys(s.extra)) {
            const lower = key.toLowerCase();
            if (SSHD_TYPED[lower]) ctx.addIssue({ code: "custom", path: ["extra", key], message: `is a typed setting: set sshd.${SSHD_TYPED[lower]} instead` });
            else if (lower === "match" || lower === "include") ctx.addIssue({ code: "custom", path: ["extra", key], message: "Match and Include are not allowed in a drop-in's extra directives (they change how every line after them applies)" });
            else if (seen.has(lower)) ctx.addIssue({ code: "custom", path: ["extra", key], message: `repeats ${seen.get(lower)} (sshd keywords are case-insensitive and only the first value counts)` });
            seen.set(lower, key);
        }
    });

// ---------------------------------------------------------------------------------------------
// sysctl (seed 000 §2, seed 004)
// ---------------------------------------------------------------------------------------------

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
const ONE_WAY_SYSCTL_KEYS = new Set(["kernel.modules_disabled", "kernel.kexec_load_disabled", "kernel.unprivileged_bpf_disabled", "kernel.yama.ptrace_scope"]);

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

export const sysctlSchema = z
    .object({
        enabled: z.boolean().default(true),
        /** File under /etc/sysctl.d/ (seed 000 used 99-ganuda-tcp.conf). */
        fileName: confFileName.default("99-conntune-tcp.conf"),
        /** Presets applied in order, then `settings` on top. */
        presets: z.array(z.enum(["keepalive", "highConcurrency"], { error: "must be 'keepalive' or 'highConcurrency'" })).default(["keepalive"]),
        /** Settings on top of the presets; `null` removes a preset key. Known keys are range-checked. */
        settings: z.record(sysctlKey, sysctlValue).default({}),
        /** What to do with a key the host cannot take (unknown, module not loaded, not writable in a container). */
        onUnavailable: unavailablePolicy.default("fail"),
        /** Per-key override of onUnavailable. */
        keyPolicy: z.record(sysctlKey, unavailablePolicy).default({}),
        /**
         * Opt-in, key by key, to settings refused by default: machine-wide keys outside the catalog
         * (kernel.*, vm.*, fs.*, …), keys that cannot be undone (kernel.modules_disabled), and keys one
         * typo away from a known key.
         */
        allowRiskyKeys: z.array(sysctlKey).default([]),
    })
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

// ---------------------------------------------------------------------------------------------
// File-descriptor limits (seed 000 §4, seed 004)
// ---------------------------------------------------------------------------------------------

const limitDomain = z.string().regex(/^(\*|@?[a-z_][a-z0-9_-]{0,31}|%[a-z_][a-z0-9_-]{0,31})$/, "must be '*', a user, @group or %group");

export const limitsSchema = z
    .object({
        enabled: z.boolean().default(true),
        /** File under /etc/security/limits.d/. */
        fileName: confFileName.default("90-conntune-nofile.conf"),
        /** Who gets the limits: seed 000 names the service user and root; seed 004 uses '*' and root. */
        domains: z.array(limitDomain).min(1, "must name at least one domain").default(["*", "root"]),
        /** Soft nofile: 1024 is far too low for services holding many connections (seed 000: 65536). */
        soft: int(1024, 1048576).default(65536),
        /** Hard nofile (at most fs.nr_open, 1048576 by default). */
        hard: int(1024, 1048576).default(65536),
        /**
         * systemd's DefaultLimitNOFILE for services (seed 000: system.conf): a number sets soft and hard
         * to it; unset: the login limits (soft:hard); null leaves systemd alone.
         */
        systemdDefault: z.union([int(1024, 1048576), z.null()]).optional(),
        /** Drop-in under /etc/systemd/system.conf.d/ for DefaultLimitNOFILE. */
        systemdFileName: confFileName.default("90-conntune-limits.conf"),
        /**
         * check: report whether pam_limits is on for SSH logins; enable: also put it in every PAM
         * session (common-session and common-session-noninteractive, seed 004) through a
         * pam-auth-update profile (Debian/Ubuntu).
         */
        pam: z.enum(["check", "enable"], { error: "must be 'check' or 'enable'" }).default("check"),
    })
    .strict()
    .refine((l) => l.soft <= l.hard, { path: ["soft"], message: "must not exceed hard" });

// ---------------------------------------------------------------------------------------------
// systemd unit overrides (seed 000 §4, §6)
// ---------------------------------------------------------------------------------------------

export const unitName = z
    .string()
    .regex(
        /^[A-Za-z0-9:_][A-Za-z0-9:_.-]*(@[A-Za-z0-9:_.-]*)?\.(service|socket|timer|mount|path|slice|target)$/,
        "must be a systemd unit name like llm-gateway.service (letters, digits, : _ . - @; not starting with '-' or '.', no '\\')",
    );

const sectionName = z.enum(["Unit", "Service", "Socket", "Timer", "Install", "Mount", "Path", "Slice"], { error: "must be a unit file section such as Service or Unit" });
const directiveName = z.string().regex(/^[A-Z][A-Za-z0-9]{1,60}$/, "must be a unit directive such as LimitNOFILE");
const directiveValue = z.union([
    z.number(),
    z.boolean(),
    z
        .string()
        .regex(/^[^\x00-\x1f\x7f]*$/, "must be one line without control characters")
        // systemd joins the next line onto a line ending in '\': the directive shown would never apply.
        .refine((v) => !v.endsWith("\\"), { message: "must not end in '\\' (systemd would join the next line onto it: the directive would not apply as shown)", when: (p) => p.issues.length === 0 }),
]);

export const overrideSchema = z
    .object({
        /** The unit to override, e.g. llm-gateway.service. */
        unit: unitName,
        /** Drop-in file name under /etc/systemd/system/UNIT.d/. */
        fileName: confFileName.default("50-conntune.conf"),
        /** Directives per section, e.g. { Service: { LimitNOFILE: 65536 } } (seed 000). */
        settings: z.partialRecord(sectionName, z.record(directiveName, directiveValue)).refine((s) => Object.keys(s).length > 0, {
            message: "must set at least one directive, e.g. { Service: { LimitNOFILE: 65536 } }",
            // An unknown section is already reported; "empty" would only repeat it.
            when: (payload) => payload.issues.length === 0,
        }),
        /** After daemon-reload: restart the unit (limits only apply to new processes), reload, or nothing. */
        restart: z.enum(["restart", "reload", "none"], { error: "must be 'restart', 'reload' or 'none'" }).default("restart"),
    })
    .strict();

// ---------------------------------------------------------------------------------------------
// Hosts and the stack
// ---------------------------------------------------------------------------------------------

/** Connection-health monitor (seeds 000 §5 and 001): a systemd service + timer logging to the journal. */
export const monitorSchema = z
    .object({
        enabled: z.boolean().default(true),
        /** Ports whose established connections are counted (Redis, Postgres, SSH). */
        ports: z.array(int(1, 65535)).min(1, "must list at least one port").default([6379, 5432, 22]),
        /** The port whose count sets the level (seed 001: Redis). */
        alertPort: int(1, 65535).default(6379),
        /** Level limits (seed 001): healthy ≤ 25, warning 26–49, leak 50–99, critical ≥ 100. */
        healthyMax: int(0, 1000000).default(25),
        warningMax: int(0, 1000000).default(49),
        leakMax: int(0, 1000000).default(99),
        /** Services whose open files are reported (seed 000: python, uvicorn, vllm). */
        services: z.array(unitName).default([]),
        /** At critical: restart this unit (seed 001: batch-writer), at most once per cooldown. */
        criticalAction: z.object({ restartUnit: unitName, cooldownSeconds: int(60, 86400).default(300) }).strict().optional(),
        /** How often the timer runs the check. */
        intervalSeconds: int(10, 86400).default(60),
    })
    .strict()
    .superRefine((m, ctx) => {
        if (!(m.healthyMax < m.warningMax && m.warningMax < m.leakMax)) {
            ctx.addIssue({ code: "custom", path: ["warningMax"], message: `levels must rise: healthyMax < warningMax < leakMax (here ${m.healthyMax}, ${m.warningMax}, ${m.leakMax})` });
        }
        if (!m.ports.includes(m.alertPort)) ctx.addIssue({ code: "custom", path: ["alertPort"], message: `must be one of ports (${m.ports.join(", ")})` });
    });

/**
 * Where a host's redis.conf may live (Debian/Ubuntu, RHEL/Fedora, source installs, Redis Stack): conntune
 * writes it as root and restarts Redis, so a path elsewhere (/etc/ld.so.conf) would overwrite a system file.
 */
export const REDIS_CONF_DIRS = ["/etc/redis/", "/etc/redis.conf", "/usr/local/etc/redis/", "/etc/redis-stack.conf", "/opt/redis-stack/etc/"];

/** Redis on the host itself (seed 002): the whole redis.conf, applied live where Redis allows. */
export const hostRedisSchema = z
    .object({
        enabled: z.boolean().default(true),
        /** The config file the service reads. */
        path: z
            .string()
            .regex(/^\/(?:[A-Za-z0-9_.@-]+\/)*[A-Za-z0-9_.@-]+\.conf$/, "must be an absolute path to a .conf file")
            .refine((p) => !p.split("/").some((seg) => seg === "." || seg === "..") && REDIS_CONF_DIRS.some((d) => (d.endsWith("/") ? p.startsWith(d) && !p.slice(d.length).includes("/") : p === d)), {
                // Directly in those directories, not below: /etc/redis belongs to the redis account, which
                // could swap a subdirectory for a link to another directory of root's.
                message: `must be a .conf file directly in Redis's own configuration directories: ${REDIS_CONF_DIRS.map((d) => (d.endsWith("/") ? `${d}…` : d)).join(", ")} (no subdirectory)`,
                when: (p) => p.issues.length === 0,
            })
            .default("/etc/redis/redis.conf"),
        /** The systemd unit running it. */
        service: unitName.default("redis-server.service"),
        /**
         * How conntune logs in to a Redis that requires it (requirepass or ACL users). The host's own
         * auth lines stay in the file as they are; conntune never writes or reads them into its state.
         */
        auth: z
            .object({
                /** Name of the secret config key holding the password (`pulumi config set --secret NAME`). */
                passwordSecret: configKeyName,
                /** ACL user; default: Redis's `default` user (the one `requirepass` sets). */
                user: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "must be a Redis ACL user name (letters, digits, _ . @ -; at most 64)").optional(),
            })
            .strict()
            .optional(),
        settings: redisSettingsSchema,
    })
    .strict();

export const hostSchema = z
    .object({
        /** Short name, used in resource names and outputs. */
        name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, "must be lowercase letters, digits and - (at most 41)"),
        connection: connectionSchema,
        sshd: sshdSchema.default(sshdSchema.parse({})),
        sysctl: sysctlSchema.default(sysctlSchema.parse({})),
        limits: limitsSchema.default(limitsSchema.parse({})),
        systemdOverrides: z.array(overrideSchema).default([]),
        redis: hostRedisSchema.optional(),
        monitor: monitorSchema.optional(),
    })
    .strict()
    .superRefine((h, ctx) => {
        const seen = new Set<string>();
        h.systemdOverrides.forEach((o, i) => {
            const k = `${o.unit}/${o.fileName}`;
            if (seen.has(k)) ctx.addIssue({ code: "custom", path: ["systemdOverrides", i, "unit"], message: `duplicate override ${k}` });
            seen.add(k);
        });
    });

// ---------------------------------------------------------------------------------------------
// Redis on Kubernetes (seed 003)
// ---------------------------------------------------------------------------------------------

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (lowercase letters, digits, -)");
const dnsName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a DNS-1123 name (lowercase letters, digits, - and .)");

export const redisStackSchema = z
    .object({
        /** render: write manifests to renderDir for Argo CD / Flux; live: apply through the cluster API. */
        mode: z.enum(["render", "live"], { error: "must be 'render' or 'live'" }).default("render"),
        /** Where render mode writes manifests (relative to the project). */
        renderDir: z
            .string()
            .regex(/^[A-Za-z0-9_./-]+$/, "must be a path of letters, digits and _ . / -")
            .refine((p) => !p.startsWith("/") && !p.split("/").includes("..") && p.split("/").some((seg) => seg !== "" && seg !== "."), {
                message: "must be a directory inside the project, relative to it (e.g. rendered/k8s): no leading '/', no '..', not the project directory itself",
                when: (p) => p.issues.length === 0,
            })
            .default("rendered/k8s"),
        /** Live mode: kubeconfig file; default: the usual KUBECONFIG / ~/.kube/config. */
        kubeconfig: z.string().regex(/^[A-Za-z0-9_./~-]+$/, "must be a file path").optional(),
        /** Live mode: kubeconfig context. */
        context: z.string().regex(/^[A-Za-z0-9_.@:/-]+$/, "must be a context name").optional(),
        namespace: dnsLabel,
        name: dnsName,
        shape: z.enum(["operatorExternalConfig", "plainRedisConf"], { error: "must be 'operatorExternalConfig' or 'plainRedisConf'" }).default("operatorExternalConfig"),
        workload: z
            .object({
                kind: z.enum(["StatefulSet", "Deployment"], { error: "must be StatefulSet or Deployment" }),
                name: dnsName,
                /** Live mode: wait for the rollout the checksum change starts (false: return once patched). */
                awaitRollout: z.boolean().default(true),
            })
            .strict()
            .optional(),
        settings: redisSettingsSchema,
    })
    .strict()
    .superRefine((r, ctx) => {
        // Render mode never reads them: a kubeconfig here means the author expected a live apply.
        for (const key of ["kubeconfig", "context"] as const) {
            if (r.mode === "render" && r[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: "is only used with mode: live (mode is render): set mode: live or remove it" });
        }
    });

export type RedisStackConfig = z.infer<typeof redisStackSchema>;

/**
 * One machine as the program can tell it: the address as typed, without letter case or a final dot
 * (`Web1.` and `web1` are one machine), and the port. Names that resolve to the same address are not
 * seen as one (the program resolves nothing).
 */
export function machineKey(host: string, port: number): string {
    return `${host.toLowerCase().replace(/\.$/, "")} port ${port}`;
}

export const stackSchema = z
    .object({
        hosts: z.array(hostSchema).default([]),
        redis: redisStackSchema.optional(),
    })
    .superRefine((s, ctx) => {
        const names = new Set<string>();
        const targets = new Map<string, number>();
        s.hosts.forEach((h, i) => {
            if (names.has(h.name)) ctx.addIssue({ code: "custom", path: ["hosts", i, "name"], message: `duplicate host name ${h.name}` });
            names.add(h.name);
            // Two entries for one machine would manage the same files with different content.
            const target = machineKey(h.connection.host, h.connection.port);
            const first = targets.get(target);
            if (first !== undefined) ctx.addIssue({ code: "custom", path: ["hosts", i, "connection", "host"], message: `${target} is already hosts[${first}] (${s.hosts[first].name}): one entry per machine` });
            else targets.set(target, i);
        });
    });

export type StackConfig = z.infer<typeof stackSchema>;
export type HostConfig = z.infer<typeof hostSchema>;
export type SshdSettings = z.infer<typeof sshdSchema>;
export type SysctlSettings = z.infer<typeof sysctlSchema>;
export type LimitsSettings = z.infer<typeof limitsSchema>;
export type OverrideSettings = z.infer<typeof overrideSchema>;
export type HostRedisSettings = z.infer<typeof hostRedisSchema>;
export type MonitorSettings = z.infer<typeof monitorSchema>;

/** Thrown with every problem of a config, one `path: message` per line. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid conntune stack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

function formatPath(prefix: string, p: PropertyKey[]): string {
    return p.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : `${acc}.${String(seg)}`), prefix);
}

// ---------------------------------------------------------------------------------------------
// Messages: zod's generic ones ("Invalid input: expected string, received undefined", "Unrecognized
// key") say neither what is allowed nor what was meant; these read the schema at the issue's path.
// ---------------------------------------------------------------------------------------------

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "catch", "pipe"]);

function unwrap(s: unknown): unknown {
    while (WRAPPERS.has(defOf(s).type)) s = defOf(s).type === "pipe" ? defOf(s).in : defOf(s).innerType;
    return s;
}

/** The schema validating the value at `path` (undefined where the path leaves the schema). */
function schemaAt(root: unknown, path: PropertyKey[]): unknown {
    let s: unknown = root;
    for (const seg of path) {
        const d = defOf(unwrap(s));
        if (d.type === "object") s = (d.shape as Record<string, unknown>)[String(seg)];
        else if (d.type === "array") s = d.element;
        else if (d.type === "record") s = d.valueType;
        else if (d.type === "tuple") s = (d.items as unknown[])[Number(seg)];
        else if (d.type === "union") s = (d.options as unknown[]).map((o) => defOf(unwrap(o))).find((o) => o.type === "object" && String(seg) in (o.shape as object))?.shape?.[String(seg) as never];
        else return undefined;
        if (s === undefined) return undefined;
    }
    return s;
}

/** What a schema allows, in words ("an integer from 1 to 65535", "true or false", "a mapping with keys …"). */
function allowed(schema: unknown): string {
    const s = unwrap(schema);
    const d = defOf(s);
    const checks = (d.checks as Array<{ _zod: { def: { format?: string; error?: () => string } } }> | undefined) ?? [];
    switch (d.type) {
        case "string": {
            const msg = checks.map((c) => c._zod.def.error?.()).find((m) => typeof m === "string");
            return msg ? msg.replace(/^must be /, "") : "a string";
        }
        case "number": {
            const n = s as z.ZodNumber;
            const bound = (v: number | null) => v !== null && Math.abs(v) < Number.MAX_SAFE_INTEGER;
            const range = bound(n.minValue) && bound(n.maxValue) ? ` from ${n.minValue} to ${n.maxValue}` : bound(n.minValue) ? ` of at least ${n.minValue}` : "";
            return `${n.isInt ? "an integer" : "a number"}${range}`;
        }
        case "boolean":
            return "true or false";
        case "null":
            return "null";
        case "enum":
            return `one of ${Object.values(d.entries as Record<string, string>).join(", ")}`;
        case "array":
            return `a list, each ${allowed(d.element)}`;
        case "tuple":
            return `a list [${(d.items as unknown[]).map(allowed).join(", ")}]`;
        case "record":
            return `a mapping of ${allowed(d.keyType)} to ${allowed(d.valueType)}`;
        case "object":
            return `a mapping with keys ${Object.keys(d.shape as object).join(", ")}`;
        case "union":
            return (d.options as unknown[]).map(allowed).join(" or ");
        default:
            return "a valid value";
    }
}

/** Edit distance, for "did you mean" on unknown keys. */
export function distance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = row[j];
            row[j] = next;
        }
    }
    return row[b.length];
}

/** One issue as the words after `path: `, falling back to zod's own message. */
function message(issue: z.core.$ZodIssue, root: unknown): string {
    try {
        return describeIssue(issue, root);
    } catch {
        return issue.message; // the schema walk reads zod internals: never let it hide the problem
    }
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
    const at = () => schemaAt(root, issue.path);
    if (issue.code === "invalid_key") {
        // A bad record key: say which key and why (zod only says "Invalid key in record").
        return `key not allowed: ${issue.issues[0]?.message ?? issue.message}`;
    }
    if (issue.code === "unrecognized_keys") {
        const d = at() === undefined ? undefined : defOf(unwrap(at()));
        // An object's fields, or the allowed keys of a record keyed by an enum (unit file sections).
        const keys = d?.type === "object" ? Object.keys(d.shape as object) : d?.type === "record" ? Object.values((defOf(unwrap(d.keyType)).entries ?? {}) as Record<string, string>) : [];
        const unknown = issue.keys.map((k) => {
            const near = keys.filter((o) => o.toLowerCase() === k.toLowerCase() || distance(o.toLowerCase(), k.toLowerCase()) <= 2);
            return `"${k}"${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(" or ")}?)` : ""}`;
        });
        return `unknown key ${unknown.join(", ")}${keys.length ? `: allowed are ${keys.join(", ")}` : ""}`;
    }
    const schema = issue.code === "invalid_type" || issue.code === "invalid_union" ? at() : undefined;
    if (schema !== undefined && /^Invalid input(: expected \S+, received \S+)?$/.test(issue.message)) {
        return issue.message.endsWith("received undefined") ? `required: ${allowed(schema)}` : `must be ${allowed(schema)}`;
    }
    if (issue.code === "too_small" && issue.message.startsWith("Too small")) {
        return issue.origin === "array" ? `must list at least ${issue.minimum}` : `must be at least ${issue.minimum}${issue.origin === "string" ? " characters" : ""}`;
    }
    if (issue.code === "too_big" && issue.message.startsWith("Too big")) {
        return issue.origin === "array" ? `must list at most ${issue.maximum}` : `must be at most ${issue.maximum}${issue.origin === "string" ? " characters" : ""}`;
    }
    return issue.message;
}

/** Validate raw config (as read from Pulumi config: `{ hosts: … }`). Throws ConfigError. */
export function parseStackConfig(raw: unknown, prefix = "conntune:"): StackConfig {
    const r = stackSchema.safeParse(raw);
    if (!r.success) {
        throw new ConfigError(r.error.issues.map((i) => `${formatPath(prefix, i.path).replace(/^([a-z]+:)\./, "$1")}: ${message(i, stackSchema)}`));
    }
    return r.data;
}
