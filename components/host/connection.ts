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

/** The @pulumi/command connection block. Fails fast on an unreachable host instead of retrying for minutes. */
export function commandConnection(c: HostConnection): command.types.input.remote.ConnectionArgs {
    return {
        host: c.host,
        port: c.port,
        user: c.user,
        privateKey: pulumi.secret(c.privateKey),
        hostKey: c.hostKey,
        dialErrorLimit: 3,
        perDialTimeout: 10,
    };
}

/**
 * Wrap a script so that it runs as root. The login shell expands $SSH_CONNECTION and the login name
 * *before* sudo (sudo resets the environment) and passes them as arguments ($1, $2): the lockout
 * guard needs them to open a fresh login to the same address.
 *
 * With a sudo password, sudo reads it from the first line of stdin (-S) and the script gets the rest.
 */
export function asRoot(c: Pick<HostConnection, "sudo" | "sudoPassword">, script: string): string {
    const args = `conntune "$SSH_CONNECTION" "$(id -un)" @CT_RESOURCE_ID@`;
    const body = packScript(script);
    if (!c.sudo) return `bash -c ${body} ${args}`;
    const sudo = c.sudoPassword === undefined ? "sudo -n" : "sudo -S -p ''";
    return `${sudo} bash -c ${body} ${args}`;
}

/**
 * The script as one shell word that the login shell unpacks: gzip + base64. The command text is
 * stored in the stack state twice per command (inputs and outputs) and the file backend rewrites the
 * whole state at every step of an update, so its size is paid hundreds of times: packed, a 10 kB
 * script is about 4 kB. It is conntune's own code (settings show in the file diff on stdin). If the
 * host cannot unpack it (no base64 or gzip), the command fails saying so: never an empty script.
 */
export function packScript(script: string): string {
    // Fixed header (no mtime), so the same script always packs to the same text: no spurious diffs.
    const packed = gzipSync(Buffer.from(script, "utf8"), { level: 9 }).toString("base64");
    return `"$(echo ${packed} | base64 -d | gzip -dc || echo 'echo "conntune: cannot unpack the command: base64 and gzip are needed on the host" >&2; exit 127')"`;
}

/** stdin for a command run through `asRoot`: the sudo password line first when there is one. */
export function rootStdin(c: Pick<HostConnection, "sudoPassword">, content: pulumi.Input<string>): pulumi.Output<string> {
    if (c.sudoPassword === undefined) return pulumi.output(content);
    return pulumi.secret(pulumi.all([c.sudoPassword, content]).apply(([pw, body]) => `${pw}\n${body}`));
}
