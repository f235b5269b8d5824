/**
 * The connection-health monitor (seeds 000 §5 and 001), schema first. Pure zod.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { int, unitName } from "../core/schema";

/** At CRITICAL: `hosts[i].monitor.criticalAction`. */
export const criticalActionSettings = {
    restartUnit: setting(unitName, { allowed: "unit name", reason: "the unit to restart (seed 001: batch-writer)" }),
    cooldownSeconds: setting(int(60, 86400).default(300), { allowed: "60–86400", reason: "at most one restart per cooldown: the monitor can never loop" }),
};

/** Monitor settings: `hosts[i].monitor`. */
export const monitorSettings = {
    enabled: setting(z.boolean().default(true), { allowed: "boolean", reason: "install the monitor (false: leave it out)" }),
    ports: setting(z.array(int(1, 65535)).min(1, "must list at least one port").default([6379, 5432, 22]), {
        allowed: "ports 1–65535",
        reason: "whose established connections are counted (Redis, Postgres, SSH)",
    }),
    alertPort: setting(int(1, 65535).default(6379), { allowed: "one of `ports`", reason: "the port whose count sets the level (seed 001: Redis)" }),
    healthyMax: setting(int(0, 1000000).default(25), { allowed: "0–1000000, below `warningMax`", reason: "HEALTHY up to here (seed 001)" }),
    warningMax: setting(int(0, 1000000).default(49), { allowed: "0–1000000, below `leakMax`", reason: "WARNING up to here (seed 001)" }),
    leakMax: setting(int(0, 1000000).default(99), { allowed: "0–1000000", reason: "LEAK up to here, CRITICAL above (seed 001)" }),
    services: setting(z.array(unitName).default([]), { allowed: "unit names", reason: "whose open files are reported (seed 000: python, uvicorn, vllm)" }),
    criticalAction: setting(z.object(shape(criticalActionSettings)).strict().optional(), {
        allowed: "`{ restartUnit, cooldownSeconds }`",
        reason: "at CRITICAL: restart a unit, at most once per cooldown",
        nested: criticalActionSettings,
    }),
    intervalSeconds: setting(int(10, 86400).default(60), { allowed: "10–86400", reason: "how often the timer runs the check" }),
};

/** Connection-health monitor: a systemd service + timer logging to the journal. */
export const monitorSchema = z
    .object(shape(monitorSettings))
    .strict()
    .superRefine((m, ctx) => {
        if (!(m.healthyMax < m.warningMax && m.warningMax < m.leakMax)) {
            ctx.addIssue({ code: "custom", path: ["warningMax"], message: `levels must rise: healthyMax < warningMax < leakMax (here ${m.healthyMax}, ${m.warningMax}, ${m.leakMax})` });
        }
        if (!m.ports.includes(m.alertPort)) ctx.addIssue({ code: "custom", path: ["alertPort"], message: `must be one of ports (${m.ports.join(", ")})` });
    });

export type MonitorSettings = z.infer<typeof monitorSchema>;
