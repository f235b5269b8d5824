/**
 * The sshd kind in one place: its settings, schema, renderer and hooks, and the one file it writes.
 * SshdHardening (component.ts) and the README's settings table are driven by it.
 */
import type { HostKindDescription, KindFile } from "../core/kind";
import { sshdHooks } from "./hooks";
import { renderSshd, sshdDirectives } from "./render";
import { SSHD_KEYWORDS, sshdSchema, SshdSettings, sshdSettings } from "./schema";

export const sshdKind = {
    configKey: "hosts[i].sshd",
    component: "SshdHardening",
    token: "conntune:host:SshdHardening",
    settings: sshdSettings,
    schema: sshdSchema,
    render: renderSshd,
    hooks: sshdHooks,
    /** The drop-in; verify checks the typed keywords' effective values exactly and reports the rest. */
    files(s: SshdSettings): KindFile[] {
        return [
            {
                suffix: "dropin",
                path: `/etc/ssh/sshd_config.d/${s.fileName}`,
                mode: "0644",
                content: renderSshd(s),
                vars: {
                    CT_SSHD_WANT: sshdDirectives(s).map(([k, v]) => `${k.toLowerCase()} ${v}`).join(";"),
                    CT_SSHD_CHECK: Object.values(SSHD_KEYWORDS).map((k) => k.toLowerCase()).join(";"),
                },
                hooks: sshdHooks(),
                deleteBeforeReplace: true,
            },
        ];
    },
} satisfies HostKindDescription<SshdSettings>;
