/**
 * Rolling out in waves (issue 14, part 2) on five real test hosts: `npm run up` (the wave runner) and a
 * plain `pulumi up` with `conntune:rollout`. A host is made to reject a change without any hook in
 * conntune: a site drop-in that shadows ClientAliveInterval makes conntune's sshd validation refuse
 * the new drop-in (nothing of the host changes), and a `sysctl` shim in /usr/local/sbin (first on
 * root's PATH) makes the activation of the sysctl file fail after the host's sshd drop-in was applied
 * (the sysctl file is rolled back, the drop-in stays). Every assertion reads the hosts themselves
 * (nsenter), never the program's outputs alone.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, startHosts, stopHosts, TestHost } from "../../lab/hosts/harness";
import { dispose, e2eGate, hostStack, REPO, RunResult, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

const DROPIN = "/etc/ssh/sshd_config.d/00-conntune.conf";
const SYSCTL = "/etc/sysctl.d/99-conntune-tcp.conf";
const SITE = "/etc/ssh/sshd_config.d/00-aaa-site.conf";
const NAMES = ["r1", "r2", "r3", "r4", "r5"];

/** `npm run up -- --stack … --project-dir …` for a test stack, bounded. */
function up(stack: Stack, extra: string[] = ["--yes"]): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const p = spawn(path.join(REPO, "node_modules", ".bin", "tsx"), [path.join(REPO, "scripts", "up.ts"), "--stack", stack.name, "--project-dir", stack.projectDir, ...extra], {
            cwd: REPO,
            env: stack.env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => (stdout += d));
        p.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => p.kill("SIGTERM"), 400_000);
        p.on("error", reject);
        p.on("close", (code) => {
            clearTimeout(timer);
            // The runner's own report, for the test log (the engine's output is long).
            console.log(`$ npm run up -- ${extra.join(" ")} (exit ${code})\n${stdout.split("\n").filter((l) => l.startsWith("[up]")).join("\n")}\n${stderr}`);
            resolve({ code: code ?? -1, stdout, stderr });
        });
    });
}

/** A site drop-in that sorts before conntune's and sets ClientAliveInterval: conntune's validation refuses its drop-in. */
const shadow = (h: TestHost) => hostExec(h, `printf 'ClientAliveInterval 7\\n' >${SITE}`);
/** A sysctl that fails `sysctl -p` of conntune's file (the activation), and only that. */
const rejectSysctl = (h: TestHost) =>
    hostExec(
        h,
        `cat >/usr/local/sbin/sysctl.tmp <<'EOF'
#!/bin/sh
# conntune rollout test shim: the activation of conntune's sysctl file fails.
if [ "$1" = -p ] && [ "$2" = '${SYSCTL}' ]; then echo "sysctl: rejected by the rollout test" >&2; exit 1; fi
exec /usr/sbin/sysctl "$@"
EOF
chmod 755 /usr/local/sbin/sysctl.tmp && mv -f /usr/local/sbin/sysctl.tmp /usr/local/sbin/sysctl`,
    );
const heal = (h: TestHost) => hostExec(h, `rm -f ${SITE} /usr/local/sbin/sysctl`);

/** What a host runs and holds: conntune's two files (or "none"), sshd's effective ClientAliveInterval, the kernel's keepalive time. */
function hostState(h: TestHost): { dropin: string; sysctlFile: string; alive: string; keepalive: string } {
    const file = (p: string) => hostExec(h, `cat ${p} 2>/dev/null || echo none`);
    return {
        dropin: file(DROPIN),
        sysctlFile: file(SYSCTL),
        alive: hostExec(h, "sshd -T | awk '$1==\"clientaliveinterval\" {print $2}'").trim(),
        keepalive: hostExec(h, "cat /proc/sys/net/ipv4/tcp_keepalive_time").trim(),
    };
}

describe.runIf(run)("rolling out in waves with a failure budget", () => {
    let hosts: TestHost[] = [];
    let stack: Stack;
    const byName = (n: string) => hosts[NAMES.indexOf(n)];
    const entry = (h: TestHost, name: string, alive: number, keepalive: number) => ({
        name,
        connection: { host: h.address, user: "root", hostKey: h.hostKey },
        sshd: { clientAliveInterval: alive },
        sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" }, settings: { "net.ipv4.tcp_keepalive_time": keepalive } },
        limits: { enabled: false, soft: 4096, hard: 16384 },
    });
    const configure = async (alive: number, keepalive: number, rollout: unknown) => {
        await stack.setHosts(hosts.map((h, i) => entry(h, NAMES[i], alive, keepalive)));
        await stack.setObject("conntune:rollout", rollout);
    };
    const applied = (n: string, alive: number, keepalive: number) => {
        const s = hostState(byName(n));
        expect(s.alive, n).toBe(String(alive));
        expect(s.keepalive, n).toBe(String(keepalive));
        expect(s.dropin, n).toContain(`ClientAliveInterval ${alive}`);
        expect(s.sysctlFile, n).toContain(`net.ipv4.tcp_keepalive_time = ${keepalive}`);
    };
    const fresh = (n: string) => expect(hostState(byName(n)), n).toEqual({ dropin: "none\n", sysctlFile: "none\n", alive: "0", keepalive: "7200" });

    beforeAll(async () => {
        hosts = await startHosts(5);
        stack = await hostStack(hosts[0], "e2e-rollout");
    });

    afterAll(async () => {
        for (const h of hosts) heal(h);
        await dispose(stack);
        await stopHosts(hosts);
    });

    it("with maxFailures 1, a wave with one failed host continues, and a second failed host in a later wave stops the rollout before the next wave", async () => {
        // Waves [r1 r2] [r3 r4] [r5]. r2 refuses its sshd drop-in (nothing of r2 changes); r3 takes its
        // sshd drop-in and then refuses the sysctl file (rolled back). First rollout: nothing exists yet.
        await configure(120, 900, { canary: 2, waveSize: 2, maxFailures: 1 });
        shadow(byName("r2"));
        rejectSysctl(byName("r3"));
        const r = await up(stack);
        const out = `${r.stdout}\n${r.stderr}`;
        expect(r.code, out).toBe(1);
        expect(r.stderr).toContain("up: stopped after wave 2/3 (r3 and r4): 2 failed host(s) (r2 and r3) exceed maxFailures 1; not started: wave 3 (r5)");
        expect(r.stdout).toMatch(/\[up\]\s+r2: FAILED: .*ClientAliveInterval|clientaliveinterval/i);
        expect(r.stdout).toMatch(/\[up\]\s+r3: FAILED: .*rejected by the rollout test.*\(changed before the failure, and left so: .*r3-sshd/);
        expect(r.stdout).not.toMatch(/\[up\]\s+r[23]: applied/);
        expect(r.stdout).toMatch(/\[up\]\s+r1: applied/);
        expect(r.stdout).toMatch(/\[up\]\s+r4: applied/);
        applied("r1", 120, 900);
        applied("r4", 120, 900);
        // r2: its own site drop-in only.
        expect(hostExec(byName("r2"), "ls /etc/ssh/sshd_config.d/ /etc/sysctl.d/")).not.toContain("conntune");
        expect(hostState(byName("r2")).keepalive).toBe("7200");
        // r3: the sshd drop-in of this update is live, its sysctl file was rolled back (none before).
        const r3 = hostState(byName("r3"));
        expect(r3.alive).toBe("120");
        expect(r3.sysctlFile).toBe("none\n");
        expect(r3.keepalive).toBe("7200");
        fresh("r5");
    });

    it("a re-run after the fix continues where it stopped: the failed hosts are tried again, converged hosts are left alone, the last wave runs", async () => {
        const stamp = (n: string) => hostExec(byName(n), `stat -c '%i %Y' ${DROPIN} ${SYSCTL}`);
        const before = { r1: stamp("r1"), r4: stamp("r4") };
        heal(byName("r2"));
        heal(byName("r3"));
        const r = await up(stack);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(r.stdout).toContain("[up] wave 1/3 (r1 and r2): applying r2");
        expect(r.stdout).toContain("[up] wave 2/3 (r3 and r4): applying r3");
        expect(r.stdout).toContain("[up] wave 3/3 (r5): applying r5");
        for (const n of NAMES) applied(n, 120, 900);
        expect({ r1: stamp("r1"), r4: stamp("r4") }).toEqual(before);
        expect((await stack.outputs()).rollout).toEqual({ waves: [["r1", "r2"], ["r3", "r4"], ["r5"]], maxFailures: 1 });
    });

    it("a change that the canary rejects stops before any other host changes (and nothing applies without --yes)", async () => {
        await configure(240, 1200, { canary: 1, waveSize: 2 });
        // The fault first: its site drop-in changes what sshd -T shows on r1 by itself.
        shadow(byName("r1"));
        const before = NAMES.map((n) => hostState(byName(n)));
        const unconfirmed = await up(stack, []);
        expect(unconfirmed.code).toBe(1);
        expect(unconfirmed.stderr).toContain("up: not applied: pass --yes to apply without a prompt");
        expect(NAMES.map((n) => hostState(byName(n)))).toEqual(before);
        const r = await up(stack);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
        expect(r.stderr).toContain("up: stopped after wave 1/3 (r1): 1 failed host(s) (r1) exceed maxFailures 0; not started: wave 2 (r2 and r3), wave 3 (r4 and r5)");
        expect(NAMES.map((n) => hostState(byName(n)))).toEqual(before);
        heal(byName("r1"));
    });

    it("a plain pulumi up with conntune:rollout waits for each wave and stops at the first failed host: no later wave is touched", async () => {
        // Waves [r1] [r2 r3] [r4 r5], the change of the test before; r2 refuses it.
        shadow(byName("r2"));
        const preview = JSON.parse((await stack.run(["preview", "--stack", stack.name, "--json"])).stdout) as { steps: Array<{ urn: string; newState?: { dependencies?: string[] } }> };
        const deps = (suffix: string) => preview.steps.find((s) => s.urn.endsWith(`::${suffix}`))?.newState?.dependencies ?? [];
        // The waves are dependencies: r4's sshd waits for r2's and r3's resources, r2's for r1's.
        expect(deps("r4-sshd-dropin-apply").join("\n")).toMatch(/::r2-sshd/);
        expect(deps("r4-sshd-dropin-apply").join("\n")).toMatch(/::r3-sysctl/);
        expect(deps("r2-sshd-dropin-apply").join("\n")).toMatch(/::r1-sshd/);
        const later = ["r4", "r5"].map((n) => hostState(byName(n)));
        const r = await stack.up([], true);
        expect(r.code, r.stdout).not.toBe(0);
        applied("r1", 240, 1200);
        expect(hostState(byName("r2")).dropin).toContain("ClientAliveInterval 120");
        expect(["r4", "r5"].map((n) => hostState(byName(n)))).toEqual(later);
        heal(byName("r2"));
    });

    it("a host removed from the config together with other changes is refused before anything changes", async () => {
        // After the test before, r2..r5 still have changes; r3 leaves the fleet as well.
        await stack.setHosts(["r1", "r2", "r4", "r5"].map((n) => entry(byName(n), n, 240, 1200)));
        const before = NAMES.map((n) => hostState(byName(n)));
        const r = await up(stack);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
        expect(r.stderr).toContain("up: r3: removed from the config while r2, r4 and r5 also have changes; a rollout cannot restore a removed host between its waves");
        expect(NAMES.map((n) => hostState(byName(n)))).toEqual(before);
    });
});
