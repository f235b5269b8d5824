/**
 * Redis on a host keeps its authentication: a Debian redis-server with `requirepass` (and later an ACL
 * user) on a real test host. conntune logs in with the password from a Pulumi secret (in redis-cli's
 * environment, never in argv), keeps the host's auth lines in the file, refuses to apply when it
 * cannot log in, and validates the candidate as the redis user on no TCP port.
 *
 * Shims in /usr/local/bin (ahead of /usr/bin on root's PATH) record, for the assertions, who starts
 * redis-server and where it listens, and redis-cli's argv plus the whole process list at each call.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, hostTry, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, hostStack, noChanges, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

const SERVER_SHIM = `#!/bin/sh
# test shim: who starts redis-server, and where it listens a second later
echo "start user=$(id -un) args=$*" >>/var/tmp/ct-redis-server.log
( sleep 1; echo "listen pid=$$ tcp=[$(ss -Hltnp | grep "pid=$$," | tr '\\n' ' ')] unix=[$(ss -Hlxp | grep "pid=$$," | tr '\\n' ' ')]" >>/var/tmp/ct-redis-server.log ) >/dev/null 2>&1 &
exec /usr/bin/redis-server "$@"
`;
const CLI_SHIM = `#!/bin/sh
# test shim: redis-cli's argv, whether the password came in the environment, and every process's argv now
echo "args=$* auth=\${REDISCLI_AUTH:+env}" >>/var/tmp/ct-redis-cli.log
ps -eo args >>/var/tmp/ct-ps.log
exec /usr/bin/redis-cli "$@"
`;

describe.runIf(run)("Redis on a host with requirepass and ACL users", () => {
    let h: TestHost;
    let stack: Stack;
    let original: string;
    const password = `ctpw${randomBytes(10).toString("hex")}`;
    const opsPassword = `ctops${randomBytes(10).toString("hex")}`;
    const settings = (over: Record<string, unknown> = {}) => ({ maxmemory: "64mb", maxmemoryPolicy: "allkeys-lru", timeout: 300, ioThreads: 2, ...over });
    const entry = (redis: Record<string, unknown>) => [{
        name: "vm9", connection: { host: h.address, user: "root", hostKey: h.hostKey },
        sshd: { enabled: false }, sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 }, redis,
    }];
    const fileState = () => hostExec(h, "sha256sum /etc/redis/redis.conf; stat -c '%a %U %G' /etc/redis/redis.conf");
    /** CONFIG GET as an authenticated client (nsenter, not conntune). */
    const get = (k: string, auth = `REDISCLI_AUTH=${password}`) => hostExec(h, `${auth} /usr/bin/redis-cli config get ${k} | sed -n 2p`).trim();
    const unauthenticated = () => hostTry(h, "/usr/bin/redis-cli ping").out.trim();

    beforeAll(async () => {
        h = await startHost({
            prepare: (root) => {
                fs.appendFileSync(`${root}/etc/redis/redis.conf`, `\nrequirepass ${password}\n`);
                fs.writeFileSync(`${root}/usr/local/bin/redis-server`, SERVER_SHIM, { mode: 0o755 });
                fs.writeFileSync(`${root}/usr/local/bin/redis-cli`, CLI_SHIM, { mode: 0o755 });
            },
        });
        hostExec(h, "for f in ct-redis-server ct-redis-cli ct-ps; do : >/var/tmp/$f.log; chmod 666 /var/tmp/$f.log; done; systemctl start redis-server.service");
        original = fileState();
        expect(unauthenticated()).toMatch(/NOAUTH/);
        stack = await hostStack(h, "e2e-redis-auth");
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("refuses to apply to a Redis that requires a password when redis.auth is not set, naming the field; the file is unchanged", async () => {
        await stack.setHosts(entry({ settings: settings() }));
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/requires authentication and redis\.auth\.passwordSecret is not set/);
        expect(fileState()).toBe(original);
    });

    it("refuses a wrong password, naming the secret and the field; the file is unchanged", async () => {
        await stack.setConfig("conntune:redisPassword", `${password}-wrong`, true);
        await stack.setHosts(entry({ auth: { passwordSecret: "redisPassword" }, settings: settings() }));
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/Redis refuses the password in conntune:redisPassword \(redis\.auth\.passwordSecret\) for user default \(redis\.auth\.user\): WRONGPASS/);
        expect(fileState()).toBe(original);
    });

    it("applies with the password: the values are live, requirepass is still in the file and still required after a restart", async () => {
        await stack.setConfig("conntune:redisPassword", password, true);
        hostExec(h, "for f in ct-redis-server ct-redis-cli ct-ps; do : >/var/tmp/$f.log; done");
        await stack.up();
        expect(get("maxmemory")).toBe("67108864");
        expect(get("timeout")).toBe("300");
        expect(get("io-threads")).toBe("2"); // needs a restart: the restarted server read the kept requirepass
        expect(hostExec(h, "grep -c '^requirepass ' /etc/redis/redis.conf").trim()).toBe("1");
        expect(hostExec(h, "grep -x \"requirepass $(sed -n 's/^requirepass //p' /etc/redis/redis.conf)\" /etc/redis/redis.conf").trim()).toBe(`requirepass ${password}`);
        expect(unauthenticated()).toMatch(/NOAUTH/);
        const r = ((await stack.outputs()).effective as Record<string, { redis: Record<string, string> }>).vm9.redis;
        expect(r.redis_kept).toBe("requirepass");
        expect(r.redis_restarted_for.split(" ").sort()).toEqual(["io-threads"]);
    });

    it("refreshes with the password: the kept auth lines are not drift, a CONFIG SET behind conntune's back is, and up --refresh sets it back", async () => {
        expect(noChanges((await stack.preview(["--refresh"])).stdout)).toBe(true);
        hostExec(h, `REDISCLI_AUTH=${password} /usr/bin/redis-cli config set timeout 0`);
        const r = await stack.preview(["--refresh"]);
        expect(r.stdout).toContain("(update)");
        await stack.up(["--refresh"]);
        expect(get("timeout")).toBe("300");
        expect(noChanges((await stack.preview(["--refresh"])).stdout)).toBe(true);
    });

    it("puts the password in no CLI output, state or process argv: redis-cli got it in its environment", async () => {
        const cli = hostExec(h, "cat /var/tmp/ct-redis-cli.log");
        expect(cli).toMatch(/auth=env/);
        expect(cli).not.toContain(password);
        const ps = hostExec(h, "cat /var/tmp/ct-ps.log");
        expect(ps).toMatch(/redis-cli/); // the snapshots were taken while conntune's commands ran
        expect(ps).not.toContain(password);
        expect(stack.transcript.join("\n")).not.toContain(password);
        expect(stack.stateText()).not.toContain(password);
        expect(JSON.stringify(await stack.outputs())).not.toContain(password);
    });

    it("validated the candidate with a redis-server run as redis, listening on no TCP port (a Unix socket only)", () => {
        const log = hostExec(h, "cat /var/tmp/ct-redis-server.log");
        const starts = log.split("\n").filter((l) => l.startsWith("start "));
        expect(starts.length).toBeGreaterThan(0);
        for (const s of starts) {
            expect(s).toMatch(/^start user=redis args=- .*--port 0 .*--unixsocket \S+\/redis\.sock /);
            expect(s).not.toContain(password);
        }
        const listens = log.split("\n").filter((l) => l.startsWith("listen "));
        expect(listens.length).toBeGreaterThan(0);
        for (const l of listens) {
            expect(l).toMatch(/ tcp=\[\] /);
            expect(l).toMatch(/unix=\[.*redis\.sock/);
        }
    });

    it("works with an ACL user, keeping the host's user lines", async () => {
        hostExec(h, `printf 'user ops on >${opsPassword} ~* &* +@all\\n' >>/etc/redis/redis.conf && systemctl restart redis-server.service`);
        await stack.setConfig("conntune:redisOps", opsPassword, true);
        await stack.run(["config", "rm", "--stack", stack.name, "conntune:redisPassword"]);
        await stack.setHosts(entry({ auth: { passwordSecret: "redisOps", user: "ops" }, settings: settings({ timeout: 77 }) }));
        await stack.up();
        expect(hostExec(h, `REDISCLI_AUTH=${opsPassword} /usr/bin/redis-cli --user ops config get timeout | sed -n 2p`).trim()).toBe("77");
        expect(hostExec(h, "grep -c '^user ops on ' /etc/redis/redis.conf").trim()).toBe("1");
        expect(hostExec(h, "grep -c '^requirepass ' /etc/redis/redis.conf").trim()).toBe("1");
        expect(unauthenticated()).toMatch(/NOAUTH/);
        expect(stack.stateText()).not.toContain(opsPassword);
        expect(stack.transcript.join("\n")).not.toContain(opsPassword);
    });

    it("destroy puts the original file back byte for byte, and Redis still requires its password", async () => {
        await stack.destroy();
        expect(fileState()).toBe(original);
        expect(get("maxmemory")).toBe("0");
        expect(unauthenticated()).toMatch(/NOAUTH/);
    });
});
