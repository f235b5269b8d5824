#!/bin/bash
# @HEADER@
# Connection health check (seed 001 levels). Reads CT_* settings from its service unit.
set -u
# @LATENCY@
count() { ss -Htn state established "( sport = :$1 or dport = :$1 )" 2>/dev/null | wc -l; }
state=${CT_STATE_DIR:-/var/lib/conntune}
# The state directory must be root's own and writable by nobody else: the samples decide a level and
# the stamp the restarts, and a file there is only ever replaced by an atomic mv, never written through.
state_ok() {
  [ -e "$state" ] || mkdir -m 0755 "$state" 2>/dev/null
  [ -d "$state" ] && [ ! -L "$state" ] && [ -z "$(find "$state" -maxdepth 0 \( ! -user 0 -o -perm /022 \))" ]
}
# put FILE: stdin becomes FILE (a new file with an unpredictable name, then renamed over it).
put() {
  local t
  t=$(mktemp "$state/.conn-monitor.XXXXXX") || return 1
  cat >"$t" && chmod 0644 "$t" && mv -f "$t" "$1" || { rm -f "$t"; return 1; }
}
for p in $CT_PORTS; do echo "port $p established=$(count "$p")"; done
echo "time_wait=$(ss -Htn state time-wait 2>/dev/null | wc -l)"
for svc in ${CT_SERVICES:-}; do
  pid=$(systemctl show -p MainPID --value "$svc" 2>/dev/null)
  if [ -n "$pid" ] && [ "$pid" != 0 ]; then echo "open_files $svc=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)"; fi
done
n=$(count "$CT_ALERT_PORT")
if [ "$n" -le "$CT_HEALTHY_MAX" ]; then level=HEALTHY
elif [ "$n" -le "$CT_WARNING_MAX" ]; then level=WARNING
elif [ "$n" -le "$CT_LEAK_MAX" ]; then level=LEAK
else level=CRITICAL; fi
# Growth (seed 001's diagnosis: the count sampled again and again): the last CT_GROWTH_SAMPLES counts
# of the alert port are kept; when all of them are there, none fell and the rise is at least
# CT_GROWTH_MIN, it is a leak even below the leak threshold.
growth=""
if [ "${CT_GROWTH_SAMPLES:-0}" -gt 0 ]; then
  samples_file="$state/conn-monitor.samples.$CT_ALERT_PORT"
  if state_ok; then
    old=""
    [ -f "$samples_file" ] && [ ! -L "$samples_file" ] && old=$(grep -E '^[0-9]+$' "$samples_file" | tail -n $((CT_GROWTH_SAMPLES - 1)))
    samples=$(printf '%s\n%s\n' "$old" "$n" | grep -E '^[0-9]+$')
    printf '%s\n' "$samples" | put "$samples_file" || echo "growth: cannot write $samples_file"
    if [ "$(wc -l <<<"$samples")" -ge "$CT_GROWTH_SAMPLES" ] && sort -n -c <<<"$samples" 2>/dev/null; then
      rise=$((n - $(head -n 1 <<<"$samples")))
      if [ "$rise" -ge "$CT_GROWTH_MIN" ]; then
        growth=" growth=+$rise samples=$(paste -sd, <<<"$samples")"
        case "$level" in HEALTHY|WARNING) level=LEAK ;; esac
      fi
    fi
  else
    echo "growth: not sampled: $state is not a directory of root's that only root can write"
  fi
fi
echo "level=$level port=$CT_ALERT_PORT connections=$n$growth"
if [ "${CT_LATENCY:-no}" = yes ]; then
  ct_latency "$CT_LATENCY_ADDRESS" "$CT_ALERT_PORT" "$CT_LATENCY_SECONDS" "$CT_LATENCY_P50_MS" "$CT_LATENCY_P99_MS"
fi
if [ "$level" = CRITICAL ] && [ -n "${CT_ACTION_UNIT:-}" ]; then
  stamp="$state/conn-monitor.last-action"
  now=$(date +%s); last=0
  [ -f "$stamp" ] && [ ! -L "$stamp" ] && last=$(grep -m1 -E '^[0-9]+$' "$stamp" || echo 0)
  if [ $((now - last)) -ge "$CT_COOLDOWN" ]; then
    # No stamp, no restart: without it the cooldown could not hold.
    if ! state_ok || ! echo "$now" | put "$stamp"; then echo "action=skipped: cannot record the restart in $stamp"
    elif systemctl restart "$CT_ACTION_UNIT"; then echo "action=restarted $CT_ACTION_UNIT"; else echo "action=restart of $CT_ACTION_UNIT failed"; fi
  else
    echo "action=skipped: cooldown, $((CT_COOLDOWN - (now - last))) s left"
  fi
fi
exit 0
