/**
 * The Redis-on-a-host kind in one place (seed 002): its settings, schema, renderer and hooks, and
 * the one file it writes, the whole redis.conf. RedisServerConfig (component.ts) and the README are
 * driven by it.
 */
import type { HostFacts, HostKindDescription, KindFile } from "../core/kind";
import { RESTART_ONLY } from "../redis/redisConf";
import { redisHooks } from "./hooks";
import { KEPT_DIRECTIVES, KEPT_MARK, renderHostRedisConf } from "./render";
import { hostRedisSchema, HostRedisSettings, hostRedisSettings } from "./schema";

export const redisHostKind = {
    configKey: "hosts[i].redis",
    component: "RedisServerConfig",
    token: "conntune:host:RedisServerConfig",
    settings: hostRedisSettings,
    schema: hostRedisSchema,
    render: renderHostRedisConf,
    hooks: redisHooks,
    /** redis.conf; with a password (redis.auth) the apply reads it from stdin's first line. */
    files(r: HostRedisSettings, host: HostFacts): KindFile[] {
        const withPassword = r.auth !== undefined && host.redisPassword === true;
        return [
            {
                suffix: "conf",
                path: r.path,
                mode: "0640",
                content: renderHostRedisConf(r),
                vars: {
                    CT_REDIS_PORT: r.settings.port ?? 6379,
                    CT_REDIS_SERVICE: r.service,
                    CT_REDIS_RESTART_ONLY: [...RESTART_ONLY].join(";"),
                    CT_REDIS_ACTIVEDEFRAG: r.settings.activedefrag ? "yes" : "no",
                    CT_REDIS_KEEP: KEPT_DIRECTIVES.join("|"),
                    CT_REDIS_KEPT_MARK: KEPT_MARK,
                    CT_REDIS_USER: r.auth?.user ?? "",
                    CT_REDIS_SECRET_NAME: withPassword ? r.auth!.passwordSecret : "",
                    CT_STDIN_SECRET: withPassword ? 1 : 0,
                },
                hooks: redisHooks(),
                deleteBeforeReplace: true,
            },
        ];
    },
} satisfies HostKindDescription<HostRedisSettings>;
