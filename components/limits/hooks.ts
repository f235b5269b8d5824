/**
 * nofile limits, host side: the bash is hooks.sh beside this file (one section per file the kind
 * writes).
 */
import { LOGIN_PROBE } from "../core/loginProbe";
import type { FileHooks } from "../core/managedFileScript";
import { shellFile } from "../core/shellFile";

const file = () => shellFile(__dirname, "hooks.sh", { login_probe: LOGIN_PROBE });

/**
 * limits.d file: format check; it applies at the next login, so verify makes one: a brand-new SSH
 * login from the controller as the login user (see LOGIN_PROBE) reports its limits, and a covered user must
 * get the wanted ones. A failure puts the previous file back (a limit pam_limits cannot set may
 * refuse logins). Variables: CT_WANT_SOFT, CT_WANT_HARD, CT_LOGIN_COVERED (yes|no).
 */
export function limitsHooks(): FileHooks {
    const sh = file();
    return { preflight: sh.hook("limits_preflight"), validate: sh.hook("limits_validate"), verify: sh.hook("limits_verify") };
}

/**
 * pam-auth-update profile that adds pam_limits to common-session and common-session-noninteractive.
 * Variables: CT_PAM_PROFILE (the profile's name). Activation runs pam-auth-update (it leaves PAM
 * files an admin edited by hand alone: verify then fails and the profile is taken back), and the
 * lockout guard makes sure a new SSH login still works.
 */
export function pamProfileHooks(): FileHooks {
    const sh = file();
    return {
        preflight: sh.hook("pam_preflight"),
        validate: sh.hook("pam_validate"),
        activate: sh.hook("pam_activate"),
        verify: sh.hook("pam_verify"),
        // On destroy the profile is taken out while its file still exists; then the file goes.
        beforeRestore: sh.hook("pam_beforeRestore"),
        deactivate: sh.hook("pam_deactivate"),
    };
}

/** system.conf.d drop-in for DefaultLimitNOFILE. Variables: CT_WANT_SOFT, CT_WANT_HARD. */
export function systemdDefaultHooks(): FileHooks {
    const sh = file();
    return { preflight: sh.hook("systemd_default_preflight"), activate: sh.hook("systemd_default_activate"), verify: sh.hook("systemd_default_verify") };
}
