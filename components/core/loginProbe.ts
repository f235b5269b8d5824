/**
 * The login probe, shared by every kind that must prove a new SSH login still works (the lockout
 * guard) or read what a new login gets (the limits check). The bash is loginProbe.sh; a hook takes it
 * in with `# include: login_probe` (see shellFile.ts).
 */
import { shq } from "./shell";
import { readShell } from "./shellFile";

/** Where a login probe keeps its FIFO: /run (root's, tmpfs), one directory per request, named by the script's PID. */
export const PROBE_DIR_PREFIX = "/run/conntune-login.";

/**
 * A line that an older conntune's probe appended to authorized_keys (a throwaway key, killed runs
 * left it behind). Exactly that format: only lines that are entirely conntune's are ever removed.
 */
export const STALE_PROBE_LINE =
    '^from="127\\.0\\.0\\.1,::1,[0-9A-Fa-f.:]+",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding ssh-ed25519 [A-Za-z0-9+/]+=* conntune-(login|lockout)-probe-[0-9]+-[0-9]+$';

/**
 * A brand-new SSH login from the controller, as the stack's login user with the stack's real key, to
 * the stack's address and port: conntune's provider dials it when the script asks.
 *
 * Protocol: the script makes a private directory with a FIFO (owned by the login user), writes one
 * request line (`conntune-login-request v1 FIFO NONCE`) to the command's real stdout (fd 8, opened by
 * the apply script before any hook runs inside a `$(…)` capture), and waits a bounded time. The
 * provider removes that line from the output, dials a fresh, unpooled login and runs a fixed command
 * that writes the login's facts (nonce, user, soft and hard open-files limits) into the FIFO; when the
 * login fails it writes the reason into the FIFO through the shared connection. No answer (a provider
 * that is not conntune's) is a failure too. Nothing edits authorized_keys: the only write there
 * removes probe lines that older conntune versions left behind (see ct_probe_stale_keys).
 *
 * `ct_fresh_login` prints `ct:login_user=…`, `ct:login_soft=…`, `ct:login_hard=…`; on failure it
 * prints why and returns non-zero. Runs as root.
 *
 * Used by the lockout guard (after an sshd reload or restart, and after a PAM change) and by the
 * limits check (only a new login shows what pam_limits gives: the provider's shared connection got
 * its limits when it was opened).
 */
export const LOGIN_PROBE = readShell(__dirname, "loginProbe.sh", {
    STALE_PROBE_LINE: shq(STALE_PROBE_LINE),
    // $1 = the authorized_keys file, $2 = the pattern of older probe lines. sed keeps every other byte
    // (CRLF, a missing final newline); the copy must be exactly the file minus those lines before it
    // replaces the file (atomic rename; never emptied on an error). One line: it runs as `bash -c`.
    PROBE_REWRITE: shq(`f=$1; pat=$2; tmp=$(mktemp "$f.conntune-XXXXXX") || exit 1; keep=$(grep -cvE "$pat" "$f"); removed=$(grep -E "$pat" "$f" | wc -c); if sed -E "\\%$pat%d" "$f" >"$tmp" && [ "$(grep -c '' "$tmp")" = "$keep" ] && [ $(( $(wc -c <"$f") - removed )) = "$(wc -c <"$tmp")" ] && ! grep -qE "$pat" "$tmp" && chmod --reference="$f" "$tmp" && mv -f "$tmp" "$f"; then exit 0; fi; rm -f "$tmp"; exit 1`),
    PROBE_DIR_PREFIX,
});
