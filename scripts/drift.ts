/**
 * Drift detection for people and CI, on top of Pulumi's own refresh: `pulumi preview --refresh`
 * through the Automation API. conntune's provider reads every managed file on its host during the
 * refresh (one SSH connection per host: tools/command-provider/read.go); what the refresh changed is
 * drift, what else the preview plans is the program's pending changes (shown apart, never repaired
 * here). A table per host (or --json); exit 1 on drift or pending changes, 2 on an error, so a
 * scheduled pipeline job can alert. No list of what each kind checks.
 *
 * Before it, the live check (scripts/liveCheck.ts): each host's Redis read over a fresh SSH login
 * (INFO clients/stats, CLIENT LIST), compared with the declared connection budget; a finding (more
 * clients than declared, naming the peer with the most; rejected connections; near maxclients)
 * counts as drift (exit 1), a host whose Redis could not be read makes the check incomplete (exit 2).
 *
 *   npm run drift -- --stack NAME [--json] [--parallel N] [--no-live] [--project-dir DIR]
 *   npm run drift -- --stack NAME --repair     `pulumi up --refresh`: re-applies exactly the drifted files (refused while program changes are pending)
 */
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { exitOnError, intFlag, parseFlags, projectDir, UsageError } from "./cli";
import { engineStep, openStack, readConfig } from "./engine";
import { configuredHosts } from "../components/load";
import { clientsLine } from "./live";
import { configMapNotChecked, HostLive, liveCheck } from "./liveCheck";
import { stackConfigOf } from "../components/load";
import { printable } from "./driftReport";
import { driftExitCode, driftReport, EventLike, FileDrift, formatTable, HostHint, hostOf, PendingChange, verdict } from "./driftReport";

const USAGE = "npm run drift -- --stack NAME [--json] [--parallel N] [--repair] [--no-live] [--project-dir DIR]";

interface HostEntry { name: string; connection: { host: string; port?: number } }

/** The hosts of the stack's `conntune:hosts` or `conntune:hostsFile` (its config read once), to name rows by host rather than by address (none for a Kubernetes-only stack). */
function stackHosts(config: Record<string, unknown>): HostEntry[] {
    const hosts = configuredHosts(config, projectDir());
    return Array.isArray(hosts) ? (hosts as HostEntry[]).filter((h) => h && typeof h.name === "string" && h.connection) : [];
}

interface Result { rows: FileDrift[]; pending: PendingChange[]; errors: Record<string, string> }

/** The error lines of a failed preview, by the host the provider names ("refresh could not read FILE on HOST: …"), else under "". */
function failure(text: string, hostName: (hint: HostHint) => string): Record<string, string> {
    const errors: Record<string, string> = {};
    for (const m of text.matchAll(/refresh could not read (\S+) on ([^:\s]+): ([^\n]*)/g)) errors[hostName({ address: m[2], resource: "" })] ??= `cannot read ${m[1]}: ${m[3]}`;
    if (Object.keys(errors).length === 0) errors[""] = [...new Set(text.split("\n").filter((l) => /error/i.test(l) && !/^\s*(err\?: )?Error: Command failed/.test(l)))].slice(0, 8).join("\n") || text.slice(-2000);
    return errors;
}

/** One refresh preview (of the resources `target` names, else of the whole stack). */
async function preview(stack: Stack, parallel: number, hostName: (hint: HostHint) => string, target?: string[], refresh = true): Promise<Result> {
    const events: EventLike[] = [];
    // The engine's own error messages (e.g. a provider's reason) reach only the event stream.
    const diagnostics: string[] = [];
    const onEvent = (e: EngineEvent) => {
        events.push(e as EventLike);
        const d = e.diagnosticEvent;
        if (d?.severity === "error") diagnostics.push(`error: ${d.message.replace(/\u001b\[[0-9;]*m/g, "").trim()}`);
    };
    try {
        await stack.preview({ refresh, diff: true, parallel, onEvent, ...(target ? { target } : {}) });
    } catch (e) {
        // What the refresh found before the preview failed is still drift.
        const text = [e instanceof Error ? e.message : String(e), ...diagnostics].join("\n");
        return { rows: driftReport(events, hostName).rows, pending: [], errors: failure(text, hostName) };
    }
    return { ...driftReport(events, hostName), errors: {} };
}

/**
 * The stack's managed resources by the host (or cluster) they belong to, from its exported state:
 * what one targeted refresh preview per host covers.
 */
async function resourcesByHost(stack: Stack, hostName: (hint: HostHint) => string): Promise<Map<string, string[]>> {
    const state = await stack.exportStack();
    const resources = ((state.deployment as { resources?: Array<{ urn: string; type: string; custom?: boolean; inputs?: Record<string, unknown> }> }).resources ?? []);
    const groups = new Map<string, string[]>();
    for (const r of resources) {
        if (!r.custom || r.type.startsWith("pulumi:")) continue;
        const name = r.urn.split("::").pop() ?? r.urn;
        const conn = (r.inputs?.connection ?? {}) as Record<string, unknown>;
        const group = r.type === "command:remote:Command" ? hostName({ address: typeof conn.host === "string" ? conn.host : undefined, port: typeof conn.port === "number" ? conn.port : undefined, resource: name }) : r.type.startsWith("kubernetes:") ? "kubernetes" : r.type.split(":")[0];
        groups.set(group, [...(groups.get(group) ?? []), r.urn]);
    }
    return groups;
}

/**
 * The refresh preview of the whole stack; when it fails (a host cannot be read), one targeted refresh
 * preview per host, so every reachable host still gets its rows and only the failing one an error.
 */
async function check(stack: Stack, hosts: HostEntry[], parallel: number, refresh = true): Promise<Result> {
    const known = hosts.map((h) => ({ name: h.name, host: h.connection.host, port: h.connection.port ?? 22 }));
    const hostName = (hint: HostHint) => hostOf(known, hint);
    const whole = await preview(stack, parallel, hostName, undefined, refresh);
    if (Object.keys(whole.errors).length === 0) return whole;
    const groups = await resourcesByHost(stack, hostName);
    if (groups.size < 2) return whole;
    const all: Result = { rows: [], pending: [], errors: {} };
    for (const [group, urns] of groups) {
        const r = await preview(stack, parallel, hostName, urns);
        all.rows.push(...r.rows);
        all.pending.push(...r.pending);
        for (const [h, e] of Object.entries(r.errors)) all.errors[h || group] ??= e;
    }
    all.rows.sort((a, b) => a.host.localeCompare(b.host) || a.file.localeCompare(b.file));
    return all;
}

/** The live check's part of the table: per host its clients, then each finding or error. */
function formatLive(live: HostLive[], notLive?: string): string {
    const out = ["live check (Redis INFO clients/stats, CLIENT LIST, compared with the declared budget)"];
    for (const l of live) {
        out.push(`${printable(l.label ?? `host ${l.host}`)}: ${l.probe ? printable(clientsLine(l.probe)) : "not read"}`);
        for (const f of l.findings) out.push(`LIVE: ${printable(f)}`);
        if (l.error) out.push(`ERROR: ${printable(l.error)}`);
    }
    if (notLive) out.push(notLive);
    out.push("");
    return out.join("\n");
}

/** The stack config validated, or undefined when it is invalid (the preview then names the problem). */
function stackConfigOfSafe(config: Record<string, unknown>) {
    try {
        return stackConfigOf(config, projectDir());
    } catch {
        return undefined;
    }
}

async function main(): Promise<number> {
    const flags = parseFlags({ stack: "string", json: "boolean", parallel: "string", repair: "boolean", "no-live": "boolean", "project-dir": "string" });
    const stackName = flags.stack;
    if (!stackName) throw new UsageError("--stack is required");
    const parallel = intFlag("parallel", flags.parallel, 64, 1, 256);
    const json = flags.json === true;
    // The report reads what changed from the engine's refresh diff (a secret command's values are
    // masked): the legacy refresh diff computes none, so it is never used here.
    delete process.env.PULUMI_ENABLE_LEGACY_REFRESH_DIFF;
    const stack = await engineStep("stack select", () => openStack(stackName, { workDir: projectDir() }));
    const config = await engineStep("config", () => readConfig(stack));
    const hosts = stackHosts(config);
    // A pipeline pointed at the wrong stack would otherwise pass.
    if (hosts.length === 0 && config["conntune:redis"] === undefined) {
        throw new Error(`stack ${stackName} has neither hosts nor redis (conntune:hosts is empty, no conntune:redis): nothing to check`);
    }
    // The live check first (its own SSH logins, read-only): during the refresh, conntune's own reads
    // of Redis (redis-cli CONFIG GET) would count as clients.
    const valid = stackConfigOfSafe(config);
    // An invalid config stops the live check with its problems (stackConfigOf throws them).
    const parsed = flags["no-live"] ? undefined : (valid ?? stackConfigOf(config, projectDir()));
    const live: HostLive[] = parsed ? await liveCheck(parsed, config, "drift") : [];
    // A render-mode ConfigMap stack manages only files for a GitOps tool: there is no cluster to
    // refresh from (the provider refuses), so its check is the program's pending changes alone.
    const redisMode = valid?.redis?.mode;
    const refresh = !(hosts.length === 0 && redisMode === "render");
    let { rows, pending, errors } = await check(stack, hosts, parallel, refresh);
    const notLive = parsed ? configMapNotChecked(parsed) : undefined;
    let refused: string | undefined;
    if (flags.repair && rows.length && Object.keys(errors).length === 0) {
        if (pending.length) {
            // up --refresh would apply them too: --repair repairs drift only, never unreviewed settings.
            refused = "drift --repair refused: the program has pending changes (listed above), which up --refresh would apply too; review them and run pulumi up first (it repairs the drift as well)";
        } else {
            const log = (s: string) => (json ? process.stderr : process.stdout).write(s);
            await stack.up({ refresh: true, diff: true, parallel, message: "conntune drift repair", onOutput: log });
            ({ rows, pending, errors } = await check(stack, hosts, parallel, refresh));
        }
    }
    // Rows of a host the config does not name (a cluster's objects, or a host left out of the config) are still shown.
    const names = [...new Set([...hosts.map((h) => h.name), ...rows.map((r) => r.host), ...Object.keys(errors)])];
    const liveFindings = live.flatMap((l) => l.findings);
    const liveErrors = live.filter((l) => l.error);
    const fileCode = driftExitCode(rows, errors, pending);
    const code = refused || liveErrors.length ? 2 : fileCode === 0 && liveFindings.length ? 1 : fileCode;
    if (json) {
        const report = Object.fromEntries(names.filter((n) => n !== "").map((n) => [n, { files: rows.filter((r) => r.host === n).map(({ host: _h, ...r }) => r), ...(errors[n] ? { error: errors[n] } : {}) }]));
        const liveReport = Object.fromEntries(live.map((l) => [l.host, { ...(l.probe?.info ? { ...l.probe.info, peers: l.probe.clientPeers.length ? l.probe.clientPeers : l.probe.ssPeers } : {}), ...(l.probe?.clientSide ? { clientSide: l.probe.clientSide } : {}), ...(l.budget ? { budget: l.budget } : {}), findings: l.findings, ...(l.error ? { error: l.error } : {}) }]));
        console.log(JSON.stringify({ stack: stackName, drift: rows.length > 0, hosts: report, pending, live: { findings: liveFindings, hosts: liveReport, ...(notLive ? { notChecked: [notLive] } : {}) }, ...(errors[""] ? { error: errors[""] } : {}) }, null, 2));
    } else {
        console.log(formatTable(names.filter((n) => n !== ""), rows, errors, pending));
        if (errors[""]) console.log(`ERROR: ${errors[""]}\n`);
        if (live.length || notLive) console.log(formatLive(live, notLive));
        console.log(verdict(rows, errors, pending));
        if (liveFindings.length) console.log("LIVE findings: the Redis clients do not keep to the declared connection budget (see live check above)");
        if (liveErrors.length) console.log("live check incomplete: see errors above");
    }
    if (refused) console.error(refused);
    return code;
}

main().then((code) => process.exit(code), exitOnError("drift", USAGE, 2));
