/**
 * Pure: sysctl settings → the file's text. No Pulumi import; unit-tested with exact expected text.
 */
import { HEADER } from "../core/render";
import { SYSCTL_PRESETS, SysctlSettings } from "./schema";

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

/** The file under /etc/sysctl.d/: sorted by key, skip-policy keys with a leading '-'. */
export function renderSysctl(s: SysctlSettings): string {
    return [
        HEADER,
        "# Keys with a leading '-' may be unavailable on this host (policy skip): failures to set them are ignored.",
        ...sysctlEntries(s).map((e) => `${e.policy === "skip" ? "-" : ""}${e.key} = ${e.value}`),
        "",
    ].join("\n");
}
