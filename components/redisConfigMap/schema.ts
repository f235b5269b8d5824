/**
 * The Redis ConfigMap stack (seed 003): `conntune:redis`, schema first. Pure zod.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { budgetSettings } from "../budget/schema";
import { redisSettingsSchema } from "../redis/settings";

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (lowercase letters, digits, -)");
const dnsName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a DNS-1123 name (lowercase letters, digits, - and .)");

/** The workload that reads the config: `conntune:redis.workload`. */
export const workloadSettings = {
    kind: setting(z.enum(["StatefulSet", "Deployment"], { error: "must be StatefulSet or Deployment" }), { allowed: "`StatefulSet` or `Deployment`", reason: "what kind of workload reads the ConfigMap" }),
    name: setting(dnsName, { allowed: "DNS-1123 name", reason: "its name (seed 003: redis-standalone)" }),
    awaitRollout: setting(z.boolean().default(true), { allowed: "boolean", reason: "live mode: wait for the rollout the checksum change starts (false: return once patched)" }),
};

/** Where `npm run drift` / `npm run health` reach the ConfigMap's Redis from: `conntune:redis.liveCheck`. */
export const liveCheckSettings = {
    address: setting(
        z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([1-9][0-9]{0,4})$/, "must be HOST:PORT (e.g. 127.0.0.1:6379, [::1]:6379)").refine((a) => Number(a.slice(a.lastIndexOf(":") + 1)) <= 65535, { message: "must have a port 1-65535" }),
        { allowed: "`HOST:PORT` (`[IPv6]:PORT`)", reason: "the Redis as the machine running drift reaches it (a `kubectl port-forward` to the service, or an address the pipeline can reach)" },
    ),
    passwordSecret: setting(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "must be a config key name (letters, digits, _ and -)").optional(), {
        allowed: "a config key name",
        shownDefault: "no AUTH",
        reason: "the stack secret (`conntune:NAME`) holding the Redis password: sent with AUTH, never in argv or output",
    }),
};

/** The Redis ConfigMap: `conntune:redis`. */
export const redisStackSettings = {
    mode: setting(z.enum(["render", "live"], { error: "must be 'render' or 'live'" }).default("render"), {
        allowed: "`render` (manifests to `renderDir`), `live` (through the cluster API)",
        reason: "render: manifests for Argo CD / Flux, no cluster access; live: apply through the cluster API",
    }),
    renderDir: setting(
        z
            .string()
            .regex(/^[A-Za-z0-9_./-]+$/, "must be a path of letters, digits and _ . / -")
            .refine((p) => !p.startsWith("/") && !p.split("/").includes("..") && p.split("/").some((seg) => seg !== "" && seg !== "."), {
                message: "must be a directory inside the project, relative to it (e.g. rendered/k8s): no leading '/', no '..', not the project directory itself",
                when: (p) => p.issues.length === 0,
            })
            .default("rendered/k8s"),
        { allowed: "a directory inside the project, relative to it (no leading `/`, no `..`)", reason: "where render mode writes the manifests" },
    ),
    kubeconfig: setting(z.string().regex(/^[A-Za-z0-9_./~-]+$/, "must be a file path").optional(), { allowed: "a file path", shownDefault: "the usual", reason: "live mode: the kubeconfig file (default: KUBECONFIG or ~/.kube/config)" }),
    context: setting(z.string().regex(/^[A-Za-z0-9_.@:/-]+$/, "must be a context name").optional(), { allowed: "a context name", shownDefault: "the usual", reason: "live mode: the kubeconfig context" }),
    namespace: setting(dnsLabel, { allowed: "DNS-1123 label", reason: "the ConfigMap's (and the workload's) namespace" }),
    name: setting(dnsName, { allowed: "DNS-1123 name", reason: "the ConfigMap's name (seed 003: redis-standalone-ext-config)" }),
    shape: setting(z.enum(["operatorExternalConfig", "plainRedisConf"], { error: "must be 'operatorExternalConfig' or 'plainRedisConf'" }).default("operatorExternalConfig"), {
        allowed: "`operatorExternalConfig` (key `redis-additional.conf`) or `plainRedisConf` (key `redis.conf`)",
        reason: "what the consumer reads: the redis-operator's externalConfig, or a plain redis.conf",
    }),
    workload: setting(z.object(shape(workloadSettings)).strict().optional(), {
        allowed: "`{ kind, name, awaitRollout }`",
        reason: "its pod template gets the annotation `conntune.io/redis-config-checksum` (a `StatefulSetPatch`), so a config change rolls the pods",
        nested: workloadSettings,
    }),
    liveCheck: setting(z.object(shape(liveCheckSettings)).strict().optional(), {
        allowed: "`{ address, passwordSecret }`",
        shownDefault: "not checked live",
        reason: "the live check of drift/health connects to this Redis directly (INFO clients/stats, CLIENT LIST) and compares with the declared clients",
        nested: liveCheckSettings,
    }),
    settings: setting(redisSettingsSchema, { allowed: "the Redis settings above", shownDefault: "—", reason: "seed 003's redis.conf" }),
    ...budgetSettings,
};

export const redisStackSchema = z
    .object(shape(redisStackSettings))
    .strict()
    .superRefine((r, ctx) => {
        // Render mode never reads them: a kubeconfig here means the author expected a live apply.
        for (const key of ["kubeconfig", "context"] as const) {
            if (r.mode === "render" && r[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: "is only used with mode: live (mode is render): set mode: live or remove it" });
        }
    });

export type RedisStackConfig = z.infer<typeof redisStackSchema>;
