import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { DELETE_BY_OPERATION } from "../../components/core/managedFileScript";
import { cannotDelete, deletesByOperation, runsDeleteByOperation } from "../../scripts/rollbackGuard";

const REPO = path.join(__dirname, "..", "..");
const pre = (op: string, type: string, name: string, del?: string): EngineEvent =>
    ({ sequence: 0, timestamp: 0, resourcePreEvent: { metadata: { op, type, urn: `urn:pulumi:s::conntune::conntune:host:TunedHost$${type}::${name}`, provider: "", old: del === undefined ? undefined : { inputs: { delete: del } } } } }) as unknown as EngineEvent;

describe("a rollback with --program", () => {
    it("finds the commands whose delete is their create script's delete operation among what the update would delete", () => {
        expect(
            deletesByOperation([
                pre("delete", "command:remote:Command", "web1-sshd-dropin-apply", DELETE_BY_OPERATION),
                pre("delete-replaced", "command:remote:Command", "web1-sysctl-file-apply", DELETE_BY_OPERATION),
                pre("delete", "command:remote:Command", "web1-limits-limits-apply", "bash -c \"$(echo H4sI | base64 -d | gzip -dc)\" conntune"),
                pre("create", "command:remote:Command", "web1-sshd-dropin-apply"),
                pre("delete", "conntune:host:SshdHardening", "web1-sshd", DELETE_BY_OPERATION),
                { sequence: 1, timestamp: 0, summaryEvent: {} } as unknown as EngineEvent,
            ]),
        ).toEqual(["web1-sshd-dropin-apply", "web1-sysctl-file-apply"]);
    });

    it("knows which revisions' providers run such a delete: this checkout's, not one from before 2026-12 (real git history)", () => {
        expect(runsDeleteByOperation(REPO)).toBe(true);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-guard-"));
        try {
            expect(runsDeleteByOperation(dir)).toBe(false);
            fs.mkdirSync(path.join(dir, "tools", "command-provider"), { recursive: true });
            const old = execFileSync("git", ["-C", REPO, "show", "149a396:tools/command-provider/read.go"], { encoding: "utf8" });
            fs.writeFileSync(path.join(dir, "tools", "command-provider", "read.go"), old);
            expect(runsDeleteByOperation(dir)).toBe(false);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses naming the revision, the commands and the way out", () => {
        const m = cannotDelete("149a396d7d7f61a8a3f7a5e2a2b9e0f4f1c2d3e4", ["a", "b", "c", "d", "e", "f", "g"]);
        expect(m).toMatch(/^not applied: revision 149a396d7d's command provider cannot run the delete of 7 command\(s\)/);
        expect(m).toContain("(a, b, c, d, e and 2 more)");
        expect(m).toContain("Roll back the config alone (without --program); the stack is unchanged");
    });
});
