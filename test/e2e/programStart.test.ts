/**
 * How `pulumi` starts the conntune program (program.js, scripts/nodejs-run.js), through the real CLI:
 * it always runs the sources as they are (an edit shows in the very next preview: no build step,
 * nothing stale), it starts without ts-node and without the SDK modules a run does not use, and a
 * dynamic provider (the SDK's closure serializer, deferred by program.js) still works; the modules
 * come from a V8 code cache that a run fills and never trusts blindly. No test host
 * is needed: preview opens no connection, the address below is never contacted, and the dynamic
 * provider runs on this machine.
 */
import { throwawayKeyPair } from "../../lab/keys";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conntuneProject, dispose, Stack } from "../../lab/stack";

/** Real keys (the provider parses both at preview), never used for a login. */
const KEYS = throwawayKeyPair();
const ADDR = "10.213.252.2";
const HEADER_FILE = "components/core/render.ts";
const HEADER = "# Managed by conntune: changes made here are overwritten by the next `pulumi up`.";

describe("the conntune program as pulumi starts it", () => {
    let stack: Stack;

    beforeAll(async () => {
        stack = new Stack(conntuneProject(), "e2e-program-start");
        await stack.init();
        await stack.setConfig("conntune:sshPrivateKey", KEYS.priv, true);
        await stack.setHosts([{ name: "web1", connection: { host: ADDR, hostKey: KEYS.pub }, sysctl: { settings: { "net.ipv4.tcp_keepalive_time": 600 } } }]);
    });

    afterAll(async () => {
        await dispose(stack);
    });

    it("previews a source edited after the last preview as edited (the transpiled program is never older than the checkout)", async () => {
        const file = path.join(stack.projectDir, HEADER_FILE);
        const source = fs.readFileSync(file, "utf8");
        expect(source).toContain(HEADER);
        const before = await stack.preview();
        expect(before.stdout).toContain(HEADER.slice(2));
        // A new text each run, so that no earlier run's transpiled file can match it.
        const edited = `# Edited by a test at ${Date.now()}: conntune's header.`;
        fs.writeFileSync(file, source.replace(HEADER, edited));
        const after = await stack.preview();
        expect(after.stdout).toContain(edited.slice(2));
        expect(after.stdout).not.toContain(HEADER.slice(2));
        fs.writeFileSync(file, source);
        expect((await stack.preview()).stdout).toContain(HEADER.slice(2));
    });

    it("starts the program without ts-node, TypeScript, the Automation API, arborist, the closure serializer or @pulumi/kubernetes", async () => {
        const index = path.join(stack.projectDir, "index.ts");
        const source = fs.readFileSync(index, "utf8");
        try {
            // One more output: which of those modules the program's process has loaded by then (a
            // file of each that is only in the require cache when the module really loaded).
            fs.writeFileSync(
                index,
                `${source}\n/** (test ${Date.now()}: new content, so that its first run transpiles) */\nexport const loadedModules = ["/ts-node/dist/index.js", "/typescript/lib/typescript.js", "/@pulumi/pulumi/automation/stack.js", "/@npmcli/arborist/lib/index.js", "/@pulumi/kubernetes/provider.js", "/@pulumi/pulumi/runtime/closure/createClosure.js"].filter((m) => Object.keys(require.cache).some((k) => k.endsWith(m))).join(", ") || "none";\n`,
            );
            // The first run after the edit transpiles index.ts (TypeScript loads); the next is a cache hit.
            expect((await stack.preview()).stdout).toMatch(/loadedModules\s*:\s*"\/typescript\/lib\/typescript\.js"/);
            expect((await stack.preview()).stdout).toMatch(/loadedModules\s*:\s*"none"/);
        } finally {
            fs.writeFileSync(index, source);
        }
    });
});

describe("the V8 code cache of a run's modules (scripts/codeCache.js) in real runs", () => {
    let stack: Stack;
    let cacheDir: string;
    /** The SDK module every run loads, and its entry in the cache. */
    let sdkModule: string;
    let sdkEntry: string;

    /** Each entry's name, size and modification time. */
    const listing = () =>
        fs
            .readdirSync(cacheDir)
            .filter((n) => !n.endsWith(".tmp"))
            .map((n) => {
                const st = fs.statSync(path.join(cacheDir, n));
                return `${n} ${st.size} ${st.mtimeMs}`;
            })
            .sort();

    beforeAll(async () => {
        stack = new Stack(conntuneProject(), "e2e-program-codecache");
        await stack.init();
        await stack.setConfig("conntune:sshPrivateKey", KEYS.priv, true);
        await stack.setHosts([{ name: "web1", connection: { host: ADDR, hostKey: KEYS.pub }, sysctl: { settings: { "net.ipv4.tcp_keepalive_time": 600 } } }]);
        cacheDir = path.join(stack.projectDir, "node_modules", ".cache", "conntune-v8");
        sdkModule = fs.realpathSync(path.join(stack.projectDir, "node_modules", "@pulumi", "pulumi", "runtime", "resource.js"));
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { entryFile } = require("../../scripts/codeCache.js") as { entryFile: (dir: string, file: string, content: string) => string };
        sdkEntry = entryFile(cacheDir, sdkModule, fs.readFileSync(sdkModule, "utf8"));
    });

    afterAll(async () => {
        await dispose(stack);
    });

    it("writes a missing entry in the run that compiled the module, and a run with every entry present writes none", async () => {
        fs.rmSync(sdkEntry, { force: true });
        await stack.preview();
        expect(fs.existsSync(sdkEntry)).toBe(true);
        const before = listing();
        expect(before.length).toBeGreaterThan(100);
        await stack.preview();
        expect(listing()).toEqual(before);
    });

    it("previews as before with a corrupt entry, and rewrites it", async () => {
        const good = fs.readFileSync(sdkEntry);
        const bad = Buffer.from(good);
        bad[bad.length - 16] ^= 0xff;
        fs.writeFileSync(sdkEntry, bad);
        expect((await stack.preview()).stdout).toContain("net.ipv4.tcp_keepalive_time");
        expect(fs.readFileSync(sdkEntry).equals(bad)).toBe(false);
        expect(fs.readFileSync(sdkEntry).length).toBeGreaterThan(32);
    });
});

describe("a dynamic provider in a program started by program.js", () => {
    let stack: Stack;

    beforeAll(async () => {
        const dir = conntuneProject();
        fs.writeFileSync(
            path.join(dir, "index.ts"),
            `import * as pulumi from "@pulumi/pulumi";
const provider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: { word: string }) {
        return { id: "greeting", outs: { text: \`hello \${inputs.word}\` } };
    },
};
class Greeting extends pulumi.dynamic.Resource {
    declare readonly text: pulumi.Output<string>;
    constructor(name: string, word: string) {
        super(provider, name, { word, text: undefined }, {});
    }
}
export const text = new Greeting("greeting", "dynamic").text;
`,
        );
        stack = new Stack(dir, "e2e-program-dynamic");
        await stack.init();
    });

    afterAll(async () => {
        await dispose(stack);
    });

    it("creates its resource (the SDK's closure serializer loads on first use)", async () => {
        await stack.up();
        expect((await stack.outputs()).text).toBe("hello dynamic");
    });
});
