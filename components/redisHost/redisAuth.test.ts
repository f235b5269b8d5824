/**
 * Redis on a host keeps its authentication (pure parts): the schema, the hook text (password only in
 * redis-cli's environment, the validation server on no TCP port as the service's user), the stdin
 * framing, and drift ignoring the host's kept auth lines. The e2e proof is test/e2e/redisAuth.test.ts.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../config";
import { sshdSchema } from "../sshd/schema";
import { hostRedisSchema } from "./schema";
import { redisHooks } from "./hooks";
import { applyScript } from "../core/managedFileScript";
import { stdinWithSecret } from "./component";
import { KEPT_DIRECTIVES, KEPT_MARK, renderHostRedisConf } from "./render";

const value = <T>(o: { apply: (f: (v: T) => void) => unknown }) => new Promise<T>((resolve) => o.apply(resolve));

describe("redis.auth in the schema", () => {
    it("takes a secret name and an ACL user", () => {
        expect(hostRedisSchema.parse({ auth: { passwordSecret: "redisPassword", user: "ops" }, settings: {} }).auth).toEqual({ passwordSecret: "redisPassword", user: "ops" });
    });
    it.each([
        [{ passwordSecret: "redis password" }, "passwordSecret"],
        [{ passwordSecret: "p", user: "a b" }, "user"],
        [{ password: "inline" }, "password"],
    ])("refuses %j, naming %s", (auth, field) => {
        const r = hostRedisSchema.safeParse({ auth, settings: {} });
        expect(r.success).toBe(false);
        expect(JSON.stringify(r.error?.issues)).toContain(field);
    });
});

describe("sshd.maxSessions", () => {
    it("refuses 0 (no command session at all, conntune's included) and allows 1", () => {
        expect(sshdSchema.safeParse({ maxSessions: 0 }).success).toBe(false);
        expect(sshdSchema.parse({ maxSessions: 1 }).maxSessions).toBe(1);
    });
});

describe("the Redis hooks", () => {
    const hooks = redisHooks();
    const all = Object.values(hooks).join("\n");

    it("give the password to redis-cli in its environment only, never as an argument", () => {
        expect(all).toContain('REDISCLI_AUTH="$CT_SECRET" redis-cli');
        expect(all).not.toMatch(/redis-cli[^\n]*(-a |--pass|AUTH "\$CT_SECRET)/);
        expect(all).not.toMatch(/echo[^\n]*\$CT_SECRET/);
    });

    it("validate with redis-server as the service's user, on no TCP port, its socket in a private temp dir", () => {
        expect(hooks.validate).toContain("setpriv --reuid=");
        expect(hooks.validate).toContain("--port 0 --unixsocket \"$t/redis.sock\" --unixsocketperm 700");
        expect(hooks.validate).toContain("t=$(mktemp -d)");
        expect(hooks.validate).not.toMatch(/--bind|RANDOM/);
        expect(hooks.validate).toContain("case \"$u\" in \"\"|root|0) u=redis");
    });

    it("refuse before anything is written when conntune cannot log in, naming the field", () => {
        expect(hooks.preflight).toContain("redis.auth.passwordSecret is not set");
        // Any answer but a positive one (CONFIG renamed away, TLS-only port, loading) is refused too.
        expect(hooks.preflight).toContain("cannot read the running Redis's config");
        expect(hooks.preflight).toContain("(redis.auth.passwordSecret) for user ${CT_REDIS_USER:-default} (redis.auth.user)");
    });

    it("carry the host's own auth lines into the candidate, and compare only conntune's own lines", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ct-redis-auth-"));
        try {
            fs.writeFileSync(path.join(dir, "cur.conf"), "port 6379\n# requirepass commented\nrequirepass s3cr3t\nUSER ops on >x ~* +@all\naclfile /etc/redis/users.acl\ninclude /etc/redis/auth.conf\nmaxmemory 1\n");
            fs.writeFileSync(path.join(dir, "new.conf"), "# header\nmaxmemory 2\n");
            // The carry-over part of validate (the server start is proven in e2e).
            const carry = `if [ -f "$CT_PATH" ]${hooks.validate!.split('ct_redis_try <"$NEW"')[0].split('if [ -f "$CT_PATH" ]')[1]}`;
            const env = { ...process.env, CT_PATH: path.join(dir, "cur.conf"), NEW: path.join(dir, "new.conf"), CT_REDIS_KEEP: KEPT_DIRECTIVES.join("|"), CT_REDIS_KEPT_MARK: KEPT_MARK };
            execFileSync("bash", ["-c", carry], { env });
            expect(fs.readFileSync(path.join(dir, "new.conf"), "utf8")).toBe(`# header\nmaxmemory 2\n${KEPT_MARK}\nrequirepass s3cr3t\nUSER ops on >x ~* +@all\naclfile /etc/redis/users.acl\ninclude /etc/redis/auth.conf\n`);
            const directives = execFileSync("bash", ["-c", `${hooks.verify!.split(/\n\s*kept=/)[0]}\nct_directives "$NEW"`], { env: { ...env, CT_REDIS_PORT: "6379", CT_REDIS_USER: "" }, encoding: "utf8" });
            expect(directives).toBe("maxmemory 2\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the password on stdin", () => {
    it("is the first line, ahead of the file, and all of it is secret", async () => {
        const out = stdinWithSecret("pw", "maxmemory 1\n", "conntune:redisPassword");
        expect(await value<string>(out)).toBe("pw\nmaxmemory 1\n");
        expect(await (out as unknown as { isSecret: Promise<boolean> }).isSecret).toBe(true);
    });

    it("is read by the apply script before the file content, whenever CT_STDIN_SECRET is 1", () => {
        const script = applyScript({ path: "/etc/redis/redis.conf", mode: "0640", vars: { CT_STDIN_SECRET: 1 }, hooks: {} });
        expect(script.indexOf('IFS= read -r CT_SECRET')).toBeGreaterThan(0);
        expect(script.indexOf('IFS= read -r CT_SECRET')).toBeLessThan(script.indexOf('ct_stage - '));
    });
});

describe("drift of a Redis file with kept auth lines", () => {
    it("refresh reads the file without the host's own lines (the read operation, cut at the mark)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ct-redis-drift-"));
        try {
            const file = path.join(dir, "redis.conf");
            const cfg = parseStackConfig({
                hosts: [{ name: "r1", connection: { host: "10.0.0.1", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0000000000000000000000" }, sshd: { enabled: false }, sysctl: { enabled: false }, limits: { enabled: false }, redis: { settings: { maxmemory: "1mb" } } }],
            });
            const rendered = renderHostRedisConf(cfg.hosts[0].redis!);
            fs.writeFileSync(file, `${rendered}${KEPT_MARK}\nrequirepass s3cr3t\n`);
            const spec = { path: file, mode: "0640", vars: { CT_STATE: path.join(dir, "state"), CT_REDIS_KEPT_MARK: KEPT_MARK, CT_REDIS_KEEP: KEPT_DIRECTIVES.join("|") }, hooks: { ownContent: redisHooks().ownContent } };
            fs.chmodSync(file, 0o640);
            const read = () => execFileSync("bash", ["-c", applyScript(spec), "conntune", "", "root", "", "read"], { encoding: "utf8" });
            expect(read().split("\n")[0]).toBe(`ct-content:${Buffer.from(rendered).toString("base64")}`);
            expect(fs.existsSync(path.join(dir, "state"))).toBe(false);
            // CONFIG REWRITE (or a hand edit) can put the host's auth lines above the mark: shown as
            // drift, never with their values.
            fs.writeFileSync(file, `${rendered}  RequirePass s3cr3t\nuser app on >an0ther ~* +@all\n${KEPT_MARK}\nrequirepass s3cr3t\n`);
            const content = Buffer.from(read().split("\n")[0].replace("ct-content:", ""), "base64").toString();
            expect(content).not.toContain("s3cr3t");
            expect(content).not.toContain("an0ther");
            expect(content).toBe(`${rendered}RequirePass [the host's own, not read by conntune]\nuser [the host's own, not read by conntune]\n`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
