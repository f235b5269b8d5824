/**
 * A bounded connection-burst client for Redis (seed 004's "many concurrent connections, SO_LINGER 0").
 *
 * It opens a fixed number of TCP connections to one Redis, spread evenly over a fixed window, sends
 * PING on each, keeps every answered connection open until every connection is resolved and a hold
 * time has passed (so that they are all open at once, as in the seed), then closes each with an RST
 * (SO_LINGER 0 through socket.resetAndDestroy(): no TIME_WAIT).
 * Every connection has its own timeout; the whole run has a hard deadline after which whatever is
 * left is counted and reset. It prints one JSON object (see BurstResult) on stdout.
 *
 * Bounds (refused when exceeded, never silently clamped):
 *   - target: loopback (127.0.0.0/8, ::1) or a conntune test host (10.213.N.2) only;
 *   - count ≤ 16000 and ≤ this process' soft open-files limit minus a margin;
 *   - window 100 ms–5 s, per-connection timeout ≤ 10 s, hold ≤ 10 s, stall ≤ 2 s: the run ends within 30 s.
 *
 *   tsx bench/burst/client.ts --host 127.0.0.1 --port 6379 --count 10000 --window-ms 1000
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { exitOnError, intFlag, parseFlags, UsageError } from "../../scripts/cli";

/** Hard caps: the run can never be bigger or longer than this, whatever the arguments say. */
export const CAPS = { count: 16000, windowMs: 5000, timeoutMs: 10000, holdMs: 10000, stallMs: 2000, deadlineMs: 30000 } as const;
/** Descriptors this process keeps for itself (stdio, the event loop, tsx) on top of the sockets. */
const FD_MARGIN = 64;

export interface BurstOptions {
    host: string;
    port: number;
    /** Connections to open. */
    count: number;
    /** Connects are started evenly over this many milliseconds, in 10 ms slices. */
    windowMs: number;
    /** Per connection: connect + PONG must arrive within this many milliseconds, else timed out. */
    timeoutMs: number;
    /** Answered connections stay open at least this long after the last connect started, then are reset. */
    holdMs: number;
    /**
     * 0: a plain burst. Otherwise, just before the burst, one extra connection asks Redis to run a
     * Lua script that spins this many milliseconds (a slow command): the burst's first part arrives
     * while Redis cannot accept, so the kernel's listen queue has to hold it.
     */
    stallMs: number;
}

export interface BurstResult {
    options: BurstOptions;
    /** Connects started. */
    attempted: number;
    /** Connected and answered PING with +PONG. */
    succeeded: number;
    /** ECONNREFUSED: nothing listening, or the kernel answered the SYN with an RST. */
    refused: number;
    /** Redis accepted the socket but answered "-ERR max number of clients reached" (maxclients). */
    rejectedByRedis: number;
    /** No connect or no PONG within the per-connection timeout (or the run's deadline). */
    timedOut: number;
    /** Of the timed out: the TCP handshake never completed (SYN unanswered: listen queue overflow). */
    timedOutConnecting: number;
    /** Reset or closed by the server before PONG, or any other socket error, by error code. */
    otherErrors: Record<string, number>;
    /** Answered connections open at the same time, at the peak. */
    peakConcurrent: number;
    /** Milliseconds from starting a connect to the handshake completing, for connected sockets. */
    connectMs: Percentiles;
    /** Milliseconds from starting a connect to +PONG, for succeeded connections. */
    pongMs: Percentiles;
    /** Milliseconds the stall script really ran (Redis's own clock), when stallMs > 0. */
    stalledMs?: number;
    /** How long starting all connects (the syscalls) really took (the event loop can lag behind the window). */
    issueMs: number;
    elapsedMs: number;
    /** This process' open-files limit (soft/hard) while it ran. */
    nofile: { soft: number; hard: number };
}

export interface Percentiles {
    n: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
}

/** Only loopback and conntune's own test-host addresses may be targets. */
export function allowedTarget(host: string): boolean {
    if (host === "::1") return true;
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
    if (!m || m.slice(1).some((o) => Number(o) > 255)) return false;
    if (m[1] === "127") return true;
    return m[1] === "10" && m[2] === "213" && Number(m[3]) >= 1 && Number(m[3]) <= 250 && m[4] === "2";
}

/** This process' open-files limits, from /proc/self/limits. */
export function ownNofile(): { soft: number; hard: number } {
    const line = fs.readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files")) ?? "";
    const [soft, hard] = line.replace("Max open files", "").trim().split(/\s+/).map((v) => (v === "unlimited" ? Infinity : Number(v)));
    return { soft, hard };
}

/** Check the options against the caps and this process' limits; returns the problems (empty: fine). */
export function checkOptions(o: BurstOptions, nofile = ownNofile()): string[] {
    const p: string[] = [];
    if (!allowedTarget(o.host)) p.push(`--host ${o.host}: only loopback (127.x.x.x, ::1) or a test host (10.213.N.2) may be a target`);
    const intIn = (name: string, v: number, min: number, max: number) => {
        if (!Number.isInteger(v) || v < min || v > max) p.push(`--${name} ${v}: must be an integer from ${min} to ${max}`);
    };
    intIn("port", o.port, 1, 65535);
    intIn("count", o.count, 1, CAPS.count);
    // At least 100 ms: Node starts the connect syscalls in a later tick, so an all-at-once loop would
    // only queue them behind itself (and start every timeout before any connect is really sent).
    intIn("window-ms", o.windowMs, 100, CAPS.windowMs);
    intIn("timeout-ms", o.timeoutMs, 100, CAPS.timeoutMs);
    intIn("hold-ms", o.holdMs, 0, CAPS.holdMs);
    intIn("stall-ms", o.stallMs, 0, CAPS.stallMs);
    if (o.count + FD_MARGIN > nofile.soft) {
        p.push(`--count ${o.count}: this process may open ${nofile.soft} files (soft limit; hard ${nofile.hard}); raise the soft limit of this process (ulimit -Sn) or lower the count`);
    }
    return p;
}

function percentiles(xs: number[]): Percentiles {
    const s = [...xs].sort((a, b) => a - b);
    const at = (q: number) => (s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]) : 0);
    return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s.length ? Math.round(s[s.length - 1]) : 0 };
}

type Outcome = "succeeded" | "refused" | "rejectedByRedis" | "timedOut" | "error";

/** A Lua script that spins ARGV[1] ms on Redis's own clock and returns how long it ran (µs). */
const SPIN = [
    "local function now() local t = redis.call('TIME') return tonumber(t[1]) * 1000000 + tonumber(t[2]) end",
    "local t0 = now() local limit = tonumber(ARGV[1]) * 1000",
    "while now() - t0 < limit do end",
    "return now() - t0",
].join("\n");

function resp(args: string[]): string {
    return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/**
 * Start the stall script on its own connection. Resolves 30 ms after sending it (Redis reads a
 * command within a millisecond when it gets the CPU; the run reports how long the script really ran).
 */
function startStall(o: BurstOptions): Promise<{ socket: net.Socket; ran: Promise<number | undefined> }> {
    return new Promise((resolve, reject) => {
        const s = net.connect({ host: o.host, port: o.port, noDelay: true });
        let buf = "";
        const ran = new Promise<number | undefined>((done) => {
            s.on("data", (d) => {
                buf += d.toString("latin1");
                const m = /^:(\d+)\r\n/.exec(buf);
                if (m) done(Math.round(Number(m[1]) / 1000));
                else if (buf.includes("\r\n")) done(undefined);
            });
            s.on("close", () => done(undefined));
        });
        const giveUp = setTimeout(() => {
            s.destroy();
            reject(new Error(`the stall connection to ${o.host}:${o.port} did not connect within ${o.timeoutMs} ms`));
        }, o.timeoutMs);
        s.once("error", (e) => {
            clearTimeout(giveUp);
            reject(e);
        });
        s.once("connect", () => {
            clearTimeout(giveUp);
            s.write(resp(["EVAL", SPIN, "0", String(o.stallMs)]));
            // Redis reads the command within a millisecond; give it a margin before the burst.
            setTimeout(() => resolve({ socket: s, ran }), 30);
        });
    });
}

/** Run one burst. Resolves when every connection is resolved and closed, or at the hard deadline. */
export async function burst(o: BurstOptions): Promise<BurstResult> {
    const problems = checkOptions(o);
    if (problems.length) throw new Error(problems.join("\n"));
    const stall = o.stallMs > 0 ? await startStall(o) : undefined;
    const r = await run(o);
    if (stall) {
        r.stalledMs = await Promise.race([stall.ran, new Promise<undefined>((res) => setTimeout(res, 100))]);
        stall.socket.resetAndDestroy();
    }
    return r;
}

function run(o: BurstOptions): Promise<BurstResult> {
    const t0 = performance.now();
    // Starting the connects can take much longer than the window on a loaded machine (the client
    // shares the cores with Redis and the kernel's loopback work): 20 s of slack, then the hard cap.
    const deadline = Math.min(CAPS.deadlineMs, o.windowMs + o.timeoutMs + o.holdMs + 20000);
    const counts = { succeeded: 0, refused: 0, rejectedByRedis: 0, timedOut: 0, timedOutConnecting: 0 };
    const otherErrors: Record<string, number> = {};
    const connectMs: number[] = [];
    const pongMs: number[] = [];
    const open = new Set<net.Socket>();
    const held = new Set<net.Socket>();
    let attempted = 0;
    let resolved = 0;
    let peak = 0;
    let issueMs = 0;
    let holdOver = false;
    let finished = false;
    let holdTimer: NodeJS.Timeout | undefined;

    return new Promise((resolve) => {
        const finish = () => {
            if (finished) return;
            finished = true;
            clearTimeout(hard);
            clearTimeout(holdTimer);
            // Whatever is still unresolved at the deadline counts as timed out.
            for (const s of open) {
                if (!held.has(s)) {
                    counts.timedOut++;
                    if (s.connecting) counts.timedOutConnecting++;
                }
                if (s.connecting) s.destroy();
                else s.resetAndDestroy();
            }
            open.clear();
            held.clear();
            resolve({
                options: o,
                attempted,
                ...counts,
                otherErrors,
                peakConcurrent: peak,
                connectMs: percentiles(connectMs),
                pongMs: percentiles(pongMs),
                issueMs: Math.round(issueMs),
                elapsedMs: Math.round(performance.now() - t0),
                nofile: ownNofile(),
            });
        };
        const hard = setTimeout(finish, deadline);
        // Answered connections stay open until every connection is resolved and the hold is over:
        // at the peak, all of them are open at once. Then each is closed with an RST.
        const maybeRelease = () => {
            if (finished || !holdOver || resolved < o.count) return;
            for (const s of held) {
                s.resetAndDestroy();
                open.delete(s);
            }
            held.clear();
            finish();
        };

        const one = () => {
            attempted++;
            const start = performance.now();
            let outcome: Outcome | undefined;
            let buf = "";
            const s = net.connect({ host: o.host, port: o.port, noDelay: true });
            open.add(s);
            const settle = (what: Outcome, code?: string) => {
                if (outcome || finished) return;
                outcome = what;
                resolved++;
                clearTimeout(timer);
                if (what === "error") otherErrors[code ?? "unknown"] = (otherErrors[code ?? "unknown"] ?? 0) + 1;
                else if (what !== "timedOut") counts[what]++;
                if (what === "succeeded") {
                    held.add(s);
                    peak = Math.max(peak, held.size);
                } else {
                    // SO_LINGER 0: an RST, never a TIME_WAIT (a socket still connecting is just closed).
                    if (s.connecting || s.destroyed) s.destroy();
                    else s.resetAndDestroy();
                    open.delete(s);
                }
                maybeRelease();
            };
            // Timers run before I/O in Node's loop: when the loop lags, an answer may already be
            // waiting. Decide in the check phase, after pending I/O has been read.
            const timer = setTimeout(
                () =>
                    setImmediate(() => {
                        if (outcome || finished) return;
                        counts.timedOut++;
                        if (s.connecting) counts.timedOutConnecting++;
                        settle("timedOut");
                    }),
                o.timeoutMs,
            );
            s.once("connect", () => {
                connectMs.push(performance.now() - start);
                s.write("PING\r\n");
            });
            s.on("data", (d) => {
                buf += d.toString("latin1");
                if (buf.startsWith("+PONG\r\n")) {
                    pongMs.push(performance.now() - start);
                    settle("succeeded");
                } else if (buf.includes("max number of clients")) settle("rejectedByRedis");
                else if (buf.includes("\r\n")) settle("error", `reply:${buf.split("\r\n")[0].slice(0, 60)}`);
            });
            s.on("error", (e: NodeJS.ErrnoException) => settle(e.code === "ECONNREFUSED" ? "refused" : "error", e.code));
            s.on("close", () => {
                if (!outcome) settle(buf.includes("max number of clients") ? "rejectedByRedis" : "error", "closed-before-reply");
                open.delete(s);
                held.delete(s);
            });
        };

        // Start connects evenly over the window, in 10 ms slices (a slice catches up if the loop lagged).
        const slices = Math.floor(o.windowMs / 10);
        let slice = 0;
        const tick = () => {
            if (finished) return;
            slice++;
            const due = Math.min(o.count, Math.ceil((o.count * slice) / slices));
            while (attempted < due) one();
            if (attempted < o.count) {
                setTimeout(tick, Math.max(0, t0 + (o.windowMs * slice) / slices - performance.now()));
            } else {
                // Node issues each connect syscall in a nextTick after the slice: measure after them.
                process.nextTick(() => (issueMs = performance.now() - t0));
                holdTimer = setTimeout(() => {
                    holdOver = true;
                    maybeRelease();
                }, o.holdMs);
            }
        };
        tick();
    });
}

function parseArgs(argv: string[]): BurstOptions {
    const f = parseFlags({ host: "string", port: "string", count: "string", "window-ms": "string", "timeout-ms": "string", "hold-ms": "string", "stall-ms": "string" }, argv);
    if (!f.host) throw new UsageError("--host is required");
    return {
        host: f.host,
        port: intFlag("port", f.port, 6379, 1, 65535),
        count: intFlag("count", f.count, 10000, 1, 1000000),
        windowMs: intFlag("window-ms", f["window-ms"], 1000, 0, 600000),
        timeoutMs: intFlag("timeout-ms", f["timeout-ms"], 3000, 1, 600000),
        holdMs: intFlag("hold-ms", f["hold-ms"], 1000, 0, 600000),
        stallMs: intFlag("stall-ms", f["stall-ms"], 0, 0, 600000),
    };
}

if (require.main === module) {
    Promise.resolve()
        .then(() => burst(parseArgs(process.argv.slice(2))))
        .then((r) => {
            process.stdout.write(`${JSON.stringify(r)}\n`);
            process.exit(0);
        }, exitOnError("burst client", "client.ts --host ADDR [--port 6379] [--count 10000] [--window-ms 1000] [--timeout-ms 3000] [--hold-ms 1000] [--stall-ms 0]", 2));
}
