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
    return file().hooks("limits_");
}

/**
 * pam-auth-update profile that adds pam_limits to common-session and common-session-noninteractive.
 * Variables: CT_PAM_PROFILE (the profile's name). Activation runs pam-auth-update (it leaves PAM
 * files an admin edited by hand alone: verify then fails and the profile is taken back), and the
 * lockout guard makes sure a new SSH login still works.
 */
export function pamProfileHooks(): FileHooks {
    // On destroy the profile is taken out while its file still exists (beforeRestore); then the file goes.
    return file().hooks("pam_");
}

/** system.conf.d drop-in for DefaultLimitNOFILE. Variables: CT_WANT_SOFT, CT_WANT_HARD. */
export function systemdDefaultHooks(): FileHooks {
    return file().hooks("systemd_default_");
}
