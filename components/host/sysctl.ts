/**
 * SysctlProfile: one file under /etc/sysctl.d/ (seed 000 keepalive profile, seed 004 high-concurrency
 * preset), pre-flighted key by key on the host, applied with `sysctl -p FILE`, read back with
 * `sysctl -n`. Destroy restores the file and the runtime values from before conntune.
 */
import * as pulumi from "@pulumi/pulumi";
import { SysctlSettings } from "../config";
import { HostConnection } from "./connection";
import { sysctlHooks } from "./hooks";
import { ManagedFile } from "./managedFile";
import { renderSysctl, sysctlEntries } from "./render";

export interface SysctlProfileArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Validated sysctl settings (components/config.ts `sysctlSchema`). */
    settings: SysctlSettings;
}

export class SysctlProfile extends pulumi.ComponentResource {
    /** Effective value of every key, or "skipped" for keys this host cannot take (policy skip). */
    public readonly effective: pulumi.Output<Record<string, string>>;
    /** One line per skipped key, with the reason. */
    public readonly warnings: pulumi.Output<string[]>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SysctlProfileArgs, opts?: pulumi.ComponentResourceOptions) {
        super("conntune:host:SysctlProfile", name, {}, opts);
        this.path = `/etc/sysctl.d/${args.settings.fileName}`;
        this.content = renderSysctl(args.settings);
        const entries = sysctlEntries(args.settings);
        const file = new ManagedFile(
            `${name}-file`,
            {
                connection: args.connection,
                content: this.content,
                deleteBeforeReplace: true,
                spec: {
                    path: this.path,
                    mode: "0644",
                    vars: { CT_SYSCTL: entries.map((e) => `${e.key}=${e.value}=${e.policy}`).join(";") },
                    hooks: sysctlHooks(),
                },
            },
            { parent: this },
        );
        this.effective = file.values.apply(({ changed: _changed, ...rest }) => rest);
        this.warnings = file.warnings;
        this.registerOutputs({ effective: this.effective, warnings: this.warnings, path: this.path });
    }
}
