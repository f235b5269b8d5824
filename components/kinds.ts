/**
 * Every kind conntune manages, in one list (the README's order), and the README's settings tables
 * generated from their descriptions: `npm run readme` writes them, a unit test fails when README.md
 * and the code disagree. Pure, no Pulumi import.
 */
import { clientSettings } from "./budget/schema";
import { settingsTable, Settings } from "./core/kind";
import { connectionSettings } from "./core/schema";
import { limitsKind } from "./limits/kind";
import { monitorKind } from "./monitor/kind";
import { redisSettings } from "./redis/settings";
import { redisConfigMapKind } from "./redisConfigMap/kind";
import { redisHostKind } from "./redisHost/kind";
import { sshdKind } from "./sshd/kind";
import { sysctlKind } from "./sysctl/kind";
import { systemdOverrideKind } from "./systemdOverride/kind";

/** The kinds, in the README's order. */
export const KINDS = [sshdKind, sysctlKind, limitsKind, systemdOverrideKind, monitorKind, redisHostKind, redisConfigMapKind] as const;

/** The settings each README table shows, by the table's marker name (`<!-- settings: NAME -->`). */
export const SETTINGS_TABLES: Record<string, Settings> = {
    connection: connectionSettings,
    sshd: sshdKind.settings,
    sysctl: sysctlKind.settings,
    limits: limitsKind.settings,
    systemdOverrides: systemdOverrideKind.settings,
    monitor: monitorKind.settings,
    "redis (host)": redisHostKind.settings,
    "redis settings": redisSettings,
    "redis (k8s)": redisConfigMapKind.settings,
    "redis clients": clientSettings,
};

const block = (name: string) => ({ start: `<!-- settings: ${name} (generated: npm run readme) -->`, end: "<!-- /settings -->" });

/** README text with every settings table replaced by the generated one; throws if a marker is missing. */
export function withSettingsTables(readme: string): string {
    let out = readme;
    for (const [name, settings] of Object.entries(SETTINGS_TABLES)) {
        const { start, end } = block(name);
        const a = out.indexOf(start);
        const b = a < 0 ? -1 : out.indexOf(end, a);
        if (a < 0 || b < 0) throw new Error(`README.md has no "${start}" … "${end}" block`);
        out = `${out.slice(0, a + start.length)}\n${settingsTable(settings)}\n${out.slice(b)}`;
    }
    return out;
}
