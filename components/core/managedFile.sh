# shellcheck shell=bash
# shellcheck disable=SC2034 # CT_SSH_CONNECTION, CT_LOGIN_USER and CT_SECRET are for the hooks and the login probe
# The managed-file mechanism, host side (see managedFileScript.ts, which puts these pieces together
# with a file's variables and its kind's hooks). Each ct_script_* body is a part of the generated
# script at top level; `# include:` lines take in the helper functions. Comments, blank lines and
# indentation are dropped before a script is stored (compact), so they cost nothing in the state.
#
# Variables set before these parts run (shVars, from the FileSpec): CT_PATH, CT_MODE, CT_ID,
# CT_DIR_ID, CT_STATE and the kind's own. Arguments (asRoot): $1 the login's SSH_CONNECTION, $2 its
# user, $3 the resource ID, $4 the operation (apply, repair, read, delete); $3 and $4 are filled in by conntune's provider.

# Every write into the target's directory. That directory may be writable by another account
# (Debian's /etc/redis belongs to redis), which can then plant a symlink at any name it can predict
# or swap a name between two steps: root must never open, chmod or copy onto a name there.
# ct_stage makes a private directory next to the target (mktemp -d: a new, unpredictable name,
# root's, mode 700, setgid kept from a setgid parent), enters it and checks that the directory entered is a new empty root-only child
# of the target's directory (the name may have been swapped before the cd; nobody else can make such
# a directory). Inside it only root can add or swap names, so the file is written, chowned and
# chmodded there. ct_commit renames it onto the target (rename(2) replaces a link, never follows it;
# -T never moves into a directory) and checks with lstat that the target is the inode it wrote.
# State files (originals, backups, records) live in $CT_STATE, which only root can write.
#
# The target's directory must be itself (no symbolic link on the way) and its parent writable by
# root only (or sticky): otherwise another account could swap the directory for a link between two
# steps and make root write, rename or remove in a directory of its choosing.
ct_check_dir() {
  local p u m
  [ -e "$ct_dir" ] || return 0
  [ "$(realpath -e -- "$ct_dir" 2>/dev/null)" = "$ct_dir" ] || { echo "$ct_dir is reached through a symbolic link: conntune writes only through real directories" >&2; return 1; }
  p=${ct_dir%/*}; p=${p:-/}
  # Owned by root, and no group or other write bit unless sticky: one stat, the bits by bash arithmetic.
  read -r u m <<<"$(stat -c '%u %a' -- "$p")"
  [ "$u" = 0 ] && [[ "$m" =~ ^[0-7]+$ ]] && { (( (8#$m & 8#022) == 0 )) || (( (8#$m & 8#1000) != 0 )); } || { echo "$p can be written by another account than root, which could swap $ct_dir for a link: conntune does not write in $ct_dir" >&2; return 1; }
}
ct_stage() { # $1 = source file ("-": stdin), $2 = mode, $3 = owner:group, $4 = file whose mtime to keep
  local d ct_st
  cd / || return 1
  ct_check_dir || return 1
  d=$(mktemp -d "$ct_dir/.conntune-new.XXXXXX") || { echo "cannot create a temp directory in $ct_dir" >&2; return 1; }
  CT_STAGES+=("$d")
  if ! { cd -- "$d" && ct_st=$(stat -L -c '%u:%a %d:%i' . .. "$ct_dir") && [[ "$ct_st" =~ ^$EUID:2?700\ [0-9]+:[0-9]+$'\n'[0-9]+:[0-9]+\ ([0-9]+:[0-9]+)$'\n'[0-9]+:[0-9]+\ ([0-9]+:[0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && ! compgen -G '*' >/dev/null && ! compgen -G '.[!.]*' >/dev/null && ! compgen -G '..?*' >/dev/null && [ "$(pwd -P)" = "$d" ]; }; then
    cd /; echo "the temp directory $d was replaced while in use: does another account write in $ct_dir?" >&2; return 1
  fi
  if [ "$1" != - ] && [ -L "$1" ]; then
    ln -s -- "$(readlink -- "$1")" f && chown -h -- "$3" f || return 1
  else
    if [ "$1" = - ]; then cat >f; else cat -- "$1" >f; fi || return 1
    chown -- "$3" f && chmod -- "$2" f || return 1
    if [ -n "${4:-}" ]; then touch -r "$4" f || return 1; fi
  fi
  STAGED_ID=$(stat -c %d:%i f) && NEW="$d/f"
}
ct_commit() {
  mv -fT -- f "$CT_PATH" || { cd /; return 1; }
  cd /
  rmdir -- "${CT_STAGES[${#CT_STAGES[@]}-1]}" 2>/dev/null
  [ "$(stat -c %d:%i -- "$CT_PATH" 2>/dev/null)" = "$STAGED_ID" ] || { echo "$CT_PATH is not the file conntune just wrote: something else changed it meanwhile (does another account write in $ct_dir?)" >&2; return 1; }
}
ct_put_back() { # $1 = a copy made with cp -a: the same bytes, mode, owner and mtime (or the same link) at $CT_PATH
  ct_stage "$1" "$(stat -c %a -- "$1")" "$(stat -c %u:%g -- "$1")" "$1" && ct_commit
}
ct_record() { # $1 = a file in $CT_STATE, the rest = its lines: replaced atomically
  # $CT_STATE is root's alone (700). The temp name is unpredictable and created exclusively (noclobber
  # opens with O_EXCL) and privately (umask 077), as mktemp would, without a process for it.
  local t="$CT_STATE/record.$$.${SRANDOM:-$RANDOM}$RANDOM" rc
  umask 077; set -C
  printf '%s\n' "${@:2}" >"$t"; rc=$?
  set +C; umask 022
  [ "$rc" = 0 ] && mv -f "$t" "$1"
}
ct_print_values() { # $1 = a step's output: its `ct:` and `ct-warn:` lines
  local l
  while IFS= read -r l; do [[ "$l" == ct:* || "$l" == ct-warn:* ]] && printf '%s\n' "$l"; done <<<"$1"
  return 0
}
ct_cleanup_stages() {
  cd /
  local d; for d in ${CT_STAGES[@]+"${CT_STAGES[@]}"}; do [ -e "$d" ] && rm -rf -- "$d"; done
}

# The variables and helpers every script starts with.
ct_script_header() {
  CT_SSH_CONNECTION="${1:-}"; CT_LOGIN_USER="${2:-root}"; CT_OWNER="${3:-}"; CT_OP="${4:-apply}"
  [[ "$CT_OWNER" =~ ^[A-Za-z0-9_.-]{1,128}$ ]] || CT_OWNER=""
  case "$CT_OP" in apply|repair|read|delete) ;; *) CT_OP=apply ;; esac
  CT_ORIG="$CT_STATE/originals/$CT_ID"
  # A directory conntune created, whichever of its files created it: the last one's delete removes it.
  CT_MADE="$CT_STATE/madedirs/$CT_DIR_ID"
  fail() { echo "conntune: $*" >&2; exit 1; }
  # The read operation writes nothing at all, not even conntune's own state directory.
  [ "$CT_OP" = read ] || { { [ -d "$CT_STATE/originals" ] && [ -d "$CT_STATE/madedirs" ] || mkdir -p "$CT_STATE/originals" "$CT_STATE/madedirs"; } && chmod 700 "$CT_STATE"; } || fail "cannot create $CT_STATE"
  # Forks are what a script costs on a busy host: paths are checked absolute and normalized (assertSafePath).
  ct_dir=${CT_PATH%/*}; ct_dir=${ct_dir:-/}
  CT_STAGES=()
  # include: ct_check_dir ct_stage ct_commit ct_put_back ct_record ct_print_values ct_cleanup_stages
}

# The read operation (Pulumi's refresh, tools/command-provider/read.go): writes nothing. It reads the
# secret line when the apply would (CT_STDIN_SECRET: the hooks may need it, e.g. redis-cli), then
# prints the file as conntune sees it as ONE line (`ct-content:BASE64` or `ct-content-missing`), the
# verify's `ct:key=value` read-back, and, when verify fails, its other lines as `ct-drift:` lines.
# The hooks see CT_OP=read: they must not write (no fresh login, no sysctl write-back).
ct_script_read() {
  if [ "$CT_OP" = read ]; then
    CT_SECRET=""
    if [ "${CT_STDIN_SECRET:-0}" = 1 ]; then IFS= read -r CT_SECRET || fail "the secret line on stdin is missing"; fi
    if [ -f "$CT_PATH" ] && [ ! -L "$CT_PATH" ]; then
      # Another account that can write in the directory (Debian's /etc/redis) could swap the file for
      # a link to a secret between the check and the read, and root would put that secret into the
      # state: the file is opened once, that open is checked to be the inode seen without following
      # links, and only the open descriptor is read.
      ct_seen=$(stat -c %d:%i -- "$CT_PATH") && exec 3<"$CT_PATH" || fail "cannot read $CT_PATH"
      [ "$(stat -L -c %d:%i /dev/fd/3)" = "$ct_seen" ] || fail "$CT_PATH was replaced while it was read (does another account write in $ct_dir?)"
      ct_b64=$(CT_PATH=/dev/fd/3 ct_own_content | base64 -w0) || fail "cannot read $CT_PATH"
      exec 3<&-
      echo "ct-content:$ct_b64"
      # A mode changed behind conntune's back (e.g. a drop-in made world-writable) is drift too.
      ct_mode_now=$(stat -c %a -- "$CT_PATH")
      [ "$((8#$ct_mode_now))" = "$((8#$CT_MODE))" ] || echo "ct-drift:$CT_PATH has mode $ct_mode_now, conntune writes it with $CT_MODE"
    else
      echo "ct-content-missing"
      echo "ct-drift:$CT_PATH is missing"
    fi
    if ver_out=$(ct_verify 2>&1); then ct_ok=1; else ct_ok=0; fi
    grep '^ct:' <<<"$ver_out"
    [ "$ct_ok" = 1 ] || grep -v -e '^ct:' -e '^ct-warn:' -e '^$' <<<"$ver_out" | sed 's/^/ct-drift:/'
    exit 0
  fi
}

# apply (and repair): stdin → a private temp directory next to the target → preflight → validate →
# the original saved once (for destroy) → the previous file kept → atomic rename → activate → verify
# → on any failure after the rename, the previous file back and activated again.
ct_script_apply() {
  ct_dir_existed=1
  [ -d "$ct_dir" ] || { ct_dir_existed=0; mkdir -p "$ct_dir" && echo "$ct_dir" >"$CT_MADE" || fail "cannot create $ct_dir"; }
  ct_dir_err=$(ct_check_dir 2>&1) || fail "$ct_dir_err"
  # Leftovers of killed applies (never *.conf, so nothing reads them): only what looks exactly like a
  # private directory of conntune's (root's, mode 700, empty or holding just its file) goes: another
  # account that can write here could rename a directory of root's to this name, and root must not
  # empty it for them.
  for ct_left in "$ct_dir"/.conntune-new.*; do
    [ -d "$ct_left" ] && [ ! -L "$ct_left" ] && [[ "$(stat -c %u:%a -- "$ct_left")" =~ ^0:2?700$ ]] && [ -n "$(find "$ct_left" -maxdepth 0 -mmin +10)" ] || continue
    case "$(ls -A -- "$ct_left")" in ""|f) rm -f -- "$ct_left/f"; rmdir -- "$ct_left" ;; esac
  done 2>/dev/null
  if compgen -G "$CT_STATE/prev.*" >/dev/null || compgen -G "$CT_STATE/record.*" >/dev/null; then
    find "$CT_STATE" -mindepth 1 -maxdepth 1 \( -name 'prev.*' -o -name 'record.*' \) -mmin +10 -exec rm -rf -- {} + 2>/dev/null
  fi
  PREV=""
  cleanup() {
    local rc=$?
    ct_cleanup_stages
    [ -n "$PREV" ] && rm -rf -- "$PREV"
    # A failed first apply into a directory conntune created leaves nothing behind (no empty dir, no record).
    if [ "$rc" != 0 ] && [ "$ct_dir_existed" = 0 ] && [ ! -e "$CT_PATH" ]; then
      rm -f "$CT_ORIG.meta" "$CT_ORIG.madedir" "$CT_ORIG.orig" "$CT_ORIG.pending" "$CT_ORIG.owner"; rmdir "$ct_dir" 2>/dev/null && rm -f "$CT_MADE"
    fi
  }
  trap cleanup EXIT
  # A secret for the hooks (CT_STDIN_SECRET=1: e.g. the Redis password) is the first line of stdin. It
  # is always read here, before the content, so it can never become part of the file.
  CT_SECRET=""
  if [ "${CT_STDIN_SECRET:-0}" = 1 ]; then IFS= read -r CT_SECRET || fail "the secret line on stdin is missing"; fi
  # The file keeps the owner and group of the one it replaces (Debian's redis.conf is redis:redis); a new one is root's.
  if [ -f "$CT_PATH" ] && [ ! -L "$CT_PATH" ]; then
    ct_owner=$(stat -c %u:%g -- "$CT_PATH")
  else
    # The effective group, as `id -g` prints it, from the shell's own /proc entry (no process).
    ct_gid=""
    while read -r ct_k _ ct_e _; do [ "$ct_k" = Gid: ] && { ct_gid=$ct_e; break; }; done </proc/self/status 2>/dev/null
    [[ "$ct_gid" =~ ^[0-9]+$ ]] || ct_gid=$(id -g)
    ct_owner="$EUID:$ct_gid"
  fi
  ct_stage - "$CT_MODE" "$ct_owner" || fail "could not receive the file content into $ct_dir"
  pf_out=$(ct_preflight 2>&1) || fail "preflight for $CT_PATH failed: $pf_out"
  [ -n "$pf_out" ] && printf '%s\n' "$pf_out"
  val_out=$(ct_validate 2>&1) || fail "validation of the new $CT_PATH failed, nothing was changed: $val_out"
  # The file may already be new while its activation never finished (see the mark below).
  # Same content and mode: nothing to write (a changed mode is rewritten, like changed content).
  if [ ! -L "$CT_PATH" ] && [ -e "$CT_PATH" ] && cmp -s "$NEW" "$CT_PATH" 2>/dev/null && [ "$((8#$(stat -c %a -- "$CT_PATH")))" = "$((8#$CT_MODE))" ] && [ ! -e "$CT_ORIG.pending" ]; then
    same=1
  else
    same=0
  fi
  # Remember what was there before conntune's first apply, once, for destroy (and who applied it).
  if [ ! -e "$CT_ORIG.meta" ]; then
    ( ct_save_original ) || fail "could not record the original state of $CT_PATH"
    if [ -e "$CT_ORIG.orig" ] || [ -L "$CT_ORIG.orig" ]; then rm -rf -- "$CT_ORIG.orig"; fi
    if [ -e "$CT_PATH" ] || [ -L "$CT_PATH" ]; then
      cp -a -- "$CT_PATH" "$CT_ORIG.orig" || fail "could not save the original $CT_PATH"; ct_was=present
    else
      ct_was=absent
    fi
    [ "$ct_dir_existed" = 0 ] && echo "$ct_dir" >"$CT_ORIG.madedir"
    if [ -n "$CT_OWNER" ]; then ct_record "$CT_ORIG.owner" "$CT_OWNER" || fail "could not record the owner of $CT_PATH"; fi
    ct_record "$CT_ORIG.meta" "$ct_was" "$CT_PATH" || fail "could not save the original $CT_PATH"
  fi
  rollback() {
    : >"$CT_ORIG.pending"
    if [ -n "$PREV" ]; then ct_put_back "$PREV/f" || echo "conntune: putting the previous $CT_PATH back failed" >&2; else rm -f -- "$CT_PATH"; fi
    if ( ct_activate ) >/dev/null 2>&1; then rm -f "$CT_ORIG.pending"; else echo "conntune: re-activating the previous $CT_PATH also failed" >&2; fi
  }
  if [ "$same" = 0 ]; then
    if [ -e "$CT_PATH" ] || [ -L "$CT_PATH" ]; then PREV=$(mktemp -d "$CT_STATE/prev.XXXXXX") && cp -a -- "$CT_PATH" "$PREV/f" || fail "cannot back up $CT_PATH"; fi
    # Set from the rename until the activation is done: if this script dies in between, the next apply activates.
    : >"$CT_ORIG.pending" || fail "cannot write $CT_ORIG.pending"
    if ! ct_commit; then
      rollback
      fail "cannot put the new file in place at $CT_PATH${PREV:+; the previous file is back}"
    fi
    if ! act_out=$(ct_activate 2>&1); then
      rollback
      fail "activating the new $CT_PATH failed; the previous file is back: $act_out"
    fi
    rm -f "$CT_ORIG.pending"
    ct_print_values "$act_out"
  elif [ "$CT_OP" = repair ]; then
    # The file is right but the host's runtime state drifted (e.g. a sysctl -w, a stopped unit): activate it again.
    act_out=$(ct_activate 2>&1) || fail "re-activating $CT_PATH to repair drift failed: $act_out"
    ct_print_values "$act_out"
  fi
  if ! ver_out=$(ct_verify 2>&1); then
    [ "$same" = 0 ] && rollback
    fail "the host does not show the wanted values after applying $CT_PATH${PREV:+; the previous file is back}: $(grep -v '^ct:' <<<"$ver_out")"
  fi
  # This resource owns the file from now on (a replacement takes it over; the original stays the one saved first).
  ct_owner_now=""
  [ -f "$CT_ORIG.owner" ] && { IFS= read -r ct_owner_now <"$CT_ORIG.owner"; } 2>/dev/null
  if [ -n "$CT_OWNER" ] && [ "$ct_owner_now" != "$CT_OWNER" ]; then
    ct_record "$CT_ORIG.owner" "$CT_OWNER" || fail "could not record the owner of $CT_PATH"
  fi
  printf '%s\n' "$ver_out"
  if [ "$same" = 0 ]; then echo "ct:changed=yes"; else echo "ct:changed=no"; fi
}

# delete: the original back byte for byte (or no file), by the resource that owns the file only.
ct_script_delete() {
  if [ "$CT_OP" = delete ]; then
    trap ct_cleanup_stages EXIT
    ct_owner=$(cat "$CT_ORIG.owner" 2>/dev/null)
    if [ -e "$CT_ORIG.meta" ] && [ -n "$ct_owner" ] && [ -n "$CT_OWNER" ] && [ "$ct_owner" != "$CT_OWNER" ]; then
      echo "ct-warn:$CT_PATH belongs to another conntune resource now ($ct_owner, e.g. this one's replacement): left as it is, its original kept for that resource" >&2
      echo "ct:restored=no"
      exit 0
    fi
    ct_dir_err=$(ct_check_dir 2>&1) || fail "$ct_dir_err"
    ( ct_before_restore ) || echo "conntune: preparing to restore $CT_PATH failed" >&2
    if [ -e "$CT_ORIG.meta" ]; then
      if [ "$(head -n1 "$CT_ORIG.meta")" = present ]; then
        mkdir -p "$ct_dir" && ct_put_back "$CT_ORIG.orig" || fail "cannot restore $CT_PATH"
      else
        rm -f -- "$CT_PATH"
      fi
      ( ct_restore_original ) || echo "conntune: restoring runtime values for $CT_PATH failed" >&2
      # A directory conntune created goes away again with the last file in it (another resource's, maybe).
      if [ -e "$CT_ORIG.madedir" ] || [ -e "$CT_MADE" ]; then
        if rmdir "$ct_dir" 2>/dev/null; then rm -f "$CT_MADE"; else echo "$ct_dir" >"$CT_MADE"; fi
      fi
      rm -rf -- "$CT_ORIG.orig"; rm -f "$CT_ORIG.meta" "$CT_ORIG".*
    else
      echo "conntune: no saved original for $CT_PATH (never applied here?); leaving it as it is" >&2
    fi
    out=$(ct_deactivate 2>&1) || fail "re-activating after restoring $CT_PATH failed: $out"
    echo "ct:restored=$CT_PATH"
    exit 0
  fi
}
