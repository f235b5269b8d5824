/**
 * Where a measured run's CPU time goes (Linux /proc), for the converge benchmark: the controller
 * (this process and the children it waited for: the pulumi CLI, language host, Node program and
 * plugins, or ansible-playbook and its ssh clients), the test hosts (every process in their PID
 * namespaces: sshd, the scripts, systemd), and the whole machine (other work on it included).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { hostsProcesses, TestHost } from "../lab/hosts/harness";

/** CPU seconds (user + system) of one measured run, by where they ran. */
export interface CpuSplit {
    /** This process and its waited-for descendants (Δ utime+stime+cutime+cstime of /proc/self/stat), plus `extra`. */
    controller: number;
    /** The test hosts' processes (Δ over every process in their PID namespaces, own and reaped children's time). */
    hosts: number;
    /** The whole machine: every CPU's busy time (/proc/stat, all but idle and iowait). */
    machine: number;
}

/** A reading of the counters; two readings make a CpuSplit (cpuSplit). */
export interface CpuReading {
    controller: number;
    hosts: number;
    machine: number;
}

let ticksPerSecond: number | undefined;
function hz(): number {
    if (ticksPerSecond === undefined) {
        try {
            ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
        } catch {
            ticksPerSecond = 100;
        }
    }
    return ticksPerSecond;
}

/** The fields after the command name of a /proc/PID/stat line (field 3, the state, is index 0). */
export function statFields(stat: string): string[] {
    return stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
}

/** utime + stime (+ cutime + cstime when `children`) of a /proc/PID/stat line, in clock ticks. */
export function statTicks(stat: string, children = true): number {
    const f = statFields(stat);
    // utime, stime, cutime, cstime are fields 14–17: indexes 11–14 here.
    return Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
}

/** Busy ticks of the whole machine from /proc/stat's first line (all but idle and iowait; guest time is already in user). */
export function machineBusyTicks(procStat: string): number {
    const cpu = procStat.split("\n").find((l) => l.startsWith("cpu "));
    if (!cpu) throw new Error("/proc/stat has no cpu line");
    const [user, nice, system, , , irq, softirq, steal] = cpu.trim().split(/\s+/).slice(1).map(Number);
    return user + nice + system + irq + softirq + (steal || 0);
}

function readOr(file: string): string | undefined {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return undefined;
    }
}

/**
 * CPU ticks of these processes (the test hosts': lab/hosts/harness.ts hostsProcesses): each
 * process's own time plus that of the children it reaped, so that short-lived processes (a script,
 * a login's sshd) are counted once their parent has waited for them.
 */
export function processTicks(pids: number[]): number {
    let ticks = 0;
    for (const pid of pids) {
        const stat = readOr(`/proc/${pid}/stat`);
        if (stat) ticks += statTicks(stat);
    }
    return ticks;
}

/** Read the counters now, for these test hosts. */
export function cpuReading(hosts: Pick<TestHost, "dir">[]): CpuReading {
    const t = hz();
    return {
        controller: statTicks(fs.readFileSync("/proc/self/stat", "utf8")) / t,
        hosts: processTicks(hostsProcesses(hosts)) / t,
        machine: machineBusyTicks(fs.readFileSync("/proc/stat", "utf8")) / t,
    };
}

/** The CPU seconds between two readings; `extraController` adds time of the controller's processes it did not wait for (e.g. ssh ControlPersist masters). */
export function cpuSplit(a: CpuReading, b: CpuReading, extraController = 0): CpuSplit {
    return { controller: b.controller - a.controller + extraController, hosts: b.hosts - a.hosts, machine: b.machine - a.machine };
}

/** CPU seconds (own time only) of the live processes whose command line contains `needle`. */
export function liveProcessSeconds(needle: string): number {
    let ticks = 0;
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
        const cmd = readOr(`/proc/${e}/cmdline`);
        if (!cmd || !cmd.includes(needle)) continue;
        const stat = readOr(`/proc/${e}/stat`);
        if (stat) ticks += statTicks(stat, false);
    }
    return ticks / hz();
}
