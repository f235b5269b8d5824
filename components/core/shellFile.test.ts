import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { shellFile } from "./shellFile";

const COMPONENTS = path.join(__dirname, "..");
const shFiles = (fs.readdirSync(COMPONENTS, { recursive: true }) as string[]).filter((f) => f.endsWith(".sh")).sort();

describe("the host-side .sh files", () => {
    it("exist (the kinds' hooks, the login probe, the monitor's script)", () => {
        expect(shFiles.length).toBeGreaterThanOrEqual(7);
    });

    it.each(shFiles)("%s is valid bash (bash -n)", (f) => {
        const r = spawnSync("bash", ["-n", path.join(COMPONENTS, f)], { encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    // scripts/setup.sh installs shellcheck (as root, with apt); elsewhere the check is skipped with a
    // reason, except in CI, where a missing shellcheck is a failure.
    const shellcheck = spawnSync("shellcheck", ["--version"], { encoding: "utf8" }).status === 0;
    if (!shellcheck) console.log("shellcheck is not installed: the .sh files are not linted (run `bash scripts/setup.sh` as root, or apt-get install shellcheck)");
    it.runIf(shellcheck || process.env.CI === "true").each(shFiles)("%s passes shellcheck (warnings and errors)", (f) => {
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=warning", path.join(COMPONENTS, f)], { encoding: "utf8" });
        expect(r.error, "shellcheck is not installed: run `bash scripts/setup.sh` (or apt-get install shellcheck)").toBeUndefined();
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });
});

describe("shellFile", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-shellfile-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(
        path.join(dir, "h.sh"),
        ["# shellcheck shell=bash", "ct_one() { echo one; }", "ct_two() { # two lines", "  echo two", "}", "hook_verify() {", "  # include: ct_one ct_two snip", "  inner() {", "    echo @WHO@", "  }", "  inner", "}", ""].join("\n"),
    );

    it("gives a hook's body with every include replaced by the whole definition, and @NAME@ tokens filled in", () => {
        const sh = shellFile(dir, "h.sh", { snip: "snip() { :; }" }, { WHO: "me" });
        expect(sh.hook("verify")).toBe(["ct_one() { echo one; }", "ct_two() { # two lines", "  echo two", "}", "snip() { :; }", "  inner() {", "    echo me", "  }", "  inner"].join("\n"));
    });

    it("names the file and the function that is missing", () => {
        const sh = shellFile(dir, "h.sh", { snip: "snip() { :; }" });
        expect(() => sh.hook("activate")).toThrow(/h\.sh: no hook_activate\(\)/);
        expect(() => shellFile(dir, "h.sh")).toThrow(/h\.sh: no function snip/);
    });

    it("refuses a misspelt hook (it would silently be no hook) and a helper a hook calls without including it", () => {
        fs.writeFileSync(path.join(dir, "typo.sh"), ["hook_verfy() {", "  echo x", "}", ""].join("\n"));
        expect(() => shellFile(dir, "typo.sh")).toThrow(/typo\.sh: hook_verfy\(\) is not a hook step/);
        fs.writeFileSync(path.join(dir, "noinc.sh"), ["ct_check() { true; }", "hook_validate() {", "  # ct_check in a comment is fine", "  ct_check || exit 1", "}", ""].join("\n"));
        expect(() => shellFile(dir, "noinc.sh")).toThrow(/noinc\.sh: hook_validate\(\) calls ct_check without including it/);
        fs.writeFileSync(path.join(dir, "inc.sh"), ["ct_check() { true; }", "hook_validate() {", "  # include: ct_check", "  ct_check || exit 1", "}", "hook_pam_verify() {", "  :", "}", "hook_activate_guarded() {", "  :", "}", ""].join("\n"));
        expect(Object.keys(shellFile(dir, "inc.sh").hooks())).toEqual(["validate"]);
    });
});

/** The project's own scripts (toolchain, setup, test-host image, benchmarks): the same two checks. */
const REPO = path.join(COMPONENTS, "..");
const projectScripts = ["scripts", "bench"].flatMap((d) => (fs.readdirSync(path.join(REPO, d)) as string[]).filter((f) => f.endsWith(".sh")).map((f) => `${d}/${f}`)).sort();

describe("the project's own .sh scripts", () => {
    it.each(projectScripts)("%s is valid bash (bash -n)", (f) => {
        const r = spawnSync("bash", ["-n", path.join(REPO, f)], { encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });
    const shellcheck = spawnSync("shellcheck", ["--version"], { encoding: "utf8" }).status === 0;
    it.runIf(shellcheck || process.env.CI === "true").each(projectScripts)("%s passes shellcheck (warnings and errors)", (f) => {
        const r = spawnSync("shellcheck", ["--shell=bash", "--severity=warning", "-x", path.join(REPO, f)], { encoding: "utf8", cwd: REPO });
        expect(r.error, "shellcheck is not installed: run `bash scripts/setup.sh` (or apt-get install shellcheck)").toBeUndefined();
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });
});
