/**
 * A fleet bigger than the machine's real test hosts: several logical hosts on each real host
 * (systemd-nspawn, see harness.ts). A logical host is one sshd port of a real host and its own set of
 * conntune file names, so that conntune (its engine, state, provider and SSH) manages it as a host of
 * its own, with real logins and real files.
 *
 * What a logical host shares with the other logical hosts of its real host: the kernel network
 * namespace (so its net.* sysctls: every logical host writes its own sysctl file with the same
 * values), the one sshd process (each logical host's drop-in sets the same directives; sshd keeps the
 * first value it reads), PID 1 systemd (system.conf.d, daemon-reexec, the unit it overrides), PAM and
 * limits.d (pam_limits reads every file of limits.d), the file system and the journal. What it has of
 * its own: its SSH port (so its own pooled connection in the provider), its file names, and its
 * resources in the stack.
 */
import { StartOptions, startHosts, stopHosts, TestHost } from "./harness";

/** The first port after 22 a real host's second logical host listens on. */
export const FIRST_LOGICAL_PORT = 2201;

/** One logical host: a real host's address with one of its sshd ports. */
export interface LogicalHost extends TestHost {
    /** The real host (its leaderPid, dir etc. are the real host's). */
    real: TestHost;
    /** 0 for the real host's port 22, 1… for the added ports. */
    slot: number;
}

/**
 * Logical host `slot`'s conntune file names: slot 0 keeps the defaults; the others add `-l<slot>`
 * (every kind's file name is a setting: sshd.fileName, sysctl.fileName, limits.fileName,
 * limits.systemdFileName, systemdOverrides[].fileName).
 */
export function slotFileName(defaultName: string, slot: number): string {
    return slot === 0 ? defaultName : defaultName.replace(/\.conf$/, `-l${slot}.conf`);
}

/** How `count` logical hosts spread over at most `maxReal` real hosts: logical hosts per real host. */
export function layout(count: number, maxReal: number): number[] {
    const real = Math.min(count, maxReal);
    return Array.from({ length: real }, (_, i) => Math.floor(count / real) + (i < count % real ? 1 : 0));
}

/** Boot the real hosts for `count` logical hosts (at most `maxReal` real ones) and name the logical hosts. */
export async function startFleet(count: number, maxReal: number, opts: StartOptions = {}): Promise<{ real: TestHost[]; hosts: LogicalHost[] }> {
    const slots = layout(count, maxReal);
    const most = Math.max(...slots);
    const ports = Array.from({ length: most - 1 }, (_, i) => FIRST_LOGICAL_PORT + i);
    const real = await startHosts(slots.length, { ...opts, sshPorts: ports });
    const hosts: LogicalHost[] = [];
    real.forEach((r, i) => {
        for (let slot = 0; slot < slots[i]; slot++) {
            hosts.push({ ...r, real: r, slot, name: slot === 0 ? r.name : `${r.name}-l${slot}`, port: slot === 0 ? 22 : FIRST_LOGICAL_PORT + slot - 1 });
        }
    });
    return { real, hosts };
}

export async function stopFleet(real: TestHost[]): Promise<void> {
    await stopHosts(real);
}
