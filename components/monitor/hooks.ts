/**
 * The monitor's files, host side: the bash is hooks.sh beside this file.
 */
import type { FileHooks } from "../core/managedFileScript";
import { shellFile } from "../core/shellFile";
import { shq } from "../core/shell";
import { MONITOR_UNIT } from "./render";

const file = () => shellFile(__dirname, "hooks.sh", {}, { TIMER: shq(`${MONITOR_UNIT}.timer`) });

/** The check script: `bash -n` before it replaces the old one. */
export function monitorScriptHooks(): FileHooks {
    return file().hooks("script_");
}

/** The oneshot service: daemon-reload. */
export function monitorServiceHooks(): FileHooks {
    return file().hooks("service_");
}

/** The timer: enabled and started, verified active; destroy disables it first. */
export function monitorTimerHooks(): FileHooks {
    return file().hooks("timer_");
}
