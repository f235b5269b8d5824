import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../../components/config";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4";
const host = (over: Record<string, unknown> = {}) => ({ name: "redfin", connection: { host: "10.0.0.5", hostKey: KEY }, ...over });

function problems(raw: unknown): string[] {
    try {
        parseStackConfig(raw);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

describe("the stack config schema", () => {
    it("accepts a host with only a connection and fills the seed-000 defaults", () => {
        const c = parseStackConfig({ hosts: [host()] });
        expect(c.hosts[0].sshd.clientAliveInterval).toBe(300);
        expect(c.hosts[0].sysctl.presets).toEqual(["keepalive"]);
        expect(c.hosts[0].limits.soft).toBe(65536);
        expect(c.hosts[0].connection.port).toBe(22);
    });

    // Each row: what is wrong, the config, the field named in the message, words of the allowed range.
    it.each([
        ["a port out of range", { hosts: [host({ connection: { host: "h", hostKey: KEY, port: 70000 } })] }, "conntune:hosts[0].connection.port", "1 to 65535"],
        ["a port of the wrong type", { hosts: [host({ connection: { host: "h", hostKey: KEY, port: "22" } })] }, "conntune:hosts[0].connection.port", "integer"],
        ["a host name with shell characters", { hosts: [host({ connection: { host: "h; rm -rf /", hostKey: KEY } })] }, "conntune:hosts[0].connection.host", "IP address or DNS name"],
        ["a missing host key", { hosts: [host({ connection: { host: "h" } })] }, "conntune:hosts[0].connection.hostKey", ""],
        ["a malformed host key", { hosts: [host({ connection: { host: "h", hostKey: "AAAA" } })] }, "conntune:hosts[0].connection.hostKey", "TYPE BASE64"],
        ["a bad user", { hosts: [host({ connection: { host: "h", hostKey: KEY, user: "Root User" } })] }, "conntune:hosts[0].connection.user", "Unix user name"],
        ["an unknown connection key", { hosts: [host({ connection: { host: "h", hostKey: KEY, passwd: "x" } })] }, "conntune:hosts[0].connection", "passwd"],
        ["ClientAliveInterval above a day", { hosts: [host({ sshd: { clientAliveInterval: 90000 } })] }, "conntune:hosts[0].sshd.clientAliveInterval", "0 to 86400"],
        ["a negative ClientAliveCountMax", { hosts: [host({ sshd: { clientAliveCountMax: -1 } })] }, "conntune:hosts[0].sshd.clientAliveCountMax", "0 to 100"],
        ["a fractional LoginGraceTime", { hosts: [host({ sshd: { loginGraceTime: 1.5 } })] }, "conntune:hosts[0].sshd.loginGraceTime", "integer"],
        ["MaxStartups full below start", { hosts: [host({ sshd: { maxStartups: "200:30:100" } })] }, "conntune:hosts[0].sshd.maxStartups", "full at least start"],
        ["MaxStartups garbage", { hosts: [host({ sshd: { maxStartups: "lots" } })] }, "conntune:hosts[0].sshd.maxStartups", "start:rate:full"],
        ["a drop-in name with a slash", { hosts: [host({ sshd: { fileName: "../sshd_config" } })] }, "conntune:hosts[0].sshd.fileName", "ending in .conf"],
        ["an extra sshd directive with a newline", { hosts: [host({ sshd: { extra: { Banner: "a\nPermitRootLogin yes" } } })] }, "conntune:hosts[0].sshd.extra.Banner", "one line"],
        ["an unknown sshd setting", { hosts: [host({ sshd: { clientAliveIntervall: 5 } })] }, "conntune:hosts[0].sshd", "clientAliveIntervall"],
        ["keepalive time above the kernel maximum", { hosts: [host({ sysctl: { settings: { "net.ipv4.tcp_keepalive_time": 40000 } } })] }, "conntune:hosts[0].sysctl.settings.net.ipv4.tcp_keepalive_time", "1 to 32767"],
        ["a sysctl key with a path", { hosts: [host({ sysctl: { settings: { "../../etc/passwd": 1 } } })] }, "conntune:hosts[0].sysctl.settings", "sysctl key"],
        ["an unknown preset", { hosts: [host({ sysctl: { presets: ["turbo"] } })] }, "conntune:hosts[0].sysctl.presets[0]", "'keepalive' or 'highConcurrency'"],
        ["a bad key policy", { hosts: [host({ sysctl: { keyPolicy: { "vm.swappiness": "ignore" } } })] }, "conntune:hosts[0].sysctl.keyPolicy.vm.swappiness", "'fail' or 'skip'"],
        ["soft nofile above hard", { hosts: [host({ limits: { soft: 70000, hard: 65536 } })] }, "conntune:hosts[0].limits.soft", "must not exceed hard"],
        ["nofile above fs.nr_open's default", { hosts: [host({ limits: { hard: 2000000 } })] }, "conntune:hosts[0].limits.hard", "1024 to 1048576"],
        ["a limits domain with spaces", { hosts: [host({ limits: { domains: ["bad user"] } })] }, "conntune:hosts[0].limits.domains[0]", "'*', a user"],
        ["a unit name with a slash", { hosts: [host({ systemdOverrides: [{ unit: "../x.service", settings: { Service: { LimitNOFILE: 1 } } }] })] }, "conntune:hosts[0].systemdOverrides[0].unit", "systemd unit name"],
        ["a unit without a type suffix", { hosts: [host({ systemdOverrides: [{ unit: "llm-gateway", settings: { Service: { LimitNOFILE: 1 } } }] })] }, "conntune:hosts[0].systemdOverrides[0].unit", "systemd unit name"],
        ["an unknown section", { hosts: [host({ systemdOverrides: [{ unit: "a.service", settings: { Servic: { LimitNOFILE: 1 } } }] })] }, "conntune:hosts[0].systemdOverrides[0].settings", "Servic"],
        ["a bad restart policy", { hosts: [host({ systemdOverrides: [{ unit: "a.service", settings: { Service: { LimitNOFILE: 1 } }, restart: "bounce" }] })] }, "conntune:hosts[0].systemdOverrides[0].restart", "'restart', 'reload' or 'none'"],
        ["an empty override", { hosts: [host({ systemdOverrides: [{ unit: "a.service", settings: {} }] })] }, "conntune:hosts[0].systemdOverrides[0].settings", "at least one directive"],
        ["two hosts with one name", { hosts: [host(), host()] }, "conntune:hosts[1].name", "duplicate host name"],
        ["a host name with capitals", { hosts: [host({ name: "RedFin" })] }, "conntune:hosts[0].name", "lowercase"],
        ["hosts that is not a list", { hosts: { name: "x" } }, "conntune:hosts", "must be a list"],
        ["an IPv4 address with an octet above 255", { hosts: [host({ connection: { host: "10.0.0.300", hostKey: KEY } })] }, "conntune:hosts[0].connection.host", "IP address or DNS name"],
        ["a malformed IPv6 address", { hosts: [host({ connection: { host: "fe80:::1::2", hostKey: KEY } })] }, "conntune:hosts[0].connection.host", "IP address or DNS name"],
        ["a missing host address", { hosts: [host({ connection: { hostKey: KEY } })] }, "conntune:hosts[0].connection.host", "required: an IP address or DNS name"],
        ["sudo given as text", { hosts: [host({ connection: { host: "h", hostKey: KEY, sudo: "yes" } })] }, "conntune:hosts[0].connection.sudo", "must be true or false"],
        ["one machine listed twice", { hosts: [host(), host({ name: "other" })] }, "conntune:hosts[1].connection.host", "10.0.0.5 port 22 is already hosts[0] (redfin)"],
        ["MaxStartups as an unquoted number", { hosts: [host({ sshd: { maxStartups: 10 } })] }, "conntune:hosts[0].sshd.maxStartups", "one number in quotes"],
        ["an extra directive that a typed field owns", { hosts: [host({ sshd: { extra: { clientaliveinterval: "0" } } })] }, "conntune:hosts[0].sshd.extra.clientaliveinterval", "set sshd.clientAliveInterval instead"],
        ["a Match block in extra", { hosts: [host({ sshd: { extra: { Match: "User x" } } })] }, "conntune:hosts[0].sshd.extra.Match", "not allowed"],
        ["one extra keyword twice in other case", { hosts: [host({ sshd: { extra: { Banner: "/a", banner: "/b" } } })] }, "conntune:hosts[0].sshd.extra.banner", "repeats Banner"],
        ["a key policy for a key that is not set", { hosts: [host({ sysctl: { keyPolicy: { "net.core.somaxconn": "skip" } } })] }, "conntune:hosts[0].sysctl.keyPolicy.net.core.somaxconn", "names a key that is not set: must be one of net.ipv4.tcp_fin_timeout"],
        ["a sysctl value with shell characters", { hosts: [host({ sysctl: { settings: { "net.ipv4.ip_local_port_range": "1 2; reboot" } } })] }, "conntune:hosts[0].sysctl.settings.net.ipv4.ip_local_port_range", "simple text"],
        ["DefaultLimitNOFILE 'infinity'", { hosts: [host({ limits: { systemdDefault: "infinity" } })] }, "conntune:hosts[0].limits.systemdDefault", "integer from 1024 to 1048576 or null"],
        ["an alert port that is not watched", { hosts: [host({ monitor: { ports: [22], alertPort: 6379 } })] }, "conntune:hosts[0].monitor.alertPort", "must be one of ports (22)"],
        ["a kubeconfig in render mode", { redis: { namespace: "redis", name: "r", kubeconfig: "k", settings: {} } }, "conntune:redis.kubeconfig", "only used with mode: live"],
        ["a misspelt key", { hosts: [host({ limits: { sotf: 4096 } })] }, "conntune:hosts[0].limits", 'unknown key "sotf" (did you mean "soft"?): allowed are enabled, fileName, domains, soft, hard'],
    ])("rejects %s, naming the field", (_what, raw, field, allowed) => {
        const p = problems(raw);
        expect(p.length).toBeGreaterThan(0);
        const line = p.find((l) => l.startsWith(`${field}:`) || l.startsWith(`${field}`));
        expect(line, `no problem names ${field}: ${JSON.stringify(p)}`).toBeDefined();
        expect(line).toContain(allowed);
    });

    it("reports a bad MaxStartups once, and a misspelt section without calling the override empty", () => {
        expect(problems({ hosts: [host({ sshd: { maxStartups: "lots" } })] })).toEqual(["conntune:hosts[0].sshd.maxStartups: must be 'start:rate:full' (e.g. 200:30:400) or a single number"]);
        expect(problems({ hosts: [host({ systemdOverrides: [{ unit: "a.service", settings: { Servic: { LimitNOFILE: 1 } } }] })] })).toEqual([
            'conntune:hosts[0].systemdOverrides[0].settings: unknown key "Servic" (did you mean "Service"?): allowed are Unit, Service, Socket, Timer, Install, Mount, Path, Slice',
        ]);
    });

    it("lists every problem at once", () => {
        const p = problems({ hosts: [host({ sshd: { clientAliveInterval: -5, maxSessions: 1e9 } })] });
        expect(p).toHaveLength(2);
    });
});

describe("conntune: keys nothing reads", () => {
    it("names a misspelt top-level key with the nearest known one, and accepts the secrets hosts name", async () => {
        const { unknownKeyProblems } = await import("../../components/load");
        expect(unknownKeyProblems(["hosts", "sshPrivateKey", "deployKey"], ["deployKey"])).toEqual([]);
        const [p] = unknownKeyProblems(["hots"], []);
        expect(p).toMatch(/^conntune:hots: unknown setting \(did you mean conntune:hosts\?\): conntune reads conntune:hosts, conntune:redis, conntune:repair/);
        expect(unknownKeyProblems(["zzzzzz"], [])[0]).not.toContain("did you mean");
    });
});
