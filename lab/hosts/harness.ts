/**
 * Isolated test hosts: real Debian bookworm machines booted with systemd by `systemd-nspawn`, each in
 * its own network namespace with its own address, running OpenSSH with per-host host keys.
 *
 * Safety: nothing here writes to this machine's /etc or sysctls. Each host is an overlay on a shared
 * read-only root filesystem (built once by scripts/hostimage.sh); all traffic goes over a veth pair
 * to 10.213.N.2. Teardown kills the container by PID, unmounts the overlay and deletes the namespace;
 * it runs from `stopHosts`, on process exit and on SIGINT/SIGTERM, and `sweepStaleHosts` removes
 * hosts whose owning process died without cleaning up. `rebootHost` powers a host off cleanly and
 * boots it again on the same disk with a fresh network namespace (see there for boot-time sysctls).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

const REPO = path.resolve(__dirname, "..", "..");
/** Where per-host state lives while a host runs (overlay layers, keys, logs). */
export const RUN_DIR = process.env.CONNTUNE_RUN_DIR ?? "/run/conntune/hosts";
const SUBNET = "10.213";
const NAME_PREFIX = "ctn";

export interface TestHost {
    /** Host (and network namespace) name, e.g. ctn-17. */
    name: string;
    /** The host's own address (container side of its veth pair). */
    address: string;
    port: number;
    /** Every port sshd listens on (22, plus StartOptions.sshPorts). */
    ports?: number[];
    /** Root login (key). */
    user: "root";
    /** Non-root login with sudo (key login, sudo asks for `sudoPassword`). */
    sudoUser: string;
    sudoPassword: string;
    /** OpenSSH private key (PEM/OpenSSH format) accepted for both users. */
    privateKey: string;
    publicKey: string;
    /** The host's public host key line, e.g. "ssh-ed25519 AAAA…", for pinning. */
    hostKey: string;
    /** PID of the container's init (systemd), for `nsenter` assertions. */
    leaderPid: number;
    /** PID of the systemd-nspawn process. */
    nspawnPid: number;
    dir: string;
}

export interface Capability {
    ok: boolean;
    reason?: string;
}

function sh(cmd: string, args: string[], input?: string): string {
    return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 256 * 1024 * 1024 });
}

function trySh(cmd: string, args: string[]): { ok: boolean; out: string } {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

/** Whether this machine can run test hosts, and if not, why (printed by skipped tests). */
export function capability(): Capability {
    if (process.platform !== "linux") return { ok: false, reason: "test hosts need Linux" };
    if (process.getuid?.() !== 0) return { ok: false, reason: "test hosts need root (network namespaces, overlay mounts, systemd-nspawn)" };
    for (const bin of ["systemd-nspawn", "ip", "ssh-keygen", "debootstrap", "nsenter"]) {
        if (!trySh("sh", ["-c", `command -v ${bin}`]).ok) {
            return { ok: false, reason: `${bin} is not installed (scripts/setup.sh installs it)` };
        }
    }
    const probe = `${NAME_PREFIX}-probe-${process.pid}`;
    const made = trySh("ip", ["netns", "add", probe]);
    if (!made.ok) return { ok: false, reason: `this machine cannot create network namespaces: ip netns add: ${made.out.trim()}` };
    trySh("ip", ["netns", "del", probe]);
    return { ok: true };
}

let baseImage: string | undefined;
/** Build (once, cached) and return the shared root filesystem. */
export function ensureImage(): string {
    if (!baseImage) {
        baseImage = sh("bash", [path.join(REPO, "scripts", "hostimage.sh")]).trim().split("\n").pop()!;
    }
    return baseImage;
}

const live = new Map<string, TestHost>();
let handlersInstalled = false;

function installExitHandlers(): void {
    if (handlersInstalled) return;
    handlersInstalled = true;
    // Hosts of earlier runs that died without teardown (SIGKILL, a crash) go first.
    const swept = sweepStaleHosts();
    if (swept.length) console.warn(`removed test hosts left behind by dead processes: ${swept.join(" ")}`);
    process.on("exit", () => stopAllSync());
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, () => {
            stopAllSync();
            process.kill(process.pid, sig);
        });
    }
}

function allocateIndex(): number {
    // Random start so that parallel runs rarely collide; `ip netns add` is the lock.
    const start = 1 + (randomBytes(1)[0] % 250);
    for (let i = 0; i < 250; i++) {
        const n = 1 + ((start + i) % 250);
        const name = `${NAME_PREFIX}-${n}`;
        if (fs.existsSync(`/run/netns/${name}`)) continue;
        if (trySh("ip", ["netns", "add", name]).ok) return n;
    }
    throw new Error("no free test-host index (250 namespaces named ctn-N exist): run sweepStaleHosts or remove them");
}

function ownerAlive(dir: string): boolean {
    try {
        const owner = Number(fs.readFileSync(path.join(dir, "owner.pid"), "utf8"));
        process.kill(owner, 0);
        return true;
    } catch {
        return false;
    }
}

/** Remove hosts left behind by a process that died without tearing them down. */
export function sweepStaleHosts(): string[] {
    if (!fs.existsSync(RUN_DIR)) return [];
    const removed: string[] = [];
    for (const name of fs.readdirSync(RUN_DIR)) {
        const dir = path.join(RUN_DIR, name);
        if (ownerAlive(dir)) continue;
        teardown(name, dir, readPid(dir, "leader.pid"), readPid(dir, "nspawn.pid"));
        removed.push(name);
    }
    return removed;
}

function readPid(dir: string, file: string): number {
    try {
        return Number(fs.readFileSync(path.join(dir, file), "utf8")) || 0;
    } catch {
        return 0;
    }
}

function isNspawnChild(pid: number): boolean {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").length > 0;
    } catch {
        return false;
    }
}

/** Every process in the container's PID namespace (recorded at boot), init first. */
function namespaceMembers(dir: string): number[] {
    return hostsProcesses([{ dir }]);
}

/**
 * The PIDs of every process in these test hosts' PID namespaces (one pass over /proc), e.g. for
 * teardown or to add up the hosts' CPU time (bench/cpu.ts).
 */
export function hostsProcesses(hosts: Pick<TestHost, "dir">[]): number[] {
    const want = new Set<string>();
    for (const h of hosts) {
        try {
            want.add(fs.readFileSync(path.join(h.dir, "pidns"), "utf8").trim());
        } catch {
            /* not booted, or torn down */
        }
    }
    if (want.size === 0) return [];
    const members: number[] = [];
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        try {
            if (want.has(fs.readlinkSync(`/proc/${e}/ns/pid`))) members.push(Number(e));
        } catch {
            /* gone, or not ours to read */
        }
    }
    return members.sort((a, b) => a - b);
}

function teardown(name: string, dir: string, leaderPid: number, nspawnPid: number): void {
    // SIGKILL the container's whole PID namespace (its init first: the kernel then kills the rest),
    // then systemd-nspawn. A polite poweroff can hang for 90 s.
    for (const pid of [...namespaceMembers(dir), leaderPid, nspawnPid]) {
        if (pid > 1 && isNspawnChild(pid)) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* already gone */
            }
        }
    }
    if (nspawnPid > 1) {
        for (let i = 0; i < 100 && isNspawnChild(nspawnPid); i++) spawnSync("sleep", ["0.05"]);
    }
    // Wait until the container's processes are really gone (SIGKILL is asynchronous).
    for (let i = 0; i < 60 && namespaceMembers(dir).some((p) => !isZombie(p)); i++) spawnSync("sleep", ["0.05"]);
    const merged = path.join(dir, "merged");
    for (let i = 0; i < 20; i++) {
        if (!isMounted(merged)) break;
        if (trySh("umount", [merged]).ok) break;
        spawnSync("sleep", ["0.1"]);
        if (i === 19) trySh("umount", ["-l", merged]);
    }
    trySh("ip", ["netns", "del", name]);
    trySh("ip", ["link", "del", `${name}-h`]);
    fs.rmSync(dir, { recursive: true, force: true });
}

function isZombie(pid: number): boolean {
    try {
        return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    } catch {
        return true;
    }
}

function isMounted(p: string): boolean {
    try {
        return fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => l.split(" ")[4] === p);
    } catch {
        return false;
    }
}

function stopAllSync(): void {
    for (const h of [...live.values()]) stopHostSync(h);
}

/** Stop one host: kill it, unmount its overlay, delete its namespace and files. */
export function stopHostSync(h: TestHost): void {
    teardown(h.name, h.dir, h.leaderPid, h.nspawnPid);
    live.delete(h.name);
}

export async function stopHosts(hosts: TestHost[]): Promise<void> {
    for (const h of hosts) stopHostSync(h);
}

/** A key pair for logins, shared by the hosts of one process. */
let loginKey: { privateKey: string; publicKey: string } | undefined;
function ensureLoginKey(): { privateKey: string; publicKey: string } {
    if (!loginKey) {
        const d = fs.mkdtempSync(path.join(fs.existsSync("/run") ? "/run" : "/tmp", "conntune-key-"));
        sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "conntune-tests", "-f", path.join(d, "id")]);
        loginKey = {
            privateKey: fs.readFileSync(path.join(d, "id"), "utf8"),
            publicKey: fs.readFileSync(path.join(d, "id.pub"), "utf8").trim(),
        };
        fs.rmSync(d, { recursive: true, force: true });
    }
    return loginKey;
}

function waitForSsh(address: string, port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
        const attempt = () => {
            const s = net.connect({ host: address, port });
            let buf = "";
            s.setTimeout(1000);
            s.on("data", (d) => {
                buf += d.toString();
                if (buf.startsWith("SSH-2.0")) {
                    s.destroy();
                    resolve();
                }
            });
            const retry = () => {
                s.destroy();
                if (Date.now() > deadline) reject(new Error(`sshd on ${address}:${port} did not answer within ${timeoutMs} ms`));
                else setTimeout(attempt, 100);
            };
            s.on("error", retry);
            s.on("timeout", retry);
        };
        attempt();
    });
}

/** The container's init: the child of systemd-nspawn that runs systemd (nspawn forks helpers first). */
function findLeader(nspawnPid: number, timeoutMs: number): number {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        try {
            const kids = fs
                .readdirSync(`/proc/${nspawnPid}/task`)
                .flatMap((t) => fs.readFileSync(`/proc/${nspawnPid}/task/${t}/children`, "utf8").trim().split(/\s+/))
                .filter(Boolean)
                .map(Number);
            for (const k of kids) {
                try {
                    if (fs.readFileSync(`/proc/${k}/comm`, "utf8").trim() === "systemd") return k;
                } catch {
                    /* exited meanwhile */
                }
            }
        } catch {
            /* not yet */
        }
        spawnSync("sleep", ["0.05"]);
    }
    throw new Error(`systemd-nspawn (pid ${nspawnPid}) started no container init (systemd)`);
}

export interface StartOptions {
    /** Extra setup inside the host's filesystem before boot (path of the merged root is given). */
    prepare?: (root: string) => void;
    /** Trim what the host runs to what SSH logins, sudo and systemctl need (default true; see trimHost). */
    trim?: boolean;
    /** More sshd ports besides 22 (one per logical host: lab/hosts/fleet.ts). */
    sshPorts?: number[];
}

/**
 * Units a test host does without, each one an inotify instance less (they are global on this machine,
 * 128, charged to root for every host). Measured per booted host by `inotifyInstances`
 * (bench/hostprobe.ts): untrimmed 7 (PID 1 systemd 5, dbus-daemon 1, systemd-logind 1; an agetty adds
 * one where a console getty starts), trimmed 5 (PID 1 alone), also right after logins.
 * - getty: nobody logs in on a container console.
 * - systemd-logind and dbus: an SSH login's PAM session has `pam_systemd.so` as `optional`, so with
 *   no bus it logs one line and the login goes on; sudo's non-interactive session does not use it;
 *   `systemctl` as root talks to PID 1 over its private socket (/run/systemd/private), not the bus.
 *   test/e2e/foundation.test.ts proves a key login, a sudo with a password and systemctl on a trimmed
 *   host; the limits component's verify (a fresh login) runs in hostComponents.test.ts.
 */
export const TRIMMED_UNITS = [
    "getty.target", "console-getty.service", "container-getty@.service", "getty@.service",
    "systemd-logind.service", "dbus.service", "dbus.socket",
];

function trimHost(root: string): void {
    for (const u of TRIMMED_UNITS) {
        const p = `${root}/etc/systemd/system/${u}`;
        fs.rmSync(p, { force: true });
        fs.symlinkSync("/dev/null", p);
    }
}

/**
 * The inotify instances the host's processes hold, by process (read from /proc/PID/fdinfo of every
 * process in the host's PID namespace), e.g. `{ total: 5, byProcess: { "1 systemd": 5 } }`.
 */
export function inotifyInstances(h: TestHost): { total: number; byProcess: Record<string, number> } {
    const byProcess: Record<string, number> = {};
    let total = 0;
    for (const pid of namespaceMembers(h.dir)) {
        const n = inotifyOf(pid);
        if (!n) continue;
        const comm = fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
        byProcess[`${pid} ${comm}`] = n;
        total += n;
    }
    return { total, byProcess };
}

/** inotify instances held on this whole machine (every process this one can read). */
export function machineInotifyInstances(): number {
    let total = 0;
    for (const e of fs.readdirSync("/proc")) if (/^\d+$/.test(e)) total += inotifyOf(Number(e));
    return total;
}

/** inotify instances one process holds (its /proc/PID/fdinfo); 0 when it is gone or not ours to read. */
function inotifyOf(pid: number): number {
    let n = 0;
    try {
        for (const fd of fs.readdirSync(`/proc/${pid}/fdinfo`)) {
            try {
                if (/^inotify /m.test(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"))) n++;
            } catch {
                /* closed meanwhile */
            }
        }
    } catch {
        /* gone, or not ours to read */
    }
    return n;
}

/** Give the host's network namespace (which must exist) a veth pair: 10.213.N.1 here, 10.213.N.2 inside. */
function setupNetwork(name: string, n: number): void {
    sh("ip", ["link", "add", `${name}-h`, "type", "veth", "peer", "name", `${name}-c`]);
    sh("ip", ["link", "set", `${name}-c`, "netns", name]);
    sh("ip", ["addr", "add", `${SUBNET}.${n}.1/24`, "dev", `${name}-h`]);
    sh("ip", ["link", "set", `${name}-h`, "up"]);
    sh("ip", ["-n", name, "link", "set", "lo", "up"]);
    sh("ip", ["-n", name, "link", "set", `${name}-c`, "name", "eth0"]);
    sh("ip", ["-n", name, "addr", "add", `${SUBNET}.${n}.2/24`, "dev", "eth0"]);
    sh("ip", ["-n", name, "link", "set", "eth0", "up"]);
}

/**
 * Start systemd-nspawn on the host's overlay in its network namespace, wait for sshd, and record the
 * PIDs (nspawn, the container's init, its PID namespace) that hostExec and teardown rely on.
 */
async function boot(h: TestHost, consoleFlags: "w" | "a"): Promise<void> {
    const logFd = fs.openSync(path.join(h.dir, "console.log"), consoleFlags);
    const child = spawn(
        "systemd-nspawn",
        ["-q", "-D", path.join(h.dir, "merged"), "--boot", "--register=no", "--keep-unit", `--network-namespace-path=/run/netns/${h.name}`,
            `--machine=${h.name}`, "--console=pipe"],
        { env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: "network" }, stdio: ["ignore", logFd, logFd], detached: true },
    );
    fs.closeSync(logFd);
    child.unref();
    h.nspawnPid = child.pid ?? 0;
    fs.writeFileSync(path.join(h.dir, "nspawn.pid"), String(h.nspawnPid));
    h.leaderPid = findLeader(h.nspawnPid, 10_000);
    fs.writeFileSync(path.join(h.dir, "leader.pid"), String(h.leaderPid));
    await waitForSsh(h.address, h.port, 60_000);
    // Once sshd answers, the init is surely the final one: resolve it again for the back door,
    // and record its PID namespace so that teardown can kill every process in it.
    h.leaderPid = findLeader(h.nspawnPid, 10_000);
    fs.writeFileSync(path.join(h.dir, "leader.pid"), String(h.leaderPid));
    fs.writeFileSync(path.join(h.dir, "pidns"), fs.readlinkSync(`/proc/${h.leaderPid}/ns/pid`));
}

function consoleTail(dir: string): string {
    try {
        return fs.readFileSync(path.join(dir, "console.log"), "utf8").split("\n").slice(-15).join("\n");
    } catch {
        return "";
    }
}

/**
 * Seed 000's `llm-gateway.service` as a stand-in (a sleeping process), for unit-override tests,
 * the demo and the benchmark. `enable` starts it at every boot.
 */
export function addGatewayUnit(root: string, enable = false): void {
    const unit = `${root}/etc/systemd/system/llm-gateway.service`;
    fs.writeFileSync(unit, "[Unit]\nDescription=stand-in for llm-gateway (seed 000)\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n");
    if (enable) fs.symlinkSync("/etc/systemd/system/llm-gateway.service", `${root}/etc/systemd/system/multi-user.target.wants/llm-gateway.service`);
}

/** Boot one host. */
export async function startHost(opts: StartOptions = {}): Promise<TestHost> {
    installExitHandlers();
    const image = ensureImage();
    const key = ensureLoginKey();
    const n = allocateIndex();
    const name = `${NAME_PREFIX}-${n}`;
    const dir = path.join(RUN_DIR, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "owner.pid"), String(process.pid));
    const address = `${SUBNET}.${n}.2`;
    const partial: TestHost = {
        name, address, port: 22, user: "root", sudoUser: "tuner", sudoPassword: randomBytes(12).toString("hex"),
        privateKey: key.privateKey, publicKey: key.publicKey, hostKey: "", leaderPid: 0, nspawnPid: 0, dir,
    };
    live.set(name, partial);
    try {
        // Network: a veth pair, host side in this namespace, container side in the host's namespace.
        setupNetwork(name, n);

        // Filesystem: an overlay on the shared image.
        for (const d of ["upper", "work", "merged"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
        const root = path.join(dir, "merged");
        sh("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${image},upperdir=${dir}/upper,workdir=${dir}/work`, root]);

        // Identity: own host key (pinning must mean something), hostname, login keys, sudo password.
        sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@${name}`, "-f", `${root}/etc/ssh/ssh_host_ed25519_key`]);
        partial.hostKey = fs.readFileSync(`${root}/etc/ssh/ssh_host_ed25519_key.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
        fs.writeFileSync(`${root}/etc/hostname`, `${name}\n`);
        fs.writeFileSync(`${root}/etc/hosts`, `127.0.0.1 localhost\n127.0.1.1 ${name}\n::1 localhost ip6-localhost ip6-loopback\n`);
        for (const [home, owner] of [["/root", "0:0"], ["/home/tuner", "tuner:tuner"]] as const) {
            fs.mkdirSync(`${root}${home}/.ssh`, { recursive: true, mode: 0o700 });
            fs.writeFileSync(`${root}${home}/.ssh/authorized_keys`, `${key.publicKey}\n`, { mode: 0o600 });
            if (owner !== "0:0") sh("chroot", [root, "chown", "-R", owner, `${home}/.ssh`]);
        }
        sh("chroot", [root, "chpasswd"], `tuner:${partial.sudoPassword}\n`);
        // No per-user systemd managers (user@.service): nothing here needs one, each costs inotify
        // instances (global on this machine, 128), and inside nspawn stopping one can hang for two
        // minutes ("Failed to kill control group … Input/output error"), while a new login waits for
        // it (seen as a 2-minute `pulumi up` in the benchmark). logind lets logins proceed without it.
        fs.symlinkSync("/dev/null", `${root}/etc/systemd/system/user@.service`);
        if (opts.trim !== false) trimHost(root);
        if (opts.sshPorts?.length) {
            // Several sshd ports, one per logical host (see lab/hosts/fleet.ts). Port is cumulative:
            // appended to the main file, it adds listeners and leaves every drop-in in charge of the rest.
            partial.ports = [22, ...opts.sshPorts.filter((p) => p !== 22)];
            fs.appendFileSync(`${root}/etc/ssh/sshd_config`, `\n# conntune test harness: logical hosts\n${partial.ports.map((p) => `Port ${p}\n`).join("")}`);
        }
        opts.prepare?.(root);

        await boot(partial, "w");
        return partial;
    } catch (e) {
        const tail = consoleTail(dir);
        stopHostSync(partial);
        throw new Error(`test host ${name} failed to start: ${(e as Error).message}${tail ? `\n--- console ---\n${tail}` : ""}`);
    }
}

/**
 * Reboot a host the way a VM reboots: a clean `systemctl poweroff` inside (waiting for systemd-nspawn
 * to exit), the disk (the overlay) kept, a fresh network namespace with the same name, veth and
 * address (a new kernel network state: every per-namespace sysctl back to its default), then the same
 * boot as startHost. The host key stays, so pinned connections keep working. `h` is updated in place
 * (leaderPid, nspawnPid).
 *
 * Boot-time sysctls: Debian bookworm's systemd-sysctl.service has
 * `ConditionPathIsReadWrite=/proc/sys/net/`, and /proc/sys/net is writable in these hosts
 * (SYSTEMD_NSPAWN_API_VFS_WRITABLE=network), so it runs at every boot and applies the net.* keys of
 * /etc/sysctl.d like on a VM, with no change to the image. Everything else under /proc/sys stays
 * read-only inside nspawn: its writes to other keys (the image's fs.protected_* defaults) fail with EROFS, which
 * systemd-sysctl logs and ignores, so a test host can never set vm./fs./kernel. keys on this machine.
 */
export async function rebootHost(h: TestHost, timeoutMs = 60_000): Promise<void> {
    const n = Number(h.name.slice(NAME_PREFIX.length + 1));
    hostTry(h, "systemctl poweroff");
    const deadline = Date.now() + timeoutMs;
    while (isNspawnChild(h.nspawnPid) || namespaceMembers(h.dir).some((p) => !isZombie(p))) {
        if (Date.now() > deadline) {
            throw new Error(`test host ${h.name} did not power off within ${timeoutMs} ms\n--- console ---\n${consoleTail(h.dir)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    // The old namespace goes with its veth pair; the name is taken again at once (allocateIndex's lock).
    trySh("ip", ["link", "del", `${h.name}-h`]);
    trySh("ip", ["netns", "del", h.name]);
    const made = trySh("ip", ["netns", "add", h.name]);
    if (!made.ok) throw new Error(`rebooting ${h.name}: cannot create its network namespace again: ${made.out.trim()}`);
    setupNetwork(h.name, n);
    try {
        await boot(h, "a");
    } catch (e) {
        throw new Error(`test host ${h.name} failed to boot again: ${(e as Error).message}\n--- console ---\n${consoleTail(h.dir)}`);
    }
}

/** inotify instances one booted host holds (measured: see TRIMMED_UNITS), plus one for a transient. */
export function inotifyPerHost(trim = true): number {
    return trim ? 6 : 8;
}

/** How many more hosts fit under the machine's global inotify instance limit right now. */
export function hostsThatFit(trim = true): number {
    let limit = 128;
    try {
        limit = Number(fs.readFileSync("/proc/sys/fs/inotify/max_user_instances", "utf8"));
    } catch {
        /* keep the usual default */
    }
    // Keep 8 for this machine's own processes (the CLI, editors, the next host's boot).
    return Math.max(0, Math.floor((limit - 8 - machineInotifyInstances()) / inotifyPerHost(trim)));
}

/**
 * Boot `count` hosts in parallel. inotify instances are global on this machine (128): a trimmed host
 * holds 5, an untrimmed one 7, so this refuses a count that would not fit (see hostsThatFit).
 */
export async function startHosts(count: number, opts: StartOptions = {}): Promise<TestHost[]> {
    const fit = hostsThatFit(opts.trim !== false);
    if (count > fit) throw new Error(`only ${fit} more systemd test hosts fit this machine's inotify instance limit now (asked for ${count})`);
    const results = await Promise.allSettled(Array.from({ length: count }, () => startHost(opts)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    const ok = results.filter((r): r is PromiseFulfilledResult<TestHost> => r.status === "fulfilled").map((r) => r.value);
    if (failed) {
        await stopHosts(ok);
        throw failed.reason;
    }
    return ok;
}

/** Run a command inside the host through its namespaces (the test back door, no SSH). */
export function hostExec(h: TestHost, command: string): string {
    return sh("nsenter", ["-t", String(h.leaderPid), "-a", "sh", "-c", command]);
}

/** Like hostExec, but returns status and output instead of throwing. */
export function hostTry(h: TestHost, command: string): { status: number; out: string } {
    const r = spawnSync("nsenter", ["-t", String(h.leaderPid), "-a", "sh", "-c", command], { encoding: "utf8" });
    return { status: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/**
 * SIGKILL the SSH session that runs a held script (a test's shim wrote its PID to `hitFile`): from
 * that PID up to the connection's own sshd (the child of the listener), then that process and all
 * its descendants at once, by PID. Returns the killed processes (pid and command line).
 */
export function killHeldSession(h: TestHost, hitFile: string): string {
    return hostExec(
        h,
        `set -e
p=$(cat ${hitFile}); listener=$(systemctl show -p MainPID --value ssh.service); s=$p
while pp=$(ps -o ppid= -p "$s" | tr -d ' '); [ "$pp" != "$listener" ]; do
  [ -n "$pp" ] && [ "$pp" -gt 1 ] || { echo "no sshd session above pid $p" >&2; exit 1; }
  s=$pp
done
pids=$(ps -e -o pid=,ppid= | awk -v root="$s" '{ pp[$1] = $2 } END {
  keep[root] = 1
  do { more = 0; for (p in pp) if (!(p in keep) && (pp[p] in keep)) { keep[p] = 1; more = 1 } } while (more)
  for (p in keep) print p }')
ps -o pid=,args= -p "$(echo $pids | tr ' ' ,)" | cut -c1-100
# Freeze the whole tree first so that nothing in it reacts, then kill it (a member may exit meanwhile).
kill -STOP $pids 2>/dev/null || true
kill -KILL $pids 2>/dev/null || true
for i in $(seq 50); do alive=""; for q in $pids; do kill -0 "$q" 2>/dev/null && alive="$alive $q"; done; [ -z "$alive" ] && break; sleep 0.1; done
[ -z "$alive" ] || { echo "still alive:$alive" >&2; exit 1; }`,
    );
}
