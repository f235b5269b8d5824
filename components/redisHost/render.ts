/**
 * Pure: Redis-on-a-host settings → the whole redis.conf (Debian's base layout, then the typed
 * settings in Redis's own names). No Pulumi import.
 */
import { HEADER } from "../core/render";
import { redisDirectives } from "../redis/redisConf";
import { HostRedisSettings } from "./schema";

/** Where Debian's redis-server keeps its files: written unless the settings say otherwise. */
export const DEBIAN_BASE: Array<[string, string]> = [
    ["bind", "127.0.0.1 -::1"],
    ["port", "6379"],
    ["daemonize", "no"],
    ["pidfile", "/run/redis/redis-server.pid"],
    ["logfile", "/var/log/redis/redis-server.log"],
    ["dir", "/var/lib/redis"],
    ["dbfilename", "dump.rdb"],
];

/** Directives that are the host's own (authentication and access, and includes, which may hold them): kept as they are, never rendered. */
export const KEPT_DIRECTIVES = ["requirepass", "masterauth", "masteruser", "user", "aclfile", "rename-command", "include"] as const;

/** The line after which the host's own auth lines follow in a file conntune wrote (drift ignores them). */
export const KEPT_MARK = "# Kept from this host's own file by conntune (authentication; never rendered, never read into conntune's state):";

/** Pure: the full redis.conf for a host (base layout, then the typed settings). */
export function renderHostRedisConf(r: HostRedisSettings): string {
    const typed = redisDirectives(r.settings);
    const set = new Set(typed.map(([k]) => k));
    const base = DEBIAN_BASE.filter(([k]) => !set.has(k));
    return [HEADER, "# Base layout (Debian):", ...base.map(([k, v]) => `${k} ${v}`), "# Tuning:", ...typed.map(([k, v]) => `${k} ${v}`), ""].join("\n");
}
