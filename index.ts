/**
 * conntune: load and validate the stack config once, build the components, export what the hosts
 * report back (the effective values) and the files conntune manages.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig, TunedHost } from "./components";

function load() {
    try {
        return loadConfig();
    } catch (e) {
        if (e instanceof ConfigError) {
            // A clean message (no stack trace) naming every bad field; nothing has been created yet.
            throw new pulumi.RunError(e.message);
        }
        throw e;
    }
}

const { config, connections } = load();

const hosts = config.hosts.map((h) => [h.name, new TunedHost(h.name, { config: h, connection: connections[h.name] })] as const);

/** Per host: effective sshd / sysctl / limits / override values read back from the host after the apply. */
export const effective = Object.fromEntries(hosts.map(([name, t]) => [name, t.outputs]));
/** Per host: every file conntune manages, line by line (known at preview: the preview shows the change). */
export const files = Object.fromEntries(hosts.map(([name, t]) => [name, t.files]));
