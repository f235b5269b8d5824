/**
 * The whole stack config, schema first: it only composes the kinds' schemas (each kind's folder
 * holds its own, with a default and a one-line reason per setting) into a host and a stack, adds the
 * rules that span kinds or hosts, and formats the errors. `parseStackConfig` validates once and lists
 * every problem as `path: message`, so `pulumi preview` fails before any resource exists.
 */
import { z } from "zod";
import { stackBudgetErrors } from "./budget/budget";
import { machineKey } from "./core/machineKey";
import { connectionSchema } from "./core/schema";
import { message } from "./core/schemaText";
import { limitsSchema } from "./limits/schema";
import { monitorSchema } from "./monitor/schema";
import { redisStackSchema } from "./redisConfigMap/schema";
import { hostRedisSchema } from "./redisHost/schema";
import { rolloutProblems, rolloutSchema } from "./rollout/schema";
import { sshdSchema } from "./sshd/schema";
import { sysctlSchema } from "./sysctl/schema";
import { overrideSchema } from "./systemdOverride/schema";

export const hostSchema = z
    .object({
        /** Short name, used in resource names and outputs. */
        name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,40}$/, "must be lowercase letters, digits and - (at most 41)"),
        connection: connectionSchema,
        sshd: sshdSchema.default(sshdSchema.parse({})),
        sysctl: sysctlSchema.default(sysctlSchema.parse({})),
        limits: limitsSchema.default(limitsSchema.parse({})),
        systemdOverrides: z.array(overrideSchema).default([]),
        redis: hostRedisSchema.optional(),
        monitor: monitorSchema.optional(),
    })
    .strict()
    .superRefine((h, ctx) => {
        const seen = new Set<string>();
        h.systemdOverrides.forEach((o, i) => {
            const k = `${o.unit}/${o.fileName}`;
            if (seen.has(k)) ctx.addIssue({ code: "custom", path: ["systemdOverrides", i, "unit"], message: `duplicate override ${k}` });
            seen.add(k);
        });
    });

export const stackSchema = z
    .object({
        hosts: z.array(hostSchema).default([]),
        redis: redisStackSchema.optional(),
        rollout: rolloutSchema.optional(),
    })
    .superRefine((s, ctx) => {
        if (s.rollout) for (const [field, message] of rolloutProblems(s.rollout, s.hosts.length)) ctx.addIssue({ code: "custom", path: ["rollout", field], message });
        const names = new Set<string>();
        const targets = new Map<string, number>();
        s.hosts.forEach((h, i) => {
            if (names.has(h.name)) ctx.addIssue({ code: "custom", path: ["hosts", i, "name"], message: `duplicate host name ${h.name}` });
            names.add(h.name);
            // Two entries for one machine would manage the same files with different content.
            const target = machineKey(h.connection.host, h.connection.port);
            const first = targets.get(target);
            if (first !== undefined) ctx.addIssue({ code: "custom", path: ["hosts", i, "connection", "host"], message: `${target} is already hosts[${first}] (${s.hosts[first].name}): one entry per machine` });
            else targets.set(target, i);
        });
        // The connection budget spans a Redis, its clients, the host's sysctl and monitor: components/budget.
        for (const e of stackBudgetErrors(s)) ctx.addIssue({ code: "custom", path: e.path, message: e.message });
    });

export type StackConfig = z.infer<typeof stackSchema>;
export type HostConfig = z.infer<typeof hostSchema>;

/** Thrown with every problem of a config, one `path: message` per line. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid conntune stack config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

function formatPath(prefix: string, p: PropertyKey[]): string {
    return p.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : `${acc}.${String(seg)}`), prefix);
}

/** Validate raw config (as read from Pulumi config: `{ hosts: … }`). Throws ConfigError. */
export function parseStackConfig(raw: unknown, prefix = "conntune:"): StackConfig {
    const r = stackSchema.safeParse(raw);
    if (!r.success) {
        throw new ConfigError(r.error.issues.map((i) => `${formatPath(prefix, i.path).replace(/^([a-z]+:)\./, "$1")}: ${message(i, stackSchema)}`));
    }
    return r.data;
}
