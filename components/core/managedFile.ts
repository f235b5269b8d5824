/**
 * THE shared mechanism: one file on one host, applied safely over SSH through @pulumi/command.
 * Components say what file, how to validate, activate and verify it (see managedFileScript.ts);
 * this resource does the rest. The rendered content travels on stdin, never inside a command string,
 * so `pulumi preview --diff` shows the file change as text and opens no SSH connection.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { internalTracesOff } from "../sdkBookkeeping";
import { machineKey } from "./machineKey";
import { asRoot, commandConnection, HostConnection, rootStdin } from "./connection";
import { applyScript, DELETE_BY_OPERATION, FileSpec, parseValues, parseWarnings } from "./managedFileScript";

export interface ManagedFileArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Target path, mode, hooks. */
    spec: FileSpec;
    /** The rendered file content. */
    content: pulumi.Input<string>;
    /**
     * Replace this file's command by deleting the old one first. The command is replaced when the
     * path changes (the path is its trigger): set this where the old file left in place while the new
     * one is checked would spoil that check or the result (an earlier sshd drop-in or limits file wins;
     * the old sysctl file's delete puts the runtime values back). Elsewhere create-then-delete is the
     * safe order: the new command takes the file over, the old one's delete leaves it (one owner per file).
     */
    deleteBeforeReplace?: boolean;
}

/**
 * Who claims each file on each host (address and port), for the whole program: two resources that
 * write one file would each restore it on destroy over the other, and which one wins is chance.
 */
const claims = new Map<string, string>();

/** Claim `path` on the host for the resource `name`; the same name may claim again (the engine refuses a duplicate URN). */
export function claimPath(c: Pick<HostConnection, "host" | "port">, path: string, name: string): void {
    const key = `${machineKey(c.host, c.port)} ${path}`;
    const first = claims.get(key);
    if (first !== undefined && first !== name) {
        throw new pulumi.RunError(`${path} on ${c.host} port ${c.port} is claimed by both ${first} and ${name}: one file has one owner (give one of them another path, or set it in one place)`);
    }
    claims.set(key, name);
}

/**
 * The parents this file's command had in stacks made by earlier conntune versions, as URNs: a
 * `conntune:host:ManagedFile` per file (before 2026-11), and the kind's component between the host
 * and its commands (`formerParent`, before 2026-12). Each is an alias: the engine then takes the
 * earlier command over (same file, same host state) instead of creating a new one and deleting the
 * old one, which would put the host's original back in between.
 */
function formerParents(name: string, opts: { parent: pulumi.Resource; formerParent?: { name: string; token: string } }): pulumi.Output<string>[] {
    const kind = opts.formerParent ? pulumi.createUrn(opts.formerParent.name, opts.formerParent.token, opts.parent) : undefined;
    const perFile = pulumi.createUrn(name, "conntune:host:ManagedFile", kind ?? opts.parent);
    return kind ? [kind, perFile] : [perFile];
}

/**
 * Not a component resource of its own: the command is registered directly under the component that
 * owns the file. Every resource costs the engine a registration and the file backend a rewrite of
 * the whole state per step, so a wrapper per file made every update slower for nothing (an alias
 * keeps stacks created with the earlier `conntune:host:ManagedFile` parent).
 */
export class ManagedFile {
    /** Effective values read back from the host after the apply (`ct:key=value` lines of verify). */
    public readonly values: pulumi.Output<Record<string, string>>;
    public readonly path: string;
    /** The remote command that applies (and on destroy restores) the file. */
    public readonly command: command.remote.Command;
    private readonly stdout: pulumi.Output<string>;
    private warningLines?: pulumi.Output<string[]>;

    constructor(name: string, args: ManagedFileArgs, opts: { parent: pulumi.Resource; dependsOn?: pulumi.Resource[]; formerParent?: { name: string; token: string } }) {
        claimPath(args.connection, args.spec.path, name);
        const spec = args.spec;
        // The apply script reads a secret line of its own (CT_STDIN_SECRET, e.g. the Redis password): declared for redaction.
        const secretLines = spec.vars?.CT_STDIN_SECRET === 1 ? 1 : 0;
        const apply = asRoot(args.connection, applyScript(spec), secretLines);
        // The SDK's internal traces cost a tenth of a big preview's CPU and are never shown (sdkBookkeeping.ts).
        const restore = internalTracesOff();
        let cmd: command.remote.Command;
        try {
            cmd = new command.remote.Command(
                `${name}-apply`,
                {
                    connection: commandConnection(args.connection),
                    // No separate `update`: the provider runs `create` for an update too (as upstream
                    // does), and the script is stored once instead of twice in every checkpoint.
                    create: apply,
                    // The delete operation of `create`'s script (stored once): conntune's provider runs it.
                    delete: DELETE_BY_OPERATION,
                    stdin: rootStdin(args.connection, args.content),
                    logging: "stderr",
                    // The scripts never read PULUMI_COMMAND_STDOUT/STDERR: no env requests to the host for them.
                    addPreviousOutputInEnv: false,
                    // A new path is a new file: the old command's delete puts the old file's original back.
                    triggers: [args.spec.path],
                },
                {
                    parent: opts.parent,
                    dependsOn: opts.dependsOn,
                    deleteBeforeReplace: args.deleteBeforeReplace,
                    aliases: formerParents(name, opts).map((parent) => ({ parent })),
                },
            );
        } finally {
            restore();
        }
        this.command = cmd;
        // stdout is secret whenever stdin is, and stdin is secret when it carries the sudo password.
        // The provider redacts that password from stdout (the command reads it by SECRET_LINE_READ),
        // so the derived values may be plain, unless the file content is itself secret: then the
        // content's secrecy passes on to them.
        // Plain text content (the usual case) has no secrecy to pass on. Every Output costs the SDK a
        // score of promises per file of every host, so none is made that changes nothing.
        const content = args.content;
        const stdout =
            typeof content === "string"
                ? pulumi.unsecret(cmd.stdout)
                : pulumi.all([pulumi.unsecret(cmd.stdout), pulumi.output(content).apply(() => "")]).apply(([out]) => out);
        this.stdout = stdout;
        this.values = stdout.apply(parseValues);
        this.path = args.spec.path;
    }

    /** Warnings printed by the hooks (e.g. skipped keys); made on first use (only some kinds have any). */
    get warnings(): pulumi.Output<string[]> {
        return (this.warningLines ??= this.stdout.apply(parseWarnings));
    }
}
