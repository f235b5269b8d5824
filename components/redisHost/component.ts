/**
 * RedisServerConfig (seed 002): the whole redis.conf of a Redis on a Linux host, through the shared
 * managed-file mechanism. Validated by starting the host's own redis-server with the candidate as the
 * service's user (redis), on no TCP port (a Unix socket in a private temp dir), persistence off;
 * applied with CONFIG SET where Redis allows it and a restart only for the directives it refuses at
 * runtime (the output says which); verified with CONFIG GET. Destroy restores the original file and
 * restarts the service.
 *
 * What it writes: redisHostKind (kind.ts).
 *
 * Authentication: the host's own auth lines (requirepass, user, aclfile, masterauth, masteruser,
 * rename-command) are carried over host-side into every new file, below KEPT_MARK: they never pass
 * through conntune, its state or its diff, and a rewrite can never drop them. To log in, redis-cli
 * gets the password (`redis.auth.passwordSecret`) in its environment (REDISCLI_AUTH), never in argv;
 * it reaches the host as the first line of stdin, read before the file content.
 */
import * as pulumi from "@pulumi/pulumi";
import { Applied, applied, HostKindArgs, inComponent, manageFiles, Placement, withoutChanged } from "../core/kindFile";
import { redisHostKind } from "./kind";
import { HostRedisSettings } from "./schema";

export interface RedisServerConfigArgs extends HostKindArgs<HostRedisSettings> {
    /** The Redis password (`settings.auth.passwordSecret`), a secret: given to redis-cli in its environment only. */
    password?: pulumi.Input<string>;
}

/**
 * stdin of the apply: the password line first (read by the script before the content, so it can
 * never become file content), all of it secret.
 */
export function stdinWithSecret(password: pulumi.Input<string>, content: string, field: string): pulumi.Output<string> {
    return pulumi.secret(
        pulumi.output(password).apply((pw) => {
            if (/[\r\n\0]/.test(pw) || pw === "") throw new Error(`${field}: the Redis password must be one non-empty line`);
            return `${pw}\n${content}`;
        }),
    );
}

/** redis.conf's command for one host, placed `at` (in a RedisServerConfig, or directly in a TunedHost). */
export function redisServerConfig(name: string, args: RedisServerConfigArgs, at: Placement): Applied {
    const auth = args.settings.auth;
    const password = auth ? args.password : undefined;
    const files = redisHostKind.files(args.settings, { user: args.connection.user, redisPassword: password !== undefined });
    const [file] = manageFiles(at, name, args, files, (f) => (auth && password !== undefined ? stdinWithSecret(password, f.content, `conntune:${auth.passwordSecret}`) : f.content));
    return applied(files, [file], withoutChanged(file));
}

export class RedisServerConfig extends pulumi.ComponentResource {
    /** CONFIG GET values of every directive, and which were applied live or needed a restart. */
    public readonly effective: pulumi.Output<Record<string, string>>;
    public readonly path: string;
    public readonly content: string;

    constructor(name: string, args: RedisServerConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        super(redisHostKind.token, name, {}, opts);
        const a = redisServerConfig(name, args, inComponent(this));
        [[this.path, this.content]] = Object.entries(a.files);
        this.effective = a.effective;
        this.registerOutputs({ effective: this.effective, path: this.path });
    }
}
