import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { withSettingsTables } from "../../components/kinds";
import { connectionSchema, hostRedisSchema, limitsSchema, monitorSchema, ONE_WAY_SYSCTL_KEYS, overrideSchema, redisSettingsSchema, redisStackSchema, SSHD_RISKY, sshdSchema, SYSCTL_CATALOG, sysctlSchema } from "../../components";

const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");

function keysOf(schema: { def?: unknown; _zod?: { def: { shape?: Record<string, unknown>; in?: unknown; schema?: unknown } } }): string[] {
    // Walk through refinements/pipes to the object shape.
    let def = (schema as { _zod: { def: Record<string, unknown> } })._zod.def;
    while (!def.shape && (def.in || def.schema)) def = ((def.in ?? def.schema) as { _zod: { def: Record<string, unknown> } })._zod.def;
    return Object.keys(def.shape as Record<string, unknown>);
}

describe("the README", () => {
    it("shows every settings table exactly as the kinds describe it (run `npm run readme` after changing a setting)", () => {
        expect(withSettingsTables(readme) === readme, "README.md's settings tables differ from components/*/schema.ts: run `npm run readme`").toBe(true);
    });

    it.each([
        ["connection", connectionSchema], ["sshd", sshdSchema], ["sysctl", sysctlSchema], ["limits", limitsSchema], ["systemdOverrides", overrideSchema],
        ["redis (host)", hostRedisSchema],
    ])("documents every %s setting", (_name, schema) => {
        for (const key of keysOf(schema as never)) expect(readme, `README lacks \`${key}\``).toContain(`| \`${key}\` |`);
    });

    it.each([["monitor", monitorSchema], ["redis (k8s)", redisStackSchema], ["Redis settings", redisSettingsSchema]])("names every %s setting", (_name, schema) => {
        for (const key of keysOf(schema as never)) expect(readme, `README lacks ${key}`).toMatch(new RegExp(`\`[^\`]*\\b${key}\\b[^\`]*\``));
    });

    it("names every sshd keyword and sysctl key that is refused without an opt-in", () => {
        const refused = readme.slice(readme.indexOf("Refused at preview unless `allowRiskyKeywords`"), readme.indexOf("### sysctl —"));
        for (const kw of Object.keys(SSHD_RISKY)) expect(refused.toLowerCase(), `README lacks ${kw}`).toContain(`\`${kw}`);
        for (const key of ONE_WAY_SYSCTL_KEYS) expect(readme, `README lacks ${key}`).toContain(`\`${key}\``);
    });

    it("names every known sysctl key's range", () => {
        for (const key of Object.keys(SYSCTL_CATALOG)) {
            const short = key.split(".").pop()!.replace(/^tcp_keepalive_/, "");
            expect(readme).toContain(short);
        }
    });
});
