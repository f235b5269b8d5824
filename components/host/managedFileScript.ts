/**
 * The remote half of the managed-file mechanism: pure functions that write the bash scripts run on a
 * host to apply or remove one file. No Pulumi import; unit-tested as text and run for real in e2e.
 *
 * apply:  stdin → temp file next to the target (a name that no *.conf glob matches) → preflight →
 *         validate → remember the original once (for destroy) → keep the previous file → atomic
 *         rename → activate → verify (prints `ct:key=value` lines) → on any failure after the rename,
 *         put the previous file back and activate again, then exit non-zero with the reason.
 *         A mark in the state dir covers rename → activation: an apply killed there (a dropped SSH
 *         session) leaves it, and the next apply activates even if the file already has the content.
 * delete: put the original back byte for byte (cp -a), or remove the file if there was none, then
 *         run the deactivate step.
 *
 * Snippets (preflight/validate/activate/verify/deactivate) are code written by conntune's components,
 * never config text; values derived from config reach them only as quoted shell variables.
 */
import { createHash } from "node:crypto";
import { shVars } from "./shell";

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
        // (hooks.ts LOGIN_PROBE) sends its request to conntune's provider on it.
        "exec 8>&1",
        shVars({
            CT_PATH: spec.path,
            CT_MODE: spec.mode,
            CT_ID: fileId(spec.path),
            CT_STATE: STATE_DIR,
            ...(spec.vars ?? {}),
        }),
        // $1/$2 come from asRoot(): the login's SSH_CONNECTION and user name.
        'CT_SSH_CONNECTION="${1:-}"; CT_LOGIN_USER="${2:-root}"',
        'CT_ORIG="$CT_STATE/originals/$CT_ID"',
        'fail() { echo "conntune: $*" >&2; exit 1; }',
        'mkdir -p "$CT_STATE/originals" && chmod 700 "$CT_STATE" || fail "cannot create $CT_STATE"',
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

/** The script that applies the file (stdin = the file's content). */
export function applyScript(spec: FileSpec): string {
    const h = spec.hooks;
    return compact([
        header(spec),
        fn("ct_preflight", h.preflight),
        fn("ct_validate", h.validate),
        fn("ct_activate", h.activate),
        fn("ct_verify", h.verify),
        fn("ct_save_original", h.saveOriginal),
        `ct_dir=$(dirname "$CT_PATH")
ct_dir_existed=1
[ -d "$ct_dir" ] || { ct_dir_existed=0; mkdir -p "$ct_dir" || fail "cannot create $ct_dir"; }
# Leftovers of an apply that was killed half-way are never *.conf, so nothing reads them.
find "$ct_dir" -maxdepth 1 -name '.conntune-new.*' -mmin +10 -delete 2>/dev/null
find "$CT_STATE" -maxdepth 1 -name 'prev.*' -mmin +10 -delete 2>/dev/null
NEW=$(mktemp "$ct_dir/.conntune-new.XXXXXX") || fail "cannot create a temp file in $ct_dir"
PREV=""
cleanup() {
  local rc=$?
  rm -f "$NEW" \${PREV:+"$PREV"}
  # A failed first apply into a directory conntune created leaves nothing behind (no empty dir, no record).
  if [ "$rc" != 0 ] && [ "$ct_dir_existed" = 0 ] && [ ! -e "$CT_PATH" ]; then
    rm -f "$CT_ORIG.meta" "$CT_ORIG.madedir" "$CT_ORIG.orig" "$CT_ORIG.pending"; rmdir "$ct_dir" 2>/dev/null
  fi
}
trap cleanup EXIT
cat >"$NEW" || fail "could not receive the file content"
chmod "$CT_MODE" "$NEW"
pf_out=$(ct_preflight 2>&1) || fail "preflight for $CT_PATH failed: $pf_out"
[ -n "$pf_out" ] && printf '%s\\n' "$pf_out"
val_out=$(ct_validate 2>&1) || fail "validation of the new $CT_PATH failed, nothing was changed: $val_out"
# The file may already be new while its activation never finished (see the mark below).
if cmp -s "$NEW" "$CT_PATH" 2>/dev/null && [ "\${CT_FORCE_ACTIVATE:-0}" != 1 ] && [ ! -e "$CT_ORIG.pending" ]; then
  same=1
else
  same=0
fi
# Remember what was there before conntune's first apply, once, for destroy.
if [ ! -e "$CT_ORIG.meta" ]; then
  ( ct_save_original ) || fail "could not record the original state of $CT_PATH"
  if [ -e "$CT_PATH" ]; then cp -a "$CT_PATH" "$CT_ORIG.orig" && echo present >"$CT_ORIG.meta.tmp"; else echo absent >"$CT_ORIG.meta.tmp"; fi
  [ "$ct_dir_existed" = 0 ] && echo "$ct_dir" >"$CT_ORIG.madedir"
  echo "$CT_PATH" >>"$CT_ORIG.meta.tmp" && mv -f "$CT_ORIG.meta.tmp" "$CT_ORIG.meta" || fail "could not save the original $CT_PATH"
fi
rollback() {
  : >"$CT_ORIG.pending"
  if [ -n "$PREV" ]; then cp -a "$PREV" "$CT_PATH.conntune-rb" && mv -f "$CT_PATH.conntune-rb" "$CT_PATH"; else rm -f "$CT_PATH"; fi
  if ( ct_activate ) >/dev/null 2>&1; then rm -f "$CT_ORIG.pending"; else echo "conntune: re-activating the previous $CT_PATH also failed" >&2; fi
}
if [ "$same" = 0 ]; then
  if [ -e "$CT_PATH" ]; then PREV=$(mktemp "$CT_STATE/prev.XXXXXX") && cp -a "$CT_PATH" "$PREV" || fail "cannot back up $CT_PATH"; fi
  # Set from the rename until the activation is done: if this script dies in between, the next apply activates.
  : >"$CT_ORIG.pending" || fail "cannot write $CT_ORIG.pending"
  mv -f "$NEW" "$CT_PATH" || fail "cannot rename the new file into $CT_PATH"
  if ! act_out=$(ct_activate 2>&1); then
    rollback
    fail "activating the new $CT_PATH failed; the previous file is back: $act_out"
  fi
  rm -f "$CT_ORIG.pending"
  printf '%s\n' "$act_out" | grep -E '^ct(-warn)?:'
  true
fi
if ! ver_out=$(ct_verify 2>&1); then
  [ "$same" = 0 ] && rollback
  fail "the host does not show the wanted values after applying $CT_PATH\${PREV:+; the previous file is back}: $(grep -v '^ct:' <<<"$ver_out")"
fi
printf '%s\\n' "$ver_out"
echo "ct:changed=$([ "$same" = 0 ] && echo yes || echo no)"`,
    ].join("\n"));
}

/** The script that undoes the file on destroy: the original back byte for byte, or no file. */
export function deleteScript(spec: FileSpec): string {
    const h = spec.hooks;
    return compact([
        header(spec),
        fn("ct_deactivate", h.deactivate ?? h.activate),
        fn("ct_restore_original", h.restoreOriginal),
        fn("ct_before_restore", h.beforeRestore),
        `( ct_before_restore ) || echo "conntune: preparing to restore $CT_PATH failed" >&2
if [ -e "$CT_ORIG.meta" ]; then
  if [ "$(head -n1 "$CT_ORIG.meta")" = present ]; then
    cp -a "$CT_ORIG.orig" "$CT_PATH.conntune-rs" && mv -f "$CT_PATH.conntune-rs" "$CT_PATH" || fail "cannot restore $CT_PATH"
  else
    rm -f "$CT_PATH"
  fi
  ( ct_restore_original ) || echo "conntune: restoring runtime values for $CT_PATH failed" >&2
  # A directory conntune created goes away again when nothing else is in it.
  [ -e "$CT_ORIG.madedir" ] && rmdir "$(dirname "$CT_PATH")" 2>/dev/null
  rm -f "$CT_ORIG.orig" "$CT_ORIG.meta" "$CT_ORIG".*
else
  echo "conntune: no saved original for $CT_PATH (never applied here?); leaving it as it is" >&2
fi
out=$(ct_deactivate 2>&1) || fail "re-activating after restoring $CT_PATH failed: $out"
echo "ct:restored=$CT_PATH"`,
    ].join("\n"));
}

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
