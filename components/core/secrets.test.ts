/**
 * Secrets never become content, output or arguments (issue 11 item 3), the pure parts: the command
 * text asRoot builds, run for real through `sh` with a stand-in `sudo` that behaves like sudo for a
 * user who must give a password, a NOPASSWD sudoer, and a sudo that keeps no credentials
 * (timestamp_timeout=0); and the schema's refusal of a password where no sudo runs.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../config";
import { asRoot, passwordLine, SECRET_LINE_READ, SUDO_STILL_ASKS } from "./connection";

const PW = "pw-Zq81x wild $HOME 'quote'";

/**
 * A stand-in for sudo. Like the real one without a terminal, it keys cached credentials to its
 * parent process; it reads a password from stdin only with -S and only when it needs one; it
 * records its argv (to check that no password ever is an argument).
 */
const FAKE_SUDO = `#!/bin/bash
a="$*"; printf '%s\\n' "\${a//$'\\n'/ }" >>"$FAKE_DIR/argv"
S=0 n=0 v=0
while [ $# -gt 0 ]; do case "$1" in -S) S=1; shift;; -p) shift 2;; -n) n=1; shift;; -v) v=1; shift;; *) break;; esac; done
needs_pw() {
  case "$FAKE_MODE" in
    nopasswd) return 1;;
    ask) [ ! -e "$FAKE_DIR/ts.$PPID" ];;
    notimestamp) return 0;;
  esac
}
if needs_pw; then
  [ "$n" = 1 ] && { echo "sudo: a password is required" >&2; exit 1; }
  [ "$S" = 1 ] || exit 1
  IFS= read -r pw || exit 1
  [ "$pw" = "$FAKE_PW" ] || { echo "Sorry, try again." >&2; exit 1; }
  [ "$FAKE_MODE" = ask ] && : >"$FAKE_DIR/ts.$PPID"
fi
[ "$v" = 1 ] && exit 0
exec "$@"
`;

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-sudo-"));
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "sudo"), FAKE_SUDO, { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Run asRoot(script) through the login shell's `-c` (bash, or sh) as sshd would, stdin = password line + content (as rootStdin builds it). */
function runAsRoot(mode: "ask" | "nopasswd" | "notimestamp", stdin: string, script = 'cat >"$OUT"', pw = PW, shell = "bash") {
    const out = path.join(dir, `out-${mode}-${Math.random().toString(36).slice(2)}`);
    fs.rmSync(path.join(dir, "argv"), { force: true });
    for (const f of fs.readdirSync(dir)) if (f.startsWith("ts.")) fs.rmSync(path.join(dir, f));
    const r = spawnSync(shell, ["-c", asRoot({ sudo: true, sudoPassword: pw }, `OUT=${out}\n${script}`)], {
        input: stdin,
        encoding: "utf8",
        env: { PATH: `${dir}/bin:${process.env.PATH}`, HOME: dir, FAKE_DIR: dir, FAKE_MODE: mode, FAKE_PW: PW },
    });
    const written = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : undefined;
    const argv = fs.existsSync(path.join(dir, "argv")) ? fs.readFileSync(path.join(dir, "argv"), "utf8") : "";
    return { ...r, written, argv };
}

describe("a sudo password", () => {
    const content = "# Managed by conntune\n[Manager]\nDefaultLimitNOFILE=16384\n";

    it.each([["ask", "bash"], ["nopasswd", "bash"], ["ask", "sh"], ["nopasswd", "sh"]] as const)("never becomes file content (sudo %s, login shell %s)", (mode, shell) => {
        const r = runAsRoot(mode, `${PW}\n${content}`, undefined, undefined, shell);
        expect(r.status, r.stderr).toBe(0);
        expect(r.written).toBe(content);
    });

    it.each(["ask", "nopasswd", "notimestamp"] as const)("is in no process's arguments (sudo %s)", (mode) => {
        const r = runAsRoot(mode, `${PW}\n${content}`);
        expect(r.argv).not.toBe("");
        expect(r.argv).not.toContain("pw-Zq81x");
        expect(asRoot({ sudo: true, sudoPassword: PW }, "true")).not.toContain("pw-Zq81x");
    });

    it("reaches sudo only through `sudo -S -v`; the script runs under `sudo -n`", () => {
        const r = runAsRoot("ask", `${PW}\n${content}`);
        expect(r.argv.trim().split("\n")).toEqual(["-S -p  -v", "-n true", expect.stringMatching(/^-n bash -c /)]);
    });

    it("that sudo still needs after it was given (timestamp_timeout=0) fails with a clear message and writes nothing", () => {
        const r = runAsRoot("notimestamp", `${PW}\n${content}`);
        expect(r.status).toBe(1);
        expect(r.stderr.trim()).toBe(SUDO_STILL_ASKS);
        expect(r.written).toBeUndefined();
    });

    it("that is wrong fails with the same message, never showing the password", () => {
        const r = runAsRoot("ask", `wrong-password\n${content}`);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(SUDO_STILL_ASKS);
        expect(r.stderr).not.toContain("wrong-password");
    });

    it("is read by the command's first statement, the provider's redaction convention", () => {
        expect(asRoot({ sudo: true, sudoPassword: PW }, "true").startsWith(`${SECRET_LINE_READ};`)).toBe(true);
        expect(asRoot({ sudo: true }, "true").startsWith("sudo -n bash -c ")).toBe(true);
        expect(asRoot({ sudo: false, sudoPassword: PW }, "true").startsWith("bash -c ")).toBe(true);
    });

    it("must be one line", () => {
        expect(passwordLine(PW)).toBe(PW);
        expect(() => passwordLine("a\nb")).toThrow(/must be one line/);
    });
});

describe("the schema", () => {
    const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4";
    const problems = (connection: Record<string, unknown>) => {
        try {
            parseStackConfig({ hosts: [{ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY, ...connection } }] });
            return [];
        } catch (e) {
            return (e as ConfigError).problems;
        }
    };

    it.each([
        ["the user is root", { sudoPasswordSecret: "sudoPassword" }, "the user is root"],
        ["root with sudo: true", { user: "root", sudo: true, sudoPasswordSecret: "sudoPassword" }, "the user is root"],
        ["sudo: false", { user: "tuner", sudo: false, sudoPasswordSecret: "sudoPassword" }, "sudo is false"],
    ])("refuses a sudo password secret where no sudo runs: %s", (_what, connection, why) => {
        expect(problems(connection)).toEqual([`conntune:hosts[0].connection.sudoPasswordSecret: must not be set: no sudo runs (${why}), so no password is asked for; remove sudoPasswordSecret`]);
    });

    it("accepts one for a sudo user", () => {
        expect(problems({ user: "tuner", sudoPasswordSecret: "sudoPassword" })).toEqual([]);
    });
});

describe("a script that reads a secret line of its own (the Redis password)", () => {
    const script = 'IFS= read -r s; printf "%s|%s" "$s" "$(cat)"';

    it("declares every secret line of stdin to the provider, the sudo password's too", () => {
        expect(asRoot({ sudo: false }, script, 1).startsWith(": ct-secret-lines=1; bash -c ")).toBe(true);
        expect(asRoot({ sudo: true, sudoPassword: PW }, script, 1).startsWith(`: ct-secret-lines=2; ${SECRET_LINE_READ};`)).toBe(true);
        // Without such a line the command is as before (no change for stacks that have none).
        expect(asRoot({ sudo: false }, script)).toBe(asRoot({ sudo: false }, script, 0));
    });

    it("still hands the script its secret line and the content after it", () => {
        const r = spawnSync("bash", ["-c", asRoot({ sudo: false }, script, 1)], { input: "redis-pw\nmaxmemory 1mb\n", encoding: "utf8" });
        expect(r.stdout).toBe("redis-pw|maxmemory 1mb");
    });
});
