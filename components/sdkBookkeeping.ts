/**
 * The Pulumi Node SDK's per-resource bookkeeping, made cheap for the program's run.
 *
 * A no-op `pulumi up` opens no SSH connection: its time per host is the SDK and the engine. Profiled
 * (bench/results/converge.md), these SDK habits made most of the SDK's share, for nothing a user sees:
 *
 * - It reads `new Error().stack` for every resource (its source position) and for every internal
 *   promise (kept for the promise-leak report). Those errors have no message. With ts-node's source
 *   map support installed, each read maps every frame of the stack through source maps.
 *   Here a message-less Error gets V8's plain frames. Every error with a message still goes through
 *   the installed (source-mapped) formatter, so a real failure still points at the TypeScript line.
 * - The internal promises' traces (several per resource property, `debuggablePromise`) are kept on
 *   every promise for the life of the program and printed only by the leak report under
 *   `PULUMI_DEBUG_PROMISE_LEAKS`. Formatting and keeping them was the program's largest CPU and memory
 *   cost in a 1000-host preview (about a kilobyte per promise, hundreds of thousands of promises):
 *   here they are just `Error`. A resource's own trace (its source position) stays as it was.
 * - It sends a debug-level log RPC to the engine, one at a time, several per resource ("Registering
 *   resource …"). The CLI shows these only with `--debug`. Here they are not sent.
 *
 * `CONNTUNE_SDK_DEBUG=1` leaves the SDK as it is (full traces, debug logs: use with
 * `pulumi up --debug`); so does `PULUMI_DEBUG_PROMISE_LEAKS` (its report prints those traces).
 */
import * as pulumi from "@pulumi/pulumi";

export interface Bookkeeping {
    /** Message-less errors get unmapped stack text; the SDK's internal promises none. */
    plainStacks: boolean;
    /** Debug-level SDK logs are dropped. */
    quietDebug: boolean;
}

/** Whether lightenSdkBookkeeping is in force (then internalTracesOff captures no frames). */
let lightened = false;

/** Installs the changes above unless the environment asks for the SDK as it is. Idempotent. */
export function lightenSdkBookkeeping(env: NodeJS.ProcessEnv = process.env): Bookkeeping {
    lightened = false;
    if (env.CONNTUNE_SDK_DEBUG === "1" || env.PULUMI_DEBUG_PROMISE_LEAKS) return { plainStacks: false, quietDebug: false };
    lightened = true;
    const mapped = Error.prepareStackTrace;
    if (!(mapped as { conntunePlain?: boolean } | undefined)?.conntunePlain) {
        const plain = (err: Error, frames: NodeJS.CallSite[]): string => {
            if (err.message === "" && (frames.length === 0 || frames[0].getFunctionName() === "debuggablePromise")) return err.name;
            if (err.message === "" || mapped === undefined) return `${err.name}${err.message ? `: ${err.message}` : ""}\n    at ${frames.join("\n    at ")}`;
            return mapped(err, frames);
        };
        Object.defineProperty(plain, "conntunePlain", { value: true });
        Error.prepareStackTrace = plain;
    }
    (pulumi.log as { debug: typeof pulumi.log.debug }).debug = () => Promise.resolve();
    return { plainStacks: true, quietDebug: true };
}

/**
 * Capture no stack frames for the SDK's internal errors until the returned function is called:
 * around a resource's constructor (`const restore = internalTracesOff(); try { new … } finally
 * { restore(); }`, inline, so that the resource's source position stays the caller's line). The SDK
 * registers a resource synchronously in its constructor and makes several promises per property
 * there, each with a captured trace that is never shown (see above): capturing them was a tenth of
 * the program's CPU in a 1000-host preview. The resource's own trace (its source position, which the
 * SDK captures with `Error.stackTraceLimit` raised for the moment) is unchanged. Only while
 * lightenSdkBookkeeping is in force (not with CONNTUNE_SDK_DEBUG=1).
 */
export function internalTracesOff(): () => void {
    if (!lightened) return () => undefined;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    return () => {
        Error.stackTraceLimit = limit;
    };
}
