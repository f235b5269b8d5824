import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { lightenSdkBookkeeping, internalTracesOff } from "../../components";

const original = { prepare: Error.prepareStackTrace, debug: pulumi.log.debug };
const mapped = Object.assign((err: Error) => `MAPPED ${err.message}`, {}) as unknown as typeof Error.prepareStackTrace;

describe("lightenSdkBookkeeping", () => {
    afterEach(() => {
        Error.prepareStackTrace = original.prepare;
        (pulumi.log as { debug: typeof pulumi.log.debug }).debug = original.debug;
    });

    it("gives the SDK's message-less errors plain frames and keeps the mapped formatter for real errors", () => {
        Error.prepareStackTrace = mapped;
        expect(lightenSdkBookkeeping({})).toEqual({ plainStacks: true, quietDebug: true });
        expect(new Error().stack).toMatch(/^Error\n    at .*sdkBookkeeping\.test\.ts:\d+:\d+/);
        expect(new Error("boom").stack).toBe("MAPPED boom");
        // Twice is the same as once: no formatter wrapped around another.
        lightenSdkBookkeeping({});
        expect(new Error("boom").stack).toBe("MAPPED boom");
    });

    it("keeps no trace on the SDK's internal promises (only the leak report under PULUMI_DEBUG_PROMISE_LEAKS prints it)", () => {
        lightenSdkBookkeeping({});
        function debuggablePromise(): string | undefined {
            return new Error().stack;
        }
        expect(debuggablePromise()).toBe("Error");
        // A resource's own trace (its source position) keeps its frames.
        expect(new Error().stack).toMatch(/^Error\n    at .*sdkBookkeeping\.test\.ts:\d+:\d+/);
    });

    it("captures no frames while a resource is made, except where the SDK raises the limit for the resource's own trace", () => {
        lightenSdkBookkeeping({});
        const limit = Error.stackTraceLimit;
        const restore = internalTracesOff();
        const internal = new Error().stack;
        Error.stackTraceLimit = Number.POSITIVE_INFINITY;
        const own = new Error().stack;
        Error.stackTraceLimit = 0;
        restore();
        const made = { internal, own };
        expect(made.internal).toBe("Error");
        expect(made.own).toMatch(/^Error\n    at .*sdkBookkeeping\.test\.ts:\d+:\d+/);
        expect(Error.stackTraceLimit).toBe(limit);
    });

    it("captures frames as usual with CONNTUNE_SDK_DEBUG=1", () => {
        lightenSdkBookkeeping({ CONNTUNE_SDK_DEBUG: "1" });
        const restore = internalTracesOff();
        const stack = new Error().stack;
        restore();
        expect(stack).toMatch(/^Error.*\n    at /);
    });

    it("drops debug-level SDK logs and nothing else", async () => {
        const warn = pulumi.log.warn;
        lightenSdkBookkeeping({});
        expect(pulumi.log.debug).not.toBe(original.debug);
        await expect(pulumi.log.debug("Registering resource")).resolves.toBeUndefined();
        expect(pulumi.log.warn).toBe(warn);
    });

    it.each([{ CONNTUNE_SDK_DEBUG: "1" }, { PULUMI_DEBUG_PROMISE_LEAKS: "true" }])("leaves the SDK as it is with %o", (env) => {
        Error.prepareStackTrace = mapped;
        expect(lightenSdkBookkeeping(env)).toEqual({ plainStacks: false, quietDebug: false });
        expect(Error.prepareStackTrace).toBe(mapped);
        expect(pulumi.log.debug).toBe(original.debug);
    });
});
