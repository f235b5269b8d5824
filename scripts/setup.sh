#!/usr/bin/env bash
# Install what conntune's commands need, once; fast when everything is in place.
#   scripts/setup.sh [test|demo|bench]   (default: test, everything the tests use)
#   - Debian packages: debootstrap, systemd-container (nspawn), iproute2, openssh-client, util-linux;
#     for the tests also redis-server, etcd-server, openssl, shellcheck,
#     postgresql (its server binaries: the team-state tests run a throwaway cluster of their own)
#     (bench: redis-server)
#   - npm packages from package-lock.json (npm ci)
#   - the Pulumi toolchain (scripts/toolchain.sh: CLI, language host, plugins; built from Go modules)
#   - for the tests only: kube-apiserver and actionlint (built from their Go modules)
#   - the test-host image (scripts/hostimage.sh), when this machine can run test hosts (root)
set -euo pipefail
PROFILE=${1:-test}
case "$PROFILE" in test|demo|bench) ;; *) echo "usage: scripts/setup.sh [test|demo|bench] (got '$PROFILE')" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

command -v node >/dev/null || { echo "Node.js >= 20 is required" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "Node.js >= 20 is required (found $(node --version))" >&2; exit 1; }

# Debian packages for test hosts (only where apt exists and we are root; elsewhere tests skip with a reason).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  command -v nsenter >/dev/null || missing+=(util-linux)
  if [ "$PROFILE" != demo ]; then
    command -v redis-server >/dev/null || missing+=(redis-server) # proves rendered redis.conf files; the burst benchmark
  fi
  if [ "$PROFILE" = test ]; then
    command -v etcd >/dev/null || missing+=(etcd-server)          # backs the test kube-apiserver
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql) # the team-state tests start their own cluster
    command -v openssl >/dev/null || missing+=(openssl)
    command -v shellcheck >/dev/null || missing+=(shellcheck)     # the unit tests check every host-side .sh file
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/conntune-apt.log 2>&1 || {
      DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/conntune-apt.log 2>&1 \
        || { tail -n 20 /tmp/conntune-apt.log >&2; echo "apt-get install ${missing[*]} failed" >&2; exit 1; }
    }
  fi
fi

# npm packages, exactly as locked.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >/tmp/conntune-npm.log 2>&1 || { tail -n 20 /tmp/conntune-npm.log >&2; echo "npm ci failed" >&2; exit 1; }
fi

bash scripts/toolchain.sh >/dev/null
if [ "$PROFILE" = test ] && command -v go >/dev/null; then
  # kube-apiserver for the live-mode Kubernetes tests, built from its Go module (cached).
  bash scripts/kube-apiserver.sh >/dev/null
  # actionlint checks the GitOps workflows (built from its Go module, cached).
  bash scripts/actionlint.sh >/dev/null
fi

if [ "$(id -u)" = 0 ] && command -v debootstrap >/dev/null; then
  bash scripts/hostimage.sh >/dev/null
fi
log "ready"
