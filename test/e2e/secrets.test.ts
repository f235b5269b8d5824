/**
 * Secrets never become content, output or arguments (issue 11 item 3), through the real CLI on a
 * test host whose sudo user is, in turn, a NOPASSWD sudoer, a user whose sudo asks for the password,
 * and one whose sudo keeps no credentials (timestamp_timeout=0). The host's files, its journal (sudo
 * logs every command line), the raw state files and everything the CLI printed are searched for the
 * sudo password and the private key.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUDO_STILL_ASKS } from "../../components/core/connection";
import { capability, hostExec, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { sshRun } from "../../lab/hosts/ssh";
import { dispose, e2eGate, hostStack, noChanges, projectCopy, REPO, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

const SUDOERS = "/etc/sudoers.d/90-conntune-e2e";

describe.runIf(run)("secrets on the way to a host", () => {
    let h: TestHost;
    let stack: Stack;
    let lineStack: Stack;
    /** The sudoers rule for the test's sudo user (empty: the image's own, sudo asks for the password). */
    const sudoers = (rule: string) => hostExec(h, rule ? `printf '%s\\n' '${rule}' >${SUDOERS} && chmod 440 ${SUDOERS} && visudo -cq` : `rm -f ${SUDOERS}`);
    const entry = (over: Record<string, unknown> = {}, connection: Record<string, unknown> = {}) => ({
        name: "web1",
        connection: { host: h.address, port: h.port, user: h.sudoUser, hostKey: h.hostKey, sudoPasswordSecret: "sudoPassword", ...connection },
        // Test hosts are network namespaces: nf_conntrack_max belongs to the parent (see README).
        sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
        // This machine caps hard limits at 20000; systemdDefault puts a drop-in in system.conf.d.
        limits: { soft: 4096, hard: 16384, systemdDefault: 16384 },
        ...over,
    });
    const logins = () => Number(hostExec(h, "journalctl -t sshd -o cat --no-pager 2>/dev/null | grep -c '^Accepted' || true").trim()) || 0;
    const keyLine = () => h.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"))[1];
    /** Files under the directories conntune writes (and the homes and temp dirs) holding `text`. */
    const hostFilesWith = (text: string) =>
        hostExec(h, `grep -rlF -e '${text}' /etc /var/lib/conntune /root /home /tmp /var/tmp 2>/dev/null || true`).trim();

    beforeAll(async () => {
        h = await startHost();
        stack = await hostStack(h, "e2e-secrets", true);
    });

    afterAll(async () => {
        await dispose(stack);
        await dispose(lineStack);
        if (h) await stopHosts([h]);
    });

    it("refuses a sudo password secret for root at preview, naming the field, without connecting", async () => {
        const before = logins();
        for (const [connection, why] of [[{ user: "root" }, "the user is root"], [{ sudo: false }, "sudo is false"]] as const) {
            await stack.setHosts([entry({}, connection)]);
            const r = await stack.preview([], true);
            expect(r.code).not.toBe(0);
            expect(`${r.stdout}${r.stderr}`).toContain(`conntune:hosts[0].connection.sudoPasswordSecret: must not be set: no sudo runs (${why}), so no password is asked for; remove sudoPasswordSecret`);
        }
        expect(logins()).toBe(before);
    });

    it("applies every file for a NOPASSWD sudoer with a sudo password set, and no file holds the password", async () => {
        sudoers(`${h.sudoUser} ALL=(ALL) NOPASSWD: ALL`);
        await stack.setHosts([entry()]);
        await stack.up();
        expect(await sshRun(h, "sshd -T | grep ^clientaliveinterval; sysctl -n net.ipv4.tcp_keepalive_time")).toBe("clientaliveinterval 300\n600");
        for (const f of ["/etc/ssh/sshd_config.d/00-conntune.conf", "/etc/sysctl.d/99-conntune-tcp.conf", "/etc/security/limits.d/90-conntune-nofile.conf", "/etc/systemd/system.conf.d/90-conntune-limits.conf"]) {
            expect(hostExec(h, `head -n1 ${f}`), f).toMatch(/^# Managed by conntune/);
        }
        expect(hostFilesWith(h.sudoPassword)).toBe("");
    });

    it("applies for a sudo user whose sudo asks for the password: given once to sudo -S -v, then sudo -n", async () => {
        sudoers("");
        await stack.setHosts([entry({ sshd: { clientAliveInterval: 120 }, sysctl: { settings: { "net.ipv4.tcp_keepalive_time": 300 }, keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } } })]);
        await stack.up();
        expect(await sshRun(h, "sshd -T | grep ^clientaliveinterval; sysctl -n net.ipv4.tcp_keepalive_time")).toBe("clientaliveinterval 120\n300");
        expect(hostFilesWith(h.sudoPassword)).toBe("");
    });

    it("refreshes through sudo with the password (the secret line only): a clean host shows no change, a sysctl -w is found and repaired", async () => {
        expect(noChanges((await stack.preview(["--refresh"])).stdout)).toBe(true);
        hostExec(h, "sysctl -w net.ipv4.tcp_keepalive_time=7200");
        const r = await stack.preview(["--refresh"]);
        expect(r.stdout).toMatch(/web1-sysctl[\s\S]*\(update\)|~ command:remote:Command: \(update\)/);
        await stack.up(["--refresh"]);
        expect(hostExec(h, "sysctl -n net.ipv4.tcp_keepalive_time").trim()).toBe("300");
        expect(noChanges((await stack.preview(["--refresh"])).stdout)).toBe(true);
        expect(hostFilesWith(h.sudoPassword)).toBe("");
    });

    it("fails with a clear message that never shows the password when sudo keeps no credentials (timestamp_timeout=0)", async () => {
        sudoers(`Defaults:${h.sudoUser} timestamp_timeout=0`);
        await stack.setHosts([entry({ sshd: { clientAliveInterval: 60 } })]);
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toContain(SUDO_STILL_ASKS);
        expect(`${r.stdout}${r.stderr}`).not.toContain(h.sudoPassword);
        expect(await sshRun(h, "sshd -T | grep ^clientaliveinterval")).toBe("clientaliveinterval 120");
        sudoers("");
    });

    it("redacts the secret first line of stdin from a command's output and from a failing command's error", async () => {
        const password = `pw-${h.sudoPassword}`;
        lineStack = new Stack(projectCopy(path.join(REPO, "test/e2e/fixtures/secret-line")), "e2e-secret-line");
        await lineStack.init();
        for (const [k, v] of [["host", h.address], ["port", String(h.port)], ["user", "root"], ["hostKey", h.hostKey]]) await lineStack.setConfig(k, v);
        await lineStack.setConfig("privateKey", h.privateKey, true);
        await lineStack.setConfig("password", password, true);
        await lineStack.up();
        expect((await lineStack.outputs()).out).toBe("seen: [secret]\nrest: the file content");
        await lineStack.setConfig("fail", "true");
        const r = await lineStack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toContain("failed holding [secret]");
        expect(`${r.stdout}${r.stderr}`).not.toContain(password);
        expect(`${lineStack.stateText()}\n${lineStack.transcript.join("\n")}`).not.toContain(password);
    });

    it("keeps the password and the private key out of every host file, the journal, the state and all CLI output", async () => {
        await stack.destroy();
        for (const secret of [h.sudoPassword, keyLine()]) {
            expect(hostFilesWith(secret)).toBe("");
            expect(hostExec(h, `journalctl --no-pager -o cat | grep -cF -e '${secret}' || true`).trim()).toBe("0");
            expect(stack.stateText()).not.toContain(secret);
            expect(stack.transcript.join("\n")).not.toContain(secret);
        }
    });
});
