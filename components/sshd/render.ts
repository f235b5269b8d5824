/**
 * Pure: sshd settings → the drop-in's text (typed keywords first, in a fixed order, then `extra`
 * sorted by keyword). No Pulumi import; unit-tested with exact expected text.
 */
import { HEADER } from "../core/render";
import { SSHD_KEYWORDS, SshdSettings } from "./schema";

/** sshd keyword → the name `sshd -T` prints (lowercase) with the wanted value as `sshd -T` shows it. */
export function sshdDirectives(s: SshdSettings): Array<[keyword: string, value: string]> {
    const base = Object.entries(SSHD_KEYWORDS).map(([field, keyword]): [string, string] => {
        const v = s[field as keyof typeof SSHD_KEYWORDS];
        return [keyword, typeof v === "boolean" ? (v ? "yes" : "no") : String(v)];
    });
    const extra = Object.entries(s.extra).sort(([a], [b]) => a.localeCompare(b));
    return [...base, ...extra];
}

/** The drop-in under /etc/ssh/sshd_config.d/. */
export function renderSshd(s: SshdSettings): string {
    const idle = s.clientAliveInterval * s.clientAliveCountMax;
    return [
        HEADER,
        `# Idle SSH sessions are dropped after ${s.clientAliveInterval} s x ${s.clientAliveCountMax} = ${idle} s without an answer.`,
        "# sshd keeps the first value it reads for a keyword: this drop-in must sort before others.",
        ...sshdDirectives(s).map(([k, v]) => `${k} ${v}`),
        "",
    ].join("\n");
}
