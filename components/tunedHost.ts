/**
 * TunedHost: the four host components for one host, built from its validated config.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostConfig } from "./config";
import { HostConnection } from "./core/connection";
import { FileDescriptorLimits } from "./limits/component";
import { RedisServerConfig } from "./redisHost/component";
import { ConnectionMonitor } from "./monitor/component";
import { SshdHardening } from "./sshd/component";
import { SysctlProfile } from "./sysctl/component";
import { SystemdUnitOverride } from "./systemdOverride/component";

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
        // sshd first: the other files are written over connections that the new sshd settings govern.
        const sshd = h.sshd.enabled ? new SshdHardening(`${name}-sshd`, { connection: conn, settings: h.sshd }, { parent: this }) : undefined;
        if (sshd) files[sshd.path] = lines(sshd.content);
        const after = sshd ? { dependsOn: [sshd] } : {};
        const sysctl = h.sysctl.enabled ? new SysctlProfile(`${name}-sysctl`, { connection: conn, settings: h.sysctl }, { parent: this, ...after }) : undefined;
        if (sysctl) files[sysctl.path] = lines(sysctl.content);
        const limits = h.limits.enabled ? new FileDescriptorLimits(`${name}-limits`, { connection: conn, settings: h.limits }, { parent: this, ...after }) : undefined;
        if (limits) for (const [p, c] of Object.entries(limits.files)) files[p] = lines(c);
        // Unit drop-ins reload systemd: never while the limits component re-executes it (the bus drops).
        const afterLimits = { dependsOn: [...(sshd ? [sshd] : []), ...(limits ? [limits] : [])] };
        const overrideResources: SystemdUnitOverride[] = [];
        const overrides = h.systemdOverrides.map((o) => {
            const c = new SystemdUnitOverride(`${name}-${o.unit}-${o.fileName}`, { connection: conn, settings: o }, { parent: this, ...afterLimits });
            overrideResources.push(c);
            files[c.path] = lines(c.content);
            return [`${o.unit}/${o.fileName}`, c.effective] as const;
        });
        // Redis last: its restart (if any) should see the host's new limits, kernel settings and unit
        // overrides (an override on redis-server.service restarts it too: never at the same time).
        const redis =
            h.redis && h.redis.enabled
                ? new RedisServerConfig(`${name}-redis`, { connection: conn, settings: h.redis, password: args.redisPassword }, { parent: this, dependsOn: [...afterLimits.dependsOn, ...(sysctl ? [sysctl] : []), ...overrideResources] })
                : undefined;
        if (redis) files[redis.path] = lines(redis.content);
        const monitor =
            h.monitor && h.monitor.enabled
                ? new ConnectionMonitor(`${name}-monitor`, { connection: conn, settings: h.monitor }, { parent: this, ...afterLimits })
                : undefined;
        if (monitor) for (const [p, c] of Object.entries(monitor.files)) files[p] = lines(c);
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
