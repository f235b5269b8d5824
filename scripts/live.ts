/**
 * The live check of a host's Redis against its declared connection budget, and seed 001's health
 * check, from what the live probe (liveProbe.sh) printed. Pure: no SSH, no engine.
 */

/** Connections from one peer address. */
export interface Peer {
    address: string;
    count: number;
}

/** What the probe read of one host. */
export interface Probe {
    /** The Redis unit and its `systemctl is-active` state (none when the host declares no Redis). */
    redisService?: { unit: string; state: string };
    /** INFO clients / INFO stats, the probe's own connection left out. */
    info?: { connectedClients: number; blockedClients: number; rejectedConnections: number; maxclients: number };
    /** Why Redis could not be read (NOAUTH, WRONGPASS, NOPERM, not installed…). */
    redisError?: string;
    /** Clients per peer address from CLIENT LIST (the probe's own left out), most first. */
    clientPeers: Peer[];
    /** Established connections to the Redis port per peer, from ss (the server side), most first. */
    ssPeers: Peer[];
    /** Established connections on the Redis port, both ends (seed 001's count). */
    established?: number;
    /** `unit state` of each watched unit. */
    units: Array<{ unit: string; state: string }>;
    /** The monitor's timer: active, inactive…, or `none` (no monitor on the host). */
    monitorTimer?: string;
    /** The monitor's last `level=` line and `latency` line in the journal. */
    monitorLevel?: string;
    monitorLatency?: string;
    /** The probe's own PING round trips: `latency p50=… p99=… … ok|SLOW` or `latency unavailable: …`. */
    latency?: string;
    /** A Redis on another machine (`runsOn`): this host's established connections to it. */
    clientSide?: { runsOn: string; address: string; connections: number; byProcess: Peer[] };
}

const byCount = (a: Peer, b: Peer) => b.count - a.count || a.address.localeCompare(b.address);

/** The peer of a CLIENT LIST `addr=` (`10.0.0.7:53210`, `[::1]:53210`, a unix socket's path). */
export function peerOf(addr: string): string {
    if (addr.startsWith("/")) return "unix socket";
    const host = addr.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    return host.replace(/^::ffff:/, "");
}

/** Count per peer, most first. */
function tally(addresses: string[]): Peer[] {
    const m = new Map<string, number>();
    for (const a of addresses) m.set(a, (m.get(a) ?? 0) + 1);
    return [...m].map(([address, count]) => ({ address, count })).sort(byCount);
}

/** The probe's output as data. */
export function parseProbe(out: string): Probe {
    const p: Probe = { clientPeers: [], ssPeers: [], units: [] };
    const clientConns: string[] = [];
    const lines = out.split("\n");
    const start = lines.indexOf("== redis");
    const end = lines.indexOf("== end", start + 1);
    if (start >= 0 && end > start) parseRedis(lines.slice(start + 1, end), p);
    for (const l of lines.slice(0, start >= 0 ? start : lines.length).concat(end >= 0 ? lines.slice(end + 1) : [])) {
        const [key, ...rest] = l.split(" ");
        const value = rest.join(" ");
        if (key === "redis_service") p.redisService = { unit: rest[0], state: rest.slice(1).join(" ") || "unknown" };
        else if (key === "redis_error") p.redisError = value;
        else if (key === "established") p.established = Number(value);
        else if (key === "ss_peer") p.ssPeers.push({ address: rest[0], count: Number(rest[1]) });
        else if (key === "unit") p.units.push({ unit: rest[0], state: rest.slice(1).join(" ") || "unknown" });
        else if (key === "monitor_timer") p.monitorTimer = value || "unknown";
        else if (key === "monitor_level") p.monitorLevel = value;
        else if (key === "monitor_latency") p.monitorLatency = value;
        else if (key === "probe_latency") p.latency = `latency ${value}`;
        else if (key === "client_dst") p.clientSide = { runsOn: rest[0], address: rest[1] ?? "unresolved", connections: 0, byProcess: [] };
        else if (key === "client_ss" && p.clientSide) clientConns.push(processOf(value));
    }
    p.ssPeers.sort(byCount);
    if (p.clientSide) p.clientSide = { ...p.clientSide, connections: clientConns.length, byProcess: tally(clientConns) };
    return p;
}

/** The process of an `ss -p` line (`users:(("python3",pid=4242,fd=5))` → `python3 (pid 4242)`). */
export function processOf(ssLine: string): string {
    const m = /users:\(\("([^"]*)",pid=(\d+)/.exec(ssLine);
    return m ? `${m[1]} (pid ${m[2]})` : "an unknown process";
}

/** The redis-cli part: `CLIENT ID`, INFO clients + stats, CLIENT LIST, between ECHO markers. */
function parseRedis(lines: string[], p: Probe): void {
    const info = lines.indexOf("ct:info");
    const clients = lines.indexOf("ct:clients");
    const end = lines.indexOf("ct:end");
    if (info < 0 || clients < info || end < clients) {
        p.redisError = lines.find((l) => /NOAUTH|WRONGPASS|NOPERM|AUTH failed|ERR|refused|Could not connect/i.test(l)) ?? (lines.join(" ").trim().slice(0, 200) || "no answer");
        return;
    }
    const own = lines.slice(0, info).find((l) => /^\d+$/.test(l));
    const fields = Object.fromEntries(lines.slice(info + 1, clients).filter((l) => /^[a-z_]+:/.test(l)).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]));
    const denied = lines.slice(info + 1, end).find((l) => /^(NOAUTH|WRONGPASS|NOPERM)/.test(l));
    if (fields.connected_clients === undefined) {
        p.redisError = denied ?? "INFO clients gave no connected_clients";
        return;
    }
    const num = (k: string) => Number(fields[k] ?? 0);
    // The probe's own connection is one of the connected clients.
    p.info = { connectedClients: Math.max(0, num("connected_clients") - 1), blockedClients: num("blocked_clients"), rejectedConnections: num("rejected_connections"), maxclients: num("maxclients") };
    const list = lines.slice(clients + 1, end).filter((l) => l.startsWith("id="));
    if (list.length === 0 && denied) p.redisError = `CLIENT LIST: ${denied}`;
    p.clientPeers = tally(
        list
            .map((l) => Object.fromEntries(l.split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])))
            .filter((c) => c.id !== own && c.addr)
            .map((c) => peerOf(c.addr)),
    );
}

/** One declared client as the budget counts it (components/budget). */
export interface DeclaredClient {
    name: string;
    /** Its maximum connections, replicas and surge included. */
    maxConnections: number;
    /** How the maximum comes about, e.g. `10 × 3` (shown in the finding). */
    arithmetic?: string;
}

/** The declared budget of one Redis target, as the live check compares with it. */
export interface DeclaredBudget {
    clients: DeclaredClient[];
    /** Connections kept for operators and tools (the monitor, redis-cli, conntune itself). */
    reserve: number;
    maxclients?: number;
}

/** At this share of maxclients (connected clients) the live check reports it. */
export const NEAR_MAXCLIENTS = 0.9;

/** The most connections a budget allows: every declared client's maximum plus the reserve. */
export function allowed(b: DeclaredBudget): number {
    return b.clients.reduce((s, c) => s + c.maxConnections, 0) + b.reserve;
}

/** The budget's arithmetic as text: `api 10 × 3 + worker 5 + reserve 2`. */
export function budgetText(b: DeclaredBudget): string {
    return [...b.clients.map((c) => `${c.name} ${c.arithmetic ?? c.maxConnections}`), `reserve ${b.reserve}`].join(" + ");
}

/**
 * What the live Redis shows against its budget, one sentence each: more clients than declared
 * (naming the address that holds the most), refused connections, clients near maxclients, Redis
 * not running. `target` names it (`redis on host web1`). None when all is well.
 */
export function liveFindings(target: string, p: Probe, budget?: DeclaredBudget): string[] {
    const out: string[] = [];
    if (p.redisService && p.redisService.state !== "active") {
        out.push(`${target}: ${p.redisService.unit} is not running (${p.redisService.state}): its clients cannot connect`);
        return out;
    }
    const c = p.clientSide;
    if (c && budget) {
        const max = allowed(budget);
        const most = c.byProcess[0] ? `; most from ${c.byProcess[0].address} (${c.byProcess[0].count})` : "";
        if (c.connections > max) out.push(`${target}: ${c.connections} established connections from this host to ${c.address} > declared budget ${max} (clients: ${budgetText(budget)})${most}`);
    }
    const i = p.info;
    if (!i) return out;
    const peers = p.clientPeers.length ? p.clientPeers : p.ssPeers;
    const top = peers[0] ? `; most from ${peers[0].address} (${peers[0].count})` : "";
    if (budget) {
        const max = allowed(budget);
        if (i.connectedClients > max) out.push(`${target}: ${i.connectedClients} connected clients > declared budget ${max} (clients: ${budgetText(budget)})${top}`);
    }
    if (i.rejectedConnections > 0) out.push(`${target}: rejected_connections ${i.rejectedConnections}: Redis refused clients at maxclients ${i.maxclients} since it started${top}`);
    if (i.maxclients > 0 && i.connectedClients >= Math.ceil(i.maxclients * NEAR_MAXCLIENTS)) {
        out.push(`${target}: ${i.connectedClients} connected clients is ${Math.floor((i.connectedClients / i.maxclients) * 100)}% of maxclients ${i.maxclients} (reported from ${NEAR_MAXCLIENTS * 100}%)${top}`);
    }
    return out;
}

/** Why a probe is incomplete (an error, not a finding): Redis could not be read. */
export function probeError(target: string, p: Probe): string | undefined {
    if (p.redisService && p.redisService.state !== "active") return undefined;
    if (p.redisError) return `${target}: cannot read Redis (INFO, CLIENT LIST): ${p.redisError}`;
    if (p.redisService && !p.info) return `${target}: cannot read Redis: the probe printed no INFO`;
    return undefined;
}

/** The short summary line of a probe's Redis: `34 connected clients (blocked 0, rejected 0, maxclients 10000); by peer: 10.0.0.7 30, 127.0.0.1 4`. */
export function clientsLine(p: Probe): string {
    const c = p.clientSide;
    if (!p.info && c) return `${c.connections} established connections to ${c.runsOn} (${c.address}) from this host${c.byProcess.length ? `; by process: ${c.byProcess.slice(0, 5).map((x) => `${x.address} ${x.count}`).join(", ")}` : ""}`;
    if (!p.info) return "not read";
    const peers = (p.clientPeers.length ? p.clientPeers : p.ssPeers).slice(0, 5).map((x) => `${x.address} ${x.count}`).join(", ");
    return `${p.info.connectedClients} connected clients (blocked ${p.info.blockedClients}, rejected ${p.info.rejectedConnections}, maxclients ${p.info.maxclients})${peers ? `; by peer: ${peers}` : ""}`;
}

/** One host's health (seed 001's "System Health Check"): its lines and whether it is healthy. */
export interface HostHealth {
    host: string;
    /** The heading when it is not a host (`redis ConfigMap NS/NAME at ADDRESS`). */
    label?: string;
    lines: string[];
    problems: string[];
}

/**
 * Seed 001's health check of one host from its probe: connections, the monitor's timer and last
 * level, every watched unit, latency, the live budget findings. Unhealthy: a watched unit or the
 * timer not active, a last level other than HEALTHY, latency SLOW or unavailable, any finding.
 */
export function hostHealth(host: string, p: Probe, findings: string[], error?: string): HostHealth {
    const lines: string[] = [];
    const problems: string[] = [];
    if (p.redisService) {
        lines.push(`Connections: ${p.established ?? "?"} established on the Redis port; Redis: ${clientsLine(p)}`);
    } else if (p.clientSide) {
        lines.push(`Connections: ${clientsLine(p)}`);
    } else lines.push("Connections: no Redis declared on this host (hosts[i].redis)");
    if (p.monitorTimer === undefined || p.monitorTimer === "none") lines.push("Health Monitor: not installed (hosts[i].monitor)");
    else {
        lines.push(`Health Monitor: timer ${p.monitorTimer}; last: ${p.monitorLevel ?? "no level logged yet"}`);
        if (p.monitorTimer !== "active") problems.push(`the monitor's timer is ${p.monitorTimer}`);
        const level = /^level=(\w+)/.exec(p.monitorLevel ?? "")?.[1];
        if (level && level !== "HEALTHY") problems.push(`the monitor's last level is ${level}`);
        if (p.monitorLatency) lines.push(`Monitor latency: ${p.monitorLatency}`);
    }
    for (const u of p.units) {
        lines.push(`${u.unit}: ${u.state}`);
        if (u.state !== "active") problems.push(`${u.unit} is ${u.state}`);
    }
    if (p.latency) {
        lines.push(`Latency: ${p.latency.replace(/^latency /, "")}`);
        if (/ SLOW$/.test(p.latency)) problems.push("latency above its targets (SLOW)");
        else if (/unavailable/.test(p.latency)) problems.push(`latency: ${p.latency.replace(/^latency /, "")}`);
    }
    for (const f of findings) lines.push(`Budget: ${f}`);
    if ((p.redisService || p.clientSide) && findings.length === 0 && !error) lines.push("Budget: within the declared budget (or none declared)");
    problems.push(...findings);
    if (error) {
        lines.push(`ERROR: ${error}`);
        problems.push(error);
    }
    return { host, lines, problems };
}

/** The health of a ConfigMap's Redis read at its `liveCheck` address: its clients and the budget findings (no host, units or monitor). */
export function redisHealth(name: string, label: string, p: Probe | undefined, findings: string[], error?: string): HostHealth {
    const lines = [`Connections: Redis: ${p ? clientsLine(p) : "not read"}`, ...findings.map((f) => `Budget: ${f}`)];
    if (p && findings.length === 0 && !error) lines.push("Budget: within the declared budget (or none declared)");
    if (error) lines.push(`ERROR: ${error}`);
    return { host: name, label, lines, problems: [...findings, ...(error ? [error] : [])] };
}

/** The report of every host, seed 001's heading first, and the verdict line. */
export function formatHealth(hosts: HostHealth[]): string {
    const out = ["=== System Health Check ==="];
    for (const h of hosts) {
        out.push("", h.label ?? `host ${h.host}`, ...h.lines.map((l) => `  ${l}`));
        out.push(h.problems.length ? `  UNHEALTHY: ${h.problems.join("; ")}` : "  HEALTHY");
    }
    const bad = hosts.filter((h) => h.problems.length);
    out.push("", bad.length ? `UNHEALTHY: ${bad.map((h) => h.host).join(", ")}` : "all hosts HEALTHY");
    return out.join("\n");
}
