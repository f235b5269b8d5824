/**
 * sshd settings (seed 000 §1), schema first: the typed keywords, the `extra` directives and what is
 * refused without an opt-in. Pure zod.
 */
import { z } from "zod";
import { setting, shape } from "../core/kind";
import { confFileName, int } from "../core/schema";

const maxStartups = z
    .string({ error: `must be a string: 'start:rate:full' (e.g. "200:30:400") or one number in quotes (e.g. "10")` })
    .regex(/^\d+(:\d+:\d+)?$/, "must be 'start:rate:full' (e.g. 200:30:400) or a single number")
    .refine((v) => {
        const p = v.split(":").map(Number);
        return p.length === 1 ? p[0] >= 1 : p[0] >= 1 && p[1] >= 1 && p[1] <= 100 && p[2] >= p[0];
    }, { message: "start must be at least 1, rate from 1 to 100 (percent) and full at least start", when: (payload) => payload.issues.length === 0 });

const sshdDirective = z.string().regex(/^[A-Za-z][A-Za-z0-9]{1,40}$/, "must be an sshd_config keyword (letters and digits)");
const sshdValue = z.string().min(1, "must not be empty").regex(/^[^\x00-\x08\x0a-\x1f\x7f#]+$/, "must be one line without '#' or control characters");
/**
 * The typed settings and the sshd keyword each one writes, in the drop-in's order. `extra` may not
 * set these keywords (sshd keeps the first value it reads, so a second one would be silently
 * ignored), and verify checks their effective values exactly. Match and Include are refused too.
 */
export const SSHD_KEYWORDS = {
    clientAliveInterval: "ClientAliveInterval",
    clientAliveCountMax: "ClientAliveCountMax",
    loginGraceTime: "LoginGraceTime",
    tcpKeepAlive: "TCPKeepAlive",
    maxStartups: "MaxStartups",
    maxSessions: "MaxSessions",
} as const;

/** Lowercase keyword → the typed field that owns it. */
const SSHD_TYPED: Record<string, string> = Object.fromEntries(Object.entries(SSHD_KEYWORDS).map(([field, kw]) => [kw.toLowerCase(), field]));

/**
 * `extra` keywords that weaken authentication (lowercase), with the values that do (`risky`), or
 * every value but the `safe` ones. Refused unless named in sshd.allowRiskyKeywords.
 */
export const SSHD_RISKY: Record<string, { risky?: string[]; safe?: string[]; why: string }> = {
    permitrootlogin: { risky: ["yes"], why: "lets root log in with a password" },
    passwordauthentication: { risky: ["yes"], why: "turns password logins on" },
    permitemptypasswords: { risky: ["yes"], why: "lets accounts without a password log in" },
    kbdinteractiveauthentication: { risky: ["yes"], why: "turns keyboard-interactive (password) logins on" },
    challengeresponseauthentication: { risky: ["yes"], why: "turns challenge-response (password) logins on" },
    hostbasedauthentication: { risky: ["yes"], why: "lets a trusted host vouch for its users" },
    permituserenvironment: { safe: ["no"], why: "lets a user's ~/.ssh/environment set the login's environment (e.g. LD_PRELOAD)" },
    authorizedkeysfile: { why: "moves where sshd reads the keys that may log in" },
    authorizedkeyscommand: { safe: ["none"], why: "lets a program decide which keys may log in" },
    authorizedprincipalscommand: { safe: ["none"], why: "lets a program decide which certificate principals may log in" },
    trustedusercakeys: { safe: ["none"], why: "lets every user certificate that CA signs log in" },
};

/** Why `Keyword value` in sshd `extra` weakens authentication, or undefined when it does not. */
export function sshdRisk(keyword: string, value: string): string | undefined {
    const r = SSHD_RISKY[keyword.toLowerCase()];
    // Compared as sshd reads it: double quotes group words and are dropped ("yes" is yes), and a
    // keyword takes its first word.
    const v = (value.replace(/"/g, "").trim().split(/\s+/)[0] ?? "").toLowerCase();
    if (!r || (r.risky && !r.risky.includes(v)) || r.safe?.includes(v)) return undefined;
    return `${keyword} ${value} ${r.why}: it weakens authentication`;
}

/** With loginGraceTime 0 no unauthenticated slot is ever freed: MaxStartups must leave at least sshd's default (100) of them. */
const MIN_FULL_WITHOUT_GRACE = 100;

/** sshd settings (seed 000 §1): `hosts[i].sshd`. */
export const sshdSettings = {
    enabled: setting(z.boolean().default(true), { allowed: "boolean", reason: "write the drop-in (false: leave sshd alone)" }),
    fileName: setting(confFileName.default("00-conntune.conf"), { allowed: "plain `*.conf` name", reason: "sorts first: sshd keeps the first value it reads" }),
    clientAliveInterval: setting(int(0, 86400).default(300), { allowed: "0–86400", reason: "probe an idle client every 5 min" }),
    clientAliveCountMax: setting(int(0, 100).default(2), { allowed: "0–100", reason: "drop it after 2 unanswered probes: idle SSH sessions die after 10 min" }),
    loginGraceTime: setting(int(0, 3600).default(30), { allowed: "0–3600", reason: "unauthenticated connections get 30 s to log in" }),
    tcpKeepAlive: setting(z.boolean().default(true), { allowed: "boolean", reason: "TCP keepalives at the SSH level notice dead peers" }),
    maxStartups: setting(maxStartups.default("200:30:400"), {
        allowed: "`start:rate:full` (rate 1–100, full ≥ start) or a number",
        reason: "concurrent unauthenticated connections: heavy automation opens many at once (\"already good\")",
    }),
    maxSessions: setting(int(1, 10000).default(100), {
        allowed: "1–10000",
        reason: "sessions per connection for multiplexed automation (\"already good\"); 0 would refuse every command session, conntune's too (its connection adapts down to 1: see \"How a file is applied\")",
    }),
    extra: setting(z.record(sshdDirective, sshdValue).default({}), { allowed: "`Keyword: value` (one line, no `#` or control characters)", reason: "more directives, checked by `sshd -t` on the host" }),
    allowRiskyKeywords: setting(z.array(sshdDirective).optional(), {
        allowed: "list of keywords",
        reason: "opt-in, keyword by keyword, to the settings below that are refused by default (they weaken authentication or can lock logins out)",
    }),
};

export const sshdSchema = z
    .object(shape(sshdSettings))
    .strict()
    .superRefine((s, ctx) => {
        const allowed = new Set((s.allowRiskyKeywords ?? []).map((k) => k.toLowerCase()));
        const optIn = (keyword: string) => `list "${keyword}" in sshd.allowRiskyKeywords to set it anyway`;
        for (const [key, value] of Object.entries(s.extra)) {
            const risk = sshdRisk(key, value);
            if (risk && !allowed.has(key.toLowerCase())) ctx.addIssue({ code: "custom", path: ["extra", key], message: `${risk}: ${optIn(key)}` });
        }
        const full = Number(s.maxStartups.split(":").pop());
        if (s.loginGraceTime === 0 && full < MIN_FULL_WITHOUT_GRACE && !allowed.has("logingracetime")) {
            ctx.addIssue({
                code: "custom",
                path: ["loginGraceTime"],
                message:
                    `0 never frees the slot of a connection that does not log in: ${full} such connections (maxStartups ${s.maxStartups}) and sshd refuses every new login. ` +
                    `With loginGraceTime 0, maxStartups must allow at least ${MIN_FULL_WITHOUT_GRACE} (sshd's default full); or set loginGraceTime above 0 (a slot is freed after that many seconds); or ${optIn("LoginGraceTime")}`,
            });
        }
        const seen = new Map<string, string>();
        for (const key of Object.keys(s.extra)) {
            const lower = key.toLowerCase();
            if (SSHD_TYPED[lower]) ctx.addIssue({ code: "custom", path: ["extra", key], message: `is a typed setting: set sshd.${SSHD_TYPED[lower]} instead` });
            else if (lower === "match" || lower === "include") ctx.addIssue({ code: "custom", path: ["extra", key], message: "Match and Include are not allowed in a drop-in's extra directives (they change how every line after them applies)" });
            else if (seen.has(lower)) ctx.addIssue({ code: "custom", path: ["extra", key], message: `repeats ${seen.get(lower)} (sshd keywords are case-insensitive and only the first value counts)` });
            seen.set(lower, key);
        }
    });

export type SshdSettings = z.infer<typeof sshdSchema>;
