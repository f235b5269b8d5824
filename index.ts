/**
 * conntune: load and validate the stack config once, build the components, export what the hosts
 * report back (the effective values) and the files conntune manages.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import { afterWave, budgetOutput, ConfigError, HELD_ENV, heldHosts, lightenSdkBookkeeping, loadConfig, planWaves, policyFacts as factsOf, RedisConfigMap, TunedHost } from "./components";

// Cheap SDK bookkeeping per resource (plain stacks for message-less errors, no debug-log RPCs):
// see components/sdkBookkeeping.ts; CONNTUNE_SDK_DEBUG=1 turns it off.
lightenSdkBookkeeping();

function load() {
    try {
        return loadConfig();
    } catch (e) {
        if (e instanceof ConfigError) {
            // A clean message (no stack trace) naming every bad field; nothing has been created yet.
            throw new pulumi.RunError(e.message);
        }
        throw e;
    }
}

const { config, connections, redisPasswords } = load();

// Waves (conntune:rollout): each host waits for every resource of the previous wave's hosts, except
// hosts the wave runner (npm run up) reports failed in this run (see components/rollout/waves.ts).
const plan = planWaves(config.hosts.map((h) => h.name), config.rollout);
const failedInThisRun = heldHosts(process.env[HELD_ENV]);
const built = new Map<string, TunedHost>();
plan.waves.forEach((wave, k) => {
    const earlier = k === 0 ? [] : plan.waves[k - 1].filter((n) => !failedInThisRun.has(n)).map((n) => built.get(n)!);
    for (const name of wave) {
        const h = config.hosts.find((c) => c.name === name)!;
        built.set(name, new TunedHost(name, { config: h, connection: connections[name], redisPassword: redisPasswords[name] }, afterWave(earlier)));
    }
});
const hosts = config.hosts.map((h) => [h.name, built.get(h.name)!] as const);

/** The wave plan (conntune:rollout; without it one wave, budget 0): hosts per wave in order and the failure budget; known at preview. */
export const rollout = { waves: plan.waves, maxFailures: plan.maxFailures };

/** Per host: effective sshd / sysctl / limits / override values read back from the host after the apply. */
export const effective = Object.fromEntries(hosts.map(([name, t]) => [name, t.outputs]));
/** What the policy pack (policy/) checks on production stacks: the validated settings, known at preview, no secrets. */
export const policyFacts = factsOf(config);
/** Per host: every file conntune manages, line by line (known at preview: the preview shows the change). */
export const files = Object.fromEntries(hosts.map(([name, t]) => [name, t.files]));

/** Per Redis target (host name, or the ConfigMap's name): the declared clients' connection budget and its table (known at preview). */
export const budget = budgetOutput(config);

/** The Redis ConfigMap (k8s stack): rendered config, checksum, and in live mode the object's identity. */
export const redis = config.redis
    ? (() => {
          const r = config.redis;
          const provider =
              r.mode === "render"
                  ? new k8s.Provider("render", { renderYamlToDirectory: path.resolve(r.renderDir), enableConfigMapMutable: true })
                  : // A config change updates the ConfigMap in place; the checksum annotation rolls the pods.
                    new k8s.Provider("cluster", { kubeconfig: r.kubeconfig, context: r.context, enableConfigMapMutable: true });
          const cm = new RedisConfigMap("redis", { namespace: r.namespace, name: r.name, shape: r.shape, settings: r.settings, workload: r.workload, provider });
          return {
              mode: r.mode,
              renderDir: r.mode === "render" ? r.renderDir : undefined,
              rendered: cm.rendered.replace(/\n$/, "").split("\n"),
              checksum: cm.checksum,
              name: cm.configMapName,
              namespace: cm.configMapNamespace,
              resourceVersion: r.mode === "live" ? cm.resourceVersion : undefined,
          };
      })()
    : undefined;
