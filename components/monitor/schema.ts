/**
 * The connection-health monitor (seeds 000 §5 and 001), schema first. Pure zod.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { int, unitName } from "../core/schema";

/** At CRITICAL: `hosts[i].monitor.criticalAction`. */
export const criticalActionSettings = {
    restartUnit: setting(unitName, { allowed: "unit name", reason: "the unit to restart (seed 001: batch-writer)" }),
    cooldownSeconds: setting(int(60, 86400).default(300), { allowed: "60–86400", reason: "at most one restart per cooldown: the monitor can never loop" }),
};

/** Growth over time (seed 001's "connections growing above baseline" diagnosis): `hosts[i].monitor.growth`. */
export const growthSettings = {
    samples: setting(int(0, 1000).default(10), {
        allowed: "0 (off), 3–1000",
        reason: "how many of the last runs' counts are kept on the host (seed 001 samples 10 times): a steady rise over all of them is a LEAK even below `leakMax`",
    }),
    minRise: setting(int(1, 1000000).default(5), { allowed: "1–1000000", reason: "how much the count must rise over those samples (never falling) to count as a leak, so a flat or noisy count is not one" }),
};

/** The PING round-trip probe (seed 001's latency targets): `hosts[i].monitor.latency`. */
export const latencySettings = {
    enabled: setting(z.boolean().default(true), { allowed: "boolean", reason: "measure PING round trips to the alert port at each run (bash, no redis-cli needed; a Redis that asks for a password answers NOAUTH, still a round trip)" }),
    address: setting(z.string().refine((v) => isIP(v) !== 0, "must be an IP address").default("127.0.0.1"), { allowed: "IP address", reason: "where the probe connects (the host's own Redis: loopback)" }),
    seconds: setting(int(1, 30).default(5), { allowed: "1–30", reason: "how long the probe pings (seed 001's 5 s window)" }),
    p50Ms: setting(z.number().min(0.01).max(60000).default(1), { allowed: "milliseconds, 0.01–60000", reason: "target for the median round trip (seed 001: 5 s window average < 1 ms)" }),
    p99Ms: setting(z.number().min(0.01).max(60000).default(1), { allowed: "milliseconds, 0.01–60000", reason: "target for the 99th percentile (seed 001: 5 s window p99 < 1 ms); above either target the line says SLOW" }),
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
    growth: setting(z.object(shape(growthSettings)).strict().default({ samples: 10, minRise: 5 }), {
        allowed: "`{ samples, minRise }`",
        reason: "a steady rise over the last runs is a LEAK even below the leak threshold (seed 001)",
        nested: growthSettings,
    }),
    latency: setting(z.object(shape(latencySettings)).strict().default({ enabled: true, address: "127.0.0.1", seconds: 5, p50Ms: 1, p99Ms: 1 }), {
        allowed: "`{ enabled, address, seconds, p50Ms, p99Ms }`",
        reason: "PING round trips p50/p99 against seed 001's targets, logged with ok or SLOW",
        nested: latencySettings,
    }),
};

/** Connection-health monitor: a systemd service + timer logging to the journal. */
export const monitorSchema = z
    .object(shape(monitorSettings))
    .strict()
    .superRefine((m, ctx) => {
        if (!(m.healthyMax < m.warningMax && m.warningMax < m.leakMax)) {
            ctx.addIssue({ code: "custom", path: ["warningMax"], message: `levels must rise: healthyMax < warningMax < leakMax (here ${m.healthyMax}, ${m.warningMax}, ${m.leakMax})` });
        }
        if (m.growth.samples > 0 && m.growth.samples < 3) ctx.addIssue({ code: "custom", path: ["growth", "samples"], message: `must be 0 (off) or from 3 to 1000: a rise needs at least 3 samples (here ${m.growth.samples})` });
        if (m.latency.p50Ms > m.latency.p99Ms) ctx.addIssue({ code: "custom", path: ["latency", "p50Ms"], message: `must not be above p99Ms (here ${m.latency.p50Ms} > ${m.latency.p99Ms})` });
        if (!m.ports.includes(m.alertPort)) ctx.addIssue({ code: "custom", path: ["alertPort"], message: `must be one of ports (${m.ports.join(", ")})` });
    });

export type MonitorSettings = z.infer<typeof monitorSchema>;
