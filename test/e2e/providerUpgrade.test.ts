/**
 * A stack created by an earlier conntune (commit 412d6db: its program and its provider, registered in
 * the plugin cache as `command` 1.2.1, as that commit's toolchain did) upgrades to this checkout's
 * per-clone provider (Pulumi.yaml `plugins.providers`, version 1.2.1+conntune.<hash>): no resource
 * replaced, no file on the host rewritten, and the next `up` is a no-op.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addGatewayUnit, capability, hostExec, startHosts, stopHosts, TestHost } from "../../lab/hosts/harness";
import { conntuneProject, dispose, e2eGate, noChanges, REPO, Stack } from "../../lab/stack";
import { toolchainEnv } from "../../scripts/engine";

const cap = capability();
const run = e2eGate(cap.ok ? undefined : cap.reason);

/** The commit whose stacks must keep working: main before conntune's provider had its own identity. */
const OLD_COMMIT = "412d6db";

/** SSH logins the host's sshd has accepted so far. */
function acceptedLogins(h: TestHost): number {
    return Number(hostExec(h, "journalctl -t sshd -o cat --no-pager 2>/dev/null | grep -c '^Accepted' || true").trim()) || 0;
}

/** Inode, mtime and path of every file conntune may have written on the host. */
function fileStamps(h: TestHost): string {
    return hostExec(
        h,
        "find /etc/ssh /etc/sysctl.d /etc/security/limits.d /etc/systemd/system /etc/systemd/system.conf.d /var/lib/conntune -xdev -type f -printf '%p %i %T@\\n' 2>/dev/null | sort",
    );
}

/** URN → ID of every command in the stack's state (a replacement gives a new ID). */
async function commandIds(stack: Stack): Promise<Record<string, string>> {
    const r = await stack.run(["stack", "export", "--stack", stack.name]);
    const resources = (JSON.parse(r.stdout).deployment.resources ?? []) as { urn: string; id?: string; type: string }[];
    // By name: the URNs lose the kind's component between host and command (an alias carries the command over).
    return Object.fromEntries(resources.filter((x) => x.type === "command:remote:Command").map((x) => [x.urn.split("::").pop()!, x.id ?? ""]));
}

/** The versions the engine's provider plugins reported (from `-v=7` engine logs). */
function reportedVersions(stderr: string): string[] {
    return [...new Set([...stderr.matchAll(/GetPluginInfo\(\) success \(#version=([^)\s]+)\)/g)].map((m) => m[1]))];
}

/** Files of the program at OLD_COMMIT, and its provider built and registered as that commit's toolchain did. */
function oldCheckout(): { dir: string; pulumiHome: string } {
    const known = spawnSync("git", ["-C", REPO, "cat-file", "-e", `${OLD_COMMIT}^{commit}`]);
    if (known.status !== 0) {
        throw new Error(`commit ${OLD_COMMIT} is not in this clone's history (a shallow clone?): fetch it (git fetch --unshallow) to run the upgrade test`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-old-"));
    const tar = execFileSync("git", ["-C", REPO, "archive", "--format=tar", OLD_COMMIT], { maxBuffer: 256 << 20 });
    execFileSync("tar", ["-x", "-C", dir], { input: tar });
    // Only the program and the provider: no other stack's config (those name a user's machines).
    for (const f of fs.readdirSync(dir)) if (f.startsWith("Pulumi.") && f !== "Pulumi.yaml") fs.rmSync(path.join(dir, f));
    fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
    const bin = path.join(dir, "old-provider", "pulumi-resource-command");
    const built = spawnSync("go", ["build", "-trimpath", "-ldflags", "-s -w -X main.version=1.2.1", "-o", bin, "."], {
        cwd: path.join(dir, "tools", "command-provider"),
        env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
        encoding: "utf8",
    });
    if (built.status !== 0) throw new Error(`could not build the provider of ${OLD_COMMIT} (Go is needed, as for the toolchain): ${built.error ?? built.stderr}`);
    // That commit's toolchain registered its provider in the plugin cache as `command` 1.2.1: the same,
    // in a private plugin cache (the machine's shared one is left alone).
    const pulumiHome = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-old-home-"));
    execFileSync("pulumi", ["plugin", "install", "resource", "command", "1.2.1", "--file", bin], {
        env: { ...toolchainEnv(), PULUMI_HOME: pulumiHome },
        stdio: ["ignore", "pipe", "pipe"],
    });
    return { dir, pulumiHome };
}

/** Replace the program in `dir` by this checkout's (a `git pull` of the project), keeping the stack's config. */
function upgradeProgram(dir: string): void {
    for (const f of fs.readdirSync(dir)) {
        if (f === "node_modules" || (f.startsWith("Pulumi.") && f !== "Pulumi.yaml")) continue;
        fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    }
    const fresh = conntuneProject();
    for (const f of fs.readdirSync(fresh)) {
        if (f !== "node_modules") fs.cpSync(path.join(fresh, f), path.join(dir, f), { recursive: true });
    }
    fs.rmSync(fresh, { recursive: true, force: true });
}

describe.runIf(run)(`a stack created by commit ${OLD_COMMIT} upgrades to this checkout's provider`, () => {
    let hosts: TestHost[] = [];
    let h: TestHost;
    let stack: Stack;
    let old: { dir: string; pulumiHome: string } | undefined;
    let stampsBefore: string;
    let idsBefore: Record<string, string>;
    let upgrade: { stdout: string; stderr: string };

    beforeAll(async () => {
        hosts = await startHosts(1, { prepare: (root) => addGatewayUnit(root) });
        h = hosts[0];
        hostExec(h, "systemctl start llm-gateway.service");
        old = oldCheckout();
        stack = new Stack(old.dir, "e2e-upgrade");
        stack.env.PULUMI_HOME = old.pulumiHome;
        await stack.init();
        await stack.setConfig("conntune:sshPrivateKey", h.privateKey, true);
        await stack.setHosts([
            {
                name: "web1",
                connection: { host: h.address, port: h.port, user: "root", hostKey: h.hostKey },
                sysctl: { keyPolicy: { "net.netfilter.nf_conntrack_max": "skip" } },
                limits: { soft: 4096, hard: 16384 },
                systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 16384 } } }],
            },
        ]);
    }, 300_000);

    afterAll(async () => {
        if (stack) {
            await stack.destroy(true);
            await stack.remove(); // removes old.dir (the project dir) too
        }
        if (old) {
            fs.rmSync(old.pulumiHome, { recursive: true, force: true });
            fs.rmSync(old.dir, { recursive: true, force: true });
        }
        await stopHosts(hosts);
    });

    it(`applies the stack with the program and the provider of ${OLD_COMMIT}`, async () => {
        const r = await stack.run(["up", "--stack", stack.name, "--yes", "--skip-preview", "-v=7", "--logtostderr"]);
        expect(reportedVersions(r.stderr)).toContain("1.2.1");
        expect(reportedVersions(r.stderr).join(" ")).not.toContain("conntune");
        stampsBefore = fileStamps(h);
        expect(stampsBefore).toMatch(/sshd_config\.d\//);
        expect(stampsBefore).toMatch(/limits\.d\//);
        idsBefore = await commandIds(stack);
        expect(Object.keys(idsBefore).length).toBeGreaterThan(3);
    });

    it("runs this checkout's provider, under its own version, after the upgrade: nothing replaced, no file rewritten", async () => {
        upgradeProgram(stack.projectDir);
        stack.env.PULUMI_HOME = toolchainEnv().PULUMI_HOME;
        const r = await stack.run(["up", "--stack", stack.name, "--yes", "--skip-preview", "--diff", "-v=7", "--logtostderr"]);
        upgrade = r;
        const want = fs.readFileSync(path.join(REPO, "node_modules/.cache/conntune-command-provider/version"), "utf8").trim();
        expect(want).toMatch(/^1\.2\.1\+conntune\.[0-9a-f]{12}$/);
        expect(reportedVersions(r.stderr)).toContain(want);
        expect(reportedVersions(r.stderr)).not.toContain("1.2.1");
        expect(r.stderr).toContain("node_modules/.cache/conntune-command-provider/pulumi-resource-command");
        // The commands' scripts changed since that commit (e.g. the refresh's read operation), so they
        // are updated in place: each finds its file already right and leaves it alone.
        const summary = r.stdout.split("Resources:")[1] ?? "";
        expect(summary, r.stdout).not.toMatch(/replaced|created/);
        // What goes is only the kinds' components that sat between host and commands then: a component
        // has nothing on the host, and every command is carried over (same ID, same file).
        const deleted = [...r.stdout.matchAll(/^\s*- (\S+): \(delete\)/gm)].map((m) => m[1]);
        expect(deleted.every((t) => /^conntune:host:[A-Za-z]+$/.test(t) && t !== "conntune:host:TunedHost"), r.stdout).toBe(true);
        expect(await commandIds(stack)).toEqual(idsBefore);
        const after = fileStamps(h);
        const managed = (stamps: string) => stamps.split("\n").filter((l) => !l.startsWith("/var/lib/conntune/"));
        expect(managed(after)).toEqual(managed(stampsBefore));
        // conntune's own records may gain entries; none it had is rewritten.
        for (const line of stampsBefore.split("\n")) expect(after.split("\n")).toContain(line);
        stampsBefore = after;
    });

    it("then reports no changes on the next up, and opens no SSH connection", async () => {
        expect(upgrade).toBeDefined();
        const loginsBefore = acceptedLogins(h);
        const r = await stack.up();
        expect(noChanges(r.stdout), r.stdout).toBe(true);
        expect(fileStamps(h)).toBe(stampsBefore);
        expect(acceptedLogins(h)).toBe(loginsBefore);
    });

    it("removes what the old provider applied with the new one (destroy)", async () => {
        const r = await stack.destroy();
        expect(r.code).toBe(0);
        expect(fileStamps(h)).not.toMatch(/limits\.d\/|sshd_config\.d\//);
    });
});
