/**
 * Pure renderers: typed settings → file text. Deterministic (sorted keys where order is free),
 * with a "managed by conntune" header. No Pulumi import; unit-tested with exact expected text.
 */
import {
    LimitsSettings,
    OverrideSettings,
    SshdSettings,
    SYSCTL_PRESETS,
    SysctlSettings,
} from "../config";

export const HEADER = "# Managed by conntune: changes made here are overwritten by the next `pulumi up`.";

/** sshd keyword → the name `sshd -T` prints (lowercase) with the wanted value as `sshd -T` shows it. */
export function sshdDirectives(s: SshdSettings): Array<[keyword: string, value: string]> {
    const base: Array<[string, string]> = [
        ["ClientAliveInterval", String(s.clientAliveInterval)],
        ["ClientAliveCountMax", String(s.clientAliveCountMax)],
        ["LoginGraceTime", String(s.loginGraceTime)],
        ["TCPKeepAlive", s.tcpKeepAlive ? "yes" : "no"],
        ["MaxStartups", s.maxStartups],
        ["MaxSessions", String(s.maxSessions)],
    ];
    const extra = Object.entries(s.extra).sort(([a], [b]) => a.localeCompare(b));
    return [...base, ...extra];
}

export function renderSshd(s: SshdSettings): string {
    const idle = s.clientAliveInterval * s.clientAliveCountMax;
    return [
        HEADER,
        `# Idle SSH sessions are dropped after ${s.clientAliveInterval} s x ${s.clientAliveCountMax} = ${idle} s without an answer.`,
        "# sshd keeps the first value it reads for a keyword: this drop-in must sort before others.",
        ...sshdDirectives(s).map(([k, v]) => `${k} ${v}`),
        "",
    ].join("\n");
}

export interface SysctlEntry {
    key: string;
    value: string;
    /** fail: an unavailable key fails the apply; skip: written with a leading '-' (failures ignored). */
    policy: "fail" | "skip";
}

/** Presets in order, then settings on top (null removes). Sorted by key. */
export function sysctlEntries(s: SysctlSettings): SysctlEntry[] {
    const merged = new Map<string, string | number>();
    for (const p of s.presets) for (const [k, v] of Object.entries(SYSCTL_PRESETS[p])) merged.set(k, v as number);
    for (const [k, v] of Object.entries(s.settings)) {
        if (v === null) merged.delete(k);
        else merged.set(k, v);
    }
    return [...merged.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => ({ key, value: String(value), policy: s.keyPolicy[key] ?? s.onUnavailable }));
}

export function renderSysctl(s: SysctlSettings): string {
    return [
        HEADER,
        "# Keys with a leading '-' may be unavailable on this host (policy skip): failures to set them are ignored.",
        ...sysctlEntries(s).map((e) => `${e.policy === "skip" ? "-" : ""}${e.key} = ${e.value}`),
        "",
    ].join("\n");
}

export function renderLimits(l: LimitsSettings): string {
    return [
        HEADER,
        "# <domain> <type> <item> <value>; read by pam_limits at each new login.",
        ...l.domains.flatMap((d) => [`${d} soft nofile ${l.soft}`, `${d} hard nofile ${l.hard}`]),
        "",
    ].join("\n");
}

/** The pam-auth-update profile name (its file is /usr/share/pam-configs/<name>). */
export const PAM_PROFILE = "conntune-limits";

/**
 * A pam-auth-update profile that puts pam_limits in every PAM session (interactive and not).
 * The format has no comment lines: the Name says who manages it.
 */
export function renderPamProfile(): string {
    return [
        "Name: nofile limits from /etc/security/limits.d (managed by conntune)",
        "Default: yes",
        "Priority: 0",
        "Session-Type: Additional",
        "Session:",
        "\trequired\tpam_limits.so",
        "",
    ].join("\n");
}

/** The soft and hard DefaultLimitNOFILE systemd should show: `systemdDefault` for both, or the login limits when it is unset. */
export function systemdDefaultLimit(l: LimitsSettings): { soft: number; hard: number } {
    return typeof l.systemdDefault === "number" ? { soft: l.systemdDefault, hard: l.systemdDefault } : { soft: l.soft, hard: l.hard };
}

/** systemd's manager default for services' open files (system.conf.d drop-in). */
export function renderSystemdDefaultLimit(l: LimitsSettings): string {
    const { soft, hard } = systemdDefaultLimit(l);
    return [HEADER, "[Manager]", `DefaultLimitNOFILE=${soft}:${hard}`, ""].join("\n");
}

function unitValue(v: string | number | boolean): string {
    return typeof v === "boolean" ? (v ? "yes" : "no") : String(v);
}

export function renderOverride(o: OverrideSettings): string {
    const order = ["Unit", "Service", "Socket", "Timer", "Mount", "Path", "Slice", "Install"];
    const sections = Object.entries(o.settings).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
    const lines = [HEADER];
    for (const [section, directives] of sections) {
        lines.push(`[${section}]`);
        for (const [k, v] of Object.entries(directives).sort(([a], [b]) => a.localeCompare(b))) lines.push(`${k}=${unitValue(v)}`);
    }
    lines.push("");
    return lines.join("\n");
}
