/**
 * SysctlProfile: one file under /etc/sysctl.d/ (seed 000 keepalive profile, seed 004 high-concurrency
 * preset), pre-flighted key by key on the host, applied with `sysctl -p FILE`, read back with
 * `sysctl -n`. Destroy restores the file and the runtime values from before conntune. What it
 * writes: sysctlKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { HostKindArgs, manageFiles } from "../core/kindFile";
import { sysctlKind } from "./kind";
import { SysctlSettings } from "./schema";

export type SysctlProfileArgs = HostKindArgs<SysctlSettings>;

export class SysctlProfile extends pulumi.ComponentResource {
    /** Effective value of every key, or "skipped" for keys this host cannot take (policy skip). */
    public readonly effective: pulumi.Output<Record<string, string>>;
    /** One line per skipped key, with the reason. */
    public readonly warnings: pulumi.Output<string[]>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SysctlProfileArgs, opts?: pulumi.ComponentResourceOptions) {
        super(sysctlKind.token, name, {}, opts);
        const files = sysctlKind.files(args.settings);
        this.path = files[0].path;
        this.content = files[0].content;
        const [file] = manageFiles(this, name, args, files);
        this.effective = file.values.apply(({ changed: _changed, ...rest }) => rest);
        this.warnings = file.warnings;
        this.registerOutputs({ effective: this.effective, warnings: this.warnings, path: this.path });
    }
}
