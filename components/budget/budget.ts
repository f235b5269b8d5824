/**
 * The connection budget of each Redis target (issue 13 part 1), pure: the declared clients' most
 * connections against maxclients minus a reserve, their idle timeouts against the server's
 * `timeout`, their TCP keepalive against the server's `tcp-keepalive` and the kernel's
 * `net.ipv4.tcp_keepalive_time`, and their idle minimum and maximum against the monitor's levels.
 * Errors where the numbers cannot work (preview fails), warnings where they are risky (preview
 * shows them); every message names the fields and shows the arithmetic. No Pulumi import: the
 * stack schema (config.ts), the program's output (output.ts), the live check and the policy pack
 * all read the same result.
 */
import type { StackConfig } from "../config";
import type { MonitorSettings } from "../monitor/schema";
import type { RedisSettings } from "../redis/settings";
import { sysctlEntries } from "../sysctl/render";
import type { SysctlSettings } from "../sysctl/schema";
import { KERNEL_KEEPALIVE_TIME, libraryDefaults, LibraryDefaults, REDIS_PY_UNBOUNDED, REDIS_SERVER_DEFAULTS } from "./libraries";
import type { ClientConfig } from "./schema";

/** A config path, e.g. `["hosts", 0, "redis", "clients", 1, "poolSize"]`. */
export type ConfigPath = (string | number)[];

/** One finding: the field it is about and what is wrong, with the arithmetic. */
export interface BudgetIssue {
    path: ConfigPath;
    message: string;
}

/** Where the kernel keepalive time of the clients' sockets comes from. */
export interface KernelKeepalive {
    seconds: number;
    /** In words, e.g. "net.ipv4.tcp_keepalive_time 600 on redfin (hosts[0].sysctl, preset keepalive)". */
    source: string;
    /** The config field that sets it (or would). */
    path: ConfigPath;
}

/** One Redis target and its declared clients: what budgetFor needs (budgetTargets builds them from the stack config). */
export interface BudgetTarget {
    /** The key of the stack output: the host's name, or the ConfigMap's name. */
    target: string;
    kind: "host" | "configmap";
    /** Config path of the target's Redis section: `["hosts", 0, "redis"]` or `["redis"]`. */
    path: ConfigPath;
    /** The server's settings (only maxclients, timeout, tcpKeepalive and port are read). */
    server: Pick<RedisSettings, "maxclients" | "timeout" | "tcpKeepalive" | "port">;
    /** The Redis runs elsewhere (`hosts[i].redis.runsOn`): the clients on this host use it; conntune manages no file of it. */
    runsOn?: string;
    /** Connections kept free (clientsReserve). */
    reserve: number;
    clients: ClientConfig[];
    /** The kernel keepalive time where the clients' sockets live (the host's sysctl, or a pod's default). */
    kernel: KernelKeepalive;
    /**
     * The open-files limit of the Redis service when the stack sets it (a systemdOverride's
     * LimitNOFILE on that unit): Redis lowers maxclients to it minus 32 at start.
     */
    fdLimit?: { limit: number; soft?: number; path: ConfigPath };
    /** The host's monitor when it alerts on this Redis's port, with its config path. */
    monitor?: { settings: Pick<MonitorSettings, "healthyMax" | "warningMax" | "leakMax" | "criticalAction">; path: ConfigPath };
}

/** One client's line of the budget. */
export interface BudgetClient {
    name: string;
    library: string;
    version?: string;
    /** Pool size per process (declared or the library's default). */
    poolSize: number;
    /** Where poolSize comes from, e.g. "declared" or "go-redis default 10 × GOMAXPROCS 16". */
    poolSizeFrom: string;
    /** Connections outside the pool per process. */
    dedicatedConns: number;
    /** Most connections of one process: poolSize + dedicatedConns. */
    perProcess: number;
    replicas: number;
    surge: number;
    /** Most connections of all its processes during a rollout: perProcess × (replicas + surge). */
    maxConnections: number;
    /** Idle connections always open: minIdleConns × replicas. */
    minIdle: number;
    /** maxConnections as a percentage of maxclients (one decimal). */
    share: number;
}

/** The budget of one Redis target: the stack output `budget.<target>` holds it. */
export interface Budget {
    target: string;
    kind: "host" | "configmap";
    /** Where the Redis runs when not on the target host (`runsOn`). */
    runsOn?: string;
    port: number;
    /** The server's effective maxclients (Redis default 10000 when unset; lowered to an open-files limit − 32). */
    maxclients: number;
    /** Where maxclients comes from, e.g. "settings.maxclients", "Redis default", or the LimitNOFILE that lowers it. */
    maxclientsFrom: string;
    /** clientsReserve. */
    reserve: number;
    /** maxclients − reserve. */
    available: number;
    clients: BudgetClient[];
    /** Σ maxConnections (with rollout surge). */
    total: number;
    /** Σ perProcess × replicas: all pools full, no rollout. */
    steadyMax: number;
    /** Σ minIdleConns × replicas: always open. */
    steadyMin: number;
    /** total as a percentage of maxclients (one decimal). */
    share: number;
    /** `conntune:<field>: <message>` lines that fail the preview. */
    errors: string[];
    /** `conntune:<field>: <message>` lines the preview shows as warnings. */
    warnings: string[];
    /** The budget as a small text table, line by line. */
    table: string[];
}

const n = (x: number) => x.toLocaleString("en-US");
const pct = (part: number, whole: number) => Math.round((part / whole) * 1000) / 10;
const plural = (k: number, word: string) => `${n(k)} ${word}${k === 1 ? "" : "s"}`;

/** `conntune:hosts[0].redis.clients[1].poolSize` from a path. */
export function fieldPath(path: ConfigPath, prefix = "conntune:"): string {
    return path.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc === prefix ? `${acc}${seg}` : `${acc}.${seg}`), prefix);
}

/** A path relative to the stack, in words for a message (`hosts[0].redis.settings.timeout`). */
const rel = (path: ConfigPath) => fieldPath(path, "");

/** Redis keeps 32 descriptors for itself (CONFIG_MIN_RESERVED_FDS) and lowers maxclients to fit its open-files limit. */
export const REDIS_RESERVED_FDS = 32;

/**
 * The open files Redis runs with under the limit `soft`:`hard` when it wants `wanted` (maxclients + 32):
 * at start it raises soft and hard together to `wanted`, else to the largest of wanted − 16, − 32, …
 * the hard limit allows, never below the soft limit (server.c adjustOpenFilesLimit, as an unprivileged user).
 */
export function redisOpenFiles(wanted: number, soft: number, hard: number): number {
    if (soft >= wanted || hard >= wanted) return wanted;
    const best = wanted - 16 * Math.ceil((wanted - hard) / 16);
    return Math.max(best, soft);
}

/** `LimitNOFILE 1,024`, or `LimitNOFILE 1,024:4,096 (Redis raises it to 4,096)` for a soft:hard pair. */
function limitText(l: NonNullable<BudgetTarget["fdLimit"]>, files: number): string {
    return l.soft === undefined || l.soft === l.limit ? `LimitNOFILE ${n(l.limit)}` : `LimitNOFILE ${n(l.soft)}:${n(l.limit)} (Redis raises it to ${n(files)})`;
}

/** The maxclients Redis really runs with, and the words for it in messages. */
export function effectiveMaxclients(t: Pick<BudgetTarget, "server" | "fdLimit" | "path">): { value: number; text: string; from: string } {
    const set = t.server.maxclients;
    const configured = set ?? REDIS_SERVER_DEFAULTS.maxclients;
    const from = set === undefined ? "Redis default" : rel([...t.path, "settings", "maxclients"]);
    const files = t.fdLimit ? redisOpenFiles(configured + REDIS_RESERVED_FDS, t.fdLimit.soft ?? t.fdLimit.limit, t.fdLimit.limit) : 0;
    if (t.fdLimit && files - REDIS_RESERVED_FDS < configured) {
        const value = Math.max(files - REDIS_RESERVED_FDS, 1);
        const why = `Redis lowers maxclients ${n(configured)} to ${limitText(t.fdLimit, files)} − ${REDIS_RESERVED_FDS} = ${n(value)}: ${rel(t.fdLimit.path)}`;
        return { value, text: `maxclients ${n(value)} (${why})`, from: why };
    }
    return { value: configured, text: set === undefined ? `maxclients ${n(configured)} (Redis default)` : `maxclients ${n(configured)}`, from };
}

/** The pool size of one process and where it comes from. */
export function poolSizeOf(c: ClientConfig): { size: number; from: string } {
    const d = libraryDefaults(c.library, c.version);
    if (c.poolSize !== undefined) return { size: c.poolSize, from: "declared" };
    if (d.poolSize === "gomaxprocs") {
        const procs = c.gomaxprocs ?? 1;
        return { size: 10 * procs, from: `${d.versions} default 10 × gomaxprocs ${procs}` };
    }
    if (d.poolSize === "unbounded") return { size: REDIS_PY_UNBOUNDED, from: `${d.versions} default max_connections 2**31 (unbounded)` };
    if (typeof d.poolSize === "number") return { size: d.poolSize, from: `${d.versions} default max_connections ${d.poolSize}` };
    return { size: 0, from: "not declared" };
}

function clientLine(c: ClientConfig, maxclients: number): BudgetClient {
    const pool = poolSizeOf(c);
    const perProcess = pool.size + c.dedicatedConns;
    const maxConnections = perProcess * (c.replicas + c.surge);
    return {
        name: c.name,
        library: c.library,
        ...(c.version !== undefined ? { version: c.version } : {}),
        poolSize: pool.size,
        poolSizeFrom: pool.from,
        dedicatedConns: c.dedicatedConns,
        perProcess,
        replicas: c.replicas,
        surge: c.surge,
        maxConnections,
        minIdle: (c.minIdleConns ?? 0) * c.replicas,
        share: pct(maxConnections, maxclients),
    };
}

/** `miner 200 × (3 replicas + 1 surge) = 800` */
function maxTerm(b: BudgetClient): string {
    const per = b.dedicatedConns ? `(${n(b.poolSize)} pool + ${n(b.dedicatedConns)} dedicated)` : n(b.poolSize);
    const procs = b.surge ? `(${plural(b.replicas, "replica")} + ${n(b.surge)} surge)` : plural(b.replicas, "replica");
    return `${b.name} ${per} × ${procs} = ${n(b.maxConnections)}`;
}

/** `a … = 800 + b … = 212 → 1,012`, or the single term. */
function sum(terms: string[], total: number): string {
    return terms.length === 1 ? terms[0] : `${terms.join(" + ")} → ${n(total)}`;
}

type Keepalive = { on: false } | { on: true; seconds: number; from: string; path: ConfigPath } | { on: "unknown" };

/** The keepalive a client's sockets really use, and which field says so. */
function keepaliveOf(c: ClientConfig, d: LibraryDefaults, kernel: KernelKeepalive, clientPath: ConfigPath): Keepalive {
    const kaPath = [...clientPath, "keepalive"];
    const lib = c.keepalive === undefined ? d.keepalive : c.keepalive.enabled ? { enabled: true as const, idleSeconds: c.keepalive.idleSeconds ?? (d.keepalive !== "unknown" && d.keepalive.enabled ? d.keepalive.idleSeconds : "kernel") } : { enabled: false as const };
    if (lib === "unknown") return { on: "unknown" };
    if (!lib.enabled) return { on: false };
    if (lib.idleSeconds === "kernel") return { on: true, seconds: kernel.seconds, from: kernel.source, path: kernel.path };
    const declared = c.keepalive?.idleSeconds !== undefined;
    return { on: true, seconds: lib.idleSeconds, from: declared ? `keepalive.idleSeconds ${n(lib.idleSeconds)}` : `${d.versions} default keepalive idle ${n(lib.idleSeconds)} s`, path: kaPath };
}

/** Every error and warning of one target, with the field each is about. */
export function budgetIssues(t: BudgetTarget): { errors: BudgetIssue[]; warnings: BudgetIssue[] } {
    const errors: BudgetIssue[] = [];
    const warnings: BudgetIssue[] = [];
    if (t.clients.length === 0) return { errors, warnings };
    const settingsPath = [...t.path, "settings"];
    const { value: maxclients, text: maxText } = effectiveMaxclients(t);
    if (t.fdLimit && maxclients < (t.server.maxclients ?? REDIS_SERVER_DEFAULTS.maxclients)) {
        const configured = t.server.maxclients ?? REDIS_SERVER_DEFAULTS.maxclients;
        const files = maxclients + REDIS_RESERVED_FDS;
        const limit = t.fdLimit.soft === undefined || t.fdLimit.soft === t.fdLimit.limit ? `${n(t.fdLimit.limit)} open files` : `${n(t.fdLimit.soft)}:${n(t.fdLimit.limit)} open files (Redis raises it to ${n(files)})`;
        warnings.push({ path: t.fdLimit.path, message: `${limit}: Redis lowers maxclients ${n(configured)} to ${n(files)} − ${REDIS_RESERVED_FDS} = ${n(maxclients)} at start; raise LimitNOFILE to at least ${n(configured + REDIS_RESERVED_FDS)}, or set settings.maxclients to ${n(maxclients)} to say so` });
    }
    const available = maxclients - t.reserve;
    const lines = t.clients.map((c) => clientLine(c, maxclients));
    const total = lines.reduce((a, b) => a + b.maxConnections, 0);
    const unbounded = t.clients.some((c) => poolSizeOf(c).size === REDIS_PY_UNBOUNDED && c.poolSize === undefined);

    // 1. The budget: every pool full, during a rollout, must fit in maxclients minus the reserve.
    if (available < 1) {
        errors.push({ path: [...t.path, "clientsReserve"], message: `${n(t.reserve)} leaves no connection for the clients: ${maxText} − clientsReserve ${n(t.reserve)} = ${n(available)}; lower clientsReserve or raise settings.maxclients` });
    } else if (!unbounded && total > available) {
        errors.push({
            path: [...t.path, "clients"],
            message: `${sum(lines.map(maxTerm), total)} > ${maxText} − clientsReserve ${n(t.reserve)} = ${n(available)}: with every pool full the clients open ${n(total - available)} more connections than Redis accepts (it refuses them: "max number of clients reached"); lower poolSize, replicas or surge, or raise settings.maxclients`,
        });
    } else if (!unbounded && total > 0.8 * available) {
        warnings.push({
            path: [...t.path, "clients"],
            message: `${sum(lines.map(maxTerm), total)} is ${pct(total, available)} % of ${maxText} − clientsReserve ${n(t.reserve)} = ${n(available)}: only ${n(available - total)} left for bursts and undeclared clients`,
        });
    }

    const timeout = t.server.timeout ?? REDIS_SERVER_DEFAULTS.timeout;
    const timeoutText = `the server's timeout ${n(timeout)} s (${rel([...settingsPath, "timeout"])})`;
    const tcpKeepalive = t.server.tcpKeepalive ?? REDIS_SERVER_DEFAULTS.tcpKeepalive;
    const tcpKeepaliveText = `the server's tcp-keepalive ${n(tcpKeepalive)} s (${rel([...settingsPath, "tcpKeepalive"])}${t.server.tcpKeepalive === undefined ? ", Redis default" : ""})`;

    t.clients.forEach((c, j) => {
        const cp = [...t.path, "clients", j];
        const d = libraryDefaults(c.library, c.version);

        // A pool size nobody wrote down follows the library's version, not the code: say which number was used.
        if (c.poolSize === undefined && typeof d.poolSize === "number") {
            warnings.push({ path: [...cp, "poolSize"], message: `${c.name}: unset, so ${d.versions}'s default max_connections ${n(d.poolSize)} per process is assumed (× ${n(c.replicas + c.surge)} process${c.replicas + c.surge === 1 ? "" : "es"} = ${n(lines[j].maxConnections)}): declare the pool's real size` });
        }

        // 2. Idle timeout against the server's timeout: warnings only, because both libraries test a
        // pooled connection before reuse (redis-py: can_read → reconnect; go-redis v9: connCheck), so
        // what fails is a command racing the server's close, not every reuse.
        if (timeout > 0) {
            const idle = c.idleTimeoutSeconds ?? d.idleTimeoutSeconds;
            const minIdle = c.minIdleConns ? `; minIdleConns ${n(c.minIdleConns)} keeps connections idle on purpose, so the server closes them every ${n(timeout)} s and the pool redials` : "";
            if (!d.hasIdleTimeout) {
                warnings.push({
                    path: cp,
                    message: `${c.name}: ${c.library}'s pool never closes idle connections, and ${timeoutText} closes them after ${n(timeout)} s idle: the next command on one races the close (redis-py reconnects a closed one when it takes it from the pool); use retries (retry_on_timeout / Retry) or set timeout 0`,
                });
            } else if (idle === null || idle === 0) {
                warnings.push({ path: [...cp, "idleTimeoutSeconds"], message: `${c.name}: 0 keeps idle connections forever, and ${timeoutText} closes them after ${n(timeout)} s idle: set idleTimeoutSeconds below ${n(timeout)}${minIdle}` });
            } else if (idle >= timeout) {
                const from = c.idleTimeoutSeconds !== undefined ? `idleTimeoutSeconds ${n(idle)}` : `unset: ${d.versions} closes idle connections after ${d.names.idleTimeout} ${n(idle)} s`;
                warnings.push({
                    path: [...cp, "idleTimeoutSeconds"],
                    message: `${c.name}: ${from} ≥ ${timeoutText}: an idle pooled connection outlives the server's close and the next command on it can fail; set idleTimeoutSeconds below ${n(timeout)} (seed 003: ConnMaxIdleTime 5 min = 300 < 600)${minIdle}`,
                });
            }
        }

        // 3. Keepalive: how soon the client finds a dead server, against how soon the server finds a dead client.
        const ka = keepaliveOf(c, d, t.kernel, cp);
        if (ka.on === false) {
            const rt = c.readTimeoutSeconds ?? d.readTimeoutSeconds;
            const why = c.keepalive === undefined ? `${d.versions} default: ${d.names.keepalive} off` : "keepalive.enabled false";
            warnings.push({
                path: [...cp, "keepalive"],
                message: `${c.name}: TCP keepalive is off (${why}): a pooled connection to a server that went away (failover, a dropped NAT or conntrack entry) is found dead only when used, ${rt === null ? "and then a read blocks forever (no read timeout: set readTimeoutSeconds)" : `after readTimeoutSeconds ${n(rt)} s`}; the host's net.ipv4.tcp_keepalive_time does not apply to sockets without keepalive. Set keepalive: { enabled: true, idleSeconds: ${n(Math.min(tcpKeepalive || 300, 300))} }`,
            });
        } else if (ka.on === true && tcpKeepalive > 0 && ka.seconds > tcpKeepalive) {
            warnings.push({
                path: ka.path,
                message: `${c.name}: keepalive idle ${n(ka.seconds)} s (${ka.from}) > ${tcpKeepaliveText}: the client finds a dead server or a dropped NAT entry ${n(ka.seconds - tcpKeepalive)} s later than the server finds a dead client; set keepalive.idleSeconds to at most ${n(tcpKeepalive)}`,
            });
        }
    });

    if (tcpKeepalive === 0) {
        warnings.push({
            path: [...settingsPath, "tcpKeepalive"],
            message: `0: Redis never probes its clients, so a client that vanished (a killed pod, a dropped network) holds its connection and its slot of ${maxText} ${timeout > 0 ? `until ${timeoutText}` : "forever (timeout 0)"}; set tcpKeepalive (Redis default 300)`,
        });
    }

    // 4. The monitor on that host counts the same connections: its healthy band must hold the idle minimum.
    const steadyMin = lines.reduce((a, b) => a + b.minIdle, 0);
    const steadyMax = lines.reduce((a, b) => a + b.perProcess * b.replicas, 0);
    if (t.monitor) {
        const m = t.monitor.settings;
        const idleTerms = lines.filter((b) => b.minIdle > 0).map((b) => `${b.name} minIdleConns ${n(b.minIdle / b.replicas)} × ${plural(b.replicas, "replica")} = ${n(b.minIdle)}`);
        if (steadyMin > m.healthyMax) {
            errors.push({
                path: [...t.monitor.path, "healthyMax"],
                message: `${n(m.healthyMax)} is below the declared idle minimum: ${sum(idleTerms, steadyMin)} connections are always open, so the monitor never reports HEALTHY (seed 001: a band of 20–25 around a baseline of 25); raise healthyMax to at least ${n(steadyMin)} (and warningMax, leakMax above it) or lower minIdleConns`,
            });
        }
        if (!unbounded && m.leakMax < steadyMax) {
            const steadyTerms = lines.map((b) => `${b.name} ${n(b.perProcess)} × ${plural(b.replicas, "replica")} = ${n(b.perProcess * b.replicas)}`);
            const action = m.criticalAction ? `, and above it restarts ${m.criticalAction.restartUnit}` : "";
            warnings.push({
                path: [...t.monitor.path, "leakMax"],
                message: `${n(m.leakMax)} is below the declared steady maximum: ${sum(steadyTerms, steadyMax)} connections with every pool full: the monitor calls full pools a LEAK (CRITICAL above ${n(m.leakMax)}${action}); raise leakMax to at least ${n(steadyMax)} or lower poolSize`,
            });
        }
    }
    return { errors, warnings };
}

/** The budget as a small text table: client, most connections, share of maxclients. */
export function formatBudgetTable(b: Pick<Budget, "clients" | "total" | "maxclients" | "reserve" | "available" | "share">): string[] {
    if (b.clients.length === 0) return ["no clients declared"];
    const rows = [
        ["client", "library", "pool × processes", "max conns", "share"],
        ...b.clients.map((c) => [c.name, c.library, `${n(c.perProcess)} × ${c.surge ? `(${n(c.replicas)} + ${n(c.surge)} surge)` : n(c.replicas)}`, n(c.maxConnections), `${c.share.toFixed(1)} %`]),
        ["total", "", "", n(b.total), `${b.share.toFixed(1)} %`],
    ];
    const width = rows[0].map((_, k) => Math.max(...rows.map((r) => r[k].length)));
    const right = [false, false, false, true, true];
    const fmt = (r: string[]) => r.map((cell, k) => (right[k] ? cell.padStart(width[k]) : cell.padEnd(width[k]))).join("  ").trimEnd();
    return [...rows.map(fmt), `of maxclients ${n(b.maxclients)} − reserve ${n(b.reserve)} = ${n(b.available)} available`];
}

/** The budget of one Redis target, with its errors, warnings and table. */
export function budgetFor(t: BudgetTarget): Budget {
    const { value: maxclients, from: maxclientsFrom } = effectiveMaxclients(t);
    const clients = t.clients.map((c) => clientLine(c, maxclients));
    const total = clients.reduce((a, b) => a + b.maxConnections, 0);
    const { errors, warnings } = budgetIssues(t);
    const b = {
        target: t.target,
        kind: t.kind,
        ...(t.runsOn !== undefined ? { runsOn: t.runsOn } : {}),
        port: t.server.port ?? REDIS_SERVER_DEFAULTS.port,
        maxclients,
        maxclientsFrom,
        reserve: t.reserve,
        available: maxclients - t.reserve,
        clients,
        total,
        steadyMax: clients.reduce((a, c) => a + c.perProcess * c.replicas, 0),
        steadyMin: clients.reduce((a, c) => a + c.minIdle, 0),
        share: pct(total, maxclients),
        errors: errors.map((e) => `${fieldPath(e.path)}: ${e.message}`),
        warnings: warnings.map((w) => `${fieldPath(w.path)}: ${w.message}`),
    };
    return { ...b, table: formatBudgetTable(b) };
}

/** The effective net.ipv4.tcp_keepalive_time a host's sysctl file leaves (presets, then settings). */
export function hostKernelKeepalive(hostName: string, hostIndex: number, sysctl: SysctlSettings): KernelKeepalive {
    const path: ConfigPath = ["hosts", hostIndex, "sysctl"];
    const entry = sysctl.enabled ? sysctlEntries(sysctl).find((e) => e.key === "net.ipv4.tcp_keepalive_time") : undefined;
    if (entry && /^\d+$/.test(entry.value)) {
        const fromPreset = sysctl.settings["net.ipv4.tcp_keepalive_time"] === undefined;
        return { seconds: Number(entry.value), source: `net.ipv4.tcp_keepalive_time ${entry.value} on ${hostName}, ${rel(path)}${fromPreset ? ` preset ${sysctl.presets.join(", ")}` : ".settings"}`, path };
    }
    const why = sysctl.enabled ? "does not set it" : "is disabled";
    return { seconds: KERNEL_KEEPALIVE_TIME, source: `net.ipv4.tcp_keepalive_time ${KERNEL_KEEPALIVE_TIME} on ${hostName}: the kernel default, ${rel(path)} ${why}`, path };
}

/** Every Redis target of a stack config: each host's Redis (`hosts[i].redis`) and the ConfigMap (`conntune:redis`). */
export function budgetTargets(config: Pick<StackConfig, "hosts" | "redis">): BudgetTarget[] {
    const targets: BudgetTarget[] = [];
    config.hosts.forEach((h, i) => {
        if (!h.redis) return;
        const port = h.redis.settings.port ?? REDIS_SERVER_DEFAULTS.port;
        const m = h.monitor;
        const service = h.redis.service;
        // The unit's drop-ins apply in file name order, the last LimitNOFILE wins: `N` or `SOFT:HARD`.
        const nofile = (k: number) => /^(\d+)(?::(\d+))?$/.exec(String(h.systemdOverrides[k].settings.Service?.LimitNOFILE ?? "").trim());
        const o = h.redis.runsOn === undefined
            ? h.systemdOverrides.map((x, k) => ({ x, k })).filter(({ x }) => x.unit === service && x.settings.Service?.LimitNOFILE !== undefined).sort((a, b) => (a.x.fileName < b.x.fileName ? -1 : a.x.fileName > b.x.fileName ? 1 : 0)).pop()?.k ?? -1
            : -1;
        const m0 = o >= 0 ? nofile(o) : null;
        targets.push({
            target: h.name,
            kind: "host",
            path: ["hosts", i, "redis"],
            server: h.redis.settings,
            ...(h.redis.runsOn !== undefined ? { runsOn: h.redis.runsOn } : {}),
            reserve: h.redis.clientsReserve,
            clients: h.redis.clients,
            kernel: hostKernelKeepalive(h.name, i, h.sysctl),
            ...(m0 ? { fdLimit: { limit: Number(m0[2] ?? m0[1]), ...(m0[2] !== undefined ? { soft: Number(m0[1]) } : {}), path: ["hosts", i, "systemdOverrides", o, "settings", "Service", "LimitNOFILE"] } } : {}),
            ...(m && m.enabled && m.alertPort === port ? { monitor: { settings: m, path: ["hosts", i, "monitor"] } } : {}),
        });
    });
    const r = config.redis;
    if (r) {
        targets.push({
            target: r.name,
            kind: "configmap",
            path: ["redis"],
            server: r.settings,
            reserve: r.clientsReserve,
            clients: r.clients,
            // Each pod has its own network namespace, which starts at the kernel default.
            kernel: { seconds: KERNEL_KEEPALIVE_TIME, source: `net.ipv4.tcp_keepalive_time ${KERNEL_KEEPALIVE_TIME} in the clients' pods: a new network namespace's default (set it in the pod's securityContext.sysctls)`, path: ["redis", "clients"] },
        });
    }
    return targets;
}

/**
 * Every budget error of a stack config, with its field: what parseStackConfig fails the preview
 * with. Includes a host and the ConfigMap that would share one key of the `budget` output.
 */
export function stackBudgetErrors(config: Pick<StackConfig, "hosts" | "redis">): BudgetIssue[] {
    const targets = budgetTargets(config);
    const errors = targets.flatMap((t) => budgetIssues(t).errors);
    const seen = new Map<string, BudgetTarget>();
    for (const t of targets) {
        const first = seen.get(t.target);
        // Hosts come first and have unique names, so the second of a pair is always the ConfigMap.
        if (first) errors.push({ path: t.kind === "configmap" ? ["redis", "name"] : [...t.path.slice(0, 2), "name"], message: `${t.target} is also the name of hosts[${first.path[1]}], and the budget output is keyed by target name: rename one` });
        else seen.set(t.target, t);
    }
    return errors;
}

/** The budget of every Redis target in a stack config, keyed by target. */
export function stackBudgets(config: Pick<StackConfig, "hosts" | "redis">): Record<string, Budget> {
    return Object.fromEntries(budgetTargets(config).map((t) => [t.target, budgetFor(t)]));
}
