/**
 * RedisServerConfig (seed 002): the whole redis.conf of a Redis on a Linux host, through the shared
 * managed-file mechanism. Validated by starting the host's own redis-server with the candidate as the
 * service's user (redis), on no TCP port (a Unix socket in a private temp dir), persistence off;
 * applied with CONFIG SET where Redis allows it and a restart only for the directives it refuses at
 * runtime (the output says which); verified with CONFIG GET. Destroy restores the original file and
 * restarts the service.
 *
 * Authentication: the host's own auth lines (requirepass, user, aclfile, masterauth, masteruser,
 * rename-command) are carried over host-side into every new file, below KEPT_MARK: they never pass
 * through conntune, its state or its diff, and a rewrite can never drop them. To log in, redis-cli
 * gets the password (`redis.auth.passwordSecret`) in its environment (REDISCLI_AUTH), never in argv;
 * it reaches the host as the first line of stdin, read before the file content.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostRedisSettings } from "../config";
import { redisDirectives, RESTART_ONLY } from "../redis/redisConf";
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

export interface RedisServerConfigArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Validated settings (components/config.ts `hostRedisSchema`). */
    settings: HostRedisSettings;
    /** The Redis password (`settings.auth.passwordSecret`), a secret: given to redis-cli in its environment only. */
    password?: pulumi.Input<string>;
}

/**
 * stdin of the apply: the password line first (read by the script before the content, so it can
 * never become file content), all of it secret.
 */
export function stdinWithSecret(password: pulumi.Input<string>, content: string, field: string): pulumi.Output<string> {
    return pulumi.secret(
        pulumi.output(password).apply((pw) => {
            if (/[\r\n\0]/.test(pw) || pw === "") throw new Error(`${field}: the Redis password must be one non-empty line`);
            return `${pw}\n${content}`;
        }),
    );
}

export class RedisServerConfig extends pulumi.ComponentResource {
    /** CONFIG GET values of every directive, and which were applied live or needed a restart. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: RedisServerConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        super("conntune:host:RedisServerConfig", name, {}, opts);
        const r = args.settings;
        const auth = r.auth;
        this.path = r.path;
        this.content = renderHostRedisConf(r);
        const file = new ManagedFile(
            `${name}-conf`,
            {
                connection: args.connection,
                content: auth && args.password !== undefined ? stdinWithSecret(args.password, this.content, `conntune:${auth.passwordSecret}`) : this.content,
                deleteBeforeReplace: true,
                spec: {
                    path: r.path,
                    mode: "0640",
                    vars: {
                        CT_REDIS_PORT: r.settings.port ?? 6379,
                        CT_REDIS_SERVICE: r.service,
                        CT_REDIS_RESTART_ONLY: [...RESTART_ONLY].join(";"),
                        CT_REDIS_ACTIVEDEFRAG: r.settings.activedefrag ? "yes" : "no",
                        CT_REDIS_KEEP: KEPT_DIRECTIVES.join("|"),
                        CT_REDIS_KEPT_MARK: KEPT_MARK,
                        CT_REDIS_USER: auth?.user ?? "",
                        CT_REDIS_SECRET_NAME: auth && args.password !== undefined ? auth.passwordSecret : "",
                        CT_STDIN_SECRET: auth && args.password !== undefined ? 1 : 0,
                    },
                    hooks: redisHooks(),
                },
            },
            { parent: this },
        );
        this.effective = file.values.apply(({ changed: _c, ...rest }) => rest);
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
