/**
 * FileDescriptorLimits: nofile limits in /etc/security/limits.d/ (applied by pam_limits at each new
 * login) and systemd's DefaultLimitNOFILE in a system.conf.d drop-in (daemon-reexec), then verified
 * the way seed 000 says: a fresh login's `ulimit -Sn` / `ulimit -Hn`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { createHash } from "node:crypto";
import { LimitsSettings } from "../config";
import { asRoot, commandConnection, HostConnection, rootStdin } from "./connection";
import { limitsHooks, LOGIN_PROBE, systemdDefaultHooks } from "./hooks";
import { ManagedFile } from "./managedFile";
import { compact, parseValues } from "./managedFileScript";
import { renderLimits, renderSystemdDefaultLimit } from "./render";
import { shq } from "./shell";

export interface FileDescriptorLimitsArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Repair tokens by path (see ManagedFile). */
    repair?: Record<string, string>;
    /** Validated limits (components/config.ts `limitsSchema`). */
    settings: LimitsSettings;
}

/** Whether pam_limits gives `user` the entries for `domains` ('*' never matches root). */
export function loginCovered(user: string, domains: string[]): boolean {
    return user === "root" ? domains.includes("root") : domains.includes("*") || domains.includes(user);
}

/**
 * The fresh-login check, run as root: a brand-new SSH login as the login user (LOGIN_PROBE, from the
 * host itself) prints its limits; fails when a covered user does not get the wanted ones.
 */
export function loginCheckScript(user: string, l: LimitsSettings): string {
    const covered = loginCovered(user, l.domains);
    return [
        "set -uo pipefail",
        'CT_SSH_CONNECTION="${1:-}"; CT_LOGIN_USER="${2:-root}"',
        LOGIN_PROBE,
        `out=$(ct_fresh_login 'echo "ct:login_user=$(id -un)"; echo "ct:login_soft=$(ulimit -Sn)"; echo "ct:login_hard=$(ulimit -Hn)"' 2>&1) || { echo "the fresh-login check: $out" >&2; exit 1; }`,
        'printf "%s\\n" "$out"',
        `s=$(sed -n 's/^ct:login_soft=//p' <<<"$out"); h=$(sed -n 's/^ct:login_hard=//p' <<<"$out")`,
        covered
            ? `[ "$s" = ${shq(l.soft)} ] && [ "$h" = ${shq(l.hard)} ] || { echo "a fresh login gets nofile $s/$h, wanted ${l.soft}/${l.hard} (pam_limits missing, or a hard limit above what the machine allows)" >&2; exit 1; }`
            : `echo "ct-warn:the login user is not among the limit domains: its limits are shown, not checked"`,
    ].join("\n");
}

export class FileDescriptorLimits extends pulumi.ComponentResource {
    /** What a fresh login gets, pam_limits status, and systemd's default for services. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly files: Record<string, string>;

    constructor(name: string, args: FileDescriptorLimitsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("conntune:host:FileDescriptorLimits", name, {}, opts);
        const l = args.settings;
        const limitsPath = `/etc/security/limits.d/${l.fileName}`;
        const limitsContent = renderLimits(l);
        this.files = { [limitsPath]: limitsContent };
        const limitsFile = new ManagedFile(
            `${name}-limits`,
            { connection: args.connection, repair: args.repair, content: limitsContent, spec: { path: limitsPath, mode: "0644", hooks: limitsHooks() } },
            { parent: this },
        );
        let systemdValues: pulumi.Output<Record<string, string>> = pulumi.output<Record<string, string>>({});
        if (l.systemdDefault !== null) {
            const p = `/etc/systemd/system.conf.d/${l.systemdFileName}`;
            const content = renderSystemdDefaultLimit(l);
            this.files[p] = content;
            const sd = new ManagedFile(
                `${name}-systemd-default`,
                {
                    connection: args.connection,
                    repair: args.repair,
                    content,
                    spec: { path: p, mode: "0644", vars: { CT_WANT_SOFT: l.soft, CT_WANT_HARD: l.hard }, hooks: systemdDefaultHooks() },
                },
                { parent: this },
            );
            systemdValues = sd.values;
        }
        // A brand-new SSH login (made from the host, after the file is in place) shows what pam_limits gives.
        const login = new command.remote.Command(
            `${name}-fresh-login`,
            {
                connection: commandConnection(args.connection),
                create: asRoot(args.connection, compact(loginCheckScript(args.connection.user, l))),
                stdin: args.connection.sudoPassword === undefined ? undefined : rootStdin(args.connection, ""),
                triggers: [createHash("sha256").update(limitsContent).digest("hex")],
                logging: "stderr",
            },
            { parent: this, dependsOn: [limitsFile.command] },
        );
        this.effective = pulumi
            .all([limitsFile.values, systemdValues, login.stdout])
            .apply(([lv, sv, out]) => {
                const { changed: _a, file: _f, ...limits } = lv;
                const { changed: _b, ...sd } = sv;
                return { ...limits, ...sd, ...parseValues(out) };
            });
        this.registerOutputs({ effective: this.effective });
    }
}
