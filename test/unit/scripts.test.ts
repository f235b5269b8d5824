import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { asRoot } from "../../components/host/connection";
import { isSshdUnit, limitsHooks, overrideHooks, pamProfileHooks, sshdHooks, systemdDefaultHooks, sysctlHooks } from "../../components/host/hooks";
import { applyScript, assertSafePath, deleteScript, FileHooks, parseValues, parseWarnings } from "../../components/host/managedFileScript";
import { shq } from "../../components/host/shell";

const kinds: Array<[string, FileHooks]> = [
    ["sshd", sshdHooks()], ["sysctl", sysctlHooks()], ["limits", limitsHooks()], ["systemd default", systemdDefaultHooks()], ["override", overrideHooks()], ["ssh.service override", overrideHooks("ssh.service")], ["pam profile", pamProfileHooks()],
];

describe("the remote scripts", () => {
    it.each(kinds)("are valid bash for %s (apply and delete, as root and through sudo)", (_k, hooks) => {
        for (const script of [applyScript({ path: "/etc/x.d/a.conf", mode: "0644", hooks }), deleteScript({ path: "/etc/x.d/a.conf", mode: "0644", hooks })]) {
            for (const cmd of [asRoot({ sudo: false }, script), asRoot({ sudo: true }, script), asRoot({ sudo: true, sudoPassword: "pw" }, script)]) {
                const r = spawnSync("bash", ["-n", "-c", cmd], { encoding: "utf8" });
                expect(r.stderr).toBe("");
                expect(r.status).toBe(0);
            }
            const inner = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
            expect(inner.stderr).toBe("");
        }
    });

    it("guard an override of sshd's own unit with the login probe, and only that", () => {
        for (const u of ["ssh.service", "sshd.service", "ssh.socket", "sshd@0.service"]) expect(isSshdUnit(u)).toBe(true);
        for (const u of ["llm-gateway.service", "sshd-keygen.service", "openssh.service"]) expect(isSshdUnit(u)).toBe(false);
        expect(applyScript({ path: "/etc/systemd/system/ssh.service.d/a.conf", mode: "0644", hooks: overrideHooks("ssh.service") })).toContain("ct_login_probe");
        expect(applyScript({ path: "/etc/systemd/system/x.service.d/a.conf", mode: "0644", hooks: overrideHooks("x.service") })).not.toContain("ct_login_probe");
    });

    it("quote config values so the shell sees them as one literal word", () => {
        const nasty = `a'b"c$(touch /tmp/pwned)\`x\`;&|<>*`;
        const r = spawnSync("bash", ["-c", `printf %s ${shq(nasty)}`], { encoding: "utf8" });
        expect(r.stdout).toBe(nasty);
        expect(() => shq("two\nlines")).toThrow(/newline/);
    });

    it.each(["relative/path.conf", "/etc/../etc/passwd", "/etc/a b.conf", "/etc/$(x).conf", "/etc/x/./y.conf", "/etc/*.conf"])("refuse the unsafe path %s", (p) => {
        expect(() => assertSafePath(p)).toThrow(/unsafe managed file path/);
    });

    it("never put the file content into the command (it travels on stdin)", () => {
        const script = applyScript({ path: "/etc/sysctl.d/99-x.conf", mode: "0644", hooks: sysctlHooks() });
        expect(script).toContain('cat >"$NEW"');
        expect(script).not.toContain("tcp_keepalive_time = 600");
    });

    it("activate on the next apply when an apply was killed after the rename, even though the file is already new", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-apply-"));
        try {
            const die = path.join(dir, "die");
            const log = path.join(dir, "activations");
            const spec = {
                path: path.join(dir, "etc", "x.conf"),
                mode: "0644",
                // The state dir in the temp dir too; the activation SIGKILLs the script (and itself) like a dropped SSH session.
                vars: { CT_STATE: path.join(dir, "state"), CT_DIE: die, CT_LOG: log },
                hooks: { activate: '[ -e "$CT_DIE" ] && kill -KILL $$ $BASHPID\necho activated >>"$CT_LOG"' },
            };
            const apply = (content: string) => spawnSync("bash", ["-c", applyScript(spec)], { input: content, encoding: "utf8" });
            fs.mkdirSync(path.dirname(spec.path));
            fs.writeFileSync(spec.path, "old\n");
            fs.writeFileSync(die, "");
            expect(apply("new\n").signal).toBe("SIGKILL");
            expect(fs.readFileSync(spec.path, "utf8")).toBe("new\n");
            expect(fs.existsSync(log)).toBe(false);
            fs.rmSync(die);
            const retry = apply("new\n");
            expect(retry.status, retry.stderr).toBe(0);
            expect(parseValues(retry.stdout).changed).toBe("yes");
            expect(fs.readFileSync(log, "utf8")).toBe("activated\n");
            const again = apply("new\n");
            expect(parseValues(again.stdout).changed).toBe("no");
            expect(fs.readFileSync(log, "utf8")).toBe("activated\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("parse ct: values and ct-warn: lines from the output", () => {
        const out = "noise\nct:net.ipv4.tcp_keepalive_time=600\nct-warn:sysctl vm.swappiness skipped: not writable\nct:changed=yes\n";
        expect(parseValues(out)).toEqual({ "net.ipv4.tcp_keepalive_time": "600", changed: "yes" });
        expect(parseWarnings(out)).toEqual(["sysctl vm.swappiness skipped: not writable"]);
    });
});

describe("packed commands (gzip + base64 in the stored command text)", () => {
    it("run the script unchanged, with the login's arguments, through sh as the login shell", () => {
        const script = 'set -u\necho "args=$1|$2"\nprintf "%s\\n" "it\'s $((6 * 7))"';
        const r = spawnSync("sh", ["-c", asRoot({ sudo: false }, script)], { encoding: "utf8", env: { ...process.env, SSH_CONNECTION: "1.2.3.4 5 6.7.8.9 22" } });
        expect(r.stdout).toBe(`args=1.2.3.4 5 6.7.8.9 22|${os.userInfo().username}\nit's 42\n`);
        expect(asRoot({ sudo: false }, script)).toBe(asRoot({ sudo: false }, script));
    });

    it("fail loudly, never as an empty script, when the host cannot unpack them", () => {
        const broken = asRoot({ sudo: false }, "echo should-not-run").replace(/echo ([A-Za-z0-9+/=]+) \|/, "echo not-base64!! |");
        const r = spawnSync("sh", ["-c", broken], { encoding: "utf8" });
        expect(r.status).toBe(127);
        expect(r.stderr).toContain("conntune: cannot unpack the command: base64 and gzip are needed on the host");
        expect(r.stdout).not.toContain("should-not-run");
    });
});
