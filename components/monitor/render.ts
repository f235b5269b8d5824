/**
 * Pure: monitor settings → the check script (conn-monitor.sh beside this file, the same for every
 * host), its oneshot service (the settings as Environment= lines) and its timer. No Pulumi import.
 */
import { HEADER } from "../core/render";
import { readShell, shellFile } from "../core/shellFile";
import { MonitorSettings } from "./schema";

export const MONITOR_SCRIPT = "/usr/local/lib/conntune/conn-monitor.sh";
export const MONITOR_UNIT = "conntune-conn-monitor";

/** The PING round-trip probe's bash (latency.sh beside this file): the monitor's and the live probe's. */
export function latencyFunctions(): string {
    const sh = shellFile(__dirname, "latency.sh");
    return ["ct_now_us", "ct_ms", "ct_latency"].map((f) => sh.def(f)).join("\n");
}

/** Pure: the check script. Settings arrive through the service's Environment= lines. */
export function renderMonitorScript(): string {
    return readShell(__dirname, "conn-monitor.sh").replace("# @HEADER@\n", () => `${HEADER}\n`).replace("# @LATENCY@\n", () => `${latencyFunctions()}\n`);
}

/** Pure: the oneshot service that runs the script once, logging to the journal. */
export function renderMonitorService(m: MonitorSettings): string {
    const env: Array<[string, string]> = [
        ["CT_PORTS", m.ports.join(" ")],
        ["CT_ALERT_PORT", String(m.alertPort)],
        ["CT_HEALTHY_MAX", String(m.healthyMax)],
        ["CT_WARNING_MAX", String(m.warningMax)],
        ["CT_LEAK_MAX", String(m.leakMax)],
        ["CT_SERVICES", m.services.join(" ")],
        ["CT_ACTION_UNIT", m.criticalAction?.restartUnit ?? ""],
        ["CT_COOLDOWN", String(m.criticalAction?.cooldownSeconds ?? 300)],
        ["CT_GROWTH_SAMPLES", String(m.growth.samples)],
        ["CT_GROWTH_MIN", String(m.growth.minRise)],
        ["CT_LATENCY", m.latency.enabled ? "yes" : "no"],
        ["CT_LATENCY_ADDRESS", m.latency.address],
        ["CT_LATENCY_SECONDS", String(m.latency.seconds)],
        ["CT_LATENCY_P50_MS", String(m.latency.p50Ms)],
        ["CT_LATENCY_P99_MS", String(m.latency.p99Ms)],
    ];
    return [
        HEADER,
        "[Unit]",
        "Description=conntune connection-health check (seed 001 levels)",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${MONITOR_SCRIPT}`,
        ...env.map(([k, v]) => `Environment="${k}=${v}"`),
        `SyslogIdentifier=${MONITOR_UNIT}`,
        "",
    ].join("\n");
}

/** Pure: the timer. */
export function renderMonitorTimer(m: MonitorSettings): string {
    return [HEADER, "[Unit]", "Description=Run the conntune connection-health check", "[Timer]", "OnBootSec=30s", `OnUnitActiveSec=${m.intervalSeconds}s`, "AccuracySec=1s", "[Install]", "WantedBy=timers.target", ""].join("\n");
}
