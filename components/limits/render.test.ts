import { describe, expect, it } from "vitest";
import { HEADER } from "../core/render";
import { renderLimits, renderPamProfile, renderSystemdDefaultLimit } from "./render";
import { limitsSchema } from "./schema";

describe("renderLimits and renderSystemdDefaultLimit", () => {
    it("writes soft and hard nofile for each domain (seed 000/004)", () => {
        expect(renderLimits(limitsSchema.parse({ domains: ["dereadi", "root"] }))).toBe(
            [HEADER, "# <domain> <type> <item> <value>; read by pam_limits at each new login.",
                "dereadi soft nofile 65536", "dereadi hard nofile 65536", "root soft nofile 65536", "root hard nofile 65536", ""].join("\n"),
        );
    });
    it("writes DefaultLimitNOFILE as the login limits soft:hard when systemdDefault is unset", () => {
        expect(renderSystemdDefaultLimit(limitsSchema.parse({ soft: 4096, hard: 16384 }))).toBe(
            [HEADER, "[Manager]", "DefaultLimitNOFILE=4096:16384", ""].join("\n"),
        );
    });
    it.each([[4096], [65536], [1048576]])("writes DefaultLimitNOFILE=%i for soft and hard when systemdDefault says so, whatever the login limits", (n) => {
        for (const logins of [{}, { soft: 4096, hard: 16384 }, { soft: 1024, hard: 1048576 }]) {
            expect(renderSystemdDefaultLimit(limitsSchema.parse({ ...logins, systemdDefault: n }))).toBe([HEADER, "[Manager]", `DefaultLimitNOFILE=${n}:${n}`, ""].join("\n"));
        }
    });
});

describe("renderPamProfile", () => {
    it("is a pam-auth-update session profile for pam_limits, without comment lines (the format has none)", () => {
        const p = renderPamProfile();
        expect(p).toBe("Name: nofile limits from /etc/security/limits.d (managed by conntune)\nDefault: yes\nPriority: 0\nSession-Type: Additional\nSession:\n\trequired\tpam_limits.so\n");
        expect(p).not.toMatch(/^#/m);
    });
});
