/**
 * The fixed cost of one command (issue 14): a one-host no-op `pulumi up` and `pulumi preview`, the
 * program started by program.js (as shipped) against the SDK's own ts-node start, medians of
 * alternating runs on one stack and one test host. Part of every `npm run bench` (bench/converge.ts)
 * and on its own:
 *
 *   npm run bench:fixed -- [--reps 7] [--parallel 64] [--out bench/results]   → fixed-cost.{md,json}
 *
 * Nothing here asserts a time.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addGatewayUnit, startHosts, stopHosts, TestHost } from "../lab/hosts/harness";
import { conntuneProject, LabStack, noChanges, REPO } from "../lab/stack";
import { exitOnError, intFlag, parseFlags } from "../scripts/cli";
import { engineEnv, pulumiBinary } from "../scripts/engine";

const UNIT = "llm-gateway.service";
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

/** The converge benchmark's host settings (the four host components, seed 000). */
function hostConfig(h: TestHost, keepalive: number): unknown {
    return {
        name: h.name,
        connection: { host: h.address, user: "root", hostKey: h.hostKey },
        sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" }, settings: { "net.ipv4.tcp_keepalive_time": keepalive } },
        limits: { soft: 16384, hard: 16384 },
        systemdOverrides: [{ unit: UNIT, settings: { Service: { LimitNOFILE: 16384 } } }],
    };
}

function prepare(root: string): void {
    addGatewayUnit(root, true);
}

/** The fixed cost of one command on one host: medians of alternating runs, conntune's loader vs the SDK's ts-node. */
export interface FixedCost {
    reps: number;
    /** Load average (1 min) before and after: the machine is shared. */
    load: [number, number];
    /** Seconds per run, by program start: `loader` (program.js, as shipped) and `ts-node` (main: index.ts, the SDK's runner). */
    noopUp: Record<"loader" | "ts-node", number[]>;
    preview: Record<"loader" | "ts-node", number[]>;
}

/** The median of some timings. */
export const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * One host, one stack: a first apply, then `reps` rounds of a no-op `up` and a `preview` (no
 * tracing, as a user runs them), each with the program started both ways back to back (Pulumi.yaml's
 * `main` switched between program.js and index.ts in the stack's project copy).
 */
export async function fixedCost(reps: number, parallel: number): Promise<FixedCost> {
    const hosts = await startHosts(1, { prepare });
    let stack: LabStack | undefined;
    const load0 = os.loadavg()[0];
    try {
        stack = await LabStack.create(conntuneProject(), "bench-fixed");
        const s = stack;
        s.setSecret("conntune:sshPrivateKey", hosts[0].privateKey);
        await s.setHosts([hostConfig(hosts[0], 600)]);
        await s.up({ parallel });
        const yaml = path.join(s.projectDir, "Pulumi.yaml");
        const shipped = fs.readFileSync(yaml, "utf8");
        if (!/^main: program\.js$/m.test(shipped)) throw new Error("Pulumi.yaml's main is not program.js: the fixed-cost comparison needs conntune's loader");
        const modes = ["loader", "ts-node"] as const;
        const out: FixedCost = { reps, load: [load0, 0], noopUp: { loader: [], "ts-node": [] }, preview: { loader: [], "ts-node": [] } };
        const timed = async (work: () => Promise<unknown>) => {
            const t0 = process.hrtime.bigint();
            await work();
            return Number(process.hrtime.bigint() - t0) / 1e9;
        };
        // The CLI as `npm run pulumi -- …` runs it (scripts/pulumi.sh's environment), not the
        // Automation API, whose `up` adds a `stack output` and a `stack history` call of its own.
        const env = { ...process.env, ...engineEnv(s.projectDir, s.env), PULUMI_PARALLEL: String(parallel) };
        const cli = (args: string[]) =>
            new Promise<string>((resolve, reject) => {
                const p = spawn(pulumiBinary(env), [...args, "--stack", s.name, "--non-interactive"], { cwd: s.projectDir, env, stdio: ["ignore", "pipe", "pipe"] });
                let text = "";
                p.stdout.on("data", (d) => (text += d));
                p.stderr.on("data", (d) => (text += d));
                p.on("error", reject);
                p.on("close", (code) => (code === 0 ? resolve(text) : reject(new Error(`pulumi ${args.join(" ")} exited ${code}\n${text.slice(-3000)}`))));
            });
        for (let i = 0; i < reps; i++) {
            for (const mode of i % 2 ? [...modes].reverse() : modes) {
                fs.writeFileSync(yaml, mode === "loader" ? shipped : shipped.replace(/^main: program\.js$/m, "main: index.ts"));
                let text = "";
                out.noopUp[mode].push(await timed(async () => void (text = await cli(["up", "--yes", "--skip-preview"]))));
                if (!noChanges(text)) throw new Error(`the no-op up (${mode}) changed something:\n${text.slice(-3000)}`);
                out.preview[mode].push(await timed(() => cli(["preview"])));
            }
        }
        fs.writeFileSync(yaml, shipped);
        await s.destroy();
        out.load[1] = os.loadavg()[0];
        return out;
    } finally {
        await stack?.remove();
        await stopHosts(hosts);
    }
}

/** The fixed-cost section of the report. */
export function fixedCostReport(f: FixedCost): string[] {
    const row = (what: string, target: string, xs: Record<"loader" | "ts-node", number[]>) =>
        `| ${what} | ${fmt(median(xs.loader), 2)} s | ${fmt(median(xs["ts-node"]), 2)} s | ${target} |`;
    return [
        "## Fixed cost of one command (one host)",
        "",
        `Medians of ${f.reps} runs each of the CLI (\`pulumi up --yes --skip-preview\`, \`pulumi preview\`, in scripts/pulumi.sh's environment; \`npm run pulumi\` adds npm and the toolchain step's check), the two ways of starting the program alternating back to back on one stack (load average ${fmt(f.load[0], 1)} before, ${fmt(f.load[1], 1)} after). \`loader\`: program.js, as shipped (sources transpiled once per content and cached, no ts-node, the SDK's unused modules deferred); \`ts-node\`: the same stack with \`main: index.ts\`, the SDK's own runner with ts-node.`,
        "",
        "| one host | loader | ts-node | target (issue 14) |",
        "|---|---:|---:|---|",
        row("no-op `pulumi up`", "< 1.2 s", f.noopUp),
        row("`pulumi preview`", "< 1.5 s", f.preview),
        "",
        `All runs (s): no-op up loader ${f.noopUp.loader.map((x) => fmt(x, 2)).join(", ")}; ts-node ${f.noopUp["ts-node"].map((x) => fmt(x, 2)).join(", ")}; preview loader ${f.preview.loader.map((x) => fmt(x, 2)).join(", ")}; ts-node ${f.preview["ts-node"].map((x) => fmt(x, 2)).join(", ")}.`,
        "",
    ];
}


async function main(): Promise<void> {
    const flags = parseFlags({ reps: "string", parallel: "string", out: "string" });
    const reps = intFlag("reps", flags.reps, 7, 1, 50);
    const parallel = intFlag("parallel", flags.parallel, 64, 1, 1000);
    const outDir = path.resolve(flags.out ?? path.join(REPO, "bench", "results"));
    const started = new Date().toISOString();
    const fixed = await fixedCost(reps, parallel);
    const md = [`# Fixed cost of one command`, "", `Produced by \`npm run bench:fixed -- --reps ${reps}\` on ${started}; machine: ${os.cpus().length} cores, shared with other work.`, "", ...fixedCostReport(fixed).slice(1)].join("\n");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, "fixed-cost.md"), md);
    fs.writeFileSync(path.join(outDir, "fixed-cost.json"), JSON.stringify({ started, parallel, fixed }, null, 2) + "\n");
    console.log(md);
}

if (require.main === module) main().catch(exitOnError("bench:fixed", "npm run bench:fixed -- [--reps 7] [--parallel 64] [--out DIR]", 1));
