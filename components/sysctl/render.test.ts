import { describe, expect, it } from "vitest";
import { HEADER } from "../core/render";
import { renderSysctl, sysctlEntries } from "./render";
import { sysctlSchema } from "./schema";

describe("renderSysctl", () => {
    it.each([
        [
            "writes the seed-000 keepalive profile sorted by key",
            {},
            [HEADER,
                "# Keys with a leading '-' may be unavailable on this host (policy skip): failures to set them are ignored.",
                "net.ipv4.tcp_fin_timeout = 30", "net.ipv4.tcp_keepalive_intvl = 30", "net.ipv4.tcp_keepalive_probes = 3",
                "net.ipv4.tcp_keepalive_time = 600", "net.ipv4.tcp_tw_reuse = 1", "net.netfilter.nf_conntrack_max = 262144", ""].join("\n"),
        ],
        [
            "marks skip-policy keys with a leading '-' and drops keys set to null",
            { settings: { "net.netfilter.nf_conntrack_max": null, "net.ipv4.tcp_keepalive_time": 300 }, keyPolicy: { "net.ipv4.tcp_tw_reuse": "skip" } },
            [HEADER,
                "# Keys with a leading '-' may be unavailable on this host (policy skip): failures to set them are ignored.",
                "net.ipv4.tcp_fin_timeout = 30", "net.ipv4.tcp_keepalive_intvl = 30", "net.ipv4.tcp_keepalive_probes = 3",
                "net.ipv4.tcp_keepalive_time = 300", "-net.ipv4.tcp_tw_reuse = 1", ""].join("\n"),
        ],
    ])("%s", (_what, input, expected) => {
        expect(renderSysctl(sysctlSchema.parse(input))).toBe(expected);
    });

    it("merges the high-concurrency preset over keepalive (seed 004 values)", () => {
        const e = sysctlEntries(sysctlSchema.parse({ presets: ["keepalive", "highConcurrency"] }));
        expect(Object.fromEntries(e.map((x) => [x.key, x.value]))).toMatchObject({
            "net.core.somaxconn": "10000", "net.ipv4.tcp_max_syn_backlog": "10000", "vm.overcommit_memory": "1",
            "vm.swappiness": "0", "net.ipv4.tcp_keepalive_time": "600", "net.core.rmem_max": "500000",
        });
    });
});
