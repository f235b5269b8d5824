#!/bin/bash
# @HEADER@
# Connection health check (seed 001 levels). Reads CT_* settings from its service unit.
set -u
count() { ss -Htn state established "( sport = :$1 or dport = :$1 )" 2>/dev/null | wc -l; }
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
echo "level=$level port=$CT_ALERT_PORT connections=$n"
if [ "$level" = CRITICAL ] && [ -n "${CT_ACTION_UNIT:-}" ]; then
  stamp=/var/lib/conntune/conn-monitor.last-action
  now=$(date +%s); last=$(cat "$stamp" 2>/dev/null || echo 0)
  if [ $((now - last)) -ge "$CT_COOLDOWN" ]; then
    mkdir -p /var/lib/conntune && echo "$now" >"$stamp"
    if systemctl restart "$CT_ACTION_UNIT"; then echo "action=restarted $CT_ACTION_UNIT"; else echo "action=restart of $CT_ACTION_UNIT failed"; fi
  else
    echo "action=skipped: cooldown, $((CT_COOLDOWN - (now - last))) s left"
  fi
fi
exit 0
