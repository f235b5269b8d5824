/**
 * Drift: what a host stack wants (pure, from the validated config) versus what each host shows.
 * The probe script and the comparison are pure; scripts/drift.ts runs them over one SSH login per host.
 */
import { createHash } from "node:crypto";
import { HostConfig } from "./config";
import { shq } from "./core/shell";
import { loginCovered, PAM_PROFILE, renderLimits, renderPamProfile, renderSystemdDefaultLimit } from "./limits/render";
import { KEPT_MARK, renderHostRedisConf } from "./redisHost/render";
import { renderSshd, sshdDirectives } from "./sshd/render";
import { renderSysctl, sysctlEntries } from "./sysctl/render";
import { expectedProperties, renderOverride } from "./systemdOverride/render";

export interface Wanted {
    /** setting id → wanted value; "skipped-ok" values accept "skipped". */
    values: Record<string, string>;
    /** Settings whose value may be "skipped" on this host (sysctl policy skip). */
    skippable: Set<string>;
    /** setting id → the managed file it lives in (what a repair re-applies). */
    fileOf: Record<string, string>;
    /** file setting id → the line after which the host keeps its own lines (hashed without them). */
    keptAfter?: Record<string, string>;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** Everything a host should show after `pulumi up`, keyed by a readable setting id. */
export function wantedState(h: HostConfig): Wanted {
    const values: Record<string, string> = {};
    const skippable = new Set<string>();
    const fileOf: Record<string, string> = {};
    let current = "";
    const put = (id: string, v: string) => {
        values[id] = v;
        fileOf[id] = id.startsWith("file:") ? id.slice(5) : current;
    };
    if (h.sshd.enabled) {
        current = `/etc/ssh/sshd_config.d/${h.sshd.fileName}`;
        put(`file:${current}`, sha(renderSshd(h.sshd)));
        for (const [k, v] of sshdDirectives(h.sshd).slice(0, 6)) put(`sshd:${k.toLowerCase()}`, v);
    }
    if (h.sysctl.enabled) {
        current = `/etc/sysctl.d/${h.sysctl.fileName}`;
        put(`file:${current}`, sha(renderSysctl(h.sysctl)));
        for (const e of sysctlEntries(h.sysctl)) {
            put(`sysctl:${e.key}`, e.value);
            if (e.policy === "skip") skippable.add(`sysctl:${e.key}`);
        }
    }
    if (h.limits.enabled) {
        current = `/etc/security/limits.d/${h.limits.fileName}`;
        put(`file:${current}`, sha(renderLimits(h.limits)));
        if (loginCovered(h.connection.user, h.limits.domains)) {
            put("limits:login_soft", String(h.limits.soft));
            put("limits:login_hard", String(h.limits.hard));
        }
        if (h.limits.systemdDefault !== null) put(`file:/etc/systemd/system.conf.d/${h.limits.systemdFileName}`, sha(renderSystemdDefaultLimit(h.limits)));
        if (h.limits.pam === "enable") put(`file:/usr/share/pam-configs/${PAM_PROFILE}`, sha(renderPamProfile()));
    }
    for (const o of h.systemdOverrides) {
        current = `/etc/systemd/system/${o.unit}.d/${o.fileName}`;
        put(`file:${current}`, sha(renderOverride(o)));
        for (const [k, v] of Object.entries(expectedProperties(o))) put(`unit:${o.unit}:${k}`, v);
    }
    const keptAfter: Record<string, string> = {};
    if (h.redis?.enabled) {
        put(`file:${h.redis.path}`, sha(renderHostRedisConf(h.redis)));
        keptAfter[`file:${h.redis.path}`] = KEPT_MARK; // the host's own auth lines: not conntune's to compare
    }
    return { values, skippable, fileOf, keptAfter };
}

/** One script that prints `id=value` for every wanted setting (run as root; the login's limits are read before sudo). */
export function probeScript(w: Wanted): string {
    const lines: string[] = ['sshd_t=$(sshd -T 2>/dev/null)'];
    for (const id of Object.keys(w.values)) {
        const [kind, ...rest] = id.split(":");
        const arg = rest.join(":");
        const mark = w.keptAfter?.[id];
        if (kind === "file" && mark !== undefined) lines.push(`printf '%s=%s\\n' ${shq(id)} "$( [ -f ${shq(arg)} ] && awk -v m=${shq(mark)} '$0==m{exit} {print}' ${shq(arg)} | sha256sum | cut -d' ' -f1 || echo missing)"`);
        else if (kind === "file") lines.push(`printf '%s=%s\\n' ${shq(id)} "$( [ -f ${shq(arg)} ] && sha256sum ${shq(arg)} | cut -d' ' -f1 || echo missing)"`);
        else if (kind === "sshd") lines.push(`printf '%s=%s\\n' ${shq(id)} "$(awk -v k=${shq(arg)} '$1==k{ $1=""; sub(/^ /,""); print; exit }' <<<"$sshd_t")"`);
        else if (kind === "sysctl" && w.skippable.has(id)) {
            // A skip-policy key counts as "skipped" where the host cannot set it. A check must never
            // write (not even the value it just read: a change made in between would be undone), so
            // "cannot set" is what access(2) says, not the outcome of a write.
            lines.push(`f=/proc/sys/$(tr . / <<<${shq(arg)}); if [ -e "$f" ] && [ -w "$f" ]; then printf '%s=%s\\n' ${shq(id)} "$(sysctl -n ${shq(arg)} 2>/dev/null | tr -s '\\t ' ' ')"; else printf '%s=skipped\\n' ${shq(id)}; fi`);
        } else if (kind === "sysctl") lines.push(`printf '%s=%s\\n' ${shq(id)} "$(sysctl -n ${shq(arg)} 2>/dev/null | tr -s '\\t ' ' ')"`);
        else if (kind === "unit") {
            const [unit, prop] = arg.split(":");
            lines.push(`printf '%s=%s\\n' ${shq(id)} "$(systemctl show -p ${shq(prop)} --value ${shq(unit)} 2>/dev/null)"`);
        }
    }
    return lines.join("\n");
}

export interface DriftRow {
    setting: string;
    wanted: string;
    found: string;
    status: "ok" | "drift";
}

/** Compare probe output (plus the login's own limits) with what is wanted. */
export function compare(w: Wanted, found: Record<string, string>): DriftRow[] {
    return Object.entries(w.values).map(([setting, wanted]) => {
        const f = found[setting] ?? "(not read)";
        const ok = f === wanted || (w.skippable.has(setting) && f === "skipped");
        const short = (v: string) => (setting.startsWith("file:") && v.length === 64 ? `sha256:${v.slice(0, 12)}` : v);
        return { setting, wanted: short(wanted), found: short(f), status: ok ? "ok" : "drift" };
    });
}

/**
 * The drift check's exit code: 2 when any host has no result or an error (the check is incomplete),
 * else 1 on drift, else 0.
 */
export function driftExitCode(hosts: string[], results: Record<string, DriftRow[] | { error: string } | undefined>): 0 | 1 | 2 {
    if (hosts.some((h) => !Array.isArray(results[h]))) return 2;
    return hosts.some((h) => (results[h] as DriftRow[]).some((r) => r.status === "drift")) ? 1 : 0;
}

export function parseProbe(out: string): Record<string, string> {
    const r: Record<string, string> = {};
    for (const line of out.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) r[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    return r;
}

export function formatTable(host: string, rows: DriftRow[]): string {
    const w = [Math.max(7, ...rows.map((r) => r.setting.length)), Math.max(6, ...rows.map((r) => r.wanted.length)), Math.max(5, ...rows.map((r) => r.found.length))];
    const line = (c: string[]) => `${c[0].padEnd(w[0])}  ${c[1].padEnd(w[1])}  ${c[2].padEnd(w[2])}  ${c[3]}`;
    return [`host ${host}`, line(["setting", "wanted", "found", "status"]), ...rows.map((r) => line([r.setting, r.wanted, r.found, r.status === "ok" ? "ok" : "DRIFT"]))].join("\n");
}
