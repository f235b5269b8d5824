/**
 * ConnectionMonitor (seeds 000 §5 and 001): a check script, a oneshot service and a timer. Each run
 * logs established connections per watched port, TIME_WAIT sockets and open files of named services
 * to the journal (identifier conntune-conn-monitor), with a level for the alert port: HEALTHY,
 * WARNING, LEAK or CRITICAL. At CRITICAL it can restart a named unit, at most once per cooldown, so it
 * can never loop. Three files through the shared mechanism; destroy disables the timer and removes them.
 */
import * as pulumi from "@pulumi/pulumi";
import { MonitorSettings } from "../config";
import { HostConnection } from "./connection";
import { ManagedFile } from "./managedFile";
import { HEADER } from "./render";
import { shq } from "./shell";

export const MONITOR_SCRIPT = "/usr/local/lib/conntune/conn-monitor.sh";
export const MONITOR_UNIT = "conntune-conn-monitor";

/** Pure: the check script. Settings arrive through the service's Environment= lines. */
export function renderMonitorScript(): string {
    return `#!/bin/bash
${HEADER}
# Connection health check (seed 001 levels). Reads CT_* settings from its service unit.
set -u
count() { ss -Htn state established "( sport = :$1 or dport = :$1 )" 2>/dev/null | wc -l; }
for p in $CT_PORTS; do echo "port $p established=$(count "$p")"; done
echo "time_wait=$(ss -Htn state time-wait 2>/dev/null | wc -l)"
for svc in \${CT_SERVICES:-}; do
  pid=$(systemctl show -p MainPID --value "$svc" 2>/dev/null)
  if [ -n "$pid" ] && [ "$pid" != 0 ]; then echo "open_files $svc=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)"; fi
done
n=$(count "$CT_ALERT_PORT")
if [ "$n" -le "$CT_HEALTHY_MAX" ]; then level=HEALTHY
elif [ "$n" -le "$CT_WARNING_MAX" ]; then level=WARNING
elif [ "$n" -le "$CT_LEAK_MAX" ]; then level=LEAK
else level=CRITICAL; fi
echo "level=$level port=$CT_ALERT_PORT connections=$n"
if [ "$level" = CRITICAL ] && [ -n "\${CT_ACTION_UNIT:-}" ]; then
  stamp=/var/lib/conntune/conn-monitor.last-action
  now=$(date +%s); last=$(cat "$stamp" 2>/dev/null || echo 0)
  if [ $((now - last)) -ge "$CT_COOLDOWN" ]; then
    mkdir -p /var/lib/conntune && echo "$now" >"$stamp"
    if systemctl restart "$CT_ACTION_UNIT"; then echo "action=restarted $CT_ACTION_UNIT"; else echo "action=restart of $CT_ACTION_UNIT failed"; fi
  else
    echo "action=skipped: cooldown, $((CT_COOLDOWN - (now - last))) s left"
  fi
fi
exit 0
`;
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

export interface ConnectionMonitorArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Validated monitor settings (components/config.ts `monitorSchema`). */
    settings: MonitorSettings;
}

export class ConnectionMonitor extends pulumi.ComponentResource {
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly files: Record<string, string>;

    constructor(name: string, args: ConnectionMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("conntune:host:ConnectionMonitor", name, {}, opts);
        const m = args.settings;
        const service = `/etc/systemd/system/${MONITOR_UNIT}.service`;
        const timer = `/etc/systemd/system/${MONITOR_UNIT}.timer`;
        this.files = { [MONITOR_SCRIPT]: renderMonitorScript(), [service]: renderMonitorService(m), [timer]: renderMonitorTimer(m) };
        const common = { connection: args.connection };
        const script = new ManagedFile(
            `${name}-script`,
            { ...common, content: this.files[MONITOR_SCRIPT], spec: { path: MONITOR_SCRIPT, mode: "0755", hooks: { validate: `bash -n "$NEW"` } } },
            { parent: this },
        );
        const unit = new ManagedFile(
            `${name}-service`,
            {
                ...common,
                content: this.files[service],
                spec: { path: service, mode: "0644", hooks: { activate: "systemctl daemon-reload", deactivate: "systemctl daemon-reload" } },
            },
            { parent: this, dependsOn: [script.command] },
        );
        const t = shq(`${MONITOR_UNIT}.timer`);
        const tm = new ManagedFile(
            `${name}-timer`,
            {
                ...common,
                content: this.files[timer],
                spec: {
                    path: timer,
                    mode: "0644",
                    hooks: {
                        activate: `systemctl daemon-reload && systemctl enable --now ${t} >/dev/null 2>&1 && systemctl restart ${t}`,
                        verify: `echo "ct:timer=$(systemctl is-active ${t})"; echo "ct:enabled=$(systemctl is-enabled ${t})"; [ "$(systemctl is-active ${t})" = active ]`,
                        beforeRestore: `systemctl disable --now ${t} >/dev/null 2>&1; true`,
                        deactivate: "systemctl daemon-reload",
                    },
                },
            },
            { parent: this, dependsOn: [unit.command] },
        );
        this.effective = tm.values.apply(({ changed: _c, ...rest }) => rest);
        this.registerOutputs({ effective: this.effective });
    }
}
