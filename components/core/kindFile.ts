/**
 * A component's files from its kind's description: one managed file per KindFile, under the
 * component, named `<component name>-<suffix>` (the names existing stacks hold).
 */
import * as pulumi from "@pulumi/pulumi";
import { HostConnection } from "./connection";
import type { KindFile } from "./kind";
import { ManagedFile } from "./managedFile";

/** The arguments of a host kind's component. */
export interface HostKindArgs<S> {
    /** How to reach the host. */
    connection: HostConnection;
    /** The kind's validated settings (its schema.ts). */
    settings: S;
}

/**
 * Where a kind's commands go: under `parent`, after `dependsOn`. `formerParent` is the kind's own
 * component that used to sit between them (a TunedHost now holds its kinds' commands directly: a
 * component resource costs the file backend three rewrites of the whole state on a first apply, as
 * many as one and a half commands), so that stacks made before keep their commands (an alias each).
 */
export interface Placement {
    parent: pulumi.Resource;
    dependsOn?: pulumi.Resource[];
    formerParent?: { name: string; token: string };
}

/** A kind's commands in the kind's own component resource (standalone use). */
export const inComponent = (component: pulumi.ComponentResource): Placement => ({ parent: component });

/** The managed files for `files`, in order; `content` replaces a file's stdin where it must carry more (a secret line). */
export function manageFiles(
    at: Placement,
    name: string,
    args: { connection: HostConnection },
    files: KindFile[],
    content: (f: KindFile) => pulumi.Input<string> = (f) => f.content,
): ManagedFile[] {
    const made: ManagedFile[] = [];
    for (const f of files) {
        const previous = made[made.length - 1];
        made.push(
            new ManagedFile(
                `${name}-${f.suffix}`,
                {
                    connection: args.connection,
                    content: content(f),
                    ...(f.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
                    spec: { path: f.path, mode: f.mode, ...(f.vars ? { vars: f.vars } : {}), hooks: f.hooks },
                },
                { ...at, dependsOn: after(at.dependsOn, f.afterPrevious && previous ? [previous.command] : []) },
            ),
        );
    }
    return made;
}

/** `a` then `b`, or undefined when both are empty (a registration without dependencies stays as it was). */
function after(a: pulumi.Resource[] | undefined, b: pulumi.Resource[]): pulumi.Resource[] | undefined {
    const all = [...(a ?? []), ...b];
    return all.length ? all : undefined;
}

/** What a host kind made for one host: its read-back values, its files (path → content) and their commands. */
export interface Applied {
    effective: pulumi.Output<Record<string, string>>;
    files: Record<string, string>;
    /** Each file's command, in order: what a later kind of the same host waits for. */
    commands: pulumi.Resource[];
}

/** `made`'s files and commands, with `effective` read back. */
export function applied(files: KindFile[], made: ManagedFile[], effective: pulumi.Output<Record<string, string>>): Applied {
    return { effective, files: Object.fromEntries(files.map((f) => [f.path, f.content])), commands: made.map((m) => m.command) };
}

/** A file's read-back values without its bookkeeping (`changed`). */
export function withoutChanged(m: ManagedFile): pulumi.Output<Record<string, string>> {
    return m.values.apply(({ changed: _changed, ...rest }) => rest);
}
