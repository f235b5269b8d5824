/**
 * Pure: where the rendered redis.conf goes in the ConfigMap, and the annotation that rolls the pods.
 * (The text itself: renderRedisConf in components/redis, shared with Redis on a host.)
 */

/** On the ConfigMap and the workload's pod template: the rendered config's sha256. */
export const CHECKSUM_ANNOTATION = "conntune.io/redis-config-checksum";

/** The data key the consumer reads. */
export function configMapKey(shape: "operatorExternalConfig" | "plainRedisConf"): string {
    return shape === "operatorExternalConfig" ? "redis-additional.conf" : "redis.conf";
}
