/**
 * The lockout guard (issue 11, item 2) on a real test host through the real CLI: after an sshd
 * reload (or a restart of ssh.service by an override) a brand-new login from the controller, with
 * the stack's real key, user, address and port, must work, or the previous config is back. And the
 * guard never edits anyone's authorized_keys: files without a final newline, with CRLF line ends, in a
 * shared root-owned directory stay byte for byte; an apply killed during the probe leaves nothing
 * usable behind.
 *
 * The stack logs in as the sudo user with an ECDSA key (the harness's own key is ed25519), so that
 * a change that only locks out the stack's real key type is visible.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, hostTry, killHeldSession, startHosts, stopHosts, TestHost } from "../../lab/hosts/harness";
import { sshRun } from "../../lab/hosts/ssh";
import { dispose, e2eGate, hostStack, RunResult, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

const DROPIN = "/etc/ssh/sshd_config.d/00-conntune.conf";
const HIT = "/run/conntune-fault.hit";

function ecdsaKey(): { privateKey: string; publicKey: string } {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-lockout-key-"));
    try {
        execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-b", "256", "-N", "", "-C", "conntune-stack-key", "-f", path.join(d, "id")]);
        return { privateKey: fs.readFileSync(path.join(d, "id"), "utf8"), publicKey: fs.readFileSync(path.join(d, "id.pub"), "utf8").trim() };
    } finally {
        fs.rmSync(d, { recursive: true, force: true });
    }
}

const killSession = (h: TestHost): string => killHeldSession(h, HIT);

/** Hold the next login probe (conntune's FIFO, or an older version's ssh client) until the test kills the session. */
function holdProbe(h: TestHost): void {
    for (const [name, real] of [["mkfifo", "/usr/bin/mkfifo"], ["ssh", "/usr/bin/ssh"]]) {
        const shim = `#!/bin/sh
# conntune lockout test shim: hold the login probe once, until the test kills this session.
if [ ! -e ${HIT} ]; then
  echo $$ >${HIT}.tmp && /usr/bin/mv -f ${HIT}.tmp ${HIT}
  sleep 120
fi
exec ${real} "$@"
`;
        hostExec(h, `cat >/usr/local/sbin/${name}.tmp <<'EOF'\n${shim}EOF\nchmod 755 /usr/local/sbin/${name}.tmp && /usr/bin/mv -f /usr/local/sbin/${name}.tmp /usr/local/sbin/${name}`);
    }
}

function removeShims(h: TestHost): void {
    hostTry(h, `rm -f /usr/local/sbin/mkfifo /usr/local/sbin/ssh ${HIT}`);
}

async function waitForHit(h: TestHost, up: Promise<RunResult>, timeoutMs = 120_000): Promise<void> {
    let done: RunResult | undefined;
    void up.then((r) => (done = r));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (hostTry(h, `test -s ${HIT}`).status === 0) return;
        if (done) throw new Error(`the up finished before reaching the probe:\n${done.stdout}\n${done.stderr}`);
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("the probe was not reached in time");
}

describe.runIf(run)("the lockout guard proves that the operator can still log in", () => {
    let hosts: TestHost[] = [];
    let h: TestHost;
    let stack: Stack;
    let key: { privateKey: string; publicKey: string };
    let good = "";

    const entry = (over: Record<string, unknown> = {}) => ({
        name: "web1",
        connection: { host: h.address, port: h.port, user: h.sudoUser, hostKey: h.hostKey, sudoPasswordSecret: "sudoPassword" },
        sysctl: { enabled: false },
        limits: { enabled: false, soft: 4096, hard: 16384 },
        systemdOverrides: [],
        ...over,
    });

    /** Root and the sudo user log in from this machine with the harness key and with the stack's real key. */
    async function realLoginsWork(): Promise<void> {
        for (const privateKey of [h.privateKey, key.privateKey]) {
            for (const as of ["root", "sudo"] as const) {
                expect(await sshRun({ ...h, privateKey }, "id -un", as)).toBe(as === "root" ? "root" : h.sudoUser);
            }
        }
    }

    beforeAll(async () => {
        hosts = await startHosts(1);
        h = hosts[0];
        key = ecdsaKey();
        hostExec(h, `printf '%s\\n' '${key.publicKey}' >>/root/.ssh/authorized_keys && printf '%s\\n' '${key.publicKey}' >>/home/tuner/.ssh/authorized_keys`);
        stack = await hostStack({ privateKey: key.privateKey, sudoPassword: h.sudoPassword }, "e2e-lockout", true);
        await stack.setHosts([entry()]);
        await stack.up();
        good = hostExec(h, `cat ${DROPIN}`);
    });

    afterAll(async () => {
        if (h) removeShims(h);
        await dispose(stack);
        await stopHosts(hosts);
    });

    const cases: Array<[string, (h: TestHost) => Record<string, unknown>]> = [
        ["DenyUsers the login user", (x) => ({ extra: { DenyUsers: x.sudoUser } })],
        ["AllowUsers from a net that excludes the controller's address", (x) => ({ extra: { AllowUsers: `root@${x.address}/32 ${x.sudoUser}@${x.address}/32` } })],
        ["PubkeyAcceptedAlgorithms without the real key's type", () => ({ extra: { PubkeyAcceptedAlgorithms: "ssh-ed25519" } })],
        ["AuthorizedKeysFile moved to a file that does not exist", () => ({ allowRiskyKeywords: ["AuthorizedKeysFile"], extra: { AuthorizedKeysFile: "/etc/ssh/conntune-missing/%u" } })],
    ];

    it.each(cases)("refuses %s: the previous drop-in stays live and the real keys still log in", async (_name, sshd) => {
        await stack.setHosts([entry({ sshd: sshd(h) })]);
        const r = await stack.up([], true);
        expect(r.code, r.stdout).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(
            new RegExp(`lockout guard: a new SSH login from the controller as ${h.sudoUser} to ${h.address.replace(/\./g, "\\.")}:22 failed after the reload: `),
        );
        expect(hostExec(h, `cat ${DROPIN}`)).toBe(good);
        // The config on disk is the previous one for the controller's address (the logins below prove the running sshd).
        expect(hostExec(h, `sshd -T -C user=${h.sudoUser},host=c,addr=${h.address.replace(/\.2$/, ".1")} | grep -iE '^(denyusers|allowusers|pubkeyacceptedalgorithms|authorizedkeysfile) ' | grep -v -e '^pubkeyacceptedalgorithms .*ecdsa' -e '^authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2$' || true`)).toBe("");
        await realLoginsWork();
        expect(hostExec(h, "ls -d /run/conntune-login.* 2>/dev/null || true")).toBe("");
    });

    it("refuses an override of ssh.service whose restart fails: ssh.service runs its previous config and logins work", async () => {
        // Restart=no: systemd does not bring it back by itself (Debian's Restart=on-failure would hide the defect).
        await stack.setHosts([entry({ systemdOverrides: [{ unit: "ssh.service", settings: { Service: { ExecStartPre: "/bin/false", Restart: "no" } } }] })]);
        const r = await stack.up([], true);
        expect(r.code, r.stdout).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/activating the new \/etc\/systemd\/system\/ssh\.service\.d\/50-conntune\.conf failed; the previous file is back/);
        expect(hostExec(h, "systemctl is-active ssh.service")).toBe("active\n");
        expect(hostExec(h, "ls /etc/systemd/system/ssh.service.d/ 2>/dev/null || echo none")).toBe("none\n");
        expect(hostExec(h, "systemctl show -p ExecStartPre --value ssh.service")).not.toContain("/bin/false");
        await realLoginsWork();
    });

    it("an apply killed during the probe leaves no usable probe key and, after the next up, no probe directory", async () => {
        await stack.setHosts([entry()]);
        await stack.up();
        const keysBefore = hostExec(h, "cat /home/tuner/.ssh/authorized_keys");
        const statBefore = hostExec(h, "stat -c '%U:%G %a' /home/tuner/.ssh /home/tuner/.ssh/authorized_keys");
        await stack.setHosts([entry({ sshd: { clientAliveInterval: 120 } })]);
        holdProbe(h);
        try {
            const pending = stack.up([], true);
            await waitForHit(h, pending);
            killSession(h);
            const up = await pending;
            expect(up.code, up.stdout).not.toBe(0);
        } finally {
            removeShims(h);
        }
        // Whatever the killed run left, no key of a probe can log in.
        expect(hostExec(h, "cat /home/tuner/.ssh/authorized_keys /root/.ssh/authorized_keys")).not.toMatch(/conntune-(login|lockout)-probe/);
        // A probe line an older conntune left behind (killed mid-probe): the next run removes exactly that line.
        const stale = `from="127.0.0.1,::1,${h.address}",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDkK2oJ0jTNS2zl7w0x0Vq8Y4xqH9hGvkYc6nQ8vN0Zs conntune-login-probe-4242-17`;
        hostExec(h, `printf '%s\\n' '${stale}' >>/home/tuner/.ssh/authorized_keys`);
        const r = await stack.up([], true);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(await sshRun(h, "sshd -T | grep ^clientaliveinterval")).toBe("clientaliveinterval 120");
        expect(hostExec(h, "cat /home/tuner/.ssh/authorized_keys")).toBe(keysBefore);
        expect(hostExec(h, "stat -c '%U:%G %a' /home/tuner/.ssh /home/tuner/.ssh/authorized_keys")).toBe(statBefore);
        expect(hostExec(h, "ls -d /run/conntune-login.* 2>/dev/null || true")).toBe("");
        await realLoginsWork();
    });

    it("leaves authorized_keys without a final newline, with CRLF, in a shared root-owned directory byte for byte", async () => {
        // The sudo user's keys live in /etc/ssh/keys/%u (root's directory, shared by every user), CRLF, no final newline.
        hostExec(
            h,
            `mkdir -p /etc/ssh/keys && chmod 755 /etc/ssh/keys && printf '%s\\r\\n%s' '${key.publicKey}' '${h.publicKey}' >/etc/ssh/keys/tuner && chmod 644 /etc/ssh/keys/tuner && ` +
                "printf 'AuthorizedKeysFile /etc/ssh/keys/%%u .ssh/authorized_keys\\n' >/etc/ssh/sshd_config.d/10-keys.conf && " +
                "printf '%s' \"$(cat /root/.ssh/authorized_keys)\" >/root/.ssh/ak && mv -f /root/.ssh/ak /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys && " +
                "rm /home/tuner/.ssh/authorized_keys && systemctl reload ssh",
        );
        const files = () => hostExec(h, "sha256sum /etc/ssh/keys/tuner /root/.ssh/authorized_keys; stat -c '%n %U:%G %a %i' /etc/ssh/keys /etc/ssh/keys/tuner /root/.ssh /root/.ssh/authorized_keys /home/tuner/.ssh; ls -A /etc/ssh/keys /home/tuner/.ssh");
        const before = files();
        expect(hostExec(h, "tail -c 2 /etc/ssh/keys/tuner | od -An -c")).not.toMatch(/\\n/);
        await realLoginsWork();
        await stack.setHosts([entry({ sshd: { clientAliveInterval: 240 }, limits: { soft: 4096, hard: 16384, systemdDefault: null } })]);
        const r = await stack.up([], true);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(await sshRun(h, "sshd -T | grep ^clientaliveinterval")).toBe("clientaliveinterval 240");
        expect(await sshRun({ ...h, privateKey: key.privateKey }, "ulimit -Sn; ulimit -Hn", "sudo")).toBe("4096\n16384");
        expect(files()).toBe(before);
        // The probe's requests are answered by the provider and never reach the output or the state.
        expect(`${stack.transcript.join("\n")}\n${stack.stateText()}`).not.toContain("conntune-login-request");
        await realLoginsWork();
    });
});
