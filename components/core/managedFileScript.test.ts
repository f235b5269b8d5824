import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { asRoot } from "./connection";
import { DELETE_OP_ARG } from "./connection";
import { applyScript, assertSafePath, DELETE_BY_OPERATION, FileHooks, FileSpec, OP_PLACEHOLDER, parseValues, parseWarnings, RESOURCE_ID_PLACEHOLDER } from "./managedFileScript";
import { shq } from "./shell";

describe("the remote scripts", () => {
    it("quote config values so the shell sees them as one literal word", () => {
        const nasty = `a'b"c$(touch /tmp/pwned)\`x\`;&|<>*`;
        const r = spawnSync("bash", ["-c", `printf %s ${shq(nasty)}`], { encoding: "utf8" });
        expect(r.stdout).toBe(nasty);
        expect(() => shq("two\nlines")).toThrow(/newline/);
    });

    it.each(["relative/path.conf", "/etc/../etc/passwd", "/etc/a b.conf", "/etc/$(x).conf", "/etc/x/./y.conf", "/etc/*.conf"])("refuse the unsafe path %s", (p) => {
        expect(() => assertSafePath(p)).toThrow(/unsafe managed file path/);
    });

    it("never put the file content into the command (it travels on stdin)", () => {
        const script = applyScript({ path: "/etc/sysctl.d/99-x.conf", mode: "0644", hooks: { validate: 'grep -q . "$NEW"' } });
        expect(script).toContain("ct_stage - ");
        expect(script).toContain("cat >f;");
        expect(script).not.toContain("tcp_keepalive_time = 600");
    });

    it("activate on the next apply when an apply was killed after the rename, even though the file is already new", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-apply-"));
        try {
            const die = path.join(dir, "die");
            const log = path.join(dir, "activations");
            const spec = {
                path: path.join(dir, "etc", "x.conf"),
                mode: "0644",
                // The state dir in the temp dir too; the activation SIGKILLs the script (and itself) like a dropped SSH session.
                vars: { CT_STATE: path.join(dir, "state"), CT_DIE: die, CT_LOG: log },
                hooks: { activate: '[ -e "$CT_DIE" ] && kill -KILL $$ $BASHPID\necho activated >>"$CT_LOG"' },
            };
            const apply = (content: string) => spawnSync("bash", ["-c", applyScript(spec)], { input: content, encoding: "utf8" });
            fs.mkdirSync(path.dirname(spec.path));
            fs.writeFileSync(spec.path, "old\n");
            fs.writeFileSync(die, "");
            expect(apply("new\n").signal).toBe("SIGKILL");
            expect(fs.readFileSync(spec.path, "utf8")).toBe("new\n");
            expect(fs.existsSync(log)).toBe(false);
            fs.rmSync(die);
            const retry = apply("new\n");
            expect(retry.status, retry.stderr).toBe(0);
            expect(parseValues(retry.stdout).changed).toBe("yes");
            expect(fs.readFileSync(log, "utf8")).toBe("activated\n");
            const again = apply("new\n");
            expect(parseValues(again.stdout).changed).toBe("no");
            expect(fs.readFileSync(log, "utf8")).toBe("activated\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("parse ct: values and ct-warn: lines from the output", () => {
        const out = "noise\nct:net.ipv4.tcp_keepalive_time=600\nct-warn:sysctl vm.swappiness skipped: not writable\nct:changed=yes\n";
        expect(parseValues(out)).toEqual({ "net.ipv4.tcp_keepalive_time": "600", changed: "yes" });
        expect(parseWarnings(out)).toEqual(["sysctl vm.swappiness skipped: not writable"]);
    });
});

describe("packed commands (gzip + base64 in the stored command text)", () => {
    it("run the script unchanged, with the login's arguments, through sh as the login shell", () => {
        const script = 'set -u\necho "args=$1|$2"\nprintf "%s\\n" "it\'s $((6 * 7))"';
        const r = spawnSync("sh", ["-c", asRoot({ sudo: false }, script)], { encoding: "utf8", env: { ...process.env, SSH_CONNECTION: "1.2.3.4 5 6.7.8.9 22" } });
        expect(r.stdout).toBe(`args=1.2.3.4 5 6.7.8.9 22|${os.userInfo().username}\nit's 42\n`);
        expect(asRoot({ sudo: false }, script)).toBe(asRoot({ sudo: false }, script));
    });

    it("fail loudly, never as an empty script, when the host cannot unpack them", () => {
        const broken = asRoot({ sudo: false }, "echo should-not-run").replace(/echo ([A-Za-z0-9+/=]+) \|/, "echo not-base64!! |");
        const r = spawnSync("sh", ["-c", broken], { encoding: "utf8" });
        expect(r.status).toBe(127);
        expect(r.stderr).toContain("conntune: cannot unpack the command: base64 and gzip are needed on the host");
        expect(r.stdout).not.toContain("should-not-run");
    });
});

/** A temp dir holding a target directory, a state dir and a file outside both (the canary). */
function sandbox(): { dir: string; target: string; state: string; canary: string; done: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-owner-"));
    fs.mkdirSync(path.join(dir, "etc"));
    fs.writeFileSync(path.join(dir, "canary"), "canary\n");
    return { dir, target: path.join(dir, "etc", "x.conf"), state: path.join(dir, "state"), canary: path.join(dir, "canary"), done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Run a script as asRoot() does: $1 SSH_CONNECTION, $2 the login, $3 the resource ID, $4 the operation. */
function runAs(script: string, owner: string | undefined, input = "", op?: string) {
    return spawnSync("bash", ["-c", script, "conntune", "", "root", ...(owner === undefined && op === undefined ? [] : [owner ?? ""]), ...(op === undefined ? [] : [op])], { input, encoding: "utf8" });
}


describe("one owner per file", () => {
    const spec = (target: string, state: string, hooks: FileHooks = {}): FileSpec => ({ path: target, mode: "0644", vars: { CT_STATE: state }, hooks });

    it("passes the resource ID and operation placeholders as the third and fourth arguments of every command", () => {
        const cmd = asRoot({ sudo: false }, "echo");
        expect(cmd.endsWith(`"$SSH_CONNECTION" "$(id -un)" ${RESOURCE_ID_PLACEHOLDER} ${OP_PLACEHOLDER} ${DELETE_OP_ARG}`)).toBe(true);
    });

    it("lets a replacement take the file over: the old resource's delete leaves it applied, the new one's restores the original", () => {
        const s = sandbox();
        try {
            fs.writeFileSync(s.target, "original\n");
            const sp = spec(s.target, s.state, { verify: 'echo "ct:v=$(cat "$CT_PATH")"' });
            expect(runAs(applyScript(sp), "aaaa1111", "one\n").status).toBe(0);
            expect(runAs(applyScript(sp), "bbbb2222", "two\n").status).toBe(0);
            const old = runAs(applyScript(sp), "aaaa1111", "", "delete");
            expect(old.status, old.stderr).toBe(0);
            expect(old.stderr).toContain(`ct-warn:${s.target} belongs to another conntune resource now (bbbb2222`);
            expect(parseValues(old.stdout).restored).toBe("no");
            expect(fs.readFileSync(s.target, "utf8")).toBe("two\n");
            const owner = runAs(applyScript(sp), "bbbb2222", "", "delete");
            expect(owner.status, owner.stderr).toBe(0);
            expect(fs.readFileSync(s.target, "utf8")).toBe("original\n");
            expect(fs.readdirSync(path.join(s.state, "originals"))).toEqual([]);
        } finally {
            s.done();
        }
    });

    it("keeps the owner when a replacement's apply fails (its delete still restores)", () => {
        const s = sandbox();
        try {
            const sp = spec(s.target, s.state, { verify: 'grep -qv bad "$CT_PATH"' });
            expect(runAs(applyScript(sp), "aaaa1111", "good\n").status).toBe(0);
            expect(runAs(applyScript(sp), "bbbb2222", "bad\n").status).not.toBe(0);
            expect(fs.readFileSync(s.target, "utf8")).toBe("good\n");
            expect(runAs(applyScript(sp), "aaaa1111", "", "delete").status).toBe(0);
            expect(fs.existsSync(s.target)).toBe(false);
        } finally {
            s.done();
        }
    });

    it("skips the runtime restore and the before-restore step when the file belongs to another resource", () => {
        const s = sandbox();
        try {
            const log = path.join(s.dir, "log");
            const sp = { ...spec(s.target, s.state, { beforeRestore: `echo before >>"$CT_LOG"`, restoreOriginal: `echo runtime >>"$CT_LOG"`, deactivate: `echo deactivate >>"$CT_LOG"` }), vars: { CT_STATE: s.state, CT_LOG: log } };
            runAs(applyScript(sp), "aaaa1111", "one\n");
            runAs(applyScript(sp), "bbbb2222", "one\n");
            runAs(applyScript(sp), "aaaa1111", "", "delete");
            expect(fs.existsSync(log)).toBe(false);
            runAs(applyScript(sp), "bbbb2222", "", "delete");
            expect(fs.readFileSync(log, "utf8")).toBe("before\nruntime\ndeactivate\n");
        } finally {
            s.done();
        }
    });

    it.each([
        ["a record from before ownership (no owner)", undefined],
        ["a command whose placeholder nobody replaced", RESOURCE_ID_PLACEHOLDER],
    ])("behaves as before for %s: the delete restores", (_what, first) => {
        const s = sandbox();
        try {
            fs.writeFileSync(s.target, "original\n");
            const sp = spec(s.target, s.state);
            expect(runAs(applyScript(sp), first, "one\n").status).toBe(0);
            expect(fs.existsSync(path.join(s.state, "originals", fs.readdirSync(path.join(s.state, "originals")).find((f) => f.endsWith(".meta"))!.replace(".meta", ".owner")))).toBe(false);
            expect(runAs(applyScript(sp), "cccc3333", "", "delete").status).toBe(0);
            expect(fs.readFileSync(s.target, "utf8")).toBe("original\n");
        } finally {
            s.done();
        }
    });

    it("records the owner on the next apply of a record from before ownership", () => {
        const s = sandbox();
        try {
            const sp = spec(s.target, s.state);
            runAs(applyScript(sp), undefined, "one\n");
            runAs(applyScript(sp), "bbbb2222", "one\n");
            expect(runAs(applyScript(sp), "aaaa1111", "", "delete").stderr).toContain("belongs to another conntune resource now (bbbb2222");
            expect(fs.readFileSync(s.target, "utf8")).toBe("one\n");
        } finally {
            s.done();
        }
    });
});

describe.runIf(process.getuid?.() === 0)("writes in a directory another account can write (as root)", () => {
    const spec = (target: string, state: string, hooks: FileHooks = {}): FileSpec => ({ path: target, mode: "0640", vars: { CT_STATE: state }, hooks });
    const hash = (p: string) => fs.readFileSync(p, "utf8");

    it("never write through a symlink planted at a formerly predictable name: apply, rollback, restore", () => {
        const s = sandbox();
        try {
            fs.writeFileSync(s.target, "original\n");
            // Like Debian's /etc/redis: setgid, writable by a group (the temp directory inherits the setgid bit).
            fs.chmodSync(path.join(s.dir, "etc"), 0o2775);
            for (const n of ["x.conf.conntune-rb", "x.conf.conntune-rs", ".conntune-new.XXXXXX"]) fs.symlinkSync(s.canary, path.join(s.dir, "etc", n));
            const sp = spec(s.target, s.state, { verify: 'grep -qv bad "$CT_PATH"' });
            expect(runAs(applyScript(sp), "aaaa1111", "good\n").status).toBe(0);
            const bad = runAs(applyScript(sp), "aaaa1111", "bad\n");
            expect(bad.stderr).toMatch(/the previous file is back/);
            expect(hash(s.target)).toBe("good\n");
            expect(runAs(applyScript(sp), "aaaa1111", "", "delete").status).toBe(0);
            expect(hash(s.target)).toBe("original\n");
            expect(hash(s.canary)).toBe("canary\n");
            expect(fs.readdirSync(path.join(s.dir, "etc")).sort()).toEqual([".conntune-new.XXXXXX", "x.conf", "x.conf.conntune-rb", "x.conf.conntune-rs"]);
        } finally {
            s.done();
        }
    });

    it("remove only their own leftovers: never a directory of root's renamed to a leftover's name", () => {
        const s = sandbox();
        try {
            const etc = path.join(s.dir, "etc");
            const mine = path.join(etc, ".conntune-new.AAAAAA");
            fs.mkdirSync(mine, { mode: 0o700 });
            fs.writeFileSync(path.join(mine, "f"), "half\n");
            const renamed = path.join(etc, ".conntune-new.BBBBBB");
            fs.mkdirSync(renamed, { mode: 0o755 });
            fs.writeFileSync(path.join(renamed, "keys"), "root's\n");
            spawnSync("touch", ["-d", "20 minutes ago", mine, renamed]);
            expect(runAs(applyScript(spec(s.target, s.state)), "aaaa1111", "new\n").status).toBe(0);
            expect(fs.existsSync(mine)).toBe(false);
            expect(fs.readFileSync(path.join(renamed, "keys"), "utf8")).toBe("root's\n");
        } finally {
            s.done();
        }
    });

    it("refuse a directory reached through a symlink, and one whose parent another account can write", () => {
        const s = sandbox();
        try {
            // etc/sub is a link another account planted, pointing at a directory of root's.
            const victim = path.join(s.dir, "victim");
            fs.mkdirSync(victim);
            fs.symlinkSync(victim, path.join(s.dir, "etc", "sub"));
            const linked = runAs(applyScript(spec(path.join(s.dir, "etc", "sub", "x.conf"), s.state)), "aaaa1111", "new\n");
            expect(linked.status).not.toBe(0);
            expect(linked.stderr).toMatch(/reached through a symbolic link/);
            expect(fs.readdirSync(victim)).toEqual([]);
            // A real subdirectory of a group-writable directory: its name could be swapped for a link.
            fs.chmodSync(path.join(s.dir, "etc"), 0o2775);
            fs.mkdirSync(path.join(s.dir, "etc", "real"));
            const swappable = runAs(applyScript(spec(path.join(s.dir, "etc", "real", "x.conf"), s.state)), "aaaa1111", "new\n");
            expect(swappable.status).not.toBe(0);
            expect(swappable.stderr).toMatch(/can be written by another account than root/);
            expect(fs.readdirSync(path.join(s.dir, "etc", "real"))).toEqual([]);
        } finally {
            s.done();
        }
    });

    it("replace a symlink at the target itself (never writing through it) and put the link back on destroy", () => {
        const s = sandbox();
        try {
            fs.symlinkSync(s.canary, s.target);
            const sp = spec(s.target, s.state);
            expect(runAs(applyScript(sp), "aaaa1111", "new\n").status).toBe(0);
            expect(fs.lstatSync(s.target).isFile()).toBe(true);
            expect(hash(s.canary)).toBe("canary\n");
            expect(runAs(applyScript(sp), "aaaa1111", "", "delete").status).toBe(0);
            expect(fs.readlinkSync(s.target)).toBe(s.canary);
            expect(hash(s.canary)).toBe("canary\n");
        } finally {
            s.done();
        }
    });

    it("keep the owner and group of the file they replace, with the spec's mode, and give back the original's mode, owner and mtime", () => {
        const s = sandbox();
        try {
            fs.writeFileSync(s.target, "original\n", { mode: 0o600 });
            fs.chownSync(s.target, 65534, 65534);
            fs.utimesSync(s.target, 1_000_000, 1_000_000);
            const sp = spec(s.target, s.state);
            expect(runAs(applyScript(sp), "aaaa1111", "new\n").status).toBe(0);
            let st = fs.statSync(s.target);
            expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([65534, 65534, 0o640]);
            expect(runAs(applyScript(sp), "aaaa1111", "", "delete").status).toBe(0);
            st = fs.statSync(s.target);
            expect([st.uid, st.gid, st.mode & 0o7777, st.mtimeMs]).toEqual([65534, 65534, 0o600, 1_000_000_000]);
        } finally {
            s.done();
        }
    });

    it("refuse to write when the temp directory's name was swapped for a link to another directory", () => {
        const s = sandbox();
        try {
            const other = path.join(s.dir, "other");
            const bin = path.join(s.dir, "bin");
            fs.mkdirSync(other);
            fs.mkdirSync(bin);
            // A mktemp that lets the "attacker" win the race: the new directory is renamed away and a link put in its place.
            fs.writeFileSync(path.join(bin, "mktemp"), `#!/bin/bash\nd=$(/usr/bin/mktemp "$@") || exit 1\nif [ "$1" = -d ] && [[ "$d" == */etc/* ]]; then mv "$d" "$d.moved"; ln -s ${other} "$d"; fi\necho "$d"\n`, { mode: 0o755 });
            const r = spawnSync("bash", ["-c", applyScript(spec(s.target, s.state)), "conntune", "", "root", "aaaa1111"], { input: "new\n", encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(/was replaced while in use: does another account write in/);
            expect(fs.readdirSync(other)).toEqual([]);
            expect(fs.existsSync(s.target)).toBe(false);
        } finally {
            s.done();
        }
    });

    it("use no fixed temp or backup names", () => {
        for (const script of [applyScript(spec("/etc/redis/redis.conf", "/var/lib/conntune"))]) {
            expect(script).not.toMatch(/conntune-rb|conntune-rs|\.tmp"|cp -a "\$PREV" "\$CT_PATH|chmod "\$CT_MODE" "\$NEW"/);
        }
    });
});

describe("a command's delete", () => {
    it("is the delete operation of its create script; run as a command of its own it fails naming the way out, never silently", () => {
        const r = spawnSync("sh", ["-c", DELETE_BY_OPERATION], { encoding: "utf8" });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("npm run pulumi");
        // The provider recognizes it by this exact text (tools/command-provider/read.go).
        const goSource = fs.readFileSync(path.join(__dirname, "../../tools/command-provider/read.go"), "utf8");
        expect(goSource).toContain(`const deleteByOperation = \`${DELETE_BY_OPERATION}\``);
        // …and runs it only for a create script that says it has the delete operation.
        expect(goSource).toContain(`const deleteOpArg = "${DELETE_OP_ARG}"`);
    });
});

describe("directories conntune created", () => {
    it("go away with the last file in them, whichever resource made them", () => {
        const s = sandbox();
        try {
            const a = { path: path.join(s.dir, "etc", "unit.d", "50-a.conf"), mode: "0644", vars: { CT_STATE: s.state }, hooks: {} };
            const b = { ...a, path: path.join(s.dir, "etc", "unit.d", "60-b.conf") };
            expect(runAs(applyScript(a), "aaaa1111", "a\n").status).toBe(0);
            expect(runAs(applyScript(b), "bbbb2222", "b\n").status).toBe(0);
            expect(runAs(applyScript(a), "aaaa1111", "", "delete").status).toBe(0);
            expect(fs.readdirSync(path.join(s.dir, "etc", "unit.d"))).toEqual(["60-b.conf"]);
            expect(runAs(applyScript(b), "bbbb2222", "", "delete").status).toBe(0);
            expect(fs.existsSync(path.join(s.dir, "etc", "unit.d"))).toBe(false);
            expect(fs.readdirSync(path.join(s.state, "madedirs"))).toEqual([]);
        } finally {
            s.done();
        }
    });
});

describe("the operations (the 4th argument, @CT_OP@, filled in by conntune's provider)", () => {
    const tree = (d: string): string[] =>
        fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
            const p = path.join(d, e.name);
            const st = fs.lstatSync(p);
            return [`${p} ${st.ino} ${st.mtimeMs} ${st.ctimeMs}`, ...(e.isDirectory() ? tree(p) : [])];
        });
    const setup = () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-op-"));
        const log = path.join(dir, "activations");
        const spec: FileSpec = {
            path: path.join(dir, "etc", "x.conf"),
            mode: "0644",
            vars: { CT_STATE: path.join(dir, "state"), CT_LOG: log, CT_WANT: "1" },
            // The runtime value lives in a file: verify compares it, activate sets it.
            hooks: { activate: 'echo activated >>"$CT_LOG"; cat "$CT_PATH" >"$CT_PATH.runtime"', verify: 'v=$(cat "$CT_PATH.runtime" 2>/dev/null); echo "ct:v=$v"; echo "ct-warn:a warning"; [ "$v" = "$(cat "$CT_PATH")" ] || { echo "v: wanted $(cat "$CT_PATH"), the host shows $v"; exit 1; }' },
        };
        const run = (op: string, content = "") => spawnSync("bash", ["-c", applyScript(spec), "conntune", "", "root", "r1", op], { input: content, encoding: "utf8" });
        return { dir, spec, log, run, done: () => fs.rmSync(dir, { recursive: true, force: true }) };
    };

    it("read writes nothing at all (no state dir, no temp dir, no directory) and prints a missing file as such", () => {
        const s = setup();
        try {
            const before = tree(s.dir);
            const r = s.run("read");
            expect(r.status, r.stderr).toBe(0);
            expect(r.stdout.split("\n")).toContain("ct-content-missing");
            expect(r.stdout).toContain(`ct-drift:${s.spec.path} is missing`);
            expect(tree(s.dir)).toEqual(before);
        } finally {
            s.done();
        }
    });

    it("read prints the content as one base64 line, the read-back values, and a failed verify's lines as ct-drift lines; it changes nothing", () => {
        const s = setup();
        try {
            expect(s.run("apply", "1\n").status).toBe(0);
            const before = tree(s.dir);
            const clean = s.run("read");
            expect(clean.stdout.split("\n").filter(Boolean)).toEqual([`ct-content:${Buffer.from("1\n").toString("base64")}`, "ct:v=1"]);
            fs.writeFileSync(`${s.spec.path}.runtime`, "7\n");
            const t = tree(s.dir);
            const drifted = s.run("read");
            expect(drifted.stdout.split("\n").filter(Boolean)).toEqual([`ct-content:${Buffer.from("1\n").toString("base64")}`, "ct:v=7", "ct-drift:v: wanted 1, the host shows 7"]);
            expect(tree(s.dir)).toEqual(t);
            expect(before.length).toBe(t.length);
        } finally {
            s.done();
        }
    });

    it("read takes the content from the file it opened and checked, never from a name swapped meanwhile (e.g. for a link to a secret)", () => {
        const s = setup();
        try {
            expect(s.run("apply", "1\n").status).toBe(0);
            const secret = path.join(s.dir, "secret");
            fs.writeFileSync(secret, "s3cr3t\n");
            // The swap happens after the checks, just before the content is read.
            const swapping = { ...s.spec, hooks: { ...s.spec.hooks, ownContent: `ln -sf ${secret} ${s.spec.path}.new && mv -f ${s.spec.path}.new ${s.spec.path}; cat -- "$CT_PATH"` } };
            const r = spawnSync("bash", ["-c", applyScript(swapping), "conntune", "", "root", "r1", "read"], { encoding: "utf8" });
            expect(r.stdout).toContain(`ct-content:${Buffer.from("1\n").toString("base64")}`);
            expect(r.stdout).not.toContain(Buffer.from("s3cr3t\n").toString("base64"));
        } finally {
            s.done();
        }
    });

    it("read reports a mode changed behind conntune's back as drift, and the repair writes the file with its mode again", () => {
        const s = setup();
        try {
            expect(s.run("apply", "1\n").status).toBe(0);
            fs.writeFileSync(`${s.spec.path}.runtime`, "1\n");
            expect(s.run("read").stdout).not.toContain("ct-drift:");
            fs.chmodSync(s.spec.path, 0o666);
            const r = s.run("read");
            expect(r.stdout).toContain(`ct-drift:${s.spec.path} has mode 666, conntune writes it with 0644`);
            expect(s.run("repair", "1\n").status).toBe(0);
            expect(fs.statSync(s.spec.path).mode & 0o777).toBe(0o644);
            expect(s.run("read").stdout).not.toContain("ct-drift:");
        } finally {
            s.done();
        }
    });

    it("repair activates a file whose content is already right without rewriting it; apply (and an unreplaced placeholder) does not", () => {
        const s = setup();
        try {
            expect(s.run("apply", "1\n").status).toBe(0);
            const ino = fs.statSync(s.spec.path).ino;
            fs.writeFileSync(`${s.spec.path}.runtime`, "7\n");
            expect(s.run("@CT_OP@", "1\n").status).not.toBe(0); // verify fails: apply does not activate an unchanged file
            expect(fs.readFileSync(s.log, "utf8")).toBe("activated\n");
            const r = s.run("repair", "1\n");
            expect(r.status, r.stderr).toBe(0);
            expect(fs.readFileSync(s.log, "utf8")).toBe("activated\nactivated\n");
            expect(parseValues(r.stdout)).toMatchObject({ v: "1", changed: "no" });
            expect(fs.statSync(s.spec.path).ino).toBe(ino);
        } finally {
            s.done();
        }
    });
});
