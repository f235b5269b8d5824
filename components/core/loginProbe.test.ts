/**
 * The host side of the login probe (loginProbe.sh, LOGIN_PROBE), run for real with bash: the request on
 * fd 8, the answer through the FIFO, the bounded wait, and the clean-up of what older or killed runs
 * left (probe directories, throwaway keys in authorized_keys) that never touches anything else.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOGIN_PROBE, PROBE_DIR_PREFIX } from "./loginProbe";
import { shVars } from "./shell";

const asRoot = process.getuid?.() === 0 && fs.existsSync("/run");
const user = os.userInfo().username;

let dir = "";
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-probe-"));
    fs.mkdirSync(path.join(dir, "bin"));
    fs.mkdirSync(path.join(dir, "state"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A stand-in for `sshd -T` that names the given authorized-keys files. */
function fakeSshd(files: string[]): void {
    fs.writeFileSync(path.join(dir, "bin", "sshd"), `#!/bin/sh\necho "authorizedkeysfile ${files.join(" ")}"\n`, { mode: 0o755 });
}

function script(body: string, vars: Record<string, string> = {}): string {
    return ["set -uo pipefail", "exec 8>&1", shVars({ CT_STATE: path.join(dir, "state"), CT_SSH_CONNECTION: "10.0.0.1 5000 10.0.0.2 22", CT_LOGIN_USER: user, ...vars }), LOGIN_PROBE, body].join("\n");
}

const env = () => ({ ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}` });

/** Run `body` after LOGIN_PROBE; `answer` plays conntune's provider for each request line. */
function runProbe(body: string, answer: (fifo: string, nonce: string) => string | undefined, vars: Record<string, string> = {}): Promise<{ out: string; code: number | null }> {
    return new Promise((resolve) => {
        const p = spawn("bash", ["-c", script(body, vars)], { env: env() });
        let out = "";
        let part = "";
        p.stdout.on("data", (d: Buffer) => {
            part += d.toString();
            let i: number;
            while ((i = part.indexOf("\n")) >= 0) {
                const line = part.slice(0, i);
                part = part.slice(i + 1);
                const m = /^conntune-login-request v1 (\S+) ([0-9a-f]{32})$/.exec(line);
                if (!m) {
                    out += `${line}\n`;
                    continue;
                }
                const reply = answer(m[1], m[2]);
                if (reply !== undefined) fs.writeFileSync(m[1], reply);
            }
        });
        p.stderr.on("data", (d: Buffer) => (out += d.toString()));
        p.on("close", (code) => resolve({ out: out + part, code }));
    });
}

const STALE = (n: number) =>
    `from="127.0.0.1,::1,10.0.0.2",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDkK2oJ0jTNS2zl7w0x0Vq8Y4xqH9hGvkYc6nQ8vN0Zs conntune-login-probe-${n}-17`;
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake user@laptop";

describe("the login probe's clean-up of stale probe keys", () => {
    it.each([
        ["LF with a final newline", `${KEY}\n${STALE(1)}\n${KEY} 2\n`, `${KEY}\n${KEY} 2\n`],
        ["no final newline", `${STALE(1)}\n${KEY}\n${KEY} 2`, `${KEY}\n${KEY} 2`],
        ["CRLF", `${KEY}\r\n${STALE(1)}\n${KEY} 2\r\n${STALE(2)}\n`, `${KEY}\r\n${KEY} 2\r\n`],
        ["only probe lines", `${STALE(1)}\n${STALE(2)}\n`, ""],
    ])("removes exactly the probe lines (%s), keeping owner and mode", (_name, before, after) => {
        const ak = path.join(dir, "ak");
        fs.writeFileSync(ak, before, { mode: 0o640 });
        fakeSshd([ak]);
        const r = spawnSync("bash", ["-c", script("ct_probe_stale_keys")], { encoding: "utf8", env: env() });
        expect(r.status, r.stderr).toBe(0);
        expect(fs.readFileSync(ak, "utf8")).toBe(after);
        expect(fs.statSync(ak).mode & 0o777).toBe(0o640);
        expect(r.stdout).toContain(`ct-warn:removed stale login-probe keys of an earlier conntune from ${ak}`);
        expect(fs.readdirSync(dir).filter((f) => f.includes("conntune-"))).toEqual([]);
    });

    it("leaves a file without probe lines untouched (same inode), a joined line, and a symlink alone", () => {
        const ak = path.join(dir, "ak");
        const joined = `${KEY}${STALE(3)}\n`;
        fs.writeFileSync(ak, joined);
        const target = path.join(dir, "target");
        fs.writeFileSync(target, `${STALE(4)}\n`);
        const link = path.join(dir, "link");
        fs.symlinkSync(target, link);
        fakeSshd([ak, link, path.join(dir, "missing")]);
        const ino = fs.statSync(ak).ino;
        const r = spawnSync("bash", ["-c", script("ct_probe_stale_keys")], { encoding: "utf8", env: env() });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toBe("");
        expect(fs.readFileSync(ak, "utf8")).toBe(joined);
        expect(fs.statSync(ak).ino).toBe(ino);
        expect(fs.readFileSync(target, "utf8")).toBe(`${STALE(4)}\n`);
        expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    });

    it("changes nothing when it cannot get the lock", () => {
        const ak = path.join(dir, "ak");
        fs.writeFileSync(ak, `${KEY}\n${STALE(1)}\n`);
        fakeSshd([ak]);
        const lock = path.join(dir, "state", "login-probe.lock");
        // Another run holds the lock (a wait of 1 s instead of 30 here).
        const held = script("ct_probe_stale_keys").replace("flock -w 30 9", "flock -w 1 9");
        const r = spawnSync("bash", ["-c", 'exec 7>>"$L" && flock 7 && bash -c "$S"'], { encoding: "utf8", env: { ...env(), L: lock, S: held } });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain("the lock");
        expect(fs.readFileSync(ak, "utf8")).toBe(`${KEY}\n${STALE(1)}\n`);
    });
});

describe.runIf(asRoot)("the stale-key clean-up never works as root in another account's directory", () => {
    const nobody = Number(spawnSync("id", ["-u", "nobody"], { encoding: "utf8" }).stdout.trim());
    const nogroup = Number(spawnSync("id", ["-g", "nobody"], { encoding: "utf8" }).stdout.trim());

    it("rewrites a user's file as that user: in a directory only root may write it leaves the file alone", () => {
        // A swapped temp name must never reach root's files: done as the owner, the rewrite cannot
        // even create its temp file here, so the file stays as it is (root would have rewritten it).
        fs.chmodSync(dir, 0o755);
        const ak = path.join(dir, "ak");
        fs.writeFileSync(ak, `${KEY}\n${STALE(1)}\n`, { mode: 0o600 });
        fs.chownSync(ak, nobody, nogroup);
        fakeSshd([ak]);
        const r = spawnSync("bash", ["-c", script("ct_probe_stale_keys")], { encoding: "utf8", env: env() });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain("stale login-probe keys left in");
        expect(fs.readFileSync(ak, "utf8")).toBe(`${KEY}\n${STALE(1)}\n`);
    });

    it("rewrites a user's file as that user in the user's own directory", () => {
        const home = path.join(dir, "home");
        fs.mkdirSync(home, { mode: 0o700 });
        fs.chownSync(home, nobody, nogroup);
        fs.chmodSync(dir, 0o755);
        const ak = path.join(home, "ak");
        fs.writeFileSync(ak, `${KEY}\n${STALE(1)}\n`, { mode: 0o600 });
        fs.chownSync(ak, nobody, nogroup);
        fakeSshd([ak]);
        const r = spawnSync("bash", ["-c", script("ct_probe_stale_keys")], { encoding: "utf8", env: env() });
        expect(r.status, r.stderr).toBe(0);
        expect(fs.readFileSync(ak, "utf8")).toBe(`${KEY}\n`);
        expect([fs.statSync(ak).uid, fs.statSync(ak).mode & 0o777]).toEqual([nobody, 0o600]);
    });

    it("leaves a root-owned file alone in a directory another account can write", () => {
        fs.chmodSync(dir, 0o775);
        const ak = path.join(dir, "ak");
        fs.writeFileSync(ak, `${KEY}\n${STALE(1)}\n`, { mode: 0o600 });
        fakeSshd([ak]);
        const r = spawnSync("bash", ["-c", script("ct_probe_stale_keys")], { encoding: "utf8", env: env() });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain("its directory is writable by another account");
        expect(fs.readFileSync(ak, "utf8")).toBe(`${KEY}\n${STALE(1)}\n`);
    });
});

describe.runIf(asRoot)("the login probe's request to the controller", () => {
    beforeEach(() => fakeSshd([path.join(dir, "none")]));

    it("reports the facts of the controller's login and removes its FIFO directory", async () => {
        let seen = "";
        const r = await runProbe("ct_fresh_login", (fifo, nonce) => {
            seen = fifo;
            expect(fifo.startsWith(PROBE_DIR_PREFIX)).toBe(true);
            expect(fs.statSync(fifo).isFIFO()).toBe(true);
            return `ct-login:nonce=${nonce}\nct-login:user=${user}\nct-login:soft=1024\nct-login:hard=4096\nct-login:end\n`;
        });
        expect(r.code, r.out).toBe(0);
        expect(r.out).toBe(`ct:login_user=${user}\nct:login_soft=1024\nct:login_hard=4096\n`);
        expect(fs.existsSync(path.dirname(seen))).toBe(false);
    });

    it("fails with the controller's reason, and ignores an answer with another nonce", async () => {
        const r = await runProbe("ct_login_probe", (_fifo, nonce) =>
            `ct-login:nonce=${"0".repeat(32)}\nct-login:user=${user}\nct-login:end\nct-login:nonce=${nonce}\nct-login:to=10.0.0.2:22\nct-login:error=ssh: unable to authenticate\nct-login:end\n`,
        );
        expect(r.code).toBe(1);
        expect(r.out).toBe(`lockout guard: a new SSH login from the controller as ${user} to 10.0.0.2:22 failed after the reload: ssh: unable to authenticate\n`);
    });

    it("fails safe, saying so, when no provider answers within the bounded wait", async () => {
        const r = await runProbe("ct_login_probe", () => undefined, { CT_PROBE_WAIT: "1" });
        expect(r.code).toBe(1);
        expect(r.out).toMatch(/^lockout guard: a new SSH login from the controller as \S+ got no answer within 1 s: the command provider running this update is not conntune's/);
    });

    it("removes probe directories of runs that no longer exist, not those of running ones", async () => {
        const dead = spawnSync("bash", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
        const stale = `${PROBE_DIR_PREFIX}${dead}.AbCdEfGh`;
        const live = `${PROBE_DIR_PREFIX}${process.pid}.AbCdEfGh`;
        fs.mkdirSync(stale);
        fs.mkdirSync(live);
        try {
            const r = spawnSync("bash", ["-c", script("ct_probe_cleanup")], { encoding: "utf8", env: env() });
            expect(r.status, r.stderr).toBe(0);
            expect(fs.existsSync(stale)).toBe(false);
            expect(fs.existsSync(live)).toBe(true);
        } finally {
            fs.rmSync(stale, { recursive: true, force: true });
            fs.rmSync(live, { recursive: true, force: true });
        }
    });
});
