/**
 * Pure: limits settings → the limits.d file, the pam-auth-update profile and systemd's default, and
 * what a new login should get. No Pulumi import; unit-tested with exact expected text.
 */
import { HEADER } from "../core/render";
import { LimitsSettings } from "./schema";

/** The limits.d file: soft and hard nofile for each domain. */
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

/** Whether pam_limits gives `user` the entries for `domains` ('*' never matches root). */
export function loginCovered(user: string, domains: string[]): boolean {
    return user === "root" ? domains.includes("root") : domains.includes("*") || domains.includes(user);
}
