/**
 * setMocks wiring: the components create the right remote commands with the right inputs (in
 * addition to the e2e tests, which apply them for real).
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { hostSchema } from "../../components/config";
import { claimPath } from "../../components/core/managedFile";

interface Created {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}
const created: Created[] = [];

beforeAll(() => {
    pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                created.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs, stdout: "ct:changed=yes" } };
            },
            call: () => ({}),
        },
        "conntune",
        "unit",
        false,
    );
});

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4";

async function build(hostRaw: unknown, sudoPassword?: string): Promise<Created[]> {
    created.length = 0;
    const { TunedHost } = await import("../../components/tunedHost");
    const config = hostSchema.parse(hostRaw);
    const t = new TunedHost(config.name, {
        config,
        connection: {
            host: config.connection.host, port: config.connection.port, user: config.connection.user, hostKey: config.connection.hostKey,
            privateKey: pulumi.secret("PRIVATE-KEY-MATERIAL"), sudo: config.connection.user !== "root",
            sudoPassword: sudoPassword === undefined ? undefined : pulumi.secret(sudoPassword),
        },
    });
    await new Promise<void>((r) => t.outputs.apply(() => r()));
    return [...created];
}

const commands = (c: Created[]) => c.filter((r) => r.type === "command:remote:Command");

/** Mock inputs keep secrets wrapped in Pulumi's secret signature: look through it. */
function reveal(v: unknown): unknown {
    if (v && typeof v === "object" && (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") {
        return reveal((v as Record<string, unknown>).value);
    }
    return v;
}
const isSecret = (v: unknown) => !!v && typeof v === "object" && (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270";

describe("TunedHost wiring", () => {
    it("creates one remote command per managed file (the fresh-login check is the limits file's verify step)", async () => {
        const c = await build({ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY }, systemdOverrides: [{ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 65536 } } }] });
        expect(commands(c).map((r) => r.name).sort()).toEqual([
            "web1-limits-limits-apply", "web1-limits-systemd-default-apply",
            "web1-llm-gateway.service-50-conntune.conf-dropin-apply", "web1-sshd-dropin-apply", "web1-sysctl-file-apply",
        ]);
        // No wrapper resource per file or per kind: each one costs a registration and rewrites of the
        // whole state per update. The host's commands sit directly under it.
        expect(c.map((r) => r.type)).toEqual(["conntune:host:TunedHost", ...commands(c).map(() => "command:remote:Command")]);
        expect(c).toHaveLength(6);
    });

    it("manages the pam-auth-update profile only with limits.pam: enable", async () => {
        const c = await build({ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY }, limits: { pam: "enable" } });
        const pam = commands(c).find((r) => r.name === "web1-limits-pam-profile-apply")!;
        expect(pam.inputs.stdin).toContain("\trequired\tpam_limits.so\n");
        expect(commands(await build({ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY } })).map((r) => r.name)).not.toContain("web1-limits-pam-profile-apply");
    });

    it("sends the rendered file on stdin, pins the host key and keeps the key out of commands", async () => {
        const c = await build({ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY } });
        const sshd = commands(c).find((r) => r.name === "web1-sshd-dropin-apply")!;
        expect(sshd.inputs.stdin).toContain("ClientAliveInterval 300\n");
        expect(String(sshd.inputs.create)).not.toContain("ClientAliveInterval 300");
        const conn = reveal(sshd.inputs.connection) as Record<string, unknown>;
        expect(isSecret(sshd.inputs.connection) || isSecret(conn.privateKey)).toBe(true);
        expect(conn.hostKey).toBe(KEY);
        expect(conn.host).toBe("10.0.0.5");
        for (const r of commands(c)) {
            expect(JSON.stringify([r.inputs.create, r.inputs.update, r.inputs.delete])).not.toContain("PRIVATE-KEY-MATERIAL");
        }
        expect(String(sshd.inputs.create).startsWith("bash -c ")).toBe(true);
    });

    it("runs through sudo for a non-root user, with the password only on stdin", async () => {
        const c = await build({ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY, user: "tuner", sudoPasswordSecret: "pw" } }, "s3cret-pw");
        const sysctl = commands(c).find((r) => r.name === "web1-sysctl-file-apply")!;
        expect(String(sysctl.inputs.create).startsWith("IFS= read -r ct_secret; printf '%s\\n' \"$ct_secret\" | sudo -S -p '' -v")).toBe(true);
        expect(String(sysctl.inputs.create)).toContain("; sudo -n bash -c ");
        expect(String(sysctl.inputs.create)).not.toContain("s3cret-pw");
        expect(isSecret(sysctl.inputs.stdin)).toBe(true);
        expect(String(reveal(sysctl.inputs.stdin)).startsWith("s3cret-pw\n")).toBe(true);
    });

    it("makes each file's path its command's trigger: a new path replaces the command (the old file's original comes back)", async () => {
        const c = await build({ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY }, sshd: { fileName: "10-x.conf" } });
        const sshd = commands(c).find((r) => r.name === "web1-sshd-dropin-apply")!;
        expect(sshd.inputs.triggers).toEqual(["/etc/ssh/sshd_config.d/10-x.conf"]);
    });

    it("leaves out disabled components", async () => {
        const c = await build({ name: "web1", connection: { host: "10.0.0.5", hostKey: KEY }, sysctl: { enabled: false }, limits: { enabled: false } });
        expect(commands(c).map((r) => r.name)).toEqual(["web1-sshd-dropin-apply"]);
    });
});

describe("one claim per file and host", () => {
    it("refuses a second resource claiming a path on the same address and port, naming both", () => {
        claimPath({ host: "claims.example", port: 22 }, "/etc/x.conf", "web1-a");
        claimPath({ host: "claims.example", port: 22 }, "/etc/x.conf", "web1-a");
        claimPath({ host: "claims.example", port: 2222 }, "/etc/x.conf", "web1-b");
        expect(() => claimPath({ host: "CLAIMS.example", port: 22 }, "/etc/x.conf", "web1-b")).toThrow(
            "/etc/x.conf on CLAIMS.example port 22 is claimed by both web1-a and web1-b: one file has one owner",
        );
    });

    it("counts a name with a final dot as the same machine", () => {
        claimPath({ host: "dot.example", port: 22 }, "/etc/y.conf", "web2-a");
        expect(() => claimPath({ host: "dot.example.", port: 22 }, "/etc/y.conf", "web2-b")).toThrow("is claimed by both web2-a and web2-b");
    });
});
