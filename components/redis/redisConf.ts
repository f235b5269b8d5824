/**
 * Pure: typed Redis settings → redis.conf text in Redis's own directive names, in a fixed order,
 * with maxmemory resolved to bytes. No Pulumi import.
 */
import { createHash } from "node:crypto";
import { maxmemoryBytes, redisBytes, RedisSettings } from "./settings";

const yesno = (b: boolean) => (b ? "yes" : "no");

/** [directive, value] pairs in the order they are written (only the settings that are set). */
export function redisDirectives(s: RedisSettings): Array<[string, string]> {
    const d: Array<[string, string]> = [];
    const put = (k: string, v: string | number | boolean | undefined) => {
        if (v !== undefined) d.push([k, typeof v === "boolean" ? yesno(v) : String(v)]);
    };
    put("bind", s.bind?.join(" "));
    put("port", s.port);
    put("tcp-backlog", s.tcpBacklog);
    put("timeout", s.timeout);
    put("tcp-keepalive", s.tcpKeepalive);
    put("maxclients", s.maxclients);
    put("maxmemory", maxmemoryBytes(s));
    put("maxmemory-policy", s.maxmemoryPolicy);
    put("maxmemory-samples", s.maxmemorySamples);
    put("activedefrag", s.activedefrag);
    put("active-defrag-ignore-bytes", s.activeDefragIgnoreBytes === undefined ? undefined : redisBytes(s.activeDefragIgnoreBytes));
    put("active-defrag-threshold-lower", s.activeDefragThresholdLower);
    put("active-defrag-threshold-upper", s.activeDefragThresholdUpper);
    put("io-threads", s.ioThreads);
    put("io-threads-do-reads", s.ioThreadsDoReads);
    put("appendonly", s.appendonly);
    put("appendfsync", s.appendfsync);
    put("no-appendfsync-on-rewrite", s.noAppendfsyncOnRewrite);
    put("auto-aof-rewrite-percentage", s.autoAofRewritePercentage);
    put("auto-aof-rewrite-min-size", s.autoAofRewriteMinSize === undefined ? undefined : redisBytes(s.autoAofRewriteMinSize));
    put("aof-rewrite-incremental-fsync", s.aofRewriteIncrementalFsync);
    put("aof-use-rdb-preamble", s.aofUseRdbPreamble);
    if (s.save !== undefined) d.push(["save", s.save.length === 0 ? '""' : s.save.map(([sec, n]) => `${sec} ${n}`).join(" ")]);
    put("lazyfree-lazy-eviction", s.lazyfreeLazyEviction);
    put("lazyfree-lazy-expire", s.lazyfreeLazyExpire);
    put("lazyfree-lazy-server-del", s.lazyfreeLazyServerDel);
    put("lazyfree-lazy-user-del", s.lazyfreeLazyUserDel);
    put("hz", s.hz);
    put("slowlog-log-slower-than", s.slowlogLogSlowerThan);
    put("slowlog-max-len", s.slowlogMaxLen);
    return d;
}

export function renderRedisConf(s: RedisSettings): string {
    return ["# Managed by conntune: rendered from typed settings; edit the stack config, not this file.", ...redisDirectives(s).map(([k, v]) => `${k} ${v}`), ""].join("\n");
}

/** sha256 of the rendered config: put on the pod template so a change rolls the pods. */
export function configChecksum(conf: string): string {
    return createHash("sha256").update(conf).digest("hex");
}

/**
 * Directives that CONFIG SET cannot change on a running Redis 7 (a restart is needed); everything
 * else conntune writes can be applied live.
 */
export const RESTART_ONLY = new Set(["tcp-backlog", "io-threads", "io-threads-do-reads"]);

/**
 * A shell check that a redis-server binary accepts `activedefrag yes` (Debian's build does not: it
 * lacks Redis's own jemalloc). Exit 0 = supported (the server kept running until `timeout` stopped
 * it); otherwise it prints the server's own reason. Never used to drop the directive silently. It
 * listens on a Unix socket in a temp dir only: with no port and no socket Redis exits at once ("not
 * listen anywhere"), which would read as "unsupported". (On a host, components/redisHost/hooks.sh runs
 * the same check as the service's user.)
 */
export const ACTIVEDEFRAG_PROBE = `d=$(mktemp -d); out=$(timeout 2 redis-server --port 0 --unixsocket "$d/redis.sock" --dir "$d" --save '' --appendonly no --activedefrag yes 2>&1); rc=$?; rm -rf "$d"
if [ "$rc" = 124 ]; then exit 0; fi
echo "this redis-server does not support activedefrag: $( { printf '%s' "$out" | grep -m1 -i jemalloc || printf '%s' "$out" | grep -m1 -i -E 'cannot|error'; } | sed 's/^[0-9:. *#-]*//')"; exit 1`;

/** The message when a config asks for activedefrag and the target Redis cannot do it. */
export function activedefragUnsupported(reason: string): string {
    return `activedefrag: yes needs a Redis built with its own jemalloc (the official image is; Debian's redis-server is not): ${reason.trim()}. Set activedefrag: false or use a Redis that supports it.`;
}
