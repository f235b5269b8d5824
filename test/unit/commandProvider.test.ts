/**
 * conntune's command provider (tools/command-provider) is Go: its unit tests (the shared connection,
 * dialing, Cancel, each remote.Command input implemented or refused) run here so that `npm test`
 * runs them too. Go is needed anyway: the toolchain step builds the provider from that source.
 */
import { execFile, spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const DIR = path.join(__dirname, "..", "..", "tools", "command-provider");

describe("conntune's command provider", () => {
    it("passes its Go unit tests (go vet, go test)", async () => {
        const env = { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" };
        const go = spawnSync("go", ["version"], { encoding: "utf8" });
        if (go.error) throw new Error("Go is not installed: it builds conntune's command provider (README, Toolchain) and runs its tests");
        // Asynchronously: a cold build takes minutes, and a blocked worker loses touch with vitest.
        for (const args of [["vet", "./..."], ["test", "-count=1", "./..."]]) {
            const r = await new Promise<{ code: number; out: string }>((resolve) =>
                execFile("go", args, { cwd: DIR, env, timeout: 240_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
                    resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: `${stdout}\n${stderr}` }),
                ),
            );
            expect(r.code, `go ${args.join(" ")}\n${r.out}`).toBe(0);
        }
    }, 300_000);
});
