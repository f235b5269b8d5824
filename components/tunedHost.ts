/**
 * TunedHost: one host's kinds (sshd, sysctl, limits, unit overrides, Redis, monitor), built from its
 * validated config: their commands directly under the host, in the order the host needs.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostConfig } from "./config";
import { HostConnection } from "./core/connection";
import type { Applied, Placement } from "./core/kindFile";
import { fileDescriptorLimits } from "./limits/component";
import { limitsKind } from "./limits/kind";
import { connectionMonitor } from "./monitor/component";
import { monitorKind } from "./monitor/kind";
import { redisServerConfig } from "./redisHost/component";
import { redisHostKind } from "./redisHost/kind";
import { sshdHardening } from "./sshd/component";
import { sshdKind } from "./sshd/kind";
import { sysctlProfile } from "./sysctl/component";
import { sysctlKind } from "./sysctl/kind";
import { systemdUnitOverride } from "./systemdOverride/component";
import { systemdOverrideKind } from "./systemdOverride/kind";

export interface TunedHostArgs {
    /** Validated host config. */
    config: HostConfig;
    /** Connection with secrets attached. */
    connection: HostConnection;
    /** The password for the host's Redis (`redis.auth.passwordSecret`), a secret. */
    redisPassword?: pulumi.Input<string>;
}

export interface TunedHostOutputs {
    sshd?: Record<string, string>;
    sysctl?: Record<string, string>;
    sysctlWarnings?: string[];
    limits?: Record<string, string>;
    overrides: Record<string, Record<string, string>>;
    redis?: Record<string, string>;
    monitor?: Record<string, string>;
}

export class TunedHost extends pulumi.ComponentResource {
    /** Effective values read back from the host (known after the apply). */
    public readonly outputs: pulumi.Output<TunedHostOutputs>;
    /** Every managed file with the content conntune writes, as lines: known at preview, shown in full. */
    public readonly files: Record<string, string[]>;

    constructor(name: string, args: TunedHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("conntune:host:TunedHost", name, {}, opts);
        const h = args.config;
        const conn = args.connection;
        const files: Record<string, string[]> = {};
        const lines = (text: string) => text.replace(/\n$/, "").split("\n");
        // Each kind's commands sit directly under the host (no component resource per kind: each would
        // cost the file backend three rewrites of the whole state on a first apply); `formerParent`
        // keeps the commands of stacks made when the kind's component sat in between.
        const place = (kindName: string, token: string, after: Applied[] = []): Placement => {
            const dependsOn = after.flatMap((k) => k.commands);
            return { parent: this, ...(dependsOn.length ? { dependsOn } : {}), formerParent: { name: kindName, token } };
        };
        const add = <K extends Applied>(k: K): K => {
            for (const [p, c] of Object.entries(k.files)) files[p] = lines(c);
            return k;
        };
        const kindArgs = <S>(settings: S) => ({ connection: conn, settings });
        // sshd first: the other files are written over connections that the new sshd settings govern.
        const sshd = h.sshd.enabled ? add(sshdHardening(`${name}-sshd`, kindArgs(h.sshd), place(`${name}-sshd`, sshdKind.token))) : undefined;
        const afterSshd = sshd ? [sshd] : [];
        const sysctl = h.sysctl.enabled ? add(sysctlProfile(`${name}-sysctl`, kindArgs(h.sysctl), place(`${name}-sysctl`, sysctlKind.token, afterSshd))) : undefined;
        const limits = h.limits.enabled ? add(fileDescriptorLimits(`${name}-limits`, kindArgs(h.limits), place(`${name}-limits`, limitsKind.token, afterSshd))) : undefined;
        // Unit drop-ins reload systemd: never while the limits files' step re-executes it (the bus drops).
        const afterLimits = [...afterSshd, ...(limits ? [limits] : [])];
        const overrideKinds: Applied[] = [];
        const overrides = h.systemdOverrides.map((o) => {
            const n = `${name}-${o.unit}-${o.fileName}`;
            const c = add(systemdUnitOverride(n, kindArgs(o), place(n, systemdOverrideKind.token, afterLimits)));
            overrideKinds.push(c);
            return [`${o.unit}/${o.fileName}`, c.effective] as const;
        });
        // Redis last: its restart (if any) should see the host's new limits, kernel settings and unit
        // overrides (an override on redis-server.service restarts it too: never at the same time).
        const redis =
            h.redis && h.redis.enabled
                ? add(redisServerConfig(`${name}-redis`, { ...kindArgs(h.redis), password: args.redisPassword }, place(`${name}-redis`, redisHostKind.token, [...afterLimits, ...(sysctl ? [sysctl] : []), ...overrideKinds])))
                : undefined;
        const monitor = h.monitor && h.monitor.enabled ? add(connectionMonitor(`${name}-monitor`, kindArgs(h.monitor), place(`${name}-monitor`, monitorKind.token, afterLimits))) : undefined;
        const none = pulumi.output<Record<string, string> | undefined>(undefined);
        this.outputs = pulumi
            .all([
                sshd?.effective ?? none,
                sysctl?.effective ?? none,
                sysctl?.warnings ?? pulumi.output<string[] | undefined>(undefined),
                limits?.effective ?? none,
                pulumi.all(Object.fromEntries(overrides)) as pulumi.Output<Record<string, Record<string, string>>>,
                redis?.effective ?? none,
                monitor?.effective ?? none,
            ])
            .apply(([s, sy, sw, l, ov, rd, mo]) => ({ sshd: s, sysctl: sy, sysctlWarnings: sw, limits: l, overrides: ov, redis: rd, monitor: mo }));
        this.files = files;
        // Registered outputs are stored in the state, which the file backend rewrites at every step:
        // these two are the stack outputs `effective` and `files` of this host already (2 kB per host).
        this.registerOutputs({});
    }
}
