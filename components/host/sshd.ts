/**
 * SshdHardening: a drop-in under /etc/ssh/sshd_config.d/ that kills idle SSH sessions (seed 000),
 * validated with `sshd -t` on the whole config, reloaded (never restarted), guarded against lockout
 * by a fresh login, and verified with `sshd -T`.
 */
import * as pulumi from "@pulumi/pulumi";
import { SshdSettings } from "../config";
import { HostConnection } from "./connection";
import { sshdHooks } from "./hooks";
import { ManagedFile } from "./managedFile";
import { renderSshd, sshdDirectives } from "./render";

/** The keywords whose effective value must be exactly the wanted one (the rest are reported). */
const CHECKED = ["clientaliveinterval", "clientalivecountmax", "logingracetime", "tcpkeepalive", "maxstartups", "maxsessions"];

export interface SshdHardeningArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Validated sshd settings (components/config.ts `sshdSchema`). */
    settings: SshdSettings;
}

export class SshdHardening extends pulumi.ComponentResource {
    /** Effective values from `sshd -T` (lowercase keywords). */
    public readonly effective: pulumi.Output<Record<string, string>>;
    /** The drop-in's path and content. */
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SshdHardeningArgs, opts?: pulumi.ComponentResourceOptions) {
        super("conntune:host:SshdHardening", name, {}, opts);
        this.path = `/etc/ssh/sshd_config.d/${args.settings.fileName}`;
        this.content = renderSshd(args.settings);
        const want = sshdDirectives(args.settings).map(([k, v]) => `${k.toLowerCase()} ${v}`);
        const file = new ManagedFile(
            `${name}-dropin`,
            {
                connection: args.connection,
                content: this.content,
                deleteBeforeReplace: true,
                spec: {
                    path: this.path,
                    mode: "0644",
                    vars: { CT_SSHD_WANT: want.join(";"), CT_SSHD_CHECK: CHECKED.join(";") },
                    hooks: sshdHooks(),
                },
            },
            { parent: this },
        );
        this.effective = file.values.apply(({ changed: _changed, ...rest }) => rest);
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
