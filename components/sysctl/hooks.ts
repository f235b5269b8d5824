/**
 * sysctl file, host side: the bash is hooks.sh beside this file. Variables: CT_SYSCTL
 * ("key=value=policy;…"). Keys that the host cannot take are reported per policy: fail (abort before
 * anything is written) or skip (`ct-warn:` + the key is written with a leading '-' by the renderer,
 * so sysctl ignores its failure).
 */
import type { FileHooks } from "../core/managedFileScript";
import { shellFile } from "../core/shellFile";

/** Pre-flight every key, `sysctl -p FILE`, read back from /proc/sys; destroy restores the runtime values. */
export function sysctlHooks(): FileHooks {
    return shellFile(__dirname, "hooks.sh").hooks();
}
