/**
 * nofile limits (seed 000 §4, seed 004), schema first. Pure zod.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { confFileName, int } from "../core/schema";

const limitDomain = z.string().regex(/^(\*|@?[a-z_][a-z0-9_-]{0,31}|%[a-z_][a-z0-9_-]{0,31})$/, "must be '*', a user, @group or %group");

/** Limits settings: `hosts[i].limits`. */
export const limitsSettings = {
    enabled: setting(z.boolean().default(true), { allowed: "boolean", reason: "write the limits (false: leave them alone)" }),
    fileName: setting(confFileName.default("90-conntune-nofile.conf"), { allowed: "plain `*.conf` name", reason: "the file under /etc/security/limits.d/" }),
    domains: setting(z.array(limitDomain).min(1, "must name at least one domain").default(["*", "root"]), {
        allowed: "`*`, a user, `@group`, `%group`",
        reason: "who gets the limits: seed 000 names the service user and root; seed 004 uses `*` and root",
    }),
    soft: setting(int(1024, 1048576).default(65536), { allowed: "1024–1048576, ≤ hard", reason: "1024 is far too low for services holding many connections (seed 000: 65536)" }),
    hard: setting(int(1024, 1048576).default(65536), { allowed: "1024–1048576", reason: "at most fs.nr_open (1048576 by default)" }),
    systemdDefault: setting(z.union([int(1024, 1048576), z.null()]).optional(), {
        allowed: "1024–1048576 (`DefaultLimitNOFILE=N:N`), or `null` to leave systemd alone",
        shownDefault: "unset: the login limits, `soft`:`hard`",
        reason: "systemd's DefaultLimitNOFILE for services (seed 000: system.conf)",
    }),
    systemdFileName: setting(confFileName.default("90-conntune-limits.conf"), { allowed: "plain `*.conf` name", reason: "the drop-in under /etc/systemd/system.conf.d/" }),
    pam: setting(z.enum(["check", "enable"], { error: "must be 'check' or 'enable'" }).default("check"), {
        allowed: "`check` (report whether pam_limits is on for SSH logins) or `enable` (also put it in every PAM session)",
        reason: "seed 004: pam_limits in common-session and common-session-noninteractive",
    }),
};

export const limitsSchema = z
    .object(shape(limitsSettings))
    .strict()
    .refine((l) => l.soft <= l.hard, { path: ["soft"], message: "must not exceed hard" });

export type LimitsSettings = z.infer<typeof limitsSchema>;
