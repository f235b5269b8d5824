/**
 * The sshd read-back (hooks.sh ct_sshd_effective, in verify), run for real with bash against a
 * stand-in `sshd -T`: one run of sshd, its output read once.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shVars } from "../core/shell";
import { sshdHooks } from "./hooks";

let dir = "";
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-sshd-"));
    fs.mkdirSync(path.join(dir, "bin"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** verify with a stand-in sshd that prints `output` (or fails with it) and counts its runs. */
function verify(output: string, fails = false): { out: string; code: number | null; runs: number } {
    fs.writeFileSync(path.join(dir, "out"), output);
    fs.writeFileSync(path.join(dir, "bin", "sshd"), `#!/bin/sh\necho run >>'${dir}/runs'\ncat '${dir}/out'\nexit ${fails ? 255 : 0}\n`, { mode: 0o755 });
    const vars = shVars({ CT_PATH: "/etc/ssh/sshd_config.d/00-conntune.conf", CT_SSHD_WANT: "clientaliveinterval 300;tcpkeepalive yes;maxsessions 10", CT_SSHD_CHECK: "clientaliveinterval;tcpkeepalive" });
    const r = spawnSync("bash", ["-c", `set -uo pipefail\n${vars}\n${sshdHooks().verify}`], { encoding: "utf8", env: { ...process.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}` } });
    const runs = fs.existsSync(path.join(dir, "runs")) ? fs.readFileSync(path.join(dir, "runs"), "utf8").split("\n").filter(Boolean).length : 0;
    return { out: r.stdout + r.stderr, code: r.status, runs };
}

describe("the sshd read-back", () => {
    it("prints each wanted keyword's first effective value from one run of sshd -T (keywords in any case, a missing one empty)", () => {
        const r = verify("port 22\nClientAliveInterval 300\nclientaliveinterval 0\ntcpkeepalive YES\nciphers a,b c\n");
        expect(r.code).toBe(0);
        expect(r.runs).toBe(1);
        expect(r.out).toBe("ct:clientaliveinterval=300\nct:tcpkeepalive=YES\nct:maxsessions=\n");
    });

    it("fails naming the keyword when a checked value differs", () => {
        const r = verify("clientaliveinterval 0\ntcpkeepalive yes\n");
        expect(r.code).toBe(1);
        expect(r.out).toContain("ct:clientaliveinterval=0");
        expect(r.out).toMatch(/clientaliveinterval: wanted '300' but sshd uses '0'/);
    });

    it("fails with sshd's own error when sshd rejects the config (status 2: the config test failed)", () => {
        const r = verify("/etc/ssh/sshd_config line 3: Bad configuration option: NoSuchKeyword\n", true);
        expect(r.code).toBe(2);
        expect(r.out).toBe("/etc/ssh/sshd_config line 3: Bad configuration option: NoSuchKeyword\n");
    });
});
