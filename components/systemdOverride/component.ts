/**
 * SystemdUnitOverride: /etc/systemd/system/UNIT.d/NAME.conf (seed 000: LimitNOFILE=65536 for
 * llm-gateway.service), validated with `systemd-analyze verify` (complaints about the drop-in are
 * errors), then daemon-reload and the restart policy, verified with `systemctl show`. What it
 * writes: systemdOverrideKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { HostKindArgs, manageFiles } from "../core/kindFile";
import { systemdOverrideKind } from "./kind";
import { OverrideSettings } from "./schema";

export type SystemdUnitOverrideArgs = HostKindArgs<OverrideSettings>;

export class SystemdUnitOverride extends pulumi.ComponentResource {
    /** `systemctl show` values of the overridden properties, and the running process's open-files limit. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SystemdUnitOverrideArgs, opts?: pulumi.ComponentResourceOptions) {
        super(systemdOverrideKind.token, name, {}, opts);
        const files = systemdOverrideKind.files(args.settings);
        this.path = files[0].path;
        this.content = files[0].content;
        const [file] = manageFiles(this, name, args, files);
        this.effective = file.values.apply(({ changed: _changed, ...rest }) => rest);
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
