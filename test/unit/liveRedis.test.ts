/**
 * The ConfigMap's live check reads Redis with a minimal RESP client (scripts/liveRedis.ts): its
 * encoding, its parser, and its replies as the host probe's text, so the same comparison applies.
 */
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { formatHealth, liveFindings, parseProbe, redisHealth } from "../../scripts/live";
import { encodeCommand, parseReply, probeText, redisExchange, RespError, splitAddress } from "../../scripts/liveRedis";
import { redisStackSchema } from "../../components/redisConfigMap/schema";
import { stackConfigOf as stackConfigIn } from "../../components/load";
import { configMapLive, configMapNotChecked } from "../../scripts/liveCheck";
const stackConfigOf = (c: Record<string, unknown>) => stackConfigIn(c, process.cwd());

const b = (s: string) => Buffer.from(s);

describe("the RESP client", () => {
    it("encodes a command as an array of bulk strings (byte lengths, not characters)", () => {
        expect(encodeCommand(["CONFIG", "GET", "maxclients"]).toString()).toBe("*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$10\r\nmaxclients\r\n");
        expect(encodeCommand(["AUTH", "pä"]).toString()).toBe("*2\r\n$4\r\nAUTH\r\n$3\r\npä\r\n");
    });

    it("parses simple strings, errors, integers, bulk strings, null and nested arrays", () => {
        expect(parseReply(b("+OK\r\n"))).toEqual({ reply: "OK", next: 5 });
        expect(parseReply(b("-NOAUTH Authentication required.\r\n"))?.reply).toEqual(new RespError("NOAUTH Authentication required."));
        expect(parseReply(b(":42\r\n"))?.reply).toBe(42);
        expect(parseReply(b("$5\r\na\r\nbc\r\n"))?.reply).toBe("a\r\nbc");
        expect(parseReply(b("$-1\r\n"))?.reply).toBeNull();
        expect(parseReply(b("*2\r\n$10\r\nmaxclients\r\n*1\r\n:7\r\n"))?.reply).toEqual(["maxclients", [7]]);
    });

    it("waits for more bytes when a reply is incomplete", () => {
        for (const partial of ["", "$5\r\nab", "*2\r\n+a\r\n", "+OK"]) expect(parseReply(b(partial))).toBeUndefined();
    });

    it("refuses bytes that are not RESP (something else listens at the address)", () => {
        expect(() => parseReply(b("HTTP/1.1 400 Bad Request\r\n"))).toThrow(/not a Redis reply/);
    });

    it("splits HOST:PORT and [IPv6]:PORT", () => {
        expect(splitAddress("127.0.0.1:6379")).toEqual({ host: "127.0.0.1", port: 6379 });
        expect(splitAddress("[::1]:7000")).toEqual({ host: "::1", port: 7000 });
    });
});

describe("the replies as the probe's text", () => {
    const list = ["id=7 addr=10.0.0.7:5001 laddr=x fd=8 name=", "id=8 addr=10.0.0.7:5002 fd=9", "id=9 addr=127.0.0.1:6000 fd=10", "id=12 addr=127.0.0.1:6001 fd=11"].join("\n") + "\n";
    const replies = (maxclients: unknown) => [12, "# Clients\r\nconnected_clients:4\r\nblocked_clients:0\r\n", "# Stats\r\nrejected_connections:3\r\n", maxclients, list];

    it("leaves its own client out and counts clients per peer address, most first", () => {
        const p = parseProbe(probeText(replies(["maxclients", "10"]) as never));
        expect(p.info).toEqual({ connectedClients: 3, blockedClients: 0, rejectedConnections: 3, maxclients: 10 });
        expect(p.clientPeers).toEqual([
            { address: "10.0.0.7", count: 2 },
            { address: "127.0.0.1", count: 1 },
        ]);
        expect(p.redisError).toBeUndefined();
    });

    it("tolerates a refused CONFIG GET maxclients (maxclients unknown, the budget still compared)", () => {
        const p = parseProbe(probeText(replies(new RespError("ERR unknown command 'CONFIG'")) as never));
        expect(p.info?.maxclients).toBe(0);
        expect(liveFindings("redis ConfigMap ns/cm at 127.0.0.1:1", p, { clients: [{ name: "api", maxConnections: 1 }], reserve: 1 })).toEqual([
            "redis ConfigMap ns/cm at 127.0.0.1:1: 3 connected clients > declared budget 2 (clients: api 1 + reserve 1); most from 10.0.0.7 (2)",
            "redis ConfigMap ns/cm at 127.0.0.1:1: rejected_connections 3: Redis refused clients at maxclients 0 since it started; most from 10.0.0.7 (2)",
        ]);
    });

    it("reports a refused INFO as Redis not read", () => {
        const p = parseProbe(probeText([new RespError("NOPERM no"), new RespError("NOPERM this user has no permissions"), new RespError("NOPERM x"), new RespError("NOPERM x"), new RespError("NOPERM x")]));
        expect(p.info).toBeUndefined();
        expect(p.redisError).toMatch(/NOPERM/);
    });
});

describe("the exchange over a socket", () => {
    const servers: net.Server[] = [];
    afterEach(() => {
        for (const s of servers.splice(0)) s.close();
    });
    const serve = (onData: (sock: net.Socket, d: Buffer) => void) =>
        new Promise<number>((resolve) => {
            const s = net.createServer((sock) => sock.on("data", (d) => onData(sock, d)));
            servers.push(s);
            s.listen(0, "127.0.0.1", () => resolve((s.address() as net.AddressInfo).port));
        });

    it("sends AUTH first and returns the other commands' replies", async () => {
        let seen = "";
        const port = await serve((sock, d) => {
            seen += d.toString();
            sock.write("+OK\r\n:5\r\n");
        });
        expect(await redisExchange("127.0.0.1", port, [["CLIENT", "ID"]], "s3cret")).toEqual([5]);
        expect(seen).toBe("*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n");
    });

    it("a refused AUTH is an error that names the refusal, never the password", async () => {
        const port = await serve((sock) => sock.write("-WRONGPASS invalid username-password pair\r\n-NOAUTH x\r\n"));
        const e = await redisExchange("127.0.0.1", port, [["CLIENT", "ID"]], "s3cret").catch((x: Error) => x);
        expect(String(e)).toContain("AUTH refused: WRONGPASS invalid username-password pair");
        expect(String(e)).not.toContain("s3cret");
    });

    it("gives up after its timeout when nothing answers", async () => {
        const port = await serve(() => undefined);
        await expect(redisExchange("127.0.0.1", port, [["PING"]], "", 300)).rejects.toThrow("no answer within 0.3 s");
    });

    it("names a refused connection", async () => {
        const port = await serve(() => undefined);
        servers.splice(0).forEach((s) => s.close());
        await expect(redisExchange("127.0.0.1", port, [["PING"]])).rejects.toThrow(/ECONNREFUSED 127\.0\.0\.1:\d+/);
    });
});

describe("conntune:redis.liveCheck", () => {
    const base = { namespace: "redis", name: "cm", settings: {} };
    it("takes HOST:PORT and an optional secret name", () => {
        expect(redisStackSchema.parse({ ...base, liveCheck: { address: "127.0.0.1:6379", passwordSecret: "redisPassword" } }).liveCheck).toEqual({ address: "127.0.0.1:6379", passwordSecret: "redisPassword" });
        expect(redisStackSchema.parse({ ...base, liveCheck: { address: "[::1]:6379" } }).liveCheck).toEqual({ address: "[::1]:6379" });
    });
    it.each([
        [{ address: "redis.svc" }, "must be HOST:PORT"],
        [{ address: "h:70000" }, "port 1-65535"],
        [{ address: "h:1", passwordSecret: "a b" }, "config key name"],
        [{ address: "h:1", password: "x" }, "password"],
    ])("refuses %j naming the field", (liveCheck, message) => {
        const r = redisStackSchema.safeParse({ ...base, liveCheck });
        expect(r.success).toBe(false);
        expect(JSON.stringify(r.error?.issues)).toContain(message);
    });
});

describe("the ConfigMap target in the live check", () => {
    const cm = (liveCheck?: Record<string, unknown>) => stackConfigOf({ "conntune:redis": { namespace: "redis", name: "cm", settings: {}, clients: [{ name: "api", library: "generic", poolSize: 2 }], clientsReserve: 1, ...(liveCheck ? { liveCheck } : {}) } });

    it("without liveCheck it says how to enable the live check; with it, there is no such line", () => {
        expect(configMapNotChecked(cm())).toBe(
            "redis ConfigMap redis/cm: not checked live (a ConfigMap has no host conntune logs in to): set conntune:redis.liveCheck.address to HOST:PORT this machine reaches (e.g. a kubectl port-forward to the service) to compare its clients with the budget",
        );
        expect(configMapNotChecked(cm({ address: "127.0.0.1:6379" }))).toBeUndefined();
    });

    it("a password secret missing from the stack is an error naming the key (nothing is sent)", async () => {
        const l = await configMapLive(cm({ address: "127.0.0.1:1", passwordSecret: "redisPassword" }), {});
        expect(l.error).toBe("redis ConfigMap redis/cm at 127.0.0.1:1: conntune:redisPassword (redis.liveCheck.passwordSecret) is not set: cannot read Redis for the live check");
        expect(l.budget).toEqual({ clients: [{ name: "api", maxConnections: 2, arithmetic: "2 × 1" }], reserve: 1, maxclients: expect.any(Number) });
    });

    it("an address that refuses makes the check incomplete and says what to check", async () => {
        const l = await configMapLive(cm({ address: "127.0.0.1:1" }), {});
        expect(l.error).toMatch(/^redis ConfigMap redis\/cm at 127\.0\.0\.1:1: cannot read Redis: ECONNREFUSED 127\.0\.0\.1:1 \(is the address reachable from this machine, e\.g\. a running kubectl port-forward\?\)$/);
    });
});

describe("the ConfigMap's Redis in npm run health", () => {
    it("is headed by the ConfigMap and its address, with its clients and budget findings; a finding makes it UNHEALTHY", () => {
        const p = parseProbe(probeText([3, "connected_clients:6\r\n", "rejected_connections:0\r\n", ["maxclients", "100"], "id=1 addr=127.0.0.1:5 fd=1\nid=2 addr=127.0.0.1:6 fd=2\n"]));
        const h = redisHealth("cm", "redis ConfigMap redis/cm at 127.0.0.1:6379", p, ["too many"]);
        expect(formatHealth([h])).toBe(
            ["=== System Health Check ===", "", "redis ConfigMap redis/cm at 127.0.0.1:6379", "  Connections: Redis: 5 connected clients (blocked 0, rejected 0, maxclients 100); by peer: 127.0.0.1 2", "  Budget: too many", "  UNHEALTHY: too many", "", "UNHEALTHY: cm"].join("\n"),
        );
        expect(redisHealth("cm", "x", p, []).lines).toContain("Budget: within the declared budget (or none declared)");
    });
});
