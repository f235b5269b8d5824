/**
 * FileDescriptorLimits: nofile limits in /etc/security/limits.d/ (applied by pam_limits at each new
 * login) and systemd's DefaultLimitNOFILE in a system.conf.d drop-in (daemon-reexec), then verified
 * the way seed 000 says: a fresh login's `ulimit -Sn` / `ulimit -Hn` (the limits file's verify step:
 * a login that does not get them puts the previous file back). What it writes: limitsKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { HostKindArgs, manageFiles } from "../core/kindFile";
import { limitsKind } from "./kind";
import { LimitsSettings } from "./schema";

export type FileDescriptorLimitsArgs = HostKindArgs<LimitsSettings>;

export class FileDescriptorLimits extends pulumi.ComponentResource {
    /** What a fresh login gets, pam_limits status, and systemd's default for services. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly files: Record<string, string>;

    constructor(name: string, args: FileDescriptorLimitsArgs, opts?: pulumi.ComponentResourceOptions) {
        super(limitsKind.token, name, {}, opts);
        const files = limitsKind.files(args.settings, args.connection);
        this.files = Object.fromEntries(files.map((f) => [f.path, f.content]));
        const made = manageFiles(this, name, args, files);
        // Every file's read-back values, without the per-file bookkeeping (changed, the limits file's path).
        this.effective = pulumi.all(made.map((m) => m.values)).apply((all) => Object.assign({}, ...all.map(({ changed: _c, file: _f, ...v }) => v)) as Record<string, string>);
        this.registerOutputs({ effective: this.effective });
    }
}
