/**
 * SshdHardening: a drop-in under /etc/ssh/sshd_config.d/ that kills idle SSH sessions (seed 000),
 * validated with `sshd -T` (sshd's config test) on the whole config, reloaded (never restarted), guarded against lockout
 * by a fresh login, and verified with `sshd -T`. What it writes: sshdKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { HostKindArgs, manageFiles } from "../core/kindFile";
import { sshdKind } from "./kind";
import { SshdSettings } from "./schema";

export type SshdHardeningArgs = HostKindArgs<SshdSettings>;

export class SshdHardening extends pulumi.ComponentResource {
    /** Effective values from `sshd -T` (lowercase keywords). */
    public readonly effective: pulumi.Output<Record<string, string>>;
    /** The drop-in's path and content. */
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SshdHardeningArgs, opts?: pulumi.ComponentResourceOptions) {
        super(sshdKind.token, name, {}, opts);
        const files = sshdKind.files(args.settings);
        this.path = files[0].path;
        this.content = files[0].content;
        const [file] = manageFiles(this, name, args, files);
        this.effective = file.values.apply(({ changed: _changed, ...rest }) => rest);
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
