# shellcheck shell=bash
# A unit drop-in: the host side (see hooks.ts for the variables). Validated with
# `systemd-analyze verify`, then daemon-reload and the unit's restart policy (an override of sshd's
# own unit behind the lockout guard: hook_activate_guarded), read back with `systemctl show`.

ct_apply_unit() {
  # A reload racing another manager operation can drop off the bus: retry briefly.
  local i out
  for i in 1 2 3 4 5; do systemctl daemon-reload && break; [ "$i" = 5 ] && return 1; sleep 1; done
  case "$CT_RESTART" in
    restart)
      if systemctl is-active -q "$CT_UNIT"; then
        : >"$CT_ORIG.was-active"
        out=$(systemctl restart "$CT_UNIT" 2>&1) || { echo "systemctl restart $CT_UNIT failed: $out"; return 1; }
      elif [ -e "$CT_ORIG.was-active" ] || { [ "${CT_OP:-apply}" = repair ] && [ -e "$CT_ORIG.active" ]; }; then
        # It ran until conntune's restart failed, or (repair) it ran after the last apply and has stopped since: bring it back up.
        systemctl reset-failed "$CT_UNIT" 2>/dev/null
        out=$(systemctl restart "$CT_UNIT" 2>&1) || { echo "systemctl restart $CT_UNIT failed: $out"; return 1; }
      fi
      rm -f "$CT_ORIG.was-active" ;;
    reload) if systemctl is-active -q "$CT_UNIT"; then systemctl reload "$CT_UNIT"; fi ;;
    none) : ;;
  esac
}

hook_preflight() {
  [ -d /run/systemd/system ] || { echo "systemd is not running on this host"; exit 1; }
  systemctl cat "$CT_UNIT" >/dev/null 2>&1 || { echo "unit $CT_UNIT does not exist on this host"; exit 1; }
}

hook_validate() {
  frag=$(systemctl show -p FragmentPath --value "$CT_UNIT")
  t=$(mktemp -d); mkdir -p "$t/$CT_UNIT.d"
  [ -n "$frag" ] && cp "$frag" "$t/$CT_UNIT"
  cp "$NEW" "$t/$CT_UNIT.d/${CT_PATH##*/}"
  out=$(SYSTEMD_UNIT_PATH="$t:" systemd-analyze verify "$t/$CT_UNIT" 2>&1); rc=$?
  mine=$(grep -F "$t/$CT_UNIT.d/" <<<"$out")
  rm -rf "$t"
  # systemd-analyze only warns on unknown keys: treat any complaint about the drop-in as an error.
  if [ -n "$mine" ]; then echo "systemd-analyze verify rejects the drop-in: $(sed "s#$t/##g" <<<"$mine")"; exit 1; fi
  [ $rc = 0 ] || echo "ct-warn:systemd-analyze verify $CT_UNIT reports problems outside conntune's drop-in: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
  exit 0
}

hook_activate() {
  # include: ct_apply_unit
  ct_apply_unit
}

hook_activate_guarded() {
  # include: login_probe ct_apply_unit
  ct_apply_unit || exit 1
  ct_login_probe "the $CT_RESTART of $CT_UNIT" || exit 1
}

hook_verify() {
  bad=0
  IFS=';' read -ra props <<<"$CT_SHOW"
  # One `systemctl show` for every property read here (each call is a process and a manager request).
  show=(-p ActiveState -p MainPID)
  for p in "${props[@]}"; do [ -n "$p" ] && show+=(-p "${p%%=*}"); done
  declare -A shown=()
  while IFS= read -r line; do [[ "$line" == *=* ]] && shown[${line%%=*}]=${line#*=}; done < <(systemctl show "${show[@]}" "$CT_UNIT")
  for p in "${props[@]}"; do
    [ -n "$p" ] || continue
    k=${p%%=*}; want=${p#*=}
    got=${shown[$k]-}
    echo "ct:$k=$got"
    [ "$got" = "$want" ] || { echo "$CT_UNIT: systemctl show $k is '$got', wanted '$want'"; bad=1; }
  done
  if [ "$CT_RESTART" = restart ]; then
    # Running after the apply and stopped since is drift: the repair starts it again (ct_apply_unit).
    st=${shown[ActiveState]-}; echo "ct:ActiveState=$st"
    if [ "${CT_OP:-apply}" = read ]; then
      [ "$st" = active ] || [ ! -e "$CT_ORIG.active" ] || { echo "$CT_UNIT: ActiveState is $st, it was active after conntune's last apply"; bad=1; }
    elif [ "$st" = active ]; then : >"$CT_ORIG.active"; else rm -f "$CT_ORIG.active"; fi
  fi
  pid=${shown[MainPID]-}
  if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -r "/proc/$pid/limits" ]; then
    while IFS= read -r line; do
      [[ "$line" == "Max open files "* ]] && { read -r _ _ _ soft hard _ <<<"$line"; echo "ct:process_nofile=$soft:$hard"; break; }
    done <"/proc/$pid/limits"
  fi
  exit $bad
}

hook_deactivate() {
  # include: ct_apply_unit
  ct_apply_unit
}
