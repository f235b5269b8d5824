# shellcheck shell=bash
# sysctl file: the host side (see hooks.ts for the variables). Every key is pre-flighted before
# anything is written, the file applied with `sysctl -p FILE` and read back with `sysctl -n`; destroy
# puts the runtime values from before conntune back.

ct_sysctl_each() { # calls "$1 key value policy" for each entry
  local e k rest v pol
  IFS=';' read -ra ents <<<"$CT_SYSCTL"
  for e in "${ents[@]}"; do k=${e%%=*}; rest=${e#*=}; v=${rest%=*}; pol=${rest##*=}; "$1" "$k" "$v" "$pol"; done
}

ct_sysctl_path() { echo "/proc/sys/$(tr . / <<<"$1")"; }

ct_sysctl_unavailable() { # prints why key $1 cannot be set here, or nothing; writes nothing
  local f; f=$(ct_sysctl_path "$1")
  if [ ! -e "$f" ]; then
    case "$1" in net.netfilter.*) echo "unknown key: the nf_conntrack module is not loaded" ;; *) echo "unknown key on this kernel" ;; esac
    return
  fi
  { : <"$f"; } 2>/dev/null || { echo "not readable"; return; }
  # Opened for writing and closed without a write (O_APPEND, no truncation): a read-only /proc/sys, a
  # key of the parent's namespace or a security module refuses this open as it would the write. No
  # value is ever written back: writing back the value just read undid whatever another writer set
  # in between (another tool, an operator's sysctl -w, another stack's file applied at that moment).
  { : >>"$f"; } 2>/dev/null || echo "not writable in this host (a container or network namespace: the key belongs to the parent)"
}

ct_sysctl_skipped() { ct_sysctl_unavailable "$1"; }

hook_preflight() {
  # include: ct_sysctl_each ct_sysctl_path ct_sysctl_unavailable ct_sysctl_skipped
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
    grep -q "^$1=" "$rt" 2>/dev/null || printf '%s=%s\n' "$1" "$(tr -s '\t ' ' ' <"$f")" >>"$rt"
  }
  [ -n "$errs" ] && { echo "${errs#; }"; exit 1; }
  ct_sysctl_each save_one
  exit 0
}

hook_validate() {
  bad=$(grep -vE '^(#.*|-?[a-z0-9_]+(\.[a-z0-9_-]+)+ = [A-Za-z0-9 ._:-]+|)$' "$NEW") && { echo "malformed lines: $bad"; exit 1; }
  exit 0
}

hook_activate() {
  out=$(sysctl -p "$CT_PATH" 2>&1 >/dev/null) || { echo "sysctl -p $CT_PATH: $out"; exit 1; }
}

hook_verify() {
  # include: ct_sysctl_each ct_sysctl_path ct_sysctl_unavailable ct_sysctl_skipped
  bad=0
  ver_one() {
    [ -n "$(ct_sysctl_unavailable "$1")" ] && [ "$3" = skip ] && { echo "ct:$1=skipped"; return; }
    local got; got=$(sysctl -n "$1" 2>&1 | tr -s '\t ' ' ')
    echo "ct:$1=$got"
    [ "$got" = "$2" ] || { echo "$1: wanted $2, the kernel shows $got"; bad=1; }
  }
  ct_sysctl_each ver_one
  exit $bad
}

hook_restoreOriginal() {
  [ -f "$CT_ORIG.runtime" ] || exit 0
  while IFS= read -r line; do sysctl -q -w "$line" >/dev/null 2>&1 || echo "could not restore $line" >&2; done <"$CT_ORIG.runtime"
}

hook_deactivate() {
  [ -e "$CT_PATH" ] && sysctl -p "$CT_PATH" >/dev/null 2>&1
  exit 0
}
