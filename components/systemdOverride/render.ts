/**
 * Pure: an override → the drop-in's text, and the properties `systemctl show` must then report.
 * No Pulumi import; unit-tested with exact expected text.
 */
import { HEADER } from "../core/render";
import { OverrideSettings } from "./schema";

function unitValue(v: string | number | boolean): string {
    return typeof v === "boolean" ? (v ? "yes" : "no") : String(v);
}

/** The unit drop-in: sections in unit-file order, directives sorted. */
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

/** Properties `systemctl show` must report for the override's Limit* directives. */
export function expectedProperties(o: OverrideSettings): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.settings.Service ?? {})) {
        if (!/^Limit[A-Z]+$/.test(k)) continue;
        const [soft, hard] = String(v).includes(":") ? String(v).split(":") : [String(v), String(v)];
        const norm = (x: string) => (x === "infinity" ? "infinity" : x);
        out[k] = norm(hard);
        out[`${k}Soft`] = norm(soft);
    }
    return out;
}
