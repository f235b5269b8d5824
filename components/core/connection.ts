/**
 * How conntune reaches a host: SSH with a pinned host key, as root or as a user with sudo.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import { gzipSync } from "node:zlib";

export interface HostConnection {
    /** Address or DNS name of the host. */
    host: string;
    /** SSH port. */
    port: number;
    /** Login user. */
    user: string;
    /** The host's public key ("ssh-ed25519 AAAA…"): a different key is never accepted. */
    hostKey: string;
    /** OpenSSH private key for the login (a Pulumi secret). */
    privateKey: pulumi.Input<string>;
    /** Run the remote work through sudo (needed unless user is root). */
    sudo: boolean;
    /** Password for sudo, if the user's sudo asks for one (a Pulumi secret). */
    sudoPassword?: pulumi.Input<string>;
}

/**
 * The private key as a secret, one Output per connection (every file of a host shares it): each
 * Output costs the SDK a score of promises, paid per file of every host in a big fleet.
 */
const secretKeys = new WeakMap<HostConnection, pulumi.Output<string>>();

/** The @pulumi/command connection block. Fails fast on an unreachable host instead of retrying for minutes. */
export function commandConnection(c: HostConnection): command.types.input.remote.ConnectionArgs {
    let privateKey = secretKeys.get(c);
    if (privateKey === undefined) secretKeys.set(c, (privateKey = pulumi.secret(c.privateKey)));
    return {
        host: c.host,
        port: c.port,
        user: c.user,
        privateKey,
        hostKey: c.hostKey,
        dialErrorLimit: 3,
        perDialTimeout: 10,
    };
}

/**
 * The first line of a command that reads a secret from line 1 of stdin. By this convention conntune's
 * provider (tools/command-provider) knows the value: it redacts it from stdout, stderr and error text
 * before they reach the CLI or the state.
 */
export const SECRET_LINE_READ = "IFS= read -r ct_secret";

/** Shown when sudo still asks for a password after `sudo -S -v` was given one. */
export const SUDO_STILL_ASKS =
    "conntune: sudo still asks for a password after it was given connection.sudoPasswordSecret: the password is wrong, or sudo keeps no credentials between commands (timestamp_timeout=0 in sudoers): fix the password, allow timestamp_timeout above 0 for this user, or give it a NOPASSWD rule";

/**
 * Wrap a script so that it runs as root. The login shell expands $SSH_CONNECTION and the login name
 * *before* sudo (sudo resets the environment) and passes them as arguments ($1, $2): the lockout
 * guard needs them to open a fresh login to the same address. $3 and $4 are placeholders that
 * conntune's provider fills in: the resource's ID and the operation (see managedFileScript.ts).
 *
 * With a sudo password, stdin's first line is the password (see rootStdin). The login shell reads
 * exactly that line (`read` takes one byte at a time from a pipe), hands it only to `sudo -S -v`
 * (printf is a builtin: the password is in no process's argv or environment), and the script then
 * runs under `sudo -n` with the rest of stdin. Whether or not sudo asked, the password can never
 * become file content; a sudo that still needs one fails with SUDO_STILL_ASKS.
 */
export function asRoot(c: Pick<HostConnection, "sudo" | "sudoPassword">, script: string, scriptSecretLines = 0): string {
    const command = rootCommand(c, script);
    if (scriptSecretLines <= 0) return command;
    // The script itself reads secret lines from stdin too (e.g. the Redis password): declared to the
    // provider, which redacts every one of them, as it does the sudo password line.
    const total = scriptSecretLines + (c.sudo && c.sudoPassword !== undefined ? 1 : 0);
    if (total > 9) throw new Error("asRoot: at most 9 secret lines on stdin");
    return `${SECRET_LINES_DECL}${total}; ${command}`;
}

/** After @CT_OP@ in every command: the script knows the delete operation (DELETE_OP_ARG in tools/command-provider/read.go). */
export const DELETE_OP_ARG = "ct-ops-with-delete";

/** `: ct-secret-lines=N;` at the start of a command: the first N lines of its stdin are secrets (see tools/command-provider). */
export const SECRET_LINES_DECL = ": ct-secret-lines=";

function rootCommand(c: Pick<HostConnection, "sudo" | "sudoPassword">, script: string): string {
    // $5 (ignored by the script) tells conntune's provider that this script has the delete operation:
    // a script from before it would treat an unknown operation as apply (tools/command-provider, run).
    const args = `conntune "$SSH_CONNECTION" "$(id -un)" @CT_RESOURCE_ID@ @CT_OP@ ${DELETE_OP_ARG}`;
    const body = packScript(script);
    if (!c.sudo) return `bash -c ${body} ${args}`;
    if (c.sudoPassword === undefined) return `sudo -n bash -c ${body} ${args}`;
    // Every sudo run must be a child of the login shell: without a terminal sudo keys its cached
    // credentials to the parent process. So none runs in a subshell, and the last one is not the
    // last command (bash would exec it in place of the shell: its parent would be sshd).
    const validate = `${SECRET_LINE_READ}; printf '%s\\n' "$ct_secret" | sudo -S -p '' -v 2>/dev/null; ct_secret=; sudo -n true 2>/dev/null || { echo ${shWord(SUDO_STILL_ASKS)} >&2; exit 1; }`;
    return `${validate}; sudo -n bash -c ${body} ${args}; exit $?`;
}

/** A fixed text as one single-quoted shell word (the text has no single quote). */
function shWord(text: string): string {
    if (text.includes("'")) throw new Error("shWord: text with a single quote");
    return `'${text}'`;
}

/**
 * Packed scripts by their text: every host of a fleet runs the same few scripts (one per kind of
 * file and operation), so each is compressed once per program, not once per host.
 */
const packedScripts = new Map<string, string>();

/**
 * The script as one shell word that the login shell unpacks: gzip + base64. The command text is
 * stored in the stack state twice per command (inputs and outputs) and the file backend rewrites the
 * whole state at every step of an update, so its size is paid hundreds of times: packed, a 10 kB
 * script is about 4 kB. It is conntune's own code (settings show in the file diff on stdin). If the
 * host cannot unpack it (no base64 or gzip), the command fails saying so: never an empty script.
 */
export function packScript(script: string): string {
    let packed = packedScripts.get(script);
    if (packed === undefined) {
        // Fixed header (no mtime), so the same script always packs to the same text: no spurious diffs.
        packed = gzipSync(Buffer.from(script, "utf8"), { level: 9 }).toString("base64");
        packedScripts.set(script, packed);
    }
    return `"$(echo ${packed} | base64 -d | gzip -dc || echo 'echo "conntune: cannot unpack the command: base64 and gzip are needed on the host" >&2; exit 127')"`;
}

/**
 * stdin for a command run through `asRoot`: the sudo password line first when sudo runs with one
 * (asRoot reads exactly that line). Without sudo nothing reads a password line, so none is sent.
 */
export function rootStdin(c: Pick<HostConnection, "sudo" | "sudoPassword">, content: pulumi.Input<string>): pulumi.Input<string> {
    if (!c.sudo || c.sudoPassword === undefined) return content;
    return pulumi.secret(pulumi.all([c.sudoPassword, content]).apply(([pw, body]) => `${passwordLine(pw)}\n${body}`));
}

/** The sudo password as the single line asRoot reads; a line break would split it (and leak its tail). */
export function passwordLine(pw: string): string {
    if (/[\r\n]/.test(pw)) throw new Error("conntune: the sudo password (connection.sudoPasswordSecret) must be one line: it contains a line break");
    return pw;
}
