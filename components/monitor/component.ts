/**
 * ConnectionMonitor (seeds 000 §5 and 001): a check script, a oneshot service and a timer. Each run
 * logs established connections per watched port, TIME_WAIT sockets and open files of named services
 * to the journal (identifier conntune-conn-monitor), with a level for the alert port: HEALTHY,
 * WARNING, LEAK or CRITICAL. At CRITICAL it can restart a named unit, at most once per cooldown, so it
 * can never loop. Three files through the shared mechanism; destroy disables the timer and removes
 * them. What it writes: monitorKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { Applied, applied, HostKindArgs, inComponent, manageFiles, Placement, withoutChanged } from "../core/kindFile";
import { monitorKind } from "./kind";
import { MonitorSettings } from "./schema";

export type ConnectionMonitorArgs = HostKindArgs<MonitorSettings>;

/** The monitor's commands for one host, placed `at` (in a ConnectionMonitor, or directly in a TunedHost). */
export function connectionMonitor(name: string, args: ConnectionMonitorArgs, at: Placement): Applied {
    const files = monitorKind.files(args.settings);
    const made = manageFiles(at, name, args, files);
    return applied(files, made, withoutChanged(made[made.length - 1]));
}

export class ConnectionMonitor extends pulumi.ComponentResource {
    /** The timer's state (active, enabled). */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly files: Record<string, string>;

    constructor(name: string, args: ConnectionMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
        super(monitorKind.token, name, {}, opts);
        const a = connectionMonitor(name, args, inComponent(this));
        this.files = a.files;
        this.effective = a.effective;
        this.registerOutputs({ effective: this.effective });
    }
}
