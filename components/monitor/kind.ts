/**
 * The monitor kind in one place: its settings, schema, renderers and hooks, and its three files
 * (the check script, its oneshot service, its timer, applied in that order). ConnectionMonitor
 * (component.ts) and the README are driven by it.
 */
import type { HostKindDescription, KindFile } from "../core/kind";
import { monitorScriptHooks, monitorServiceHooks, monitorTimerHooks } from "./hooks";
import { MONITOR_SCRIPT, MONITOR_UNIT, renderMonitorScript, renderMonitorService, renderMonitorTimer } from "./render";
import { monitorSchema, MonitorSettings, monitorSettings } from "./schema";

export const monitorKind = {
    configKey: "hosts[i].monitor",
    component: "ConnectionMonitor",
    token: "conntune:host:ConnectionMonitor",
    settings: monitorSettings,
    schema: monitorSchema,
    render: renderMonitorService,
    hooks: monitorTimerHooks,
    /** The script, then the service that runs it, then the timer that starts the service. */
    files(m: MonitorSettings): KindFile[] {
        return [
            { suffix: "script", path: MONITOR_SCRIPT, mode: "0755", content: renderMonitorScript(), hooks: monitorScriptHooks() },
            { suffix: "service", path: `/etc/systemd/system/${MONITOR_UNIT}.service`, mode: "0644", content: renderMonitorService(m), hooks: monitorServiceHooks(), afterPrevious: true },
            { suffix: "timer", path: `/etc/systemd/system/${MONITOR_UNIT}.timer`, mode: "0644", content: renderMonitorTimer(m), hooks: monitorTimerHooks(), afterPrevious: true },
        ];
    },
} satisfies HostKindDescription<MonitorSettings>;
