/**
 * What the Redis client libraries do when a setting is left out, read from their source (not
 * guessed): redis-py `redis/connection.py` (ConnectionPool.__init__) and `redis/client.py`, go-redis
 * `options.go` (Options.init, NewDialer) and `internal/pool/pool.go`. Their defaults changed over
 * time, so they are keyed by version. Pure data, no Pulumi import.
 */

/** The client libraries conntune knows the defaults of; `generic` knows none (declare every number). */
export const CLIENT_LIBRARIES = ["redis-py", "go-redis", "generic"] as const;
export type ClientLibrary = (typeof CLIENT_LIBRARIES)[number];

/** redis-py ConnectionPool's max_connections before 8.0: `max_connections or 2**31`. */
export const REDIS_PY_UNBOUNDED = 2 ** 31;

/** What a library does by default, for one version range. Times in seconds; `null` means "none, never". */
export interface LibraryDefaults {
    /** Which versions, in words (the messages quote it). */
    versions: string;
    /**
     * Pool size per process when not set: a number, `gomaxprocs` (go-redis: 10 × GOMAXPROCS),
     * or `unbounded` (redis-py before 8.0: 2**31).
     */
    poolSize: number | "gomaxprocs" | "unbounded" | "required";
    /** Idle connections are closed after this long (go-redis ConnMaxIdleTime); null: never (no such setting). */
    idleTimeoutSeconds: number | null;
    /** Whether the library has an idle timeout setting at all (redis-py has none). */
    hasIdleTimeout: boolean;
    /** Whether the library keeps a minimum of idle connections (go-redis MinIdleConns; redis-py has none). */
    hasMinIdle: boolean;
    /** TCP keepalive: off, on with this idle time, on with the kernel's net.ipv4.tcp_keepalive_time, or unknown. */
    keepalive: { enabled: false } | { enabled: true; idleSeconds: number | "kernel" } | "unknown";
    /** Read timeout (null: a read blocks until the socket fails). */
    readTimeoutSeconds: number | null;
    /** Connect timeout (null: the kernel's SYN retries, about 2 minutes). */
    connectTimeoutSeconds: number | null;
    /** The setting names in the library (for messages). */
    names: { poolSize: string; minIdle?: string; idleTimeout?: string; keepalive: string; readTimeout: string; connectTimeout: string };
}

const REDIS_PY_NAMES = { poolSize: "max_connections", keepalive: "socket_keepalive", readTimeout: "socket_timeout", connectTimeout: "socket_connect_timeout" };
const GO_REDIS_NAMES = { poolSize: "PoolSize", minIdle: "MinIdleConns", idleTimeout: "ConnMaxIdleTime", keepalive: "Dialer (net.Dialer KeepAlive)", readTimeout: "ReadTimeout", connectTimeout: "DialTimeout" };

/** Parsed `MAJOR.MINOR[.PATCH]`, or undefined when no version is declared. */
export function parseVersion(v: string | undefined): [number, number] | undefined {
    if (v === undefined) return undefined;
    const m = /^v?(\d+)\.(\d+)/.exec(v);
    return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const atLeast = (v: [number, number] | undefined, major: number, minor = 0) => v !== undefined && (v[0] > major || (v[0] === major && v[1] >= minor));

/**
 * The defaults of `library` at `version` (undefined: the older behaviour, the one seeds 000 and
 * 003 ran: redis-py before 8.0, go-redis v9 before 9.22).
 */
export function libraryDefaults(library: ClientLibrary, version?: string): LibraryDefaults {
    const v = parseVersion(version);
    if (library === "redis-py") {
        // redis-py 8.0 changed them: ConnectionPool max_connections `or 100`, socket_timeout 5, socket_keepalive True (idle 30 s).
        if (atLeast(v, 8)) {
            return { versions: "redis-py 8.0 and later", poolSize: 100, idleTimeoutSeconds: null, hasIdleTimeout: false, hasMinIdle: false, keepalive: { enabled: true, idleSeconds: 30 }, readTimeoutSeconds: 5, connectTimeoutSeconds: 5, names: REDIS_PY_NAMES };
        }
        return { versions: "redis-py before 8.0", poolSize: "unbounded", idleTimeoutSeconds: null, hasIdleTimeout: false, hasMinIdle: false, keepalive: { enabled: false }, readTimeoutSeconds: null, connectTimeoutSeconds: null, names: REDIS_PY_NAMES };
    }
    if (library === "go-redis") {
        // v8: IdleTimeout 5 min; v9: ConnMaxIdleTime 30 min; 9.22 aligned the timeouts (ReadTimeout 5 s, keepalive 30 s idle).
        if (v !== undefined && v[0] < 9) {
            return { versions: "go-redis v8", poolSize: "gomaxprocs", idleTimeoutSeconds: 300, hasIdleTimeout: true, hasMinIdle: true, keepalive: { enabled: true, idleSeconds: 300 }, readTimeoutSeconds: 3, connectTimeoutSeconds: 5, names: { ...GO_REDIS_NAMES, idleTimeout: "IdleTimeout" } };
        }
        if (atLeast(v, 9, 22)) {
            return { versions: "go-redis 9.22 and later", poolSize: "gomaxprocs", idleTimeoutSeconds: 1800, hasIdleTimeout: true, hasMinIdle: true, keepalive: { enabled: true, idleSeconds: 30 }, readTimeoutSeconds: 5, connectTimeoutSeconds: 5, names: GO_REDIS_NAMES };
        }
        return { versions: "go-redis v9 before 9.22", poolSize: "gomaxprocs", idleTimeoutSeconds: 1800, hasIdleTimeout: true, hasMinIdle: true, keepalive: { enabled: true, idleSeconds: 300 }, readTimeoutSeconds: 3, connectTimeoutSeconds: 5, names: GO_REDIS_NAMES };
    }
    return {
        versions: "a generic client",
        poolSize: "required",
        idleTimeoutSeconds: null,
        hasIdleTimeout: true,
        hasMinIdle: true,
        keepalive: "unknown",
        readTimeoutSeconds: null,
        connectTimeoutSeconds: null,
        names: { poolSize: "max connections", minIdle: "min idle", idleTimeout: "idle timeout", keepalive: "TCP keepalive", readTimeout: "read timeout", connectTimeout: "connect timeout" },
    };
}

/** Redis's own defaults for the server settings the budget reads (redis.conf shipped with Redis 7). */
export const REDIS_SERVER_DEFAULTS = { maxclients: 10000, timeout: 0, tcpKeepalive: 300, port: 6379 } as const;

/** The kernel's net.ipv4.tcp_keepalive_time when nothing sets it (also in every new network namespace). */
export const KERNEL_KEEPALIVE_TIME = 7200;
