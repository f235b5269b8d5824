/**
 * Fault matrix (issue 6) on real test hosts, through the real CLI:
 *
 * - the SSH session serving an apply is SIGKILLed on the host (the worst case: the remote script dies
 *   where it stands) between the upload and the rename, and during activation, on a create and on an
 *   update: the file is entirely old or entirely new, sshd still takes logins, and the next `up`
 *   converges (re-activating a file whose content is already new);
 * - a host rebooted between updates: the next `up` and drift see the persisted state.
 *
 * What Pulumi records: a failed create records nothing (the next `up` creates again); a failed update
 * keeps the old inputs and outputs (the next `up` updates again). Either way the apply script runs
 * again, and its pending-activation mark makes it activate a file whose content is already new.
 *
 * The faults are injected without any hook in conntune: shims in /usr/local/sbin on the test host
 * (first on root's PATH and sudo's secure_path) hold the script at the chosen point.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSysctl } from "../../components/sysctl/render";
import { sysctlSchema } from "../../components/sysctl/schema";
import { addGatewayUnit, capability, hostExec, hostTry, killHeldSession, rebootHost, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { sshRun } from "../../lab/hosts/ssh";
import { dispose, e2eGate, hostStack, noChanges, REPO, RunResult, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

interface DriftReport { drift: boolean; hosts: Record<string, { files?: Array<{ file: string; kind: string; details: string[] }>; error?: string }> }

/** `npm run drift -- --json` for a test stack. */
function drift(stack: Stack): { code: number | null; report: DriftReport; stderr: string } {
    const r = spawnSync("npx", ["tsx", path.join(REPO, "scripts/drift.ts"), "--stack", stack.name, "--json", "--project-dir", stack.projectDir], { env: stack.env, encoding: "utf8", cwd: REPO });
    return { code: r.status, report: JSON.parse(r.stdout) as DriftReport, stderr: r.stderr };
}

/** After a fault: drift finds the host as the stack says, and the next `up` changes nothing. */
async function settled(stack: Stack): Promise<void> {
    const d = drift(stack);
    expect(d.code, `${JSON.stringify(d.report)}\n${d.stderr}`).toBe(0);
    expect(d.report.drift).toBe(false);
    const r = await stack.up();
    expect(noChanges(r.stdout), r.stdout).toBe(true);
}

const HIT = "/run/conntune-fault.hit";

/**
 * Install a shim that holds the apply of `target` at `point`: `mv` onto the target (before the real
 * rename), or `sysctl -p target` (before the real activation). It writes its PID to HIT and sleeps.
 */
function holdAt(h: TestHost, point: "rename" | "activation", target: string): void {
    const [name, real, test] =
        point === "rename"
            ? ["mv", "/usr/bin/mv", `for last in "$@"; do :; done; [ "$last" = '${target}' ]`]
            : ["sysctl", "/usr/sbin/sysctl", `[ "$1" = -p ] && [ "$2" = '${target}' ]`];
    const shim = `#!/bin/sh
# conntune fault-matrix test shim: hold the ${point} of ${target} once, until the test kills this session.
if ${test} && [ ! -e ${HIT} ]; then
  echo $$ >${HIT}.tmp && /usr/bin/mv -f ${HIT}.tmp ${HIT}
  sleep 120
fi
exec ${real} "$@"
`;
    hostExec(h, `rm -f ${HIT} && cat >/usr/local/sbin/${name}.tmp <<'EOF'\n${shim}EOF\nchmod 755 /usr/local/sbin/${name}.tmp && /usr/bin/mv -f /usr/local/sbin/${name}.tmp /usr/local/sbin/${name}`);
}

function removeShims(h: TestHost): void {
    hostExec(h, `rm -f /usr/local/sbin/mv /usr/local/sbin/sysctl ${HIT}`);
}

async function waitForHit(h: TestHost, up: Promise<RunResult>, timeoutMs = 120_000): Promise<void> {
    let settled: RunResult | undefined;
    void up.then((r) => (settled = r));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (hostTry(h, `test -s ${HIT}`).status === 0) return;
        if (settled) throw new Error(`the up finished before reaching the held point:\n${settled.stdout}\n${settled.stderr}`);
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("the held point was not reached in time");
}

const killSession = (h: TestHost): string => killHeldSession(h, HIT);

/** The stack's resources as the state file records them (type, URN, inputs). */
async function stateResources(stack: Stack): Promise<Array<{ type: string; urn: string; inputs?: Record<string, unknown> }>> {
    const r = await stack.run(["stack", "export", "--stack", stack.name]);
    const d = JSON.parse(r.stdout) as { deployment: { resources?: Array<{ type: string; urn: string; inputs?: Record<string, unknown> }>; pending_operations?: unknown[] } };
    expect(d.deployment.pending_operations ?? []).toEqual([]);
    return d.deployment.resources ?? [];
}

describe.runIf(run)("fault matrix: the SSH session of an apply is killed on the host", () => {
    const FILE = "/etc/sysctl.d/99-conntune-tcp.conf";
    let h: TestHost | undefined;
    let stack: Stack;
    const entry = (keepalive: number) => ({
        name: "web1",
        connection: { host: h!.address, user: "root", hostKey: h!.hostKey },
        sshd: { enabled: false },
        sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" }, settings: { "net.ipv4.tcp_keepalive_time": keepalive } },
        limits: { enabled: false, soft: 4096, hard: 16384 },
        systemdOverrides: [],
    });
    const fileState = () => hostExec(h!, `cat ${FILE} 2>/dev/null || echo ABSENT`);
    const sysctlApply = async () => (await stateResources(stack)).find((r) => r.type === "command:remote:Command" && r.urn.endsWith("sysctl-file-apply"));

    beforeAll(async () => {
        h = await startHost();
        stack = await hostStack(h, "e2e-fault-kill");
    });

    afterAll(async () => {
        if (h) hostTry(h, `rm -f /usr/local/sbin/mv /usr/local/sbin/sysctl ${HIT}`);
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    it("runs the shims: /usr/local/sbin comes first on root's PATH over SSH", async () => {
        expect(await sshRun(h!, "echo $PATH")).toMatch(/^\/usr\/local\/sbin:/);
    });

    /**
     * One fault: set `keepalive`, hold the apply at `point`, kill the session, check the host, then
     * converge without the shim. Returns what the file looked like right after the kill.
     */
    async function killedApply(point: "rename" | "activation", keepalive: number): Promise<{ after: string; up: RunResult }> {
        const before = fileState();
        await stack.setHosts([entry(keepalive)]);
        holdAt(h!, point, FILE);
        try {
            const pending = stack.up([], true);
            await waitForHit(h!, pending);
            const killed = killSession(h!);
            expect(killed).toMatch(/sshd: root@notty[\s\S]*bash -c[\s\S]*\/usr\/local\/sbin\/(mv|sysctl)[\s\S]*sleep 120/);
            const up = await pending;
            expect(up.code, up.stdout).not.toBe(0);
            // The engine reports the dropped session on the resource; nothing hangs.
            expect(`${up.stdout}${up.stderr}`).toMatch(/(create|update) command failed: the SSH connection to [0-9.]+ ended before the command finished/);
            const after = fileState();
            // Never partial: byte for byte the old or the new file.
            expect([before, `${renderSysctl(sysctlSchema.parse(entry(keepalive).sysctl))}`]).toContain(after);
            // Nothing a *.conf glob (sysctl --system, systemd-sysctl) would read besides the file itself.
            expect(hostExec(h!, "cd /etc/sysctl.d && ls -1 *.conf")).toBe(after === "ABSENT\n" ? "99-sysctl.conf\n" : "99-conntune-tcp.conf\n99-sysctl.conf\n");
            expect(hostExec(h!, "ls -A /etc/sysctl.d | grep -v -e '^99-sysctl.conf$' -e '^99-conntune-tcp.conf$' -e '^README.sysctl$' -e '^\\.conntune-new\\.' || true")).toBe("");
            expect(await sshRun(h!, "echo still-in")).toBe("still-in");
            return { after, up };
        } finally {
            removeShims(h!);
        }
    }

    async function converges(keepalive: number): Promise<void> {
        const r = await stack.up([], true);
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
        expect(await sshRun(h!, "sysctl -n net.ipv4.tcp_keepalive_time")).toBe(String(keepalive));
        expect(hostExec(h!, `grep tcp_keepalive_time ${FILE}`)).toBe(`net.ipv4.tcp_keepalive_time = ${keepalive}\n`);
        const eff = (await stack.outputs()).effective as Record<string, { sysctl: Record<string, string> }>;
        expect(eff.web1.sysctl["net.ipv4.tcp_keepalive_time"]).toBe(String(keepalive));
        await settled(stack);
    }

    it("create killed between upload and rename: no file, nothing recorded, the next up converges", async () => {
        const { after, up } = await killedApply("rename", 600);
        expect(after).toBe("ABSENT\n");
        expect(`${up.stdout}${up.stderr}`).toMatch(/create command failed/);
        expect(await sysctlApply()).toBeUndefined();
        await converges(600);
    });

    it("update killed during activation: the file is entirely new, the old state stays recorded, the next up re-activates", async () => {
        const { after, up } = await killedApply("activation", 900);
        expect(after).toContain("net.ipv4.tcp_keepalive_time = 900\n");
        expect(hostExec(h!, "sysctl -n net.ipv4.tcp_keepalive_time")).toBe("600\n");
        expect(`${up.stdout}${up.stderr}`).toMatch(/update command failed/);
        expect(JSON.stringify((await sysctlApply())?.inputs?.stdin)).toContain("tcp_keepalive_time = 600");
        await converges(900);
    });

    it("update killed between upload and rename: the file is entirely old, the next up converges", async () => {
        const before = fileState();
        const { after, up } = await killedApply("rename", 1200);
        expect(after).toBe(before);
        expect(hostExec(h!, "sysctl -n net.ipv4.tcp_keepalive_time")).toBe("900\n");
        expect(`${up.stdout}${up.stderr}`).toMatch(/update command failed/);
        await converges(1200);
    });

    it("create killed during activation (after destroy): the file is entirely new, the next up activates it", async () => {
        await stack.destroy();
        expect(fileState()).toBe("ABSENT\n");
        expect(hostExec(h!, "sysctl -n net.ipv4.tcp_keepalive_time")).toBe("7200\n");
        const { after, up } = await killedApply("activation", 600);
        expect(after).toContain("net.ipv4.tcp_keepalive_time = 600\n");
        expect(hostExec(h!, "sysctl -n net.ipv4.tcp_keepalive_time")).toBe("7200\n");
        expect(`${up.stdout}${up.stderr}`).toMatch(/create command failed/);
        expect(await sysctlApply()).toBeUndefined();
        await converges(600);
    });
});

describe.runIf(run)("fault matrix: a host rebooted between updates", () => {
    let h: TestHost | undefined;
    let stack: Stack;
    const entry = (over: Record<string, unknown> = {}) => ({
        name: "web1",
        connection: { host: h!.address, user: "root", hostKey: h!.hostKey },
        sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
        limits: { soft: 4096, hard: 16384 },
        systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 16384 } } }],
        ...over,
    });
    /** Everything the stack sets, read over a fresh SSH login (a fresh login also gets the pam_limits values). */
    const effective = () =>
        sshRun(
            h!,
            "sshd -T | grep -E '^(clientaliveinterval|clientalivecountmax) '; sysctl net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes; " +
                "echo nofile $(ulimit -Sn) $(ulimit -Hn); systemctl show -p LimitNOFILE -p ActiveState llm-gateway.service; systemctl show -p DefaultLimitNOFILE; " +
                "awk '/^Max open files/{print \"gateway process\", $4, $5}' /proc/$(systemctl show -p MainPID --value llm-gateway.service)/limits",
        );
    /** Content hashes of the files conntune may touch (and the directories). */
    const files = () =>
        hostExec(
            h!,
            "find /etc/ssh /etc/sysctl.d /etc/security/limits.d /etc/systemd/system /etc/systemd/system.conf.d -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum; " +
                "find /etc/ssh /etc/sysctl.d /etc/security /etc/systemd -xdev -type d | sort",
        );
    let before = "";
    const bootId = () => hostExec(h!, "cat /proc/sys/kernel/random/boot_id").trim();

    beforeAll(async () => {
        h = await startHost({
            prepare: (root) => addGatewayUnit(root, true),
        });
        before = files();
        stack = await hostStack(h, "e2e-fault-reboot");
        await stack.setHosts([entry()]);
        await stack.up();
    });

    afterAll(async () => {
        await dispose(stack);
        if (h) await stopHosts([h]);
    });

    const applied = (interval: number, keepalive: number) =>
        `clientaliveinterval ${interval}\nclientalivecountmax 2\nnet.ipv4.tcp_keepalive_time = ${keepalive}\nnet.ipv4.tcp_keepalive_intvl = 30\nnet.ipv4.tcp_keepalive_probes = 3\n` +
        "nofile 4096 16384\nLimitNOFILE=16384\nActiveState=active\nDefaultLimitNOFILE=16384\ngateway process 16384 16384";

    it("keeps every applied value across a clean reboot with a fresh kernel network state", async () => {
        expect(await effective()).toBe(applied(300, 600));
        const boot = bootId();
        // Behind conntune's back, a key it does not manage: a real reboot forgets it.
        hostExec(h!, "sysctl -q -w net.ipv4.tcp_syn_retries=5");
        await rebootHost(h!);
        expect(bootId()).not.toBe(boot);
        expect(hostExec(h!, "sysctl -n net.ipv4.tcp_syn_retries")).toBe("6\n");
        // The boot itself applied /etc/sysctl.d (systemd-sysctl), as on a VM.
        expect(hostExec(h!, "systemctl show -p ActiveState -p Result systemd-sysctl.service")).toBe("Result=success\nActiveState=active\n");
        expect(await effective()).toBe(applied(300, 600));
    });

    it("drift reports the rebooted host clean and the next up changes nothing", async () => {
        await settled(stack);
    });

    it("applies the next update after the reboot", async () => {
        await stack.setHosts([entry({ sshd: { clientAliveInterval: 120 }, sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" }, settings: { "net.ipv4.tcp_keepalive_time": 900 } } })]);
        const r = await stack.up();
        expect(r.stdout).toMatch(/2 updated/);
        expect(await effective()).toBe(applied(120, 900));
        expect(drift(stack).code).toBe(0);
    });

    it("restores the files from before conntune on destroy, and that too survives a reboot", async () => {
        await stack.destroy();
        expect(files()).toBe(before);
        // Running daemons keep what they started with: sshd started at the last boot under conntune's
        // DefaultLimitNOFILE, so a fresh login still inherits 4096/16384 until sshd restarts.
        expect(await sshRun(h!, "sshd -T | grep ^clientaliveinterval; sysctl -n net.ipv4.tcp_keepalive_time; ulimit -Sn; ulimit -Hn")).toBe("clientaliveinterval 0\n7200\n4096\n16384");
        expect(hostExec(h!, "awk '/^Max open files/{print $4, $5}' /proc/$(systemctl show -p MainPID --value ssh.service)/limits")).toBe("4096 16384\n");
        await rebootHost(h!);
        expect(files()).toBe(before);
        expect(await sshRun(h!, "sshd -T | grep ^clientaliveinterval; sysctl -n net.ipv4.tcp_keepalive_time; ulimit -Sn")).toBe("clientaliveinterval 0\n7200\n1024");
        expect(hostExec(h!, "systemctl show -p LimitNOFILE llm-gateway.service")).toBe(hostExec(h!, "systemctl show -p DefaultLimitNOFILE").replace("Default", ""));
    });
});
