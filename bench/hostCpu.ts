/**
 * The test host's CPU of one host's first apply (the converge benchmark's four files, seed 000),
 * measured on ONE freshly booted host per repetition: every process in the host's PID namespace
 * (own time and that of reaped children, as bench/cpu.ts counts the fleet's), and with `--perf FILE`
 * a `perf record` of the scheduler's runtime, fork and exec events (FILE.N, with the host's PIDs at
 * the start in FILE.N.pids) for a split by process: `perf script -i FILE.N`, following the forks
 * from those PIDs. Not part of `npm run bench`: a tool for work on the host-side scripts.
 *
 *   flock /tmp/conntune-e2e.lock npx tsx bench/hostCpu.ts [--reps 3] [--perf /tmp/hostcpu.perf]
 *
 * Nothing here asserts a time; it prints one line per repetition.
 */
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { addGatewayUnit, hostsProcesses, startHost, stopHosts, TestHost } from "../lab/hosts/harness";
import { conntuneProject, LabStack } from "../lab/stack";
import { processTicks } from "./cpu";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
};
const reps = Number(flag("--reps") ?? 3);
const perfOut = flag("--perf");

function hostConfig(h: TestHost): unknown {
    return {
        name: "h0",
        connection: { host: h.address, port: h.port, user: "root", hostKey: h.hostKey },
        sshd: { fileName: "00-conntune.conf" },
        sysctl: { fileName: "99-conntune-tcp.conf", keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" }, settings: { "net.ipv4.tcp_keepalive_time": 600 } },
        limits: { soft: 16384, hard: 16384, fileName: "90-conntune-nofile.conf", systemdDefault: null },
        systemdOverrides: [{ unit: "llm-gateway.service", fileName: "50-conntune.conf", settings: { Service: { LimitNOFILE: 16384 } } }],
    };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function once(rep: number): Promise<void> {
    const h = await startHost({ prepare: (root) => addGatewayUnit(root, true) });
    let stack: LabStack | undefined;
    let perf: ChildProcess | undefined;
    try {
        stack = await LabStack.create(conntuneProject(), `hostcpu-${rep}`);
        stack.setSecret("conntune:sshPrivateKey", h.privateKey);
        await stack.setHosts([hostConfig(h)]);
        await stack.preview();
        await sleep(1500); // the boot's own work settles
        const ticks = () => processTicks(hostsProcesses([h]));
        const idle0 = ticks();
        await sleep(1000);
        const idle = ticks() - idle0;
        if (perfOut) {
            fs.writeFileSync(`${perfOut}.${rep}.pids`, hostsProcesses([h]).join("\n") + "\n");
            perf = spawn("perf", ["record", "-q", "-a", "-o", `${perfOut}.${rep}`, "-e", "sched:sched_stat_runtime", "-e", "sched:sched_process_fork", "-e", "sched:sched_process_exec"], { stdio: "ignore" });
            await sleep(1500);
        }
        const t0 = ticks();
        const w0 = Date.now();
        await stack.up({ parallel: 64 });
        const wall = (Date.now() - w0) / 1000;
        await sleep(300);
        const t1 = ticks();
        if (perf) {
            perf.kill("SIGINT");
            await new Promise((r) => perf!.once("exit", r));
        }
        console.log(`rep ${rep}: host CPU ${((t1 - t0) / 100).toFixed(2)} s (idle ${(idle / 100).toFixed(2)} s/s), up ${wall.toFixed(1)} s`);
    } finally {
        if (perf && perf.exitCode === null) perf.kill("SIGINT");
        await stack?.remove().catch(() => undefined);
        await stopHosts([h]);
    }
}

(async () => {
    for (let i = 0; i < reps; i++) await once(i);
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
