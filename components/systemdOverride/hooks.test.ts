import { describe, expect, it } from "vitest";
import { applyScript } from "../core/managedFileScript";
import { isSshdUnit, overrideHooks } from "./hooks";

describe("the override hooks", () => {
    it("guard an override of sshd's own unit with the login probe, and only that", () => {
        for (const u of ["ssh.service", "sshd.service", "ssh.socket", "sshd@0.service"]) expect(isSshdUnit(u)).toBe(true);
        for (const u of ["llm-gateway.service", "sshd-keygen.service", "openssh.service"]) expect(isSshdUnit(u)).toBe(false);
        expect(applyScript({ path: "/etc/systemd/system/ssh.service.d/a.conf", mode: "0644", hooks: overrideHooks("ssh.service") })).toContain("ct_login_probe");
        expect(applyScript({ path: "/etc/systemd/system/x.service.d/a.conf", mode: "0644", hooks: overrideHooks("x.service") })).not.toContain("ct_login_probe");
    });
});
