/**
 * The live probe (liveProbe.sh beside this file) over a fresh SSH login with the stack's own
 * connection settings: the host key pinned and checked, root the way managed files run
 * (components/core/connection.ts asRoot), the sudo password and the Redis password on stdin only.
 */
import { NodeSSH } from "node-ssh";
import { asRoot, passwordLine } from "../components/core/connection";
import { shq } from "../components/core/shell";
import { readShell } from "../components/core/shellFile";
import type { HostConfig } from "../components/config";
import { latencyFunctions, MONITOR_UNIT } from "../components/monitor/render";
import { monitorSchema } from "../components/monitor/schema";

/** How to log in to one host: its `connection` with the secrets from the stack config. */
export interface ProbeLogin {
    host: string;
    port: number;
    user: string;
    hostKey: string;
    privateKey: string;
    sudo: boolean;
    sudoPassword?: string;
}

/** Compare the key the server offers with the pinned `TYPE BASE64` line. */
export function hostKeyMatches(pinned: string, offered: Buffer): boolean {
    const blob = pinned.trim().split(/\s+/)[1] ?? "";
    return blob !== "" && Buffer.from(blob, "base64").equals(offered);
}

/**
 * The host key algorithms to ask the host for: the pinned key's own (an RSA key signs with SHA-2
 * first), as the provider does (tools/command-provider/dial.go). Left to the client, the host offers
 * the client's first choice (Ed25519), and a host pinned by another of its keys would never match.
 */
export function hostKeyAlgorithms(pinned: string): string[] {
    const type = pinned.trim().split(/\s+/)[0] ?? "";
    return type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
}

/** The probe script for one host: `drift` reads Redis only, `health` also units, the monitor and latency. */
export function probeScript(h: HostConfig, mode: "drift" | "health"): string {
    const redis = h.redis?.enabled ? h.redis : undefined;
    const latency = (h.monitor ?? monitorSchema.parse({})).latency;
    const units = [...new Set([...(redis ? [redis.service] : []), ...(h.monitor?.enabled ? [...h.monitor.services, ...(h.monitor.criticalAction ? [h.monitor.criticalAction.restartUnit] : [])] : [])])];
    const subs: Record<string, string> = {
        PORT: shq((redis ?? h.redis)?.settings.port ?? 6379),
        RUNS_ON: shq(h.redis?.runsOn ?? ""),
        REDIS_USER: shq(redis?.auth?.user ?? ""),
        REDIS_SERVICE: shq(redis?.service ?? ""),
        MODE: shq(mode),
        UNITS: units.map((u) => shq(u)).join(" "),
        LATENCY_ADDRESS: shq(latency.address),
        LATENCY_SECONDS: shq(latency.seconds),
        LATENCY_P50_MS: shq(latency.p50Ms),
        LATENCY_P99_MS: shq(latency.p99Ms),
        MONITOR_UNIT: shq(MONITOR_UNIT),
    };
    return readShell(__dirname, "liveProbe.sh", subs).replace("# @LATENCY@\n", () => `${latencyFunctions()}\n`);
}

/** Thrown when the probe cannot run on a host (login, host key, sudo): the check is incomplete. */
export class ProbeError extends Error {}

/**
 * The command line and stdin of the probe: root through sudo where the login needs it (asRoot), the
 * sudo password's line first when sudo asks for one, then the Redis password's; neither is ever in
 * the command.
 */
export function probeCommand(login: Pick<ProbeLogin, "sudo" | "sudoPassword">, script: string, redisPassword: string): { command: string; stdin: string } {
    const command = asRoot({ sudo: login.sudo, sudoPassword: login.sudoPassword }, script, 1).replace("@CT_RESOURCE_ID@", "live").replace("@CT_OP@", "probe");
    if (/[\r\n]/.test(redisPassword)) throw new ProbeError("the Redis password (redis.auth.passwordSecret) must be one line: it contains a line break");
    const stdin = `${login.sudo && login.sudoPassword !== undefined ? `${passwordLine(login.sudoPassword)}\n` : ""}${redisPassword}\n`;
    return { command, stdin };
}


/**
 * Run `script` as root on the host over a fresh SSH login; `redisPassword` is the script's stdin's
 * first line (after the sudo password's, when sudo asks for one). Resolves with the script's
 * output; rejects with a ProbeError naming the host (never a secret) after `timeoutMs`.
 */
export async function runProbe(name: string, login: ProbeLogin, script: string, redisPassword = "", timeoutMs = 90_000): Promise<string> {
    const ssh = new NodeSSH();
    let keyMismatch = false;
    const where = `${login.user}@${login.host}:${login.port}`;
    try {
        await ssh.connect({
            host: login.host,
            port: login.port,
            username: login.user,
            privateKey: login.privateKey,
            readyTimeout: 20_000,
            algorithms: { serverHostKey: hostKeyAlgorithms(login.hostKey) },
            hostVerifier: (key: Buffer) => {
                keyMismatch = !hostKeyMatches(login.hostKey, key);
                return !keyMismatch;
            },
        });
    } catch (e) {
        ssh.dispose();
        if (keyMismatch) throw new ProbeError(`host ${name}: the host key ${login.host}:${login.port} offers is not hosts[i].connection.hostKey: not checked live (a different key is never accepted)`);
        throw new ProbeError(`host ${name}: cannot log in as ${where} for the live check: ${(e as Error).message}`);
    }
    ssh.connection?.on("error", () => undefined);
    try {
        const { command, stdin } = probeCommand(login, script, redisPassword);
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new ProbeError(`host ${name}: the live probe did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
        });
        const r = await Promise.race([ssh.execCommand(command, { stdin }), timeout]).finally(() => clearTimeout(timer));
        if (r.code !== 0) throw new ProbeError(`host ${name}: the live probe failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" ")}`);
        return r.stdout;
    } finally {
        ssh.dispose();
    }
}

/** The login for `h` from the stack config (`conntune:KEY` values, secrets shown), or why there is none. */
export function loginOf(h: HostConfig, config: Record<string, unknown>): ProbeLogin {
    const c = h.connection;
    const secret = (key: string) => {
        const v = config[`conntune:${key}`];
        return typeof v === "string" ? v : undefined;
    };
    const privateKey = secret(c.privateKeySecret);
    if (privateKey === undefined) throw new ProbeError(`host ${h.name}: conntune:${c.privateKeySecret} (connection.privateKeySecret) is not set: cannot log in for the live check`);
    const sudoPassword = c.sudoPasswordSecret ? secret(c.sudoPasswordSecret) : undefined;
    return { host: c.host, port: c.port, user: c.user, hostKey: c.hostKey, privateKey, sudo: c.sudo ?? c.user !== "root", sudoPassword };
}

/** The Redis password of `h` (`redis.auth.passwordSecret`), "" for none. */
export function redisPasswordOf(h: HostConfig, config: Record<string, unknown>): string {
    const key = h.redis?.enabled ? h.redis.auth?.passwordSecret : undefined;
    if (!key) return "";
    const v = config[`conntune:${key}`];
    if (typeof v !== "string") throw new ProbeError(`host ${h.name}: conntune:${key} (redis.auth.passwordSecret) is not set: cannot read Redis for the live check`);
    return v;
}
