# shellcheck shell=bash
# The host side of the login probe (see loginProbe.ts): a brand-new SSH login from the controller,
# dialled by conntune's provider on request, and the clean-up of what older probes left behind.
# @NAME@ tokens are filled in by loginProbe.ts. Included by the hooks that need a fresh login.
CT_STALE_PROBE_LINE=@STALE_PROBE_LINE@
CT_PROBE_REWRITE=@PROBE_REWRITE@
ct_probe_stale_keys() { # removes lines of older conntune probes from the login user's authorized_keys, exactly those lines
  local sip u home f files own d runas k v lock=0
  command -v sshd >/dev/null 2>&1 || return 0
  read -r _ _ sip _ <<<"$CT_SSH_CONNECTION"
  u="$CT_LOGIN_USER"; home=""; files=""
  IFS=: read -r _ _ _ _ _ home _ < <(getent passwd "$u")
  while read -r k v; do [ "$k" = authorizedkeysfile ] && { files=$v; break; }; done < <(sshd -T -C "user=$u,host=localhost,addr=${sip:-127.0.0.1}" 2>/dev/null)
  for f in ${files:-.ssh/authorized_keys}; do
    f=${f//%h/$home}; f=${f//%u/$u}; f=${f//%%/%}
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
    if "${runas[@]}" bash -c "$CT_PROBE_REWRITE" ct "$f" "$CT_STALE_PROBE_LINE" 2>/dev/null; then
      echo "ct-warn:removed stale login-probe keys of an earlier conntune from $f"
    else
      echo "ct-warn:stale login-probe keys left in $f: the filtered copy did not check out (or its directory is not writable by its owner)"
    fi
  done
  return 0
}
ct_probe_cleanup() { # probe directories of scripts that no longer run (killed mid-probe), and stale keys
  local d pid
  for d in @PROBE_DIR_PREFIX@*; do
    [ -d "$d" ] && [ ! -L "$d" ] || continue
    pid=${d#@PROBE_DIR_PREFIX@}; pid=${pid%%.*}
    case "$pid" in ''|*[!0-9]*) continue ;; esac
    kill -0 "$pid" 2>/dev/null || rm -rf -- "$d"
  done
  ct_probe_stale_keys
}
ct_fresh_login() {
  local d fifo nonce line seen=0 fin=0 err="" to="" user="" soft="" hard="" end wait
  wait=${CT_PROBE_WAIT:-45}
  ct_probe_cleanup
  if ! { true >&8; } 2>/dev/null; then echo "the script has no channel to the controller (fd 8)"; return 1; fi
  # 128 bits from the kernel's random source: bash's SRANDOM (getrandom(2), bash 5.1+) needs no process.
  if [ -n "${SRANDOM:-}" ]; then printf -v nonce '%08x%08x%08x%08x' "$SRANDOM" "$SRANDOM" "$SRANDOM" "$SRANDOM"; else nonce=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n'); fi
  d=$(mktemp -d "@PROBE_DIR_PREFIX@$$.XXXXXXXX") || { echo "cannot create a probe directory in /run"; return 1; }
  fifo="$d/fifo"
  # conntune just made this directory: giving it to the login user changes nothing that existed.
  if ! mkfifo -m 600 "$fifo" || ! chown "$CT_LOGIN_USER" "$d" "$fifo" || ! exec 6<>"$fifo"; then rm -rf -- "$d"; echo "cannot create the probe FIFO in $d"; return 1; fi
  echo "conntune-login-request v1 $fifo $nonce" >&8
  end=$((SECONDS + wait))
  while [ "$fin" = 0 ] && [ "$SECONDS" -lt "$end" ] && IFS= read -r -t "$((end - SECONDS))" -u 6 line; do
    case "$line" in
      "ct-login:nonce=$nonce") seen=1; err=""; user="" ;;
      ct-login:to=*) [ "$seen" = 1 ] && to=${line#*=} ;;
      ct-login:user=*) [ "$seen" = 1 ] && user=${line#*=} ;;
      ct-login:soft=*) [ "$seen" = 1 ] && soft=${line#*=} ;;
      ct-login:hard=*) [ "$seen" = 1 ] && hard=${line#*=} ;;
      ct-login:error=*) [ "$seen" = 1 ] && err=${line#*=} ;;
      ct-login:end) [ "$seen" = 1 ] && fin=1 ;;
    esac
  done
  exec 6<&-
  rm -rf -- "$d"
  if [ "$fin" = 0 ]; then
    echo "a new SSH login from the controller as $CT_LOGIN_USER got no answer within $wait s: the command provider running this update is not conntune's (it must dial the login; see README, lockout guard)"
    return 1
  fi
  if [ -n "$err" ] || [ -z "$user" ]; then echo "a new SSH login from the controller as $CT_LOGIN_USER to ${to:-the address of the stack} failed: ${err:-it reported nothing}"; return 1; fi
  echo "ct:login_user=$user"; echo "ct:login_soft=$soft"; echo "ct:login_hard=$hard"
}
ct_login_probe() { # $1 = what just changed, for the message (default: the reload)
  local out
  out=$(ct_fresh_login) || { echo "lockout guard: ${out/ failed: / failed after ${1:-the reload}: }"; return 1; }
  grep '^ct-warn:' <<<"$out"
  return 0
}
