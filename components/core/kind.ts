/**
 * How a kind describes itself: its settings as data (schema, default, what is allowed, why), from
 * which come its zod schema and its README table, so that adding a setting is one entry in one
 * place. Pure, no Pulumi import; knows no kind.
 */
import { z } from "zod";
import type { FileHooks } from "./managedFileScript";
import { defOf } from "./schemaText";

/** One setting: its schema (with its default, if any) and what the README says about it. */
export interface Setting<S extends z.ZodType = z.ZodType> {
    schema: S;
    /** What is allowed, in words (the README's "allowed" column). */
    allowed: string;
    /** Why it is there or set this way, in one line (from the seeds' runbooks where they say it). */
    reason: string;
    /** The default as the README shows it, where the schema's own value says too little (e.g. "`user != root`"). */
    shownDefault?: string;
    /** The settings of an object-valued setting, documented as rows of their own (`auth.user`). */
    nested?: Settings;
}

export type Settings = Record<string, Setting>;

/** A setting with its documentation. */
export function setting<S extends z.ZodType>(schema: S, doc: Omit<Setting<S>, "schema">): Setting<S> {
    return { schema, ...doc };
}

/** The zod object shape of `settings`, in their order (the order error messages list them in). */
export function shape<T extends Settings>(settings: T): { [K in keyof T]: T[K]["schema"] } {
    return Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.schema])) as { [K in keyof T]: T[K]["schema"] };
}

/**
 * What one kind of thing conntune manages says about itself. Each kind's folder exports one
 * (e.g. `sysctlKind`), which its component, its schema and the README's settings table use.
 */
export interface KindDescription {
    /** Where its settings sit in the stack config, e.g. `hosts[i].sysctl` or `conntune:redis`. */
    configKey: string;
    /** The component class that applies it. */
    component: string;
    /** The component's Pulumi type token (never changed: state refers to it). */
    token: string;
    /** Its settings, in the order the schema and the README list them. */
    settings: Settings;
    /** The schema built from `settings` (plus the kind's cross-field rules). */
    schema: z.ZodType;
    /** The pure renderer of its (main) file. */
    render(settings: never): string;
}

function formatValue(v: unknown): string {
    if (typeof v === "string") return `\`${v}\``;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    return `\`${JSON.stringify(v).replace(/,/g, ", ")}\``;
}

/** The default as the README shows it: the schema's default, "none" for an optional setting, "—" for a required one. */
export function defaultText(s: Setting): string {
    if (s.shownDefault !== undefined) return s.shownDefault;
    const d = defOf(s.schema);
    if (d.type === "default") return formatValue(typeof d.defaultValue === "function" ? (d.defaultValue as () => unknown)() : d.defaultValue);
    return d.type === "optional" ? "none" : "—";
}

const cell = (text: string) => text.replace(/\|/g, "\\|");

/** The README's table of `settings` (Markdown), nested settings as `parent.key` rows. */
export function settingsTable(settings: Settings): string {
    const rows: string[] = [];
    const add = (prefix: string, s: Settings) => {
        for (const [key, st] of Object.entries(s)) {
            rows.push(`| \`${prefix}${key}\` | ${cell(defaultText(st))} | ${cell(st.allowed)} | ${cell(st.reason)} |`);
            if (st.nested) add(`${prefix}${key}.`, st.nested);
        }
    };
    add("", settings);
    return ["| field | default | allowed | why |", "|---|---|---|---|", ...rows].join("\n");
}

/** What a host kind needs to know about the host beyond its own settings. */
export interface HostFacts {
    /** The login user (whose new login the limits check reads). */
    user: string;
    /** Whether a Redis password is given (`redis.auth.passwordSecret`): the apply then reads it from stdin. */
    redisPassword?: boolean;
}

/** One file a host kind writes: where, what, and the host-side hooks (see FileSpec). */
export interface KindFile {
    /** The resource name's suffix (`<component>-<suffix>-apply`): never changed, state refers to it. */
    suffix: string;
    path: string;
    mode: string;
    /** The rendered content. */
    content: string;
    /** Variables for the hooks. */
    vars?: Record<string, string | number>;
    hooks: FileHooks;
    /** Replace by deleting the old file's command first (see ManagedFileArgs). */
    deleteBeforeReplace?: boolean;
    /** Apply only after the file before it in the list (e.g. a timer after its service). */
    afterPrevious?: boolean;
}

/** A kind whose files live on a host: its description and the files it writes for given settings. */
export interface HostKindDescription<S> extends KindDescription {
    render(settings: S): string;
    /** The host-side hooks of its (main) file: validate, activate, verify (the read-back). */
    hooks(...args: never[]): FileHooks;
    /** Every file the kind writes for `settings`, in order. Pure. */
    files(settings: S, host: HostFacts): KindFile[];
}
