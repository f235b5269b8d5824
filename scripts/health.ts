/**
 * Seed 001's "System Health Check" for every host of a stack in one go, over a fresh SSH login per
 * host (the stack's own connection settings, host key pinned, read-only): the Redis connection count
 * and clients per peer, the monitor's timer and its last level line, every unit it watches (and the
 * Redis service) `is-active`, PING latency p50/p99 against the targets, and the live budget findings.
 * Exit 0 when every host is healthy, 1 when one is not (or cannot be reached), 2 on a usage or
 * stack error. No engine operation: only the stack's config is read.
 *
 *   npm run health -- --stack NAME [--json] [--project-dir DIR]
 */
import { exitOnError, parseFlags, projectDir, UsageError } from "./cli";
import { engineStep, openStack, readConfig } from "./engine";
import { formatHealth, hostHealth, redisHealth } from "./live";
import { configMapNotChecked, liveCheck } from "./liveCheck";
import { stackConfigOf } from "../components/load";
import { printable } from "./driftReport";

const USAGE = "npm run health -- --stack NAME [--json] [--project-dir DIR]";

async function main(): Promise<number> {
    const flags = parseFlags({ stack: "string", json: "boolean", "project-dir": "string" });
    const stackName = flags.stack;
    if (!stackName) throw new UsageError("--stack is required");
    const stack = await engineStep("stack select", () => openStack(stackName, { workDir: projectDir() }));
    const config = await engineStep("config", () => readConfig(stack));
    const parsed = stackConfigOf(config, projectDir());
    if (parsed.hosts.length === 0 && !parsed.redis?.liveCheck) throw new Error(`stack ${stackName} has no hosts (conntune:hosts or conntune:hostsFile is empty): nothing to check`);
    const live = await liveCheck(parsed, config, "health");
    const hosts = live.map((l) => l.label ? redisHealth(l.host, l.label, l.probe, l.findings, l.error) : hostHealth(l.host, l.probe ?? { clientPeers: [], ssPeers: [], units: [] }, l.findings, l.error));
    const notLive = configMapNotChecked(parsed);
    if (flags.json) {
        console.log(JSON.stringify({ stack: stackName, healthy: hosts.every((h) => h.problems.length === 0), hosts: Object.fromEntries(live.map((l, i) => [l.host, { probe: l.probe, findings: l.findings, problems: hosts[i].problems, ...(l.error ? { error: l.error } : {}) }])), ...(notLive ? { notChecked: [notLive] } : {}) }, null, 2));
    } else {
        // What the hosts printed never drives the terminal.
        console.log(formatHealth(hosts).split("\n").map(printable).join("\n"));
        if (notLive) console.log(notLive);
    }
    return hosts.some((h) => h.problems.length) ? 1 : 0;
}

main().then((code) => process.exit(code), exitOnError("health", USAGE, 2));
