/**
 * Drift detection: for every host of a host stack, ONE SSH login (pinned host key), read the
 * effective state and compare it with what the stack wants. A table per host (or --json); exit 1 on
 * drift, 2 on an error, so a scheduled pipeline job can alert.
 *
 *   npm run drift -- --stack NAME [--json] [--parallel 4] [--project-dir DIR]
 *   npm run drift -- --stack NAME --repair     re-apply exactly the drifted files with `pulumi up`
 */
import { NodeSSH } from "node-ssh";
import { parseStackConfig } from "../components/config";
import { compare, DriftRow, driftExitCode, formatTable, parseProbe, probeScript, wantedState } from "../components/drift";
import { asRoot, passwordLine } from "../components/core/connection";
import { exitOnError, intFlag, objectConfig, parseFlags, pulumi, UsageError } from "./cli";

const USAGE = "npm run drift -- --stack NAME [--json] [--parallel N] [--repair] [--project-dir DIR]";

function pulumiConfig(stack: string): Record<string, unknown> {
    const out = pulumi(["config", "--json", "--show-secrets", "--stack", stack], "capture");
    const raw = JSON.parse(out) as Record<string, { value?: string; objectValue?: unknown }>;
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.objectValue ?? v.value]));
}

/** Mark the drifted files for re-apply (a new repair token each) and run `pulumi up`. */
function repair(stack: string, config: ReturnType<typeof parseStackConfig>, results: Record<string, DriftRow[] | { error: string }>, json: boolean): void {
    const tokens: Record<string, Record<string, string>> = JSON.parse(JSON.stringify(config.repair));
    const token = Date.now().toString(36);
    for (const h of config.hosts) {
        const rows = results[h.name];
        if (!Array.isArray(rows)) continue;
        const fileOf = wantedState(h).fileOf;
        for (const r of rows.filter((x) => x.status === "drift")) (tokens[h.name] ??= {})[fileOf[r.setting]] = token;
    }
    pulumi(["config", "set-all", "--stack", stack, "--json", objectConfig("conntune:repair", tokens)], "quiet");
    pulumi(["up", "--yes", "--skip-preview", "--diff", "--stack", stack, "--message", "conntune drift repair"], json ? "quiet" : "show");
}

async function checkHost(h: ReturnType<typeof parseStackConfig>["hosts"][number], cfg: Record<string, unknown>): Promise<DriftRow[]> {
    const c = h.connection;
    const privateKey = cfg[`conntune:${c.privateKeySecret}`] as string | undefined;
    if (!privateKey) throw new Error(`conntune:${c.privateKeySecret} is not set for ${h.name}`);
    const sudoPassword = c.sudoPasswordSecret ? (cfg[`conntune:${c.sudoPasswordSecret}`] as string) : undefined;
    const blob = Buffer.from(c.hostKey.split(" ")[1], "base64");
    const ssh = new NodeSSH();
    await ssh.connect({ host: c.host, port: c.port, username: c.user, privateKey, readyTimeout: 15_000, hostVerifier: (k: Buffer) => k.equals(blob) });
    ssh.connection?.on("error", () => undefined); // a late reset after the probe finished is not a failure
    try {
        const wanted = wantedState(h);
        // This login is itself a fresh login: its limits are what pam_limits gives.
        const login = await ssh.execCommand("echo limits:login_soft=$(ulimit -Sn); echo limits:login_hard=$(ulimit -Hn)");
        const sudo = c.sudo ?? c.user !== "root";
        // asRoot reads the password line only when sudo runs with one (see components/core/connection.ts).
        const withPassword = sudo && sudoPassword !== undefined;
        const probe = await ssh.execCommand(asRoot({ sudo, sudoPassword }, probeScript(wanted)), { stdin: withPassword ? `${passwordLine(sudoPassword)}\n` : "" });
        if (probe.code !== 0) throw new Error(`probe on ${h.name} failed: ${withPassword ? probe.stderr.split(sudoPassword).join("[secret]") : probe.stderr}`);
        return compare(wanted, { ...parseProbe(login.stdout), ...parseProbe(probe.stdout) });
    } finally {
        ssh.dispose();
    }
}

async function main(): Promise<number> {
    const flags = parseFlags({ stack: "string", json: "boolean", parallel: "string", repair: "boolean", "project-dir": "string" });
    const stack = flags.stack;
    if (!stack) throw new UsageError("--stack is required");
    const parallel = intFlag("parallel", flags.parallel, 4, 1, 64);
    const json = flags.json === true;
    const cfg = pulumiConfig(stack);
    const config = parseStackConfig({ hosts: cfg["conntune:hosts"], redis: cfg["conntune:redis"], repair: cfg["conntune:repair"] });
    if (config.hosts.length === 0) throw new Error(`stack ${stack} has no hosts (conntune:hosts is empty): nothing to check`);
    const results: Record<string, DriftRow[] | { error: string }> = {};
    const queue = [...config.hosts];
    await Promise.all(
        Array.from({ length: Math.min(parallel, queue.length) }, async () => {
            for (let h = queue.shift(); h; h = queue.shift()) {
                try {
                    results[h.name] = await checkHost(h, cfg);
                } catch (e) {
                    results[h.name] = { error: (e as Error).message };
                }
            }
        }),
    );
    let drift = Object.values(results).some((r) => Array.isArray(r) && r.some((x) => x.status === "drift"));
    if (drift && flags.repair) {
        repair(stack, config, results, json);
        for (const h of config.hosts) {
            try {
                results[h.name] = await checkHost(h, cfg);
            } catch (e) {
                results[h.name] = { error: (e as Error).message };
            }
        }
        drift = Object.values(results).some((r) => Array.isArray(r) && r.some((x) => x.status === "drift"));
    }
    // A host that got no result (its check never ran) is an error, not "no drift".
    for (const h of config.hosts) results[h.name] ??= { error: "no result: the check did not run for this host" };
    const code = driftExitCode(config.hosts.map((h) => h.name), results);
    if (json) console.log(JSON.stringify({ stack, drift, hosts: results }, null, 2));
    else {
        for (const h of config.hosts) {
            const r = results[h.name];
            console.log(Array.isArray(r) ? formatTable(h.name, r) : `host ${h.name}\nERROR: ${r.error}`);
            console.log("");
        }
        console.log(code === 2 ? "drift check incomplete: see errors above" : drift ? "DRIFT found" : "no drift");
    }
    return code;
}

main().then((code) => process.exit(code), exitOnError("drift", USAGE, 2));
