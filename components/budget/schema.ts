/**
 * The declared clients of a Redis target (issue 13): who connects, with which library and pool, how
 * many processes, and the connections kept free for everyone else. Schema first, a reason per
 * setting; the rules that need only one client live here, the arithmetic across clients and the
 * server in budget.ts. Pure zod.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { int } from "../core/schema";
import { CLIENT_LIBRARIES, libraryDefaults, REDIS_PY_UNBOUNDED } from "./libraries";

const seconds = (max: number) => z.number({ error: `must be a number of seconds from 0 to ${max}` }).min(0, `must be from 0 to ${max} seconds`).max(max, `must be from 0 to ${max} seconds`);
const positiveSeconds = (max: number) => z.number({ error: `must be a number of seconds above 0, at most ${max}` }).gt(0, `must be above 0 (at most ${max} seconds)`).max(max, `must be at most ${max} seconds`);

/** TCP keepalive of a client's sockets: `clients[j].keepalive`. */
export const clientKeepaliveSettings = {
    enabled: setting(z.boolean(), { allowed: "boolean", reason: "whether the client's sockets use TCP keepalive (redis-py `socket_keepalive`; go-redis: always, from its dialer)" }),
    idleSeconds: setting(int(1, 32767).optional(), {
        allowed: "1–32767",
        shownDefault: "the library's",
        reason: "seconds of silence before the first probe (redis-py `socket_keepalive_options` TCP_KEEPIDLE; go-redis: a custom Dialer); unset with a library that sets none: the host's `net.ipv4.tcp_keepalive_time`",
    }),
};

/** One client of a Redis target: `hosts[i].redis.clients[j]`, `conntune:redis.clients[j]`. */
export const clientSettings = {
    name: setting(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be a name of letters, digits, _ . - (at most 63)"), { allowed: "letters, digits, `_ . -`", reason: "who it is, in messages and the budget table (seed 003: miner, relayer)" }),
    library: setting(z.enum(CLIENT_LIBRARIES, { error: `must be one of ${CLIENT_LIBRARIES.join(", ")}` }), {
        allowed: "`redis-py`, `go-redis`, `generic`",
        reason: "whose defaults apply when a number is left out (generic: none, declare them)",
    }),
    version: setting(z.string({ error: 'must be the library\'s version as a quoted string, e.g. "9.7" (YAML reads 9.10 as 9.1)' }).regex(/^v?\d+\.\d+(\.\d+)?$/, 'must be a version like "9.7" or "7.4.1"').optional(), {
        allowed: 'quoted `"MAJOR.MINOR"`',
        shownDefault: "older defaults",
        reason: "the defaults changed: redis-py 8.0 (max_connections 100, timeouts 5 s, keepalive on), go-redis 9.22 (keepalive 30 s); unset: the older ones the seeds ran",
    }),
    poolSize: setting(int(1, 1000000).optional(), {
        allowed: "1–1000000",
        shownDefault: "the library's",
        reason: "most connections one process's pool opens (redis-py `max_connections`, go-redis `PoolSize`); seed 000: 10, seed 003: 200",
    }),
    gomaxprocs: setting(int(1, 4096).optional(), {
        allowed: "1–4096, go-redis only",
        reason: "go-redis's default PoolSize is 10 × GOMAXPROCS: the CPUs the process sees (seed 003: 16 → 160; Go 1.25+: the container's CPU limit)",
    }),
    dedicatedConns: setting(int(0, 100000).default(0), {
        allowed: "0–100000",
        reason: "connections a process opens outside its pool (go-redis: each PubSub dials its own), counted on top of poolSize",
    }),
    minIdleConns: setting(int(0, 1000000).optional(), {
        allowed: "0–1000000, at most the pool; not redis-py",
        shownDefault: "0",
        reason: "idle connections a process keeps open (go-redis `MinIdleConns`; seed 003: 50): the steady minimum the monitor sees",
    }),
    replicas: setting(int(1, 100000).default(1), { allowed: "1–100000", reason: "processes or pods that each hold a pool (a pool is per process)" }),
    surge: setting(int(0, 100000).default(0), { allowed: "0–100000", reason: "extra processes during a rollout (a Deployment's maxSurge): old and new pools are open together" }),
    idleTimeoutSeconds: setting(seconds(31536000).optional(), {
        allowed: "seconds; 0 never; not redis-py",
        shownDefault: "the library's",
        reason: "idle pooled connections are closed after this (go-redis `ConnMaxIdleTime`, default 30 min; seed 003: 5 min): keep it below the server's `timeout`",
    }),
    connectTimeoutSeconds: setting(positiveSeconds(3600).optional(), { allowed: "seconds above 0", shownDefault: "the library's", reason: "redis-py `socket_connect_timeout`, go-redis `DialTimeout` (seed 000: 5)" }),
    readTimeoutSeconds: setting(positiveSeconds(86400).optional(), { allowed: "seconds above 0", shownDefault: "the library's", reason: "redis-py `socket_timeout`, go-redis `ReadTimeout` (seed 000: 5): without one, a read from a dead server blocks" }),
    keepalive: setting(z.object(shape(clientKeepaliveSettings)).strict().optional(), {
        allowed: "`{ enabled, idleSeconds }`",
        shownDefault: "the library's",
        reason: "TCP keepalive of the client's sockets: how soon it finds a dead server or a dropped NAT entry",
        nested: clientKeepaliveSettings,
    }),
};

/** A declared client, one library's rules checked (the budget across clients is budget.ts's). */
export const clientSchema = z
    .object(shape(clientSettings))
    .strict()
    .superRefine((c, ctx) => {
        const d = libraryDefaults(c.library, c.version);
        if (c.gomaxprocs !== undefined && c.library !== "go-redis") ctx.addIssue({ code: "custom", path: ["gomaxprocs"], message: `is only used for go-redis's default PoolSize (library is ${c.library}): remove it` });
        if (c.poolSize === undefined) {
            if (d.poolSize === "gomaxprocs" && c.gomaxprocs === undefined) {
                ctx.addIssue({ code: "custom", path: ["poolSize"], message: "required for go-redis unless gomaxprocs is given: its default PoolSize is 10 × GOMAXPROCS (seed 003: 10 × 16 = 160)" });
            } else if (d.poolSize === "unbounded") {
                ctx.addIssue({
                    code: "custom",
                    path: ["poolSize"],
                    message: `required for ${d.versions}: its ConnectionPool's default max_connections is 2**31 = ${REDIS_PY_UNBOUNDED.toLocaleString("en-US")} per process, effectively unbounded; set poolSize to the pool's max_connections (seed 000: 10), or version "8.0" or later (default 100)`,
                });
            } else if (d.poolSize === "required") {
                ctx.addIssue({ code: "custom", path: ["poolSize"], message: "required for a generic client: conntune knows no default for it" });
            }
        }
        if (!d.hasMinIdle && c.minIdleConns !== undefined && c.minIdleConns > 0) {
            ctx.addIssue({ code: "custom", path: ["minIdleConns"], message: `${c.library} has no minimum of idle connections (its pool opens them on demand): remove minIdleConns` });
        }
        if (!d.hasIdleTimeout && c.idleTimeoutSeconds !== undefined) {
            ctx.addIssue({ code: "custom", path: ["idleTimeoutSeconds"], message: `${c.library}'s ConnectionPool has no idle timeout (idle connections stay open until the server's timeout closes them): remove idleTimeoutSeconds` });
        }
        const pool = c.poolSize ?? (d.poolSize === "gomaxprocs" && c.gomaxprocs !== undefined ? 10 * c.gomaxprocs : typeof d.poolSize === "number" ? d.poolSize : undefined);
        if (pool !== undefined && c.minIdleConns !== undefined && c.minIdleConns > pool) {
            ctx.addIssue({ code: "custom", path: ["minIdleConns"], message: `${c.minIdleConns} exceeds the pool (${c.poolSize !== undefined ? `poolSize ${pool}` : `default ${pool}`}): a pool keeps at most ${pool} connections` });
        }
        if (c.keepalive && !c.keepalive.enabled && c.keepalive.idleSeconds !== undefined) {
            ctx.addIssue({ code: "custom", path: ["keepalive", "idleSeconds"], message: "is only used with keepalive.enabled: true: remove it or enable keepalive" });
        }
    });

export type ClientConfig = z.infer<typeof clientSchema>;

/** The clients of one target: names unique (they key the budget table). */
export const clientsSchema = z.array(clientSchema).superRefine((cs, ctx) => {
    const seen = new Map<string, number>();
    cs.forEach((c, j) => {
        const first = seen.get(c.name);
        if (first !== undefined) ctx.addIssue({ code: "custom", path: [j, "name"], message: `duplicate client name ${c.name} (also clients[${first}])` });
        else seen.set(c.name, j);
    });
});

/**
 * The budget settings of a Redis target, part of `hosts[i].redis` and `conntune:redis`. The reserve:
 * Redis counts every connection against maxclients, its operators' too.
 */
export const budgetSettings = {
    clients: setting(clientsSchema.default([]), {
        allowed: "a list of clients (see the table below)",
        reason: "who connects and with what pool: the connection budget is checked at preview (see Connection budget)",
    }),
    clientsReserve: setting(int(0, 1000000).default(32), {
        allowed: "0–1000000, below maxclients",
        reason: "connections kept free for everyone not declared: replicas (1 each), Sentinels (2 each), an exporter, the monitor, operators' redis-cli",
    }),
};

export type BudgetSettings = { clients: ClientConfig[]; clientsReserve: number };
