/**
 * What `npm run drift` reports, from the engine's events of a refresh preview (pure: no engine, no
 * SSH). Host drift is what the REFRESH changed: each refresh step's state before (what conntune
 * applied) and after (what the provider read). conntune's provider returns each managed file's state
 * as the host shows it (tools/command-provider/read.go): the file's content in `stdin`, runtime findings
 * as `ct-drift:` lines in `stdout`; other providers (pulumi-kubernetes' ConfigMap) their live object.
 * Everything else the preview plans (updates, creates, deletes, replaces) comes from the program: it
 * is reported apart, as pending changes, never as drift.
 */

/** The parts of an engine step event (`resourcePreEvent` / `resOutputsEvent` metadata) that drift reads. */
export interface StepLike {
    op: string;
    urn: string;
    type: string;
    old?: { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
    new?: { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
    diffs?: string[];
}

/** The engine events drift reads (a subset of the Automation API's EngineEvent). */
export interface EventLike {
    resourcePreEvent?: { metadata: StepLike };
    resOutputsEvent?: { metadata: StepLike };
}

/** One drifted file on one host (or one drifted resource of another provider, e.g. a ConfigMap). */
export interface FileDrift {
    /** The host's name in `conntune:hosts` (its address, or the resource's name, when the name is not known); `kubernetes` for a cluster's objects. */
    host: string;
    /** The managed file's path, or `KIND NAMESPACE/NAME` of another provider's resource. */
    file: string;
    /** content: the file differs from what conntune wrote; runtime: the host does not show its values; resource: another provider's object differs. */
    kind: "content" | "runtime" | "content+runtime" | "resource";
    /** `- line` conntune wants but the host's file lacks, `+ line` the host's file has besides; the runtime findings. */
    details: string[];
}

/** One change the preview plans that comes from the program (new or changed settings), not from a host. */
export interface PendingChange {
    /** The engine's step: create, update, delete, replace, … */
    op: string;
    /** The resource's type token. */
    type: string;
    /** The resource's name (for a managed file's command: `HOST-KIND-file-apply`). */
    name: string;
    /** The inputs the step changes, when the engine names them. */
    keys: string[];
    /** The host of a managed file's command (by its resource name), when there is one. */
    host?: string;
}

const SECRET = "[secret]";
const DRIFT = "ct-drift:";

function text(v: unknown): string | undefined {
    if (typeof v === "string") return v;
    // A secret value in an event: shown masked (the preview runs without --show-secrets).
    if (v && typeof v === "object" && "ciphertext" in v) return SECRET;
    return undefined;
}

/** Lines of `wanted` the host lacks (`- `) and lines the host has besides (`+ `), in file order. */
export function lineChanges(host: string, wanted: string): string[] {
    const lines = (t: string) => t.split("\n").filter((l) => l !== "");
    // a minus b as multisets, keeping a's order.
    const minus = (a: string[], b: string[]) => {
        const left = new Map<string, number>();
        for (const l of b) left.set(l, (left.get(l) ?? 0) + 1);
        return a.filter((l) => {
            const n = left.get(l) ?? 0;
            if (n > 0) left.set(l, n - 1);
            return n === 0;
        });
    };
    return [...minus(lines(wanted), lines(host)).map((l) => `- ${l}`), ...minus(lines(host), lines(wanted)).map((l) => `+ ${l}`)];
}

/** What identifies a command's host: its connection (often secret as a whole, so masked in events) and its resource name. */
export interface HostHint {
    address?: string;
    port?: number;
    /** The command's resource name, e.g. `web1-sysctl-file-apply`: conntune names it after its host. */
    resource: string;
}

/** The name of the host among `names` a hint points at: by address and port, else the longest name the resource name starts with. */
export function hostOf(hosts: Array<{ name: string; host: string; port: number }>, hint: HostHint): string {
    const byAddress = hosts.find((h) => hint.address !== undefined && h.host === hint.address && h.port === (hint.port ?? 22));
    if (byAddress) return byAddress.name;
    const byName = hosts.filter((h) => hint.resource.startsWith(`${h.name}-`)).sort((a, b) => b.name.length - a.name.length)[0];
    return byName?.name ?? hint.address ?? hint.resource;
}

/** `s` with every control character (C0, DEL, C1) as `\xNN`: a host's file content never drives the terminal. */
export function printable(s: string): string {
    return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

const nameOf = (urn: string) => urn.split("::").pop() ?? urn;

/**
 * Whether the refresh changed `key` of a step whose values are masked (secret): the engine's own
 * list of changed keys says so (its diff of the refreshed state against the program, through the
 * provider's Diff). The engine leaves an empty list out of the event: absent means none changed.
 * (The legacy refresh diff computes no list: scripts/drift.ts never runs with it.)
 */
function maskedChanged(step: StepLike, key: string): boolean {
    return (step.diffs ?? []).includes(key);
}

/** The runtime findings (`ct-drift:` lines) in a command's output. */
function findings(step: StepLike, stdout: unknown): string[] {
    const out = text(stdout);
    if (out === SECRET) return maskedChanged(step, "stdout") ? ["(the command's output is secret: run pulumi preview --refresh --diff to see it)"] : [];
    return (out ?? "").split("\n").filter((l) => l.startsWith(DRIFT)).map((l) => l.slice(DRIFT.length));
}

/** A value with secrets (masked or not) as one marker: what two states are compared by. */
function comparable(v: unknown): unknown {
    if (v === SECRET || (v && typeof v === "object" && ("ciphertext" in v || "4dabf18193072939515e22adb298388d" in v))) return SECRET;
    if (Array.isArray(v)) return v.map(comparable);
    if (v && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith("__")).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, comparable(x)]));
    }
    return v;
}
const same = (a: unknown, b: unknown) => JSON.stringify(comparable(a)) === JSON.stringify(comparable(b));

/** The changed keys of a Kubernetes object's data (`data`, `binaryData`): `data.KEY` and, for text, its changed lines. */
function dataChanges(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
    const out: string[] = [];
    for (const field of ["data", "binaryData"]) {
        const b = (before[field] ?? {}) as Record<string, unknown>;
        const a = (after[field] ?? {}) as Record<string, unknown>;
        for (const key of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
            if (same(b[key], a[key])) continue;
            const what = !(key in a) ? "removed" : !(key in b) ? "added" : "changed";
            out.push(`${field}.${key} ${what}`);
            const bt = text(b[key]);
            const at = text(a[key]);
            if (bt !== undefined && at !== undefined && bt !== SECRET && at !== SECRET) out.push(...lineChanges(at, bt).map((l) => `  ${l}`));
        }
    }
    return out;
}

/**
 * The drift a REFRESH step shows (`old`: the state conntune applied, `new`: what the provider read),
 * or undefined when the refresh changed nothing that matters. `hostName` names the host of a command.
 */
export function fileDrift(step: StepLike, hostName: (hint: HostHint) => string): FileDrift | undefined {
    if (step.op !== "refresh" || !step.old) return undefined;
    if (!step.new) {
        // The refresh found the resource gone (deleted behind Pulumi's back).
        if (step.type.startsWith("pulumi:")) return undefined;
        const { host, file } = describe(step, step.old.outputs ?? {}, hostName);
        return { host, file, kind: "resource", details: ["gone: the refresh found it deleted"] };
    }
    const oldIn = step.old.inputs ?? {};
    const newIn = step.new.inputs ?? {};
    if (step.type === "command:remote:Command") {
        const conn = (oldIn.connection ?? newIn.connection ?? {}) as Record<string, unknown>;
        const triggers = (oldIn.triggers ?? newIn.triggers) as unknown[] | undefined;
        const file = typeof triggers?.[0] === "string" ? triggers[0] : nameOf(step.urn);
        const host = hostName({ address: typeof conn.host === "string" ? conn.host : undefined, port: typeof conn.port === "number" ? conn.port : undefined, resource: nameOf(step.urn) });
        const runtime = findings(step, step.new.outputs?.stdout);
        const wanted = text(oldIn.stdin) ?? "";
        const onHost = text(newIn.stdin) ?? "";
        // A secret stdin is masked on both sides: whether the host's content differs is the engine's word.
        const content = wanted === SECRET || onHost === SECRET ? maskedChanged(step, "stdin") : wanted !== onHost;
        if (!content && runtime.length === 0) return undefined;
        const details = content ? (wanted === SECRET || onHost === SECRET ? ["(the content is secret: its lines are not shown)"] : lineChanges(onHost, wanted)) : [];
        return { host, file, kind: content && runtime.length ? "content+runtime" : content ? "content" : "runtime", details: [...details, ...runtime] };
    }
    if (step.type.startsWith("pulumi:") || !step.type.includes(":")) return undefined;
    // Another provider's resource (pulumi-kubernetes' ConfigMap): its data keys, else the inputs the refresh changed.
    const details = dataChanges(step.old.outputs ?? {}, step.new.outputs ?? {});
    if (details.length === 0) {
        for (const key of [...new Set([...Object.keys(oldIn), ...Object.keys(newIn)])].sort()) if (!key.startsWith("__") && !same(oldIn[key], newIn[key])) details.push(`${key} changed`);
    }
    if (details.length === 0) return undefined;
    return { ...describe(step, step.new.outputs ?? {}, hostName), kind: "resource", details };
}

/** The row's host and file for a resource: a command's host and path, else `kubernetes` (or the provider's package) and `KIND NAMESPACE/NAME`. */
function describe(step: StepLike, outputs: Record<string, unknown>, hostName: (hint: HostHint) => string): { host: string; file: string } {
    if (step.type === "command:remote:Command") {
        const triggers = step.old?.inputs?.triggers as unknown[] | undefined;
        return { host: hostName({ resource: nameOf(step.urn) }), file: typeof triggers?.[0] === "string" ? triggers[0] : nameOf(step.urn) };
    }
    const meta = (outputs.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    const kind = typeof outputs.kind === "string" ? outputs.kind : step.type.split(":").pop() ?? step.type;
    const name = typeof meta.name === "string" ? `${typeof meta.namespace === "string" ? `${meta.namespace}/` : ""}${meta.name}` : nameOf(step.urn);
    return { host: step.type.startsWith("kubernetes:") ? "kubernetes" : step.type.split(":")[0], file: `${kind} ${name}` };
}

const PLANNED = new Set(["create", "update", "delete", "replace", "create-replacement", "delete-replaced", "import", "import-replacement", "discard", "discard-replaced"]);

/**
 * A refresh preview's events as host drift (what the refresh changed) and the program's pending
 * changes (every other step the preview plans). An update that only puts back what the refresh found
 * changed (its new inputs are the state before the refresh), or re-creates what the refresh found
 * deleted, is the drift's repair, not a pending change.
 */
export function driftReport(events: EventLike[], hostName: (hint: HostHint) => string): { rows: FileDrift[]; pending: PendingChange[] } {
    const refreshed = new Map<string, StepLike>();
    const planned: StepLike[] = [];
    for (const e of events) {
        const out = e.resOutputsEvent?.metadata;
        if (out?.op === "refresh") refreshed.set(out.urn, out);
        const pre = e.resourcePreEvent?.metadata;
        if (pre && PLANNED.has(pre.op)) planned.push(pre);
    }
    const rows: FileDrift[] = [];
    const drifted = new Set<string>();
    for (const [urn, step] of refreshed) {
        const row = fileDrift(step, hostName);
        if (!row) continue;
        rows.push({ ...row, file: printable(row.file), details: row.details.map(printable) });
        drifted.add(urn);
    }
    const pending = planned
        .filter((p) => !((p.op === "update" || p.op === "create") && drifted.has(p.urn) && same(p.new?.inputs, refreshed.get(p.urn)?.old?.inputs)))
        .map((p) => ({
            op: p.op, type: p.type, name: printable(nameOf(p.urn)), keys: (p.diffs ?? []).filter((k) => !k.startsWith("__")).map(printable),
            ...(p.type === "command:remote:Command" ? { host: hostName({ resource: nameOf(p.urn) }) } : {}),
        }));
    rows.sort((a, b) => a.host.localeCompare(b.host) || a.file.localeCompare(b.file));
    pending.sort((a, b) => a.name.localeCompare(b.name) || a.op.localeCompare(b.op));
    return { rows, pending };
}

/** A table per host: its drifted files with what differs, or "no drift"; then the program's pending changes. */
export function formatTable(hosts: string[], rows: FileDrift[], errors: Record<string, string> = {}, pending: PendingChange[] = []): string {
    const out: string[] = [];
    for (const h of hosts) {
        out.push(`host ${printable(h)}`);
        if (errors[h]) out.push(`ERROR: ${printable(errors[h])}`);
        const mine = rows.filter((r) => r.host === h);
        // A host never applied (only creates) has nothing drifted, but it is not "no drift" either.
        if (mine.length === 0 && !errors[h]) out.push(pending.some((p) => p.host === h) ? "no host drift found; pending changes of the program below" : "no drift");
        const w = Math.max(4, ...mine.map((r) => r.file.length));
        if (mine.length) out.push(`${"file".padEnd(w)}  ${"drift".padEnd(15)}  what differs`);
        for (const r of mine) {
            r.details.forEach((d, i) => out.push(`${(i === 0 ? r.file : "").padEnd(w)}  ${(i === 0 ? r.kind : "").padEnd(15)}  ${d}`));
            if (r.details.length === 0) out.push(`${r.file.padEnd(w)}  ${r.kind}`);
        }
        out.push("");
    }
    if (pending.length) {
        out.push("pending changes of the program (not host drift: the stack's settings or program differ from the last up)");
        const w = Math.max(2, ...pending.map((p) => p.op.length));
        for (const p of pending) out.push(`${p.op.padEnd(w)}  ${p.name} (${p.type})${p.keys.length ? `: ${p.keys.join(", ")}` : ""}`);
        out.push("");
    }
    return out.join("\n");
}

/** 2 when the check is incomplete (an error), else 1 on drift or pending program changes, else 0. */
export function driftExitCode(rows: FileDrift[], errors: Record<string, string>, pending: PendingChange[] = []): 0 | 1 | 2 {
    if (Object.keys(errors).length) return 2;
    return rows.length || pending.length ? 1 : 0;
}

/** The last line of the table: what was found and what to do. */
export function verdict(rows: FileDrift[], errors: Record<string, string>, pending: PendingChange[]): string {
    if (Object.keys(errors).length) return "drift check incomplete: see errors above";
    const lines: string[] = [];
    if (rows.length) lines.push("DRIFT found (repair: npm run drift -- --repair, or pulumi up --refresh)");
    if (pending.length) lines.push("PENDING changes of the program (not host drift): review them with pulumi preview --diff, apply them with pulumi up");
    return lines.length ? lines.join("\n") : "no drift";
}
