/**
 * Shared schema pieces that know no kind: names that become paths, unit names or shell arguments,
 * and the connection to a host. Pure zod.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { setting, shape } from "./kind";

/** A file name inside a drop-in directory: no '/', no '..', no whitespace or shell characters. */
export const confFileName = z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,100}\.conf$/, "must be a plain file name ending in .conf (letters, digits, _ . @ -; no '/', '..' or spaces)");

const dnsHostName = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** An IP address, or a DNS name whose last label is not all digits (so 10.0.0.300 is a typo, not a name). */
export const hostAddress = z
    .string()
    .refine((v) => isIP(v) !== 0 || (dnsHostName.test(v) && !/(^|\.)\d+$/.test(v)), "must be an IP address or DNS name");

export const userName = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name (lowercase letters, digits, _ -; at most 32)");

export const hostKey = z
    .string({ error: (i) => (i.input === undefined ? "required: pin the host's key, e.g. `ssh-keyscan -t ed25519 HOST | cut -d' ' -f2-`" : "must be a string 'TYPE BASE64'") })
    .regex(
        /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/,
        "must be a public host key line 'TYPE BASE64', TYPE one of ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (e.g. from `ssh-keyscan -t ed25519 HOST | cut -d' ' -f2-`)",
    );

export const configKeyName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, "must be a config key name (letters, digits, _ -)");

/** An integer in a range; every message names the range. */
export const int = (min: number, max: number) =>
    z.number({ error: `must be an integer from ${min} to ${max}` }).int(`must be an integer from ${min} to ${max}`).min(min, `must be from ${min} to ${max}`).max(max, `must be from ${min} to ${max}`);

/** A systemd unit name (overrides, the monitor's services and its critical action). */
export const unitName = z
    .string()
    .regex(
        /^[A-Za-z0-9:_][A-Za-z0-9:_.-]*(@[A-Za-z0-9:_.-]*)?\.(service|socket|timer|mount|path|slice|target)$/,
        "must be a systemd unit name like llm-gateway.service (letters, digits, : _ . - @; not starting with '-' or '.', no '\\')",
    );

/** How conntune reaches a host (`hosts[i].connection`). */
export const connectionSettings = {
    host: setting(hostAddress, { allowed: "IP address or DNS name", reason: "where the host is" }),
    port: setting(int(1, 65535).default(22), { allowed: "1–65535", reason: "its SSH port" }),
    user: setting(userName.default("root"), { allowed: "Unix user name; a non-root user uses sudo", reason: "the login user: root, or a user with sudo" }),
    hostKey: setting(hostKey, { allowed: "`TYPE BASE64` public host key; any other key is refused", shownDefault: "— (required)", reason: "pinned: a different key is never accepted" }),
    sudo: setting(z.boolean().optional(), { allowed: "boolean", shownDefault: "`user != root`", reason: "run the remote work through sudo" }),
    privateKeySecret: setting(configKeyName.default("sshPrivateKey"), { allowed: "name of the secret config key with the private key", reason: "the login's key stays a Pulumi secret" }),
    sudoPasswordSecret: setting(configKeyName.optional(), {
        allowed: "name of the secret config key with the sudo password; only where sudo runs (refused for `user: root` and `sudo: false`)",
        reason: "for a sudo that asks for a password",
    }),
};

export const connectionSchema = z
    .object(shape(connectionSettings))
    .strict()
    .superRefine((c, ctx) => {
        // A password nothing asks for would only be one more copy of a secret on the way to the host.
        const noSudo = c.sudo === false ? "sudo is false" : c.user === "root" ? "the user is root" : undefined;
        if (c.sudoPasswordSecret !== undefined && noSudo) {
            ctx.addIssue({ code: "custom", path: ["sudoPasswordSecret"], message: `must not be set: no sudo runs (${noSudo}), so no password is asked for; remove sudoPasswordSecret` });
        }
    });
