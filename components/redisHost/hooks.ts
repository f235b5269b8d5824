/**
 * Redis on a host (seed 002), host side: the bash is hooks.sh beside this file. Variables:
 * CT_REDIS_PORT (the running instance), CT_REDIS_SERVICE (systemd unit), CT_REDIS_RESTART_ONLY
 * ("a;b": directives CONFIG SET refuses), CT_REDIS_ACTIVEDEFRAG (yes when the file asks for it),
 * CT_REDIS_KEEP ("a|b": the host's own auth directives, carried over), CT_REDIS_KEPT_MARK (the line
 * above them), CT_REDIS_USER (ACL user, "" = default), CT_REDIS_SECRET_NAME (the config key of the
 * password, "" = none). The password itself is $CT_SECRET (read from stdin by the apply script) and
 * only ever reaches redis-cli's environment (REDISCLI_AUTH), never an argument list.
 */
import type { FileHooks } from "../core/managedFileScript";
import { shellFile } from "../core/shellFile";

/**
 * Pre-flight logs in to the running Redis; validate starts the host's own redis-server with the
 * candidate (as the service's account, on no TCP port); activate uses CONFIG SET where Redis allows
 * it and a restart only where it does not; verify reads every directive back with CONFIG GET.
 */
export function redisHooks(): FileHooks {
    return shellFile(__dirname, "hooks.sh").hooks();
}
