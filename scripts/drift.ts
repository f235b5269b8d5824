/**
 * Drift detection for people and CI, on top of Pulumi's own refresh: `pulumi preview --refresh`
 * through the Automation API. conntune's provider reads every managed file on its host during the
 * refresh (one SSH connection per host: tools/command-provider/read.go); a file the preview would
 * update is a drifted file. A table per host (or --json); exit 1 on drift, 2 on an error, so a
 * scheduled pipeline job can alert. No SSH client of its own, no list of what each kind checks.
 *
 *   npm run drift -- --stack NAME [--json] [--parallel N] [--project-dir DIR]
 *   npm run drift -- --stack NAME --repair     `pulumi up --refresh`: re-applies exactly the drifted files
 */
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { exitOnError, intFlag, parseFlags, projectDir, UsageError } from "./cli";
import { engineStep, openStack } from "./engine";
import { driftExitCode, FileDrift, fileDrift, formatTable, hostOf, StepLike } from "./driftReport";

const USAGE = "npm run drift -- --stack NAME [--json] [--parallel N] [--repair] [--project-dir DIR]";

interface HostEntry { name: string; connection: { host: string; port?: number } }

/** The hosts of the stack's `conntune:hosts`, to name rows by host rather than by address. */
async function stackHosts(stack: Stack): Promise<HostEntry[]> {
    const all = await stack.getAllConfig();
    const raw = all["conntune:hosts"]?.value;
    if (raw === undefined) return [];
    const hosts = JSON.parse(raw) as unknown;
    return Array.isArray(hosts) ? (hosts as HostEntry[]).filter((h) => h && typeof h.name === "string" && h.connection) : [];
}

/** One refresh preview: the drifted files, and errors by host (or "" when no host is named). */
async function check(stack: Stack, hosts: HostEntry[], parallel: number): Promise<{ rows: FileDrift[]; errors: Record<string, string> }> {
    const known = hosts.map((h) => ({ name: h.name, host: h.connection.host, port: h.connection.port ?? 22 }));
    const hostName = (hint: { address?: string; port?: number; resource: string }) => hostOf(known, hint);
    const rows: FileDrift[] = [];
    const onEvent = (e: EngineEvent) => {
        const step = e.resourcePreEvent?.metadata as StepLike | undefined;
        const row = step && fileDrift(step, hostName);
        if (row) rows.push(row);
    };
    try {
        await stack.preview({ refresh: true, diff: true, parallel, onEvent });
    } catch (e) {
        // The provider names the file and host it could not read: "refresh could not read FILE on HOST: …".
        const text = e instanceof Error ? e.message : String(e);
        const errors: Record<string, string> = {};
        for (const m of text.matchAll(/refresh could not read (\S+) on ([^:\s]+): ([^\n]*)/g)) errors[hostName({ address: m[2], resource: "" })] ??= `cannot read ${m[1]}: ${m[3]}`;
        if (Object.keys(errors).length === 0) errors[""] = text.split("\n").filter((l) => /error/i.test(l)).slice(0, 5).join("\n") || text.slice(-2000);
        return { rows, errors };
    }
    rows.sort((a, b) => a.host.localeCompare(b.host) || a.file.localeCompare(b.file));
    return { rows, errors: {} };
}

async function main(): Promise<number> {
    const flags = parseFlags({ stack: "string", json: "boolean", parallel: "string", repair: "boolean", "project-dir": "string" });
    const stackName = flags.stack;
    if (!stackName) throw new UsageError("--stack is required");
    const parallel = intFlag("parallel", flags.parallel, 64, 1, 256);
    const json = flags.json === true;
    const stack = await engineStep("stack select", () => openStack(stackName, { workDir: projectDir() }));
    const hosts = await stackHosts(stack);
    if (hosts.length === 0) throw new Error(`stack ${stackName} has no hosts (conntune:hosts is empty): nothing to check`);
    let { rows, errors } = await check(stack, hosts, parallel);
    if (rows.length && Object.keys(errors).length === 0 && flags.repair) {
        const log = (s: string) => (json ? process.stderr : process.stdout).write(s);
        await stack.up({ refresh: true, diff: true, parallel, message: "conntune drift repair", onOutput: log });
        ({ rows, errors } = await check(stack, hosts, parallel));
    }
    // Rows of a host the config does not name (cannot happen for conntune's own resources) are still shown.
    const names = [...new Set([...hosts.map((h) => h.name), ...rows.map((r) => r.host), ...Object.keys(errors)])];
    const code = driftExitCode(rows, errors);
    if (json) {
        const report = Object.fromEntries(names.filter((n) => n !== "").map((n) => [n, { files: rows.filter((r) => r.host === n).map(({ host: _h, ...r }) => r), ...(errors[n] ? { error: errors[n] } : {}) }]));
        console.log(JSON.stringify({ stack: stackName, drift: rows.length > 0, hosts: report, ...(errors[""] ? { error: errors[""] } : {}) }, null, 2));
    } else {
        console.log(formatTable(names.filter((n) => n !== ""), rows, errors));
        if (errors[""]) console.log(`ERROR: ${errors[""]}\n`);
        console.log(code === 2 ? "drift check incomplete: see errors above" : rows.length ? "DRIFT found (repair: npm run drift -- --repair, or pulumi up --refresh)" : "no drift");
    }
    return code;
}

main().then((code) => process.exit(code), exitOnError("drift", USAGE, 2));
