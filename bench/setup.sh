#!/usr/bin/env bash
# What the benchmarks need beyond scripts/setup.sh: Debian's ansible-core (the comparison tool).
set -euo pipefail
if ! command -v ansible-playbook >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || { echo "the benchmark needs ansible-playbook (Debian package ansible-core)" >&2; exit 1; }
  echo "[bench setup] installing Debian's ansible-core" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ansible-core >/tmp/conntune-apt-bench.log 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ansible-core >/tmp/conntune-apt-bench.log 2>&1 \
      || { tail -n 20 /tmp/conntune-apt-bench.log >&2; echo "apt-get install ansible-core failed" >&2; exit 1; }
  }
fi
