import { describe, expect, it } from "vitest";
import { driftExitCode, fileDrift, formatTable, HostHint, hostOf, lineChanges, StepLike } from "../../scripts/driftReport";

const step = (over: { oldStdin?: unknown; newStdin?: unknown; stdout?: unknown; op?: string; type?: string } = {}): StepLike => ({
    op: over.op ?? "update",
    type: over.type ?? "command:remote:Command",
    urn: "urn:pulumi:s::p::conntune:host:TunedHost$command:remote:Command::web1-sysctl-file-apply",
    old: {
        inputs: { connection: { host: "10.0.0.5", port: 22 }, triggers: ["/etc/sysctl.d/99-conntune-tcp.conf"], stdin: over.oldStdin ?? "a = 1\n" },
        outputs: { stdout: over.stdout ?? "ct:a=1" },
    },
    new: { inputs: { connection: { host: "10.0.0.5", port: 22 }, triggers: ["/etc/sysctl.d/99-conntune-tcp.conf"], stdin: over.newStdin ?? "a = 1\n" } },
});
const names = (hint: HostHint) => hostOf([{ name: "web1", host: "10.0.0.5", port: 22 }, { name: "web", host: "10.0.0.9", port: 22 }], hint);

describe("the drift report from a refresh preview's steps", () => {
    it("names the changed lines of an edited file: wanted but missing (-) and the host's own (+)", () => {
        expect(lineChanges("x\nb\nc\n", "a\nb\nc\n")).toEqual(["- a", "+ x"]);
        expect(lineChanges("a\na\n", "a\n")).toEqual(["+ a"]);
        expect(fileDrift(step({ oldStdin: "a = 1\nMaxAuthTries 2\n" }), names)).toEqual({
            host: "web1", file: "/etc/sysctl.d/99-conntune-tcp.conf", kind: "content", details: ["+ MaxAuthTries 2"],
        });
    });

    it("reports runtime drift by the provider's ct-drift lines (the key and both values)", () => {
        const r = fileDrift(step({ stdout: "ct:a=2\nct-drift:a: wanted 1, the kernel shows 2" }), names);
        expect(r).toMatchObject({ host: "web1", kind: "runtime", details: ["a: wanted 1, the kernel shows 2"] });
    });

    it("ignores steps that are not conntune's drift: other ops, other types, and an update that comes only from the program", () => {
        expect(fileDrift(step({ op: "same" }), names)).toBeUndefined();
        expect(fileDrift(step({ type: "kubernetes:core/v1:ConfigMap" }), names)).toBeUndefined();
        expect(fileDrift(step(), names)).toBeUndefined();
    });

    it("names the host by its connection, or (the connection is secret in events) by the longest host name the resource is named after", () => {
        const masked = { ...step(), old: { ...step().old, inputs: { ...step().old!.inputs, connection: { ciphertext: "x" } } }, new: { inputs: { stdin: "b\n" } } };
        expect(fileDrift(masked, names)?.host).toBe("web1");
        expect(hostOf([{ name: "web", host: "a", port: 22 }], { resource: "web1-sysctl-file-apply" })).toBe("web1-sysctl-file-apply");
    });

    it("does not show secret content, and says so", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" };
        expect(fileDrift(step({ oldStdin: secret, newStdin: "a = 1\n" }), names)?.details).toEqual(["(the content is secret: its lines are not shown)"]);
    });

    it("prints a table per host, no drift for a clean one", () => {
        const rows = [fileDrift(step({ stdout: "ct-drift:a: wanted 1, the kernel shows 2" }), names)!];
        const t = formatTable(["web1", "web2"], rows, { web2: "cannot read /etc/x on 10.0.0.6: connection refused" });
        expect(t).toContain("host web1\nfile");
        expect(t).toMatch(/\/etc\/sysctl\.d\/99-conntune-tcp\.conf\s+runtime\s+a: wanted 1, the kernel shows 2/);
        expect(t).toContain("host web2\nERROR: cannot read /etc/x on 10.0.0.6");
        expect(formatTable(["web1"], [])).toBe("host web1\nno drift\n");
    });

    it.each([
        ["no drift", [], {}, 0],
        ["drift", [{ host: "a", file: "/f", kind: "runtime" as const, details: [] }], {}, 1],
        ["an error (even with drift)", [{ host: "a", file: "/f", kind: "runtime" as const, details: [] }], { b: "unreachable" }, 2],
    ])("exits right for %s", (_w, rows, errors, code) => {
        expect(driftExitCode(rows, errors)).toBe(code);
    });
});
