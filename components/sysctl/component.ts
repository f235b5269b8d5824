/**
 * SysctlProfile: one file under /etc/sysctl.d/ (seed 000 keepalive profile, seed 004 high-concurrency
 * preset), pre-flighted key by key on the host, applied with `sysctl -p FILE`, read back with
 * `sysctl -n`. Destroy restores the file and the runtime values from before conntune. What it
 * writes: sysctlKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { Applied, applied, HostKindArgs, inComponent, manageFiles, Placement, withoutChanged } from "../core/kindFile";
import { sysctlKind } from "./kind";
import { SysctlSettings } from "./schema";

export type SysctlProfileArgs = HostKindArgs<SysctlSettings>;

/** The sysctl file's command for one host, placed `at` (in a SysctlProfile, or directly in a TunedHost); `warnings`: one line per skipped key. */
export function sysctlProfile(name: string, args: SysctlProfileArgs, at: Placement): Applied & { warnings: pulumi.Output<string[]> } {
    const files = sysctlKind.files(args.settings);
    const [file] = manageFiles(at, name, args, files);
    return { ...applied(files, [file], withoutChanged(file)), warnings: file.warnings };
}

export class SysctlProfile extends pulumi.ComponentResource {
    /** Effective value of every key, or "skipped" for keys this host cannot take (policy skip). */
    public readonly effective: pulumi.Output<Record<string, string>>;
    /** One line per skipped key, with the reason. */
    public readonly warnings: pulumi.Output<string[]>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SysctlProfileArgs, opts?: pulumi.ComponentResourceOptions) {
        super(sysctlKind.token, name, {}, opts);
        const a = sysctlProfile(name, args, inComponent(this));
        [[this.path, this.content]] = Object.entries(a.files);
        this.effective = a.effective;
        this.warnings = a.warnings;
        this.registerOutputs({ effective: this.effective, warnings: this.warnings, path: this.path });
    }
}
