/**
 * The GitOps workflows pass actionlint (built from its Go module by scripts/setup.sh).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { e2eGate, REPO } from "./pulumi";

const bin = spawnSync("bash", [path.join(REPO, "scripts/actionlint.sh"), "--check"], { encoding: "utf8" });
const run = e2eGate(bin.status === 0 ? undefined : "actionlint is not built (scripts/setup.sh builds it from its Go module)");

describe.runIf(run)("the GitHub Actions workflows", () => {
    const files = fs.readdirSync(path.join(REPO, ".github/workflows")).filter((f) => f.endsWith(".yml")).sort();

    it("are preview on pull requests, deploy on merge, and a scheduled drift check", () => {
        expect(files).toEqual(["deploy.yml", "drift.yml", "preview.yml"]);
        const deploy = fs.readFileSync(path.join(REPO, ".github/workflows/deploy.yml"), "utf8");
        expect(deploy).toMatch(/environment: production/);
        expect(deploy).toMatch(/needs: k8s/);
        expect(fs.readFileSync(path.join(REPO, ".github/workflows/drift.yml"), "utf8")).toMatch(/schedule:/);
    });

    it("pass actionlint", () => {
        const exe = spawnSync("bash", [path.join(REPO, "scripts/actionlint.sh")], { encoding: "utf8" }).stdout.trim();
        const r = spawnSync(exe, ["-shellcheck=", "-pyflakes=", ...files.map((f) => path.join(".github/workflows", f))], { cwd: REPO, encoding: "utf8" });
        expect(`${r.stdout}${r.stderr}`).toBe("");
        expect(r.status).toBe(0);
    });
});
