/**
 * What `npm run up` (scripts/up.ts) reads from the engine's events: which resources belong to which
 * host (through their parents), which changed, which failed, and why. Pure: fed EngineEvents.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { hostOf } from "../components/rollout/waves";

/** What the engine said about the resources of one operation. */
export class Observed {
    /** URN → parent URN, for every resource the operation saw (old parents of deletes too). */
    readonly parents = new Map<string, string | undefined>();
    /** URNs the operation planned a change for (any step but `same`). */
    readonly changed = new Set<string>();
    /** URNs of custom resources whose change succeeded. */
    readonly done = new Set<string>();
    /** URNs whose step completed (any step, `same` included). */
    readonly reached = new Set<string>();
    /** URNs of custom resources (not components). */
    readonly custom = new Set<string>();
    /** URNs whose operation failed. */
    readonly failed = new Set<string>();
    /** Error diagnostics per URN. */
    readonly errors = new Map<string, string[]>();

    readonly onEvent = (e: EngineEvent): void => {
        const m = e.resourcePreEvent?.metadata ?? e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
        if (m) {
            this.parents.set(m.urn, m.new?.parent || m.old?.parent || this.parents.get(m.urn));
            if (e.resourcePreEvent && m.op !== "same") this.changed.add(m.urn);
            if (m.new?.custom ?? m.old?.custom) this.custom.add(m.urn);
            if (e.resOutputsEvent) this.reached.add(m.urn);
            if (e.resOutputsEvent && m.op !== "same" && (m.new?.custom ?? m.old?.custom)) this.done.add(m.urn);
            if (e.resOpFailedEvent) this.failed.add(m.urn);
        }
        const d = e.diagnosticEvent;
        if (d?.severity === "error" && d.urn) this.errors.set(d.urn, [...(this.errors.get(d.urn) ?? []), d.message.trim()]);
    };

    /** URNs that belong to `host`. */
    of(host: string): string[] {
        return [...this.parents.keys()].filter((u) => hostOf(u, this.parents) === host);
    }

    /** The hosts with a failed resource (a failed resource or an error diagnostic on it). */
    failedHosts(): Set<string> {
        const out = new Set<string>();
        for (const u of [...this.failed, ...this.errors.keys()]) {
            const h = hostOf(u, this.parents);
            if (h) out.add(h);
        }
        return out;
    }

    /**
     * Whether every change `planned` (a preview's Observed) for `host`'s resources completed in this
     * operation: a host is only ever called applied when it is (an update that stops early, e.g. on an
     * engine error, leaves the rest of the wave unapplied without failing them).
     */
    completed(host: string, planned: Observed): boolean {
        return planned.of(host).filter((u) => planned.changed.has(u) && planned.custom.has(u)).every((u) => this.reached.has(u));
    }

    /**
     * Whether every change `planned` for `host` was made in this operation (not merely reached: an
     * untargeted resource that a later host still depends on is kept as it is, not deleted).
     */
    made(host: string, planned: Observed): boolean {
        return planned.of(host).filter((u) => planned.changed.has(u) && planned.custom.has(u)).every((u) => this.done.has(u));
    }

    /** The first lines of a host's error diagnostics, for the report. */
    reason(host: string): string {
        const lines = this.of(host).flatMap((u) => this.errors.get(u) ?? []).flatMap((m) => m.split("\n")).map((l) => l.trim()).filter(Boolean);
        const text = [...new Set(lines)].slice(0, 3).join(" | ");
        return text.length > 400 ? `${text.slice(0, 400)}…` : text;
    }
}

