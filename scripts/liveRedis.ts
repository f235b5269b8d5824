/**
 * The live check of a ConfigMap's Redis (`conntune:redis.liveCheck`): a minimal RESP client that
 * connects from the machine running drift/health straight to the given address and reads what the
 * host probe reads (CLIENT ID, INFO clients/stats, CONFIG GET maxclients, CLIENT LIST). Its answers
 * are turned into the probe's text so the same pure parser and comparison (scripts/live.ts) apply.
 */
import * as net from "node:net";

/** One RESP reply: a simple/bulk string, an integer, an error, null, or an array of replies. */
export type Reply = string | number | null | RespError | Reply[];

/** An error reply (`-ERR …`, `-NOAUTH …`): data, not an exception, so a refusal can be tolerated. */
export class RespError {
    constructor(readonly message: string) {}
}

/** A RESP command as bytes (an array of bulk strings). */
export function encodeCommand(args: string[]): Buffer {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
    return Buffer.from(parts.join(""));
}

/**
 * The first complete reply in `buf` from `offset`, with the offset after it; undefined when more
 * bytes are needed. Throws on bytes that are not RESP (not a Redis at that address).
 */
export function parseReply(buf: Buffer, offset = 0): { reply: Reply; next: number } | undefined {
    if (offset >= buf.length) return undefined;
    const eol = buf.indexOf("\r\n", offset);
    if (eol < 0) return undefined;
    const type = String.fromCharCode(buf[offset]);
    const line = buf.toString("utf8", offset + 1, eol);
    const next = eol + 2;
    switch (type) {
        case "+":
            return { reply: line, next };
        case "-":
            return { reply: new RespError(line), next };
        case ":":
            return { reply: Number(line), next };
        case "$": {
            const n = Number(line);
            if (!Number.isInteger(n) || n < -1) throw new Error(`not a Redis reply (bulk length ${JSON.stringify(line.slice(0, 20))})`);
            if (n === -1) return { reply: null, next };
            if (buf.length < next + n + 2) return undefined;
            return { reply: buf.toString("utf8", next, next + n), next: next + n + 2 };
        }
        case "*": {
            const n = Number(line);
            if (!Number.isInteger(n) || n < -1) throw new Error(`not a Redis reply (array length ${JSON.stringify(line.slice(0, 20))})`);
            if (n === -1) return { reply: null, next };
            const items: Reply[] = [];
            let at = next;
            for (let i = 0; i < n; i++) {
                const r = parseReply(buf, at);
                if (!r) return undefined;
                items.push(r.reply);
                at = r.next;
            }
            return { reply: items, next: at };
        }
        default:
            throw new Error("not a Redis reply (the address answered something other than RESP)");
    }
}

/** Why the address could not be read: the message never holds the password. */
export class RedisLiveError extends Error {}

/**
 * Send `commands` in order over one connection to `host:port` (AUTH first when `password` is set)
 * and return their replies. Bounded: `timeoutMs` for connect and for the whole exchange.
 */
export function redisExchange(host: string, port: number, commands: string[][], password = "", timeoutMs = 10_000): Promise<Reply[]> {
    const all = password ? [["AUTH", password], ...commands] : commands;
    return new Promise((resolve, reject) => {
        let buf = Buffer.alloc(0);
        const replies: Reply[] = [];
        let done = false;
        const socket = net.connect({ host, port });
        const finish = (err?: Error) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            socket.destroy();
            if (err) reject(err);
            else resolve(password ? replies.slice(1) : replies);
        };
        const timer = setTimeout(() => finish(new RedisLiveError(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
        socket.on("connect", () => socket.write(Buffer.concat(all.map(encodeCommand))));
        socket.on("error", (e: NodeJS.ErrnoException) => finish(new RedisLiveError(e.message.replace(/^connect /, ""))));
        socket.on("close", () => finish(new RedisLiveError(`the connection closed after ${replies.length} of ${all.length} replies`)));
        socket.on("data", (d: Buffer) => {
            buf = Buffer.concat([buf, d]);
            try {
                for (;;) {
                    const r = parseReply(buf);
                    if (!r) break;
                    buf = buf.subarray(r.next);
                    replies.push(r.reply);
                    // A refused AUTH: stop there (the rest would only repeat NOAUTH).
                    if (password && replies.length === 1 && r.reply instanceof RespError) {
                        finish(new RedisLiveError(`AUTH refused: ${r.reply.message}`));
                        return;
                    }
                }
            } catch (e) {
                finish(new RedisLiveError(e instanceof Error ? e.message : String(e)));
                return;
            }
            if (replies.length === all.length) finish();
        });
    });
}

/** `HOST:PORT` / `[IPv6]:PORT` split. */
export function splitAddress(address: string): { host: string; port: number } {
    const i = address.lastIndexOf(":");
    return { host: address.slice(0, i).replace(/^\[(.*)\]$/, "$1"), port: Number(address.slice(i + 1)) };
}

const text = (r: Reply): string => (r instanceof RespError ? r.message : Array.isArray(r) ? r.map(text).join("\n") : r === null ? "" : String(r));

/**
 * The replies of CLIENT ID, INFO clients, INFO stats, CONFIG GET maxclients, CLIENT LIST as the host
 * probe's `== redis` section (liveProbe.sh's markers), for scripts/live.ts parseProbe. A refused
 * CONFIG GET (e.g. a managed Redis) leaves maxclients 0 (the near-maxclients check is then skipped).
 */
export function probeText(replies: Reply[]): string {
    const [id, clients, stats, maxclients, list] = replies;
    const lines = ["== redis", text(id), "ct:info", ...text(clients).split(/\r?\n/), ...text(stats).split(/\r?\n/)];
    if (Array.isArray(maxclients) && maxclients.length >= 2 && !(maxclients[1] instanceof RespError)) lines.push(`maxclients:${text(maxclients[1])}`);
    lines.push("ct:clients", ...text(list).split(/\r?\n/), "ct:end", "== end");
    return lines.join("\n");
}

/** The commands the live check sends (after AUTH), in probeText's order. */
export const LIVE_COMMANDS = [["CLIENT", "ID"], ["INFO", "clients"], ["INFO", "stats"], ["CONFIG", "GET", "maxclients"], ["CLIENT", "LIST"]];

/** Read the Redis at `address` and return the probe text (throws RedisLiveError when it cannot). */
export async function readRedis(address: string, password: string, timeoutMs = 10_000): Promise<string> {
    const { host, port } = splitAddress(address);
    return probeText(await redisExchange(host, port, LIVE_COMMANDS, password, timeoutMs));
}
