/**
 * RedisConfigMap through the real CLI: GitOps render mode (the k8s stack's default) writes the
 * manifests; a change moves the checksum; live mode runs against a real kube-apiserver (see below).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed003 } from "../../lab/fixtures/redis";
import { KubeApi, kubeUnavailable, startKubeApi } from "../../lab/hosts/kube";
import { conntuneProject, dispose, e2eGate, noChanges, REPO, Stack } from "../../lab/stack";

const run = e2eGate(undefined);

function readManifests(dir: string): Array<{ file: string; text: string }> {
    return fs
        .readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => ({ file: f, text: fs.readFileSync(path.join(dir, f), "utf8") }));
}

describe.runIf(run)("the k8s stack in GitOps render mode", () => {
    let stack: Stack;
    /** renderDir must lie inside the project (relative to it); read back from the stack's project copy. */
    const RENDER_DIR = "rendered/gitops";
    let renderDir: string;
    const redis = (over: Record<string, unknown> = {}) => ({
        mode: "render", renderDir: RENDER_DIR, namespace: "redis", name: "redis-standalone-ext-config", shape: "operatorExternalConfig",
        workload: { kind: "StatefulSet", name: "redis-standalone" }, settings: { ...seed003(), ...over },
    });

    beforeAll(async () => {
        stack = new Stack(conntuneProject(), "e2e-k8s-render");
        renderDir = path.join(stack.projectDir, RENDER_DIR);
        await stack.init();
        await stack.setObject("conntune:redis", redis());
    });

    afterAll(async () => {
        await dispose(stack);
        if (renderDir) fs.rmSync(renderDir, { recursive: true, force: true });
    });

    it("writes the ConfigMap (redis-additional.conf, seed-003 values) and the rollout patch", async () => {
        await stack.up();
        const m = readManifests(renderDir);
        const cm = m.find((x) => /kind: ConfigMap/.test(x.text))!;
        expect(cm.text).toContain("name: redis-standalone-ext-config");
        expect(cm.text).toContain("namespace: redis");
        expect(cm.text).toMatch(/^ {2}redis-additional\.conf: \|-?$/m);
        expect(cm.text).toMatch(/^ {4}maxmemory 30236569763$/m);
        expect(cm.text).toContain("io-threads 3");
        expect(cm.text).toContain("appendfsync everysec");
        const out = await stack.outputs();
        const r = out.redis as { checksum: string; rendered: string[] };
        expect(cm.text).toContain(`conntune.io/redis-config-checksum: ${r.checksum}`);
        const sts = m.find((x) => /kind: StatefulSet/.test(x.text));
        expect(sts?.text).toContain(`conntune.io/redis-config-checksum: ${r.checksum}`);
        expect(r.rendered).toContain("maxmemory-policy allkeys-lru");
    });

    it("moves the checksum on the pod template when a setting changes", async () => {
        const before = ((await stack.outputs()).redis as { checksum: string }).checksum;
        await stack.setObject("conntune:redis", redis({ hz: 50 }));
        await stack.up();
        const after = ((await stack.outputs()).redis as { checksum: string }).checksum;
        expect(after).not.toBe(before);
        const m = readManifests(renderDir);
        expect(m.find((x) => /kind: ConfigMap/.test(x.text))!.text).toContain("hz 50");
        expect(m.find((x) => /kind: StatefulSet/.test(x.text))!.text).toContain(after);
        expect(noChanges((await stack.up()).stdout)).toBe(true);
    });

    it("rejects an invalid Redis setting at preview, naming the field and range", async () => {
        const bad = redis({ ioThreads: 9 });
        await stack.setObject("conntune:redis", bad);
        const r = await stack.preview([], true);
        expect(r.code).not.toBe(0);
        expect(`${r.stdout}${r.stderr}`).toContain("conntune:redis.settings.ioThreads: must not exceed the CPU limit (4 cores)");
        await stack.setObject("conntune:redis", redis({ hz: 50 }));
    });
});

const kubeReason = kubeUnavailable();
const live = e2eGate(kubeReason);

describe.runIf(live)("the Redis ConfigMap in live mode against a real kube-apiserver", () => {
    let kube: KubeApi;
    let stack: Stack;
    const redis = (over: Record<string, unknown> = {}) => ({
        mode: "live", kubeconfig: kube.kubeconfig, namespace: "redis", name: "redis-standalone-ext-config", shape: "operatorExternalConfig",
        // The test API server has no nodes or controllers: no pod will ever roll, so do not wait for it.
        workload: { kind: "StatefulSet", name: "redis-standalone", awaitRollout: false }, settings: { ...seed003(), ...over },
    });
    const setRedis = (v: unknown) => stack.setObject("conntune:redis", v);
    const getJson = (...args: string[]) => JSON.parse(kube.kubectl("get", "-n", "redis", ...args, "-o", "json")) as {
        metadata: { resourceVersion: string; annotations?: Record<string, string> };
        data?: Record<string, string>;
        spec?: { template: { metadata: { annotations?: Record<string, string> } } };
    };

    beforeAll(async () => {
        kube = await startKubeApi();
        kube.kubectl("create", "namespace", "redis");
        const sts = path.join(os.tmpdir(), `conntune-sts-${process.pid}.yaml`);
        fs.writeFileSync(sts, [
            "apiVersion: apps/v1", "kind: StatefulSet", "metadata:", "  name: redis-standalone", "  namespace: redis", "spec:",
            "  serviceName: redis-standalone", "  replicas: 1", "  selector:", "    matchLabels: {app: redis}", "  template:",
            "    metadata:", "      labels: {app: redis}", "    spec:", "      containers:", "      - name: redis", "        image: redis:7.4", "",
        ].join("\n"));
        kube.kubectl("apply", "-f", sts);
        fs.rmSync(sts);
        stack = new Stack(conntuneProject(), "e2e-k8s-live");
        await stack.init();
        await setRedis(redis());
    });

    afterAll(async () => {
        await dispose(stack);
        await kube?.stop();
    });

    it("creates the ConfigMap and puts its checksum on the StatefulSet's pod template", async () => {
        await stack.up();
        const out = (await stack.outputs()).redis as { checksum: string; resourceVersion: string; name: string; namespace: string };
        const cm = getJson("configmap", "redis-standalone-ext-config");
        expect(cm.data!["redis-additional.conf"]).toContain("maxmemory 30236569763\n");
        expect(cm.metadata.annotations!["conntune.io/redis-config-checksum"]).toBe(out.checksum);
        expect(out.resourceVersion).toBe(cm.metadata.resourceVersion);
        expect([out.name, out.namespace]).toEqual(["redis-standalone-ext-config", "redis"]);
        expect(getJson("statefulset", "redis-standalone").spec!.template.metadata.annotations!["conntune.io/redis-config-checksum"]).toBe(out.checksum);
    });

    it("updates the ConfigMap on a change and moves the checksum annotation (the pods roll)", async () => {
        const before = getJson("configmap", "redis-standalone-ext-config");
        await setRedis(redis({ hz: 50 }));
        await stack.up();
        const out = (await stack.outputs()).redis as { checksum: string };
        const after = getJson("configmap", "redis-standalone-ext-config");
        expect(after.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);
        expect(after.data!["redis-additional.conf"]).toContain("hz 50\n");
        expect(getJson("statefulset", "redis-standalone").spec!.template.metadata.annotations!["conntune.io/redis-config-checksum"]).toBe(out.checksum);
        expect(out.checksum).not.toBe(before.metadata.annotations!["conntune.io/redis-config-checksum"]);
    });

    it("npm run drift on a stack with only redis: 0 when clean, 1 naming the ConfigMap and its changed key after a kubectl edit behind Pulumi's back", async () => {
        const drift = () => spawnSync("npx", ["tsx", path.join(REPO, "scripts/drift.ts"), "--stack", stack.name, "--project-dir", stack.projectDir], { env: stack.env, encoding: "utf8", cwd: REPO, timeout: 300_000 });
        let r = drift();
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain("no drift");
        const wanted = getJson("configmap", "redis-standalone-ext-config").data!["redis-additional.conf"];
        kube.kubectl("patch", "configmap", "-n", "redis", "redis-standalone-ext-config", "--type", "merge", "-p", JSON.stringify({ data: { "redis-additional.conf": wanted.replace("hz 50\n", "hz 10\n") } }));
        r = drift();
        expect(r.status, r.stdout + r.stderr).toBe(1);
        expect(r.stdout).toMatch(/host kubernetes\n[^\n]*\nConfigMap redis\/redis-standalone-ext-config\s+resource\s+data\.redis-additional\.conf changed/);
        expect(r.stdout).toContain("- hz 50");
        expect(r.stdout).toContain("+ hz 10");
        expect(r.stdout).not.toContain("pending changes of the program");
        await stack.up(["--refresh"]);
        expect(getJson("configmap", "redis-standalone-ext-config").data!["redis-additional.conf"]).toBe(wanted);
        expect(drift().status).toBe(0);
    });

    it("removes the ConfigMap and the annotation on destroy, leaving the StatefulSet", async () => {
        await stack.destroy();
        expect(() => kube.kubectl("get", "-n", "redis", "configmap", "redis-standalone-ext-config")).toThrow(/NotFound|not found/);
        const sts = getJson("statefulset", "redis-standalone");
        expect(sts.spec!.template.metadata.annotations?.["conntune.io/redis-config-checksum"]).toBeUndefined();
    });
});
