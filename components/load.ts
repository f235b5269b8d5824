/**
 * Read the stack config through Pulumi once, validate it with the schema, and resolve each host's
 * secrets (private key, sudo password) from their own secret config keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, HostConfig, parseStackConfig, StackConfig } from "./config";
import { distance } from "./core/schemaText";
import { HostConnection } from "./core/connection";

export interface LoadedStack {
    config: StackConfig;
    /** Connection per host name, secrets attached. */
    connections: Record<string, HostConnection>;
    /** Per host name: the password for its Redis (`redis.auth.passwordSecret`), when set. */
    redisPasswords: Record<string, pulumi.Output<string>>;
}

/** The `conntune:` keys conntune reads, besides the secret keys that hosts name. */
export const TOP_LEVEL_KEYS = ["hosts", "redis", "rollout", "sshPrivateKey", "sudoPassword"];
const SETTINGS = 3; // TOP_LEVEL_KEYS before the default secret names

/** Keys an older conntune wrote that are ignored now, each with the one-line upgrade note shown while the stack still has it. */
export const RETIRED_KEYS: Record<string, string> = {
    repair: "conntune:repair is no longer used (drift is repaired with pulumi up --refresh): remove it with pulumi config rm conntune:repair",
};

/**
 * `conntune:` keys in the stack that nothing reads (a typo like `conntune:hots` would otherwise
 * leave the stack silently empty), each with what is allowed and the nearest known key.
 */
export function unknownKeyProblems(present: string[], secretNames: string[]): string[] {
    const known = [...new Set([...TOP_LEVEL_KEYS, ...secretNames, HOSTS_FILE_KEY])];
    return present
        .filter((k) => !known.includes(k) && !(k in RETIRED_KEYS))
        .map((k) => {
            const near = known.filter((o) => distance(o.toLowerCase(), k.toLowerCase()) <= 2);
            return `conntune:${k}: unknown setting${near.length ? ` (did you mean conntune:${near[0]}?)` : ""}: conntune reads ${[...TOP_LEVEL_KEYS.slice(0, SETTINGS), HOSTS_FILE_KEY].map((t) => `conntune:${t}`).join(", ")} and the secrets the hosts name (${known.slice(SETTINGS).filter((t) => t !== HOSTS_FILE_KEY).map((t) => `conntune:${t}`).join(", ")})`;
        });
}

/** `conntune:hostsFile`: the hosts list in a JSON file of the project instead of `conntune:hosts`. */
export const HOSTS_FILE_KEY = "hostsFile";

/**
 * The hosts of `conntune:hostsFile` (a JSON file in the project directory, the same list as
 * `conntune:hosts`). Pulumi hands the whole stack config to the program in one environment variable,
 * which Linux caps at 128 KiB: at a few hundred bytes per host, a stack of more than about 350 hosts
 * cannot run with its hosts in the config, so big fleets keep them in a file.
 */
export function readHostsFile(file: string, dir = process.cwd()): { hosts?: unknown; problem?: string } {
    const field = `conntune:${HOSTS_FILE_KEY}`;
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*\.json$/.test(file) || file.split("/").includes("..")) {
        return { problem: `${field}: must be a relative path of a .json file inside the project directory (letters, digits, . _ - and /; no ..), not '${file}'` };
    }
    let text: string;
    try {
        // Inside the project also through links: a link out of it could read any file of this machine into the hosts.
        const root = fs.realpathSync(dir);
        const real = fs.realpathSync(path.join(dir, file));
        if (!real.startsWith(`${root}${path.sep}`)) return { problem: `${field}: ${file} leads out of the project directory (a symbolic link): keep the hosts file inside the project` };
        text = fs.readFileSync(real, "utf8");
    } catch (e) {
        return { problem: `${field}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    }
    try {
        return { hosts: JSON.parse(text) as unknown };
    } catch (e) {
        return { problem: `${field}: ${file} is not JSON: ${(e as Error).message}` };
    }
}

/**
 * The hosts list of a stack's config as the engine reads it for conntune's commands (`conntune:KEY`
 * values, objects or JSON text): `conntune:hosts`, or the file `conntune:hostsFile` names in the
 * project directory `dir`, the way the program reads it. Throws a ConfigError as the program does.
 */
export function configuredHosts(config: Record<string, unknown>, dir: string): unknown {
    const raw = config["conntune:hosts"];
    const hosts = typeof raw === "string" ? (JSON.parse(raw) as unknown) : raw;
    const file = config[`conntune:${HOSTS_FILE_KEY}`];
    if (file === undefined) return hosts;
    if (hosts !== undefined) throw new ConfigError([HOSTS_FILE_AND_HOSTS]);
    const r = readHostsFile(String(file), dir);
    if (r.problem) throw new ConfigError([r.problem]);
    return r.hosts;
}

const HOSTS_FILE_AND_HOSTS = `conntune:${HOSTS_FILE_KEY}: must not be set together with conntune:hosts: keep the hosts in one place`;

/**
 * The validated stack config from its `conntune:` keys (values as objects or JSON text, as the
 * Automation API's readConfig gives them): the one place that assembles hosts (inline or from
 * `conntune:hostsFile` in the project `dir`), the ConfigMap and the rollout for the schema. The
 * program, `npm run up`, drift and health all read the stack through it.
 */
export function stackConfigOf(config: Record<string, unknown>, dir: string): StackConfig {
    const value = (key: string) => {
        const v = config[`conntune:${key}`];
        return typeof v === "string" ? (JSON.parse(v) as unknown) : v;
    };
    return parseStackConfig({ hosts: configuredHosts(config, dir), redis: value("redis"), rollout: value("rollout") });
}

/** Load and validate `conntune:*` config. Every problem is reported at once, naming the field. */
export function loadConfig(cfg: pulumi.Config = new pulumi.Config("conntune")): LoadedStack {
    const config = stackConfigOf(
        {
            "conntune:hosts": cfg.getObject<unknown>("hosts"),
            [`conntune:${HOSTS_FILE_KEY}`]: cfg.get(HOSTS_FILE_KEY),
            "conntune:redis": cfg.getObject<unknown>("redis"),
            "conntune:rollout": cfg.getObject<unknown>("rollout"),
        },
        process.cwd(),
    );
    const problems: string[] = [];
    const connections: Record<string, HostConnection> = {};
    const redisPasswords: Record<string, pulumi.Output<string>> = {};
    config.hosts.forEach((h: HostConfig, i) => {
        const c = h.connection;
        const key = cfg.getSecret(c.privateKeySecret);
        if (key === undefined) {
            problems.push(`conntune:${c.privateKeySecret}: missing: set the SSH private key for hosts[${i}] (${h.name}) with \`pulumi config set --secret ${c.privateKeySecret} < KEYFILE\``);
        }
        let sudoPassword: pulumi.Output<string> | undefined;
        if (c.sudoPasswordSecret !== undefined) {
            sudoPassword = cfg.getSecret(c.sudoPasswordSecret);
            if (sudoPassword === undefined) problems.push(`conntune:${c.sudoPasswordSecret}: missing: hosts[${i}].connection.sudoPasswordSecret names it`);
        }
        const redisAuth = h.redis?.enabled ? h.redis.auth : undefined;
        if (redisAuth) {
            const pw = cfg.getSecret(redisAuth.passwordSecret);
            if (pw === undefined) problems.push(`conntune:${redisAuth.passwordSecret}: missing: hosts[${i}].redis.auth.passwordSecret names it (set it with \`pulumi config set --secret ${redisAuth.passwordSecret}\`)`);
            else redisPasswords[h.name] = pw;
        }
        connections[h.name] = {
            host: c.host,
            port: c.port,
            user: c.user,
            hostKey: c.hostKey,
            privateKey: key ?? pulumi.secret(""),
            sudo: c.sudo ?? c.user !== "root",
            sudoPassword,
        };
    });
    const present = Object.keys(pulumi.runtime.allConfig()).filter((k) => k.startsWith("conntune:")).map((k) => k.slice("conntune:".length));
    problems.push(...unknownKeyProblems(present, config.hosts.flatMap((h) => [h.connection.privateKeySecret, ...(h.connection.sudoPasswordSecret ? [h.connection.sudoPasswordSecret] : []), ...(h.redis?.auth ? [h.redis.auth.passwordSecret] : [])]).concat(config.redis?.liveCheck?.passwordSecret ? [config.redis.liveCheck.passwordSecret] : [])));
    if (problems.length) throw new ConfigError(problems);
    for (const k of present.filter((p) => p in RETIRED_KEYS)) void pulumi.log.warn(RETIRED_KEYS[k]);
    return { config, connections, redisPasswords };
}
