/**
 * A throwaway PostgreSQL cluster for the team-state tests: Debian's server binaries, a cluster of its
 * own in a temp dir (initdb as an unprivileged account, never the machine's system cluster or /etc),
 * listening on a free loopback port with password (SCRAM) logins and on a unix socket in that dir
 * for the admin. `stop` (also run on process exit) ends the postmaster by its PID and removes the dir.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** A running test cluster and the team-state login on it. */
export interface TestPostgres {
    /** The backend URL for PULUMI_BACKEND_URL: no password in it (that is `password`, for PGPASSWORD). */
    url: string;
    /** The state role's password. */
    password: string;
    /** What a stack's engine needs to use this cluster: PULUMI_BACKEND_URL and PGPASSWORD. */
    env: { PULUMI_BACKEND_URL: string; PGPASSWORD: string };
    /** The state table's name. */
    table: string;
    port: number;
    /** PID of the postmaster. */
    pid: number;
    /** Run SQL (on stdin) as the state role through the unix socket; returns psql's unaligned output. */
    sql(query: string): string;
    /** Stop the postmaster by PID (bounded waits) and remove the cluster's dir. */
    stop(): Promise<void>;
}

const ROLE = "conntune_state";
const DATABASE = "conntune";

/** The newest Debian PostgreSQL server's bin dir (initdb, pg_ctl, psql), or undefined. */
export function postgresBinDir(): string | undefined {
    const root = "/usr/lib/postgresql";
    if (!fs.existsSync(root)) return undefined;
    const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a));
    return versions.length ? path.join(root, versions[0], "bin") : undefined;
}

/** Why this machine cannot run a test cluster, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
    if (!postgresBinDir()) return "PostgreSQL's server is not installed (scripts/setup.sh installs Debian's postgresql)";
    if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0) return "no unprivileged `postgres` account to run initdb as";
    return undefined;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

/** Start a cluster; throws (after removing what it made) when it does not come up within 30 s. */
export async function startPostgres(opts: { table?: string } = {}): Promise<TestPostgres> {
    const bin = postgresBinDir();
    const reason = postgresUnavailable();
    if (!bin || reason) throw new Error(reason);
    // initdb refuses root: as root, the cluster belongs to Debian's unprivileged `postgres` account.
    const asUser = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-pg-"));
    const data = path.join(dir, "data");
    const table = opts.table ?? "pulumi_state";
    const password = randomBytes(18).toString("base64url");
    let pid = 0;
    const run = (cmd: string, args: string[], input?: string, timeout = 60_000) => {
        const argv = [...asUser, path.join(bin, cmd), ...args];
        const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", input, timeout, cwd: dir, maxBuffer: 512 * 1024 * 1024 });
        if (r.status !== 0) throw new Error(`${cmd} failed (${r.error ?? `exit ${r.status}`}): ${`${r.stdout}${r.stderr}`.trim().slice(-2000)}`);
        return r.stdout;
    };
    const stopSync = () => {
        if (pid && alive(pid)) {
            process.kill(pid, "SIGQUIT"); // immediate shutdown: nothing to keep
            const until = Date.now() + 10_000;
            while (alive(pid) && Date.now() < until) spawnSync("sleep", ["0.1"]);
            if (alive(pid)) process.kill(pid, "SIGKILL");
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };
    process.once("exit", stopSync);
    try {
        if (asUser.length) {
            fs.chmodSync(dir, 0o700);
            spawnSync("chown", ["postgres:", dir]);
        }
        run("initdb", ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"]);
        const port = await freePort();
        // pg_ctl -w waits (at most -t seconds) until the server accepts connections.
        run("pg_ctl", ["-D", data, "-l", path.join(dir, "server.log"), "-w", "-t", "30", "-o", `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`, "start"]);
        pid = Number(fs.readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
        const psql = (user: string, db: string, query: string) =>
            run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", String(port), "-U", user, "-d", db, "-f", "-"], query, 30_000);
        // The password goes on psql's stdin, never into an argument.
        psql("postgres", "postgres", `CREATE ROLE ${ROLE} LOGIN PASSWORD '${password}';\nCREATE DATABASE ${DATABASE} OWNER ${ROLE};\n`);
        const url = `postgres://${ROLE}@127.0.0.1:${port}/${DATABASE}?sslmode=disable&table=${table}`;
        return {
            url,
            password,
            env: { PULUMI_BACKEND_URL: url, PGPASSWORD: password },
            table,
            port,
            pid,
            sql: (query) => psql(ROLE, DATABASE, query),
            stop: async () => {
                process.removeListener("exit", stopSync);
                stopSync();
            },
        };
    } catch (e) {
        process.removeListener("exit", stopSync);
        stopSync();
        throw e;
    }
}
