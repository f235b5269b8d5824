/**
 * What a test host holds and what a login on it still needs: boots one untrimmed and one trimmed
 * host, prints their inotify instances by process, and on the trimmed one logs in through the real
 * sshd (key) as root and as the sudo user, runs sudo with the password, and `systemctl show`.
 *
 *   flock /tmp/conntune-e2e.lock npx tsx bench/hostprobe.ts
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostExec, inotifyInstances, startHost, stopHosts, TestHost } from "../lab/hosts/harness";

function ssh(h: TestHost, dir: string, user: string, cmd: string, input?: string): string {
    return execFileSync("ssh", ["-i", `${dir}/id`, "-o", `UserKnownHostsFile=${dir}/kh`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", String(h.port), `${user}@${h.address}`, cmd], { encoding: "utf8", input });
}

async function main(): Promise<void> {
    const hosts: TestHost[] = [];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-probe-"));
    try {
        hosts.push(await startHost({ trim: false }));
        hosts.push(await startHost());
        await new Promise((r) => setTimeout(r, 3000)); // boot settles
        for (const [h, label] of [[hosts[0], "untrimmed"], [hosts[1], "trimmed"]] as const) {
            console.log(label, JSON.stringify(inotifyInstances(h)));
            console.log(label, "running units:", hostExec(h, "systemctl list-units --type=service --state=running --no-legend --plain | awk '{print $1}' | tr '\\n' ' '"));
        }
        const h = hosts[1];
        fs.writeFileSync(`${dir}/id`, h.privateKey, { mode: 0o600 });
        fs.writeFileSync(`${dir}/kh`, `${h.address} ${h.hostKey}\n`);
        console.log("root login:", ssh(h, dir, "root", "id -un; ulimit -n; systemctl show -p LimitNOFILE --value ssh.service").trim().replace(/\n/g, " | "));
        console.log("sudo login:", ssh(h, dir, h.sudoUser, "id -un; sudo -S -p '' id -un; sudo -S -p '' systemctl is-active ssh", `${h.sudoPassword}\n${h.sudoPassword}\n`).trim().replace(/\n/g, " | "));
        console.log("after logins (trimmed)", JSON.stringify(inotifyInstances(h)));
        console.log("sshd journal:", hostExec(h, "journalctl -q -t sshd --no-pager | tail -n 4"));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        await stopHosts(hosts);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
