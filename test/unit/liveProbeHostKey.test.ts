import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { hostKeyAlgorithms, runProbe } from "../../scripts/liveProbe";

// ssh2 (node-ssh's client) ships no types: the few parts of its server used here.
type Ev = { on: (event: string, fn: (...args: any[]) => void) => Ev };
type Ssh2 = {
    Server: new (cfg: { hostKeys: string[] }, onClient: (c: Ev) => void) => { listen: (port: number, host: string, cb: () => void) => void; address: () => unknown; close: () => void };
    utils: { generateKeyPairSync: (type: string, opts?: { bits: number }) => { private: string; public: string } };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Server, utils } = require("ssh2") as Ssh2;

/** `TYPE BASE64` of a generated key pair's public key. */
const line = (k: { public: string }) => k.public.trim().split(/\s+/).slice(0, 2).join(" ");

// A host with two host keys (as Debian's sshd has: RSA, ECDSA, Ed25519), the stack pinning one that
// is not the client's first choice: the probe must ask for the pinned key's type, as the provider does.
describe("the live probe's login asks the host for the pinned key's type", () => {
    const ed = utils.generateKeyPairSync("ed25519");
    const ecdsa = utils.generateKeyPairSync("ecdsa", { bits: 256 });
    const client = utils.generateKeyPairSync("ed25519");
    let server: InstanceType<Ssh2["Server"]>;
    let port = 0;
    beforeAll(async () => {
        server = new Server({ hostKeys: [ed.private, ecdsa.private] }, (c) => {
            c.on("authentication", (ctx: { accept: () => void }) => ctx.accept());
            c.on("ready", () => c.on("session", (accept: () => Ev) => accept().on("exec", (acc: () => { write: (s: string) => void; exit: (code: number) => void; end: () => void }) => {
                const ch = acc();
                ch.write("probed\n");
                ch.exit(0);
                ch.end();
            })));
            c.on("error", () => undefined);
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        port = (server.address() as AddressInfo).port;
    });
    afterAll(() => server?.close());

    it.each([["ecdsa", () => line(ecdsa)], ["ed25519", () => line(ed)]])("a pinned %s key is the one checked, and accepted", async (_t, pinned) => {
        const out = await runProbe("a", { host: "127.0.0.1", port, user: "root", hostKey: pinned(), privateKey: client.private, sudo: false }, "echo probed", "", 10_000);
        expect(out.trim()).toBe("probed");
    });

    it("any other key is still refused", async () => {
        const other = line(utils.generateKeyPairSync("ed25519"));
        await expect(runProbe("a", { host: "127.0.0.1", port, user: "root", hostKey: other, privateKey: client.private, sudo: false }, "echo probed", "", 10_000)).rejects.toThrow(/is not hosts\[i\]\.connection\.hostKey/);
    });

    it("names the algorithms of each key type (an RSA key signs with SHA-2 first)", () => {
        expect(hostKeyAlgorithms("ssh-rsa AAAA")).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
        expect(hostKeyAlgorithms("ssh-ed25519 AAAA")).toEqual(["ssh-ed25519"]);
        expect(hostKeyAlgorithms("ecdsa-sha2-nistp256 AAAA")).toEqual(["ecdsa-sha2-nistp256"]);
    });
});
