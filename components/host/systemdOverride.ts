/**
 * SystemdUnitOverride: /etc/systemd/system/UNIT.d/NAME.conf (seed 000: LimitNOFILE=65536 for
 * llm-gateway.service), validated with `systemd-analyze verify` (complaints about the drop-in are
 * errors), then daemon-reload and the restart policy, verified with `systemctl show`.
 */
import * as pulumi from "@pulumi/pulumi";
import { OverrideSettings } from "../config";
import { HostConnection } from "./connection";
import { overrideHooks } from "./hooks";
import { ManagedFile } from "./managedFile";
import { renderOverride } from "./render";

export interface SystemdUnitOverrideArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Validated override (components/config.ts `overrideSchema`). */
    settings: OverrideSettings;
}

/** Properties `systemctl show` must report for the override's Limit* directives. */
export function expectedProperties(o: OverrideSettings): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.settings.Service ?? {})) {
        if (!/^Limit[A-Z]+$/.test(k)) continue;
        const [soft, hard] = String(v).includes(":") ? String(v).split(":") : [String(v), String(v)];
        const norm = (x: string) => (x === "infinity" ? "infinity" : x);
        out[k] = norm(hard);
        out[`${k}Soft`] = norm(soft);
    }
    return out;
}

export class SystemdUnitOverride extends pulumi.ComponentResource {
    /** `systemctl show` values of the overridden properties, and the running process's open-files limit. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: SystemdUnitOverrideArgs, opts?: pulumi.ComponentResourceOptions) {
        super("conntune:host:SystemdUnitOverride", name, {}, opts);
        const o = args.settings;
        this.path = `/etc/systemd/system/${o.unit}.d/${o.fileName}`;
        this.content = renderOverride(o);
        const show = Object.entries(expectedProperties(o)).map(([k, v]) => `${k}=${v}`).join(";");
        const file = new ManagedFile(
            `${name}-dropin`,
            {
                connection: args.connection,
                content: this.content,
                spec: { path: this.path, mode: "0644", vars: { CT_UNIT: o.unit, CT_RESTART: o.restart, CT_SHOW: show }, hooks: overrideHooks(o.unit) },
            },
            { parent: this },
        );
        this.effective = file.values.apply(({ changed: _changed, ...rest }) => rest);
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
