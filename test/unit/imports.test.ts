/**
 * Who may import whom: the shared test-host harness and stack drivers live in lab/, which tests,
 * the demo and the benchmarks use; nothing outside test/ imports from test/, and the product
 * (index.ts, components/) imports neither lab/ nor test/ (nor the scripts and benchmarks).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const REPO = path.join(__dirname, "..", "..");

/** Every .ts file under `dirs` (repo-relative), node_modules and fixtures' own packages left out. */
function tsFiles(...dirs: string[]): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
        const abs = path.join(REPO, rel);
        if (!fs.existsSync(abs)) return;
        if (fs.statSync(abs).isFile()) {
            if (rel.endsWith(".ts")) out.push(rel);
            return;
        }
        for (const e of fs.readdirSync(abs)) if (e !== "node_modules") walk(path.join(rel, e));
    };
    dirs.forEach(walk);
    return out;
}

/** The repo-relative targets of a file's relative imports (static, dynamic, require, export from). */
function relativeImports(file: string): string[] {
    const src = fs.readFileSync(path.join(REPO, file), "utf8");
    const specs = [...src.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']*)["']/gm)].map((m) => m[1]);
    return specs.map((s) => path.relative(REPO, path.resolve(path.dirname(path.join(REPO, file)), s)));
}

const under = (target: string, dir: string) => target === dir || target.startsWith(`${dir}/`);

describe("imports between the project's parts", () => {
    it("finds the imports it checks (the scanner reads static, dynamic and require imports)", () => {
        expect(relativeImports("scripts/demo.ts")).toContain("lab/stack");
        expect(relativeImports("test/e2e/rollback.test.ts")).toContain("lab/hosts/harness");
    });

    it("nothing outside test/ imports from test/: the demo and benchmarks share lab/ with the tests", () => {
        const bad = tsFiles("index.ts", "components", "lab", "scripts", "bench", "tools")
            .flatMap((f) => relativeImports(f).filter((t) => under(t, "test")).map((t) => `${f} imports ${t}`));
        expect(bad).toEqual([]);
    });

    it("the product (index.ts, components/; the unit tests beside the code are not product) never imports lab/, test/, scripts/ or bench/", () => {
        const bad = tsFiles("index.ts", "components")
            .filter((f) => !f.endsWith(".test.ts"))
            .flatMap((f) => relativeImports(f).filter((t) => ["lab", "test", "scripts", "bench"].some((d) => under(t, d))).map((t) => `${f} imports ${t}`));
        expect(bad).toEqual([]);
    });
});
