import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { lightenSdkBookkeeping } from "../../components";

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
