import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latencyFunctions, renderMonitorScript, renderMonitorService } from "./render";
import { monitorSchema } from "./schema";

/** The service's Environment= lines as an environment. */
function envOf(service: string): Record<string, string> {
    return Object.fromEntries([...service.matchAll(/^Environment="([A-Z0-9_]+)=(.*)"$/gm)].map((m) => [m[1], m[2]]));
}

describe("the monitor's service carries the growth and latency settings", () => {
    it("as Environment= lines, defaults from seed 001 (10 samples, p50 and p99 below 1 ms over 5 s)", () => {
        const env = envOf(renderMonitorService(monitorSchema.parse({})));
        expect(env).toMatchObject({ CT_GROWTH_SAMPLES: "10", CT_GROWTH_MIN: "5", CT_LATENCY: "yes", CT_LATENCY_ADDRESS: "127.0.0.1", CT_LATENCY_SECONDS: "5", CT_LATENCY_P50_MS: "1", CT_LATENCY_P99_MS: "1" });
    });

    it.each([
        [{ growth: { samples: 2 } }, "growth.samples", "must be 0 (off) or from 3 to 1000"],
        [{ latency: { p50Ms: 2, p99Ms: 1 } }, "latency.p50Ms", "must not be above p99Ms"],
        [{ latency: { address: "localhost; rm -rf /" } }, "latency.address", "must be an IP address"],
        [{ latency: { seconds: 0 } }, "latency.seconds", "from 1 to 30"],
    ])("refuses %j naming the field", (input, field, msg) => {
        const r = monitorSchema.safeParse(input);
        expect(r.success).toBe(false);
        const issue = r.error!.issues.find((i) => i.path.join(".") === field);
        expect(issue?.message).toContain(msg);
    });

    it("the check script holds the latency probe's functions and is valid bash", () => {
        const script = renderMonitorScript();
        expect(script).toContain(latencyFunctions());
        expect(script).not.toContain("@LATENCY@");
        const r = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
        expect(r.status).toBe(0);
    });
});

// The script itself, run here with a stand-in `ss` that reports a given count and the state in a temp
// directory (the state directory must be root's: runs as root only).
const asRoot = process.getuid?.() === 0;
describe.runIf(asRoot)("the monitor's check script, run with a stand-in ss", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-monitor-"));
    const state = path.join(dir, "state");
    const bin = path.join(dir, "bin");
    const script = path.join(dir, "conn-monitor.sh");
    let redis: net.Server;
    let port = 0;
    beforeAll(async () => {
        fs.mkdirSync(bin);
        // `ss -Htn state established …` prints $COUNT lines; time-wait none.
        fs.writeFileSync(path.join(bin, "ss"), '#!/bin/bash\ncase "$*" in *established*) for ((i = 0; i < $(cat "$CT_FAKE_COUNT"); i++)); do echo x; done ;; esac\n', { mode: 0o755 });
        fs.writeFileSync(script, renderMonitorScript(), { mode: 0o755 });
        // A Redis that asks for a password: every PING gets -NOAUTH, still a round trip.
        redis = net.createServer((c) => c.on("data", (d) => c.write("-NOAUTH Authentication required.\r\n".repeat(d.toString().split("\r\n").length - 1))));
        await new Promise<void>((r) => redis.listen(0, "127.0.0.1", r));
        port = (redis.address() as net.AddressInfo).port;
    });
    afterAll(() => {
        redis?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });
    // Asynchronous: the stand-in Redis answers from this process's event loop.
    const run = async (count: number, over: Record<string, unknown> = {}) => {
        fs.writeFileSync(path.join(dir, "count"), String(count));
        const m = monitorSchema.parse({ ports: [port], alertPort: port, latency: { enabled: false }, growth: { samples: 4, minRise: 3 }, ...over });
        const r = await promisify(execFile)("bash", [script], { env: { ...envOf(renderMonitorService(m)), PATH: `${bin}:${process.env.PATH}`, CT_STATE_DIR: state, CT_FAKE_COUNT: path.join(dir, "count") }, encoding: "utf8" });
        expect(r.stderr).toBe("");
        return r.stdout;
    };

    it("a steady rise over all the samples is a LEAK below the leak threshold, with the samples", async () => {
        expect(await run(2)).toMatch(/^level=HEALTHY port=\d+ connections=2$/m);
        expect(await run(3)).toMatch(/^level=HEALTHY port=\d+ connections=3$/m);
        expect(await run(3)).toMatch(/^level=HEALTHY port=\d+ connections=3$/m);
        expect(await run(6)).toMatch(/^level=LEAK port=\d+ connections=6 growth=\+4 samples=2,3,3,6$/m);
        expect(fs.readFileSync(path.join(state, `conn-monitor.samples.${port}`), "utf8")).toBe("2\n3\n3\n6\n");
        expect(fs.statSync(state).mode & 0o777).toBe(0o755);
    });

    it("a fall within the samples, or a rise smaller than minRise, is no leak", async () => {
        // 2,3,3,6 before: then 5 (a fall), 6, 6, and 7 rises by 2 over 5,6,6,7 only.
        for (const n of [5, 6, 6, 7]) expect(await run(n)).toMatch(new RegExp(`^level=HEALTHY port=\\d+ connections=${n}$`, "m"));
    });

    it("keeps no samples with growth.samples 0", async () => {
        fs.rmSync(state, { recursive: true, force: true });
        for (const n of [1, 5, 9, 13]) expect(await run(n, { growth: { samples: 0 } })).toMatch(new RegExp(`^level=HEALTHY port=\\d+ connections=${n}$`, "m"));
        expect(fs.existsSync(path.join(state, `conn-monitor.samples.${port}`))).toBe(false);
    });

    it("samples nothing in a state directory another account can write", async () => {
        fs.mkdirSync(state, { recursive: true });
        fs.chmodSync(state, 0o777);
        expect(await run(1)).toMatch(/^growth: not sampled: .* is not a directory of root's that only root can write$/m);
        fs.chmodSync(state, 0o755);
    });

    it("logs PING round trips p50/p99 against the targets: ok, or SLOW above them", async () => {
        const ok = await run(0, { latency: { seconds: 1, p50Ms: 1000, p99Ms: 1000 } });
        expect(ok).toMatch(/^latency p50=\d+\.\d\dms p99=\d+\.\d\dms n=\d+ target p50<1000ms p99<1000ms ok$/m);
        const slow = await run(0, { latency: { seconds: 1, p50Ms: 0.01, p99Ms: 0.01 } });
        expect(slow).toMatch(/^latency p50=\d+\.\d\dms p99=\d+\.\d\dms n=\d+ target p50<0.01ms p99<0.01ms SLOW$/m);
    });

    it("says why there is no latency when nothing answers PING", async () => {
        const m = await run(0, { latency: { seconds: 1, address: "127.0.0.1" }, ports: [1], alertPort: 1 });
        expect(m).toMatch(/^latency unavailable: cannot connect to 127\.0\.0\.1:1$/m);
    });
});
