# shellcheck shell=bash
# PING round trips to a Redis port, in bash alone (/dev/tcp and $EPOCHREALTIME, no redis-cli): shared
# by the monitor's check script and the live probe of `npm run health` (both take the definitions in).
# A Redis that asks for a password answers every PING with -NOAUTH: still one round trip each.

# ct_now_us: the wall clock in microseconds into $ct_us ($EPOCHREALTIME without its decimal mark,
# whatever the locale); no subshell, so that measuring costs no fork.
ct_now_us() {
  ct_us=${EPOCHREALTIME//[.,]/}
  ct_us=$((10#$ct_us))
}

# ct_ms US: microseconds as milliseconds with two decimals.
ct_ms() {
  printf '%d.%02d' "$(($1 / 1000))" "$((($1 % 1000) / 10))"
}

# ct_latency ADDRESS PORT SECONDS P50_MS P99_MS: one line, `latency p50=…ms p99=…ms n=N target p50<…ms
# p99<…ms ok|SLOW`, or `latency unavailable: WHY`. Exit 0 for ok, 1 for SLOW, 2 when unavailable.
ct_latency() {
  local addr=$1 port=$2 secs=$3 t50=$4 t99=$5 rtts=() line t0 t1 end n i50 i99 p50 p99 verdict rc
  if ! { exec 3<>"/dev/tcp/$addr/$port"; } 2>/dev/null; then
    echo "latency unavailable: cannot connect to $addr:$port"; return 2
  fi
  ct_now_us; end=$((ct_us + secs * 1000000))
  while [ "$ct_us" -lt "$end" ] && [ "${#rtts[@]}" -lt 100000 ]; do
    ct_now_us; t0=$ct_us
    printf 'PING\r\n' >&3 || break
    IFS= read -r -t 2 line <&3; rc=$?
    ct_now_us; t1=$ct_us
    if [ "$rc" -gt 128 ]; then rtts=(); line="no answer within 2 s"; break; fi
    if [ "$rc" -ne 0 ]; then rtts=(); line="the connection was closed"; break; fi
    case "$line" in
      +PONG*|-NOAUTH*|-ERR*|-NOPERM*) rtts+=("$((t1 - t0))") ;;
      *) rtts=(); line="no PONG but: ${line:0:60}"; break ;;
    esac
    # About 100 round trips a second (a probe, not a load test): the wait is a read that times out.
    IFS= read -r -t 0.01 line <&3; rc=$?
    if [ "$rc" -le 128 ]; then rtts=(); line="the connection was closed or answered unasked: ${line:0:60}"; break; fi
  done
  exec 3<&- 3>&-
  n=${#rtts[@]}
  if [ "$n" -eq 0 ]; then echo "latency unavailable: $addr:$port: ${line//$'\r'/}"; return 2; fi
  mapfile -t rtts < <(printf '%s\n' "${rtts[@]}" | sort -n)
  # Nearest rank: the smallest sample with at least 50 % (99 %) of the samples at or below it.
  i50=$(((n * 50 + 99) / 100 - 1)); i99=$(((n * 99 + 99) / 100 - 1))
  p50=${rtts[$i50]}; p99=${rtts[$i99]}
  verdict=ok
  awk -v a="$p50" -v b="$p99" -v x="$t50" -v y="$t99" 'BEGIN { exit !(a / 1000 < x + 0 && b / 1000 < y + 0) }' || verdict=SLOW
  echo "latency p50=$(ct_ms "$p50")ms p99=$(ct_ms "$p99")ms n=$n target p50<${t50}ms p99<${t99}ms $verdict"
  [ "$verdict" = ok ]
}
