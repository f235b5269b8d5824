import { describe, expect, it } from "vitest";
import { allowed, budgetText, formatHealth, hostHealth, liveFindings, parseProbe, peerOf, probeError } from "../../scripts/live";
import { hostKeyMatches, probeCommand, probeScript } from "../../scripts/liveProbe";
import { stackConfigOf as stackConfigIn } from "../../components/load";
const stackConfigOf = (c: Record<string, unknown>) => stackConfigIn(c, process.cwd());

const client = (id: number, addr: string, cmd = "get") => `id=${id} addr=${addr} laddr=10.0.0.2:6379 fd=8 name= age=3 idle=0 flags=N db=0 cmd=${cmd} user=default resp=2`;

/** What liveProbe.sh prints (redis-cli's raw output as Debian's redis-cli 7.0 gives it, CR removed). */
function probeOut(o: { connected: number; rejected?: number; maxclients?: number; clients: string[]; own?: number; extra?: string[] }): string {
    return [
        "redis_service redis-server.service active",
        "== redis",
        String(o.own ?? 99),
        "ct:info",
        "# Clients",
        `connected_clients:${o.connected}`,
        "cluster_connections:0",
        `maxclients:${o.maxclients ?? 10000}`,
        "blocked_clients:1",
        "# Stats",
        "total_connections_received:140",
        `rejected_connections:${o.rejected ?? 0}`,
        "",
        "ct:clients",
        ...o.clients,
        "ct:end",
        "== end",
        "established 70",
        "ss_peer 10.0.0.7 30",
        "ss_peer 127.0.0.1 5",
        ...(o.extra ?? []),
        "",
    ].join("\n");
}

const seedClients = (n7: number, nLocal: number) => [
    ...Array.from({ length: n7 }, (_, i) => client(i + 1, `10.0.0.7:${40000 + i}`)),
    ...Array.from({ length: nLocal }, (_, i) => client(100 + i, `127.0.0.1:${50000 + i}`)),
    client(99, "127.0.0.1:59999", "client|list"),
];

describe("parseProbe", () => {
    it("reads INFO clients/stats and CLIENT LIST, leaving the probe's own connection out", () => {
        const p = parseProbe(probeOut({ connected: 35, rejected: 2, clients: seedClients(30, 4) }));
        expect(p.info).toEqual({ connectedClients: 34, blockedClients: 1, rejectedConnections: 2, maxclients: 10000 });
        expect(p.clientPeers).toEqual([{ address: "10.0.0.7", count: 30 }, { address: "127.0.0.1", count: 4 }]);
        expect(p.ssPeers[0]).toEqual({ address: "10.0.0.7", count: 30 });
        expect(p.established).toBe(70);
        expect(p.redisService).toEqual({ unit: "redis-server.service", state: "active" });
        expect(p.redisError).toBeUndefined();
    });

    it.each([
        ["10.0.0.7:53210", "10.0.0.7"],
        ["[::1]:53210", "::1"],
        ["[::ffff:10.0.0.7]:1", "10.0.0.7"],
        ["/run/redis/redis.sock:0", "unix socket"],
    ])("the peer of addr=%s is %s", (addr, peer) => expect(peerOf(addr)).toBe(peer));

    it("says why Redis could not be read: NOAUTH without a password, WRONGPASS with a wrong one", () => {
        const noauth = ["redis_service redis-server.service active", "== redis", "NOAUTH Authentication required.", "ct:info", "NOAUTH Authentication required.", "NOAUTH Authentication required.", "ct:clients", "NOAUTH Authentication required.", "ct:end", "== end"].join("\n");
        expect(probeError("redis on host a", parseProbe(noauth))).toBe("redis on host a: cannot read Redis (INFO, CLIENT LIST): NOAUTH Authentication required.");
        const wrong = ["redis_service redis-server.service active", "== redis", "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.", "== end"].join("\n");
        expect(probeError("redis on host a", parseProbe(wrong))).toMatch(/cannot read Redis \(INFO, CLIENT LIST\): AUTH failed: WRONGPASS/);
    });

    it("a Redis that is not running is a finding, not an error", () => {
        const p = parseProbe("redis_service redis-server.service inactive\n== redis\nCould not connect to Redis at 127.0.0.1:6379: Connection refused\n== end\n");
        expect(probeError("redis on host a", p)).toBeUndefined();
        expect(liveFindings("redis on host a", p)).toEqual(["redis on host a: redis-server.service is not running (inactive): its clients cannot connect"]);
    });
});

describe("liveFindings", () => {
    const budget = { clients: [{ name: "api", maxConnections: 10, arithmetic: "10 × 1" }], reserve: 2 };

    it("seed 000's 90+ connections become a finding naming the budget's arithmetic and the address with the most", () => {
        const p = parseProbe(probeOut({ connected: 35, clients: seedClients(30, 4) }));
        expect(allowed(budget)).toBe(12);
        expect(budgetText(budget)).toBe("api 10 × 1 + reserve 2");
        expect(liveFindings("redis on host a", p, budget)).toEqual(["redis on host a: 34 connected clients > declared budget 12 (clients: api 10 × 1 + reserve 2); most from 10.0.0.7 (30)"]);
    });

    it("within the budget: nothing", () => {
        expect(liveFindings("redis on host a", parseProbe(probeOut({ connected: 13, clients: seedClients(8, 4) })), budget)).toEqual([]);
    });

    it("no declared budget: no budget finding, but rejected connections and near maxclients still are", () => {
        const p = parseProbe(probeOut({ connected: 91, maxclients: 100, rejected: 7, clients: seedClients(60, 30) }));
        expect(liveFindings("redis on host a", p)).toEqual([
            "redis on host a: rejected_connections 7: Redis refused clients at maxclients 100 since it started; most from 10.0.0.7 (60)",
            "redis on host a: 90 connected clients is 90% of maxclients 100 (reported from 90%); most from 10.0.0.7 (60)",
        ]);
    });

    it("falls back to ss's peers when CLIENT LIST gave none", () => {
        const p = parseProbe(probeOut({ connected: 35, clients: [] }));
        expect(liveFindings("redis on host a", p, budget)[0]).toMatch(/most from 10\.0\.0\.7 \(30\)$/);
    });
});

describe("a Redis on another machine (runsOn): the clients' side on this host", () => {
    const ss = (n: number, proc: string, pid: number) => Array.from({ length: n }, (_, i) => `client_ss 0 0 192.168.1.5:${40000 + i} 192.168.1.9:6379 users:(("${proc}",pid=${pid},fd=${i + 3}))`);
    const out = ["client_dst bluefin 192.168.1.9", ...ss(88, "python3", 4242), ...ss(5, "uvicorn", 77), ""].join("\n");
    const budget = { clients: [{ name: "ganuda", maxConnections: 10, arithmetic: "10 × 1" }], reserve: 32 };

    it("seed 000's 90+ connections to bluefin become a finding naming the process that holds the most", () => {
        const p = parseProbe(out);
        expect(p.clientSide).toEqual({ runsOn: "bluefin", address: "192.168.1.9", connections: 93, byProcess: [{ address: "python3 (pid 4242)", count: 88 }, { address: "uvicorn (pid 77)", count: 5 }] });
        expect(liveFindings("redis on bluefin (used from host redfin)", p, budget)).toEqual([
            "redis on bluefin (used from host redfin): 93 established connections from this host to 192.168.1.9 > declared budget 42 (clients: ganuda 10 × 1 + reserve 32); most from python3 (pid 4242) (88)",
        ]);
        expect(probeError("redis on bluefin (used from host redfin)", p)).toBeUndefined();
    });

    it("pooled (< 15, the seed's target): nothing", () => {
        const p = parseProbe(["client_dst bluefin 192.168.1.9", ...ss(10, "python3", 4242), ""].join("\n"));
        expect(liveFindings("redis on bluefin (used from host redfin)", p, budget)).toEqual([]);
        expect(hostHealth("redfin", p, []).lines[0]).toBe("Connections: 10 established connections to bluefin (192.168.1.9) from this host; by process: python3 (pid 4242) 10");
    });
});

describe("hostHealth (seed 001's System Health Check)", () => {
    const healthy = probeOut({
        connected: 5, clients: seedClients(2, 2),
        extra: ["unit redis-server.service active", "unit batch-writer.service active", "monitor_timer active", "monitor_level level=HEALTHY port=6379 connections=8", "monitor_latency latency p50=0.20ms p99=0.70ms n=480 target p50<1ms p99<1ms ok", "probe_latency p50=0.21ms p99=0.80ms n=470 target p50<1ms p99<1ms ok"],
    });

    it("prints every part and is healthy when all of them are", () => {
        const h = hostHealth("a", parseProbe(healthy), []);
        expect(h.problems).toEqual([]);
        const text = formatHealth([h]);
        expect(text).toContain("=== System Health Check ===");
        expect(text).toMatch(/Connections: 70 established on the Redis port; Redis: 4 connected clients/);
        expect(text).toContain("Health Monitor: timer active; last: level=HEALTHY port=6379 connections=8");
        expect(text).toContain("batch-writer.service: active");
        expect(text).toContain("Latency: p50=0.21ms p99=0.80ms n=470 target p50<1ms p99<1ms ok");
        expect(text).toMatch(/all hosts HEALTHY$/);
    });

    it("a watched unit down, a LEAK level, SLOW latency and a budget finding each make it unhealthy", () => {
        const bad = healthy.replace("unit batch-writer.service active", "unit batch-writer.service inactive").replace("level=HEALTHY", "level=LEAK").replace(/probe_latency (.*) ok/, "probe_latency $1 SLOW");
        const h = hostHealth("a", parseProbe(bad), ["redis on host a: 34 connected clients > declared budget 12"]);
        expect(h.problems).toEqual(["the monitor's last level is LEAK", "batch-writer.service is inactive", "latency above its targets (SLOW)", "redis on host a: 34 connected clients > declared budget 12"]);
        expect(formatHealth([h])).toMatch(/UNHEALTHY: a$/);
    });

    it("a host that cannot be reached is unhealthy, with the reason", () => {
        const h = hostHealth("b", { clientPeers: [], ssPeers: [], units: [] }, [], "host b: cannot log in as root@10.0.0.9:22 for the live check: timed out");
        expect(h.problems).toEqual(["host b: cannot log in as root@10.0.0.9:22 for the live check: timed out"]);
    });
});

describe("the probe script", () => {
    const cfg = (over: Record<string, unknown> = {}) =>
        stackConfigOf({
            "conntune:hosts": [{
                name: "a", connection: { host: "10.0.0.2", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyFakeKeyFakeKeyFakeKeyFakeKeyFakeKey1" },
                redis: { settings: { port: 6380 }, auth: { passwordSecret: "redisPassword", user: "probe" } },
                monitor: { services: ["batch-writer.service"], criticalAction: { restartUnit: "batch-writer.service" }, latency: { seconds: 2, p99Ms: 4 } },
                ...over,
            }],
        }).hosts[0];

    it("quotes every value from the config and takes in the latency probe; the Redis password is never in it", () => {
        const s = probeScript(cfg(), "health");
        expect(s).toContain("port='6380'");
        expect(s).toContain("redis_user='probe'");
        expect(s).toContain("units=('redis-server.service' 'batch-writer.service')");
        expect(s).toContain("ct_latency '127.0.0.1' \"$port\" '2' '1' '4'");
        expect(s).toContain("ct_latency() {");
        expect(s).not.toMatch(/@[A-Z_]+@/);
        expect(s).toContain("IFS= read -r ct_secret");
    });

    it("reads the monitor's lines only from its own unit run as root: any account can log under its identifier (logger -t), so that alone could forge a HEALTHY level", () => {
        const s = probeScript(cfg(), "health");
        const read = s.split("\n").find((l) => l.includes("journalctl"));
        expect(read).toContain('_SYSTEMD_UNIT="$monitor.service"');
        expect(read).toContain("_UID=0");
    });

    it("for a Redis on another machine (runsOn) reads only this host's connections to it: no Redis login, no password", () => {
        const s = probeScript(cfg({ redis: { enabled: false, runsOn: "bluefin", settings: { port: 6380 }, clients: [{ name: "ganuda", library: "redis-py", poolSize: 10 }] } }), "drift");
        expect(s).toContain("runs_on='bluefin'");
        expect(s).toContain("redis_service=''");
        expect(s).toContain("port='6380'");
    });

    it("runs as root through sudo where needed; the sudo password's line first, then the Redis password's, neither in the command", () => {
        const sudo = probeCommand({ sudo: true, sudoPassword: "s3cret-sudo" }, "echo probe", "s3cret-redis");
        expect(sudo.stdin).toBe("s3cret-sudo\ns3cret-redis\n");
        expect(sudo.command).toMatch(/^: ct-secret-lines=2; IFS= read -r ct_secret; printf .* \| sudo -S -p '' -v/);
        expect(sudo.command).toContain("sudo -n bash -c");
        expect(sudo.command).toContain("live probe");
        for (const c of [sudo.command, probeCommand({ sudo: false }, "echo probe", "x").command]) {
            expect(c).not.toMatch(/s3cret/);
            expect(c).not.toMatch(/@CT_[A-Z_]+@/);
        }
        expect(probeCommand({ sudo: false }, "echo probe", "").stdin).toBe("\n");
        expect(() => probeCommand({ sudo: false }, "echo probe", "two\nlines")).toThrow(/the Redis password \(redis\.auth\.passwordSecret\) must be one line/);
    });

    it("checks the host key against the pinned one, refusing any other", () => {
        const pinned = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==";
        expect(hostKeyMatches(pinned, Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIA==", "base64"))).toBe(true);
        expect(hostKeyMatches(pinned, Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIQ==", "base64"))).toBe(false);
        expect(hostKeyMatches("", Buffer.alloc(0))).toBe(false);
    });
});
