/**
 * The sysctl kind in one place: its settings (and the catalog of known keys), schema, renderer and
 * hooks, and the one file it writes. SysctlProfile (component.ts) and the README are driven by it.
 */
import type { HostKindDescription, KindFile } from "../core/kind";
import { sysctlHooks } from "./hooks";
import { renderSysctl, sysctlEntries } from "./render";
import { sysctlSchema, SysctlSettings, sysctlSettings } from "./schema";

export const sysctlKind = {
    configKey: "hosts[i].sysctl",
    component: "SysctlProfile",
    token: "conntune:host:SysctlProfile",
    settings: sysctlSettings,
    schema: sysctlSchema,
    render: renderSysctl,
    hooks: sysctlHooks,
    /** The file under /etc/sysctl.d/; its keys reach the hooks as `key=value=policy;…`. */
    files(s: SysctlSettings): KindFile[] {
        return [
            {
                suffix: "file",
                path: `/etc/sysctl.d/${s.fileName}`,
                mode: "0644",
                content: renderSysctl(s),
                vars: { CT_SYSCTL: sysctlEntries(s).map((e) => `${e.key}=${e.value}=${e.policy}`).join(";") },
                hooks: sysctlHooks(),
                deleteBeforeReplace: true,
            },
        ];
    },
} satisfies HostKindDescription<SysctlSettings>;
