/**
 * RedisConfigMap: the rendered redis.conf as a Kubernetes ConfigMap, in the shape the consumer
 * expects (the OT-CONTAINER-KIT redis-operator's externalConfig key `redis-additional.conf`, or a
 * plain `redis.conf` for a self-managed StatefulSet), plus the config checksum on the consuming
 * workload's pod template so that a change rolls the pods. What it writes: redisConfigMapKind (kind.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { configChecksum, renderRedisConf } from "../redis/redisConf";
import { RedisSettings, redisWarnings } from "../redis/settings";
import { redisConfigMapKind } from "./kind";
import { CHECKSUM_ANNOTATION, configMapKey } from "./render";

export interface RedisConfigMapArgs {
    /** Namespace of the ConfigMap (and the workload). */
    namespace: string;
    /** ConfigMap name, e.g. redis-standalone-ext-config (seed 003). */
    name: string;
    /** operatorExternalConfig: key redis-additional.conf; plainRedisConf: key redis.conf. */
    shape: "operatorExternalConfig" | "plainRedisConf";
    /** Validated Redis settings. */
    settings: RedisSettings;
    /** The workload that reads the config: its pod template gets the checksum annotation. */
    workload?: { kind: "StatefulSet" | "Deployment"; name: string; awaitRollout?: boolean };
    /** The Kubernetes provider (render-to-directory or a live cluster). */
    provider: k8s.Provider;
}

export class RedisConfigMap extends pulumi.ComponentResource {
    public readonly rendered: string;
    public readonly checksum: string;
    public readonly configMapName: pulumi.Output<string>;
    public readonly configMapNamespace: pulumi.Output<string>;
    public readonly resourceVersion: pulumi.Output<string>;

    constructor(name: string, args: RedisConfigMapArgs, opts?: pulumi.ComponentResourceOptions) {
        super(redisConfigMapKind.token, name, {}, opts);
        this.rendered = renderRedisConf(args.settings);
        this.checksum = configChecksum(this.rendered);
        for (const w of redisWarnings(args.settings)) pulumi.log.warn(w, this);
        const child = { parent: this, provider: args.provider };
        const cm = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: {
                    name: args.name,
                    namespace: args.namespace,
                    labels: { "app.kubernetes.io/managed-by": "conntune" },
                    annotations: {
                        [CHECKSUM_ANNOTATION]: this.checksum,
                        // A ConfigMap has no dependents: delete it at once, without waiting for a garbage collector.
                        "pulumi.com/deletionPropagationPolicy": "background",
                        // conntune owns this ConfigMap: an edit behind its back (kubectl edit/patch) is drift that
                        // the next up puts back, not a field conflict that fails every preview.
                        "pulumi.com/patchForce": "true",
                    },
                },
                data: { [configMapKey(args.shape)]: this.rendered },
            },
            child,
        );
        if (args.workload) {
            const patchArgs = {
                metadata: {
                    name: args.workload.name,
                    namespace: args.namespace,
                    annotations: {
                        "pulumi.com/patchForce": "true",
                        ...(args.workload.awaitRollout === false ? { "pulumi.com/skipAwait": "true" } : {}),
                    },
                },
                spec: { template: { metadata: { annotations: { [CHECKSUM_ANNOTATION]: this.checksum } } } },
            };
            const after = { ...child, dependsOn: [cm] };
            if (args.workload.kind === "StatefulSet") new k8s.apps.v1.StatefulSetPatch(`${name}-rollout`, patchArgs, after);
            else new k8s.apps.v1.DeploymentPatch(`${name}-rollout`, patchArgs, after);
        }
        this.configMapName = cm.metadata.name;
        this.configMapNamespace = cm.metadata.namespace;
        this.resourceVersion = cm.metadata.resourceVersion;
        this.registerOutputs({ rendered: this.rendered, checksum: this.checksum, name: this.configMapName, resourceVersion: this.resourceVersion });
    }
}
