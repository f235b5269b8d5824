import { describe, expect, it } from "vitest";
import { driftExitCode, driftReport, EventLike, fileDrift, formatTable, HostHint, hostOf, lineChanges, printable, StepLike, verdict } from "../../scripts/driftReport";

const URN = "urn:pulumi:s::p::conntune:host:TunedHost$command:remote:Command::web1-sysctl-file-apply";
const FILE = "/etc/sysctl.d/99-conntune-tcp.conf";
const inputs = (stdin: unknown) => ({ connection: { host: "10.0.0.5", port: 22 }, triggers: [FILE], stdin });
/** A refresh step: `old` the state conntune applied, `new` what the provider read on the host. */
const step = (over: { applied?: unknown; onHost?: unknown; stdout?: unknown; op?: string; type?: string } = {}): StepLike => ({
    op: over.op ?? "refresh",
    type: over.type ?? "command:remote:Command",
    urn: URN,
    old: { inputs: inputs(over.applied ?? "a = 1\n"), outputs: { stdout: "ct:a=1" } },
    new: { inputs: inputs(over.onHost ?? "a = 1\n"), outputs: { stdout: over.stdout ?? "ct:a=1" } },
});
const names = (hint: HostHint) => hostOf([{ name: "web1", host: "10.0.0.5", port: 22 }, { name: "web", host: "10.0.0.9", port: 22 }], hint);
const refreshed = (s: StepLike): EventLike => ({ resOutputsEvent: { metadata: s } });
const planned = (op: string, urn: string, newStdin?: string, diffs?: string[]): EventLike => ({
    resourcePreEvent: { metadata: { op, urn, type: "command:remote:Command", new: newStdin === undefined ? undefined : { inputs: inputs(newStdin) }, diffs } },
});

describe("the drift report from a refresh preview's steps", () => {
    it("names the changed lines of an edited file: wanted but missing (-) and the host's own (+)", () => {
        expect(lineChanges("x\nb\nc\n", "a\nb\nc\n")).toEqual(["- a", "+ x"]);
        expect(lineChanges("a\na\n", "a\n")).toEqual(["+ a"]);
        expect(fileDrift(step({ onHost: "a = 1\nMaxAuthTries 2\n" }), names)).toEqual({
            host: "web1", file: FILE, kind: "content", details: ["+ MaxAuthTries 2"],
        });
    });

    it("reports runtime drift by the provider's ct-drift lines (the key and both values) in the refreshed output", () => {
        const r = fileDrift(step({ stdout: "ct:a=2\nct-drift:a: wanted 1, the kernel shows 2" }), names);
        expect(r).toMatchObject({ host: "web1", kind: "runtime", details: ["a: wanted 1, the kernel shows 2"] });
    });

    it("ignores steps that are not a refresh, and a refresh that changed nothing", () => {
        expect(fileDrift(step({ op: "update", onHost: "b\n" }), names)).toBeUndefined();
        expect(fileDrift(step({ type: "pulumi:providers:command", onHost: "b\n" }), names)).toBeUndefined();
        expect(fileDrift(step(), names)).toBeUndefined();
    });

    it("names the host by its connection, or (the connection is secret in events) by the longest host name the resource is named after", () => {
        const s = step({ onHost: "b\n" });
        const masked = { ...s, old: { ...s.old, inputs: { ...s.old!.inputs, connection: { ciphertext: "x" } } }, new: { ...s.new, inputs: { stdin: "b\n" } } };
        expect(fileDrift(masked, names)?.host).toBe("web1");
        expect(hostOf([{ name: "web", host: "a", port: 22 }], { resource: "web1-sysctl-file-apply" })).toBe("web1-sysctl-file-apply");
    });

    it("does not show secret content, and says so", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" };
        expect(fileDrift({ ...step({ onHost: secret }), diffs: ["stdin"] }, names)?.details).toEqual(["(the content is secret: its lines are not shown)"]);
    });

    it("a secret command (sudo or Redis password on its stdin) is drift only where the engine's refresh changed it, never on a guess", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" };
        const masked = (diffs?: string[]): StepLike => ({ ...step({ applied: secret, onHost: secret, stdout: "[secret]" }), diffs });
        // A clean host right after up: the refresh changed nothing, the masked values say nothing.
        expect(fileDrift(masked([]), names)).toBeUndefined();
        expect(fileDrift(masked(["stdin"]), names)).toMatchObject({ kind: "content", details: ["(the content is secret: its lines are not shown)"] });
        expect(fileDrift(masked(["stdout"]), names)).toMatchObject({ kind: "runtime", details: ["(the command's output is secret: run pulumi preview --refresh --diff to see it)"] });
        // The engine leaves an empty list of changed keys out of its event.
        expect(fileDrift(masked(undefined), names)).toBeUndefined();
        expect(fileDrift(masked(["stdin", "stdout"]), names)?.kind).toBe("content+runtime");
    });

    it("a settings change the stack has not applied yet is a pending change of the program, not drift", () => {
        const r = driftReport([refreshed(step()), planned("update", URN, "a = 2\n", ["stdin"])], names);
        expect(r.rows).toEqual([]);
        expect(r.pending).toEqual([{ op: "update", type: "command:remote:Command", name: "web1-sysctl-file-apply", keys: ["stdin"], host: "web1" }]);
        expect(driftExitCode(r.rows, {}, r.pending)).toBe(1);
        expect(verdict(r.rows, {}, r.pending)).toMatch(/^PENDING changes of the program \(not host drift\)/);
        expect(formatTable(["web1"], r.rows, {}, r.pending)).toMatch(/host web1\nno host drift found; pending changes of the program below\n\npending changes of the program[^\n]*\nupdate {2}web1-sysctl-file-apply \(command:remote:Command\): stdin/);
    });

    it("the update that only puts back what the refresh found changed is the drift's repair; one that also changes settings is pending as well", () => {
        const drifted = refreshed(step({ onHost: "a = 1\nx\n" }));
        const repair = driftReport([drifted, planned("update", URN, "a = 1\n")], names);
        expect(repair.rows.map((r) => [r.host, r.file, r.kind, r.details])).toEqual([["web1", FILE, "content", ["+ x"]]]);
        expect(repair.pending).toEqual([]);
        const both = driftReport([drifted, planned("update", URN, "a = 2\n")], names);
        expect(both.rows).toHaveLength(1);
        expect(both.pending.map((p) => p.op)).toEqual(["update"]);
    });

    it("a stack never applied (only creates) reports its creates as pending, never 'no drift'", () => {
        const r = driftReport([planned("create", URN), planned("create", "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s")], names);
        expect(r.pending.map((p) => p.op)).toEqual(["create", "create"]);
        expect(driftExitCode(r.rows, {}, r.pending)).toBe(1);
        expect(verdict(r.rows, {}, r.pending)).not.toContain("no drift");
        expect(formatTable(["web1"], r.rows, {}, r.pending)).not.toMatch(/^no drift$/m);
    });

    it("reports a Kubernetes ConfigMap the refresh found changed by its changed data keys", () => {
        const cm = (data: Record<string, string>) => ({ inputs: { data }, outputs: { kind: "ConfigMap", metadata: { name: "redis-cfg", namespace: "redis", resourceVersion: String(Object.keys(data).length) }, data } });
        const s: StepLike = { op: "refresh", type: "kubernetes:core/v1:ConfigMap", urn: "urn:pulumi:k8s::p::kubernetes:core/v1:ConfigMap::redis", old: cm({ "redis.conf": "hz 100\n" }), new: cm({ "redis.conf": "hz 10\n", extra: "1" }) };
        expect(fileDrift(s, names)).toEqual({ host: "kubernetes", file: "ConfigMap redis/redis-cfg", kind: "resource", details: ["data.extra added", "data.redis.conf changed", "  - hz 100", "  + hz 10"] });
        const unchanged = { ...s, new: { ...cm({ "redis.conf": "hz 100\n" }), outputs: { ...cm({ "redis.conf": "hz 100\n" }).outputs, metadata: { name: "redis-cfg", resourceVersion: "99" } } } };
        expect(fileDrift(unchanged, names)).toBeUndefined();
    });

    it("reports a resource the refresh found deleted as drift, and its re-creation with the same inputs as the repair", () => {
        const gone: StepLike = { op: "refresh", type: "kubernetes:core/v1:ConfigMap", urn: "urn:pulumi:k8s::p::kubernetes:core/v1:ConfigMap::redis", old: { inputs: { data: { a: "1" } }, outputs: { kind: "ConfigMap", metadata: { name: "cfg", namespace: "redis" } } } };
        const recreate: EventLike = { resourcePreEvent: { metadata: { op: "create", urn: gone.urn, type: gone.type, new: { inputs: { data: { a: "1" } } } } } };
        const r = driftReport([refreshed(gone), recreate], names);
        expect(r.rows).toEqual([{ host: "kubernetes", file: "ConfigMap redis/cfg", kind: "resource", details: ["gone: the refresh found it deleted"] }]);
        expect(r.pending).toEqual([]);
    });

    it("escapes a host's control characters (terminal escapes) in the rows and the table", () => {
        expect(printable("a\u001b[31mb\u0007\u009b")).toBe("a\\x1b[31mb\\x07\\x9b");
        const r = driftReport([refreshed(step({ onHost: "a = 1\n\u001b]0;pwned\u0007\n" }))], names);
        expect(r.rows[0].details).toEqual(["+ \\x1b]0;pwned\\x07"]);
        expect(formatTable(["web1"], r.rows)).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
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
