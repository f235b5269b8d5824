import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../config";
import { budgetFor, budgetTargets, formatBudgetTable, poolSizeOf, stackBudgets } from "./budget";
import { libraryDefaults } from "./libraries";
import { clientSchema } from "./schema";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4";
const H = "conntune:hosts[0]";
type Obj = Record<string, unknown>;

/** A host whose Redis has these clients (and server settings); `over` adds host keys (monitor, sysctl). */
const hostWith = (clients: Obj[], settings: Obj = {}, over: Obj = {}, redis: Obj = {}) => ({
    hosts: [{ name: "cache1", connection: { host: "10.0.0.5", hostKey: KEY }, redis: { settings, clients, ...redis }, ...over }],
});
/** The ConfigMap stack with these clients (seed 003's timeout and tcp-keepalive unless `settings` says otherwise). */
const cmWith = (clients: Obj[], settings: Obj = {}, over: Obj = {}) => ({ redis: { namespace: "redis", name: "redis-standalone-ext-config", settings: { timeout: 600, tcpKeepalive: 300, ...settings }, clients, ...over } });
const goRedis = (name: string, over: Obj = {}) => ({ name, library: "go-redis", version: "9.7", poolSize: 200, idleTimeoutSeconds: 300, ...over });

function problems(raw: unknown): string[] {
    try {
        parseStackConfig(raw);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}
const budgets = (raw: unknown) => Object.values(stackBudgets(parseStackConfig(raw)));
const warnings = (raw: unknown) => budgets(raw).flatMap((b) => b.warnings);

describe("library defaults, as upstream source has them", () => {
    it.each([
        ["go-redis without PoolSize: 10 × GOMAXPROCS (seed 003: 16 cores → 160)", { name: "m", library: "go-redis", gomaxprocs: 16 }, 160, "go-redis v9 before 9.22 default 10 × gomaxprocs 16"],
        ["a declared pool", { name: "m", library: "go-redis", poolSize: 200 }, 200, "declared"],
        ["redis-py 8.0 and later without max_connections: 100", { name: "p", library: "redis-py", version: "8.0" }, 100, "redis-py 8.0 and later default max_connections 100"],
    ])("%s", (_what, raw, size, from) => {
        expect(poolSizeOf(clientSchema.parse(raw))).toEqual({ size, from });
    });

    it("knows redis-py before 8.0 has no idle timeout, keepalive off, no socket timeout, and an unbounded pool; 8.0 changed them", () => {
        expect(libraryDefaults("redis-py", "7.4")).toMatchObject({ poolSize: "unbounded", hasIdleTimeout: false, keepalive: { enabled: false }, readTimeoutSeconds: null });
        expect(libraryDefaults("redis-py")).toMatchObject({ poolSize: "unbounded" });
        expect(libraryDefaults("redis-py", "8.1.0")).toMatchObject({ poolSize: 100, keepalive: { enabled: true, idleSeconds: 30 }, readTimeoutSeconds: 5 });
    });

    it("knows go-redis v9's ConnMaxIdleTime 30 min, v8's IdleTimeout 5 min, and 9.22's shorter keepalive", () => {
        expect(libraryDefaults("go-redis", "9.7")).toMatchObject({ idleTimeoutSeconds: 1800, keepalive: { enabled: true, idleSeconds: 300 }, readTimeoutSeconds: 3 });
        expect(libraryDefaults("go-redis", "8.11")).toMatchObject({ idleTimeoutSeconds: 300 });
        expect(libraryDefaults("go-redis", "9.22")).toMatchObject({ keepalive: { enabled: true, idleSeconds: 30 }, readTimeoutSeconds: 5 });
    });
});

describe("a declared client's own rules (schema)", () => {
    it.each([
        ["redis-py without max_connections (unbounded before 8.0)", hostWith([{ name: "ganuda", library: "redis-py" }]), `${H}.redis.clients[0].poolSize: required for redis-py before 8.0: its ConnectionPool's default max_connections is 2**31 = 2,147,483,648 per process, effectively unbounded; set poolSize to the pool's max_connections (seed 000: 10), or version "8.0" or later (default 100)`],
        ["go-redis without PoolSize or GOMAXPROCS", hostWith([{ name: "miner", library: "go-redis" }]), `${H}.redis.clients[0].poolSize: required for go-redis unless gomaxprocs is given: its default PoolSize is 10 × GOMAXPROCS (seed 003: 10 × 16 = 160)`],
        ["a generic client without a pool size", hostWith([{ name: "x", library: "generic" }]), `${H}.redis.clients[0].poolSize: required for a generic client: conntune knows no default for it`],
        ["gomaxprocs on a redis-py client", hostWith([{ name: "p", library: "redis-py", poolSize: 10, gomaxprocs: 4 }]), `${H}.redis.clients[0].gomaxprocs: is only used for go-redis's default PoolSize (library is redis-py): remove it`],
        ["minIdleConns on redis-py", hostWith([{ name: "p", library: "redis-py", poolSize: 10, minIdleConns: 2 }]), `${H}.redis.clients[0].minIdleConns: redis-py has no minimum of idle connections (its pool opens them on demand): remove minIdleConns`],
        ["an idle timeout on redis-py", hostWith([{ name: "p", library: "redis-py", poolSize: 10, idleTimeoutSeconds: 60 }]), `${H}.redis.clients[0].idleTimeoutSeconds: redis-py's ConnectionPool has no idle timeout (idle connections stay open until the server's timeout closes them): remove idleTimeoutSeconds`],
        ["minIdleConns above the pool", cmWith([goRedis("miner", { poolSize: 40, minIdleConns: 50 })]), "conntune:redis.clients[0].minIdleConns: 50 exceeds the pool (poolSize 40): a pool keeps at most 40 connections"],
        ["minIdleConns above go-redis's default pool", cmWith([{ name: "miner", library: "go-redis", gomaxprocs: 2, minIdleConns: 50 }]), "conntune:redis.clients[0].minIdleConns: 50 exceeds the pool (default 20): a pool keeps at most 20 connections"],
        ["a keepalive idle time with keepalive off", cmWith([goRedis("miner", { keepalive: { enabled: false, idleSeconds: 60 } })]), "conntune:redis.clients[0].keepalive.idleSeconds: is only used with keepalive.enabled: true: remove it or enable keepalive"],
        ["two clients with one name", cmWith([goRedis("miner"), goRedis("miner")]), "conntune:redis.clients[1].name: duplicate client name miner (also clients[0])"],
        ["a version that YAML read as a number", cmWith([goRedis("miner", { version: 9.1 })]), 'conntune:redis.clients[0].version: must be the library\'s version as a quoted string, e.g. "9.7" (YAML reads 9.10 as 9.1)'],
        ["an unknown library", cmWith([goRedis("miner", { library: "jedis" })]), "conntune:redis.clients[0].library: must be one of redis-py, go-redis, generic"],
        ["runsOn with conntune managing the file", hostWith([], {}, {}, { runsOn: "bluefin" }), `${H}.redis.runsOn: names another machine (bluefin), whose redis.conf conntune cannot write: set enabled: false (a budget-only target)`],
    ])("rejects %s, naming the field", (_what, raw, problem) => {
        expect(problems(raw)).toEqual([problem]);
    });
});

describe("the budget: every pool full, during a rollout, within maxclients minus the reserve", () => {
    it("fails preview when the pools cannot fit, with the arithmetic", () => {
        const raw = cmWith([goRedis("miner", { replicas: 3, surge: 1 }), goRedis("relayer", { replicas: 2, dedicatedConns: 2 })], { maxclients: 1000 });
        expect(problems(raw)).toEqual([
            "conntune:redis.clients: miner 200 × (3 replicas + 1 surge) = 800 + relayer (200 pool + 2 dedicated) × 2 replicas = 404 → 1,204 > maxclients 1,000 − clientsReserve 32 = 968: with every pool full the clients open 236 more connections than Redis accepts (it refuses them: \"max number of clients reached\"); lower poolSize, replicas or surge, or raise settings.maxclients",
        ]);
    });

    it("counts the surge: pools that fit in steady state but not during a rollout are an error", () => {
        expect(problems(cmWith([goRedis("miner", { replicas: 4 })], { maxclients: 1000 }))).toEqual([]);
        expect(problems(cmWith([goRedis("miner", { replicas: 4, surge: 1 })], { maxclients: 1000 }))[0]).toMatch(/^conntune:redis\.clients: miner 200 × \(4 replicas \+ 1 surge\) = 1,000 > maxclients 1,000 − clientsReserve 32 = 968:/);
    });

    it("uses Redis's default maxclients 10000 when it is not set, and says so", () => {
        const p = problems(cmWith([goRedis("miner", { replicas: 50 })]));
        expect(p[0]).toContain("miner 200 × 50 replicas = 10,000 > maxclients 10,000 (Redis default) − clientsReserve 32 = 9,968");
    });

    it("fails a reserve that leaves no room", () => {
        expect(problems(cmWith([goRedis("miner", { poolSize: 1 })], { maxclients: 30 }))).toEqual([
            "conntune:redis.clientsReserve: 32 leaves no connection for the clients: maxclients 30 − clientsReserve 32 = -2; lower clientsReserve or raise settings.maxclients",
        ]);
    });

    it("warns when the pools fill more than 80 % of what is available", () => {
        expect(warnings(cmWith([goRedis("miner", { replicas: 4 })], { maxclients: 1000 }))).toEqual([
            "conntune:redis.clients: miner 200 × 4 replicas = 800 is 82.6 % of maxclients 1,000 − clientsReserve 32 = 968: only 168 left for bursts and undeclared clients",
        ]);
    });

    it("warns that a redis-py 8 pool without max_connections is taken at its default 100", () => {
        expect(warnings(hostWith([{ name: "api", library: "redis-py", version: "8.0", replicas: 2, readTimeoutSeconds: 5 }]))).toEqual([
            `${H}.redis.clients[0].poolSize: api: unset, so redis-py 8.0 and later's default max_connections 100 per process is assumed (× 2 processes = 200): declare the pool's real size`,
        ]);
    });

    it("counts the Redis service's open-files limit: Redis lowers maxclients to LimitNOFILE − 32", () => {
        const limited = (limit: number) => hostWith([goRedis("w", { poolSize: 100, replicas: 10 })], {}, { systemdOverrides: [{ unit: "redis-server.service", settings: { Service: { LimitNOFILE: limit } } }] });
        expect(problems(limited(1024))).toEqual([
            `${H}.redis.clients: w 100 × 10 replicas = 1,000 > maxclients 992 (Redis lowers maxclients 10,000 to LimitNOFILE 1,024 − 32 = 992: hosts[0].systemdOverrides[0].settings.Service.LimitNOFILE) − clientsReserve 32 = 960: with every pool full the clients open 40 more connections than Redis accepts (it refuses them: "max number of clients reached"); lower poolSize, replicas or surge, or raise settings.maxclients`,
        ]);
        const [b] = budgets(limited(4096));
        expect(b).toMatchObject({ maxclients: 4064, maxclientsFrom: "Redis lowers maxclients 10,000 to LimitNOFILE 4,096 − 32 = 4,064: hosts[0].systemdOverrides[0].settings.Service.LimitNOFILE" });
        expect(b.warnings).toEqual([
            `${H}.systemdOverrides[0].settings.Service.LimitNOFILE: 4,096 open files: Redis lowers maxclients 10,000 to 4,096 − 32 = 4,064 at start; raise LimitNOFILE to at least 10,032, or set settings.maxclients to 4,064 to say so`,
        ]);
    });

    it("reads LimitNOFILE SOFT:HARD as Redis does (it raises both to what the hard limit allows, in steps of 16), and the unit's last drop-in", () => {
        const withOverrides = (...o: Obj[]) => hostWith([goRedis("w", { poolSize: 100, replicas: 10 })], {}, { systemdOverrides: o });
        const [pair] = budgets(withOverrides({ unit: "redis-server.service", settings: { Service: { LimitNOFILE: "1024:4096" } } }));
        expect(pair).toMatchObject({ maxclients: 4064, maxclientsFrom: "Redis lowers maxclients 10,000 to LimitNOFILE 1,024:4,096 (Redis raises it to 4,096) − 32 = 4,064: hosts[0].systemdOverrides[0].settings.Service.LimitNOFILE" });
        // 10,032 wanted: 10,032 − 16 × 565 = 992 is the first step under 1,000, above the soft 512.
        expect(problems(withOverrides({ unit: "redis-server.service", settings: { Service: { LimitNOFILE: "512:1000" } } }))[0]).toContain("= 1,000 > maxclients 960 (Redis lowers maxclients 10,000 to LimitNOFILE 512:1,000 (Redis raises it to 992) − 32 = 960");
        // Drop-ins apply in file name order: 90-… after 50-…
        const [last] = budgets(withOverrides(
            { unit: "redis-server.service", fileName: "90-nofile.conf", settings: { Service: { LimitNOFILE: 2048 } } },
            { unit: "redis-server.service", fileName: "50-conntune.conf", settings: { Service: { LimitNOFILE: 65536 } } },
        ));
        expect(last).toMatchObject({ maxclients: 2016, maxclientsFrom: expect.stringContaining("hosts[0].systemdOverrides[0].settings.Service.LimitNOFILE") });
    });

    it("refuses a ConfigMap named like a host: the budget output is keyed by target name", () => {
        expect(problems({ ...hostWith([]), redis: { namespace: "redis", name: "cache1", settings: {} } })).toEqual([
            "conntune:redis.name: cache1 is also the name of hosts[0], and the budget output is keyed by target name: rename one",
        ]);
    });

    it("checks nothing for a target without declared clients", () => {
        const [b] = budgets(hostWith([], { maxclients: 10, timeout: 5, tcpKeepalive: 0 }));
        expect(b).toMatchObject({ total: 0, errors: [], warnings: [], table: ["no clients declared"] });
    });
});

describe("idle timeouts against the server's timeout (warnings: both libraries test a pooled connection before reuse)", () => {
    it("warns about go-redis's default ConnMaxIdleTime 30 min against timeout 600 (seed 003 before)", () => {
        expect(warnings(cmWith([{ name: "miner", library: "go-redis", gomaxprocs: 16 }]))).toEqual([
            "conntune:redis.clients[0].idleTimeoutSeconds: miner: unset: go-redis v9 before 9.22 closes idle connections after ConnMaxIdleTime 1,800 s ≥ the server's timeout 600 s (redis.settings.timeout): an idle pooled connection outlives the server's close and the next command on it can fail; set idleTimeoutSeconds below 600 (seed 003: ConnMaxIdleTime 5 min = 300 < 600)",
        ]);
    });

    it("is quiet for ConnMaxIdleTime 5 min against timeout 600 (seed 003 after)", () => {
        expect(warnings(cmWith([goRedis("miner", { minIdleConns: 50 })]))).toEqual([]);
    });

    it("warns when the idle timeout equals the server's, and says MinIdleConns keeps connections idle on purpose", () => {
        expect(warnings(cmWith([goRedis("miner", { idleTimeoutSeconds: 600, minIdleConns: 50 })]))).toEqual([
            "conntune:redis.clients[0].idleTimeoutSeconds: miner: idleTimeoutSeconds 600 ≥ the server's timeout 600 s (redis.settings.timeout): an idle pooled connection outlives the server's close and the next command on it can fail; set idleTimeoutSeconds below 600 (seed 003: ConnMaxIdleTime 5 min = 300 < 600); minIdleConns 50 keeps connections idle on purpose, so the server closes them every 600 s and the pool redials",
        ]);
    });

    it("warns when idle connections are kept forever (0)", () => {
        expect(warnings(cmWith([goRedis("miner", { idleTimeoutSeconds: 0 })]))[0]).toBe(
            "conntune:redis.clients[0].idleTimeoutSeconds: miner: 0 keeps idle connections forever, and the server's timeout 600 s (redis.settings.timeout) closes them after 600 s idle: set idleTimeoutSeconds below 600",
        );
    });

    it("warns that redis-py's pool never closes idle connections when the server does", () => {
        expect(warnings(cmWith([{ name: "api", library: "redis-py", version: "8.1", poolSize: 10 }]))).toEqual([
            "conntune:redis.clients[0]: api: redis-py's pool never closes idle connections, and the server's timeout 600 s (redis.settings.timeout) closes them after 600 s idle: the next command on one races the close (redis-py reconnects a closed one when it takes it from the pool); use retries (retry_on_timeout / Retry) or set timeout 0",
        ]);
    });

    it("is quiet when the server never closes idle clients (timeout 0, Redis's default)", () => {
        expect(warnings(cmWith([{ name: "miner", library: "go-redis", gomaxprocs: 16 }], { timeout: 0 }))).toEqual([]);
    });
});

describe("TCP keepalive against the server's tcp-keepalive and the host's net.ipv4.tcp_keepalive_time", () => {
    it("warns that keepalive is off by default in redis-py before 8.0 (the host's sysctl does not help), with the read timeout", () => {
        expect(warnings(hostWith([{ name: "ganuda", library: "redis-py", poolSize: 10, readTimeoutSeconds: 5 }]))).toEqual([
            `${H}.redis.clients[0].keepalive: ganuda: TCP keepalive is off (redis-py before 8.0 default: socket_keepalive off): a pooled connection to a server that went away (failover, a dropped NAT or conntrack entry) is found dead only when used, after readTimeoutSeconds 5 s; the host's net.ipv4.tcp_keepalive_time does not apply to sockets without keepalive. Set keepalive: { enabled: true, idleSeconds: 300 }`,
        ]);
    });

    it("says a read then blocks forever when there is no read timeout either", () => {
        expect(warnings(hostWith([{ name: "ganuda", library: "redis-py", poolSize: 10 }]))[0]).toContain("is found dead only when used, and then a read blocks forever (no read timeout: set readTimeoutSeconds)");
    });

    it("takes the host's sysctl value (keepalive preset: 600) for a client that leaves the idle time to the kernel", () => {
        expect(warnings(hostWith([{ name: "ganuda", library: "redis-py", poolSize: 10, readTimeoutSeconds: 5, keepalive: { enabled: true } }]))).toEqual([
            `${H}.sysctl: ganuda: keepalive idle 600 s (net.ipv4.tcp_keepalive_time 600 on cache1, hosts[0].sysctl preset keepalive) > the server's tcp-keepalive 300 s (hosts[0].redis.settings.tcpKeepalive, Redis default): the client finds a dead server or a dropped NAT entry 300 s later than the server finds a dead client; set keepalive.idleSeconds to at most 300`,
        ]);
    });

    it("takes the kernel default 7200 when the host's sysctl does not set it", () => {
        const w = warnings(hostWith([{ name: "x", library: "generic", poolSize: 5, keepalive: { enabled: true } }], { tcpKeepalive: 60 }, { sysctl: { presets: [] } }));
        expect(w).toEqual([
            `${H}.sysctl: x: keepalive idle 7,200 s (net.ipv4.tcp_keepalive_time 7200 on cache1: the kernel default, hosts[0].sysctl does not set it) > the server's tcp-keepalive 60 s (hosts[0].redis.settings.tcpKeepalive): the client finds a dead server or a dropped NAT entry 7,140 s later than the server finds a dead client; set keepalive.idleSeconds to at most 60`,
        ]);
    });

    it("is quiet for go-redis v9.7's dialer keepalive (5 min) against tcp-keepalive 300, and for a declared idle time below it", () => {
        expect(warnings(cmWith([goRedis("miner")]))).toEqual([]);
        expect(warnings(hostWith([{ name: "x", library: "generic", poolSize: 5, keepalive: { enabled: true, idleSeconds: 60 } }]))).toEqual([]);
    });

    it("warns when the server never probes its clients (tcp-keepalive 0)", () => {
        expect(warnings(cmWith([goRedis("miner")], { tcpKeepalive: 0 }))).toEqual([
            "conntune:redis.settings.tcpKeepalive: 0: Redis never probes its clients, so a client that vanished (a killed pod, a dropped network) holds its connection and its slot of maxclients 10,000 (Redis default) until the server's timeout 600 s (redis.settings.timeout); set tcpKeepalive (Redis default 300)",
        ]);
    });
});

describe("the monitor's levels against the declared clients (hosts[i].monitor alerting on the Redis port)", () => {
    const monitored = (monitor: Obj, clients: Obj[]) => hostWith(clients, { timeout: 0 }, { monitor });

    it("fails preview when the healthy band ends below the idle minimum", () => {
        expect(problems(monitored({}, [goRedis("batch-writer", { minIdleConns: 10, replicas: 3, poolSize: 20 })]))).toEqual([
            `${H}.monitor.healthyMax: 25 is below the declared idle minimum: batch-writer minIdleConns 10 × 3 replicas = 30 connections are always open, so the monitor never reports HEALTHY (seed 001: a band of 20–25 around a baseline of 25); raise healthyMax to at least 30 (and warningMax, leakMax above it) or lower minIdleConns`,
        ]);
    });

    it("warns when full pools are above leakMax, naming the unit CRITICAL restarts", () => {
        const raw = monitored({ criticalAction: { restartUnit: "batch-writer.service" } }, [goRedis("batch-writer", { poolSize: 50, minIdleConns: 20, replicas: 1 }), goRedis("api", { poolSize: 30, replicas: 2 })]);
        expect(problems(raw)).toEqual([]);
        expect(warnings(raw)).toEqual([
            `${H}.monitor.leakMax: 99 is below the declared steady maximum: batch-writer 50 × 1 replica = 50 + api 30 × 2 replicas = 60 → 110 connections with every pool full: the monitor calls full pools a LEAK (CRITICAL above 99, and above it restarts batch-writer.service); raise leakMax to at least 110 or lower poolSize`,
        ]);
    });

    it("is quiet for seed 001's band (20–25 healthy) around a pool of 25 with 20 kept idle", () => {
        expect(warnings(monitored({ healthyMax: 25 }, [goRedis("batch-writer", { poolSize: 25, minIdleConns: 20 })]))).toEqual([]);
    });

    it("leaves the monitor alone when it alerts on another port", () => {
        expect(problems(monitored({ ports: [5432], alertPort: 5432 }, [goRedis("w", { minIdleConns: 50, poolSize: 200 })]))).toEqual([]);
    });
});

describe("the seed stacks' budgets", () => {
    const yaml = createRequire(__filename)("js-yaml") as { load(text: string): { config: Record<string, unknown> } };
    const stack = (file: string) => {
        const c = yaml.load(fs.readFileSync(path.join(__dirname, "..", "..", file), "utf8")).config;
        const hosts = c["conntune:hosts"] as Array<{ connection: Obj }> | undefined;
        // redfin's key is pinned by its owner before the first preview (see the file's header).
        hosts?.forEach((h) => (h.connection.hostKey = KEY));
        return { hosts, redis: c["conntune:redis"] };
    };

    it("k8s: seed 003's miner and relayer (PoolSize 200 × 3 pods + 1 surge each) fit 10000 with no warning", () => {
        const b = stackBudgets(parseStackConfig(stack("Pulumi.k8s.yaml")));
        expect(Object.keys(b)).toEqual(["redis-standalone-ext-config"]);
        const cm = b["redis-standalone-ext-config"];
        expect(cm).toMatchObject({ target: "redis-standalone-ext-config", kind: "configmap", maxclients: 10000, reserve: 32, available: 9968, total: 1600, steadyMax: 1200, steadyMin: 300, share: 16, errors: [], warnings: [] });
        expect(cm.clients.map((c) => [c.name, c.poolSize, c.replicas, c.surge, c.maxConnections])).toEqual([["miner", 200, 3, 1, 800], ["relayer", 200, 3, 1, 800]]);
        expect(cm.table).toEqual([
            "client   library   pool × processes     max conns   share",
            "miner    go-redis  200 × (3 + 1 surge)        800   8.0 %",
            "relayer  go-redis  200 × (3 + 1 surge)        800   8.0 %",
            "total                                       1,600  16.0 %",
            "of maxclients 10,000 − reserve 32 = 9,968 available",
        ]);
    });

    it("redfin: seed 000's pool of 10 against bluefin's Redis (runsOn, not managed); its only warning is redis-py's keepalive", () => {
        const c = parseStackConfig(stack("Pulumi.redfin.yaml"));
        expect(c.hosts[0].redis).toMatchObject({ enabled: false, runsOn: "bluefin" });
        const b = stackBudgets(c).redfin;
        expect(b).toMatchObject({ target: "redfin", runsOn: "bluefin", port: 6379, total: 10, errors: [] });
        expect(b.warnings).toHaveLength(1);
        expect(b.warnings[0]).toMatch(/^conntune:hosts\[0\]\.redis\.clients\[0\]\.keepalive: ganuda: TCP keepalive is off/);
    });
});

describe("formatBudgetTable and budgetFor", () => {
    it("shows go-redis's default pool (seed 003 before: 160) next to the raised one", () => {
        const [t] = budgetTargets(parseStackConfig(cmWith([{ name: "before", library: "go-redis", gomaxprocs: 16, idleTimeoutSeconds: 300 }, goRedis("after")])));
        const b = budgetFor(t);
        expect(b.clients.map((c) => [c.name, c.poolSize, c.poolSizeFrom])).toEqual([["before", 160, "go-redis v9 before 9.22 default 10 × gomaxprocs 16"], ["after", 200, "declared"]]);
        expect(formatBudgetTable(b)).toEqual([
            "client  library   pool × processes  max conns  share",
            "before  go-redis  160 × 1                 160  1.6 %",
            "after   go-redis  200 × 1                 200  2.0 %",
            "total                                     360  3.6 %",
            "of maxclients 10,000 − reserve 32 = 9,968 available",
        ]);
    });
});
