/**
 * The limits kind in one place: its settings, schema, renderers and hooks, and the files it writes
 * (the limits.d file, systemd's default, and with `pam: enable` the pam-auth-update profile).
 * FileDescriptorLimits (component.ts) and the README are driven by it.
 */
import type { HostFacts, HostKindDescription, KindFile } from "../core/kind";
import { limitsHooks, pamProfileHooks, systemdDefaultHooks } from "./hooks";
import { loginCovered, PAM_PROFILE, renderLimits, renderPamProfile, renderSystemdDefaultLimit, systemdDefaultLimit } from "./render";
import { limitsSchema, LimitsSettings, limitsSettings } from "./schema";

export const limitsKind = {
    configKey: "hosts[i].limits",
    component: "FileDescriptorLimits",
    token: "conntune:host:FileDescriptorLimits",
    settings: limitsSettings,
    schema: limitsSchema,
    render: renderLimits,
    hooks: limitsHooks,
    /** The limits file (verified by a new login), systemd's DefaultLimitNOFILE unless null, the PAM profile with `pam: enable`. */
    files(l: LimitsSettings, host: HostFacts): KindFile[] {
        const files: KindFile[] = [
            {
                suffix: "limits",
                path: `/etc/security/limits.d/${l.fileName}`,
                mode: "0644",
                content: renderLimits(l),
                vars: { CT_WANT_SOFT: l.soft, CT_WANT_HARD: l.hard, CT_LOGIN_COVERED: loginCovered(host.user, l.domains) ? "yes" : "no" },
                hooks: limitsHooks(),
                deleteBeforeReplace: true,
            },
        ];
        if (l.systemdDefault !== null) {
            const want = systemdDefaultLimit(l);
            files.push({
                suffix: "systemd-default",
                path: `/etc/systemd/system.conf.d/${l.systemdFileName}`,
                mode: "0644",
                content: renderSystemdDefaultLimit(l),
                vars: { CT_WANT_SOFT: want.soft, CT_WANT_HARD: want.hard },
                hooks: systemdDefaultHooks(),
                deleteBeforeReplace: true,
            });
        }
        if (l.pam === "enable") {
            // pam_limits in every PAM session (seed 004), through Debian's pam-auth-update.
            files.push({ suffix: "pam-profile", path: `/usr/share/pam-configs/${PAM_PROFILE}`, mode: "0644", content: renderPamProfile(), vars: { CT_PAM_PROFILE: PAM_PROFILE }, hooks: pamProfileHooks() });
        }
        return files;
    },
} satisfies HostKindDescription<LimitsSettings>;
