/**
 * What `npm run drift` reports, from the engine's events of a refresh preview (pure: no engine, no
 * SSH). conntune's provider returns each managed file's state as the host shows it (tools/
 * command-provider/read.go): the file's content in `stdin`, runtime findings as `ct-drift:` lines in
 * `stdout`. A drifted file is a command the preview plans to update; this turns those steps into rows.
 */

/** The parts of an engine step event (`resourcePreEvent.metadata`) that drift reads. */
export interface StepLike {
    op: string;
    urn: string;
    type: string;
    old?: { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
    new?: { inputs?: Record<string, unknown> };
}

/** One drifted file on one host. */
export interface FileDrift {
    /** The host's name in `conntune:hosts` (its address, or the resource's name, when the name is not known). */
    host: string;
    /** The managed file's path. */
    file: string;
    /** content: the file differs from what conntune wrote; runtime: the host does not show its values. */
    kind: "content" | "runtime" | "content+runtime";
    /** `- line` conntune wants but the host's file lacks, `+ line` the host's file has besides; the runtime findings. */
    details: string[];
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

/**
 * The drifted file a step stands for, or undefined when the step is not conntune's drift (another
 * type, not an update, or an update that comes from the program: new settings, not the host).
 * `hostName` names the host of a command.
 */
export function fileDrift(step: StepLike, hostName: (hint: HostHint) => string): FileDrift | undefined {
    if (step.type !== "command:remote:Command" || step.op !== "update") return undefined;
    const oldIn = step.old?.inputs ?? {};
    const newIn = step.new?.inputs ?? {};
    const conn = (oldIn.connection ?? newIn.connection ?? {}) as Record<string, unknown>;
    const triggers = (oldIn.triggers ?? newIn.triggers) as unknown[] | undefined;
    const file = typeof triggers?.[0] === "string" ? triggers[0] : step.urn.split("::").pop() ?? step.urn;
    const host = hostName({ address: typeof conn.host === "string" ? conn.host : undefined, port: typeof conn.port === "number" ? conn.port : undefined, resource: step.urn.split("::").pop() ?? step.urn });
    const runtime = (text(step.old?.outputs?.stdout) ?? "")
        .split("\n")
        .filter((l) => l.startsWith(DRIFT))
        .map((l) => l.slice(DRIFT.length));
    if (text(step.old?.outputs?.stdout) === SECRET) runtime.push("(the command's output is secret: run pulumi preview --refresh --diff to see it)");
    const before = text(oldIn.stdin) ?? "";
    const after = text(newIn.stdin) ?? "";
    const content = before !== after;
    if (!content && runtime.length === 0) return undefined;
    const details = content ? (before === SECRET || after === SECRET ? ["(the content is secret: its lines are not shown)"] : lineChanges(before, after)) : [];
    return { host, file, kind: content && runtime.length ? "content+runtime" : content ? "content" : "runtime", details: [...details, ...runtime] };
}

/** A table per host: its drifted files with what differs, or "no drift". */
export function formatTable(hosts: string[], rows: FileDrift[], errors: Record<string, string> = {}): string {
    const out: string[] = [];
    for (const h of hosts) {
        out.push(`host ${h}`);
        if (errors[h]) out.push(`ERROR: ${errors[h]}`);
        const mine = rows.filter((r) => r.host === h);
        if (mine.length === 0 && !errors[h]) out.push("no drift");
        const w = Math.max(4, ...mine.map((r) => r.file.length));
        if (mine.length) out.push(`${"file".padEnd(w)}  ${"drift".padEnd(15)}  what differs`);
        for (const r of mine) {
            r.details.forEach((d, i) => out.push(`${(i === 0 ? r.file : "").padEnd(w)}  ${(i === 0 ? r.kind : "").padEnd(15)}  ${d}`));
            if (r.details.length === 0) out.push(`${r.file.padEnd(w)}  ${r.kind}`);
        }
        out.push("");
    }
    return out.join("\n");
}

/** 2 when the check is incomplete (an error), else 1 on drift, else 0. */
export function driftExitCode(rows: FileDrift[], errors: Record<string, string>): 0 | 1 | 2 {
    if (Object.keys(errors).length) return 2;
    return rows.length ? 1 : 0;
}
