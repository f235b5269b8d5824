import type { EngineEvent } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { Observed } from "../../scripts/upEvents";

const STACK = "urn:pulumi:dev::conntune::pulumi:pulumi:Stack::conntune-dev";
const host = (h: string) => `urn:pulumi:dev::conntune::conntune:host:TunedHost::${h}`;
const comp = (h: string, k: string) => `urn:pulumi:dev::conntune::conntune:host:TunedHost$conntune:host:${k}::${h}-${k}`;
const cmd = (h: string, k: string) => `urn:pulumi:dev::conntune::conntune:host:TunedHost$conntune:host:${k}$command:remote:Command::${h}-${k}-apply`;

let seq = 0;
const meta = (op: string, urn: string, parent: string, custom: boolean) => ({ op, urn, type: "", new: { type: "", urn, id: "", parent, custom, inputs: {}, outputs: {}, provider: "" } });
const pre = (op: string, urn: string, parent: string, custom = false): EngineEvent => ({ sequence: seq++, timestamp: 0, resourcePreEvent: { metadata: meta(op, urn, parent, custom) } }) as unknown as EngineEvent;
const outputs = (op: string, urn: string, parent: string, custom = true): EngineEvent => ({ sequence: seq++, timestamp: 0, resOutputsEvent: { metadata: meta(op, urn, parent, custom) } }) as unknown as EngineEvent;
const failed = (urn: string, parent: string): EngineEvent => ({ sequence: seq++, timestamp: 0, resOpFailedEvent: { metadata: meta("update", urn, parent, true), status: 1, steps: 0 } }) as unknown as EngineEvent;
const diag = (urn: string | undefined, message: string): EngineEvent => ({ sequence: seq++, timestamp: 0, diagnosticEvent: { urn, message, color: "never", severity: "error" } }) as unknown as EngineEvent;

/** One wave of two hosts: a applied both files; b applied sshd, then its sysctl file failed. */
function wave(): Observed {
    const o = new Observed();
    for (const h of ["a", "b"]) {
        o.onEvent(pre("same", host(h), STACK));
        for (const k of ["sshd", "sysctl"]) {
            o.onEvent(pre("same", comp(h, k), host(h)));
            o.onEvent(pre("update", cmd(h, k), comp(h, k), true));
        }
    }
    o.onEvent(outputs("update", cmd("a", "sshd"), comp("a", "sshd")));
    o.onEvent(outputs("update", cmd("a", "sysctl"), comp("a", "sysctl")));
    o.onEvent(outputs("update", cmd("b", "sshd"), comp("b", "sshd")));
    o.onEvent(failed(cmd("b", "sysctl"), comp("b", "sysctl")));
    o.onEvent(diag(cmd("b", "sysctl"), "error: activating the new /etc/sysctl.d/99-conntune-tcp.conf failed; the previous file is back\n  sysctl: rejected"));
    o.onEvent(diag(STACK, "error: update failed"));
    o.onEvent(diag(undefined, "error: something without a resource"));
    return o;
}

describe("what npm run up reads from the engine events", () => {
    it("counts a host as failed when any of its resources failed, and only then", () => {
        expect([...wave().failedHosts()]).toEqual(["b"]);
    });

    it("gives a failed host's reason from its error diagnostics", () => {
        expect(wave().reason("b")).toBe("error: activating the new /etc/sysctl.d/99-conntune-tcp.conf failed; the previous file is back | sysctl: rejected");
    });

    it("knows what of a failed host changed before the failure", () => {
        const o = wave();
        expect(o.of("b").filter((u) => o.done.has(u))).toEqual([cmd("b", "sshd")]);
    });

    it("sees the pending changes per host in a preview", () => {
        const o = new Observed();
        o.onEvent(pre("same", host("a"), STACK));
        o.onEvent(pre("same", cmd("a", "sshd"), host("a"), true));
        o.onEvent(pre("same", host("b"), STACK));
        o.onEvent(pre("delete", cmd("b", "sshd"), host("b"), true));
        expect(o.of("a").some((u) => o.changed.has(u))).toBe(false);
        expect(o.of("b").filter((u) => o.changed.has(u))).toEqual([cmd("b", "sshd")]);
    });

    it("calls a host applied only when every change the preview planned for it completed", () => {
        const planned = new Observed();
        for (const h of ["a", "b"]) {
            planned.onEvent(pre("same", host(h), STACK));
            planned.onEvent(pre("update", cmd(h, "sshd"), host(h), true));
        }
        const run = new Observed();
        run.onEvent(pre("update", cmd("a", "sshd"), host("a"), true));
        run.onEvent(outputs("update", cmd("a", "sshd"), host("a")));
        // b's step never ran: the engine stopped the update first.
        expect(run.completed("a", planned)).toBe(true);
        expect(run.completed("b", planned)).toBe(false);
    });

    it("calls a removal made only when its deletes ran, not when the resources were kept as they are", () => {
        const planned = new Observed();
        planned.onEvent(pre("delete", host("gone"), STACK));
        planned.onEvent(pre("delete", cmd("gone", "sshd"), host("gone"), true));
        const kept = new Observed();
        kept.onEvent(outputs("same", cmd("gone", "sshd"), host("gone")));
        const deleted = new Observed();
        deleted.onEvent(outputs("delete", cmd("gone", "sshd"), host("gone")));
        expect(kept.made("gone", planned)).toBe(false);
        expect(deleted.made("gone", planned)).toBe(true);
    });
});
