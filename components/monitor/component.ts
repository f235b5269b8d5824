/**
 * ConnectionMonitor (seeds 000 §5 and 001): a check script, a oneshot service and a timer. Each run
 * logs established connections per watched port, TIME_WAIT sockets and open files of named services
 * to the journal (identifier conntune-conn-monitor), with a level for the alert port: HEALTHY,
 * WARNING, LEAK or CRITICAL. At CRITICAL it can restart a named unit, at most once per cooldown, so it
 * can never loop. Three files through the shared mechanism; destroy disables the timer and removes
 * them. What it writes: monitorKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { HostKindArgs, manageFiles } from "../core/kindFile";
import { monitorKind } from "./kind";
import { MonitorSettings } from "./schema";

export type ConnectionMonitorArgs = HostKindArgs<MonitorSettings>;

export class ConnectionMonitor extends pulumi.ComponentResource {
    /** The timer's state (active, enabled). */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly files: Record<string, string>;

    constructor(name: string, args: ConnectionMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
        super(monitorKind.token, name, {}, opts);
        const files = monitorKind.files(args.settings);
        this.files = Object.fromEntries(files.map((f) => [f.path, f.content]));
        const made = manageFiles(this, name, args, files);
        this.effective = made[made.length - 1].values.apply(({ changed: _c, ...rest }) => rest);
        this.registerOutputs({ effective: this.effective });
    }
}
