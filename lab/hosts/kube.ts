/**
 * A real Kubernetes API server on loopback for live-mode tests: Debian's etcd + kube-apiserver built
 * from its Go module (scripts/kube-apiserver.sh). No nodes, no controllers: objects are stored and
 * served, which is what a ConfigMap / patch test needs. Everything stops by PID in `stop()`.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

const REPO = path.resolve(__dirname, "..", "..");

export interface KubeApi {
    kubeconfig: string;
    /** Run kubectl against the server. */
    kubectl(...args: string[]): string;
    /** Kill etcd and kube-apiserver (by PID) and wait until they are gone. */
    stop(): Promise<void>;
}

function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

/** Why live-mode tests cannot run here, or undefined when they can. */
export function kubeUnavailable(): string | undefined {
    if (spawnSync("sh", ["-c", "command -v etcd && command -v kubectl && command -v openssl"]).status !== 0) {
        return "etcd (etcd-server), kubectl or openssl is missing (scripts/setup.sh installs them)";
    }
    if (spawnSync("bash", [path.join(REPO, "scripts", "kube-apiserver.sh"), "--check"]).status !== 0) {
        return "kube-apiserver is not built (scripts/setup.sh builds it from its Go module)";
    }
    return undefined;
}

async function waitFor(check: () => boolean, what: string, ms: number, proc?: ChildProcess, logf?: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
        if (check()) return;
        if (proc && proc.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 200));
    }
    const tail = logf && fs.existsSync(logf) ? fs.readFileSync(logf, "utf8").split("\n").slice(-15).join("\n") : "";
    throw new Error(`${what} did not come up within ${ms} ms${tail ? `:\n${tail}` : ""}`);
}

export async function startKubeApi(): Promise<KubeApi> {
    const apiserver = execFileSync("bash", [path.join(REPO, "scripts", "kube-apiserver.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-kube-"));
    const procs: ChildProcess[] = [];
    const killAll = () => {
        for (const p of [...procs].reverse()) {
            if (p.exitCode === null && p.signalCode === null && p.pid) {
                try {
                    process.kill(p.pid, "SIGKILL");
                } catch {
                    /* gone */
                }
            }
        }
    };
    const stop = async () => {
        const exited = procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once("exit", () => r()))));
        killAll();
        await Promise.all(exited); // reaped here, not left as zombies
        fs.rmSync(dir, { recursive: true, force: true });
    };
    process.once("exit", killAll);
    try {
        const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
        const etcdLog = path.join(dir, "etcd.log");
        const etcd = spawn("etcd", [
            "--data-dir", path.join(dir, "etcd"), "--listen-client-urls", `http://127.0.0.1:${etcdPort}`,
            "--advertise-client-urls", `http://127.0.0.1:${etcdPort}`, "--listen-peer-urls", `http://127.0.0.1:${peerPort}`,
            "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`, "--initial-cluster", `default=http://127.0.0.1:${peerPort}`,
        ], { stdio: ["ignore", fs.openSync(etcdLog, "w"), fs.openSync(etcdLog, "a")] });
        procs.push(etcd);
        await waitFor(() => spawnSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${etcdPort}`]).status === 0, "etcd", 15_000, etcd, etcdLog);

        execFileSync("openssl", ["genrsa", "-out", path.join(dir, "sa.key"), "2048"], { stdio: "ignore" });
        execFileSync("openssl", ["rsa", "-in", path.join(dir, "sa.key"), "-pubout", "-out", path.join(dir, "sa.pub")], { stdio: "ignore" });
        const token = randomBytes(16).toString("hex");
        fs.writeFileSync(path.join(dir, "tokens.csv"), `${token},conntune-admin,1,"system:masters"\n`);
        const apiLog = path.join(dir, "apiserver.log");
        const api = spawn(apiserver, [
            `--etcd-servers=http://127.0.0.1:${etcdPort}`, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            `--secure-port=${apiPort}`, `--cert-dir=${path.join(dir, "certs")}`, "--authorization-mode=RBAC",
            `--token-auth-file=${path.join(dir, "tokens.csv")}`, "--service-cluster-ip-range=10.96.0.0/16",
            `--service-account-key-file=${path.join(dir, "sa.pub")}`, `--service-account-signing-key-file=${path.join(dir, "sa.key")}`,
            "--service-account-issuer=https://kubernetes.default.svc", "--disable-admission-plugins=ServiceAccount",
            "--enable-priority-and-fairness=false", "--profiling=false",
        ], { stdio: ["ignore", fs.openSync(apiLog, "w"), fs.openSync(apiLog, "a")] });
        procs.push(api);
        const kubeconfig = path.join(dir, "kubeconfig");
        fs.writeFileSync(
            kubeconfig,
            [
                "apiVersion: v1", "kind: Config", "clusters:", "- name: local", "  cluster:", `    server: https://127.0.0.1:${apiPort}`,
                "    insecure-skip-tls-verify: true", "users:", "- name: admin", "  user:", `    token: ${token}`, "contexts:",
                "- name: local", "  context:", "    cluster: local", "    user: admin", "current-context: local", "",
            ].join("\n"),
        );
        const kubectl = (...args: string[]) => execFileSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        await waitFor(() => {
            try {
                return kubectl("get", "--raw", "/readyz").trim() === "ok";
            } catch {
                return false;
            }
        }, "kube-apiserver", 90_000, api, apiLog);
        return { kubeconfig, kubectl, stop };
    } catch (e) {
        await stop();
        throw e;
    }
}
