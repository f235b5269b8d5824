/**
 * Host-side hook snippets (bash) for each kind of managed file. Pure text; the values they act on
 * arrive as quoted variables (see managedFileScript.ts). Verify also runs for Pulumi's refresh with
 * CT_OP=read: there it must write nothing (see the read operation in managedFileScript.ts).
 */
import type { FileHooks } from "./managedFileScript";
import { shq } from "./shell";

/** Reload sshd (Debian: ssh.service; RHEL: sshd.service; no systemd: SIGHUP). */
const SSHD_RELOAD = `
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  if systemctl cat ssh.service >/dev/null 2>&1; then unit=ssh.service; else unit=sshd.service; fi
  systemctl reload "$unit" || return 1
else
  kill -HUP "$(cat /run/sshd.pid)" || return 1
fi`;

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
export const LOGIN_PROBE = `
CT_STALE_PROBE_LINE=${shq(STALE_PROBE_LINE)}
# $1 = the authorized_keys file, $2 = the pattern of older probe lines. sed keeps every other byte
# (CRLF, a missing final newline); the copy must be exactly the file minus those lines before it
# replaces the file (atomic rename; never emptied on an error).
CT_PROBE_REWRITE=${shq(`f=$1; pat=$2; tmp=$(mktemp "$f.conntune-XXXXXX") || exit 1; keep=$(grep -cvE "$pat" "$f"); removed=$(grep -E "$pat" "$f" | wc -c); if sed -E "\\%$pat%d" "$f" >"$tmp" && [ "$(grep -c '' "$tmp")" = "$keep" ] && [ $(( $(wc -c <"$f") - removed )) = "$(wc -c <"$tmp")" ] && ! grep -qE "$pat" "$tmp" && chmod --reference="$f" "$tmp" && mv -f "$tmp" "$f"; then exit 0; fi; rm -f "$tmp"; exit 1`)}
ct_probe_stale_keys() { # removes lines of older conntune probes from the login user's authorized_keys, exactly those lines
  local sip u home f files own d runas lock=0
  command -v sshd >/dev/null 2>&1 || return 0
  read -r _ _ sip _ <<<"$CT_SSH_CONNECTION"
  u="$CT_LOGIN_USER"; home=$(getent passwd "$u" | cut -d: -f6)
  files=$(sshd -T -C "user=$u,host=localhost,addr=\${sip:-127.0.0.1}" 2>/dev/null | awk '$1=="authorizedkeysfile"{for(i=2;i<=NF;i++) print $i; exit}')
  for f in \${files:-.ssh/authorized_keys}; do
    f=\${f//%h/$home}; f=\${f//%u/$u}; f=\${f//%%/%}
    case "$f" in /*) ;; *) f="$home/$f" ;; esac
    # Leave the file alone unless it holds such a line; never write through a symlink.
    [ -f "$f" ] && [ ! -L "$f" ] && grep -qE "$CT_STALE_PROBE_LINE" "$f" 2>/dev/null || continue
    if [ "$lock" = 0 ]; then
      command -v flock >/dev/null 2>&1 && exec 9>>"$CT_STATE/login-probe.lock" && flock -w 30 9 || { echo "ct-warn:stale login-probe keys left in place: the lock $CT_STATE/login-probe.lock was not free"; return 0; }
      lock=1
    fi
    # Root never opens, chmods or renames a name in a directory another account can write: the
    # rewrite runs as the file's owner (a swapped temp name then only reaches that account's own
    # files); a root-owned file is rewritten as root only in a root-owned directory nobody else can write.
    own=$(stat -c %u -- "$f"); d=$(dirname -- "$f")
    if [ "$own" = 0 ]; then
      [ "$(stat -c %u -- "$d")" = 0 ] && [ -z "$(find "$d" -maxdepth 0 -perm /022)" ] || { echo "ct-warn:stale login-probe keys left in $f: its directory is writable by another account"; continue; }
      runas=()
    else
      runas=(setpriv --reuid="$own" --regid="$(stat -c %g -- "$f")" --clear-groups)
    fi
    if "\${runas[@]}" bash -c "$CT_PROBE_REWRITE" ct "$f" "$CT_STALE_PROBE_LINE" 2>/dev/null; then
      echo "ct-warn:removed stale login-probe keys of an earlier conntune from $f"
    else
      echo "ct-warn:stale login-probe keys left in $f: the filtered copy did not check out (or its directory is not writable by its owner)"
    fi
  done
  return 0
}
ct_probe_cleanup() { # probe directories of scripts that no longer run (killed mid-probe), and stale keys
  local d pid
  for d in ${PROBE_DIR_PREFIX}*; do
    [ -d "$d" ] && [ ! -L "$d" ] || continue
    pid=\${d#${PROBE_DIR_PREFIX}}; pid=\${pid%%.*}
    case "$pid" in ''|*[!0-9]*) continue ;; esac
    kill -0 "$pid" 2>/dev/null || rm -rf -- "$d"
  done
  ct_probe_stale_keys
}
ct_fresh_login() {
  local d fifo nonce line seen=0 fin=0 err="" to="" user="" soft="" hard="" end wait
  wait=\${CT_PROBE_WAIT:-45}
  ct_probe_cleanup
  if ! { true >&8; } 2>/dev/null; then echo "the script has no channel to the controller (fd 8)"; return 1; fi
  nonce=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n')
  d=$(mktemp -d "${PROBE_DIR_PREFIX}$$.XXXXXXXX") || { echo "cannot create a probe directory in /run"; return 1; }
  fifo="$d/fifo"
  # conntune just made this directory: giving it to the login user changes nothing that existed.
  if ! mkfifo -m 600 "$fifo" || ! chown "$CT_LOGIN_USER" "$d" "$fifo" || ! exec 6<>"$fifo"; then rm -rf -- "$d"; echo "cannot create the probe FIFO in $d"; return 1; fi
  echo "conntune-login-request v1 $fifo $nonce" >&8
  end=$((SECONDS + wait))
  while [ "$fin" = 0 ] && [ "$SECONDS" -lt "$end" ] && IFS= read -r -t "$((end - SECONDS))" -u 6 line; do
    case "$line" in
      "ct-login:nonce=$nonce") seen=1; err=""; user="" ;;
      ct-login:to=*) [ "$seen" = 1 ] && to=\${line#*=} ;;
      ct-login:user=*) [ "$seen" = 1 ] && user=\${line#*=} ;;
      ct-login:soft=*) [ "$seen" = 1 ] && soft=\${line#*=} ;;
      ct-login:hard=*) [ "$seen" = 1 ] && hard=\${line#*=} ;;
      ct-login:error=*) [ "$seen" = 1 ] && err=\${line#*=} ;;
      ct-login:end) [ "$seen" = 1 ] && fin=1 ;;
    esac
  done
  exec 6<&-
  rm -rf -- "$d"
  if [ "$fin" = 0 ]; then
    echo "a new SSH login from the controller as $CT_LOGIN_USER got no answer within $wait s: the command provider running this update is not conntune's (it must dial the login; see README, lockout guard)"
    return 1
  fi
  if [ -n "$err" ] || [ -z "$user" ]; then echo "a new SSH login from the controller as $CT_LOGIN_USER to \${to:-the address of the stack} failed: \${err:-it reported nothing}"; return 1; fi
  echo "ct:login_user=$user"; echo "ct:login_soft=$soft"; echo "ct:login_hard=$hard"
}
ct_login_probe() { # $1 = what just changed, for the message (default: the reload)
  local out
  out=$(ct_fresh_login) || { echo "lockout guard: \${out/ failed: / failed after \${1:-the reload}: }"; return 1; }
  grep '^ct-warn:' <<<"$out"
  return 0
}`;

/**
 * sshd drop-in. Variables: CT_SSHD_WANT ("keyword value;keyword value;…", lowercase keywords as
 * `sshd -T` prints them), CT_SSHD_CHECK (the keywords whose effective value must match).
 */
export function sshdHooks(): FileHooks {
    const config = `
ct_sshd_config_with() { # $1 = candidate drop-in; prints the path of a full temp config that uses it
  local t; t=$(mktemp -d) || return 1
  mkdir -p "$t/d"
  for f in /etc/ssh/sshd_config.d/*.conf; do [ -e "$f" ] && [ "$f" != "$CT_PATH" ] && cp -a "$f" "$t/d/"; done
  cp "$1" "$t/d/$(basename "$CT_PATH")"
  sed "s#^[[:space:]]*Include[[:space:]]\\+/etc/ssh/sshd_config.d/\\*\\.conf#Include $t/d/*.conf#I" /etc/ssh/sshd_config >"$t/sshd_config"
  echo "$t"
}
ct_sshd_effective() { # $1 = config file; prints "ct:keyword=value" for wanted keywords, fails naming shadowing files
  local out bad=0 kw want got files
  out=$(sshd -T -f "$1" 2>&1) || { echo "$out"; return 1; }
  IFS=';' read -ra pairs <<<"$CT_SSHD_WANT"
  for p in "\${pairs[@]}"; do
    kw=\${p%% *}; want=\${p#* }
    got=$(awk -v k="$kw" 'tolower($1)==k { $1=""; sub(/^ /,""); print; exit }' <<<"$out")
    echo "ct:$kw=$got"
    case ";$CT_SSHD_CHECK;" in *";$kw;"*) ;; *) continue ;; esac
    if [ "$(tr 'A-Z' 'a-z' <<<"$got")" != "$(tr 'A-Z' 'a-z' <<<"$want")" ]; then
      files=$(grep -il "^[[:space:]]*$kw[[:space:]]" /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null | grep -vx "$CT_PATH" | tr '\\n' ' ')
      echo "$kw: wanted '$want' but sshd uses '$got'; set first by: \${files:-the main config or a Match block} (sshd keeps the first value it reads: rename conntune's drop-in to sort before it, or remove the key there)"
      bad=1
    fi
  done
  return $bad
}`;
    return {
        preflight: `${config}
command -v sshd >/dev/null || fail "sshd is not installed"
grep -qiE '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config.d/\\*\\.conf' /etc/ssh/sshd_config \\
  || { echo "/etc/ssh/sshd_config has no 'Include /etc/ssh/sshd_config.d/*.conf': a drop-in would be ignored"; exit 1; }`,
        validate: `${config}
t=$(ct_sshd_config_with "$NEW") || exit 1
out=$(sshd -t -f "$t/sshd_config" 2>&1) || { rm -rf "$t"; echo "sshd -t rejects the new drop-in: $out"; exit 1; }
out=$(ct_sshd_effective "$t/sshd_config") || { rm -rf "$t"; echo "$out" | grep -v '^ct:'; exit 1; }
rm -rf "$t"`,
        activate: `${LOGIN_PROBE}
ct_reload() {${SSHD_RELOAD}
}
ct_reload || exit 1
ct_login_probe || exit 1`,
        verify: `${config}
ct_sshd_effective /etc/ssh/sshd_config`,
        deactivate: `
out=$(sshd -t 2>&1) || { echo "the restored sshd config does not pass sshd -t: $out"; exit 1; }
ct_reload() {${SSHD_RELOAD}
}
ct_reload`,
    };
}

/**
 * sysctl file. Variables: CT_SYSCTL ("key=value=policy;…"). Keys that the host cannot take are
 * reported per policy: fail (abort before anything is written) or skip (`ct-warn:` + the key is
 * written with a leading '-' by the renderer, so sysctl ignores its failure).
 */
export function sysctlHooks(): FileHooks {
    const each = `
ct_sysctl_each() { # calls "$1 key value policy" for each entry
  local e k rest v pol
  IFS=';' read -ra ents <<<"$CT_SYSCTL"
  for e in "\${ents[@]}"; do k=\${e%%=*}; rest=\${e#*=}; v=\${rest%=*}; pol=\${rest##*=}; "$1" "$k" "$v" "$pol"; done
}
ct_sysctl_path() { echo "/proc/sys/$(tr . / <<<"$1")"; }
ct_sysctl_unavailable() { # prints why key $1 cannot be set here, or nothing
  local f cur; f=$(ct_sysctl_path "$1")
  if [ ! -e "$f" ]; then
    case "$1" in net.netfilter.*) echo "unknown key: the nf_conntrack module is not loaded" ;; *) echo "unknown key on this kernel" ;; esac
    return
  fi
  cur=$(cat "$f" 2>/dev/null) || { echo "not readable"; return; }
  # Refresh (CT_OP=read) must never write, not even the value just read (a change made in between
  # would be undone): there "cannot set" is what access(2) says.
  if [ "\${CT_OP:-apply}" = read ]; then [ -w "$f" ] || echo "not writable in this host (a container or network namespace: the key belongs to the parent)"; return; fi
  # Writing the current value back changes nothing and shows whether this host may set it at all.
  ( printf '%s\\n' "$cur" >"$f" ) 2>/dev/null || echo "not writable in this host (a container or network namespace: the key belongs to the parent)"
}
ct_sysctl_skipped() { ct_sysctl_unavailable "$1"; }`;
    return {
        preflight: `${each}
errs=""
pf_one() {
  local why; why=$(ct_sysctl_unavailable "$1")
  [ -z "$why" ] && return
  if [ "$3" = skip ]; then echo "ct-warn:sysctl $1 skipped: $why"; echo "ct:$1=skipped"; else errs="$errs; $1: $why (set keyPolicy.$1 to skip to allow this)"; fi
}
ct_sysctl_each pf_one
# Runtime values before conntune first set each key, so destroy can put them back.
rt="$CT_ORIG.runtime"
save_one() {
  local f; f=$(ct_sysctl_path "$1")
  [ -r "$f" ] || return 0
  grep -q "^$1=" "$rt" 2>/dev/null || printf '%s=%s\\n' "$1" "$(tr -s '\\t ' ' ' <"$f")" >>"$rt"
}
[ -n "$errs" ] && { echo "\${errs#; }"; exit 1; }
ct_sysctl_each save_one
exit 0`,
        validate: `
bad=$(grep -vE '^(#.*|-?[a-z0-9_]+(\\.[a-z0-9_-]+)+ = [A-Za-z0-9 ._:-]+|)$' "$NEW") && { echo "malformed lines: $bad"; exit 1; }
exit 0`,
        activate: `
out=$(sysctl -p "$CT_PATH" 2>&1 >/dev/null) || { echo "sysctl -p $CT_PATH: $out"; exit 1; }`,
        verify: `${each}
bad=0
ver_one() {
  [ -n "$(ct_sysctl_unavailable "$1")" ] && [ "$3" = skip ] && { echo "ct:$1=skipped"; return; }
  local got; got=$(sysctl -n "$1" 2>&1 | tr -s '\\t ' ' ')
  echo "ct:$1=$got"
  [ "$got" = "$2" ] || { echo "$1: wanted $2, the kernel shows $got"; bad=1; }
}
ct_sysctl_each ver_one
exit $bad`,
        restoreOriginal: `
[ -f "$CT_ORIG.runtime" ] || exit 0
while IFS= read -r line; do sysctl -q -w "$line" >/dev/null 2>&1 || echo "could not restore $line" >&2; done <"$CT_ORIG.runtime"`,
        deactivate: `
[ -e "$CT_PATH" ] && sysctl -p "$CT_PATH" >/dev/null 2>&1
exit 0`,
    };
}

/**
 * limits.d file: format check; it applies at the next login, so verify makes one: a brand-new SSH
 * login from the controller as the login user (see LOGIN_PROBE) reports its limits, and a covered user must
 * get the wanted ones. A failure puts the previous file back (a limit pam_limits cannot set may
 * refuse logins). Variables: CT_WANT_SOFT, CT_WANT_HARD, CT_LOGIN_COVERED (yes|no).
 */
export function limitsHooks(): FileHooks {
    return {
        preflight: `
if grep -qsE '^[[:space:]]*session[[:space:]]+(required|requisite|optional)[[:space:]]+pam_limits\\.so' /etc/pam.d/sshd /etc/pam.d/common-session; then
  echo "ct:pam_limits=enabled"
else
  echo "ct-warn:pam_limits is not in /etc/pam.d/sshd or common-session: new logins will not get these limits"; echo "ct:pam_limits=missing"
fi`,
        validate: `
bad=$(grep -vE '^(#.*|[*@%]?[A-Za-z0-9_-]* (soft|hard) nofile [0-9]+|)$' "$NEW") && { echo "malformed lines: $bad"; exit 1; }
exit 0`,
        verify: `${LOGIN_PROBE}
echo "ct:file=$CT_PATH"
if [ "\${CT_OP:-apply}" = read ]; then
  # Refresh opens one connection per host and no other: its limits are those of a login made during this run.
  out=$(printf 'ct:login_soft=%s\\nct:login_hard=%s\\n' "$(ulimit -Sn)" "$(ulimit -Hn)")
else
  out=$(ct_fresh_login) || { echo "the fresh-login check: $out"; exit 1; }
fi
printf '%s\\n' "$out"
s=$(sed -n 's/^ct:login_soft=//p' <<<"$out"); h=$(sed -n 's/^ct:login_hard=//p' <<<"$out")
if [ "$CT_LOGIN_COVERED" = yes ]; then
  [ "$s" = "$CT_WANT_SOFT" ] && [ "$h" = "$CT_WANT_HARD" ] || { echo "a fresh login gets nofile $s/$h, wanted $CT_WANT_SOFT/$CT_WANT_HARD (pam_limits missing, or a hard limit above what the machine allows)"; exit 1; }
else
  echo "ct-warn:the login user is not among the limit domains: its limits are shown, not checked"
fi`,
    };
}

/**
 * pam-auth-update profile that adds pam_limits to common-session and common-session-noninteractive.
 * Variables: CT_PAM_PROFILE (the profile's name). Activation runs pam-auth-update (it leaves PAM
 * files an admin edited by hand alone: verify then fails and the profile is taken back), and the
 * lockout guard makes sure a new SSH login still works.
 */
export function pamProfileHooks(): FileHooks {
    const apply = `
ct_pam_apply() {
  local out
  if [ -e "$CT_PATH" ]; then out=$(DEBIAN_FRONTEND=noninteractive pam-auth-update --enable "$CT_PAM_PROFILE" 2>&1)
  else out=$(DEBIAN_FRONTEND=noninteractive pam-auth-update --remove "$CT_PAM_PROFILE" 2>&1); fi || { echo "pam-auth-update: $out"; return 1; }
}`;
    return {
        preflight: `command -v pam-auth-update >/dev/null || { echo "pam-auth-update is not on this host (Debian and Ubuntu have it): set limits.pam to check and add pam_limits to the PAM stack by hand"; exit 1; }`,
        validate: `
grep -qx 'Session-Type: Additional' "$NEW" && grep -qE '^[[:space:]]+required[[:space:]]+pam_limits\.so$' "$NEW" || { echo "not a pam_limits session profile"; exit 1; }`,
        activate: `${LOGIN_PROBE}${apply}
ct_pam_apply || exit 1
ct_login_probe pam-auth-update || exit 1`,
        verify: `
bad=0
for f in /etc/pam.d/common-session /etc/pam.d/common-session-noninteractive; do
  if grep -qE '^[[:space:]]*session[[:space:]]+required[[:space:]]+pam_limits\.so' "$f"; then echo "ct:pam_limits:$(basename "$f")=enabled"
  else echo "$f has no pam_limits line after pam-auth-update (it leaves PAM files edited by hand alone, e.g. with a module line it did not write: look, then run pam-auth-update --force, or set limits.pam to check)"; bad=1; fi
done
exit $bad`,
        // On destroy the profile is taken out while its file still exists; then the file goes.
        beforeRestore: `DEBIAN_FRONTEND=noninteractive pam-auth-update --remove "$CT_PAM_PROFILE"`,
        deactivate: `${apply}
ct_pam_apply`,
    };
}

/** system.conf.d drop-in for DefaultLimitNOFILE. Variables: CT_WANT_SOFT, CT_WANT_HARD. */
export function systemdDefaultHooks(): FileHooks {
    return {
        preflight: `[ -d /run/systemd/system ] || { echo "systemd is not running on this host"; exit 1; }`,
        activate: `systemctl daemon-reexec`,
        verify: `
hard=$(systemctl show -p DefaultLimitNOFILE --value); soft=$(systemctl show -p DefaultLimitNOFILESoft --value)
echo "ct:DefaultLimitNOFILE=$hard"; echo "ct:DefaultLimitNOFILESoft=$soft"
[ "$hard" = "$CT_WANT_HARD" ] && [ "$soft" = "$CT_WANT_SOFT" ] || { echo "systemd shows DefaultLimitNOFILE=$soft:$hard, wanted $CT_WANT_SOFT:$CT_WANT_HARD (is the hard limit above what this machine allows?)"; exit 1; }`,
    };
}

/** Whether a unit is sshd's own (its override goes through the lockout guard). */
export function isSshdUnit(unit: string): boolean {
    return /^sshd?(@.*)?\.(service|socket)$/.test(unit);
}

/**
 * Unit drop-in (`unit`: the unit's name, to guard sshd's own). Variables: CT_UNIT, CT_RESTART (restart|reload|none), CT_SHOW ("Prop=value;…": the
 * properties `systemctl show` must report). An override of sshd's own unit goes through the lockout
 * guard like an sshd drop-in. A restart that fails leaves a mark: the rollback (the previous file
 * back) then starts the unit again, since `try-restart` would leave a failed unit down.
 */
export function overrideHooks(unit = ""): FileHooks {
    const guarded = isSshdUnit(unit);
    const restart = `
ct_apply_unit() {
  # A reload racing another manager operation can drop off the bus: retry briefly.
  local i out
  for i in 1 2 3 4 5; do systemctl daemon-reload && break; [ "$i" = 5 ] && return 1; sleep 1; done
  case "$CT_RESTART" in
    restart)
      if systemctl is-active -q "$CT_UNIT"; then
        : >"$CT_ORIG.was-active"
        out=$(systemctl restart "$CT_UNIT" 2>&1) || { echo "systemctl restart $CT_UNIT failed: $out"; return 1; }
      elif [ -e "$CT_ORIG.was-active" ] || { [ "\${CT_OP:-apply}" = repair ] && [ -e "$CT_ORIG.active" ]; }; then
        # It ran until conntune's restart failed, or (repair) it ran after the last apply and has stopped since: bring it back up.
        systemctl reset-failed "$CT_UNIT" 2>/dev/null
        out=$(systemctl restart "$CT_UNIT" 2>&1) || { echo "systemctl restart $CT_UNIT failed: $out"; return 1; }
      fi
      rm -f "$CT_ORIG.was-active" ;;
    reload) if systemctl is-active -q "$CT_UNIT"; then systemctl reload "$CT_UNIT"; fi ;;
    none) : ;;
  esac
}`;
    return {
        preflight: `
[ -d /run/systemd/system ] || { echo "systemd is not running on this host"; exit 1; }
systemctl cat "$CT_UNIT" >/dev/null 2>&1 || { echo "unit $CT_UNIT does not exist on this host"; exit 1; }`,
        validate: `
frag=$(systemctl show -p FragmentPath --value "$CT_UNIT")
t=$(mktemp -d); mkdir -p "$t/$CT_UNIT.d"
[ -n "$frag" ] && cp "$frag" "$t/$CT_UNIT"
cp "$NEW" "$t/$CT_UNIT.d/$(basename "$CT_PATH")"
out=$(SYSTEMD_UNIT_PATH="$t:" systemd-analyze verify "$t/$CT_UNIT" 2>&1); rc=$?
mine=$(grep -F "$t/$CT_UNIT.d/" <<<"$out")
rm -rf "$t"
# systemd-analyze only warns on unknown keys: treat any complaint about the drop-in as an error.
if [ -n "$mine" ]; then echo "systemd-analyze verify rejects the drop-in: $(sed "s#$t/##g" <<<"$mine")"; exit 1; fi
[ $rc = 0 ] || echo "ct-warn:systemd-analyze verify $CT_UNIT reports problems outside conntune's drop-in: $(tr '\\n' ' ' <<<"$out" | cut -c1-300)"
exit 0`,
        activate: guarded
            ? `${LOGIN_PROBE}${restart}
ct_apply_unit || exit 1
ct_login_probe "the $CT_RESTART of $CT_UNIT" || exit 1`
            : `${restart}
ct_apply_unit`,
        verify: `
bad=0
IFS=';' read -ra props <<<"$CT_SHOW"
for p in "\${props[@]}"; do
  [ -n "$p" ] || continue
  k=\${p%%=*}; want=\${p#*=}
  got=$(systemctl show -p "$k" --value "$CT_UNIT")
  echo "ct:$k=$got"
  [ "$got" = "$want" ] || { echo "$CT_UNIT: systemctl show $k is '$got', wanted '$want'"; bad=1; }
done
if [ "$CT_RESTART" = restart ]; then
  # Running after the apply and stopped since is drift: the repair starts it again (ct_apply_unit).
  st=$(systemctl show -p ActiveState --value "$CT_UNIT"); echo "ct:ActiveState=$st"
  if [ "\${CT_OP:-apply}" = read ]; then
    [ "$st" = active ] || [ ! -e "$CT_ORIG.active" ] || { echo "$CT_UNIT: ActiveState is $st, it was active after conntune's last apply"; bad=1; }
  elif [ "$st" = active ]; then : >"$CT_ORIG.active"; else rm -f "$CT_ORIG.active"; fi
fi
pid=$(systemctl show -p MainPID --value "$CT_UNIT")
if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -r "/proc/$pid/limits" ]; then
  echo "ct:process_nofile=$(awk '/^Max open files/{print $4 ":" $5}' "/proc/$pid/limits")"
fi
exit $bad`,
        deactivate: `${restart}
ct_apply_unit`,
    };
}

/**
 * Redis on a host (seed 002): the whole redis.conf. Variables: CT_REDIS_PORT (the running
 * instance), CT_REDIS_SERVICE (systemd unit), CT_REDIS_RESTART_ONLY ("a;b": directives CONFIG SET
 * refuses), CT_REDIS_ACTIVEDEFRAG (yes when the file asks for it), CT_REDIS_KEEP ("a|b": the host's
 * own auth directives, carried over), CT_REDIS_KEPT_MARK (the line above them), CT_REDIS_USER (ACL
 * user, "" = default), CT_REDIS_SECRET_NAME (the config key of the password, "" = none). The password
 * itself is $CT_SECRET (read from stdin by the apply script) and only ever reaches redis-cli's
 * environment (REDISCLI_AUTH), never an argument list.
 */
export function redisHooks(): FileHooks {
    const cli = `
ct_cli() {
  local a=(-p "$CT_REDIS_PORT")
  [ -n "$CT_REDIS_USER" ] && a+=(--user "$CT_REDIS_USER")
  if [ -n "\${CT_SECRET:-}" ]; then REDISCLI_AUTH="$CT_SECRET" redis-cli "\${a[@]}" "$@"; else redis-cli "\${a[@]}" "$@"; fi
}
ct_directives() { awk -v m="$CT_REDIS_KEPT_MARK" '$0==m{exit} {print}' "$1" | grep -vE '^[[:space:]]*(#|$)'; }`;
    // A throwaway redis-server with a config on stdin: as the service's own account (never root), on
    // no TCP port, its socket in a private temp dir; output captured through a pipe (a file in a
    // directory that account owns could be a planted symlink). Exit 124: it kept running for 3 s.
    const tryServer = `
ct_redis_user() {
  local u; u=$(systemctl show -p User --value "$CT_REDIS_SERVICE" 2>/dev/null)
  case "$u" in ""|root|0) u=redis ;; esac
  id -u "$u" >/dev/null 2>&1 || u=nobody
  echo "$u"
}
ct_redis_try() {
  local u t rc
  u=$(ct_redis_user); t=$(mktemp -d) || return 1
  chown "$u" "$t" || { rm -rf "$t"; return 1; }
  if command -v setpriv >/dev/null 2>&1; then set -- setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups redis-server -
  else set -- runuser -u "$u" -- redis-server -; fi
  ct_try_out=$(timeout 3 "$@" --port 0 --unixsocket "$t/redis.sock" --unixsocketperm 700 --dir "$t" --daemonize no --supervised no \\
    --pidfile "$t/redis.pid" --logfile "" --appendonly no --save "" 2>&1); rc=$?
  rm -rf "$t"
  return $rc
}`;
    return {
        preflight: `${cli}${tryServer}
command -v redis-server >/dev/null || { echo "redis-server is not installed on this host"; exit 1; }
if [ "$CT_REDIS_ACTIVEDEFRAG" = yes ]; then
  ct_redis_try <<<'activedefrag yes'
  [ $? = 124 ] || { echo "activedefrag: yes needs a Redis built with its own jemalloc (Debian's is not): $( { grep -m1 -i jemalloc || grep -m1 -i -E 'cannot|error'; } <<<"$ct_try_out" | sed 's/^[0-9:. *#-]*//'); set activedefrag: false or install a Redis that supports it"; exit 1; }
fi
# Log in to the running Redis before anything is written: a Redis conntune cannot authenticate to is refused.
if systemctl is-active -q "$CT_REDIS_SERVICE"; then
  out=$(ct_cli config get port 2>&1)
  if grep -qx port <<<"$out"; then
    grep -q 'AUTH failed' <<<"$out" && echo "ct-warn:redis.auth is set but this Redis asks for no password: $(grep -m1 'AUTH failed' <<<"$out")"
  elif grep -q WRONGPASS <<<"$out"; then
    echo "Redis refuses the password in conntune:$CT_REDIS_SECRET_NAME (redis.auth.passwordSecret) for user \${CT_REDIS_USER:-default} (redis.auth.user): $(grep -m1 -o 'WRONGPASS.*' <<<"$out"); nothing was changed"; exit 1
  elif grep -q NOAUTH <<<"$out"; then
    echo "Redis ($CT_REDIS_SERVICE, port $CT_REDIS_PORT) requires authentication and redis.auth.passwordSecret is not set: set it to the name of a secret config key holding the password (and redis.auth.user for an ACL user); nothing was changed"; exit 1
  elif grep -q NOPERM <<<"$out"; then
    echo "the Redis user \${CT_REDIS_USER:-default} (redis.auth.user) may not run CONFIG: $(grep -m1 -o 'NOPERM.*' <<<"$out"); give it +config|get +config|set +ping or name another user; nothing was changed"; exit 1
  else
    # Only a positive answer lets the apply go on: anything else (CONFIG renamed away, a TLS-only
    # port, still loading) would end in failed CONFIG SETs, a restart and a rollback.
    echo "cannot read the running Redis's config ($CT_REDIS_SERVICE, port $CT_REDIS_PORT) with CONFIG GET: $(tr '\\n' ' ' <<<"$out" | cut -c1-200); nothing was changed"; exit 1
  fi
fi
exit 0`,
        // The host's own auth lines go into the candidate (so they are validated with it and a rewrite
        // never drops them), then the host's own redis-server starts with it: proves the file without
        // touching the running instance or its data.
        validate: `${tryServer}
if [ -f "$CT_PATH" ] && [ ! -L "$CT_PATH" ] && kept=$(grep -iE "^[[:space:]]*($CT_REDIS_KEEP)[[:space:]]" "$CT_PATH"); then
  printf '%s\\n%s\\n' "$CT_REDIS_KEPT_MARK" "$kept" >>"$NEW" || { echo "cannot carry the host's auth lines over"; exit 1; }
fi
ct_redis_try <"$NEW"
[ $? = 124 ] || { echo "redis-server refuses the new config: $(tail -n 6 <<<"$ct_try_out" | tr '\\n' ' ')"; exit 1; }`,
        activate: `${cli}
if ! systemctl is-active -q "$CT_REDIS_SERVICE"; then echo "ct:redis_applied=file only ($CT_REDIS_SERVICE is not running)"; exit 0; fi
restart_for=""; live=""
while read -r k v; do
  cur=$(ct_cli config get "$k" 2>/dev/null | sed -n 2p)
  [ "$v" = '""' ] && v=""
  [ "$cur" = "$v" ] && continue
  case ";$CT_REDIS_RESTART_ONLY;" in *";$k;"*) restart_for="$restart_for $k"; continue ;; esac
  r=$(ct_cli config set "$k" "$v" 2>&1)
  [ "$r" = OK ] && live="$live $k" || restart_for="$restart_for $k"
done < <(ct_directives "$CT_PATH")
if [ -n "$restart_for" ]; then
  systemctl restart "$CT_REDIS_SERVICE" || exit 1
  for i in $(seq 1 50); do ct_cli ping 2>/dev/null | grep -qx PONG && break; sleep 0.1; done
  echo "ct:redis_restarted_for=\${restart_for# }"
fi
echo "ct:redis_applied_live=\${live# }"`,
        verify: `${cli}
kept=$(awk -v m="$CT_REDIS_KEPT_MARK" 'f && !/^[[:space:]]*(#|$)/ {print $1} $0==m{f=1}' "$CT_PATH" | sort -u | tr '\\n' ' ')
echo "ct:redis_kept=\${kept% }"
systemctl is-active -q "$CT_REDIS_SERVICE" || { echo "ct:redis_running=no"; exit 0; }
bad=0
while read -r k v; do
  [ "$v" = '""' ] && v=""
  case "$k" in include|rename-command) continue ;; esac
  got=$(ct_cli config get "$k" 2>/dev/null | sed -n 2p)
  echo "ct:$k=$got"
  [ "$got" = "$v" ] || { echo "redis reports $k=$got, wanted $v"; bad=1; }
done < <(ct_directives "$CT_PATH")
exit $bad`,
        deactivate: `
if systemctl is-active -q "$CT_REDIS_SERVICE"; then systemctl restart "$CT_REDIS_SERVICE"; fi`,
        // The host's own auth lines under the mark are not conntune's: refresh compares what is above it.
        ownContent: `awk -v m="$CT_REDIS_KEPT_MARK" '$0==m{exit} {print}' "$CT_PATH"`,
    };
}
