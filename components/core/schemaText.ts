/**
 * Config errors in words. zod's generic messages ("Invalid input: expected string, received
 * undefined", "Unrecognized key") say neither what is allowed nor what was meant; these read the
 * schema at the issue's path. Knows no kind: every kind's schema is read the same way.
 */
import { z } from "zod";


export type Def = { type: string; [k: string]: unknown };
export const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(["optional", "default", "prefault", "nullable", "readonly", "catch", "pipe"]);

export function unwrap(s: unknown): unknown {
    while (WRAPPERS.has(defOf(s).type)) s = defOf(s).type === "pipe" ? defOf(s).in : defOf(s).innerType;
    return s;
}

/** The schema validating the value at `path` (undefined where the path leaves the schema). */
function schemaAt(root: unknown, path: PropertyKey[]): unknown {
    let s: unknown = root;
    for (const seg of path) {
        const d = defOf(unwrap(s));
        if (d.type === "object") s = (d.shape as Record<string, unknown>)[String(seg)];
        else if (d.type === "array") s = d.element;
        else if (d.type === "record") s = d.valueType;
        else if (d.type === "tuple") s = (d.items as unknown[])[Number(seg)];
        else if (d.type === "union") s = (d.options as unknown[]).map((o) => defOf(unwrap(o))).find((o) => o.type === "object" && String(seg) in (o.shape as object))?.shape?.[String(seg) as never];
        else return undefined;
        if (s === undefined) return undefined;
    }
    return s;
}

/** What a schema allows, in words ("an integer from 1 to 65535", "true or false", "a mapping with keys …"). */
export function allowed(schema: unknown): string {
    const s = unwrap(schema);
    const d = defOf(s);
    const checks = (d.checks as Array<{ _zod: { def: { format?: string; error?: () => string } } }> | undefined) ?? [];
    switch (d.type) {
        case "string": {
            const msg = checks.map((c) => c._zod.def.error?.()).find((m) => typeof m === "string");
            return msg ? msg.replace(/^must be /, "") : "a string";
        }
        case "number": {
            const n = s as z.ZodNumber;
            const bound = (v: number | null) => v !== null && Math.abs(v) < Number.MAX_SAFE_INTEGER;
            const range = bound(n.minValue) && bound(n.maxValue) ? ` from ${n.minValue} to ${n.maxValue}` : bound(n.minValue) ? ` of at least ${n.minValue}` : "";
            return `${n.isInt ? "an integer" : "a number"}${range}`;
        }
        case "boolean":
            return "true or false";
        case "null":
            return "null";
        case "enum":
            return `one of ${Object.values(d.entries as Record<string, string>).join(", ")}`;
        case "array":
            return `a list, each ${allowed(d.element)}`;
        case "tuple":
            return `a list [${(d.items as unknown[]).map(allowed).join(", ")}]`;
        case "record":
            return `a mapping of ${allowed(d.keyType)} to ${allowed(d.valueType)}`;
        case "object":
            return `a mapping with keys ${Object.keys(d.shape as object).join(", ")}`;
        case "union":
            return (d.options as unknown[]).map(allowed).join(" or ");
        default:
            return "a valid value";
    }
}

/** Edit distance, for "did you mean" on unknown keys. */
export function distance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = row[j];
            row[j] = next;
        }
    }
    return row[b.length];
}

/** One issue as the words after `path: `, falling back to zod's own message. */
export function message(issue: z.core.$ZodIssue, root: unknown): string {
    try {
        return describeIssue(issue, root);
    } catch {
        return issue.message; // the schema walk reads zod internals: never let it hide the problem
    }
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
    const at = () => schemaAt(root, issue.path);
    if (issue.code === "invalid_key") {
        // A bad record key: say which key and why (zod only says "Invalid key in record").
        return `key not allowed: ${issue.issues[0]?.message ?? issue.message}`;
    }
    if (issue.code === "unrecognized_keys") {
        const d = at() === undefined ? undefined : defOf(unwrap(at()));
        // An object's fields, or the allowed keys of a record keyed by an enum (unit file sections).
        const keys = d?.type === "object" ? Object.keys(d.shape as object) : d?.type === "record" ? Object.values((defOf(unwrap(d.keyType)).entries ?? {}) as Record<string, string>) : [];
        const unknown = issue.keys.map((k) => {
            const near = keys.filter((o) => o.toLowerCase() === k.toLowerCase() || distance(o.toLowerCase(), k.toLowerCase()) <= 2);
            return `"${k}"${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(" or ")}?)` : ""}`;
        });
        return `unknown key ${unknown.join(", ")}${keys.length ? `: allowed are ${keys.join(", ")}` : ""}`;
    }
    const schema = issue.code === "invalid_type" || issue.code === "invalid_union" ? at() : undefined;
    if (schema !== undefined && /^Invalid input(: expected \S+, received \S+)?$/.test(issue.message)) {
        return issue.message.endsWith("received undefined") ? `required: ${allowed(schema)}` : `must be ${allowed(schema)}`;
    }
    if (issue.code === "too_small" && issue.message.startsWith("Too small")) {
        return issue.origin === "array" ? `must list at least ${issue.minimum}` : `must be at least ${issue.minimum}${issue.origin === "string" ? " characters" : ""}`;
    }
    if (issue.code === "too_big" && issue.message.startsWith("Too big")) {
        return issue.origin === "array" ? `must list at most ${issue.maximum}` : `must be at most ${issue.maximum}${issue.origin === "string" ? " characters" : ""}`;
    }
    return issue.message;
}
