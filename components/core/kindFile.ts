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

/** The managed files for `files`, in order; `content` replaces a file's stdin where it must carry more (a secret line). */
export function manageFiles(
    parent: pulumi.Resource,
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
                { parent, ...(f.afterPrevious && previous ? { dependsOn: [previous.command] } : {}) },
            ),
        );
    }
    return made;
}
