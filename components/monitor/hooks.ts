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
    return { validate: file().hook("script_validate") };
}

/** The oneshot service: daemon-reload. */
export function monitorServiceHooks(): FileHooks {
    const sh = file();
    return { activate: sh.hook("service_activate"), deactivate: sh.hook("service_deactivate") };
}

/** The timer: enabled and started, verified active; destroy disables it first. */
export function monitorTimerHooks(): FileHooks {
    const sh = file();
    return { activate: sh.hook("timer_activate"), verify: sh.hook("timer_verify"), beforeRestore: sh.hook("timer_beforeRestore"), deactivate: sh.hook("timer_deactivate") };
}
