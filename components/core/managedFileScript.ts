/**
 * The remote half of the managed-file mechanism: pure functions that write the bash scripts run on a
 * host to apply or remove one file. No Pulumi import; unit-tested as text and run for real in e2e.
 *
 * apply:  stdin → a private temp directory next to the target (a name that no *.conf glob matches) →
 *         preflight → validate → remember the original once (for destroy) → keep the previous file →
 *         atomic rename → activate → verify (prints `ct:key=value` lines) → on any failure after the
 *         rename, put the previous file back and activate again, then exit non-zero with the reason.
 *         A mark in the state dir covers rename → activation: an apply killed there (a dropped SSH
 *         session) leaves it, and the next apply activates even if the file already has the content.
 * delete: put the original back byte for byte (bytes, mode, owner, mtime), or remove the file if
 *         there was none, then run the deactivate step; only by the resource that owns the file.
 *
 * One owner per file: the saved original records which resource (the provider's resource ID, passed
 * as $3) applied the file last. Pulumi replaces by create-then-delete, so the old resource's delete
 * comes after the new one's apply: a delete by a resource that is not the owner leaves the file,
 * the saved original and the runtime values alone.
 *
 * Writes into the target's directory never go through a name another account could have planted or
 * swapped (Debian's /etc/redis belongs to the redis account): see ct_stage / ct_commit.
 *
 * The bash itself is core/managedFile.sh (ct_script_header, _read, _apply, _delete and the write
 * helpers); this file puts it together with a file's variables and its kind's hooks.
 *
 * Snippets (preflight/validate/activate/verify/deactivate) are code written by conntune's components,
 * never config text; values derived from config reach them only as quoted shell variables.
 */
import { createHash } from "node:crypto";
import { shellFile } from "./shellFile";
import { shVars } from "./shell";

/** The host-side bash of the mechanism (bash -n and shellcheck run on it in the unit tests). */
const SCRIPT = shellFile(__dirname, "managedFile.sh");

/** Host-side hooks of one managed file. Each is a bash snippet; `$NEW` is the candidate file. */
export interface FileHooks {
    /** Checks before anything is written (e.g. sysctl keys exist). Non-zero exit aborts. */
    preflight?: string;
    /** Checks the candidate file `$NEW` before it replaces the target. Non-zero exit aborts. */
    validate?: string;
    /** Makes the new file take effect (reload a daemon, sysctl -p …). */
    activate?: string;
    /** Reads back the effective values, printing `ct:key=value` lines; non-zero exit = mismatch. */
    verify?: string;
    /** After destroy restored the original: make that take effect. Defaults to `activate`. */
    deactivate?: string;
    /** Runs once, before the original is first saved (e.g. record runtime values for destroy). */
    saveOriginal?: string;
    /** Runs on destroy after the file is restored, before deactivate (e.g. restore runtime values). */
    restoreOriginal?: string;
    /** Runs on destroy before the file is restored (e.g. disable a unit while its file still exists). */
    beforeRestore?: string;
    /**
     * Prints the part of `$CT_PATH` that is conntune's, for the read operation (Pulumi's refresh):
     * default the whole file. E.g. Redis: the lines above the mark under which the host keeps its own.
     */
    ownContent?: string;
}

export interface FileSpec {
    /** Absolute path of the target file. */
    path: string;
    /** Octal mode of the file, e.g. "0644". */
    mode: string;
    /** Variables for the hooks (values are quoted). */
    vars?: Record<string, string | number>;
    hooks: FileHooks;
}

/**
 * The third argument of every command (see asRoot): conntune's provider replaces it with the resource's
 * ID before running the command, so the scripts know which resource they act for. Left as it is (e.g.
 * by another provider), the scripts treat the owner as unknown and act as before ownership existed.
 */
export const RESOURCE_ID_PLACEHOLDER = "@CT_RESOURCE_ID@";

/**
 * The fourth argument of every command (see asRoot): conntune's provider replaces it with the
 * operation. `apply` (create, update), `repair` (an update caused by drift that Pulumi's refresh
 * found: like apply, but activates even when the file already has the content, e.g. after a
 * `sysctl -w`), `read` (refresh: writes nothing, prints the file and the verify read-back). Left as it
 * is (another provider), the scripts apply.
 */
export const OP_PLACEHOLDER = "@CT_OP@";

/** Where the host keeps originals for destroy. */
export const STATE_DIR = "/var/lib/conntune";

/** A stable id for a target path: names the saved original on the host. */
export function fileId(path: string): string {
    return createHash("sha256").update(path).digest("hex").slice(0, 16);
}

const PATH_RE = /^\/(?:[A-Za-z0-9_.@:+-]+\/)*[A-Za-z0-9_.@:+-]+$/;

/** Throws unless `path` is absolute, normalized and free of shell/glob characters. */
export function assertSafePath(path: string): void {
    if (!PATH_RE.test(path) || path.split("/").some((seg) => seg === ".." || seg === ".")) {
        throw new Error(`unsafe managed file path ${JSON.stringify(path)}: absolute, no '..', letters, digits and _.@:+- only`);
    }
}

function header(spec: FileSpec): string {
    assertSafePath(spec.path);
    if (!/^0?[0-7]{3}$/.test(spec.mode)) throw new Error(`bad file mode ${spec.mode}`);
    return [
        "set -uo pipefail",
        "umask 022",
        // fd 8 stays the command's real stdout: hooks run inside $(…) captures, and the login probe
        // (core/loginProbe.sh) sends its request to conntune's provider on it.
        "exec 8>&1",
        shVars({
            CT_PATH: spec.path,
            CT_MODE: spec.mode,
            CT_ID: fileId(spec.path),
            CT_DIR_ID: fileId(spec.path.slice(0, spec.path.lastIndexOf("/")) || "/"),
            CT_STATE: STATE_DIR,
            ...(spec.vars ?? {}),
        }),
        // $1..$4 from asRoot(), fail(), the state directory and the write helpers: managedFile.sh.
        SCRIPT.body("ct_script_header"),
    ].join("\n");
}


function fn(name: string, body: string | undefined): string {
    return `${name}() {\n${body && body.trim() ? body.trim() : ":"}\n}`;
}

/**
 * Drop comment lines, blank lines and indentation from a generated script. The scripts are stored
 * in the stack state (inputs and outputs of every command, rewritten at each checkpoint), so their
 * size is paid many times per update. Safe for conntune's own scripts: no heredocs, and no quoted
 * string spans lines (config values never contain newlines: see shq).
 */
export function compact(script: string): string {
    return script
        .split("\n")
        .map((l) => l.trimStart())
        .filter((l) => l !== "" && !l.startsWith("#"))
        .join("\n");
}

/**
 * The one script of a file, by operation ($4, @CT_OP@, filled in by conntune's provider): apply and
 * repair (stdin = the file's content), read (refresh: writes nothing), and delete, which undoes the
 * file on destroy: the original back byte for byte, or no file. Only the owner restores: a delete by
 * a resource the file no longer belongs to (the old half of a replacement) changes nothing and says
 * so. One script rather than an apply and a delete script: the state holds every command's scripts
 * and the file backend rewrites the state at every step, so the shared part is stored once.
 */
export function applyScript(spec: FileSpec): string {
    const h = spec.hooks;
    return compact([
        header(spec),
        fn("ct_preflight", h.preflight),
        fn("ct_validate", h.validate),
        fn("ct_activate", h.activate),
        fn("ct_verify", h.verify),
        fn("ct_save_original", h.saveOriginal),
        fn("ct_own_content", h.ownContent ?? 'cat -- "$CT_PATH"'),
        fn("ct_deactivate", h.deactivate ?? h.activate),
        fn("ct_restore_original", h.restoreOriginal),
        fn("ct_before_restore", h.beforeRestore),
        SCRIPT.body("ct_script_read"),
        SCRIPT.body("ct_script_delete"),
        SCRIPT.body("ct_script_apply"),
    ].join("\n"));
}

/**
 * A command's `delete`: the delete operation of its `create` script (applyScript), which conntune's
 * provider runs with @CT_OP@ = delete. Run as a command of its own (by a provider that does not know
 * it) it fails, naming the way out. The same text as deleteByOperation in tools/command-provider/read.go.
 */
export const DELETE_BY_OPERATION = `echo "conntune: this delete is an operation of the create script, which only conntune's command provider from 2026-12 runs: destroy with this checkout (npm run pulumi)" >&2; exit 1`;

/** Parse `ct:key=value` lines (the verify output) into a map; other lines are ignored. */
export function parseValues(stdout: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of stdout.split("\n")) {
        const m = /^ct:([A-Za-z0-9_.\-/@:]+)=(.*)$/.exec(line.trim());
        if (m) out[m[1]] = m[2];
    }
    return out;
}

/** Lines the scripts print as warnings (`ct-warn:`), e.g. skipped sysctl keys. */
export function parseWarnings(stdout: string): string[] {
    return stdout
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.startsWith("ct-warn:"))
        .map((l) => l.slice("ct-warn:".length).trim());
}
