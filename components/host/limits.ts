/**
 * FileDescriptorLimits: nofile limits in /etc/security/limits.d/ (applied by pam_limits at each new
 * login) and systemd's DefaultLimitNOFILE in a system.conf.d drop-in (daemon-reexec), then verified
 * the way seed 000 says: a fresh login's `ulimit -Sn` / `ulimit -Hn` (the limits file's verify step:
 * a login that does not get them puts the previous file back).
 */
import * as pulumi from "@pulumi/pulumi";
import { LimitsSettings } from "../config";
import { HostConnection } from "./connection";
import { limitsHooks, pamProfileHooks, systemdDefaultHooks } from "./hooks";
import { ManagedFile } from "./managedFile";
import { PAM_PROFILE, renderLimits, renderPamProfile, renderSystemdDefaultLimit, systemdDefaultLimit } from "./render";

export interface FileDescriptorLimitsArgs {
    /** How to reach the host. */
    connection: HostConnection;
    /** Validated limits (components/config.ts `limitsSchema`). */
    settings: LimitsSettings;
}

/** Whether pam_limits gives `user` the entries for `domains` ('*' never matches root). */
export function loginCovered(user: string, domains: string[]): boolean {
    return user === "root" ? domains.includes("root") : domains.includes("*") || domains.includes(user);
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
            {
                connection: args.connection,
                content: limitsContent,
                deleteBeforeReplace: true,
                spec: {
                    path: limitsPath,
                    mode: "0644",
                    vars: { CT_WANT_SOFT: l.soft, CT_WANT_HARD: l.hard, CT_LOGIN_COVERED: loginCovered(args.connection.user, l.domains) ? "yes" : "no" },
                    hooks: limitsHooks(),
                },
            },
            { parent: this },
        );
        let systemdValues: pulumi.Output<Record<string, string>> = pulumi.output<Record<string, string>>({});
        if (l.systemdDefault !== null) {
            const p = `/etc/systemd/system.conf.d/${l.systemdFileName}`;
            const content = renderSystemdDefaultLimit(l);
            const want = systemdDefaultLimit(l);
            this.files[p] = content;
            const sd = new ManagedFile(
                `${name}-systemd-default`,
                {
                    connection: args.connection,
                        content,
                    deleteBeforeReplace: true,
                    spec: { path: p, mode: "0644", vars: { CT_WANT_SOFT: want.soft, CT_WANT_HARD: want.hard }, hooks: systemdDefaultHooks() },
                },
                { parent: this },
            );
            systemdValues = sd.values;
        }
        let pamValues: pulumi.Output<Record<string, string>> = pulumi.output<Record<string, string>>({});
        if (l.pam === "enable") {
            // pam_limits in every PAM session (seed 004), through Debian's pam-auth-update.
            const p = `/usr/share/pam-configs/${PAM_PROFILE}`;
            const content = renderPamProfile();
            this.files[p] = content;
            const pam = new ManagedFile(
                `${name}-pam-profile`,
                { connection: args.connection, content, spec: { path: p, mode: "0644", vars: { CT_PAM_PROFILE: PAM_PROFILE }, hooks: pamProfileHooks() } },
                { parent: this },
            );
            pamValues = pam.values;
        }
        this.effective = pulumi
            .all([limitsFile.values, systemdValues, pamValues])
            .apply(([lv, sv, pv]) => {
                const { changed: _a, file: _f, ...limits } = lv;
                const { changed: _b, ...sd } = sv;
                const { changed: _c, ...pam } = pv;
                return { ...limits, ...sd, ...pam };
            });
        this.registerOutputs({ effective: this.effective });
    }
}
