/**
 * The Pulumi Node SDK's per-resource bookkeeping, made cheap for the program's run.
 *
 * A no-op `pulumi up` opens no SSH connection: its time per host is the SDK and the engine. Profiled
 * (bench/results/converge.md), two SDK habits made most of the SDK's share, for nothing a user sees:
 *
 * - It reads `new Error().stack` for every resource (its source position) and for every internal
 *   promise (kept for the promise-leak report). Those errors have no message. With ts-node's source
 *   map support installed, each read maps every frame of the stack through source maps.
 *   Here a message-less Error gets V8's plain frames. Every error with a message still goes through
 *   the installed (source-mapped) formatter, so a real failure still points at the TypeScript line.
 * - It sends a debug-level log RPC to the engine, one at a time, several per resource ("Registering
 *   resource …"). The CLI shows these only with `--debug`. Here they are not sent.
 *
 * `CONNTUNE_SDK_DEBUG=1` leaves the SDK as it is (full traces, debug logs: use with
 * `pulumi up --debug`); so does `PULUMI_DEBUG_PROMISE_LEAKS` (its report prints those traces).
 */
import * as pulumi from "@pulumi/pulumi";

export interface Bookkeeping {
    /** Message-less errors get unmapped stack text. */
    plainStacks: boolean;
    /** Debug-level SDK logs are dropped. */
    quietDebug: boolean;
}

/** Installs the two changes above unless the environment asks for the SDK as it is. Idempotent. */
export function lightenSdkBookkeeping(env: NodeJS.ProcessEnv = process.env): Bookkeeping {
    if (env.CONNTUNE_SDK_DEBUG === "1" || env.PULUMI_DEBUG_PROMISE_LEAKS) return { plainStacks: false, quietDebug: false };
    const mapped = Error.prepareStackTrace;
    if (!(mapped as { conntunePlain?: boolean } | undefined)?.conntunePlain) {
        const plain = (err: Error, frames: NodeJS.CallSite[]): string => {
            if (err.message === "" || mapped === undefined) return `${err.name}${err.message ? `: ${err.message}` : ""}\n    at ${frames.join("\n    at ")}`;
            return mapped(err, frames);
        };
        Object.defineProperty(plain, "conntunePlain", { value: true });
        Error.prepareStackTrace = plain;
    }
    (pulumi.log as { debug: typeof pulumi.log.debug }).debug = () => Promise.resolve();
    return { plainStacks: true, quietDebug: true };
}
