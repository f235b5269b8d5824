/**
 * Connection-burst proof (seed 004): does the high-concurrency profile matter for a Redis host?
 *
 * Boots ONE local test host, starts its (stock Debian) Redis, and runs the bounded burst client
 * (bench/burst/client.ts) inside the host's network namespace against 127.0.0.1:6379: "before"
 * on the stock host, then `pulumi up` of conntune (SysctlProfile keepalive + highConcurrency,
 * FileDescriptorLimits, a LimitNOFILE override for redis-server.service, RedisServerConfig with
 * maxclients and tcp-backlog), "after", then `pulumi destroy` and a check that the host is back to
 * its before values. Writes bench/results/burst.md. Tears the host down also on failure.
 *
 *   npm run bench:burst                  (= bash scripts/setup.sh && tsx bench/burst/run.ts)
 *   tsx bench/burst/run.ts --reps 3 --out bench/results/burst.md
 *
 * Safety: traffic only inside the test host's network namespace (loopback); sysctls are set only
 * by conntune inside that namespace; this machine's own values are read before and after and the
 * run fails if any changed. The client raises only its own soft open-files limit (to its hard one).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { sshRun } from "../../lab/hosts/ssh";
import { labHostStack, LabStack } from "../../lab/stack";
import type { BurstOptions, BurstResult } from "./client";
import { exitOnError, intFlag, parseFlags } from "../../scripts/cli";

const USAGE = "npm run bench:burst -- [--reps 3] [--out bench/results/burst.md]";

const REPO = path.resolve(__dirname, "..", "..");
const CLIENT = path.join(REPO, "bench", "burst", "client.ts");
const TSX = path.join(REPO, "node_modules", ".bin", "tsx");
/** The one command that produces the results file. */
const COMMAND = "npm run bench:burst";

/**
 * The same bursts before and after; only the host changes. The busy burst stays below stock
 * maxclients so that it measures the listen queue alone.
 */
export interface Scenario {
    id: string;
    title: string;
    options: Omit<BurstOptions, "host" | "port">;
}

export const SCENARIOS: Scenario[] = [
    {
        id: "burst10k",
        title: "10 000 connects in 1 s, Redis idle",
        options: { count: 10000, windowMs: 1000, timeoutMs: 3000, holdMs: 1000, stallMs: 0 },
    },
    {
        id: "busy8k",
        title: "8 000 connects in 1 s while Redis is busy for 1 s (a slow Lua command)",
        options: { count: 8000, windowMs: 1000, timeoutMs: 3000, holdMs: 1000, stallMs: 1000 },
    },
    {
        id: "burst15k",
        title: "15 000 connects in 1 s, Redis idle (above stock maxclients)",
        options: { count: 15000, windowMs: 1000, timeoutMs: 3000, holdMs: 1000, stallMs: 0 },
    },
];

/** The stack config: seed 004's server-side tuning, within what a test host and this machine allow. */
export function hostConfig(h: TestHost): unknown[] {
    return [
        {
            name: "burst",
            connection: { host: h.address, user: "root", hostKey: h.hostKey },
            sshd: { enabled: false },
            sysctl: {
                presets: ["keepalive", "highConcurrency"],
                // Not writable from a test host (the machine's, or global): skipped by conntune, never set.
                keyPolicy: {
                    "net.netfilter.nf_conntrack_max": "skip",
                    "net.core.rmem_max": "skip",
                    "net.core.wmem_max": "skip",
                    "vm.overcommit_memory": "skip",
                    "vm.swappiness": "skip",
                },
            },
            // This machine caps hard limits at 20000: the bench stays at 16384.
            limits: { soft: 16384, hard: 16384 },
            systemdOverrides: [{ unit: "redis-server.service", settings: { Service: { LimitNOFILE: 16384 } } }],
            // maxclients needs maxclients + 32 descriptors: 16000 fits 16384.
            redis: { settings: { maxclients: 16000, tcpBacklog: 10000 } },
        },
    ];
}

// ---------------------------------------------------------------------------------------------
// Reading the host
// ---------------------------------------------------------------------------------------------

const NETSTAT_KEYS = ["ListenOverflows", "ListenDrops", "TCPSynRetrans", "SyncookiesSent", "TCPReqQFullDoCookies", "TCPReqQFullDrop", "TCPAbortOnData"] as const;
export type Netstat = Record<(typeof NETSTAT_KEYS)[number], number>;

/** TcpExt counters of the host's network namespace. */
export function netstat(h: TestHost): Netstat {
    const lines = hostExec(h, "cat /proc/net/netstat").trim().split("\n");
    const all: Record<string, number> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) {
        const k = lines[i].split(/\s+/);
        const v = lines[i + 1].split(/\s+/);
        if (k[0] === "TcpExt:") k.slice(1).forEach((name, j) => (all[name] = Number(v[j + 1])));
    }
    return Object.fromEntries(NETSTAT_KEYS.map((k) => [k, all[k] ?? 0])) as Netstat;
}

/** INFO stats + clients over one connection (so a reading adds exactly one accepted connection). */
export function redisInfo(h: TestHost): Record<string, string> {
    const out = hostExec(h, "redis-cli info stats clients");
    return Object.fromEntries(out.split(/\r?\n/).filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]));
}

export function waitForRedis(h: TestHost): void {
    hostExec(h, "for i in $(seq 100); do [ \"$(redis-cli ping 2>/dev/null)\" = PONG ] && exit 0; sleep 0.1; done; echo 'redis-server does not answer' >&2; exit 1");
}

/** Wait until the previous burst's sockets are gone on both sides (bounded). */
async function quiet(h: TestHost): Promise<void> {
    for (let i = 0; i < 150; i++) {
        const clients = Number(redisInfo(h).connected_clients ?? "0");
        // Connected sockets to or from Redis (not the listeners; TIME-WAIT is left by redis-cli itself).
        const sockets = Number(hostExec(h, "ss -Htan state connected exclude time-wait '( sport = :6379 or dport = :6379 )' | wc -l").trim());
        if (clients <= 1 && sockets === 0) break;
        await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
}

export interface Effective {
    somaxconn: string;
    tcpMaxSynBacklog: string;
    syncookies: string;
    tcpTwReuse: string;
    tcpFinTimeout: string;
    redisTcpBacklog: string;
    listenQueue: string;
    redisMaxclients: string;
    redisNofile: string;
    unitLimitNofile: string;
    loginNofile: string;
    systemdDefault: string;
}

async function effective(h: TestHost): Promise<Effective> {
    const v = (cmd: string) => hostExec(h, cmd).trim();
    const pid = v("systemctl show -p MainPID --value redis-server.service");
    return {
        somaxconn: v("sysctl -n net.core.somaxconn"),
        tcpMaxSynBacklog: v("sysctl -n net.ipv4.tcp_max_syn_backlog"),
        syncookies: v("sysctl -n net.ipv4.tcp_syncookies"),
        tcpTwReuse: v("sysctl -n net.ipv4.tcp_tw_reuse"),
        tcpFinTimeout: v("sysctl -n net.ipv4.tcp_fin_timeout"),
        redisTcpBacklog: v("redis-cli config get tcp-backlog | sed -n 2p"),
        // For a listening socket, ss's Send-Q is the accept-queue limit the kernel uses.
        listenQueue: v("ss -Hltn 'sport = :6379' | awk '$4 ~ /^127\\.0\\.0\\.1:/ {print $3}'"),
        redisMaxclients: v("redis-cli config get maxclients | sed -n 2p"),
        redisNofile: v(`awk '/^Max open files/{print $4 "/" $5}' /proc/${pid}/limits`),
        unitLimitNofile: v("systemctl show -p LimitNOFILESoft --value redis-server.service") + "/" + v("systemctl show -p LimitNOFILE --value redis-server.service"),
        loginNofile: (await sshRun(h, "echo $(ulimit -Sn)/$(ulimit -Hn)")).trim(),
        systemdDefault: v("systemctl show -p DefaultLimitNOFILESoft --value") + "/" + v("systemctl show -p DefaultLimitNOFILE --value"),
    };
}

/** Everything conntune may touch on the host: file hashes, directories, and the runtime values. */
function snapshot(h: TestHost): string {
    return hostExec(
        h,
        "find /etc/sysctl.d /etc/security/limits.d /etc/systemd/system /etc/systemd/system.conf.d /etc/redis -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum; " +
            "find /etc/sysctl.d /etc/security /etc/systemd /etc/redis -xdev -type d | sort; " +
            "sysctl net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes net.ipv4.tcp_tw_reuse net.ipv4.tcp_fin_timeout " +
            "net.core.somaxconn net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_syncookies net.ipv4.tcp_orphan_retries",
    );
}

/** This machine's own (root namespace) values that the bench must never change. */
function machineGuard(): Record<string, string> {
    const keys = ["vm/overcommit_memory", "vm/swappiness", "fs/file-max", "fs/nr_open", "fs/inotify/max_user_instances", "net/core/somaxconn", "net/core/rmem_max", "net/core/wmem_max", "net/ipv4/tcp_max_syn_backlog", "net/ipv4/tcp_fin_timeout", "net/ipv4/tcp_tw_reuse"];
    const out: Record<string, string> = {};
    for (const k of keys) {
        try {
            out[k.replace(/\//g, ".")] = fs.readFileSync(`/proc/sys/${k}`, "utf8").trim();
        } catch {
            out[k.replace(/\//g, ".")] = "(unreadable)";
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Running the client
// ---------------------------------------------------------------------------------------------

export interface Measurement {
    scenario: string;
    rep: number;
    client: BurstResult;
    /** INFO stats rejected_connections, before → after the burst. */
    redisRejected: number;
    /** INFO stats total_connections_received, before → after the burst (the burst's connections only). */
    redisAccepted: number;
    kernel: Netstat;
}

/** Run the client in the host's network namespace with its soft open-files limit raised to its hard one. */
export function runClient(h: TestHost, o: BurstOptions): Promise<BurstResult> {
    const args = ["--host", o.host, "--port", String(o.port), "--count", String(o.count), "--window-ms", String(o.windowMs), "--timeout-ms", String(o.timeoutMs), "--hold-ms", String(o.holdMs), "--stall-ms", String(o.stallMs)];
    return new Promise((resolve, reject) => {
        const p = spawn("ip", ["netns", "exec", h.name, "bash", "-c", 'ulimit -Sn "$(ulimit -Hn)" && exec "$@"', "burst-client", TSX, CLIENT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        // The client ends itself within 30 s; this only guards against a hung process (ours, by PID).
        const guard = setTimeout(() => p.kill("SIGKILL"), 60_000);
        p.on("error", reject);
        p.on("close", (code) => {
            clearTimeout(guard);
            if (code !== 0) return reject(new Error(`burst client exited ${code}: ${err.trim()}`));
            try {
                resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as BurstResult);
            } catch {
                reject(new Error(`burst client printed no result: ${out}${err}`));
            }
        });
    });
}

async function measure(h: TestHost, reps: number, label: string): Promise<Measurement[]> {
    const results: Measurement[] = [];
    for (const s of SCENARIOS) {
        for (let rep = 1; rep <= reps; rep++) {
            await quiet(h);
            const i0 = redisInfo(h);
            const k0 = netstat(h);
            const client = await runClient(h, { host: "127.0.0.1", port: 6379, ...s.options });
            // Every connection is resolved and reset when the client returns: read the counters now.
            const i1 = redisInfo(h);
            const k1 = netstat(h);
            const kernel = Object.fromEntries(NETSTAT_KEYS.map((k) => [k, k1[k] - k0[k]])) as Netstat;
            const m: Measurement = {
                scenario: s.id,
                rep,
                client,
                redisRejected: Number(i1.rejected_connections) - Number(i0.rejected_connections),
                // Minus the reading's own connection and the stall script's.
                redisAccepted: Number(i1.total_connections_received) - Number(i0.total_connections_received) - 1 - (s.options.stallMs > 0 ? 1 : 0),
                kernel,
            };
            results.push(m);
            log(
                `${label} ${s.id} #${rep}: attempted ${client.attempted}, succeeded ${client.succeeded}, refused ${client.refused}, timed out ${client.timedOut}, ` +
                    `rejected by Redis ${client.rejectedByRedis} (INFO ${m.redisRejected}), SYN retransmits ${kernel.TCPSynRetrans}, listen overflows ${kernel.ListenOverflows}, ` +
                    `connects started in ${client.issueMs} ms`,
            );
        }
    }
    return results;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const log = (msg: string) => console.log(`[bench:burst ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** One cell: the value if every repetition agrees, else each repetition's value. */
function cell(ms: Measurement[], f: (m: Measurement) => number | string): string {
    const vs = ms.map(f).map(String);
    return vs.every((v) => v === vs[0]) ? vs[0] : vs.join(" / ");
}

export interface Report {
    date: string;
    durationS: number;
    machine: Record<string, string>;
    reps: number;
    before: Measurement[];
    after: Measurement[];
    effBefore: Effective;
    effAfter: Effective;
    effRestored: Effective;
    restored: boolean;
    restoreDiff: string;
    machineUnchanged: boolean;
    machineDiff: string;
    upS: number;
    destroyS: number;
    sysctlWarnings: string[];
    clientNofile: string;
}

export function renderReport(r: Report): string {
    const L: string[] = [];
    const p = (s = "") => L.push(s);
    p("# Connection-burst proof (seed 004)");
    p();
    p("Generated by the command below; do not edit by hand (the next run overwrites it).");
    p();
    p("```");
    p(COMMAND);
    p("```");
    p();
    p(`(= \`bash scripts/setup.sh && tsx bench/burst/run.ts --reps ${r.reps}\`)`);
    p();
    p(`- Date: ${r.date}; the whole run took ${r.durationS} s (pulumi up ${r.upS} s, pulumi destroy ${r.destroyS} s).`);
    for (const [k, v] of Object.entries(r.machine)) p(`- ${k}: ${v}`);
    p();
    p("## What was measured");
    p();
    p("One local test host (Debian bookworm, systemd, its own network namespace), Debian's `redis-server` 7.0 started from its stock unit and config.");
    p("The burst client (`bench/burst/client.ts`) runs inside that host's network namespace (`ip netns exec`) and connects to `127.0.0.1:6379`:");
    p("it starts a fixed number of connects evenly over 1 s (in 10 ms slices; the table shows how long starting them really took), sends `PING` on each, keeps every answered connection open until all are resolved and 1 s has passed");
    p("(so they are all open at once, as in the seed), then closes each with an RST (SO_LINGER 0, `socket.resetAndDestroy()`; the kernel's `TCPAbortOnData` counter below counts these RSTs).");
    p("Each connection has 3 s to connect and answer; the run has a hard deadline. The same bursts run on the stock host (**before**) and after `pulumi up` of conntune (**after**):");
    p();
    p("- SysctlProfile presets `keepalive` + `highConcurrency` (keys a test host cannot write are skipped by `keyPolicy`: nf_conntrack_max, rmem_max/wmem_max, vm.*);");
    p("- FileDescriptorLimits 16384/16384 (this machine caps hard limits at 20000);");
    p("- SystemdUnitOverride `redis-server.service` `LimitNOFILE=16384`;");
    p("- RedisServerConfig `maxclients 16000`, `tcp-backlog 10000` (restarts Redis: tcp-backlog cannot be set live).");
    p();
    p(`Every burst ran ${r.reps} times per state; a cell shows one value when all runs agree, else each run's value (run 1 / run 2 / …).`);
    p("Counts (succeeded, rejected, overflows) are the result; times depend on how busy the machine was (see the load averages) and are only comparable within a column.");
    p();
    p("## Effective values");
    p();
    p("| | before (stock) | after conntune | after destroy |");
    p("|---|---|---|---|");
    const rows: Array<[string, keyof Effective]> = [
        ["net.core.somaxconn", "somaxconn"],
        ["net.ipv4.tcp_max_syn_backlog", "tcpMaxSynBacklog"],
        ["net.ipv4.tcp_syncookies", "syncookies"],
        ["net.ipv4.tcp_tw_reuse", "tcpTwReuse"],
        ["net.ipv4.tcp_fin_timeout", "tcpFinTimeout"],
        ["Redis tcp-backlog", "redisTcpBacklog"],
        ["accept queue of 127.0.0.1:6379 (`ss -ltn` Send-Q = min(tcp-backlog, somaxconn))", "listenQueue"],
        ["Redis maxclients", "redisMaxclients"],
        ["Redis process nofile soft/hard (/proc/PID/limits)", "redisNofile"],
        ["redis-server.service LimitNOFILE soft/hard", "unitLimitNofile"],
        ["fresh SSH login nofile soft/hard", "loginNofile"],
        ["systemd DefaultLimitNOFILE soft/hard", "systemdDefault"],
    ];
    for (const [label, k] of rows) p(`| ${label} | ${r.effBefore[k]} | ${r.effAfter[k]} | ${r.effRestored[k]} |`);
    p(`| burst client process nofile soft/hard | ${r.clientNofile} | ${r.clientNofile} | |`);
    p();
    if (r.sysctlWarnings.length) {
        p("conntune's warnings for skipped keys (from the stack outputs):");
        p();
        for (const w of r.sysctlWarnings) p(`- ${w}`);
        p();
    }
    p("## Results");
    p();
    p(`| | ${SCENARIOS.map((s) => `${s.title}: before | after`).join(" | ")} |`);
    p(`|---|${SCENARIOS.map(() => "---|---").join("|")}|`);
    const by = (ms: Measurement[], id: string) => ms.filter((m) => m.scenario === id);
    const metric = (label: string, f: (m: Measurement) => number | string) =>
        p(`| ${label} | ${SCENARIOS.map((s) => `${cell(by(r.before, s.id), f)} | ${cell(by(r.after, s.id), f)}`).join(" | ")} |`);
    metric("connects attempted", (m) => m.client.attempted);
    metric("succeeded (answered PING)", (m) => m.client.succeeded);
    metric("refused (ECONNREFUSED)", (m) => m.client.refused);
    metric("timed out (no connect/PONG in 3 s)", (m) => `${m.client.timedOut}${m.client.timedOutConnecting ? ` (${m.client.timedOutConnecting} in the handshake)` : ""}`);
    metric("rejected by Redis (\"max number of clients\")", (m) => m.client.rejectedByRedis);
    metric("other errors", (m) => Object.entries(m.client.otherErrors).map(([k, v]) => `${k} ${v}`).join(", ") || 0);
    metric("Redis `rejected_connections` (INFO delta)", (m) => m.redisRejected);
    metric("Redis `total_connections_received` (delta)", (m) => m.redisAccepted);
    metric("peak concurrent answered connections", (m) => m.client.peakConcurrent);
    metric("kernel ListenOverflows (accept queue full)", (m) => m.kernel.ListenOverflows);
    metric("kernel TCPSynRetrans (SYNs sent again after 1 s)", (m) => m.kernel.TCPSynRetrans);
    metric("kernel SyncookiesSent", (m) => m.kernel.SyncookiesSent);
    metric("kernel TCPAbortOnData (RST closes)", (m) => m.kernel.TCPAbortOnData);
    metric("connect ms p50", (m) => m.client.connectMs.p50);
    metric("connect ms p99", (m) => m.client.connectMs.p99);
    metric("connect ms max", (m) => m.client.connectMs.max);
    metric("PONG ms p99", (m) => m.client.pongMs.p99);
    metric("ms to start all connects", (m) => m.client.issueMs);
    metric("Redis busy (Lua spin, ms)", (m) => m.client.stalledMs ?? "-");
    p();
    p("## Reading");
    p();
    for (const line of reading(r)) p(`- ${line}`);
    p();
    p("## Checks");
    p();
    p(`- \`pulumi destroy\` restored the host (every file conntune touched byte for byte, the sysctls, Redis's config and limits): **${r.restored ? "yes" : "NO"}**${r.restored ? "" : `\n\n\`\`\`\n${r.restoreDiff}\n\`\`\``}`);
    p(`- This machine's own values (vm.*, fs.*, root-namespace net.*) unchanged by the run: **${r.machineUnchanged ? "yes" : "NO"}**${r.machineUnchanged ? "" : `\n\n\`\`\`\n${r.machineDiff}\n\`\`\``}`);
    p("- Traffic: only inside the test host's network namespace, to 127.0.0.1:6379 (the client refuses any target but loopback or a test-host address).");
    p("- The listen-queue effect is also asserted, without timing, by `test/e2e/burst.test.ts` (2000 connects against a SIGSTOPped Redis: overflows and SYN retransmissions before, none after).");
    p();
    return L.join("\n");
}

/** Plain-language findings computed from the numbers (nothing here is asserted without the data). */
function reading(r: Report): string[] {
    const out: string[] = [];
    const by = (ms: Measurement[], id: string) => ms.filter((m) => m.scenario === id);
    const all = (ms: Measurement[], f: (m: Measurement) => boolean) => ms.length > 0 && ms.every(f);
    const range = (ms: Measurement[], f: (m: Measurement) => number) => {
        const v = ms.map(f);
        return Math.min(...v) === Math.max(...v) ? `${v[0]}` : `${Math.min(...v)}–${Math.max(...v)}`;
    };
    const [soft] = r.effBefore.redisNofile.split("/").map(Number);
    const maxc = Number(r.effBefore.redisMaxclients);
    out.push(
        soft >= maxc + 32
            ? `The stock host is **not** limited by file descriptors the way seed 004 describes: Debian's redis-server.service already sets LimitNOFILE=65535 (clamped to ${r.effBefore.redisNofile} by this machine), enough for Redis's default maxclients ${maxc} (+32). A fresh SSH login does get only ${r.effBefore.loginNofile} (${r.effAfter.loginNofile} after): that limits a client started from a login shell (seed 004's client side), not the systemd-run Redis, and not this bench's client (started from the machine, its soft limit raised to its hard one).`
            : `The stock Redis process may open ${soft} files, fewer than maxclients ${maxc} + 32: file descriptors limit it.`,
    );
    const summary = (ms: Measurement[]) =>
        `${range(ms, (m) => m.client.succeeded)} succeeded, ${range(ms, (m) => m.client.timedOut)} timed out, ${range(ms, (m) => m.redisRejected)} rejected by Redis, ` +
        `${range(ms, (m) => m.kernel.ListenOverflows)} listen-queue overflows, ${range(ms, (m) => m.kernel.TCPSynRetrans)} SYN retransmissions, connect p99 ${range(ms, (m) => m.client.connectMs.p99)} ms`;
    const b10 = by(r.before, "burst10k");
    const a10 = by(r.after, "burst10k");
    if (b10.length && a10.length) {
        const clean = all(b10, (m) => m.kernel.ListenOverflows === 0 && m.client.succeeded === m.client.attempted);
        out.push(
            `10 000 connects in 1 s, idle Redis — before: ${summary(b10)}; after: ${summary(a10)}.` +
                (clean
                    ? ` The stock accept queue of ${r.effBefore.listenQueue} was enough: on loopback an idle Redis accepts about as fast as one client process can connect, so at this size the profile changes nothing measurable.`
                    : ` The stock accept queue of ${r.effBefore.listenQueue} overflowed in some runs: even an idle Redis is sometimes descheduled on this loaded 2-core machine while the connects arrive.`),
        );
    }
    const bb = by(r.before, "busy8k");
    const ab = by(r.after, "busy8k");
    if (bb.length && ab.length) {
        const noTimeouts = all([...bb, ...ab], (m) => m.client.timedOut === 0);
        out.push(
            `8 000 connects in 1 s while Redis runs a 1 s command (in production: a slow command, a fork, a pause) — before (accept queue ${r.effBefore.listenQueue}): ${summary(bb)}; after (accept queue ${r.effAfter.listenQueue}): ${summary(ab)}. ` +
                "This is where somaxconn / tcp_max_syn_backlog / tcp-backlog matter: a full accept queue makes the kernel drop SYNs, and the client sends them again only after the 1 s initial retransmission timeout." +
                (noTimeouts ? " With a 3 s timeout no connection failed; they were only late (a client with a connect timeout under 1 s would have failed the retransmitted ones)." : ""),
        );
    }
    const b15 = by(r.before, "burst15k");
    const a15 = by(r.after, "burst15k");
    if (b15.length && a15.length) {
        out.push(
            `15 000 connects in 1 s exceed stock maxclients ${maxc} — before: ${summary(b15)}, peak ${range(b15, (m) => m.client.peakConcurrent)} concurrent; ` +
                `after (maxclients ${r.effAfter.redisMaxclients}, Redis nofile ${r.effAfter.redisNofile}): ${summary(a15)}, peak ${range(a15, (m) => m.client.peakConcurrent)} concurrent.`,
        );
    }
    const ms = [...r.before, ...r.after];
    const late = ms.filter((m) => m.client.issueMs > 1000);
    out.push(
        `Starting the connects took ${range(ms, (m) => m.client.issueMs)} ms` +
            (late.length
                ? ` (${late.length} of ${ms.length} bursts took more than 1 s): client, Redis and the kernel's loopback work share 2 cores with whatever else runs on the machine (load average ${r.machine["Load average at start (1/5/15 min)"]} at the start).`
                : ": every burst was started within a second."),
    );
    if (Number(r.effAfter.redisNofile.split("/")[0]) < soft) {
        out.push(`The after state's Redis may open fewer files (${r.effAfter.redisNofile}) than the stock one (${r.effBefore.redisNofile}, Debian's 65535 clamped): conntune's override sets 16384 because this machine allows at most 20000; it still fits maxclients ${r.effAfter.redisMaxclients} + 32.`);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function machine(): Record<string, string> {
    const cpus = os.cpus();
    return {
        Machine: `${cpus.length} × ${cpus[0]?.model ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Linux ${os.release()}, Node ${process.version}`,
        "Load average at start (1/5/15 min)": os.loadavg().map((l) => l.toFixed(2)).join(" / "),
    };
}

function diffLines(a: string, b: string): string {
    const A = a.split("\n");
    const B = b.split("\n");
    return [...A.filter((l) => !B.includes(l)).map((l) => `- ${l}`), ...B.filter((l) => !A.includes(l)).map((l) => `+ ${l}`)].join("\n");
}

async function main(): Promise<void> {
    const flags = parseFlags({ reps: "string", out: "string" });
    const reps = intFlag("reps", flags.reps, 3, 1, 5);
    const outFile = path.resolve(REPO, flags.out ?? "bench/results/burst.md");
    const cap = capability();
    if (!cap.ok) throw new Error(`the burst bench boots a local test host and cannot here: ${cap.reason}`);

    const t0 = Date.now();
    const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const mach = machine();
    const guardBefore = machineGuard();
    log("booting one test host");
    const h = await startHost();
    let stack: LabStack | undefined;
    let destroyed = false;
    try {
        log(`host ${h.name} at ${h.address}; starting its stock redis-server`);
        hostExec(h, "systemctl start redis-server.service");
        waitForRedis(h);
        const snapBefore = snapshot(h);
        const effBefore = await effective(h);
        log(`before: somaxconn ${effBefore.somaxconn}, tcp-backlog ${effBefore.redisTcpBacklog}, maxclients ${effBefore.redisMaxclients}, Redis nofile ${effBefore.redisNofile}`);
        const before = await measure(h, reps, "before");

        stack = await labHostStack(h, "bench-burst");
        await stack.setHosts(hostConfig(h));
        log("pulumi up");
        const u0 = Date.now();
        await stack.up();
        const upS = Math.round((Date.now() - u0) / 1000);
        const outputs = (await stack.outputs()).effective as Record<string, { sysctlWarnings?: string[] }>;
        waitForRedis(h);
        const effAfter = await effective(h);
        log(`after: somaxconn ${effAfter.somaxconn}, tcp-backlog ${effAfter.redisTcpBacklog}, maxclients ${effAfter.redisMaxclients}, Redis nofile ${effAfter.redisNofile}`);
        const after = await measure(h, reps, "after");

        log("pulumi destroy");
        const d0 = Date.now();
        await stack.destroy();
        destroyed = true;
        const destroyS = Math.round((Date.now() - d0) / 1000);
        waitForRedis(h);
        const snapRestored = snapshot(h);
        const effRestored = await effective(h);
        const restoreDiff = [diffLines(snapBefore, snapRestored), diffLines(JSON.stringify(effBefore, null, 1), JSON.stringify(effRestored, null, 1))].filter(Boolean).join("\n");
        const guardAfter = machineGuard();
        const machineDiff = diffLines(JSON.stringify(guardBefore, null, 1), JSON.stringify(guardAfter, null, 1));

        const report: Report = {
            date,
            durationS: Math.round((Date.now() - t0) / 1000),
            machine: { ...mach, "Load average at end (1/5/15 min)": os.loadavg().map((l) => l.toFixed(2)).join(" / ") },
            reps,
            before,
            after,
            effBefore,
            effAfter,
            effRestored,
            restored: restoreDiff === "",
            restoreDiff,
            machineUnchanged: machineDiff === "",
            machineDiff,
            upS,
            destroyS,
            sysctlWarnings: outputs.burst?.sysctlWarnings ?? [],
            clientNofile: `${before[0].client.nofile.soft}/${before[0].client.nofile.hard}`,
        };
        fs.mkdirSync(path.dirname(outFile), { recursive: true });
        fs.writeFileSync(outFile, renderReport(report));
        log(`wrote ${path.relative(REPO, outFile)} (${report.durationS} s)`);
        if (!report.restored) throw new Error(`pulumi destroy did not restore the host:\n${restoreDiff}`);
        if (!report.machineUnchanged) throw new Error(`this machine's own values changed during the run:\n${machineDiff}`);
    } finally {
        if (stack) {
            if (destroyed) await stack.remove();
            else await stack.dispose();
        }
        log(`tearing down ${h.name}`);
        await stopHosts([h]);
    }
}

if (require.main === module) {
    main().catch(exitOnError("bench:burst failed", USAGE, 1));
}
