/**
 * Bad input through the real CLI (issue 6): each invalid stack config below goes through
 * `pulumi preview` of the conntune program and must be rejected before any resource exists, with
 * exactly the expected `conntune:<path>: <message>` lines (the field, and what is allowed). Covers
 * `conntune:hosts` (connection, the host list, sshd, sysctl, limits, systemdOverrides, redis on a
 * host, monitor), `conntune:redis` (the Redis ConfigMap stack), a misspelt top-level key and the secrets a
 * host names. No test host is needed: preview opens no connection, and the addresses below are
 * never contacted.
 */
import { throwawayKeyPair } from "../../lab/keys";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conntuneProject, dispose, e2eGate, REPO, Stack } from "../../lab/stack";

/**
 * Real keys, made for this file (never used for a login: preview opens no connection): conntune's
 * provider parses the pinned host key and the private key at preview, so stand-ins would be refused.
 */
const KEYS = throwawayKeyPair();
/** A pinned host key that is well-formed. */
const KEY = KEYS.pub;
/** Addresses of a test subnet that nothing here listens on; preview never connects anyway. */
const ADDR = "10.213.251.2";
const ADDR2 = "10.213.251.3";
const host = (over: Record<string, unknown> = {}) => ({ name: "web1", connection: { host: ADDR, hostKey: KEY }, ...over });
const conn = (over: Record<string, unknown>) => host({ connection: { host: ADDR, hostKey: KEY, ...over } });
const unit = (over: Record<string, unknown>) => host({ systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 65536 } }, ...over }] });
const hostRedis = (settings: Record<string, unknown>, over: Record<string, unknown> = {}) => host({ redis: { settings, ...over } });
const k8s = (over: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) => ({ namespace: "redis", name: "redis-standalone-ext-config", settings: { memoryLimit: "32Gi", cpuLimit: 4, ...settings }, ...over });
const H = "conntune:hosts[0]";
const CONN_KEYS = "host, port, user, hostKey, sudo, privateKeySecret, sudoPasswordSecret";
const SSHD_KEYS = "enabled, fileName, clientAliveInterval, clientAliveCountMax, loginGraceTime, tcpKeepAlive, maxStartups, maxSessions, extra, allowRiskyKeywords";
const HOST_KEYS = "name, connection, sshd, sysctl, limits, systemdOverrides, redis, monitor";
const CONF = "must be a plain file name ending in .conf (letters, digits, _ . @ -; no '/', '..' or spaces)";
const UNIT = "must be a systemd unit name like llm-gateway.service (letters, digits, : _ . - @; not starting with '-' or '.', no '\\')";
const RISKY_SYSCTL = (top: string) => `is a machine-wide ${top}.* key outside conntune's catalog (known: vm.overcommit_memory, vm.swappiness): list it in sysctl.allowRiskyKeys to set it anyway`;
const typo = (key: string, near: string) => `is not a known key: did you mean ${near}? (the host would refuse it mid-apply; if ${key} is meant, list it in sysctl.allowRiskyKeys)`;
const weakens = (kw: string, value: string, why: string) => `${H}.sshd.extra.${kw}: ${kw} ${value} ${why}: it weakens authentication: list "${kw}" in sshd.allowRiskyKeywords to set it anyway`;
const REDIS_KEYS = "memoryLimit, cpuLimit, maxmemory, maxmemoryPolicy, maxmemorySamples, dataTtlUse, activedefrag, activeDefragIgnoreBytes, activeDefragThresholdLower, activeDefragThresholdUpper, ioThreads, ioThreadsDoReads, appendonly, appendfsync, noAppendfsyncOnRewrite, autoAofRewritePercentage, autoAofRewriteMinSize, aofRewriteIncrementalFsync, aofUseRdbPreamble, save, lazyfreeLazyEviction, lazyfreeLazyExpire, lazyfreeLazyServerDel, lazyfreeLazyUserDel, hz, tcpBacklog, tcpKeepalive, timeout, maxclients, slowlogLogSlowerThan, slowlogMaxLen, bind, port";
const KEEPALIVE_KEYS = "net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_tw_reuse, net.netfilter.nf_conntrack_max";

interface BadCase {
    /** What is wrong, as the test's name says it. */
    what: string;
    /** Stack config values under conntune:, e.g. { hosts: [...] }. */
    config: { hosts?: unknown; redis?: unknown; repair?: unknown; [other: string]: unknown };
    /** Every problem preview must report, exactly (no more, no fewer). */
    problems: string[];
}

const CASES: BadCase[] = [
    // connection
    { what: "a port out of range", config: { hosts: [conn({ port: 0 })] }, problems: [`${H}.connection.port: must be from 1 to 65535`] },
    { what: "a port given as a string", config: { hosts: [conn({ port: "22" })] }, problems: [`${H}.connection.port: must be an integer from 1 to 65535`] },
    { what: "a shell metacharacter in a host", config: { hosts: [conn({ host: "a;reboot" })] }, problems: [`${H}.connection.host: must be an IP address or DNS name`] },
    { what: "an IPv4 address with an octet above 255", config: { hosts: [conn({ host: "10.213.251.300" })] }, problems: [`${H}.connection.host: must be an IP address or DNS name`] },
    { what: "a missing host address", config: { hosts: [{ name: "web1", connection: { hostKey: KEY } }] }, problems: [`${H}.connection.host: required: an IP address or DNS name`] },
    { what: "a missing host key", config: { hosts: [{ name: "web1", connection: { host: ADDR } }] }, problems: [`${H}.connection.hostKey: required: pin the host's key, e.g. \`ssh-keyscan -t ed25519 HOST | cut -d' ' -f2-\``] },
    { what: "a DSA host key", config: { hosts: [conn({ hostKey: "ssh-dss AAAAB3NzaC1kc3M=" })] }, problems: [`${H}.connection.hostKey: must be a public host key line 'TYPE BASE64', TYPE one of ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (e.g. from \`ssh-keyscan -t ed25519 HOST | cut -d' ' -f2-\`)`] },
    { what: "a user name with a space", config: { hosts: [conn({ user: "Root User" })] }, problems: [`${H}.connection.user: must be a Unix user name (lowercase letters, digits, _ -; at most 32)`] },
    { what: "sudo given as 'yes'", config: { hosts: [conn({ sudo: "yes" })] }, problems: [`${H}.connection.sudo: must be true or false`] },
    { what: "an unknown connection key", config: { hosts: [conn({ password: "hunter2" })] }, problems: [`${H}.connection: unknown key "password": allowed are ${CONN_KEYS}`] },
    { what: "a private-key secret that is not set", config: { hosts: [conn({ privateKeySecret: "deployKey" })] }, problems: ["conntune:deployKey: missing: set the SSH private key for hosts[0] (web1) with `pulumi config set --secret deployKey < KEYFILE`"] },
    { what: "a sudo-password secret that is not set", config: { hosts: [conn({ user: "tuner", sudoPasswordSecret: "sudoPass" })] }, problems: ["conntune:sudoPass: missing: hosts[0].connection.sudoPasswordSecret names it"] },
    { what: "a sudo-password secret for root (no sudo runs)", config: { hosts: [conn({ sudoPasswordSecret: "sudoPass" })] }, problems: [`${H}.connection.sudoPasswordSecret: must not be set: no sudo runs (the user is root), so no password is asked for; remove sudoPasswordSecret`] },
    { what: "a sudo-password secret with sudo: false", config: { hosts: [conn({ user: "tuner", sudo: false, sudoPasswordSecret: "sudoPass" })] }, problems: [`${H}.connection.sudoPasswordSecret: must not be set: no sudo runs (sudo is false), so no password is asked for; remove sudoPasswordSecret`] },
    { what: "a host without a connection", config: { hosts: [{ name: "web1" }] }, problems: [`${H}.connection: required: a mapping with keys ${CONN_KEYS}`] },
    // the host list
    { what: "a host name with capitals and _", config: { hosts: [host({ name: "Web_1" })] }, problems: [`${H}.name: must be lowercase letters, digits and - (at most 41)`] },
    { what: "two hosts with one name", config: { hosts: [host(), { name: "web1", connection: { host: ADDR2, hostKey: KEY } }] }, problems: ["conntune:hosts[1].name: duplicate host name web1"] },
    { what: "one machine listed twice under two names", config: { hosts: [host(), host({ name: "web2" })] }, problems: [`conntune:hosts[1].connection.host: ${ADDR} port 22 is already hosts[0] (web1): one entry per machine`] },
    { what: "hosts that is not a list", config: { hosts: { name: "web1" } }, problems: [`conntune:hosts: must be a list, each a mapping with keys ${HOST_KEYS}`] },
    { what: "a misspelt component key", config: { hosts: [host({ sysctls: {} })] }, problems: [`${H}: unknown key "sysctls" (did you mean "sysctl"?): allowed are ${HOST_KEYS}`] },
    // sshd
    { what: "ClientAliveInterval above a day", config: { hosts: [host({ sshd: { clientAliveInterval: 90000 } })] }, problems: [`${H}.sshd.clientAliveInterval: must be from 0 to 86400`] },
    { what: "a fractional LoginGraceTime", config: { hosts: [host({ sshd: { loginGraceTime: 1.5 } })] }, problems: [`${H}.sshd.loginGraceTime: must be an integer from 0 to 3600`] },
    { what: "MaxStartups full below start", config: { hosts: [host({ sshd: { maxStartups: "200:30:100" } })] }, problems: [`${H}.sshd.maxStartups: start must be at least 1, rate from 1 to 100 (percent) and full at least start`] },
    { what: "MaxStartups as an unquoted number", config: { hosts: [host({ sshd: { maxStartups: 10 } })] }, problems: [`${H}.sshd.maxStartups: must be a string: 'start:rate:full' (e.g. "200:30:400") or one number in quotes (e.g. "10")`] },
    { what: "an sshd drop-in name with a path", config: { hosts: [host({ sshd: { fileName: "../sshd_config" } })] }, problems: [`${H}.sshd.fileName: ${CONF}`] },
    { what: "an extra sshd directive with a newline", config: { hosts: [host({ sshd: { extra: { Banner: "none\nPermitRootLogin yes" } } })] }, problems: [`${H}.sshd.extra.Banner: must be one line without '#' or control characters`] },
    { what: "an extra sshd keyword with a space", config: { hosts: [host({ sshd: { extra: { "Permit RootLogin": "no" } } })] }, problems: [`${H}.sshd.extra.Permit RootLogin: key not allowed: must be an sshd_config keyword (letters and digits)`] },
    { what: "an extra directive that conflicts with a typed setting", config: { hosts: [host({ sshd: { extra: { ClientAliveInterval: "0" } } })] }, problems: [`${H}.sshd.extra.ClientAliveInterval: is a typed setting: set sshd.clientAliveInterval instead`] },
    { what: "a Match block in the extra directives", config: { hosts: [host({ sshd: { extra: { Match: "User deploy" } } })] }, problems: [`${H}.sshd.extra.Match: Match and Include are not allowed in a drop-in's extra directives (they change how every line after them applies)`] },
    { what: "a misspelt sshd setting", config: { hosts: [host({ sshd: { clientAliveIntervall: 300 } })] }, problems: [`${H}.sshd: unknown key "clientAliveIntervall" (did you mean "clientAliveInterval"?): allowed are ${SSHD_KEYS}`] },
    // sshd: settings that weaken authentication or lock logins out (opt-in: sshd.allowRiskyKeywords)
    { what: "PermitRootLogin yes", config: { hosts: [host({ sshd: { extra: { PermitRootLogin: "yes" } } })] }, problems: [weakens("PermitRootLogin", "yes", "lets root log in with a password")] },
    { what: "PermitRootLogin \"yes\" (quoted: sshd drops the quotes)", config: { hosts: [host({ sshd: { extra: { PermitRootLogin: "\"yes\"" } } })] }, problems: [weakens("PermitRootLogin", "\"yes\"", "lets root log in with a password")] },
    { what: "PasswordAuthentication yes", config: { hosts: [host({ sshd: { extra: { PasswordAuthentication: "yes" } } })] }, problems: [weakens("PasswordAuthentication", "yes", "turns password logins on")] },
    { what: "PermitEmptyPasswords yes", config: { hosts: [host({ sshd: { extra: { PermitEmptyPasswords: "yes" } } })] }, problems: [weakens("PermitEmptyPasswords", "yes", "lets accounts without a password log in")] },
    { what: "AuthorizedKeysFile moved", config: { hosts: [host({ sshd: { extra: { AuthorizedKeysFile: "/tmp/keys" } } })] }, problems: [weakens("AuthorizedKeysFile", "/tmp/keys", "moves where sshd reads the keys that may log in")] },
    { what: "an AuthorizedKeysCommand", config: { hosts: [host({ sshd: { extra: { AuthorizedKeysCommand: "/usr/local/bin/keys %u" } } })] }, problems: [weakens("AuthorizedKeysCommand", "/usr/local/bin/keys %u", "lets a program decide which keys may log in")] },
    {
        what: "keyboard-interactive, challenge-response and host-based logins turned on",
        config: { hosts: [host({ sshd: { extra: { KbdInteractiveAuthentication: "yes", ChallengeResponseAuthentication: "Yes", HostbasedAuthentication: "yes" } } })] },
        problems: [
            weakens("KbdInteractiveAuthentication", "yes", "turns keyboard-interactive (password) logins on"),
            weakens("ChallengeResponseAuthentication", "Yes", "turns challenge-response (password) logins on"),
            weakens("HostbasedAuthentication", "yes", "lets a trusted host vouch for its users"),
        ],
    },
    { what: "an sshd value with a control character", config: { hosts: [host({ sshd: { extra: { Banner: "/etc/issue\u001b[2J" } } })] }, problems: [`${H}.sshd.extra.Banner: must be one line without '#' or control characters`] },
    {
        what: "loginGraceTime 0 with maxStartups 10",
        config: { hosts: [host({ sshd: { loginGraceTime: 0, maxStartups: "10" } })] },
        problems: [`${H}.sshd.loginGraceTime: 0 never frees the slot of a connection that does not log in: 10 such connections (maxStartups 10) and sshd refuses every new login. With loginGraceTime 0, maxStartups must allow at least 100 (sshd's default full); or set loginGraceTime above 0 (a slot is freed after that many seconds); or list "LoginGraceTime" in sshd.allowRiskyKeywords to set it anyway`],
    },
    // sysctl
    { what: "keepalive time above the kernel maximum", config: { hosts: [host({ sysctl: { settings: { "net.ipv4.tcp_keepalive_time": 99999 } } })] }, problems: [`${H}.sysctl.settings.net.ipv4.tcp_keepalive_time: must be an integer from 1 to 32767`] },
    { what: "a known sysctl key given as text", config: { hosts: [host({ sysctl: { settings: { "net.ipv4.tcp_fin_timeout": "thirty" } } })] }, problems: [`${H}.sysctl.settings.net.ipv4.tcp_fin_timeout: must be an integer from 1 to 3600`] },
    { what: "swappiness above 200", config: { hosts: [host({ sysctl: { settings: { "vm.swappiness": 300 } } })] }, problems: [`${H}.sysctl.settings.vm.swappiness: must be an integer from 0 to 200`] },
    { what: "a sysctl key that is a path", config: { hosts: [host({ sysctl: { settings: { "../../etc/passwd": 1 } } })] }, problems: [`${H}.sysctl.settings.../../etc/passwd: key not allowed: must be a sysctl key like net.ipv4.tcp_keepalive_time`] },
    { what: "a sysctl value with shell characters", config: { hosts: [host({ sysctl: { settings: { "net.ipv4.ip_local_port_range": "1024 65000; reboot" } } })] }, problems: [`${H}.sysctl.settings.net.ipv4.ip_local_port_range: must be an integer, simple text (letters, digits, space . _ : -), or null to remove a preset key`] },
    { what: "an unknown sysctl preset", config: { hosts: [host({ sysctl: { presets: ["turbo"] } })] }, problems: [`${H}.sysctl.presets[0]: must be 'keepalive' or 'highConcurrency'`] },
    { what: "a key policy that does not exist", config: { hosts: [host({ sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "ignore" } } })] }, problems: [`${H}.sysctl.keyPolicy.net.netfilter.nf_conntrack_max: must be 'fail' or 'skip'`] },
    { what: "a key policy for a key that is not set (a typo)", config: { hosts: [host({ sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_maxx": "skip" } } })] }, problems: [`${H}.sysctl.keyPolicy.net.netfilter.nf_conntrack_maxx: names a key that is not set: must be one of ${KEEPALIVE_KEYS}`] },
    // sysctl: machine-wide, one-way and misspelt keys (opt-in: sysctl.allowRiskyKeys)
    { what: "kernel.modules_disabled (cannot be undone)", config: { hosts: [host({ sysctl: { settings: { "kernel.modules_disabled": 1 } } })] }, problems: [`${H}.sysctl.settings.kernel.modules_disabled: cannot be undone until the host reboots (destroy could not put the old value back) and applies to the whole machine: list it in sysctl.allowRiskyKeys to set it anyway`] },
    { what: "a kernel.* key outside the catalog", config: { hosts: [host({ sysctl: { settings: { "kernel.panic": 10 } } })] }, problems: [`${H}.sysctl.settings.kernel.panic: ${RISKY_SYSCTL("kernel")}`] },
    { what: "a vm.* key outside the catalog", config: { hosts: [host({ sysctl: { settings: { "vm.max_map_count": 262144 } } })] }, problems: [`${H}.sysctl.settings.vm.max_map_count: ${RISKY_SYSCTL("vm")}`] },
    { what: "an fs.* key outside the catalog", config: { hosts: [host({ sysctl: { settings: { "fs.file-max": 2097152 } } })] }, problems: [`${H}.sysctl.settings.fs.file-max: ${RISKY_SYSCTL("fs")}`] },
    { what: "a sysctl key one typo from a catalog key", config: { hosts: [host({ sysctl: { settings: { "net.ipv4.tcp_keepalive_tme": 300 } } })] }, problems: [`${H}.sysctl.settings.net.ipv4.tcp_keepalive_tme: ${typo("net.ipv4.tcp_keepalive_tme", "net.ipv4.tcp_keepalive_time")}`] },
    { what: "a sysctl key one typo from a well-known net.* key", config: { hosts: [host({ sysctl: { settings: { "net.ipv4.ip_local_port_rang": "1024 65000" } } })] }, problems: [`${H}.sysctl.settings.net.ipv4.ip_local_port_rang: ${typo("net.ipv4.ip_local_port_rang", "net.ipv4.ip_local_port_range")}`] },
    { what: "a sysctl opt-in for a key that is not set", config: { hosts: [host({ sysctl: { allowRiskyKeys: ["kernel.modules_disabled"] } })] }, problems: [`${H}.sysctl.allowRiskyKeys[0]: names kernel.modules_disabled, which sysctl.settings does not set: list only keys set there`] },
    // limits
    { what: "soft nofile above hard", config: { hosts: [host({ limits: { soft: 9000, hard: 4096 } })] }, problems: [`${H}.limits.soft: must not exceed hard`] },
    { what: "hard nofile above fs.nr_open's default", config: { hosts: [host({ limits: { hard: 2000000 } })] }, problems: [`${H}.limits.hard: must be from 1024 to 1048576`] },
    { what: "a limits domain with a space", config: { hosts: [host({ limits: { domains: ["bad user"] } })] }, problems: [`${H}.limits.domains[0]: must be '*', a user, @group or %group`] },
    { what: "no limits domain", config: { hosts: [host({ limits: { domains: [] } })] }, problems: [`${H}.limits.domains: must name at least one domain`] },
    { what: "DefaultLimitNOFILE 'infinity'", config: { hosts: [host({ limits: { systemdDefault: "infinity" } })] }, problems: [`${H}.limits.systemdDefault: must be an integer from 1024 to 1048576 or null`] },
    { what: "a systemd drop-in name without .conf", config: { hosts: [host({ limits: { systemdFileName: "90-limits" } })] }, problems: [`${H}.limits.systemdFileName: ${CONF}`] },
    { what: "pam_limits 'on'", config: { hosts: [host({ limits: { pam: "on" } })] }, problems: [`${H}.limits.pam: must be 'check' or 'enable'`] },
    // systemd unit overrides
    { what: "a unit name with a path", config: { hosts: [unit({ unit: "../../x.service" })] }, problems: [`${H}.systemdOverrides[0].unit: ${UNIT}`] },
    { what: "a unit name without a type suffix", config: { hosts: [unit({ unit: "llm-gateway" })] }, problems: [`${H}.systemdOverrides[0].unit: ${UNIT}`] },
    { what: "a misspelt unit file section", config: { hosts: [unit({ settings: { Servic: { LimitNOFILE: 65536 } } })] }, problems: [`${H}.systemdOverrides[0].settings: unknown key "Servic" (did you mean "Service"?): allowed are Unit, Service, Socket, Timer, Install, Mount, Path, Slice`] },
    { what: "a restart policy that does not exist", config: { hosts: [unit({ restart: "bounce" })] }, problems: [`${H}.systemdOverrides[0].restart: must be 'restart', 'reload' or 'none'`] },
    { what: "an override with no directive", config: { hosts: [unit({ settings: {} })] }, problems: [`${H}.systemdOverrides[0].settings: must set at least one directive, e.g. { Service: { LimitNOFILE: 65536 } }`] },
    { what: "a directive in lowercase", config: { hosts: [unit({ settings: { Service: { limitnofile: 65536 } } })] }, problems: [`${H}.systemdOverrides[0].settings.Service.limitnofile: key not allowed: must be a unit directive such as LimitNOFILE`] },
    { what: "a directive value that injects a line", config: { hosts: [unit({ settings: { Service: { LimitNOFILE: "65536\nExecStartPre=/bin/sh -c reboot" } } })] }, problems: [`${H}.systemdOverrides[0].settings.Service.LimitNOFILE: must be one line without control characters`] },
    { what: "a unit name starting with '-'", config: { hosts: [unit({ unit: "-llm-gateway.service" })] }, problems: [`${H}.systemdOverrides[0].unit: ${UNIT}`] },
    { what: "a unit name with a backslash", config: { hosts: [unit({ unit: "llm\\x2dgateway.service" })] }, problems: [`${H}.systemdOverrides[0].unit: ${UNIT}`] },
    { what: "a directive value ending in a backslash (systemd would join the next line)", config: { hosts: [unit({ settings: { Service: { Environment: "A=1 \\" } } })] }, problems: [`${H}.systemdOverrides[0].settings.Service.Environment: must not end in '\\' (systemd would join the next line onto it: the directive would not apply as shown)`] },
    { what: "a directive value with a control character", config: { hosts: [unit({ settings: { Service: { Environment: "A=\u0007" } } })] }, problems: [`${H}.systemdOverrides[0].settings.Service.Environment: must be one line without control characters`] },
    { what: "two overrides of one drop-in", config: { hosts: [host({ systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 65536 } } }, { unit: "llm-gateway.service", settings: { Service: { LimitNPROC: 4096 } } }] })] }, problems: [`${H}.systemdOverrides[1].unit: duplicate override llm-gateway.service/50-conntune.conf`] },
    // redis on a host
    { what: "Redis maxmemory above the host's memory limit", config: { hosts: [hostRedis({ memoryLimit: "1Gi", maxmemory: "4gb" })] }, problems: [`${H}.redis.settings.maxmemory: must not exceed memoryLimit 1Gi (1073741824 bytes)`] },
    { what: "Redis maxmemory as a percentage without a memory limit", config: { hosts: [hostRedis({ maxmemory: { percentOfLimit: 50 } })] }, problems: [`${H}.redis.settings.maxmemory: percentOfLimit needs memoryLimit`] },
    { what: "a Redis size with a bad unit name", config: { hosts: [hostRedis({ maxmemory: "8 gigs" })] }, problems: [`${H}.redis.settings.maxmemory: must be bytes or a Redis size like 512mb or 8gb`] },
    { what: "a memory limit in Redis units instead of Kubernetes ones", config: { hosts: [hostRedis({ memoryLimit: "32GB" })] }, problems: [`${H}.redis.settings.memoryLimit: must be a Kubernetes quantity like 32Gi`] },
    { what: "Redis io-threads above the CPU limit", config: { hosts: [hostRedis({ cpuLimit: 4, ioThreads: 8 })] }, problems: [`${H}.redis.settings.ioThreads: must not exceed the CPU limit (4 cores)`] },
    { what: "an eviction policy that does not exist", config: { hosts: [hostRedis({ maxmemoryPolicy: "lru" })] }, problems: [`${H}.redis.settings.maxmemoryPolicy: must be one of noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl`] },
    { what: "defrag thresholds out of order", config: { hosts: [hostRedis({ activeDefragThresholdLower: 50, activeDefragThresholdUpper: 25 })] }, problems: [`${H}.redis.settings.activeDefragThresholdLower: must be below activeDefragThresholdUpper`] },
    { what: "a relative redis.conf path", config: { hosts: [hostRedis({ hz: 10 }, { path: "redis.conf" })] }, problems: [`${H}.redis.path: must be an absolute path to a .conf file`] },
    { what: "a redis.conf path outside Redis's directories", config: { hosts: [hostRedis({ hz: 10 }, { path: "/etc/ld.so.conf" })] }, problems: [`${H}.redis.path: must be a .conf file directly in Redis's own configuration directories: /etc/redis/…, /etc/redis.conf, /usr/local/etc/redis/…, /etc/redis-stack.conf, /opt/redis-stack/etc/… (no subdirectory)`] },
    { what: "a redis.conf path in a subdirectory of /etc/redis (the redis account could swap it for a link)", config: { hosts: [hostRedis({ hz: 10 }, { path: "/etc/redis/instances/6380.conf" })] }, problems: [`${H}.redis.path: must be a .conf file directly in Redis's own configuration directories: /etc/redis/…, /etc/redis.conf, /usr/local/etc/redis/…, /etc/redis-stack.conf, /opt/redis-stack/etc/… (no subdirectory)`] },
    { what: "a Redis setting in redis.conf spelling", config: { hosts: [hostRedis({ maxmemory_policy: "allkeys-lru" })] }, problems: [`${H}.redis.settings: unknown key "maxmemory_policy" (did you mean "maxmemoryPolicy"?): allowed are ${REDIS_KEYS}`] },
    // monitor
    { what: "an alert port that is not watched", config: { hosts: [host({ monitor: { ports: [6379, 22], alertPort: 5432 } })] }, problems: [`${H}.monitor.alertPort: must be one of ports (6379, 22)`] },
    { what: "monitor levels that do not rise", config: { hosts: [host({ monitor: { healthyMax: 50, warningMax: 40 } })] }, problems: [`${H}.monitor.warningMax: levels must rise: healthyMax < warningMax < leakMax (here 50, 40, 99)`] },
    { what: "a monitor interval below 10 s", config: { hosts: [host({ monitor: { intervalSeconds: 5 } })] }, problems: [`${H}.monitor.intervalSeconds: must be from 10 to 86400`] },
    { what: "a monitored service that is not a unit name", config: { hosts: [host({ monitor: { services: ["python3 -m uvicorn"] } })] }, problems: [`${H}.monitor.services[0]: ${UNIT}`] },
    // the Redis ConfigMap stack (conntune:redis)
    { what: "a k8s mode that does not exist", config: { redis: k8s({ mode: "apply" }) }, problems: ["conntune:redis.mode: must be 'render' or 'live'"] },
    { what: "a namespace with capitals and _", config: { redis: k8s({ namespace: "Redis_NS" }) }, problems: ["conntune:redis.namespace: must be a DNS-1123 label (lowercase letters, digits, -)"] },
    { what: "a ConfigMap without a name", config: { redis: { namespace: "redis", settings: {} } }, problems: ["conntune:redis.name: required: a DNS-1123 name (lowercase letters, digits, - and .)"] },
    { what: "a render directory outside the project", config: { redis: k8s({ renderDir: "../../etc" }) }, problems: ["conntune:redis.renderDir: must be a directory inside the project, relative to it (e.g. rendered/k8s): no leading '/', no '..', not the project directory itself"] },
    { what: "an absolute render directory", config: { redis: k8s({ renderDir: "/etc/kubernetes" }) }, problems: ["conntune:redis.renderDir: must be a directory inside the project, relative to it (e.g. rendered/k8s): no leading '/', no '..', not the project directory itself"] },
    { what: "a workload kind that is not rolled", config: { redis: k8s({ workload: { kind: "DaemonSet", name: "redis" } }) }, problems: ["conntune:redis.workload.kind: must be StatefulSet or Deployment"] },
    { what: "an unknown workload key", config: { redis: k8s({ workload: { kind: "StatefulSet", name: "redis-standalone", replicas: 3 } }) }, problems: ['conntune:redis.workload: unknown key "replicas": allowed are kind, name, awaitRollout'] },
    { what: "a misspelt namespace key", config: { redis: { namespce: "redis", name: "redis-standalone-ext-config", settings: {} } }, problems: ["conntune:redis.namespace: required: a DNS-1123 label (lowercase letters, digits, -)", 'conntune:redis: unknown key "namespce" (did you mean "namespace"?): allowed are mode, renderDir, kubeconfig, context, namespace, name, shape, workload, liveCheck, settings, clients, clientsReserve'] },
    { what: "ConfigMap maxmemory above the container limit", config: { redis: k8s({}, { maxmemory: "40gb" }) }, problems: ["conntune:redis.settings.maxmemory: must not exceed memoryLimit 32Gi (34359738368 bytes)"] },
    { what: "ConfigMap io-threads above the CPU limit", config: { redis: k8s({}, { ioThreads: 8 }) }, problems: ["conntune:redis.settings.ioThreads: must not exceed the CPU limit (4 cores)"] },
    { what: "a kubeconfig in render mode", config: { redis: k8s({ kubeconfig: "/root/.kube/config" }) }, problems: ["conntune:redis.kubeconfig: is only used with mode: live (mode is render): set mode: live or remove it"] },
    // the connection budget (components/budget): numbers that cannot work fail the preview, with the arithmetic
    {
        what: "Redis clients whose pools exceed maxclients minus the reserve",
        config: { redis: k8s({ clients: [{ name: "miner", library: "go-redis", poolSize: 200, idleTimeoutSeconds: 300, replicas: 3, surge: 1 }, { name: "relayer", library: "go-redis", gomaxprocs: 16, idleTimeoutSeconds: 300, replicas: 2 }] }, { maxclients: 1000 }) },
        problems: ['conntune:redis.clients: miner 200 × (3 replicas + 1 surge) = 800 + relayer 160 × 2 replicas = 320 → 1,120 > maxclients 1,000 − clientsReserve 32 = 968: with every pool full the clients open 152 more connections than Redis accepts (it refuses them: "max number of clients reached"); lower poolSize, replicas or surge, or raise settings.maxclients'],
    },
    {
        what: "a monitor whose healthy band ends below the clients' idle minimum",
        config: { hosts: [host({ monitor: {}, redis: { settings: {}, clients: [{ name: "batch-writer", library: "go-redis", poolSize: 20, minIdleConns: 10, replicas: 3 }] } })] },
        problems: [`${H}.monitor.healthyMax: 25 is below the declared idle minimum: batch-writer minIdleConns 10 × 3 replicas = 30 connections are always open, so the monitor never reports HEALTHY (seed 001: a band of 20–25 around a baseline of 25); raise healthyMax to at least 30 (and warningMax, leakMax above it) or lower minIdleConns`],
    },
    {
        what: "a redis-py client without max_connections (unbounded before redis-py 8.0)",
        config: { hosts: [host({ redis: { enabled: false, runsOn: "bluefin", settings: {}, clients: [{ name: "ganuda", library: "redis-py", readTimeoutSeconds: 5 }] } })] },
        problems: [`${H}.redis.clients[0].poolSize: required for redis-py before 8.0: its ConnectionPool's default max_connections is 2**31 = 2,147,483,648 per process, effectively unbounded; set poolSize to the pool's max_connections (seed 000: 10), or version "8.0" or later (default 100)`],
    },
    // top-level keys (conntune:repair of an older conntune is ignored with a warning, never an error)
    { what: "a misspelt top-level key (conntune:hots)", config: { hots: [host()] }, problems: ["conntune:hots: unknown setting (did you mean conntune:hosts?): conntune reads conntune:hosts, conntune:redis, conntune:rollout, conntune:hostsFile and the secrets the hosts name (conntune:sshPrivateKey, conntune:sudoPassword)"] },
];

/** Every risky value above, each named in its opt-in: preview accepts it (and still connects nowhere). */
const OPTED_IN = {
    hosts: [
        host({
            sshd: {
                loginGraceTime: 0,
                maxStartups: "10",
                extra: { PermitRootLogin: "yes", PasswordAuthentication: "yes", AuthorizedKeysFile: "/etc/ssh/keys/%u" },
                allowRiskyKeywords: ["PermitRootLogin", "PasswordAuthentication", "AuthorizedKeysFile", "LoginGraceTime"],
            },
            sysctl: {
                settings: { "kernel.modules_disabled": 1, "vm.max_map_count": 262144, "net.ipv4.tcp_keepalive_tme": 300 },
                allowRiskyKeys: ["kernel.modules_disabled", "vm.max_map_count", "net.ipv4.tcp_keepalive_tme"],
            },
        }),
    ],
};

/** The private key (never used for a login): no line of it may show up in any output either. */
const PRIVATE_KEY = KEYS.priv;
const PRIVATE_KEY_BODY = PRIVATE_KEY.split("\n")[1];

/**
 * Stacks previewing side by side. Each has its own backend dir (no state lock between them); on
 * 2 cores three keep the CPU busy while one waits for the CLI.
 */
const STACKS = 3;

/** Type tokens of the resources the program would register after a valid config. */
const RESOURCE_TOKEN = /command:remote:Command|kubernetes:|conntune:(host|k8s):[A-Z]/;

interface Outcome {
    code: number;
    out: string;
    /** The stack's state files right after the preview. */
    state: string;
    seconds: number;
}

/** The `  - conntune:…: …` lines of a ConfigError in the CLI output, each once, sorted. */
function problemsIn(out: string): string[] {
    return [...new Set([...out.matchAll(/^ {2}- (conntune:.*)$/gm)].map((m) => m[1]))].sort();
}

/** Put the case's values on the stack (removing keys an earlier case set), then preview. */
async function previewCase(stack: Stack, c: BadCase, present: Set<string>): Promise<Outcome> {
    for (const key of [...present]) {
        if (!(key.replace(/^conntune:/, "") in c.config)) {
            await stack.run(["config", "rm", "--stack", stack.name, key]);
            present.delete(key);
        }
    }
    for (const [key, value] of Object.entries(c.config)) {
        await stack.setObject(`conntune:${key}`, value);
        present.add(`conntune:${key}`);
    }
    const started = Date.now();
    const r = await stack.preview([], true);
    return { code: r.code, out: `${r.stdout}\n${r.stderr}`, state: stack.stateText(), seconds: (Date.now() - started) / 1000 };
}

const toolchain = spawnSync("bash", [path.join(REPO, "scripts", "toolchain.sh"), "--check"], { encoding: "utf8" });
const run = e2eGate(toolchain.status === 0 ? undefined : "the Pulumi toolchain is not built: run `bash scripts/setup.sh`");

describe.runIf(run)(`${CASES.length} invalid stack configs through the real pulumi preview`, () => {
    const stacks: Stack[] = [];
    const outcomes = new Map<string, Outcome>();
    let wall = 0;
    let optedIn: Outcome | undefined;

    beforeAll(async () => {
        const started = Date.now();
        for (let i = 0; i < STACKS; i++) stacks.push(new Stack(conntuneProject(), `e2e-bad-input-${i}`));
        await Promise.all(
            stacks.map(async (s) => {
                // Should a case ever pass validation in live mode, there is no cluster to reach.
                s.env.KUBECONFIG = path.join(s.projectDir, "no-such-kubeconfig");
                await s.init();
                await s.setConfig("conntune:sshPrivateKey", PRIVATE_KEY, true);
            }),
        );
        const present = stacks.map(() => new Set<string>());
        await Promise.all(
            stacks.map(async (s, i) => {
                for (const c of CASES.filter((_, j) => j % STACKS === i)) outcomes.set(c.what, await previewCase(s, c, present[i]));
            }),
        );
        wall = (Date.now() - started) / 1000;
        optedIn = await previewCase(stacks[0], { what: "opted in", config: OPTED_IN, problems: [] }, present[0]);
    });

    afterAll(async () => {
        for (const s of stacks) await dispose(s);
    });

    it.each(CASES.map((c) => [c.what, c] as const))("rejects %s at preview, naming the field, creating nothing", (_what, c) => {
        const o = outcomes.get(c.what);
        expect(o, "the case did not run").toBeDefined();
        expect(o!.code, o!.out).not.toBe(0);
        expect(o!.out).toContain("error: invalid conntune stack config:");
        expect(problemsIn(o!.out), o!.out).toEqual([...c.problems].sort());
        expect(o!.out).not.toMatch(RESOURCE_TOKEN);
        expect(o!.state).not.toMatch(/"urn"\s*:/);
    });

    it("accepts each risky value at preview once its opt-in names it", () => {
        expect(optedIn, "the preview did not run").toBeDefined();
        expect(optedIn!.out).not.toContain("invalid conntune stack config");
        expect(optedIn!.code, optedIn!.out).toBe(0);
    });

    it("leaves every stack without resources, renders no manifest and prints no secret", async () => {
        for (const s of stacks) {
            const exported = JSON.parse((await s.run(["stack", "export", "--stack", s.name])).stdout) as { deployment: { resources?: unknown[] } };
            expect(exported.deployment.resources ?? []).toEqual([]);
            expect(fs.existsSync(path.join(s.projectDir, "rendered"))).toBe(false);
            expect(s.transcript.join("\n")).not.toContain(PRIVATE_KEY_BODY);
        }
        const times = [...outcomes.values()].map((o) => o.seconds);
        console.log(`${outcomes.size} previews on ${STACKS} stacks in ${wall.toFixed(0)} s (one preview ${Math.min(...times).toFixed(1)}–${Math.max(...times).toFixed(1)} s)`);
    });
});
