/**
 * sshd drop-in, host side: the bash is hooks.sh beside this file. Variables: CT_SSHD_WANT
 * ("keyword value;keyword value;…", lowercase keywords as `sshd -T` prints them), CT_SSHD_CHECK (the
 * keywords whose effective value must match).
 */
import { LOGIN_PROBE } from "../core/loginProbe";
import type { FileHooks } from "../core/managedFileScript";
import { shellFile } from "../core/shellFile";

/** Validate with `sshd -T` (the config test of `sshd -t`, with the effective values), reload behind the lockout guard, read back with `sshd -T`. */
export function sshdHooks(): FileHooks {
    return shellFile(__dirname, "hooks.sh", { login_probe: LOGIN_PROBE }).hooks();
}
