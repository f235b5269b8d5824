#!/bin/bash
# The live probe of `npm run drift` and `npm run health` (scripts/liveProbe.ts fills in the
# tokens, each a quoted word, and runs it as root over a fresh SSH login). Read-only: it reads Redis
# (INFO, CLIENT LIST), ss, systemctl and the monitor's journal, and pings Redis; it writes nothing.
# stdin, line 1: the Redis password (empty for none); it reaches only redis-cli's environment.
set -u
IFS= read -r ct_secret
port=@PORT@
redis_user=@REDIS_USER@
redis_service=@REDIS_SERVICE@
mode=@MODE@
runs_on=@RUNS_ON@
# shellcheck disable=SC2206 # unit names only (checked by the schema), one word each
units=(@UNITS@)
# @LATENCY@

# cli: redis-cli on the Redis port, the commands on stdin.
cli() {
  local a=(-p "$port")
  [ -n "$redis_user" ] && a+=(--user "$redis_user")
  if [ -n "$ct_secret" ]; then REDISCLI_AUTH="$ct_secret" redis-cli "${a[@]}"; else redis-cli "${a[@]}"; fi
}

if [ -n "$redis_service" ]; then
  echo "redis_service $redis_service $(systemctl is-active "$redis_service" 2>/dev/null)"
  if ! command -v redis-cli >/dev/null; then
    echo "redis_error redis-cli is not installed on this host"
  else
    # One connection for every command: CLIENT ID names the probe's own client, to leave it out.
    echo "== redis"
    printf '%s\n' 'CLIENT ID' 'ECHO ct:info' 'INFO clients' 'INFO stats' 'ECHO ct:clients' 'CLIENT LIST' 'ECHO ct:end' | cli 2>&1 | tr -d '\r'
    echo "== end"
  fi
  # The kernel's view, as seed 001 counts (both ends of every established connection on the port),
  # and the server side's peers.
  echo "established $(ss -Htn state established "( sport = :$port or dport = :$port )" 2>/dev/null | wc -l)"
  ss -Htn state established "( sport = :$port )" 2>/dev/null | awk '{ p = $4; sub(/:[0-9]+$/, "", p); gsub(/^\[|\]$/, "", p); sub(/^::ffff:/, "", p); print p }' | sort | uniq -c | awk '{ print "ss_peer " $2 " " $1 }'
fi

# The clients' side of a Redis on another machine (hosts[i].redis.runsOn): this host's established
# connections to it, resolved the way its clients resolve the name, with the process holding each.
if [ -n "$runs_on" ]; then
  dst=$(getent ahostsv4 "$runs_on" 2>/dev/null | awk 'NR == 1 { print $1 }')
  echo "client_dst $runs_on ${dst:-unresolved}"
  filter="( dport = :$port )"
  [ -n "$dst" ] && filter="( dport = :$port and dst $dst )"
  ss -Htnp state established "$filter" 2>/dev/null | head -n 100000 | sed 's/^/client_ss /'
fi

if [ "$mode" = health ]; then
  for u in "${units[@]}"; do echo "unit $u $(systemctl is-active "$u" 2>/dev/null)"; done
  monitor=@MONITOR_UNIT@
  if [ -f "/etc/systemd/system/$monitor.timer" ]; then
    echo "monitor_timer $(systemctl is-active "$monitor.timer" 2>/dev/null)"
    # Its own unit's lines, logged by root: any account can log under its identifier (logger -t).
    log=$(journalctl -t "$monitor" _SYSTEMD_UNIT="$monitor.service" _UID=0 -o cat --no-pager -n 200 2>/dev/null)
    grep -E '^level=' <<<"$log" | tail -n 1 | sed 's/^/monitor_level /'
    grep -E '^latency ' <<<"$log" | tail -n 1 | sed 's/^/monitor_latency /'
  else
    echo "monitor_timer none"
  fi
  if [ -n "$redis_service" ]; then
    ct_latency @LATENCY_ADDRESS@ "$port" @LATENCY_SECONDS@ @LATENCY_P50_MS@ @LATENCY_P99_MS@ | sed 's/^/probe_/'
  fi
fi
exit 0
