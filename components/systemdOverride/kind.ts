/**
 * The systemd-override kind in one place: its settings, schema, renderer and hooks, and the one
 * drop-in it writes per entry. SystemdUnitOverride (component.ts) and the README are driven by it.
 */
import type { HostKindDescription, KindFile } from "../core/kind";
import { overrideHooks } from "./hooks";
import { expectedProperties, renderOverride } from "./render";
import { overrideSchema, OverrideSettings, overrideSettings } from "./schema";

export const systemdOverrideKind = {
    configKey: "hosts[i].systemdOverrides[j]",
    component: "SystemdUnitOverride",
    token: "conntune:host:SystemdUnitOverride",
    settings: overrideSettings,
    schema: overrideSchema,
    render: renderOverride,
    hooks: overrideHooks,
    /** /etc/systemd/system/UNIT.d/NAME.conf; verify reads back the Limit* properties it sets. */
    files(o: OverrideSettings): KindFile[] {
        const show = Object.entries(expectedProperties(o)).map(([k, v]) => `${k}=${v}`).join(";");
        return [
            {
                suffix: "dropin",
                path: `/etc/systemd/system/${o.unit}.d/${o.fileName}`,
                mode: "0644",
                content: renderOverride(o),
                vars: { CT_UNIT: o.unit, CT_RESTART: o.restart, CT_SHOW: show },
                hooks: overrideHooks(o.unit),
            },
        ];
    },
} satisfies HostKindDescription<OverrideSettings>;
