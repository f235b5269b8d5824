/**
 * systemd unit overrides (seed 000 §4, §6), schema first. Pure zod.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { confFileName, unitName } from "../core/schema";

const sectionName = z.enum(["Unit", "Service", "Socket", "Timer", "Install", "Mount", "Path", "Slice"], { error: "must be a unit file section such as Service or Unit" });
const directiveName = z.string().regex(/^[A-Z][A-Za-z0-9]{1,60}$/, "must be a unit directive such as LimitNOFILE");
const directiveValue = z.union([
    z.number(),
    z.boolean(),
    z
        .string()
        .regex(/^[^\x00-\x1f\x7f]*$/, "must be one line without control characters")
        // systemd joins the next line onto a line ending in '\': the directive shown would never apply.
        .refine((v) => !v.endsWith("\\"), { message: "must not end in '\\' (systemd would join the next line onto it: the directive would not apply as shown)", when: (p) => p.issues.length === 0 }),
]);

/** One unit drop-in: an entry of `hosts[i].systemdOverrides`. */
export const overrideSettings = {
    unit: setting(unitName, {
        allowed: "unit name such as `llm-gateway.service` (letters, digits, `: _ . - @`, a unit type suffix; not starting with `-` or `.`, no `\\`)",
        reason: "the unit to override (seed 000: llm-gateway.service)",
    }),
    fileName: setting(confFileName.default("50-conntune.conf"), { allowed: "plain `*.conf` name", reason: "the drop-in under /etc/systemd/system/UNIT.d/" }),
    settings: setting(
        z.partialRecord(sectionName, z.record(directiveName, directiveValue)).refine((s) => Object.keys(s).length > 0, {
            message: "must set at least one directive, e.g. { Service: { LimitNOFILE: 65536 } }",
            // An unknown section is already reported; "empty" would only repeat it.
            when: (payload) => payload.issues.length === 0,
        }),
        {
            allowed:
                "`{ Section: { Directive: value } }`, sections Unit, Service, Socket, Timer, Install, Mount, Path, Slice; a value is one line without control characters and does not end in `\\` (systemd would join the next line onto it)",
            reason: "directives per section (seed 000: `{ Service: { LimitNOFILE: 65536 } }`)",
        },
    ),
    restart: setting(z.enum(["restart", "reload", "none"], { error: "must be 'restart', 'reload' or 'none'" }).default("restart"), {
        allowed: "`restart` (a stopped unit stays stopped), `reload`, `none`",
        reason: "after daemon-reload: limits only apply to new processes",
    }),
};

export const overrideSchema = z.object(shape(overrideSettings)).strict();

export type OverrideSettings = z.infer<typeof overrideSchema>;
