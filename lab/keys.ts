/**
 * A throwaway SSH key pair for preview-only tests: conntune's provider parses the pinned host key
 * and the private key at preview, so stand-in strings would be refused. Never used for a login.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** A fresh ed25519 pair: `pub` as "type base64" (a hostKey value), `priv` the private key text. */
export function throwawayKeyPair(): { pub: string; priv: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-keys-"));
    try {
        const made = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path.join(dir, "k")], { encoding: "utf8" });
        if (made.status !== 0) throw new Error(`ssh-keygen failed: ${made.stderr}`);
        return { pub: fs.readFileSync(path.join(dir, "k.pub"), "utf8").trim().split(" ").slice(0, 2).join(" "), priv: fs.readFileSync(path.join(dir, "k"), "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
