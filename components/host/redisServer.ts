/**
 * RedisServerConfig (seed 002): the whole redis.conf of a Redis on a Linux host, through the shared
 * managed-file mechanism. Validated by starting the host's own redis-server with the candidate on a
 * spare loopback port (persistence off, temp dir); applied with CONFIG SET where Redis allows it and
 * a restart only for the directives it refuses at runtime (the output says which); verified with
 * CONFIG GET. Destroy restores the original file and restarts the service.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostRedisSettings } from "../config";
import { ACTIVEDEFRAG_PROBE, redisDirectives, RESTART_ONLY } from "../redis/redisConf";
import { HostConnection } from "./connection";
import { redisHooks } from "./hooks";
import { ManagedFile } from "./managedFile";
import { HEADER } from "./render";

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

/** Pure: the full redis.conf for a host (base layout, then the typed settings). */
export function renderHostRedisConf(r: HostRedisSettings): string {
    const typed = redisDirectives(r.settings);
    const set = new Set(typed.map(([k]) => k));
    const base = DEBIAN_BASE.filter(([k]) => !set.has(k));
    return [HEADER, "# Base layout (Debian):", ...base.map(([k, v]) => `${k} ${v}`), "# Tuning:", ...typed.map(([k, v]) => `${k} ${v}`), ""].join("\n");
}

export interface RedisServerConfigArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Repair tokens by path (see ManagedFile). */
    repair?: Record<string, string>;
    /** Validated settings (components/config.ts `hostRedisSchema`). */
    settings: HostRedisSettings;
}

export class RedisServerConfig extends pulumi.ComponentResource {
    /** CONFIG GET values of every directive, and which were applied live or needed a restart. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: RedisServerConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        super("conntune:host:RedisServerConfig", name, {}, opts);
        const r = args.settings;
        this.path = r.path;
        this.content = renderHostRedisConf(r);
        const file = new ManagedFile(
            `${name}-conf`,
            {
                connection: args.connection,
                repair: args.repair,
                content: this.content,
                deleteBeforeReplace: true,
                spec: {
                    path: r.path,
                    mode: "0640",
                    vars: {
                        CT_REDIS_PORT: r.settings.port ?? 6379,
                        CT_REDIS_SERVICE: r.service,
                        CT_REDIS_RESTART_ONLY: [...RESTART_ONLY].join(";"),
                        CT_REDIS_ACTIVEDEFRAG: r.settings.activedefrag ? "yes" : "no",
                    },
                    hooks: redisHooks(ACTIVEDEFRAG_PROBE),
                },
            },
            { parent: this },
        );
        this.effective = file.values.apply(({ changed: _c, ...rest }) => rest);
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
