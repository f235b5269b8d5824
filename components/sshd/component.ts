/**
 * SshdHardening: a drop-in under /etc/ssh/sshd_config.d/ that kills idle SSH sessions (seed 000),
 * validated with `sshd -T` (sshd's config test) on the whole config, reloaded (never restarted), guarded against lockout
 * by a fresh login, and verified with `sshd -T`. What it writes: sshdKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { Applied, applied, HostKindArgs, inComponent, manageFiles, Placement, withoutChanged } from "../core/kindFile";
import { sshdKind } from "./kind";
import { SshdSettings } from "./schema";

export type SshdHardeningArgs = HostKindArgs<SshdSettings>;

/** The sshd drop-in's command for one host, placed `at` (in a SshdHardening, or directly in a TunedHost). */
export function sshdHardening(name: string, args: SshdHardeningArgs, at: Placement): Applied {
    const files = sshdKind.files(args.settings);
    const [file] = manageFiles(at, name, args, files);
    return applied(files, [file], withoutChanged(file));
}

export class SshdHardening extends pulumi.ComponentResource {
    /** Effective values from `sshd -T` (lowercase keywords). */
    public readonly effective: pulumi.Output<Record<string, string>>;
    /** The drop-in's path and content. */
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SshdHardeningArgs, opts?: pulumi.ComponentResourceOptions) {
        super(sshdKind.token, name, {}, opts);
        const a = sshdHardening(name, args, inComponent(this));
        [[this.path, this.content]] = Object.entries(a.files);
        this.effective = a.effective;
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
