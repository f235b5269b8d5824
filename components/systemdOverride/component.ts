/**
 * SystemdUnitOverride: /etc/systemd/system/UNIT.d/NAME.conf (seed 000: LimitNOFILE=65536 for
 * llm-gateway.service), validated with `systemd-analyze verify` (complaints about the drop-in are
 * errors), then daemon-reload and the restart policy, verified with `systemctl show`. What it
 * writes: systemdOverrideKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { Applied, applied, HostKindArgs, inComponent, manageFiles, Placement, withoutChanged } from "../core/kindFile";
import { systemdOverrideKind } from "./kind";
import { OverrideSettings } from "./schema";

export type SystemdUnitOverrideArgs = HostKindArgs<OverrideSettings>;

/** The unit drop-in's command for one host, placed `at` (in a SystemdUnitOverride, or directly in a TunedHost). */
export function systemdUnitOverride(name: string, args: SystemdUnitOverrideArgs, at: Placement): Applied {
    const files = systemdOverrideKind.files(args.settings);
    const [file] = manageFiles(at, name, args, files);
    return applied(files, [file], withoutChanged(file));
}

export class SystemdUnitOverride extends pulumi.ComponentResource {
    /** `systemctl show` values of the overridden properties, and the running process's open-files limit. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SystemdUnitOverrideArgs, opts?: pulumi.ComponentResourceOptions) {
        super(systemdOverrideKind.token, name, {}, opts);
        const a = systemdUnitOverride(name, args, inComponent(this));
        [[this.path, this.content]] = Object.entries(a.files);
        this.effective = a.effective;
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
