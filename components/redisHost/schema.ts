/**
 * Redis on a host (seed 002), schema first: where its redis.conf may be, the service, how conntune
 * logs in, and the Redis settings shared with the ConfigMap (components/redis). Pure zod.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { configKeyName, unitName } from "../core/schema";
import { budgetSettings } from "../budget/schema";
import { redisSettingsSchema } from "../redis/settings";

/**
 * Where a host's redis.conf may live (Debian/Ubuntu, RHEL/Fedora, source installs, Redis Stack): conntune
 * writes it as root and restarts Redis, so a path elsewhere (/etc/ld.so.conf) would overwrite a system file.
 */
export const REDIS_CONF_DIRS = ["/etc/redis/", "/etc/redis.conf", "/usr/local/etc/redis/", "/etc/redis-stack.conf", "/opt/redis-stack/etc/"];

/** How conntune logs in to a Redis that requires it: `hosts[i].redis.auth`. */
export const redisAuthSettings = {
    passwordSecret: setting(configKeyName, { allowed: "name of the secret config key holding the Redis password", reason: "the password stays a Pulumi secret (`pulumi config set --secret NAME`)" }),
    user: setting(z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, "must be a Redis ACL user name (letters, digits, _ . @ -; at most 64)").optional(), {
        allowed: "a Redis ACL user (needs `+config|get +config|set +ping`)",
        shownDefault: "`default`",
        reason: "an ACL user; default: Redis's `default` user (the one `requirepass` sets)",
    }),
};

/** Redis on a host: `hosts[i].redis`. */
export const hostRedisSettings = {
    enabled: setting(z.boolean().default(true), { allowed: "boolean", reason: "write redis.conf (false: leave Redis alone)" }),
    path: setting(
        z
            .string()
            .regex(/^\/(?:[A-Za-z0-9_.@-]+\/)*[A-Za-z0-9_.@-]+\.conf$/, "must be an absolute path to a .conf file")
            .refine((p) => !p.split("/").some((seg) => seg === "." || seg === "..") && REDIS_CONF_DIRS.some((d) => (d.endsWith("/") ? p.startsWith(d) && !p.slice(d.length).includes("/") : p === d)), {
                // Directly in those directories, not below: /etc/redis belongs to the redis account, which
                // could swap a subdirectory for a link to another directory of root's.
                message: `must be a .conf file directly in Redis's own configuration directories: ${REDIS_CONF_DIRS.map((d) => (d.endsWith("/") ? `${d}…` : d)).join(", ")} (no subdirectory)`,
                when: (p) => p.issues.length === 0,
            })
            .default("/etc/redis/redis.conf"),
        {
            allowed: "a `.conf` file in Redis's own directories: `/etc/redis/…`, `/etc/redis.conf`, `/usr/local/etc/redis/…`, `/etc/redis-stack.conf`, `/opt/redis-stack/etc/…`",
            reason: "the config file the service reads",
        },
    ),
    service: setting(unitName.default("redis-server.service"), { allowed: "systemd unit name", reason: "the unit running it" }),
    auth: setting(z.object(shape(redisAuthSettings)).strict().optional(), {
        allowed: "`{ passwordSecret, user }`",
        reason: "how conntune logs in to a Redis that requires it (the host's own auth lines stay in the file, never in conntune's state)",
        nested: redisAuthSettings,
    }),
    settings: setting(redisSettingsSchema, { allowed: "the Redis settings below", shownDefault: "—", reason: "seed 002's redis.conf" }),
    runsOn: setting(z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, "must be a host name (lowercase letters, digits, . -)").optional(), {
        allowed: "a host name, only with `enabled: false`",
        reason: "the Redis these clients use runs on another machine (seed 000: redfin's clients, bluefin's Redis): a budget-only target, `settings` say what that server runs; conntune never contacts it",
    }),
    ...budgetSettings,
};

/** Redis on the host itself (seed 002): the whole redis.conf, applied live where Redis allows; or, with `runsOn`, the Redis elsewhere that this host's clients use. */
export const hostRedisSchema = z
    .object(shape(hostRedisSettings))
    .strict()
    .superRefine((r, ctx) => {
        // conntune writes redis.conf only on the host it logs in to: a Redis elsewhere is described, never managed.
        if (r.runsOn !== undefined && r.enabled) ctx.addIssue({ code: "custom", path: ["runsOn"], message: `names another machine (${r.runsOn}), whose redis.conf conntune cannot write: set enabled: false (a budget-only target)` });
    });

export type HostRedisSettings = z.infer<typeof hostRedisSchema>;
