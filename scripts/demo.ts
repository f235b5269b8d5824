/**
 * The main job on the embedded default: boot a local test host, show its "before" values, `pulumi up`
 * the four host components with the seed-000 settings on a local stack (file backend, passphrase
 * secrets), show the "after" values next to the seed-000 success criteria, then tear everything down.
 *
 *   npm run demo            (KEEP=1 keeps the stack and host up until Ctrl-C)
 */
import { addGatewayUnit, capability, hostExec, startHost, stopHosts, TestHost } from "../lab/hosts/harness";
import { sshRun } from "../lab/hosts/ssh";
import { conntuneProject, LabStack } from "../lab/stack";
import { exitOnError, parseFlags } from "./cli";

const USAGE = "npm run demo   (no flags; KEEP=1 keeps the stack and host up until Ctrl-C)";

const step = (msg: string) => console.log(`\n==> ${msg}`);

async function readState(h: TestHost): Promise<Record<string, string>> {
    const out = await sshRun(
        h,
        [
            "echo keepalive=$(sysctl -n net.ipv4.tcp_keepalive_time)",
            "echo intvl=$(sysctl -n net.ipv4.tcp_keepalive_intvl)",
            "echo probes=$(sysctl -n net.ipv4.tcp_keepalive_probes)",
            "echo cai=$(sshd -T | awk '$1==\"clientaliveinterval\"{print $2}')",
            "echo cacm=$(sshd -T | awk '$1==\"clientalivecountmax\"{print $2}')",
            "echo nofile=$(ulimit -Sn)/$(ulimit -Hn)",
            "echo gateway=$(systemctl show -p LimitNOFILE --value llm-gateway.service)",
        ].join("; "),
    );
    return Object.fromEntries(out.trim().split("\n").map((l) => l.split("=") as [string, string]));
}

function idle(s: Record<string, string>): string {
    const i = Number(s.cai);
    return i === 0 ? "none" : `${(i * Number(s.cacm)) / 60} min`;
}

async function main(): Promise<void> {
    parseFlags({});
    const cap = capability();
    if (!cap.ok) throw new Error(`the demo boots a local test host and cannot here: ${cap.reason}`);
    step("booting a local test host (Debian bookworm, systemd, OpenSSH) in its own network namespace");
    const h = await startHost({
        prepare: (root) => addGatewayUnit(root),
    });
    let stack: LabStack | undefined;
    try {
        hostExec(h, "systemctl start llm-gateway.service");
        console.log(`    host ${h.name} at ${h.address}, host key ${h.hostKey.slice(0, 40)}…`);
        const before = await readState(h);

        step("creating a local stack (file backend, passphrase secrets) pointed at the test host");
        stack = await LabStack.create(conntuneProject(), "demo");
        stack.setSecret("conntune:sshPrivateKey", h.privateKey);
        await stack.setHosts([
            {
                name: "demo",
                connection: { host: h.address, user: "root", hostKey: h.hostKey },
                // A test host is a network namespace: nf_conntrack_max belongs to the machine.
                sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
                // This machine caps hard limits at 20000 (redfin's stack keeps 65536).
                limits: { soft: 16384, hard: 16384 },
                systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 16384 } } }],
            },
        ]);

        step("pulumi preview (no SSH connection is opened)");
        const p = await stack.preview();
        console.log(p.stdout.split("\n").filter((l) => /^\s*[+~-] |Resources:|to create/.test(l)).slice(0, 30).join("\n"));

        step("pulumi up");
        const t0 = Date.now();
        const up = await stack.up();
        console.log(up.stdout.split("\n").filter((l) => /created|Resources:|Duration/.test(l)).join("\n"));
        console.log(`    (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

        const after = await readState(h);
        step("seed-000 success criteria, read from the host over a fresh SSH login");
        const rows: Array<[string, string, string, string]> = [
            ["TCP keepalive", `${before.keepalive}s`, "600s", `${after.keepalive}s`],
            ["keepalive probes (intvl x count)", `${before.intvl}s x ${before.probes}`, "30s x 3", `${after.intvl}s x ${after.probes}`],
            ["SSH idle timeout", idle(before), "10 min", idle(after)],
            ["File descriptors (new login)", before.nofile, "65536 (16384 here: machine cap 20000)", after.nofile],
            ["llm-gateway LimitNOFILE", before.gateway, "65536 (16384 here)", after.gateway],
        ];
        const w = [34, 14, 40, 14];
        const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join(" | ");
        console.log(line(["Metric", "Before", "Target", "After"]));
        console.log(w.map((n) => "-".repeat(n)).join("-|-"));
        for (const r of rows) console.log(line(r));

        step("stack outputs (effective values the components read back)");
        console.log(JSON.stringify((await stack.outputs()).effective, (k, v) => (k === "files" ? undefined : v), 2));

        if (process.env.KEEP === "1") {
            console.log(`\nKEEP=1: host ${h.address} and stack dir ${stack.projectDir} stay up; Ctrl-C to tear down.`);
            await new Promise((r) => process.once("SIGINT", r));
        }
        step("pulumi destroy (restores the host's files and values)");
        await stack.destroy();
        const restored = await readState(h);
        console.log(`    keepalive ${restored.keepalive}s, SSH idle timeout ${idle(restored)}, nofile ${restored.nofile}`);
    } finally {
        step("tearing down the test host");
        await stack?.remove();
        await stopHosts([h]);
    }
}

main().catch(exitOnError("demo failed", USAGE, 1));
