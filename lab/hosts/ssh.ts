/**
 * A test's own SSH login to a host (separate from anything Pulumi does), with the host key pinned.
 */
import { NodeSSH } from "node-ssh";
import type { TestHost } from "./harness";

export interface Login {
    /** Run a command; resolves with its exit code and output. */
    run(command: string, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
    close(): void;
}

/** Compare the server's key blob with the pinned "type base64" line. */
export function hostKeyMatches(pinned: string, offered: Buffer): boolean {
    const blob = pinned.trim().split(/\s+/)[1] ?? "";
    return Buffer.from(blob, "base64").equals(offered);
}

/** Open a brand-new SSH login as root (default) or as the sudo user. */
export async function login(h: TestHost, as: "root" | "sudo" = "root"): Promise<Login> {
    const ssh = new NodeSSH();
    await ssh.connect({
        host: h.address,
        port: h.port,
        username: as === "root" ? "root" : h.sudoUser,
        privateKey: h.privateKey,
        readyTimeout: 15_000,
        hostVerifier: (key: Buffer) => hostKeyMatches(h.hostKey, key),
    });
    // A reset that arrives after the command finished (the host powering off while this socket
    // closes) must not become an uncaught exception: the command's own result already came back.
    ssh.connection?.on("error", () => undefined);
    return {
        async run(command, stdin) {
            const r = await ssh.execCommand(command, stdin === undefined ? {} : { stdin });
            return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
        },
        close: () => ssh.dispose(),
    };
}

/** One command over a fresh login; throws on a non-zero exit. Output is trimmed (node-ssh). */
export async function sshRun(h: TestHost, command: string, as: "root" | "sudo" = "root"): Promise<string> {
    const l = await login(h, as);
    try {
        const r = await l.run(command);
        if (r.code !== 0) throw new Error(`ssh ${h.name} '${command}' exited ${r.code}: ${r.stderr}`);
        return r.stdout;
    } finally {
        l.close();
    }
}
