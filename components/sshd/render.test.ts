import { describe, expect, it } from "vitest";
import { limitsSchema, overrideSchema, sshdSchema, sysctlSchema } from "../config";
import { HEADER, renderLimits, renderOverride, renderPamProfile, renderSshd, renderSysctl, renderSystemdDefaultLimit, sysctlEntries } from "./render";

describe("renderSshd", () => {
    it.each([
        [
            "writes the seed-000 idle-killing defaults",
            {},
            [HEADER,
                "# Idle SSH sessions are dropped after 300 s x 2 = 600 s without an answer.",
                "# sshd keeps the first value it reads for a keyword: this drop-in must sort before others.",
                "ClientAliveInterval 300", "ClientAliveCountMax 2", "LoginGraceTime 30", "TCPKeepAlive yes",
                "MaxStartups 200:30:400", "MaxSessions 100", ""].join("\n"),
        ],
        [
            "writes changed values and extra directives sorted by keyword",
            { clientAliveInterval: 120, clientAliveCountMax: 3, tcpKeepAlive: false, extra: { X11Forwarding: "no", AllowAgentForwarding: "no" } },
            [HEADER,
                "# Idle SSH sessions are dropped after 120 s x 3 = 360 s without an answer.",
                "# sshd keeps the first value it reads for a keyword: this drop-in must sort before others.",
                "ClientAliveInterval 120", "ClientAliveCountMax 3", "LoginGraceTime 30", "TCPKeepAlive no",
                "MaxStartups 200:30:400", "MaxSessions 100", "AllowAgentForwarding no", "X11Forwarding no", ""].join("\n"),
        ],
    ])("%s", (_what, input, expected) => {
        expect(renderSshd(sshdSchema.parse(input))).toBe(expected);
    });
});

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

describe("renderLimits and renderSystemdDefaultLimit", () => {
    it("writes soft and hard nofile for each domain (seed 000/004)", () => {
        expect(renderLimits(limitsSchema.parse({ domains: ["dereadi", "root"] }))).toBe(
            [HEADER, "# <domain> <type> <item> <value>; read by pam_limits at each new login.",
                "dereadi soft nofile 65536", "dereadi hard nofile 65536", "root soft nofile 65536", "root hard nofile 65536", ""].join("\n"),
        );
    });
    it("writes DefaultLimitNOFILE as the login limits soft:hard when systemdDefault is unset", () => {
        expect(renderSystemdDefaultLimit(limitsSchema.parse({ soft: 4096, hard: 16384 }))).toBe(
            [HEADER, "[Manager]", "DefaultLimitNOFILE=4096:16384", ""].join("\n"),
        );
    });
    it.each([[4096], [65536], [1048576]])("writes DefaultLimitNOFILE=%i for soft and hard when systemdDefault says so, whatever the login limits", (n) => {
        for (const logins of [{}, { soft: 4096, hard: 16384 }, { soft: 1024, hard: 1048576 }]) {
            expect(renderSystemdDefaultLimit(limitsSchema.parse({ ...logins, systemdDefault: n }))).toBe([HEADER, "[Manager]", `DefaultLimitNOFILE=${n}:${n}`, ""].join("\n"));
        }
    });
});

describe("renderPamProfile", () => {
    it("is a pam-auth-update session profile for pam_limits, without comment lines (the format has none)", () => {
        const p = renderPamProfile();
        expect(p).toBe("Name: nofile limits from /etc/security/limits.d (managed by conntune)\nDefault: yes\nPriority: 0\nSession-Type: Additional\nSession:\n\trequired\tpam_limits.so\n");
        expect(p).not.toMatch(/^#/m);
    });
});

describe("renderOverride", () => {
    it("writes sections in unit-file order and directives sorted", () => {
        expect(renderOverride(overrideSchema.parse({ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 65536, Restart: "always" }, Unit: { StartLimitBurst: 5 } } }))).toBe(
            [HEADER, "[Unit]", "StartLimitBurst=5", "[Service]", "LimitNOFILE=65536", "Restart=always", ""].join("\n"),
        );
    });
});
