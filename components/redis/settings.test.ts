import { describe, expect, it } from "vitest";
import { configChecksum, renderRedisConf } from "./redisConf";
import { seed003 } from "../../lab/fixtures/redis";
import { k8sBytes, maxmemoryBytes, redisBytes, redisSettingsSchema, redisWarnings } from "./settings";

describe("Redis settings", () => {
    it("renders the seed-003 config in Redis's directive names with maxmemory = 88 % of 32Gi", () => {
        expect(renderRedisConf(redisSettingsSchema.parse(seed003()))).toBe(
            [
                "# Managed by conntune: rendered from typed settings; edit the stack config, not this file.",
                "tcp-backlog 511", "timeout 600", "tcp-keepalive 300",
                "maxmemory 30236569763", "maxmemory-policy allkeys-lru",
                "activedefrag yes", "active-defrag-ignore-bytes 104857600", "active-defrag-threshold-lower 10", "active-defrag-threshold-upper 25",
                "io-threads 3", "io-threads-do-reads yes",
                "appendonly yes", "appendfsync everysec", "no-appendfsync-on-rewrite yes", "auto-aof-rewrite-percentage 100",
                "auto-aof-rewrite-min-size 536870912", "aof-rewrite-incremental-fsync yes", "aof-use-rdb-preamble yes",
                "lazyfree-lazy-eviction yes", "lazyfree-lazy-expire yes", "lazyfree-lazy-server-del yes", "lazyfree-lazy-user-del yes",
                "hz 100", "",
            ].join("\n"),
        );
    });

    it("renders the seed-002 VM template (save pairs, slowlog, maxclients, bind/port)", () => {
        const s = redisSettingsSchema.parse({
            bind: ["0.0.0.0"], port: 6379, timeout: 300, tcpKeepalive: 60, maxmemory: "8gb", maxmemoryPolicy: "allkeys-lru", maxmemorySamples: 10,
            save: [[3600, 1], [7200, 10000]], ioThreads: 10, ioThreadsDoReads: true, slowlogLogSlowerThan: 10000, slowlogMaxLen: 128, maxclients: 10000,
        });
        expect(renderRedisConf(s)).toContain("bind 0.0.0.0\nport 6379\ntimeout 300\ntcp-keepalive 60\nmaxclients 10000\nmaxmemory 8589934592\nmaxmemory-policy allkeys-lru\nmaxmemory-samples 10\nio-threads 10\nio-threads-do-reads yes\nsave 3600 1 7200 10000\nslowlog-log-slower-than 10000\nslowlog-max-len 128\n");
    });

    it("is deterministic and its checksum moves with any change", () => {
        const a = renderRedisConf(redisSettingsSchema.parse(seed003()));
        expect(renderRedisConf(redisSettingsSchema.parse(seed003()))).toBe(a);
        expect(configChecksum(renderRedisConf(redisSettingsSchema.parse({ ...seed003(), hz: 50 })))).not.toBe(configChecksum(a));
    });

    it.each([
        ["maxmemory above the memory limit", { memoryLimit: "1Gi", maxmemory: "2gb" }, "maxmemory", "must not exceed memoryLimit 1Gi"],
        ["a percentage without a limit", { maxmemory: { percentOfLimit: 88 } }, "maxmemory", "needs memoryLimit"],
        ["a percentage above 100", { memoryLimit: "1Gi", maxmemory: { percentOfLimit: 120 } }, "maxmemory.percentOfLimit", "at most 100"],
        ["io-threads above the CPU limit", { cpuLimit: 4, ioThreads: 8 }, "ioThreads", "CPU limit (4 cores)"],
        ["defrag thresholds out of order", { activeDefragThresholdLower: 30, activeDefragThresholdUpper: 25 }, "activeDefragThresholdLower", "below activeDefragThresholdUpper"],
        ["an unknown eviction policy", { maxmemoryPolicy: "lru" }, "maxmemoryPolicy", "allkeys-lru"],
        ["a bad appendfsync", { appendfsync: "sometimes" }, "appendfsync", "'everysec'"],
        ["hz out of range", { hz: 1000 }, "hz", "1 to 500"],
        ["a bad memory size", { maxmemory: "8 gigs" }, "maxmemory", "Redis size"],
        ["a bad memory limit", { memoryLimit: "32GB" }, "memoryLimit", "Kubernetes quantity"],
        ["an unknown setting", { maxmemmory: 1 }, "", "maxmemmory"],
    ])("rejects %s, naming the field", (_what, raw, field, words) => {
        const r = redisSettingsSchema.safeParse(raw);
        expect(r.success).toBe(false);
        const issue = r.error!.issues.find((i) => i.path.join(".") === field);
        expect(issue, JSON.stringify(r.error!.issues)).toBeDefined();
        expect(issue!.message).toContain(words);
    });

    it("warns (does not fail) when the eviction policy does not fit the data's TTL use", () => {
        const s = redisSettingsSchema.parse({ maxmemory: "1gb", maxmemoryPolicy: "volatile-lru", dataTtlUse: "none" });
        expect(redisWarnings(s).join("\n")).toMatch(/volatile-lru evicts only keys with a TTL/);
    });

    it("converts sizes", () => {
        expect(redisBytes("100mb")).toBe(104857600);
        expect(redisBytes("8gb")).toBe(8589934592);
        expect(k8sBytes("32Gi")).toBe(34359738368);
        expect(maxmemoryBytes(redisSettingsSchema.parse({ memoryLimit: "32Gi", maxmemory: { percentOfLimit: 87.5 } }))).toBe(30064771072);
    });
});
