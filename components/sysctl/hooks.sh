# shellcheck shell=bash
# sysctl file: the host side (see hooks.ts for the variables). Every key is pre-flighted before
# anything is written, the file applied with `sysctl -p FILE` and read back from /proc/sys; destroy
# puts the runtime values from before conntune back.

ct_sysctl_each() { # calls "$1 key value policy" for each entry
  local e k rest v pol
  IFS=';' read -ra ents <<<"$CT_SYSCTL"
  for e in "${ents[@]}"; do k=${e%%=*}; rest=${e#*=}; v=${rest%=*}; pol=${rest##*=}; "$1" "$k" "$v" "$pol"; done
}

# Per key, no process of its own (a fleet runs this on every host): the kernel's value is read from
# /proc/sys with bash's read, which is what `sysctl -n` prints.
ct_sysctl_read() { # sets ct_val to the value of key $1 as `sysctl -n` shows it, whitespace runs as one space; fails when it cannot be read
  local f=/proc/sys/${1//.//}
  ct_val=""
  [ -f "$f" ] && [ -r "$f" ] || return 1
  IFS= read -r -d '' ct_val <"$f" 2>/dev/null
  while [[ "$ct_val" == *$'\n' ]]; do ct_val=${ct_val%$'\n'}; done
  ct_val=${ct_val//$'\t'/ }
  while [[ "$ct_val" == *"  "* ]]; do ct_val=${ct_val//  / }; done
  return 0
}

ct_sysctl_unavailable() { # sets ct_why to why key $1 cannot be set here, or to nothing; writes nothing
  local f=/proc/sys/${1//.//}
  ct_why=""
  if [ ! -e "$f" ]; then
    case "$1" in net.netfilter.*) ct_why="unknown key: the nf_conntrack module is not loaded" ;; *) ct_why="unknown key on this kernel" ;; esac
    return
  fi
  [ -f "$f" ] && [ -r "$f" ] || { ct_why="not readable"; return; }
  # Opened for writing and closed without a write (O_APPEND, no truncation): a read-only /proc/sys, a
  # key of the parent's namespace or a security module refuses this open as it would the write. No
  # value is ever written back: writing back the value just read undid whatever another writer set
  # in between (another tool, an operator's sysctl -w, another stack's file applied at that moment).
  { : >>"$f"; } 2>/dev/null || ct_why="not writable in this host (a container or network namespace: the key belongs to the parent)"
}

hook_preflight() {
  # include: ct_sysctl_each ct_sysctl_read ct_sysctl_unavailable
  errs=""
  pf_one() {
    ct_sysctl_unavailable "$1"
    [ -z "$ct_why" ] && return
    if [ "$3" = skip ]; then echo "ct-warn:sysctl $1 skipped: $ct_why"; echo "ct:$1=skipped"; else errs="$errs; $1: $ct_why (set keyPolicy.$1 to skip to allow this)"; fi
  }
  ct_sysctl_each pf_one
  # Runtime values before conntune first set each key, so destroy can put them back.
  rt="$CT_ORIG.runtime"
  saved=""
  [ -f "$rt" ] && { IFS= read -r -d '' saved <"$rt"; } 2>/dev/null
  save_one() {
    [[ $'\n'"$saved" == *$'\n'"$1="* ]] && return 0
    ct_sysctl_read "$1" || return 0
    printf '%s=%s\n' "$1" "$ct_val" >>"$rt"
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
  # include: ct_sysctl_each ct_sysctl_read ct_sysctl_unavailable
  bad=0
  ver_one() {
    if [ "$3" = skip ]; then ct_sysctl_unavailable "$1"; [ -n "$ct_why" ] && { echo "ct:$1=skipped"; return; }; fi
    local got
    if ct_sysctl_read "$1"; then got=$ct_val; else got="cannot read /proc/sys/${1//.//}"; fi
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
