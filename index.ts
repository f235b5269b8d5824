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

const hosts = Object.fromEntries(
    config.hosts.map((h) => [h.name, new TunedHost(h.name, { config: h, connection: connections[h.name] }).outputs]),
);

/** Per host: effective sshd / sysctl / limits / override values read back from the host, and the managed files. */
export const effective = hosts;
