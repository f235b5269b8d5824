/**
 * The toolchain step's decision, without network access: stand-in `pulumi` and `go` commands on
 * PATH play a user's machine (the official CLI installed, its plugin download working or not) and
 * a machine without any CLI. The script runs for real against a temp cache; nothing is built.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const temps: string[] = [];
afterAll(() => temps.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface Machine {
    /** An installed official CLI on PATH, and whether its `plugin install` succeeds. */
    cli?: { version: string; download: "works" | "fails" };
    /** More environment for the step. */
    env?: Record<string, string>;
    /** Runs on the temp dir before the step (e.g. an earlier cache). */
    before?: (dir: string) => void;
    /** The machine of an earlier run (its cache), instead of a new one. */
    dir?: string;
}

function run(m: Machine) {
    const dir = m.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "conntune-toolchain-"));
    temps.push(dir);
    m.before?.(dir);
    const fake = path.join(dir, "bin");
    const calls = path.join(dir, "calls.log");
    fs.mkdirSync(fake, { recursive: true });
    const write = (name: string, body: string) => fs.writeFileSync(path.join(fake, name), `#!/bin/bash\necho "${name} $*" >>${JSON.stringify(calls)}\n${body}\n`, { mode: 0o755 });
    // go: reports a version; `build -o FILE` makes an executable; anything that would fetch modules
    // fails the way an unreachable proxy does.
    write(
        "go",
        [
            'if [ "$1 $2" = "env GOVERSION" ]; then echo go1.26.0; exit 0; fi',
            'if [ "$1" = build ]; then while [ $# -gt 0 ]; do if [ "$1" = -o ]; then printf "#!/bin/sh\\n" >"$2"; chmod +x "$2"; fi; shift; done; exit 0; fi',
            'echo "dial tcp: lookup proxy.invalid: no such host" >&2; exit 1',
        ].join("\n"),
    );
    if (m.cli) {
        write(
            "pulumi",
            [
                `if [ "$1" = version ]; then echo v${m.cli.version}; exit 0; fi`,
                'if [ "$1 $2 $3" = "plugin install resource" ]; then',
                m.cli.download === "works"
                    ? '  d="$PULUMI_HOME/plugins/resource-$4-v$5"; mkdir -p "$d"; printf "#!/bin/sh\\n" >"$d/pulumi-resource-$4"; chmod +x "$d/pulumi-resource-$4"; exit 0'
                    : '  echo "error: could not download plugin: dial tcp: i/o timeout" >&2; exit 1',
                "fi",
                "exit 1",
            ].join("\n"),
        );
        write("pulumi-language-nodejs", "exit 0");
    }
    const r = spawnSync("bash", [path.join(ROOT, "scripts/toolchain.sh")], {
        encoding: "utf8",
        timeout: 60_000,
        env: {
            PATH: `${fake}:/usr/bin:/bin`,
            HOME: dir,
            CONNTUNE_CACHE: path.join(dir, "cache"),
            CONNTUNE_PROVIDER_DIR: path.join(dir, "provider"),
            ...m.env,
        },
    });
    const log = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "";
    return { status: r.status, stderr: r.stderr, stdout: r.stdout, calls: log, dir };
}

describe("the toolchain step on a user's machine", () => {
    it("uses the installed official CLI, downloads the kubernetes plugin with it, and builds only conntune's provider", () => {
        const r = run({ cli: { version: "3.300.0", download: "works" } });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).toContain("using the installed pulumi v3.300.0");
        expect(r.stderr).toMatch(/plugin kubernetes v\S+: downloaded/);
        expect(r.calls).toMatch(/^pulumi plugin install resource kubernetes /m);
        // Go builds conntune's provider and nothing else: no module of the CLI or the kubernetes plugin is fetched.
        const goCalls = r.calls.split("\n").filter((l) => l.startsWith("go "));
        expect(goCalls.filter((l) => !l.startsWith("go env GOVERSION"))).toEqual([expect.stringMatching(/^go build .* -o \S+pulumi-resource-command\.\d+ \.$/)]);
        expect(fs.existsSync(path.join(r.dir, "provider/pulumi-resource-command"))).toBe(true);
        expect(r.stdout.trim()).toBe(path.join(r.dir, "cache/env.sh"));
    });

    it("builds the kubernetes plugin from its Go module when the installed CLI cannot download it", () => {
        const r = run({ cli: { version: "3.300.0", download: "fails" } });
        expect(r.stderr).toMatch(/plugin kubernetes v\S+: the download failed \(error: could not download plugin: dial tcp: i\/o timeout\): building it from its Go module instead/);
        expect(r.calls).toMatch(/^go mod download -json github\.com\/pulumi\/pulumi-kubernetes\/provider\/v4@/m);
        // The stand-in proxy is unreachable: the build stops with the reason, never a hang or a half-made plugin.
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("a Go module could not be fetched");
    });

    it("builds everything from Go modules where no CLI is installed (and never tries a download)", () => {
        const r = run({});
        expect(r.calls).not.toMatch(/^pulumi /m);
        expect(r.calls).toMatch(/^go mod download github\.com\/pulumi\/pulumi\/pkg\/v3/m);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("a Go module could not be fetched");
    });

    it("ignores an installed CLI older than the one conntune pins", () => {
        const r = run({ cli: { version: "3.100.0", download: "works" } });
        expect(r.stderr).toContain("is older than 3.259.0: building 3.259.0 instead");
        expect(r.calls).not.toMatch(/^pulumi plugin install/m);
    });

    it("turns the CLI's automatic debug log off in conntune's PULUMI_HOME (a file where the CLI would make its directory); CONNTUNE_PULUMI_LOGS=1 turns it on for good, =0 off again", () => {
        const logs = (dir: string) => path.join(dir, "cache/pulumi-home/logs");
        const kind = (dir: string) => (fs.lstatSync(logs(dir)).isFile() ? "off" : "on");
        const cli = { version: "3.300.0", download: "works" as const };
        // A cache from before: the CLI made the directory and wrote a log into it.
        const off = run({
            cli,
            before: (dir) => {
                fs.mkdirSync(logs(dir), { recursive: true });
                fs.writeFileSync(path.join(logs(dir), "pulumi-20261130T000000-1-up.log"), "x");
            },
        });
        expect(off.status, off.stderr).toBe(0);
        expect(kind(off.dir)).toBe("off");
        expect(fs.readFileSync(logs(off.dir), "utf8")).toContain("CONNTUNE_PULUMI_LOGS=1");
        expect(off.stderr).toContain("the Pulumi CLI's automatic log: off");

        const on = run({ cli, dir: off.dir, env: { CONNTUNE_PULUMI_LOGS: "1" } });
        expect(on.status, on.stderr).toBe(0);
        expect(kind(on.dir)).toBe("on");
        fs.writeFileSync(path.join(logs(on.dir), "pulumi-20261130T000001-2-up.log"), "kept");
        // A later run without the variable keeps the choice and the logs.
        const later = run({ cli, dir: off.dir });
        expect(later.status, later.stderr).toBe(0);
        expect(fs.readFileSync(path.join(logs(later.dir), "pulumi-20261130T000001-2-up.log"), "utf8")).toBe("kept");

        const offAgain = run({ cli, dir: off.dir, env: { CONNTUNE_PULUMI_LOGS: "0" } });
        expect(offAgain.status, offAgain.stderr).toBe(0);
        expect(kind(offAgain.dir)).toBe("off");
    });
});
