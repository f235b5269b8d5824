# shellcheck shell=bash
# redis.conf on a host: the host side (see hooks.ts for the variables). Pre-flight logs in to the
# running Redis; validate starts a throwaway redis-server with the candidate; activate uses CONFIG SET
# where Redis allows it and a restart only where it does not; verify reads back with CONFIG GET.

ct_cli() {
  local a=(-p "$CT_REDIS_PORT")
  [ -n "$CT_REDIS_USER" ] && a+=(--user "$CT_REDIS_USER")
  if [ -n "${CT_SECRET:-}" ]; then REDISCLI_AUTH="$CT_SECRET" redis-cli "${a[@]}" "$@"; else redis-cli "${a[@]}" "$@"; fi
}

ct_directives() { awk -v m="$CT_REDIS_KEPT_MARK" '$0==m{exit} {print}' "$1" | grep -vE '^[[:space:]]*(#|$)'; }

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
  ct_try_out=$(timeout 3 "$@" --port 0 --unixsocket "$t/redis.sock" --unixsocketperm 700 --dir "$t" --daemonize no --supervised no \
    --pidfile "$t/redis.pid" --logfile "" --appendonly no --save "" 2>&1); rc=$?
  rm -rf "$t"
  return $rc
}

hook_preflight() {
  # include: ct_cli ct_directives ct_redis_user ct_redis_try
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
      echo "Redis refuses the password in conntune:$CT_REDIS_SECRET_NAME (redis.auth.passwordSecret) for user ${CT_REDIS_USER:-default} (redis.auth.user): $(grep -m1 -o 'WRONGPASS.*' <<<"$out"); nothing was changed"; exit 1
    elif grep -q NOAUTH <<<"$out"; then
      echo "Redis ($CT_REDIS_SERVICE, port $CT_REDIS_PORT) requires authentication and redis.auth.passwordSecret is not set: set it to the name of a secret config key holding the password (and redis.auth.user for an ACL user); nothing was changed"; exit 1
    elif grep -q NOPERM <<<"$out"; then
      echo "the Redis user ${CT_REDIS_USER:-default} (redis.auth.user) may not run CONFIG: $(grep -m1 -o 'NOPERM.*' <<<"$out"); give it +config|get +config|set +ping or name another user; nothing was changed"; exit 1
    else
      # Only a positive answer lets the apply go on: anything else (CONFIG renamed away, a TLS-only
      # port, still loading) would end in failed CONFIG SETs, a restart and a rollback.
      echo "cannot read the running Redis's config ($CT_REDIS_SERVICE, port $CT_REDIS_PORT) with CONFIG GET: $(tr '\n' ' ' <<<"$out" | cut -c1-200); nothing was changed"; exit 1
    fi
  fi
  exit 0
}

hook_validate() {
  # include: ct_redis_user ct_redis_try
  if [ -f "$CT_PATH" ] && [ ! -L "$CT_PATH" ] && kept=$(grep -iE "^[[:space:]]*($CT_REDIS_KEEP)[[:space:]]" "$CT_PATH"); then
    printf '%s\n%s\n' "$CT_REDIS_KEPT_MARK" "$kept" >>"$NEW" || { echo "cannot carry the host's auth lines over"; exit 1; }
  fi
  ct_redis_try <"$NEW"
  [ $? = 124 ] || { echo "redis-server refuses the new config: $(tail -n 6 <<<"$ct_try_out" | tr '\n' ' ')"; exit 1; }
}

hook_activate() {
  # include: ct_cli ct_directives
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
    # shellcheck disable=SC2034 # i only counts the tries
    for i in $(seq 1 50); do ct_cli ping 2>/dev/null | grep -qx PONG && break; sleep 0.1; done
    echo "ct:redis_restarted_for=${restart_for# }"
  fi
  echo "ct:redis_applied_live=${live# }"
}

hook_verify() {
  # include: ct_cli ct_directives
  kept=$(awk -v m="$CT_REDIS_KEPT_MARK" 'f && !/^[[:space:]]*(#|$)/ {print $1} $0==m{f=1}' "$CT_PATH" | sort -u | tr '\n' ' ')
  echo "ct:redis_kept=${kept% }"
  systemctl is-active -q "$CT_REDIS_SERVICE" || { echo "ct:redis_running=no"; exit 0; }
  bad=0
  while read -r k v; do
    [ "$v" = '""' ] && v=""
    case "$k" in include|rename-command) continue ;; esac
    got=$(ct_cli config get "$k" 2>/dev/null | sed -n 2p)
    echo "ct:$k=$got"
    [ "$got" = "$v" ] || { echo "redis reports $k=$got, wanted $v"; bad=1; }
  done < <(ct_directives "$CT_PATH")
  exit $bad
}

hook_deactivate() {
  if systemctl is-active -q "$CT_REDIS_SERVICE"; then systemctl restart "$CT_REDIS_SERVICE"; fi
}

# What of the file is conntune's, for the refresh: the lines above the kept-lines mark. The host's own
# auth directives (CT_REDIS_KEEP: requirepass, user, masterauth, …) never leave the host, wherever
# they stand (CONFIG REWRITE or a hand edit can put them above the mark): such a line is shown as its
# directive and a placeholder, so it still counts as drift without its value reaching the state.
hook_ownContent() {
  awk -v m="$CT_REDIS_KEPT_MARK" -v keep="^[[:space:]]*($CT_REDIS_KEEP)([[:space:]]|$)" \
    '$0==m{exit} tolower($0) ~ keep {print $1 " [the host'"'"'s own, not read by conntune]"; next} {print}' "$CT_PATH"
}
