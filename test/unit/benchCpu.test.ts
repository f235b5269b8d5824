/** The benchmark's CPU split (bench/cpu.ts): what it reads from /proc, and that it counts this process's children. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cpuReading, cpuSplit, machineBusyTicks, statTicks } from "../../bench/cpu";

describe("the benchmark's CPU split", () => {
    it("reads utime + stime (+ cutime + cstime) of a /proc/PID/stat line, a command name with spaces and parentheses included", () => {
        // fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
        const line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 20 10 20 0 1 0 5 0 0";
        expect(statTicks(line)).toBe(40);
        expect(statTicks(line, false)).toBe(10);
    });

    it("counts the machine's busy ticks as all but idle and iowait", () => {
        expect(machineBusyTicks("cpu  10 1 5 1000 50 2 3 4 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n")).toBe(25);
    });

    it.runIf(process.platform === "linux")("charges a child's CPU to the controller once it was waited for", () => {
        const a = cpuReading([]);
        execFileSync("sh", ["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]);
        const s = cpuSplit(a, cpuReading([]));
        expect(s.controller).toBeGreaterThan(0.05);
        expect(s.hosts).toBe(0);
        expect(s.machine).toBeGreaterThanOrEqual(s.controller - 0.05);
    });
});
