/**
 * Converge benchmark: conntune (`pulumi up`) against an Ansible playbook that makes the same changes
 * the same safe way, side by side in one run, on 1, 10, 25 and 50 hosts. Up to `--real-hosts` (10)
 * they are real test hosts (systemd + OpenSSH under systemd-nspawn, each in its own network
 * namespace); beyond that each real host carries several logical hosts (lab/hosts/fleet.ts: one
 * sshd port and one set of file names each; what they share is written into the results).
 *
 * For each fleet size and each tool, on freshly booted hosts:
 *   first apply  → no-op re-run → a one-value change (net.ipv4.tcp_keepalive_time 600 → 300)
 * each measured as wall time and as SSH logins per host (`journalctl -t sshd`, read through the
 * test back door, so counting adds no login). conntune also gets `pulumi preview` (time, logins),
 * its state size after the first apply, and the same change made back with PULUMI_SKIP_CHECKPOINTS
 * (only to measure what the per-step checkpoints cost; never a default). Last, a preview of a
 * 1000-host stack on test-net addresses (no host is contacted): its time and peak memory.
 * Where conntune's time goes: engine + program start (a preview of an empty stack), per-resource
 * operation times from the engine's event log, and a bare SSH login. The fixed cost of one command
 * (a one-host no-op up and preview, program.js against ts-node): bench/fixedCost.ts.
 *
 *   npm run bench -- [--sizes 1,10,25,50] [--reps 1] [--real-hosts 10] [--preview-hosts 1000] [--out bench/results]
 *   npm run bench -- --preview-only [--preview-hosts 1000]   the big preview alone → preview.json
 *   npm run bench -- --report-only                           converge.md again from the json files
 *
 * Hold the machine-wide test-host lock for the whole run (`flock /tmp/conntune-e2e.lock npm run
 * bench`): the fleet boots up to --real-hosts systemd hosts. Figures are written to
 * bench/results/converge.{md,json}. Nothing here asserts a time.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addGatewayUnit, hostExec, hostsThatFit, inotifyInstances, machineInotifyInstances, startHosts, stopHosts, TestHost } from "../lab/hosts/harness";
import { layout, LogicalHost, slotFileName, startFleet, stopFleet } from "../lab/hosts/fleet";
import { conntuneProject, LabStack, REPO } from "../lab/stack";
import { exitOnError, intFlag, parseFlags, UsageError } from "../scripts/cli";
import { pulumiBinary } from "../scripts/engine";
import { CpuSplit, cpuReading, cpuSplit, liveProcessSeconds } from "./cpu";
import { FixedCost, fixedCost, fixedCostReport, median } from "./fixedCost";

const USAGE = "npm run bench -- [--sizes 1,10,25,50] [--reps 1] [--real-hosts 10] [--parallel 64] [--forks 10] [--preview-hosts 1000] [--preview-only] [--report-only] [--conntune-only] [--skip-checkpoints] [--out DIR]";

const UNIT = "llm-gateway.service";
const PHASES = ["first", "noop", "change"] as const;
type Phase = (typeof PHASES)[number];
type Tool = "conntune" | "ansible";

interface Measure {
    seconds: number;
    /** CPU seconds of the run: the controller tree, the test hosts, the whole machine (bench/cpu.ts). */
    cpu?: CpuSplit;
    /** SSH logins per host (mean over the hosts). */
    logins: number;
    /** Files whose modification time changed on the first host. */
    filesTouched: number;
}

interface SizeResult {
    hosts: number;
    /** Logical hosts per real host (lab/hosts/fleet.ts). */
    layout?: number[];
    conntune: Record<Phase, Measure> & { preview: Measure; previewNoop: Measure; changeNoCheckpoints?: Measure };
    /** The stack's checkpoint file after the first apply. */
    state?: { bytes: number; resources: number };
    /** Load average (1, 5, 15 min) when the size started and ended. */
    load?: number[][];
    /** inotify instances: one real host's, and the whole machine's with the fleet up. */
    inotify?: { perRealHost: number; machine: number };
    ansible: Record<Phase, Measure>;
    /** conntune's per-operation seconds by resource kind (first apply), from the event log. */
    opSeconds?: Partial<Record<Phase, OpStats>>;
}

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

function hostConfig(h: LogicalHost, keepalive: number): unknown {
    const f = (name: string) => slotFileName(name, h.slot);
    return {
        name: h.name,
        connection: { host: h.address, port: h.port, user: "root", hostKey: h.hostKey },
        sshd: { fileName: f("00-conntune.conf") },
        sysctl: { fileName: f("99-conntune-tcp.conf"), keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" }, settings: { "net.ipv4.tcp_keepalive_time": keepalive } },
        // No DefaultLimitNOFILE (systemdDefault: null) on any host at any size: it belongs to PID 1, which
        // the logical hosts of a real host share, and its daemon-reexec drops the bus under their unit
        // drop-ins' systemctl calls (conntune orders them within one host; across hosts sharing one PID 1
        // nothing can). Every host does the same four files at every size, with both tools.
        limits: { soft: 16384, hard: 16384, fileName: f("90-conntune-nofile.conf"), systemdDefault: null },
        systemdOverrides: [{ unit: UNIT, fileName: f("50-conntune.conf"), settings: { Service: { LimitNOFILE: 16384 } } }],
    };
}

function prepare(root: string): void {
    addGatewayUnit(root, true);
}

/** Accepted SSH logins so far on each real host (the journal, read without SSH). */
function logins(hosts: TestHost[]): number[] {
    return hosts.map((h) => Number(hostExec(h, "journalctl -q -t sshd --no-pager | grep -c 'Accepted ' || true").trim() || "0"));
}

function mtimes(h: TestHost, files: string[]): string[] {
    return hostExec(h, files.map((f) => `stat -c %Y.%X ${f} 2>/dev/null || echo none`).join("; ")).trim().split("\n");
}

/**
 * `hosts` are the real hosts; `logical` the number of hosts the tool manages on them (logins are per
 * logical host); `orphans` the CPU seconds of the tool's processes that the controller did not wait
 * for, read right after the work (Ansible's ssh ControlPersist masters).
 */
async function measure(hosts: TestHost[], files: string[], work: () => Promise<void>, logical = hosts.length, orphans?: () => number): Promise<Measure> {
    const before = logins(hosts);
    const mBefore = files.length ? mtimes(hosts[0], files) : [];
    const c0 = cpuReading(hosts);
    const t0 = process.hrtime.bigint();
    await work();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = cpuSplit(c0, cpuReading(hosts), orphans?.() ?? 0);
    await new Promise((r) => setTimeout(r, 500)); // journald gets sshd's last lines
    const after = logins(hosts);
    const mAfter = files.length ? mtimes(hosts[0], files) : [];
    const perHost = after.map((a, i) => a - before[i]);
    return {
        seconds,
        cpu,
        logins: perHost.reduce((a, b) => a + b, 0) / logical,
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
    /** Resources the program registered. */
    resources: number;
    /** Per kind of managed file: provider Create/Update durations (s), and its login probes (lockout guard, limits check) when it made any. */
    ops: Record<string, { count: number; median: number; max: number; probe?: ProbeStats }>;
    /** SSH connections the provider opened (one per host and login, shared by its commands). */
    dials: { count: number; median: number };
}

/** The login probes of one kind's operations (the provider's span tags conntune.probe_*). */
export interface ProbeStats {
    /** Operations that made a probe. */
    count: number;
    /** Median seconds from the script's request to the answer. */
    median: number;
    max: number;
    /** TCP connects the probes made, and how many of them failed (e.g. refused while sshd re-executes after a reload). */
    connects: number;
    failedConnects: number;
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
    const probes = new Map<string, { ms: number[]; connects: number; failed: number }>();
    const dials: number[] = [];
    for (const c of ops_) {
        const name = c.attrs["pulumi.urn"].split("::").pop() ?? "";
        const kind = /-(sshd-dropin|sysctl-file|limits-limits|limits-systemd-default|dropin)(-apply)?$/.exec(name)?.[1] ?? name.replace(/^ctn-\d+(-l\d+)?-/, "");
        const list = byKind.get(kind) ?? [];
        list.push(c.end - c.start);
        byKind.set(kind, list);
        if (c.attrs["conntune.ssh_dial_ms"]) dials.push(Number(c.attrs["conntune.ssh_dial_ms"]) / 1000);
        if (c.attrs["conntune.probe_ms"]) {
            const p = probes.get(kind) ?? { ms: [], connects: 0, failed: 0 };
            p.ms.push(Number(c.attrs["conntune.probe_ms"]) / 1000);
            p.connects += Number(c.attrs["conntune.probe_connects"] ?? 0);
            p.failed += Number(c.attrs["conntune.probe_failed_connects"] ?? 0);
            probes.set(kind, p);
        }
    }
    const ops: OpStats["ops"] = {};
    for (const [k, v] of byKind) {
        v.sort((a, b) => a - b);
        ops[k] = { count: v.length, median: v[Math.floor(v.length / 2)], max: v[v.length - 1] };
        const p = probes.get(k);
        if (p) {
            p.ms.sort((a, b) => a - b);
            ops[k].probe = { count: p.ms.length, median: p.ms[Math.floor(p.ms.length / 2)], max: p.ms[p.ms.length - 1], connects: p.connects, failedConnects: p.failed };
        }
    }
    const firstReg = Math.min(...regs.map((r) => r.start));
    const firstOp = creates.length ? Math.min(...creates.map((c) => c.start)) : firstReg;
    const lastOp = creates.length ? Math.max(...creates.map((c) => c.end)) : Math.max(...regs.map((r) => r.end));
    dials.sort((a, b) => a - b);
    return { programStart: firstReg - root.start, resources: regs.length, commands: lastOp - firstOp, finish: root.end - lastOp, total: root.end - root.start, ops, dials: { count: dials.length, median: dials[Math.floor(dials.length / 2)] ?? 0 } };
}

interface Files {
    sshd: string;
    sysctl: string;
    limits: string;
    /** Absent when the stack leaves systemd's DefaultLimitNOFILE alone (the benchmark does). */
    systemdDefault?: string;
    override: string;
}

/** The files conntune manages on one host (from the stack output), by component. */
function filesOf(outputs: Record<string, unknown>, host: string): { paths: Files; content: Record<string, string> } {
    const f = (outputs.files as Record<string, Record<string, string[]>>)[host];
    const content: Record<string, string> = {};
    for (const [p, lines] of Object.entries(f)) content[p] = `${lines.join("\n")}\n`;
    const find = (re: RegExp) => Object.keys(content).find((p) => re.test(p));
    const must = (re: RegExp) => find(re) ?? (() => { throw new Error(`stack output files.${host} has no file matching ${re}`); })();
    const systemdDefault = find(/^\/etc\/systemd\/system\.conf\.d\//);
    return {
        paths: {
            sshd: must(/^\/etc\/ssh\/sshd_config\.d\//),
            sysctl: must(/^\/etc\/sysctl\.d\//),
            limits: must(/^\/etc\/security\/limits\.d\//),
            ...(systemdDefault ? { systemdDefault } : {}),
            override: must(new RegExp(`^/etc/systemd/system/${UNIT.replace(".", "\\.")}\\.d/`)),
        },
        content,
    };
}

/** The stack's checkpoint file (the file backend's whole state) and its resource count; a copy goes into the directory BENCH_KEEP_STATE when set. */
function stateOf(backendDir: string): { bytes: number; resources: number } {
    const found: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory() && e.name !== "backups" && e.name !== "history") walk(p);
            else if (e.isFile() && e.name.endsWith(".json") && p.includes(`${path.sep}stacks${path.sep}`)) found.push(p);
        }
    };
    walk(path.join(backendDir, ".pulumi"));
    if (found.length !== 1) throw new Error(`expected one checkpoint file in ${backendDir}, found ${found.length}`);
    const text = fs.readFileSync(found[0], "utf8");
    if (process.env.BENCH_KEEP_STATE) fs.copyFileSync(found[0], path.join(process.env.BENCH_KEEP_STATE, `state-${path.basename(found[0])}`));
    const d = JSON.parse(text) as { checkpoint: { latest?: { resources?: unknown[] } } };
    return { bytes: Buffer.byteLength(text), resources: d.checkpoint.latest?.resources?.length ?? 0 };
}

/** inotify instances seen with each fleet size up (after its first apply). */
const inotifySeen = new Map<number, { perRealHost: number; machine: number }>();

/** Each host's files, in fleet order (index i is the same slot of the same real host in every fleet of a size). */
type HostFiles = Array<{ paths: Files; content: Record<string, string> }>;

interface ConntuneRun {
    r: SizeResult["conntune"];
    ops: Partial<Record<Phase, OpStats>>;
    state: { bytes: number; resources: number };
    before: HostFiles;
    after: HostFiles;
}

/** --skip-checkpoints: every conntune update of the run with PULUMI_SKIP_CHECKPOINTS (a measurement, never a default). */
let skipAllCheckpoints = false;

async function runConntune(n: number, maxReal: number, parallel: number): Promise<ConntuneRun> {
    const { real, hosts } = await startFleet(n, maxReal, { prepare });
    let stack: LabStack | undefined;
    const events = path.join(os.tmpdir(), `conntune-bench-trace-${process.pid}.jsonl`);
    const ops: Partial<Record<Phase, OpStats>> = {};
    const all = (o: Record<string, unknown>): HostFiles => hosts.map((h) => filesOf(o, h.name));
    try {
        stack = await LabStack.create(conntuneProject(), `bench-${n}`);
        const s = stack;
        if (skipAllCheckpoints) s.stack.workspace.envVars.PULUMI_SKIP_CHECKPOINTS = "true";
        s.setSecret("conntune:sshPrivateKey", hosts[0].privateKey);
        await s.setHosts(hosts.map((h) => hostConfig(h, 600)));
        const traced = async (phase: Phase, files: string[]) => {
            let out = "";
            const m = await measure(real, files, () => s.up({ parallel, otelTraces: events }).then((r) => void (out = `${r.stdout}\n${r.stderr}`)), hosts.length);
            if (m.seconds > 30 * Math.max(1, n / 10)) {
                // An outlier: keep what the CLI printed and every host's journal of the last minutes for a look.
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), `conntune-bench-slow-${n}-${phase}-`));
                fs.writeFileSync(path.join(dir, "pulumi.log"), out);
                for (const h of real) fs.writeFileSync(path.join(dir, `${h.name}.journal`), hostExec(h, "journalctl -q --no-pager --since=-5min || true"));
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
        const preview = await measure(real, [], () => s.preview({ parallel }).then(() => undefined), hosts.length);
        const first = await traced("first", []);
        const state = stateOf(s.backendDir);
        inotifySeen.set(n, { perRealHost: Math.max(...real.map((h) => inotifyInstances(h).total)), machine: machineInotifyInstances() });
        const before = all(await s.outputs());
        // Every logical host's files are on its real host, each under its own name.
        for (const r of real) {
            const mine = hosts.flatMap((h, i) => (h.real === r ? Object.values(before[i].paths) : []));
            if (new Set(mine).size !== mine.length) throw new Error(`logical hosts of ${r.name} share file names`);
            const missing = hostExec(r, mine.map((f) => `[ -f '${f}' ] || echo '${f}'`).join("; ")).trim();
            if (missing) throw new Error(`${r.name} lacks files of its logical hosts: ${missing}`);
        }
        const files = Object.values(before[0].paths);
        const noop = await traced("noop", files);
        const previewNoop = await measure(real, [], () => s.preview({ parallel }).then(() => undefined), hosts.length);
        await s.setHosts(hosts.map((h) => hostConfig(h, 300)));
        const change = await traced("change", files);
        const after = all(await s.outputs());
        check(real, "300");
        // The same one-file change back, with the engine's per-step checkpoints skipped (the state is
        // written once at the end): the difference to `change` is what the checkpoints cost. Only a
        // measurement: PULUMI_SKIP_CHECKPOINTS loses the record of finished steps if the run dies.
        await s.setHosts(hosts.map((h) => hostConfig(h, 600)));
        s.stack.workspace.envVars.PULUMI_SKIP_CHECKPOINTS = "true";
        let changeNoCheckpoints: Measure;
        try {
            changeNoCheckpoints = await measure(real, files, () => s.up({ parallel }).then(() => undefined), hosts.length);
        } finally {
            if (!skipAllCheckpoints) delete s.stack.workspace.envVars.PULUMI_SKIP_CHECKPOINTS;
        }
        check(real, "600");
        await s.destroy();
        return { r: { preview, previewNoop, first, noop, change, changeNoCheckpoints }, ops, state, before, after };
    } finally {
        fs.rmSync(events, { force: true });
        await stack?.remove();
        await stopFleet(real);
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

async function runAnsible(n: number, maxReal: number, forks: number, before: HostFiles, after: HostFiles): Promise<Record<Phase, Measure>> {
    const { real, hosts } = await startFleet(n, maxReal, { prepare });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-bench-ansible-"));
    try {
        fs.mkdirSync(path.join(dir, "tmp"));
        fs.mkdirSync(path.join(dir, "host_vars"));
        fs.writeFileSync(path.join(dir, "id"), hosts[0].privateKey, { mode: 0o600 });
        fs.writeFileSync(path.join(dir, "known_hosts"), hosts.map((h) => `${h.port === 22 ? h.address : `[${h.address}]:${h.port}`} ${h.hostKey}\n`).join(""));
        fs.writeFileSync(
            path.join(dir, "inventory.ini"),
            ["[all]", ...hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_port=${h.port}`), "", "[all:vars]", "ansible_user=root", `ansible_ssh_private_key_file=${dir}/id`, "ansible_python_interpreter=/usr/bin/python3", ""].join("\n"),
        );
        // Each logical host's own file names and contents (conntune's rendered files), as host_vars.
        const writeVars = (files: HostFiles) => {
            for (const [i, h] of hosts.entries()) {
                const f = files[i];
                const ct = Object.fromEntries(
                    (Object.entries(f.paths) as Array<[keyof Files, string]>).map(([k, p]) => [k, { path: p, content: f.content[p], ...(k === "override" ? { unit: UNIT } : {}) }]),
                );
                fs.writeFileSync(path.join(dir, "host_vars", `${h.name}.json`), JSON.stringify({ ct }));
            }
        };
        const cfg = (run: string) =>
            [
                "[defaults]",
                "inventory = inventory.ini",
                `forks = ${forks}`,
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
        const paths = Object.values(before[0].paths);
        const run = async (phase: Phase, files: HostFiles) => {
            writeVars(files);
            fs.writeFileSync(path.join(dir, "ansible.cfg"), cfg(phase));
            const m = await measure(real, paths, () => ansiblePlaybook(dir, [playbook]), hosts.length, () => liveProcessSeconds(`${dir}/cp-${phase}`));
            // Close this run's master connections (ControlPersist) before the next run.
            for (const h of hosts) {
                try {
                    execFileSync("ssh", ["-o", `ControlPath=${dir}/cp-${phase}/%C`, "-p", String(h.port), "-O", "exit", `root@${h.address}`], { stdio: "ignore" });
                } catch {
                    /* already gone */
                }
            }
            return m;
        };
        const first = await run("first", before);
        const noop = await run("noop", before);
        const change = await run("change", after);
        check(real, "300");
        return { first, noop, change };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        await stopFleet(real);
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

/** Resident memory (bytes) of every descendant of this process, summed, and the largest one. */
function descendantsRss(): { sum: number; max: number; maxName: string } {
    const parent = new Map<number, number>();
    const rss = new Map<number, number>();
    const names = new Map<number, string>();
    const page = 4096;
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
            const close = stat.lastIndexOf(")");
            const fields = stat.slice(close + 2).split(" ");
            parent.set(Number(e), Number(fields[1]));
            rss.set(Number(e), Number(fields[21]) * page);
            names.set(Number(e), stat.slice(stat.indexOf("(") + 1, close));
        } catch {
            /* gone */
        }
    }
    let sum = 0;
    let max = 0;
    let maxName = "";
    for (const [pid, r] of rss) {
        let p = parent.get(pid);
        while (p !== undefined && p > 1 && p !== process.pid) p = parent.get(p);
        if (p !== process.pid) continue;
        sum += r;
        if (r > max) [max, maxName] = [r, names.get(pid) ?? ""];
    }
    return { sum, max, maxName };
}

export interface BigPreview {
    hosts: number;
    resources: number;
    seconds: number;
    /** Peak resident memory of the CLI, language host, Node program and provider together (MiB), and of the largest one. */
    peakMiB: number;
    peakLargestMiB: number;
    peakLargest: string;
}

/**
 * A preview of an N-host stack (the four host kinds each), on documentation addresses
 * (198.51.100.0/24 and 203.0.113.0/24, RFC 5737) with ports 22 and 2222: a preview never connects.
 * Its time and peak memory (sampled every 100 ms).
 */
async function bigPreview(count: number, hostKey: string, privateKey: string): Promise<BigPreview> {
    const stack = await LabStack.create(conntuneProject(), `bench-preview-${count}`);
    try {
        stack.setSecret("conntune:sshPrivateKey", privateKey);
        const nets = ["198.51.100", "203.0.113"];
        const hosts = Array.from({ length: count }, (_, i) => {
            const addr = `${nets[Math.floor(i / 250) % 2]}.${1 + (i % 250)}`;
            const port = i < 500 ? 22 : 2222;
            return {
                name: `p${i}`,
                connection: { host: addr, port, user: "root", hostKey },
                sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" }, settings: { "net.ipv4.tcp_keepalive_time": 600 } },
                limits: { soft: 16384, hard: 16384 },
                systemdOverrides: [{ unit: UNIT, settings: { Service: { LimitNOFILE: 16384 } } }],
            };
        });
        // Pulumi hands the stack config to the program in one environment variable (Linux caps one at
        // 128 KiB): this many hosts go into a hosts file (conntune:hostsFile), as big fleets do.
        fs.writeFileSync(path.join(stack.projectDir, "hosts.json"), JSON.stringify(hosts));
        await stack.stack.setConfig("conntune:hostsFile", { value: "hosts.json" });
        let peak = { sum: 0, max: 0, maxName: "" };
        let resources = 0;
        let seconds = 0;
        // One preview: at this size its few seconds of cold start are noise.
        for (let i = 0; i < 1; i++) {
            const timer = setInterval(() => {
                const r = descendantsRss();
                if (r.sum > peak.sum) peak = { ...peak, sum: r.sum };
                if (r.max > peak.max) peak = { ...peak, max: r.max, maxName: r.maxName };
            }, 100);
            const t0 = process.hrtime.bigint();
            try {
                const r = await stack.preview({ parallel: 64 });
                resources = Object.values(r.changeSummary ?? {}).reduce((a, b) => a + (b ?? 0), 0);
            } finally {
                clearInterval(timer);
            }
            seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        }
        return { hosts: count, resources, seconds, peakMiB: peak.sum / 2 ** 20, peakLargestMiB: peak.max / 2 ** 20, peakLargest: peak.maxName };
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

function slope(rs: SizeResult[], f: (r: SizeResult) => number, from = 0, to = rs.length - 1): number {
    const a = rs[from];
    const b = rs[to];
    return b.hosts === a.hosts ? NaN : (f(b) - f(a)) / (b.hosts - a.hosts);
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

/** The CPU split of every measured run (bench/cpu.ts): where the seconds of CPU went. */
function cpuReport(rs: SizeResult[]): string[] {
    const rows: string[] = [];
    const cores = os.cpus().length;
    for (const r of rs) {
        for (const p of PHASES) {
            for (const [tool, m] of [["conntune", r.conntune[p]], ["Ansible", r.ansible[p]]] as const) {
                const c = m.cpu;
                if (!c) continue;
                const rest = c.machine - c.controller - c.hosts;
                rows.push(`| ${r.hosts} | ${p} | ${tool} | ${fmt(m.seconds)} | ${fmt(c.controller)} | ${fmt(c.hosts)} | ${fmt(rest)} | ${fmt(c.machine)} | ${fmt((c.machine / (m.seconds * cores)) * 100, 0)} % | ${fmt(c.controller / r.hosts, 2)} | ${fmt(c.hosts / r.hosts, 2)} |`);
            }
        }
    }
    if (!rows.length) return [];
    return [
        "",
        "## Where the CPU goes",
        "",
        `CPU seconds (user + system) of each run: the controller (the benchmark process and every process it waited for: the pulumi CLI, language host, Node program and plugins; ansible-playbook, its Python workers and ssh clients, plus its ssh ControlPersist masters read live at the end), the test hosts (every process in their PID namespaces: sshd and its logins, the scripts, systemd; own time and that of reaped children), the rest of the machine (other work on it, and kernel time no process is charged with, e.g. network softirqs), and the whole machine (/proc/stat). Busy: the machine's CPU seconds over wall time × ${cores} cores.`,
        "",
        "| hosts | phase | tool | wall s | controller CPU s | test hosts CPU s | rest of machine s | machine CPU s | machine busy | controller s/host | test hosts s/host |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...rows,
    ];
}

/** What a logical host shares with its real host (the same text goes into the README). */
export const SHARED = [
    "A logical host is one sshd port of a real test host (22, 2201, 2202, …) with its own conntune file names (`-l<slot>` before `.conf`: sshd drop-in, sysctl file, limits.d file, unit drop-in; every kind lets the name be set, the system.conf.d drop-in too, but DefaultLimitNOFILE is PID 1's and is left out here). It has its own SSH connection in the provider (one per host:port), its own logins, its own files and its own resources in the state.",
    "It shares with the other logical hosts of its real host: the kernel network namespace (its net.* sysctls: every logical host writes its own file with the same values, and `sysctl -p` of each sets the same keys), the one sshd process (its reload and `sshd -T`), PID 1 systemd (daemon-reload, the restarted unit `llm-gateway.service`; a daemon-reexec by one logical host would drop the bus under the others' systemctl calls, which is why the benchmark leaves DefaultLimitNOFILE out), PAM and limits.d (pam_limits reads every file), the file system, the journal and the CPU.",
    "So at 50 hosts the engine, the state, the provider, SSH (handshakes, logins, channels) and the file writes are real per logical host; the host-side daemons do the work of several hosts at once (more contention than a real fleet, so the per-host figures are if anything pessimistic for conntune and Ansible alike).",
];

function report(rs: SizeResult[], extra: { engine: number; login: number; parallel: number; forks: number; reps: number; maxReal: number; started: string; seconds: number; command: string; preview?: BigPreview & { command?: string; started?: string; load?: number[][] }; skipRun?: { command: string; started: string; results: SizeResult[] }; fixed?: FixedCost }): string {
    const lines: string[] = [];
    const ver = (cmd: string, a: string[]) => {
        try {
            return execFileSync(cmd, a, { encoding: "utf8" }).split("\n")[0].trim();
        } catch {
            return "unknown";
        }
    };
    lines.push("# Converge benchmark: conntune vs Ansible", "");
    lines.push(`Produced by \`${extra.command}\` on ${extra.started} (${fmt(extra.seconds / 60)} min in all). Every size ran ${extra.reps} time(s) with both tools side by side; each time is the fastest of its repetitions (all runs are in converge.json).`);
    lines.push(`Machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, shared with other work (load averages below): compare ratios within this run, not seconds across runs. Test hosts are Debian bookworm (systemd, OpenSSH) under systemd-nspawn, one network namespace each, trimmed (no getty, logind, dbus: lab/hosts/harness.ts TRIMMED_UNITS), at most ${extra.maxReal} real hosts; beyond that each real host carries several logical hosts.`);
    lines.push(`Tools: pulumi ${ver(pulumiBinary(), ["version"])} with conntune's command provider, \`--parallel ${extra.parallel}\`, file backend; ${ver("ansible-playbook", ["--version"])} (Debian), pipelining on, ControlPersist on (a fresh control socket per run), forks ${extra.forks}, no fact gathering.`);
    lines.push("Both tools write byte-identical files (the playbook gets conntune's rendered files per host), four per host: the sshd drop-in, the sysctl file, the limits.d file and the `llm-gateway.service` drop-in, with the seed-000 settings; the change is `net.ipv4.tcp_keepalive_time` 600 → 300. systemd's DefaultLimitNOFILE (a system.conf.d drop-in and a daemon-reexec) is left out at every size: it belongs to PID 1, which the logical hosts of a real host share, and a re-exec of PID 1 drops the bus under the other logical hosts' systemctl calls (conntune orders it before the unit drop-ins within one host; nothing can across hosts sharing one PID 1). Earlier runs (1–10 real hosts) included it as a fifth file.", "");
    lines.push("## The fleet", "");
    lines.push("| hosts | real hosts | logical hosts per real host | state after first apply (bytes) | state per host (bytes) | resources in state | inotify per real host / machine | load avg at start → end (1 min) |");
    lines.push("|---:|---:|---|---:|---:|---:|---|---|");
    for (const r of rs) {
        const l = r.layout ?? [];
        const per = l.length && l.every((x) => x === l[0]) ? String(l[0]) : l.join(",");
        lines.push(`| ${r.hosts} | ${l.length} | ${per} | ${r.state?.bytes ?? "n/a"} | ${r.state ? Math.round(r.state.bytes / r.hosts) : "n/a"} | ${r.state?.resources ?? "n/a"} | ${r.inotify ? `${r.inotify.perRealHost} / ${r.inotify.machine}` : "n/a"} | ${r.load ? `${fmt(r.load[0][0], 2)} → ${fmt(r.load[1][0], 2)}` : "n/a"} |`);
    }
    lines.push("", ...SHARED.map((t) => `- ${t}`), "");
    lines.push("## Wall time (s) and SSH logins per host", "");
    lines.push("| hosts | phase | conntune s | Ansible s | conntune/Ansible | conntune logins/host | Ansible logins/host | files touched (conntune / Ansible) |");
    lines.push("|---:|---|---:|---:|---:|---:|---:|---|");
    for (const r of rs) {
        for (const p of PHASES) {
            const c = r.conntune[p];
            const a = r.ansible[p];
            lines.push(`| ${r.hosts} | ${p} | ${fmt(c.seconds)} | ${fmt(a.seconds)} | ${fmt(c.seconds / a.seconds, 2)} | ${fmt(c.logins)} | ${fmt(a.logins)} | ${p === "first" ? "all 4 / all 4" : `${c.filesTouched} / ${a.filesTouched}`} |`);
        }
        lines.push(`| ${r.hosts} | preview (changes pending) | ${fmt(r.conntune.preview.seconds)} | – | – | ${fmt(r.conntune.preview.logins)} | – | – |`);
        lines.push(`| ${r.hosts} | preview (nothing to do) | ${fmt(r.conntune.previewNoop.seconds)} | – | – | ${fmt(r.conntune.previewNoop.logins)} | – | – |`);
    }
    lines.push(...cpuReport(rs));
    if (rs.length > 1) {
        const last = rs.length - 1;
        lines.push("", `## Marginal cost per added host (slopes, same run)`, "");
        lines.push("| phase | segment | conntune s/host | Ansible s/host | ratio | target |", "|---|---|---:|---:|---:|---|");
        const targets: Record<Phase, string> = { first: "≤ 0.3", noop: "≤ 0.05", change: "touches only the changed file" };
        for (const p of PHASES) {
            const segs: Array<[number, number]> = [[0, last], ...rs.slice(1).map((_, i) => [i, i + 1] as [number, number])];
            for (const [a, b] of segs) {
                const c = slope(rs, (r) => r.conntune[p].seconds, a, b);
                const an = slope(rs, (r) => r.ansible[p].seconds, a, b);
                lines.push(`| ${p} | ${rs[a].hosts} → ${rs[b].hosts} | ${fmt(c, 3)} | ${fmt(an, 3)} | ${fmt(c / an, 2)} | ${a === 0 && b === last ? targets[p] : ""} |`);
            }
        }
        const i10 = rs.findIndex((r) => r.hosts === 10);
        const i50 = rs.findIndex((r) => r.hosts === 50);
        if (i10 > 0 && i50 > i10) {
            lines.push("", `Growth of conntune's per-host cost (target ≤ 1.25): the marginal cost near 50 hosts (${rs[i50 - 1].hosts} → 50) over the marginal cost up to 10 (${rs[0].hosts} → 10); the mean cost per host, t(50)/50 over t(10)/10; and the CPU per host (controller and test hosts: what the run costs the machine, whatever overlaps), at 50 over at 10.`, "");
            lines.push("| phase | marginal s/host up to 10 | marginal s/host near 50 | growth | t(10)/10 | t(50)/50 | growth | CPU s/host at 10 | at 50 | growth |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (const p of PHASES) {
                const m10 = slope(rs, (r) => r.conntune[p].seconds, 0, i10);
                const m50 = slope(rs, (r) => r.conntune[p].seconds, i50 - 1, i50);
                const a10 = rs[i10].conntune[p].seconds / 10;
                const a50 = rs[i50].conntune[p].seconds / 50;
                const cpuPerHost = (r: SizeResult) => (r.conntune[p].cpu ? (r.conntune[p].cpu!.controller + r.conntune[p].cpu!.hosts) / r.hosts : NaN);
                const c10 = cpuPerHost(rs[i10]);
                const c50 = cpuPerHost(rs[i50]);
                lines.push(`| ${p} | ${fmt(m10, 3)} | ${fmt(m50, 3)} | ${fmt(m50 / m10, 2)} | ${fmt(a10, 3)} | ${fmt(a50, 3)} | ${fmt(a50 / a10, 2)} | ${fmt(c10, 2)} | ${fmt(c50, 2)} | ${fmt(c50 / c10, 2)} |`);
            }
        }
    }
    lines.push("", "## State and checkpoints", "");
    lines.push("The file backend writes the whole checkpoint (the stack's state file) at each step of an update. The same one-file-per-host change was made twice at each size: with checkpoints (the `change` row above) and back with `PULUMI_SKIP_CHECKPOINTS=true` (the state written once at the end). The difference is what the per-step checkpoints cost. That variable is a measurement here, not a setting to use: with it, a run that dies (crash, kill, lost controller) leaves no record of the steps it finished and no pending operations, so until a re-run the files it wrote are unknown to the state (a destroy would not restore them; conntune keeps a path's original once, so the re-run repairs it).", "");
    lines.push("| hosts | state bytes | change with checkpoints s | change, checkpoints skipped s | checkpoint share of the change | engine s per resource (first apply) | engine s per resource (no-op) |", "|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of rs) {
        const w = r.conntune.change.seconds;
        const wo = r.conntune.changeNoCheckpoints?.seconds ?? NaN;
        const per = (o?: OpStats) => (o && o.resources ? (o.total - o.programStart) / o.resources : NaN);
        lines.push(`| ${r.hosts} | ${r.state?.bytes ?? "n/a"} | ${fmt(w)} | ${fmt(wo)} | ${fmt(((w - wo) / w) * 100, 0)} % | ${fmt(per(r.opSeconds?.first), 3)} | ${fmt(per(r.opSeconds?.noop), 3)} |`);
    }
    if (extra.skipRun) {
        const k = extra.skipRun;
        for (const r of k.results) {
            const main = rs.find((x) => x.hosts === r.hosts);
            if (!main) continue;
            lines.push("", `Every update of ${r.hosts} hosts with checkpoints skipped (\`${k.command}\`, ${k.started}, converge-skip-checkpoints.md; a separate run, load ${r.load ? `${fmt(r.load[0][0], 2)} → ${fmt(r.load[1][0], 2)}` : "n/a"}): first apply ${fmt(r.conntune.first.seconds)} s against ${fmt(main.conntune.first.seconds)} s here (provider operations spread over ${fmt(r.opSeconds?.first?.commands ?? NaN)} s against ${fmt(main.opSeconds?.first?.commands ?? NaN)} s), no-op ${fmt(r.conntune.noop.seconds)} s against ${fmt(main.conntune.noop.seconds)} s. Its two one-file changes, both without checkpoints, took ${fmt(r.conntune.change.seconds)} s and ${fmt(r.conntune.changeNoCheckpoints?.seconds ?? NaN)} s: differences of that size in the change rows above are noise on this machine.`);
        }
    }
    lines.push("", "Engine s per resource: the update's time after the program's first registration, over the resources it registered (each host's TunedHost and its commands).");
    if (extra.preview) {
        const p = extra.preview;
        lines.push("", `## Preview of a ${p.hosts}-host stack`, "");
        lines.push(`\`pulumi preview\` of ${p.hosts} hosts (the four host kinds each; documentation addresses 198.51.100.0/24 and 203.0.113.0/24, ports 22 and 2222, never contacted; the hosts in a hosts file, \`conntune:hostsFile\`): ${p.resources} resources to create, ${fmt(p.seconds)} s, peak resident memory ${fmt(p.peakMiB, 0)} MiB for the CLI, language host, program and provider together (largest process: ${p.peakLargest}, ${fmt(p.peakLargestMiB, 0)} MiB; sampled every 100 ms).${p.command ? ` Measured by \`${p.command}\` on ${p.started}${p.load ? ` (load average ${fmt(p.load[0][0], 2)} → ${fmt(p.load[1][0], 2)})` : ""}.` : ""}`);
        lines.push("", "With the hosts in `conntune:hosts` instead, a stack this big does not run at all: Pulumi hands the whole stack config to the program in one environment variable, and Linux caps one at 128 KiB (`fork/exec /usr/bin/node: argument list too long`; `pulumi config set-all` fails the same way). At about 340 bytes per host here that is about 380 hosts; `conntune:hostsFile` (a JSON file in the project) has no such limit.");
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
                .map(([k, v]) => `${k} ${v.count}× median ${fmt(v.median, 2)} s (max ${fmt(v.max, 2)}${v.probe ? `; its login probe median ${fmt(v.probe.median, 2)} s, max ${fmt(v.probe.max, 2)}, ${v.probe.failedConnects} of ${v.probe.connects} TCP connects failed` : ""})`)
                .join("; ");
            const dial = o.dials.count ? ` SSH connections opened: ${o.dials.count} (median handshake + login ${fmt(o.dials.median, 2)} s).` : "";
            lines.push(`- ${r.hosts} host(s), ${p} (${fmt(o.total)} s, ${o.resources} resources): CLI start → first resource registered ${fmt(o.programStart)} s; provider operations ${fmt(o.commands)} s; outputs and state ${fmt(o.finish)} s.${ops ? ` Per operation (an SSH channel + the script, in the provider): ${ops}.` : ""}${dial}`);
        }
    }
    lines.push("");
    return lines.join("\n");
}

async function main(): Promise<void> {
    const flags = parseFlags({ sizes: "string", reps: "string", parallel: "string", forks: "string", "real-hosts": "string", "preview-hosts": "string", "preview-only": "boolean", "report-only": "boolean", "conntune-only": "boolean", "skip-checkpoints": "boolean", out: "string" });
    const sizesFlag = flags.sizes ?? "1,10,25,50";
    if (!/^\d+(,\d+)*$/.test(sizesFlag)) throw new UsageError(`flag --sizes: must be host counts separated by commas (e.g. 1,10,25,50), not '${sizesFlag}'`);
    const sizes = sizesFlag.split(",").map((n) => intFlag("sizes", n, 1, 1, 100));
    const outDir = path.resolve(flags.out ?? path.join(REPO, "bench", "results"));
    const parallel = intFlag("parallel", flags.parallel, 64, 1, 1000);
    const forks = intFlag("forks", flags.forks, 10, 1, 100);
    const reps = intFlag("reps", flags.reps, 1, 1, 10);
    // Real hosts at most: 10 trimmed hosts hold about 50 of the machine's 128 inotify instances.
    const maxReal = intFlag("real-hosts", flags["real-hosts"], 10, 1, 40);
    const previewHosts = intFlag("preview-hosts", flags["preview-hosts"], 1000, 0, 5000);
    const outDirEarly = path.resolve(flags.out ?? path.join(REPO, "bench", "results"));
    if (flags["report-only"]) {
        // converge.md again from converge.json, with preview.json's big preview when the run had none.
        const j = JSON.parse(fs.readFileSync(path.join(outDirEarly, "converge.json"), "utf8")) as { command: string; started: string; parallel: number; forks: number; reps: number; maxReal: number; engine: number; login: number; seconds?: number; preview?: BigPreview; results: SizeResult[] };
        const previewFile = path.join(outDirEarly, "preview.json");
        const preview = j.preview ?? (fs.existsSync(previewFile) ? (JSON.parse(fs.readFileSync(previewFile, "utf8")) as BigPreview) : undefined);
        const seconds = j.seconds ?? (fs.statSync(path.join(outDirEarly, "converge.json")).mtimeMs - Date.parse(j.started)) / 1000;
        const skipFile = path.join(outDirEarly, "converge-skip-checkpoints.json");
        const skipRun = fs.existsSync(skipFile) ? (JSON.parse(fs.readFileSync(skipFile, "utf8")) as { command: string; started: string; results: SizeResult[] }) : undefined;
        fs.writeFileSync(path.join(outDirEarly, "converge.md"), report(j.results, { ...j, seconds, preview, skipRun }));
        return;
    }
    if (flags["preview-only"]) {
        // The big preview alone (no test host boots): bench/results/preview.json, which the converge
        // report includes when its own run skipped the preview (--preview-hosts 0).
        const key = dummyKey();
        const started = new Date().toISOString();
        const load = os.loadavg();
        const p = await bigPreview(previewHosts, key.hostKey, key.privateKey);
        const rec = { command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(), started, load: [load, os.loadavg()], ...p };
        fs.mkdirSync(outDirEarly, { recursive: true });
        fs.writeFileSync(path.join(outDirEarly, "preview.json"), JSON.stringify(rec, null, 2) + "\n");
        console.log(JSON.stringify(rec));
        return;
    }
    if (maxReal > hostsThatFit()) throw new UsageError(`flag --real-hosts: ${maxReal} real test hosts do not fit this machine's inotify instances now (${hostsThatFit()} do)`);
    skipAllCheckpoints = flags["skip-checkpoints"] === true;
    // --conntune-only: a quick look at conntune alone (the results file then has no ratios).
    const withAnsible = !flags["conntune-only"];
    const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim();
    const started = new Date().toISOString();
    const t0 = Date.now();
    log(`sizes ${sizes.join(", ")} (at most ${maxReal} real hosts); results go to ${outDir}`);
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
            const load0 = os.loadavg();
            log(`repetition ${rep}/${reps}, ${n} host(s) on ${layout(n, maxReal).length} real host(s): conntune (load ${load0.map((x) => x.toFixed(2)).join(" ")})`);
            const c = await runConntune(n, maxReal, parallel);
            log(`${n} host(s): conntune first ${c.r.first.seconds.toFixed(1)} s, no-op ${c.r.noop.seconds.toFixed(1)} s, change ${c.r.change.seconds.toFixed(1)} s (checkpoints skipped ${c.r.changeNoCheckpoints?.seconds.toFixed(1)} s), state ${c.state.bytes} bytes`);
            const a = withAnsible ? (log(`${n} host(s): Ansible`), await runAnsible(n, maxReal, forks, c.before, c.after)) : skipped();
            if (withAnsible) log(`${n} host(s): Ansible first ${a.first.seconds.toFixed(1)} s, no-op ${a.noop.seconds.toFixed(1)} s, change ${a.change.seconds.toFixed(1)} s`);
            results.push({ hosts: n, layout: layout(n, maxReal), conntune: c.r, ansible: a, opSeconds: c.ops, state: c.state, load: [load0, os.loadavg()], inotify: inotifySeen.get(n) });
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
        return { ...best, conntune: fastest(all.map((r) => r.conntune)), ansible: withAnsible ? fastest(all.map((r) => r.ansible)) : skipped() };
    });
    let preview: (BigPreview & { command?: string; started?: string; load?: number[][] }) | undefined;
    const previewFile = path.join(outDir, "preview.json");
    if (previewHosts === 0 && fs.existsSync(previewFile)) preview = JSON.parse(fs.readFileSync(previewFile, "utf8")) as typeof preview;
    if (previewHosts > 0) {
        log(`preview of a ${previewHosts}-host stack`);
        const key = dummyKey();
        preview = await bigPreview(previewHosts, key.hostKey, key.privateKey);
        log(`${previewHosts}-host preview: ${preview.seconds.toFixed(1)} s, peak ${preview.peakMiB.toFixed(0)} MiB`);
    }
    fs.mkdirSync(outDir, { recursive: true });
    const md = report(results, { engine, login, parallel, forks, reps, maxReal, started, seconds: (Date.now() - t0) / 1000, command, preview, fixed });
    fs.writeFileSync(path.join(outDir, "converge.md"), md);
    fs.writeFileSync(path.join(outDir, "converge.json"), JSON.stringify({ command, started, seconds: (Date.now() - t0) / 1000, parallel, forks, reps, maxReal, engine, login, shared: SHARED, preview, fixed, results, runs }, null, 2) + "\n");
    console.log(md);
}

/** A throwaway key pair: its public half as the (never contacted) preview hosts' pinned host key. */
function dummyKey(): { hostKey: string; privateKey: string } {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-bench-key-"));
    try {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(d, "id")]);
        return { hostKey: fs.readFileSync(path.join(d, "id.pub"), "utf8").trim().split(" ").slice(0, 2).join(" "), privateKey: fs.readFileSync(path.join(d, "id"), "utf8") };
    } finally {
        fs.rmSync(d, { recursive: true, force: true });
    }
}

main().catch(exitOnError("bench", USAGE, 1));
