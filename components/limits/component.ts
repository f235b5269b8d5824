/**
 * FileDescriptorLimits: nofile limits in /etc/security/limits.d/ (applied by pam_limits at each new
 * login) and systemd's DefaultLimitNOFILE in a system.conf.d drop-in (daemon-reexec), then verified
 * the way seed 000 says: a fresh login's `ulimit -Sn` / `ulimit -Hn` (the limits file's verify step:
 * a login that does not get them puts the previous file back). What it writes: limitsKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { Applied, applied, HostKindArgs, inComponent, manageFiles, Placement } from "../core/kindFile";
import { limitsKind } from "./kind";
import { LimitsSettings } from "./schema";

export type FileDescriptorLimitsArgs = HostKindArgs<LimitsSettings>;

/** The limits files' commands for one host, placed `at` (in a FileDescriptorLimits, or directly in a TunedHost). */
export function fileDescriptorLimits(name: string, args: FileDescriptorLimitsArgs, at: Placement): Applied {
    const files = limitsKind.files(args.settings, args.connection);
    const made = manageFiles(at, name, args, files);
    // Every file's read-back values, without the per-file bookkeeping (changed, the limits file's path).
    return applied(files, made, pulumi.all(made.map((m) => m.values)).apply((all) => Object.assign({}, ...all.map(({ changed: _c, file: _f, ...v }) => v)) as Record<string, string>));
}

export class FileDescriptorLimits extends pulumi.ComponentResource {
    /** What a fresh login gets, pam_limits status, and systemd's default for services. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly files: Record<string, string>;

    constructor(name: string, args: FileDescriptorLimitsArgs, opts?: pulumi.ComponentResourceOptions) {
        super(limitsKind.token, name, {}, opts);
        const a = fileDescriptorLimits(name, args, inComponent(this));
        this.files = a.files;
        this.effective = a.effective;
        this.registerOutputs({ effective: this.effective });
    }
}
