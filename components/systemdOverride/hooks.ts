/**
 * Unit drop-in, host side: the bash is hooks.sh beside this file.
 */
import { LOGIN_PROBE } from "../core/loginProbe";
import type { FileHooks } from "../core/managedFileScript";
import { shellFile } from "../core/shellFile";

/** Whether a unit is sshd's own (its override goes through the lockout guard). */
export function isSshdUnit(unit: string): boolean {
    return /^sshd?(@.*)?\.(service|socket)$/.test(unit);
}

/**
 * Unit drop-in (`unit`: the unit's name, to guard sshd's own). Variables: CT_UNIT, CT_RESTART (restart|reload|none), CT_SHOW ("Prop=value;…": the
 * properties `systemctl show` must report). An override of sshd's own unit goes through the lockout
 * guard like an sshd drop-in. A restart that fails leaves a mark: the rollback (the previous file
 * back) then starts the unit again, since `try-restart` would leave a failed unit down.
 */
export function overrideHooks(unit = ""): FileHooks {
    const sh = shellFile(__dirname, "hooks.sh", { login_probe: LOGIN_PROBE });
    return { ...sh.hooks(), activate: sh.hook(isSshdUnit(unit) ? "activate_guarded" : "activate") };
}
