/**
 * The Redis ConfigMap kind in one place (seed 003): its settings, schema and renderer. RedisConfigMap
 * (component.ts) and the README are driven by it.
 */
import type { KindDescription } from "../core/kind";
import { renderRedisConf } from "../redis/redisConf";
import { redisStackSchema, redisStackSettings } from "./schema";

export const redisConfigMapKind = {
    configKey: "conntune:redis",
    component: "RedisConfigMap",
    token: "conntune:k8s:RedisConfigMap",
    settings: redisStackSettings,
    schema: redisStackSchema,
    render: renderRedisConf,
} satisfies KindDescription;
