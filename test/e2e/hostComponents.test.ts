/**
 * The four host components through the real CLI on real test hosts: up → verify over the test's own
 * SSH login → change → up → verify → no-op up → destroy → files byte-identical to before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addGatewayUnit, capability, hostExec, startHosts, stopHosts, TestHost } from "../../lab/hosts/harness";
import { login, sshRun } from "../../lab/hosts/ssh";
import { dispose, e2eGate, hostStack, noChanges, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);


/** Content hashes of every file conntune may touch, and the runtime values it changes. */
export function snapshot(h: TestHost): string {
    return hostExec(
        h,
        "find /etc/ssh /etc/sysctl.d /etc/security/limits.d /etc/systemd/system /etc/systemd/system.conf.d -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum; " +
            "find /etc/ssh /etc/sysctl.d /etc/security /etc/systemd -xdev -type d | sort; " +
            "sysctl net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes net.ipv4.tcp_tw_reuse net.ipv4.tcp_fin_timeout",
    );
}

function hostEntry(h: TestHost, over: Record<string, unknown> = {}, sudo = false) {
    return {
        name: "web1",
        connection: sudo
            ? { host: h.address, port: h.port, user: h.sudoUser, hostKey: h.hostKey, sudoPasswordSecret: "sudoPassword" }
            : { host: h.address, port: h.port, user: "root", hostKey: h.hostKey },
        // Test hosts are network namespaces: nf_conntrack_max belongs to the parent (see README).
        sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
        // This machine caps hard limits at 20000: live checks stay at or below 16384.
        limits: { soft: 4096, hard: 16384 },
        systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 16384 } } }],
        ...over,
    };
}


describe.runIf(run)("host components on a test host (root login)", () => {
    let hosts: TestHost[] = [];
    let h: TestHost;
    let stack: Stack;
    let before: string;

    beforeAll(async () => {
        hosts = await startHosts(1, { prepare: (root) => addGatewayUnit(root) });
        h = hosts[0];
        hostExec(h, "systemctl start llm-gateway.service");
        before = snapshot(h);
        stack = await hostStack(h, "e2e-components");
        await stack.setHosts([hostEntry(h)]);
    });

    afterAll(async () => {
        await dispose(stack);
        await stopHosts(hosts);
    });

    it("shows every file change in the preview and opens no SSH connection", async () => {
        const r = await stack.preview();
        expect(r.stdout).toContain("ClientAliveInterval 300");
        expect(r.stdout).toContain("net.ipv4.tcp_keepalive_time = 600");
        expect(r.stdout).toContain("root hard nofile 16384");
        expect(r.stdout).toContain("LimitNOFILE=16384");
        expect(hostExec(h, "journalctl -t sshd -o cat --no-pager | grep -c '^Accepted' || true").trim()).toBe("0");
    });

    it("applies the seed-000 settings: the host shows them over a separate SSH login", async () => {
        await stack.up();
        expect(await sshRun(h, "sshd -T | grep -E '^(clientaliveinterval|clientalivecountmax|logingracetime|tcpkeepalive|maxstartups|maxsessions) ' | sort")).toBe(
            "clientalivecountmax 2\nclientaliveinterval 300\nlogingracetime 30\nmaxsessions 100\nmaxstartups 200:30:400\ntcpkeepalive yes",
        );
        expect(await sshRun(h, "sysctl -n net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes net.ipv4.tcp_tw_reuse net.ipv4.tcp_fin_timeout")).toBe("600\n30\n3\n1\n30");
        expect(await sshRun(h, "ulimit -Sn; ulimit -Hn")).toBe("4096\n16384");
        expect(await sshRun(h, "systemctl show -p LimitNOFILE -p LimitNOFILESoft llm-gateway.service")).toBe("LimitNOFILE=16384\nLimitNOFILESoft=16384");
        expect(await sshRun(h, "systemctl show -p DefaultLimitNOFILE -p DefaultLimitNOFILESoft")).toBe("DefaultLimitNOFILE=16384\nDefaultLimitNOFILESoft=4096");
        expect(await sshRun(h, "awk '/^Max open files/{print $4, $5}' /proc/$(systemctl show -p MainPID --value llm-gateway.service)/limits")).toBe("16384 16384");
    });

    it("exports the effective values read back from the host", async () => {
        const out = (await stack.outputs()).effective as Record<string, { sshd: Record<string, string>; sysctl: Record<string, string>; sysctlWarnings: string[]; limits: Record<string, string>; overrides: Record<string, Record<string, string>> }>;
        const web1 = out.web1;
        expect(web1.sshd.clientaliveinterval).toBe("300");
        expect(web1.sysctl["net.ipv4.tcp_keepalive_time"]).toBe("600");
        expect(web1.sysctl["net.netfilter.nf_conntrack_max"]).toBe("skipped");
        expect(web1.sysctlWarnings.join("\n")).toMatch(/nf_conntrack_max skipped: not writable/);
        expect(web1.limits).toMatchObject({ login_soft: "4096", login_hard: "16384", pam_limits: "enabled", DefaultLimitNOFILE: "16384" });
        expect(web1.overrides["llm-gateway.service/50-conntune.conf"]).toMatchObject({ LimitNOFILE: "16384", process_nofile: "16384:16384" });
    });

    it("re-applies only the file a changed setting lives in", async () => {
        const sysctlBefore = hostExec(h, "stat -c %Y /etc/sysctl.d/99-conntune-tcp.conf");
        await stack.setHosts([hostEntry(h, { sshd: { clientAliveInterval: 120 } })]);
        const r = await stack.up();
        expect(r.stdout).toMatch(/1 updated/);
        expect(r.stdout).toMatch(/-\s*ClientAliveInterval 300/);
        expect(r.stdout).toMatch(/\+\s*ClientAliveInterval 120/);
        expect(await sshRun(h, "sshd -T | grep ^clientaliveinterval")).toBe("clientaliveinterval 120");
        expect(hostExec(h, "stat -c %Y /etc/sysctl.d/99-conntune-tcp.conf")).toBe(sysctlBefore);
    });

    it("changes nothing and opens no SSH connection on a second up", async () => {
        const logins = hostExec(h, "journalctl -t sshd -o cat --no-pager | grep -c '^Accepted' || true");
        const r = await stack.up();
        expect(noChanges(r.stdout), r.stdout).toBe(true);
        expect(hostExec(h, "journalctl -t sshd -o cat --no-pager | grep -c '^Accepted' || true")).toBe(logins);
    });

    it("restores every file byte for byte and the kernel values on destroy", async () => {
        await stack.destroy();
        expect(snapshot(h)).toBe(before);
        expect(await sshRun(h, "sshd -T | grep ^clientaliveinterval; ulimit -n")).toBe("clientaliveinterval 0\n1024");
    });
});

describe.runIf(run)("host components refuse what would break a host", () => {
    let hosts: TestHost[] = [];
    let stack: Stack;
    let h: TestHost;

    beforeAll(async () => {
        hosts = await startHosts(1);
        h = hosts[0];
        stack = await hostStack(h, "e2e-faults");
    });

    afterAll(async () => {
        await dispose(stack);
        await stopHosts(hosts);
    });

    const sshdOnly = (sshd: Record<string, unknown>) => [
        { ...hostEntry(h), sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 }, systemdOverrides: [], sshd },
    ];

    it("never lets a drop-in that sshd rejects reach sshd_config.d, and logins keep working", async () => {
        await stack.setHosts(sshdOnly({ extra: { NoSuchKeyword: "yes" } }));
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/sshd -T rejects the new drop-in/);
        expect(hostExec(h, "ls /etc/ssh/sshd_config.d/")).toBe("");
        expect(await sshRun(h, "echo still-in")).toBe("still-in");
    });

    it("reports a key shadowed by another drop-in, naming that file", async () => {
        hostExec(h, "printf 'ClientAliveInterval 0\\n' > /etc/ssh/sshd_config.d/00-aaa-local.conf");
        try {
            await stack.setHosts(sshdOnly({}));
            const r = await stack.up([], true);
            expect(r.code).not.toBe(0);
            expect(`${r.stdout}${r.stderr}`).toMatch(/clientaliveinterval: wanted '300' but sshd uses '0'; set first by: \/etc\/ssh\/sshd_config.d\/00-aaa-local.conf/);
            expect(hostExec(h, "ls /etc/ssh/sshd_config.d/")).toBe("00-aaa-local.conf\n");
        } finally {
            hostExec(h, "rm -f /etc/ssh/sshd_config.d/00-aaa-local.conf");
        }
    });

    it("restores the previous drop-in when a new login fails after the reload (lockout guard)", async () => {
        await stack.setHosts(sshdOnly({}));
        await stack.up();
        const good = hostExec(h, "cat /etc/ssh/sshd_config.d/00-conntune.conf");
        await stack.setHosts(sshdOnly({ extra: { AllowUsers: "nobody" } }));
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/lockout guard: a new SSH login from the controller as root to [0-9.]+:22 failed after the reload: /);
        expect(hostExec(h, "cat /etc/ssh/sshd_config.d/00-conntune.conf")).toBe(good);
        const l = await login(h);
        expect((await l.run("echo still-in")).stdout).toBe("still-in");
        l.close();
        await stack.setHosts(sshdOnly({}));
    });

    it("puts the previous limits file back when a fresh login does not get the limits, and logins keep working", async () => {
        const limitsOnly = (soft: number, hard: number) => [
            { ...hostEntry(h), sshd: { enabled: false }, sysctl: { enabled: false }, systemdOverrides: [], limits: { soft, hard, systemdDefault: null } },
        ];
        await stack.setHosts(limitsOnly(4096, 16384));
        await stack.up();
        const good = hostExec(h, "cat /etc/security/limits.d/90-conntune-nofile.conf");
        // This machine caps descriptors at 20000: pam_limits cannot give a login 65536, and refuses the session.
        await stack.setHosts(limitsOnly(65536, 65536));
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/the host does not show the wanted values after applying \/etc\/security\/limits.d\/90-conntune-nofile.conf; the previous file is back: (the fresh-login check|a fresh login gets nofile)/);
        expect(hostExec(h, "cat /etc/security/limits.d/90-conntune-nofile.conf")).toBe(good);
        expect(await sshRun(h, "ulimit -Hn")).toBe("16384");
        await stack.setHosts(limitsOnly(4096, 16384));
        expect((await stack.up([], true)).code).toBe(0);
        await stack.setHosts(sshdOnly({}));
    });

    it("puts pam_limits in every PAM session with pam: enable, refuses hand-edited PAM files, and gives the files back on removal", async () => {
        const withPam = (pam: string) => [
            { ...hostEntry(h), sshd: { enabled: false }, sysctl: { enabled: false }, systemdOverrides: [], limits: { soft: 4096, hard: 16384, systemdDefault: null, pam } },
        ];
        const sessions = "/etc/pam.d/common-session /etc/pam.d/common-session-noninteractive";
        const before = hostExec(h, `cat ${sessions}`);
        expect(before).not.toMatch(/pam_limits/);

        await stack.setHosts(withPam("enable"));
        await stack.up();
        expect(hostExec(h, `grep -c '^session[[:space:]]*required[[:space:]]*pam_limits.so' ${sessions}`)).toBe("/etc/pam.d/common-session:1\n/etc/pam.d/common-session-noninteractive:1\n");
        const eff = (await stack.outputs()).effective as Record<string, { limits: Record<string, string> }>;
        expect(Object.values(eff)[0].limits).toMatchObject({ "pam_limits:common-session": "enabled", "pam_limits:common-session-noninteractive": "enabled" });
        expect(await sshRun(h, "echo still-in")).toBe("still-in");

        // Removing the setting takes the profile out: the files are what pam-auth-update wrote before.
        await stack.setHosts(withPam("check"));
        await stack.up();
        expect(hostExec(h, `cat ${sessions}`)).toBe(before);
        expect(hostExec(h, "ls /usr/share/pam-configs/")).not.toMatch(/conntune/);

        // A module line added by hand: pam-auth-update leaves the file alone, the apply fails, nothing of conntune's stays.
        hostExec(h, "cp -a /etc/pam.d/common-session /root/common-session.orig && sed -i '/^# end of pam-auth-update config/i session\\toptional\\tpam_permit.so' /etc/pam.d/common-session");
        try {
            const edited = hostExec(h, `cat ${sessions}`);
            expect(edited).toMatch(/^session\toptional\tpam_permit\.so$/m);
            await stack.setHosts(withPam("enable"));
            const r = await stack.up([], true);
            expect(r.code).not.toBe(0);
            expect(`${r.stdout}${r.stderr}`).toMatch(/\/etc\/pam.d\/common-session has no pam_limits line after pam-auth-update \(it leaves PAM files edited by hand alone/);
            expect(hostExec(h, `cat ${sessions}`)).toBe(edited);
            expect(hostExec(h, "ls /usr/share/pam-configs/")).not.toMatch(/conntune/);
            expect(await sshRun(h, "echo still-in")).toBe("still-in");
        } finally {
            hostExec(h, "mv -f /root/common-session.orig /etc/pam.d/common-session");
        }
        await stack.setHosts(withPam("check"));
        expect((await stack.up([], true)).code).toBe(0);
        expect(hostExec(h, `cat ${sessions}`)).toBe(before);
        await stack.setHosts(sshdOnly({}));
    });

    it("treats systemd-analyze's warning on an unknown directive in the drop-in as an error", async () => {
        hostExec(h, "printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > /etc/systemd/system/llm-gateway.service && systemctl daemon-reload");
        await stack.setHosts([{ ...hostEntry(h), sshd: { enabled: false }, sysctl: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 },
            systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILEE: 16384 } } }] }]);
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/systemd-analyze verify rejects the drop-in: .*Unknown key '?LimitNOFILEE/);
        expect(hostExec(h, "ls /etc/systemd/system/llm-gateway.service.d/ 2>/dev/null || echo none")).toBe("none\n");
    });

    it("fails on a sysctl key the host cannot set when its policy is fail, naming the key", async () => {
        await stack.setHosts([{ ...hostEntry(h), sshd: { enabled: false }, limits: { enabled: false, soft: 4096, hard: 16384 }, systemdOverrides: [], sysctl: {} }]);
        const r = await stack.up([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toMatch(/net\.netfilter\.nf_conntrack_max: not writable in this host.*set keyPolicy\.net\.netfilter\.nf_conntrack_max to skip/);
        expect(hostExec(h, "ls /etc/sysctl.d/")).not.toContain("conntune");
    });
});

describe.runIf(run)("host components through a non-root user with a sudo password", () => {
    let hosts: TestHost[] = [];
    let stack: Stack;
    let h: TestHost;
    let before: string;

    beforeAll(async () => {
        hosts = await startHosts(1, { prepare: (root) => addGatewayUnit(root) });
        h = hosts[0];
        before = snapshot(h);
        stack = await hostStack(h, "e2e-sudo", true);
        await stack.setHosts([hostEntry(h, {}, true)]);
    });

    afterAll(async () => {
        await dispose(stack);
        await stopHosts(hosts);
    });

    it("applies, verifies and restores the same way as root", async () => {
        await stack.up();
        expect(await sshRun(h, "sshd -T | grep ^clientaliveinterval; sysctl -n net.ipv4.tcp_keepalive_time")).toBe("clientaliveinterval 300\n600");
        expect(await sshRun(h, "ulimit -Sn; ulimit -Hn", "sudo")).toBe("4096\n16384");
        await stack.destroy();
        expect(snapshot(h)).toBe(before);
    });

    it("keeps the private key and the sudo password out of the state and all output", () => {
        const keyLine = h.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"))[1];
        const text = `${stack.stateText()}\n${stack.transcript.join("\n")}`;
        expect(text).not.toContain(keyLine);
        expect(text).not.toContain(h.sudoPassword);
    });
});
