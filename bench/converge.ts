/**
 * Converge benchmark: conntune (`pulumi up`) against an Ansible playbook that makes the same changes
 * the same safe way, side by side in one run, on 1, 5 and 10 test hosts (systemd + OpenSSH under
 * systemd-nspawn, each in its own network namespace).
 *
 * For each fleet size and each tool, on freshly booted hosts:
 *   first apply  → no-op re-run → a one-value change (net.ipv4.tcp_keepalive_time 600 → 300)
 * each measured as wall time and as SSH logins per host (`journalctl -t sshd`, read through the
 * test back door, so counting adds no login). conntune also gets `pulumi preview` (time, logins).
 * Where conntune's time goes: engine + program start (a preview of an empty stack), per-resource
 * operation times from the engine's event log, and a bare SSH login. The fixed cost of one command
 * (a one-host no-op up and preview, program.js against ts-node): bench/fixedCost.ts.
 *
 *   npm run bench -- [--sizes 1,5,10] [--reps 2] [--out bench/results]
 *
 * Figures are written to bench/results/converge.{md,json}. Nothing here asserts a time.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addGatewayUnit, hostExec, startHosts, stopHosts, TestHost } from "../lab/hosts/harness";
import { conntuneProject, LabStack, REPO } from "../lab/stack";
import { exitOnError, intFlag, parseFlags, UsageError } from "../scripts/cli";
import { pulumiBinary } from "../scripts/engine";
import { FixedCost, fixedCost, fixedCostReport, median } from "./fixedCost";

const USAGE = "npm run bench -- [--sizes 1,5,10] [--reps 2] [--parallel 64] [--conntune-only] [--out DIR]";

const UNIT = "llm-gateway.service";
const PHASES = ["first", "noop", "change"] as const;
type Phase = (typeof PHASES)[number];
type Tool = "conntune" | "ansible";

interface Measure {
    seconds: number;
    /** SSH logins per host (mean over the hosts). */
    logins: number;
    /** Files whose modification time changed on the first host. */
    filesTouched: number;
}

interface SizeResult {
    hosts: number;
    conntune: Record<Phase, Measure> & { preview: Measure; previewNoop: Measure };
    ansible: Record<Phase, Measure>;
    /** conntune's per-operation seconds by resource kind (first apply), from the event log. */
    opSeconds?: Partial<Record<Phase, OpStats>>;
}

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

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

/** Accepted SSH logins so far on each host (the journal, read without SSH). */
function logins(hosts: TestHost[]): number[] {
    return hosts.map((h) => Number(hostExec(h, "journalctl -q -t sshd --no-pager | grep -c 'Accepted ' || true").trim() || "0"));
}

function mtimes(h: TestHost, files: string[]): string[] {
    return hostExec(h, files.map((f) => `stat -c %Y.%X ${f} 2>/dev/null || echo none`).join("; ")).trim().split("\n");
}

async function measure(hosts: TestHost[], files: string[], work: () => Promise<void>): Promise<Measure> {
    const before = logins(hosts);
    const mBefore = files.length ? mtimes(hosts[0], files) : [];
    const t0 = process.hrtime.bigint();
    await work();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await new Promise((r) => setTimeout(r, 500)); // journald gets sshd's last lines
    const after = logins(hosts);
    const mAfter = files.length ? mtimes(hosts[0], files) : [];
    const perHost = after.map((a, i) => a - before[i]);
    return {
        seconds,
        logins: perHost.reduce((a, b) => a + b, 0) / hosts.length,
        filesTouched: mAfter.filter((m, i) => m.split(".")[0] !== mBefore[i].split(".")[0]).length,
    };
}

interface Span {
    svc: string;
    name: string;
    start: number;
    end: number;
    msg: string;
    attrs: Record<string, string>;
}

/** The spans of an OpenTelemetry trace file (`pulumi up --otel-traces file://…`), times in seconds. */
function readSpans(file: string): Span[] {
    const spans: Span[] = [];
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue;
        type Attr = { key: string; value: { stringValue?: string; intValue?: string } };
        const d = JSON.parse(line) as { resourceSpans: Array<{ resource: { attributes: Attr[] }; scopeSpans: Array<{ spans: Array<{ name: string; startTimeUnixNano: string; endTimeUnixNano: string; attributes?: Attr[] }> }> }> };
        for (const rs of d.resourceSpans) {
            const svc = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
            for (const ss of rs.scopeSpans) {
                for (const sp of ss.spans) {
                    const msg = (sp.attributes ?? []).filter((a) => a.key === "Msg").map((a) => a.value.stringValue ?? "").join(" ");
                    const attrs = Object.fromEntries((sp.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? ""]));
                    spans.push({ svc, name: sp.name, start: Number(BigInt(sp.startTimeUnixNano) / 1000n) / 1e6, end: Number(BigInt(sp.endTimeUnixNano) / 1000n) / 1e6, msg, attrs });
                }
            }
        }
    }
    return spans;
}

export interface OpStats {
    /** From the CLI's start to the program's first resource registration. */
    programStart: number;
    /** From the first to the last provider operation's end. */
    commands: number;
    /** From the last provider operation to the end of the update (outputs, state). */
    finish: number;
    total: number;
    /** Per kind of managed file: provider Create/Update durations (s). */
    ops: Record<string, { count: number; median: number; max: number }>;
    /** SSH connections the provider opened (one per host and login, shared by its commands). */
    dials: { count: number; median: number };
}

/** Where an update's time went, from its trace: program start, provider operations, the rest. */
function opDurations(traceFile: string): OpStats {
    const spans = readSpans(traceFile);
    const root = spans.find((s) => s.svc === "pulumi-cli" && s.name === "pulumi");
    const regs = spans.filter((s) => s.svc === "pulumi-language-host" && s.name.endsWith("ResourceMonitor/RegisterResource"));
    const creates = spans.filter((s) => s.svc === "pulumi-cli" && /ResourceProvider\/(Create|Update)$/.test(s.name));
    if (!root || regs.length === 0) throw new Error("the trace has no update or registration spans");
    // conntune's provider tags its spans with the resource's URN and the time of any SSH dial.
    const ops_ = spans.filter((s) => s.svc === "command" && /ResourceProvider\/(Create|Update)$/.test(s.name) && s.attrs["pulumi.urn"]);
    const byKind = new Map<string, number[]>();
    const dials: number[] = [];
    for (const c of ops_) {
        const name = c.attrs["pulumi.urn"].split("::").pop() ?? "";
        const kind = /-(sshd-dropin|sysctl-file|limits-limits|limits-systemd-default|dropin)(-apply)?$/.exec(name)?.[1] ?? name;
        const list = byKind.get(kind) ?? [];
        list.push(c.end - c.start);
        byKind.set(kind, list);
        if (c.attrs["conntune.ssh_dial_ms"]) dials.push(Number(c.attrs["conntune.ssh_dial_ms"]) / 1000);
    }
    const ops: OpStats["ops"] = {};
    for (const [k, v] of byKind) {
        v.sort((a, b) => a - b);
        ops[k] = { count: v.length, median: v[Math.floor(v.length / 2)], max: v[v.length - 1] };
    }
    const firstReg = Math.min(...regs.map((r) => r.start));
    const firstOp = creates.length ? Math.min(...creates.map((c) => c.start)) : firstReg;
    const lastOp = creates.length ? Math.max(...creates.map((c) => c.end)) : Math.max(...regs.map((r) => r.end));
    dials.sort((a, b) => a - b);
    return { programStart: firstReg - root.start, commands: lastOp - firstOp, finish: root.end - lastOp, total: root.end - root.start, ops, dials: { count: dials.length, median: dials[Math.floor(dials.length / 2)] ?? 0 } };
}

interface Files {
    sshd: string;
    sysctl: string;
    limits: string;
    systemdDefault: string;
    override: string;
}

/** The files conntune manages on one host (from the stack output), by component. */
function filesOf(outputs: Record<string, unknown>, host: string): { paths: Files; content: Record<string, string> } {
    const f = (outputs.files as Record<string, Record<string, string[]>>)[host];
    const content: Record<string, string> = {};
    for (const [p, lines] of Object.entries(f)) content[p] = `${lines.join("\n")}\n`;
    const find = (re: RegExp) => Object.keys(content).find((p) => re.test(p))!;
    return {
        paths: {
            sshd: find(/^\/etc\/ssh\/sshd_config\.d\//),
            sysctl: find(/^\/etc\/sysctl\.d\//),
            limits: find(/^\/etc\/security\/limits\.d\//),
            systemdDefault: find(/^\/etc\/systemd\/system\.conf\.d\//),
            override: find(new RegExp(`^/etc/systemd/system/${UNIT.replace(".", "\\.")}\\.d/`)),
        },
        content,
    };
}

async function runConntune(n: number, parallel: number): Promise<{ r: SizeResult["conntune"]; ops: Partial<Record<Phase, OpStats>>; files: [Files, Record<string, string>, Record<string, string>] }> {
    const hosts = await startHosts(n, { prepare });
    let stack: LabStack | undefined;
    const events = path.join(os.tmpdir(), `conntune-bench-trace-${process.pid}.jsonl`);
    const ops: Partial<Record<Phase, OpStats>> = {};
    try {
        stack = await LabStack.create(conntuneProject(), `bench-${n}`);
        const s = stack;
        s.setSecret("conntune:sshPrivateKey", hosts[0].privateKey);
        await s.setHosts(hosts.map((h) => hostConfig(h, 600)));
        const traced = async (phase: Phase, files: string[]) => {
            let out = "";
            const m = await measure(hosts, files, () => s.up({ parallel, otelTraces: events }).then((r) => void (out = `${r.stdout}\n${r.stderr}`)));
            if (m.seconds > 30) {
                // An outlier: keep what the CLI printed and every host's journal of the last minutes for a look.
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), `conntune-bench-slow-${n}-${phase}-`));
                fs.writeFileSync(path.join(dir, "pulumi.log"), out);
                for (const h of hosts) fs.writeFileSync(path.join(dir, `${h.name}.journal`), hostExec(h, "journalctl -q --no-pager --since=-5min || true"));
                log(`${n} host(s) ${phase} took ${m.seconds.toFixed(0)} s: CLI output and the hosts' journals are in ${dir}`);
            }
            try {
                ops[phase] = opDurations(events);
            } catch (e) {
                log(`no trace for ${phase}: ${(e as Error).message}`);
            }
            if (process.env.BENCH_KEEP_TRACES) fs.renameSync(events, path.join(process.env.BENCH_KEEP_TRACES, `trace-${n}-${phase}.jsonl`));
            else fs.rmSync(events, { force: true });
            return m;
        };
        const preview = await measure(hosts, [], () => s.preview({ parallel }).then(() => undefined));
        const first = await traced("first", []);
        const f1 = filesOf(await s.outputs(), hosts[0].name);
        const files = Object.values(f1.paths);
        const noop = await traced("noop", files);
        const previewNoop = await measure(hosts, [], () => s.preview({ parallel }).then(() => undefined));
        await s.setHosts(hosts.map((h) => hostConfig(h, 300)));
        const change = await traced("change", files);
        const f2 = filesOf(await s.outputs(), hosts[0].name);
        check(hosts, "300");
        await s.destroy();
        return { r: { preview, previewNoop, first, noop, change }, ops, files: [f1.paths, f1.content, f2.content] };
    } finally {
        fs.rmSync(events, { force: true });
        await stack?.remove();
        await stopHosts(hosts);
    }
}

/** Both tools must end where the settings say. */
function check(hosts: TestHost[], keepalive: string): void {
    for (const h of hosts) {
        const got = hostExec(h, "sysctl -n net.ipv4.tcp_keepalive_time; sshd -T | awk '$1==\"clientaliveinterval\"{print $2}'; systemctl show -p LimitNOFILE --value " + UNIT).trim().split("\n");
        if (got[0] !== keepalive || got[1] !== "300" || got[2] !== "16384") throw new Error(`${h.name} did not converge: keepalive ${got[0]}, ClientAliveInterval ${got[1]}, ${UNIT} LimitNOFILE ${got[2]}`);
    }
}

function ansiblePlaybook(dir: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
        const p = spawn("ansible-playbook", args, {
            cwd: dir,
            env: { ...process.env, ANSIBLE_CONFIG: path.join(dir, "ansible.cfg"), ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCAL_TEMP: path.join(dir, "tmp") },
        });
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (out += d));
        p.on("error", reject);
        p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`ansible-playbook exited ${code}\n${out.slice(-3000)}`))));
    });
}

async function runAnsible(n: number, files: Files, before: Record<string, string>, after: Record<string, string>): Promise<Record<Phase, Measure>> {
    const hosts = await startHosts(n, { prepare });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-bench-ansible-"));
    try {
        fs.mkdirSync(path.join(dir, "tmp"));
        fs.writeFileSync(path.join(dir, "id"), hosts[0].privateKey, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "known_hosts"), hosts.map((h) => `${h.address} ${h.hostKey}\n`).join(""));
        fs.writeFileSync(
            path.join(dir, "inventory.ini"),
            ["[all]", ...hosts.map((h) => `${h.name} ansible_host=${h.address}`), "", "[all:vars]", "ansible_user=root", `ansible_ssh_private_key_file=${dir}/id`, "ansible_python_interpreter=/usr/bin/python3", ""].join("\n"),
        );
        const vars = (content: Record<string, string>) =>
            JSON.stringify({
                ct: Object.fromEntries(
                    (Object.entries(files) as Array<[keyof Files, string]>).map(([k, p]) => [k, { path: p, content: content[p], ...(k === "override" ? { unit: UNIT } : {}) }]),
                ),
            });
        fs.writeFileSync(path.join(dir, "vars-before.json"), vars(before));
        fs.writeFileSync(path.join(dir, "vars-after.json"), vars(after));
        const cfg = (run: string) =>
            [
                "[defaults]",
                "inventory = inventory.ini",
                "forks = 10",
                "host_key_checking = True",
                "interpreter_python = /usr/bin/python3",
                "retry_files_enabled = False",
                "",
                "[ssh_connection]",
                "pipelining = True",
                // ControlPersist on; a fresh control directory per run, so a run never rides on the
                // previous run's master connection (each run is measured on its own).
                `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${dir}/known_hosts -o StrictHostKeyChecking=yes`,
                `control_path_dir = ${dir}/cp-${run}`,
                "",
            ].join("\n");
        const playbook = path.join(REPO, "bench", "ansible", "playbook.yml");
        const paths = Object.values(files);
        const run = async (phase: Phase, varsFile: string) => {
            fs.writeFileSync(path.join(dir, "ansible.cfg"), cfg(phase));
            const m = await measure(hosts, paths, () => ansiblePlaybook(dir, [playbook, "-e", `@${varsFile}`]));
            // Close this run's master connections (ControlPersist) before the next run.
            for (const h of hosts) {
                try {
                    execFileSync("ssh", ["-o", `ControlPath=${dir}/cp-${phase}/%C`, "-O", "exit", `root@${h.address}`], { stdio: "ignore" });
                } catch {
                    /* already gone */
                }
            }
            return m;
        };
        const first = await run("first", "vars-before.json");
        const noop = await run("noop", "vars-before.json");
        const change = await run("change", "vars-after.json");
        check(hosts, "300");
        return { first, noop, change };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        await stopHosts(hosts);
    }
}

/** Engine + language host + program start: a preview of the conntune program with no hosts. */
async function engineStart(): Promise<number> {
    const stack = await LabStack.create(conntuneProject(), "bench-empty");
    try {
        await stack.setHosts([]);
        await stack.preview();
        const t0 = process.hrtime.bigint();
        await stack.preview();
        return Number(process.hrtime.bigint() - t0) / 1e9;
    } finally {
        await stack.remove();
    }
}

/** One bare SSH login with OpenSSH's client (handshake + auth + `true`), median of 5. */
async function bareLogin(): Promise<number> {
    const [h] = await startHosts(1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-bench-ssh-"));
    try {
        fs.writeFileSync(path.join(dir, "id"), h.privateKey, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "kh"), `${h.address} ${h.hostKey}\n`);
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
            const t0 = process.hrtime.bigint();
            execFileSync("ssh", ["-i", `${dir}/id`, "-o", `UserKnownHostsFile=${dir}/kh`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `root@${h.address}`, "true"]);
            times.push(Number(process.hrtime.bigint() - t0) / 1e9);
        }
        times.sort((a, b) => a - b);
        return times[2];
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        await stopHosts([h]);
    }
}

function skipped(): Record<Phase, Measure> {
    const none = { seconds: NaN, logins: NaN, filesTouched: NaN };
    return { first: none, noop: none, change: none };
}

function slope(rs: SizeResult[], f: (r: SizeResult) => number): number {
    const a = rs[0];
    const b = rs[rs.length - 1];
    return b.hosts === a.hosts ? NaN : (f(b) - f(a)) / (b.hosts - a.hosts);
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

function report(rs: SizeResult[], extra: { engine: number; login: number; parallel: number; reps: number; started: string; seconds: number; fixed?: FixedCost }): string {
    const lines: string[] = [];
    const ver = (cmd: string, a: string[]) => {
        try {
            return execFileSync(cmd, a, { encoding: "utf8" }).split("\n")[0].trim();
        } catch {
            return "unknown";
        }
    };
    lines.push("# Converge benchmark: conntune vs Ansible", "");
    lines.push(`Produced by \`npm run bench -- --sizes ${rs.map((r) => r.hosts).join(",")} --reps ${extra.reps}\` on ${extra.started} (${fmt(extra.seconds / 60)} min in all). Every size ran ${extra.reps} times with both tools side by side; each time is the fastest of its repetitions (all runs are in converge.json).`);
    lines.push(`Machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; test hosts are Debian bookworm (systemd, OpenSSH) under systemd-nspawn, one network namespace each, on the same machine.`);
    lines.push(`Tools: pulumi ${ver(pulumiBinary(), ["version"])} with conntune's command provider, \`--parallel ${extra.parallel}\`; ${ver("ansible-playbook", ["--version"])} (Debian), pipelining on, ControlPersist on (a fresh control socket per run), forks 10, no fact gathering.`);
    lines.push("Both tools write byte-identical files (the playbook gets conntune's rendered files), for the four host components with the seed-000 settings; the change is `net.ipv4.tcp_keepalive_time` 600 → 300.", "");
    lines.push("## Wall time (s) and SSH logins per host", "");
    lines.push("| hosts | phase | conntune s | Ansible s | conntune/Ansible | conntune logins/host | Ansible logins/host | files touched (conntune / Ansible) |");
    lines.push("|---:|---|---:|---:|---:|---:|---:|---|");
    for (const r of rs) {
        for (const p of PHASES) {
            const c = r.conntune[p];
            const a = r.ansible[p];
            lines.push(`| ${r.hosts} | ${p} | ${fmt(c.seconds)} | ${fmt(a.seconds)} | ${fmt(c.seconds / a.seconds, 2)} | ${fmt(c.logins)} | ${fmt(a.logins)} | ${p === "first" ? "all 5 / all 5" : `${c.filesTouched} / ${a.filesTouched}`} |`);
        }
        lines.push(`| ${r.hosts} | preview (changes pending) | ${fmt(r.conntune.preview.seconds)} | – | – | ${fmt(r.conntune.preview.logins)} | – | – |`);
        lines.push(`| ${r.hosts} | preview (nothing to do) | ${fmt(r.conntune.previewNoop.seconds)} | – | – | ${fmt(r.conntune.previewNoop.logins)} | – | – |`);
    }
    if (rs.length > 1) {
        lines.push("", `## Marginal cost per added host (slope ${rs[0].hosts} → ${rs[rs.length - 1].hosts} hosts, same run)`, "");
        lines.push("| phase | conntune s/host | Ansible s/host | ratio | target |", "|---|---:|---:|---:|---|");
        const targets: Record<Phase, string> = { first: "≤ 0.5", noop: "≤ 0.1", change: "touches only the changed file" };
        for (const p of PHASES) {
            const c = slope(rs, (r) => r.conntune[p].seconds);
            const a = slope(rs, (r) => r.ansible[p].seconds);
            lines.push(`| ${p} | ${fmt(c, 2)} | ${fmt(a, 2)} | ${fmt(c / a, 2)} | ${targets[p]} |`);
        }
    }
    if (extra.fixed) lines.push("", ...fixedCostReport(extra.fixed));
    lines.push("", "## Where conntune's time goes", "");
    lines.push(`- Engine, language host and program start (preview of the conntune program with no hosts): ${fmt(extra.engine, 2)} s.`);
    lines.push(`- One bare SSH login with OpenSSH's client (handshake, auth, \`true\`): ${fmt(extra.login, 3)} s.`);
    for (const r of rs) {
        for (const p of PHASES) {
            const o = r.opSeconds?.[p];
            if (!o) continue;
            const ops = Object.entries(o.ops)
                .map(([k, v]) => `${k} ${v.count}× median ${fmt(v.median, 2)} s (max ${fmt(v.max, 2)})`)
                .join("; ");
            const dial = o.dials.count ? ` SSH connections opened: ${o.dials.count} (median handshake + login ${fmt(o.dials.median, 2)} s).` : "";
            lines.push(`- ${r.hosts} host(s), ${p} (${fmt(o.total)} s): CLI start → first resource registered ${fmt(o.programStart)} s; provider operations ${fmt(o.commands)} s; outputs and state ${fmt(o.finish)} s.${ops ? ` Per operation (an SSH channel + the script, in the provider): ${ops}.` : ""}${dial}`);
        }
    }
    lines.push("");
    return lines.join("\n");
}

async function main(): Promise<void> {
    const flags = parseFlags({ sizes: "string", reps: "string", parallel: "string", "conntune-only": "boolean", out: "string" });
    const sizesFlag = flags.sizes ?? "1,5,10";
    if (!/^\d+(,\d+)*$/.test(sizesFlag)) throw new UsageError(`flag --sizes: must be host counts separated by commas (e.g. 1,5,10), not '${sizesFlag}'`);
    const sizes = sizesFlag.split(",").map((n) => intFlag("sizes", n, 1, 1, 10));
    const outDir = path.resolve(flags.out ?? path.join(REPO, "bench", "results"));
    const parallel = intFlag("parallel", flags.parallel, 64, 1, 1000);
    const reps = intFlag("reps", flags.reps, 2, 1, 10);
    // --conntune-only: a quick look at conntune alone (the results file then has no ratios).
    const withAnsible = !flags["conntune-only"];
    const started = new Date().toISOString();
    const t0 = Date.now();
    log(`sizes ${sizes.join(", ")}; results go to ${outDir}`);
    const engine = await engineStart();
    log(`engine + program start: ${engine.toFixed(2)} s`);
    const login = await bareLogin();
    log(`bare SSH login: ${login.toFixed(3)} s`);
    // The fixed cost of one command: a one-host no-op up and preview (bench/fixedCost.ts).
    const fixed = await fixedCost(7, parallel);
    log(`one host: no-op up ${median(fixed.noopUp.loader).toFixed(2)} s (ts-node ${median(fixed.noopUp["ts-node"]).toFixed(2)} s), preview ${median(fixed.preview.loader).toFixed(2)} s (ts-node ${median(fixed.preview["ts-node"]).toFixed(2)} s)`);
    // Each size is measured `reps` times (tools side by side each time); a cell is the fastest of
    // its repetitions, the usual way to read a benchmark on a machine that other work shares.
    const runs: SizeResult[][] = [];
    for (let rep = 1; rep <= reps; rep++) {
        const results: SizeResult[] = [];
        for (const n of sizes) {
            log(`repetition ${rep}/${reps}, ${n} host(s): conntune`);
            const c = await runConntune(n, parallel);
            log(`${n} host(s): conntune first ${c.r.first.seconds.toFixed(1)} s, no-op ${c.r.noop.seconds.toFixed(1)} s, change ${c.r.change.seconds.toFixed(1)} s`);
            const a = withAnsible ? (log(`${n} host(s): Ansible`), await runAnsible(n, c.files[0], c.files[1], c.files[2])) : skipped();
            if (withAnsible) log(`${n} host(s): Ansible first ${a.first.seconds.toFixed(1)} s, no-op ${a.noop.seconds.toFixed(1)} s, change ${a.change.seconds.toFixed(1)} s`);
            results.push({ hosts: n, conntune: c.r, ansible: a, opSeconds: c.ops });
        }
        runs.push(results);
    }
    const fastest = <T extends object>(cells: T[]): T => {
        const out: Record<string, Measure> = {};
        for (const k of Object.keys(cells[0])) {
            const all = cells.map((c) => (c as Record<string, Measure>)[k]);
            out[k] = all.reduce((b, m) => (m.seconds < b.seconds ? m : b), all[0]);
        }
        return out as T;
    };
    const results: SizeResult[] = sizes.map((n, i) => {
        const all = runs.map((r) => r[i]);
        const best = all.reduce((b, r) => (r.conntune.first.seconds < b.conntune.first.seconds ? r : b), all[0]);
        return { hosts: n, conntune: fastest(all.map((r) => r.conntune)), ansible: withAnsible ? fastest(all.map((r) => r.ansible)) : skipped(), opSeconds: best.opSeconds };
    });
    fs.mkdirSync(outDir, { recursive: true });
    const md = report(results, { engine, login, parallel, reps, started, seconds: (Date.now() - t0) / 1000, fixed });
    fs.writeFileSync(path.join(outDir, "converge.md"), md);
    fs.writeFileSync(path.join(outDir, "converge.json"), JSON.stringify({ started, parallel, reps, engine, login, fixed, results, runs }, null, 2) + "\n");
    console.log(md);
}

main().catch(exitOnError("bench", USAGE, 1));
