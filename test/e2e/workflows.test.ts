/**
 * The GitOps workflows pass actionlint (built from its Go module by scripts/setup.sh).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { e2eGate, REPO } from "../../lab/stack";

const bin = spawnSync("bash", [path.join(REPO, "scripts/actionlint.sh"), "--check"], { encoding: "utf8" });
const run = e2eGate(bin.status === 0 ? undefined : "actionlint is not built (scripts/setup.sh builds it from its Go module)");

/** The jobs of a workflow file: name → the lines of its block (text, no YAML parser needed). */
function jobs(text: string): Map<string, string> {
    const body = text.split(/^jobs:\n/m)[1] ?? "";
    const out = new Map<string, string>();
    for (const block of body.split(/^(?= {2}[a-z][\w-]*:$)/m)) {
        const name = /^ {2}([a-z][\w-]*):$/m.exec(block)?.[1];
        if (name) out.set(name, block);
    }
    return out;
}

describe("the GitHub Actions workflows keep secrets from unreviewed code", () => {
    const files = fs.readdirSync(path.join(REPO, ".github/workflows")).filter((f) => f.endsWith(".yml")).sort();
    const read = (f: string) => fs.readFileSync(path.join(REPO, ".github/workflows", f), "utf8");

    it.each(files)("%s pins every action by full commit SHA", (f) => {
        const uses = [...read(f).matchAll(/uses: (\S+)(.*)$/gm)];
        expect(uses.length).toBeGreaterThan(0);
        for (const [, ref, comment] of uses) expect(`${ref}${comment}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/);
    });

    it.each(files)("%s runs npm ci without install scripts", (f) => {
        const npmCi = read(f).split("\n").filter((l) => /\bnpm ci\b/.test(l) && !/^\s*(#|- name:)/.test(l));
        expect(npmCi.length).toBeGreaterThan(0);
        for (const l of npmCi) expect(l).toContain("--ignore-scripts");
    });

    it.each(files)("%s grants no permission by default and each job only its own", (f) => {
        const text = read(f);
        expect(text).toMatch(/^permissions: \{\}$/m);
        for (const [name, block] of jobs(text)) expect(block, name).toMatch(/^ {4}permissions:/m);
    });

    it.each(files)("%s reads the backend and passphrase only in jobs of a protected environment", (f) => {
        const text = read(f);
        expect(text.split(/^jobs:$/m)[0]).not.toContain("${{ secrets.");
        for (const [name, block] of jobs(text)) {
            if (block.includes("${{ secrets.")) expect(block, name).toMatch(/^ {4}environment: (production|preview|main-branch)$/m);
        }
    });

    it("give pull-request code no secret and no write token before a reviewer approves", () => {
        const preview = jobs(read("preview.yml"));
        expect(preview.get("check")).not.toContain("${{ secrets.");
        expect(preview.get("preview")).toMatch(/environment: preview/);
        expect(preview.get("preview")).not.toMatch(/write/);
        // The job with a token that writes to pull requests checks out and runs no PR code.
        expect(preview.get("comment")).not.toMatch(/actions\/checkout|npm (ci|run)|run:/);
    });

    it("run one job per stack in parallel, host groups from scripts/stacks.sh, never cancelling a running up", () => {
        const deploy = jobs(read("deploy.yml"));
        const hosts = deploy.get("hosts")!;
        expect(hosts).toMatch(/^ {4}needs: \[k8s, stacks\]$/m);
        expect(hosts).toMatch(/strategy:\n\s+fail-fast: false\n\s+matrix:\n\s+stack: \$\{\{ fromJSON\(needs\.stacks\.outputs\.host-groups\) \}\}\n/);
        // Host groups roll out in waves with their failure budget (npm run up), never one plain up.
        expect(hosts).toContain('npm run --silent up -- --stack "${{ matrix.stack }}" --yes --policy-pack policy');
        expect(hosts).not.toMatch(/pulumi -- up/);
        expect(jobs(read("drift.yml")).get("drift")).toContain("stack: ${{ fromJSON(needs.stacks.outputs.host-groups) }}");
        const preview = jobs(read("preview.yml"));
        for (const job of ["preview", "comment"]) expect(preview.get(job), job).toContain("stack: ${{ fromJSON(needs.stacks.outputs.all) }}");
        for (const f of files) {
            const stacks = jobs(read(f)).get("stacks");
            if (!stacks) continue;
            expect(stacks, f).not.toMatch(/secrets\.|environment:/);
            expect(stacks, f).toContain('echo "host-groups=$(bash scripts/stacks.sh --host-groups)" >>"$GITHUB_OUTPUT"');
        }
        expect(spawnSync("bash", [path.join(REPO, "scripts/stacks.sh")], { encoding: "utf8" }).stdout).toBe('["k8s","redfin"]\n');
        expect(spawnSync("bash", [path.join(REPO, "scripts/stacks.sh"), "--host-groups"], { encoding: "utf8" }).stdout).toBe('["redfin"]\n');
    });

    it("refuse a stack file whose name a shell or a path could misread", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-stacks-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.$(id).yaml"), "config: {}\n");
            const r = spawnSync("bash", [path.join(REPO, "scripts/stacks.sh"), "--project-dir", dir], { encoding: "utf8" });
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("stack name '$(id)' is not a plain name");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("give the state backend's password to the CLI as PGPASSWORD from a secret, never inside the URL", () => {
        for (const f of files) {
            for (const [name, block] of jobs(read(f))) {
                if (!block.includes("PULUMI_BACKEND_URL")) continue;
                expect(block, `${f} ${name}`).toContain("PULUMI_BACKEND_URL: ${{ secrets.PULUMI_BACKEND_URL }}\n      PGPASSWORD: ${{ secrets.PULUMI_BACKEND_PASSWORD }}\n");
            }
        }
    });

    it("fail the drift job on drift: the pipe into tee keeps the exit code", () => {
        const step = read("drift.yml").split("Drift check")[1];
        expect(step).toMatch(/set -o pipefail\n\s*npm run --silent drift .*\| tee drift\.json/);
    });
});

describe.runIf(run)("the GitHub Actions workflows", () => {
    const files = fs.readdirSync(path.join(REPO, ".github/workflows")).filter((f) => f.endsWith(".yml")).sort();

    it("are preview on pull requests, deploy on merge, and a scheduled drift check", () => {
        expect(files).toEqual(["deploy.yml", "drift.yml", "preview.yml"]);
        const deploy = fs.readFileSync(path.join(REPO, ".github/workflows/deploy.yml"), "utf8");
        expect(deploy).toMatch(/environment: production/);
        expect(deploy).toMatch(/needs: \[k8s, stacks\]/);
        expect(fs.readFileSync(path.join(REPO, ".github/workflows/drift.yml"), "utf8")).toMatch(/schedule:/);
    });

    it("run the policy pack on every stack's preview and up (README \"Policy pack\")", () => {
        const runs = ["preview.yml", "deploy.yml"].flatMap((f) => fs.readFileSync(path.join(REPO, ".github/workflows", f), "utf8").split("\n").filter((l) => /npm run --silent (pulumi -- (preview|up)|up --) /.test(l)));
        expect(runs.length).toBeGreaterThanOrEqual(3);
        for (const l of runs) expect(l).toContain("--policy-pack policy");
    });

    it("pass actionlint", () => {
        const exe = spawnSync("bash", [path.join(REPO, "scripts/actionlint.sh")], { encoding: "utf8" }).stdout.trim();
        const r = spawnSync(exe, ["-shellcheck=", "-pyflakes=", ...files.map((f) => path.join(".github/workflows", f))], { cwd: REPO, encoding: "utf8" });
        expect(`${r.stdout}${r.stderr}`).toBe("");
        expect(r.status).toBe(0);
    });
});
