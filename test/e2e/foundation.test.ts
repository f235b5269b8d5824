/**
 * Foundation proof: the real Pulumi engine, language host and plugins, against a real test host.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capability, hostExec, inotifyInstances, startHost, stopHosts, TestHost } from "../../lab/hosts/harness";
import { login, sshRun } from "../../lab/hosts/ssh";
import { dispose, e2eGate, noChanges, projectCopy, REPO, Stack } from "../../lab/stack";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

/** SSH logins the host's sshd has accepted so far (journalctl -t sshd; -u ssh misses some). */
export function acceptedLogins(h: TestHost): number {
    const out = hostExec(h, "journalctl -t sshd -o cat --no-pager 2>/dev/null | grep -c '^Accepted' || true");
    return Number(out.trim()) || 0;
}

describe.runIf(run)("the real Pulumi CLI with @pulumi/command on a test host", () => {
    let host: TestHost;
    let stack: Stack;

    beforeAll(async () => {
        host = await startHost();
        stack = new Stack(projectCopy(path.join(REPO, "test/e2e/fixtures/minimal-command")), "e2e-minimal");
        await stack.init();
        await stack.setConfig("host", host.address);
        await stack.setConfig("port", String(host.port));
        await stack.setConfig("user", "root");
        await stack.setConfig("hostKey", host.hostKey);
        await stack.setConfig("privateKey", host.privateKey, true);
        await stack.setConfig("marker", "conntune was here");
    });

    afterAll(async () => {
        await dispose(stack);
        if (host) await stopHosts([host]);
    });

    it("runs a trimmed host (PID 1 alone holds inotify instances: no getty, logind or dbus) where a key login, sudo with a password and systemctl still work", async () => {
        const running = hostExec(host, "systemctl list-units --type=service --state=running --no-legend --plain | awk '{print $1}'");
        expect(running).not.toMatch(/getty|systemd-logind|dbus/);
        expect(running).toMatch(/ssh\.service/);
        const held = inotifyInstances(host);
        expect(Object.keys(held.byProcess).map((k) => k.split(" ")[1])).toEqual(["systemd"]);
        expect(held.total).toBeLessThanOrEqual(6);
        expect(await sshRun(host, "id -un; systemctl is-active ssh.service")).toBe("root\nactive");
        const l = await login(host, "sudo");
        try {
            const r = await l.run("sudo -S -p '' sh -c 'id -un; systemctl show -p MainPID --value ssh.service'", `${host.sudoPassword}\n`);
            expect(r.code).toBe(0);
            expect(r.stdout.split("\n")[0]).toBe("root");
            expect(Number(r.stdout.split("\n")[1])).toBeGreaterThan(1);
        } finally {
            l.close();
        }
    });

    it("shows the toolchain's CLI, the kubernetes plugin at the SDK's version and conntune's own command provider", async () => {
        const v = await stack.run(["version"]);
        expect(v.stdout.trim()).toMatch(/^v3\.\d+\.\d+/);
        const plugins = await stack.run(["plugin", "ls"]);
        const want = (pkg: string) => JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", pkg, "package.json"), "utf8")).version.replace(/^v/, "");
        expect(plugins.stdout).toMatch(new RegExp(`kubernetes\\s+resource\\s+${want("@pulumi/kubernetes").replace(/\./g, "\\.")}`));
        // The command provider comes from this clone (Pulumi.yaml plugins.providers), under its own version.
        const r = await stack.run(["preview", "--stack", stack.name, "-v=7", "--logtostderr"]);
        const reported = [...r.stderr.matchAll(/GetPluginInfo\(\) success \(#version=([^)\s]+)\)/g)].map((m) => m[1]);
        expect(reported).toContain(fs.readFileSync(path.join(REPO, "node_modules/.cache/conntune-command-provider/version"), "utf8").trim());
        expect(reported.join(" ")).toMatch(new RegExp(`^${want("@pulumi/command").replace(/\./g, "\\.")}\\+conntune\\.[0-9a-f]{12}$`));
        expect(r.stderr).toContain("node_modules/.cache/conntune-command-provider/pulumi-resource-command");
    });

    it("previews without opening an SSH connection", async () => {
        const before = acceptedLogins(host);
        const r = await stack.preview();
        expect(r.stdout).toMatch(/\+ .*command:remote:Command/);
        expect(acceptedLogins(host)).toBe(before);
    });

    it("creates the file on the host with pulumi up (checked over the test's own SSH login)", async () => {
        await stack.up();
        expect(await sshRun(host, "cat /root/conntune-e2e-marker")).toBe("conntune was here");
        const outputs = await stack.outputs();
        expect(outputs.written).toBe("conntune was here");
    });

    it("reports no changes on a second up and opens no SSH connection", async () => {
        const before = acceptedLogins(host);
        const r = await stack.up();
        expect(noChanges(r.stdout), r.stdout).toBe(true);
        expect(acceptedLogins(host)).toBe(before);
    });

    it("refuses a host whose key differs from the pinned one", async () => {
        const other = await startHost();
        try {
            await stack.setConfig("hostKey", other.hostKey);
            await stack.setConfig("marker", "must never be written");
            const r = await stack.up([], true);
            expect(r.code).not.toBe(0);
            expect(`${r.stdout}${r.stderr}`).toMatch(/host key|handshake/i);
            expect(await sshRun(host, "cat /root/conntune-e2e-marker")).toBe("conntune was here");
        } finally {
            await stopHosts([other]);
            await stack.setConfig("hostKey", host.hostKey);
            await stack.setConfig("marker", "conntune was here");
        }
    });

    it("undoes the effect with pulumi destroy", async () => {
        await stack.destroy();
        const r = await sshRun(host, "test -e /root/conntune-e2e-marker && echo present || echo absent");
        expect(r.trim()).toBe("absent");
    });

    it("keeps the private key out of the state file and the CLI output", () => {
        const secretBody = host.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"))[1];
        expect(stack.stateText()).not.toContain(secretBody);
        expect(stack.transcript.join("\n")).not.toContain(secretBody);
    });
});

describe.runIf(run)("the real Pulumi CLI with @pulumi/kubernetes in renderYamlToDirectory mode", () => {
    let stack: Stack;
    let renderDir: string;

    beforeAll(async () => {
        renderDir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-render-"));
        stack = new Stack(projectCopy(path.join(REPO, "test/e2e/fixtures/render-configmap")), "e2e-render");
        await stack.init();
        await stack.setConfig("renderDir", renderDir);
        await stack.setConfig("conf", "maxmemory 30064771072\nmaxmemory-policy allkeys-lru\n");
    });

    afterAll(async () => {
        await dispose(stack);
        fs.rmSync(renderDir, { recursive: true, force: true });
    });

    it("writes the ConfigMap manifest to the directory", async () => {
        await stack.up();
        const files = fs.readdirSync(renderDir, { recursive: true }).map(String).filter((f) => f.endsWith(".yaml"));
        expect(files.length).toBe(1);
        const yaml = fs.readFileSync(path.join(renderDir, files[0]), "utf8");
        expect(yaml).toContain("kind: ConfigMap");
        expect(yaml).toContain("name: redis-standalone-ext-config");
        expect(yaml).toContain("namespace: redis");
        expect(yaml).toMatch(/redis-additional\.conf: \|-?\s*\n\s*maxmemory 30064771072/);
    });
});
