#!/usr/bin/env bash
# conntune toolchain step: make the Pulumi CLI, the Node.js language host and the provider plugins
# that the installed npm SDKs ask for available, building them from Go modules where they cannot be
# downloaded. Idempotent: a warm run only checks stamps and prints the environment file.
#
#   scripts/toolchain.sh            ensure everything, print the path of the env file to source
#   scripts/toolchain.sh --check    exit 0 only if everything is already in place (no building)
#
# Cache: $CONNTUNE_CACHE (default /var/cache/conntune), outside the clone so that later runs and CI
# on the same machine reuse it. Nothing here touches the machine's /etc. The exception is conntune's
# own command provider: built per clone into node_modules/.cache/conntune-command-provider (below).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CONNTUNE_CACHE:-/var/cache/conntune}
CHECK_ONLY=false
[ "${1:-}" = "--check" ] && CHECK_ONLY=true

# Versions. The CLI is the newest pkg/v3 release the module proxy serves here; the SDK in
# package.json is pinned to the same version. The plugin versions come from the installed SDKs.
PULUMI_VERSION=3.259.0
# The Node.js language host: the newest release in which it is part of the sdk/v3 module (from 3.69
# on it is its own module, which the proxy here does not serve). See README "Toolchain".
LANGHOST_SDK_VERSION=3.68.0
# pulumi-kubernetes provider module: the commit the proxy serves (pseudo-version) and the release it
# belongs to.
K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199

log() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[toolchain] ERROR: %s\n' "$*" >&2; exit 1; }

sdk_plugin_version() { # $1 = npm package dir; prints the plugin version its install script asks for
  local pj="$ROOT/node_modules/$1/package.json"
  [ -f "$pj" ] || die "$pj is missing: run 'npm ci' first"
  node -e 'const p=require(process.argv[1]); const m=/resource \S+ v?(\S+)/.exec((p.scripts||{}).install||""); console.log(m?m[1]:String(p.version).replace(/^v/,""))' "$pj"
}

TC="$CACHE/toolchain/pulumi-v$PULUMI_VERSION"
BIN="$TC/bin"
export PULUMI_HOME="$CACHE/pulumi-home"
ENVFILE="$CACHE/env.sh"
WORK="$CACHE/build"
mkdir -p "$BIN" "$PULUMI_HOME" "$WORK" 2>/dev/null || die "cannot create the cache directory $CACHE (set CONNTUNE_CACHE to a writable path)"

# Run a long command with a heartbeat so that a build of many minutes shows it is alive.
with_progress() { # $1 = label, rest = command; output goes to a log file, shown on failure
  local label=$1; shift
  local logf
  logf="$WORK/$(echo "$label" | tr -c 'a-zA-Z0-9' '_').log"
  local start=$SECONDS
  log "$label: started (log: $logf)"
  "$@" >"$logf" 2>&1 &
  local pid=$! next=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -ge "$next" ]; then
      log "$label: still working, $((SECONDS - start)) s"; next=$((SECONDS + 30))
    fi
  done
  if ! wait "$pid"; then
    tail -n 40 "$logf" >&2
    if grep -qE 'dial tcp|no such host|403 Forbidden|not available|connection refused|i/o timeout' "$logf"; then
      die "$label failed: a Go module could not be fetched (no network to the Go module proxy, or the proxy does not serve it). Full log: $logf"
    fi
    die "$label failed after $((SECONDS - start)) s. Full log: $logf"
  fi
  log "$label: done in $((SECONDS - start)) s"
}

need_go() {
  # conntune's command provider is always built here, so Go is needed on every machine; its go.mod
  # names the oldest Go that builds it (and the Pulumi toolchain, where it is built, needs no newer).
  local want v
  want=$(sed -n 's/^go //p' "$ROOT/tools/command-provider/go.mod")
  command -v go >/dev/null 2>&1 || die "Go is not installed: Go >= $want is needed to build conntune's command provider (https://go.dev/dl)"
  v=$(go env GOVERSION | sed 's/^go//')
  node -e 'const a=process.argv[1].split(/[.a-z-]/).map(Number), b=process.argv[2].split(".").map(Number); for (let i=0;i<3;i++){ if((a[i]||0)!==(b[i]||0)) process.exit((a[i]||0)>(b[i]||0)?0:1);} process.exit(0)' "$v" "$want" \
    || die "Go $v is too old: Go >= $want is needed to build conntune's command provider (tools/command-provider/go.mod)"
}

# A throwaway main module that requires the target at an exact version. Replace directives of the
# target's own go.mod do not apply to dependents, so the non-local ones are repeated here and the
# local ones (../sdk) become plain requirements at the same version.
wrapper_module() { # $1 = dir, $2 = go.mod body
  rm -rf "$1"; mkdir -p "$1"
  printf '%s\n' "$2" >"$1/go.mod"
}

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
# The checksum database has no entry for the pulumi-kubernetes provider's pseudo-version (404), so
# that one module is taken on the proxy's word; every other module is still verified.
export GONOSUMDB=github.com/pulumi/pulumi-kubernetes/provider

build_cli() {
  local d="$WORK/cli-$PULUMI_VERSION"
  wrapper_module "$d" "module conntune.local/toolchain/cli

go 1.26

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"
  with_progress "resolve pulumi CLI modules" bash -c "cd '$d' && go mod download github.com/pulumi/pulumi/pkg/v3 && go get github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION"
  with_progress "build pulumi CLI v$PULUMI_VERSION (several minutes on 2 cores)" bash -c "cd '$d' && go build -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION' -o '$BIN/pulumi.tmp' github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
  mv "$BIN/pulumi.tmp" "$BIN/pulumi"
}

build_langhost() {
  local d="$WORK/langhost-$LANGHOST_SDK_VERSION"
  wrapper_module "$d" "module conntune.local/toolchain/langhost

go 1.26

require github.com/pulumi/pulumi/sdk/v3 v$LANGHOST_SDK_VERSION

replace golang.org/x/text => golang.org/x/text v0.3.6"
  with_progress "resolve language host modules" bash -c "cd '$d' && go get github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@v$LANGHOST_SDK_VERSION"
  with_progress "build pulumi-language-nodejs (sdk v$LANGHOST_SDK_VERSION)" bash -c "cd '$d' && go build -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$LANGHOST_SDK_VERSION' -o '$BIN/pulumi-language-nodejs.tmp' github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
  mv "$BIN/pulumi-language-nodejs.tmp" "$BIN/pulumi-language-nodejs"
}

# pulumi-resource-kubernetes: its go.mod replaces the sdk/v4 module with a local path, and main.go
# embeds two JSON files that `go generate` writes (they are not in the module zip). So: copy the
# module into a writable dir, require sdk/v4 at the release instead of ../sdk, generate, build.
build_kubernetes() { # $1 = version the SDK asks for
  local v=$1 src="$WORK/kubernetes-src"
  local zip="$WORK/kubernetes-provider.zip"
  with_progress "download pulumi-kubernetes provider module ($K8S_PROVIDER_MODULE_VERSION)" bash -c "
    go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_PROVIDER_MODULE_VERSION >'$WORK/kubernetes-dl.json' || { cat '$WORK/kubernetes-dl.json'; exit 1; }"
  local dir; dir=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).Dir)' "$WORK/kubernetes-dl.json")
  rm -rf "$src"; cp -r "$dir" "$src"; chmod -R u+w "$src"
  (cd "$src" && go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4 -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@v$v")
  with_progress "generate pulumi-kubernetes embedded schema" bash -c "cd '$src/cmd/pulumi-resource-kubernetes' && VERSION='$v' go run generate.go"
  with_progress "build pulumi-resource-kubernetes v$v (about 10 minutes on 2 cores)" bash -c "cd '$src' && go build -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$v' -o '$WORK/pulumi-resource-kubernetes' ./cmd/pulumi-resource-kubernetes"
  rm -f "$zip"
}

# conntune's own command:remote:Command provider (tools/command-provider), the only one conntune runs.
# It is built per clone into PROVIDER_DIR (gitignored, under node_modules so that every copy of the
# project that links node_modules, as the tests, the demo and the benchmarks do, runs this very
# binary) and named there by Pulumi.yaml (`plugins: providers: - name: command path: …`), which the
# engine prefers to the plugin cache for every version the SDK asks for. It reports its own version,
# the SDK's plus "+conntune.<source hash>", so it cannot be mistaken for upstream's pulumi-command.
# The shared plugin cache is not touched: other clones on this machine each run their own build.
# (CONNTUNE_PROVIDER_DIR: only the toolchain's own unit test sets it, to build into a temp dir.)
PROVIDER_DIR=${CONNTUNE_PROVIDER_DIR:-$ROOT/node_modules/.cache/conntune-command-provider}
command_provider_src() { # the provider's source (tests excluded), hashed in a fixed order
  (cd "$ROOT/tools/command-provider" && find . -maxdepth 1 -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs cat) | sha256sum | cut -d' ' -f1
}
command_provider_version() { # $1 = the SDK's plugin version
  printf '%s+conntune.%s' "$1" "$(command_provider_src | cut -c1-12)"
}
command_provider_current() { # $1 = the version it must report
  [ -x "$PROVIDER_DIR/pulumi-resource-command" ] && [ "$(cat "$PROVIDER_DIR/version" 2>/dev/null)" = "$1" ]
}
build_command_provider() { # $1 = the version to stamp
  local v=$1 tmp="$PROVIDER_DIR/pulumi-resource-command.$$"
  mkdir -p "$PROVIDER_DIR"
  with_progress "build conntune's command provider $v (tools/command-provider)" bash -c "cd '$ROOT/tools/command-provider' && go build -trimpath -ldflags '-s -w -X main.version=$v' -o '$tmp' ."
  mv "$tmp" "$PROVIDER_DIR/pulumi-resource-command"
  printf '%s\n' "$v" >"$PROVIDER_DIR/version"
  log "conntune's command provider $v: built into $PROVIDER_DIR"
}

# Register a provider binary in the plugin cache at the exact version the SDK asks for.
register_plugin() { # $1 = name, $2 = version, $3 = binary
  "$BIN/pulumi" plugin install resource "$1" "$2" --file "$3" --reinstall >/dev/null 2>"$WORK/plugin-install-$1.log" \
    || { cat "$WORK/plugin-install-$1.log" >&2; die "could not register plugin $1 v$2"; }
  log "plugin $1 v$2 registered"
}

plugin_present() { # $1 = name, $2 = version
  [ -x "$PULUMI_HOME/plugins/resource-$1-v$2/pulumi-resource-$1" ]
}

# The CLI archive ships small shell shims that start Node.js plugins shipped inside @pulumi/pulumi:
# dynamic providers (pulumi-resource-pulumi-nodejs) and policy packs (pulumi-analyzer-policy).
write_shims() {
  cat >"$BIN/pulumi-resource-pulumi-nodejs" <<'SH'
#!/bin/sh
exec node "$(node -p 'require.resolve("@pulumi/pulumi/cmd/dynamic-provider")')" "$@"
SH
  cat >"$BIN/pulumi-analyzer-policy" <<'SH'
#!/bin/sh
exec node "$(node -p 'require.resolve("@pulumi/pulumi/cmd/run-policy-pack")')" "$@"
SH
  chmod +x "$BIN/pulumi-resource-pulumi-nodejs" "$BIN/pulumi-analyzer-policy"
}

# A user's machine with the official CLI: use it when its version is at least ours.
use_installed_cli() {
  local ext v
  ext=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$BIN" | paste -sd:) command -v pulumi 2>/dev/null) || return 1
  v=$("$ext" version 2>/dev/null | sed 's/^v//') || return 1
  node -e 'const a=process.argv[1].split(/[.-]/).map(Number), b=process.argv[2].split(".").map(Number); for (let i=0;i<3;i++){ if((a[i]||0)!==b[i]) process.exit((a[i]||0)>b[i]?0:1);} process.exit(0)' "$v" "$PULUMI_VERSION" || {
    log "pulumi $v on PATH ($ext) is older than $PULUMI_VERSION: building $PULUMI_VERSION instead"; return 1; }
  ln -sf "$ext" "$BIN/pulumi"
  log "using the installed pulumi v$v ($ext)"
}

# The CLI is the user's own (a link to it, made by use_installed_cli): its plugin downloads may work.
installed_cli() { [ -L "$BIN/pulumi" ]; }

# With the user's own CLI, try its plugin download first (minutes saved against a ~12 min build);
# where it fails (no network to the plugin host, a proxy) fall back to building. Bounded: a
# black-holed network must not hang the step.
download_plugin() { # $1 = name, $2 = version
  installed_cli || return 1
  log "plugin $1 v$2: downloading with the installed CLI (pulumi plugin install)"
  if timeout "${CONNTUNE_PLUGIN_DOWNLOAD_TIMEOUT:-300}" "$BIN/pulumi" plugin install resource "$1" "$2" >"$WORK/plugin-download-$1.log" 2>&1 && plugin_present "$1" "$2"; then
    log "plugin $1 v$2: downloaded"
    return 0
  fi
  log "plugin $1 v$2: the download failed ($(tail -n 1 "$WORK/plugin-download-$1.log")): building it from its Go module instead"
  return 1
}

main() {
  if $CHECK_ONLY; then
    [ -x "$BIN/pulumi" ] && [ -x "$BIN/pulumi-language-nodejs" ] && plugin_present kubernetes "$(sdk_plugin_version @pulumi/kubernetes)" \
      && command_provider_current "$(command_provider_version "$(sdk_plugin_version @pulumi/command)")" && exit 0 || exit 1
  fi
  if [ ! -x "$BIN/pulumi" ]; then
    if use_installed_cli; then :; else need_go; build_cli; fi
  else log "pulumi CLI: cached ($(readlink -f "$BIN/pulumi"))"; fi
  if [ ! -x "$BIN/pulumi-language-nodejs" ]; then
    local bundled; bundled="$(dirname "$(readlink -f "$BIN/pulumi")")/pulumi-language-nodejs"
    if [ -x "$bundled" ]; then ln -sf "$bundled" "$BIN/pulumi-language-nodejs"; log "language host: the installed CLI's ($bundled)"
    else need_go; build_langhost; fi
  else log "language host: cached"; fi
  write_shims
  local kv; kv=$(sdk_plugin_version @pulumi/kubernetes)
  if plugin_present kubernetes "$kv"; then log "plugin kubernetes v$kv: cached"
  elif download_plugin kubernetes "$kv"; then :
  else
    need_go; build_kubernetes "$kv"; register_plugin kubernetes "$kv" "$WORK/pulumi-resource-kubernetes"; rm -f "$WORK/pulumi-resource-kubernetes"
  fi
  local cv; cv=$(command_provider_version "$(sdk_plugin_version @pulumi/command)")
  if command_provider_current "$cv"; then log "conntune's command provider $cv: cached"; else
    need_go; build_command_provider "$cv"
  fi
  automatic_log
  write_env
}

# The Pulumi CLI (since v3.2xx) writes an encrypted debug log of every command into
# $PULUMI_HOME/logs, holding each resource's inputs several times over: conntune's packed scripts,
# about 45 KB a host. Measured here on a 200-host preview: 10.5–10.9 s and 17.3 CPU seconds with
# it, 7.1–9.0 s and 11.1–14.3 without; about 50 MB of log per preview. It is for Pulumi's own
# support, not read by conntune (the engine's events and the stack's history are its record). So
# conntune's own PULUMI_HOME holds a file named `logs` (a note) where the CLI would make the
# directory: the CLI finds it unusable, notes "automatic logging unavailable" in its (unwritten)
# debug output and goes on, as it does on a read-only home.
#   CONNTUNE_PULUMI_LOGS=1  turns the log on for this cache (a directory marked as kept, left alone
#                           by later runs until CONNTUNE_PULUMI_LOGS=0)
#   CONNTUNE_PULUMI_LOGS=0  turns it off again (the kept logs go)
#   unset                   leaves that choice; a cache without it gets the note (off), and a logs
#                           directory the CLI made before conntune turned the log off is removed.
# Never fatal: the log is a cost, not a function.
automatic_log() {
  local d="$PULUMI_HOME/logs" keep="$PULUMI_HOME/logs/.conntune-keep" want=${CONNTUNE_PULUMI_LOGS:-}
  if [ -L "$d" ]; then log "the Pulumi CLI's automatic log: $d is a link, left as it is"; return 0; fi
  if [ "$want" = 1 ]; then
    [ -f "$d" ] && rm -f -- "$d"
    if mkdir -p -- "$d" 2>/dev/null && : >"$keep" 2>/dev/null; then log "the Pulumi CLI's automatic log: on, in $d (CONNTUNE_PULUMI_LOGS=0 turns it off)"
    else log "the Pulumi CLI's automatic log: could not make $d"; fi
    return 0
  fi
  [ -f "$d" ] && return 0
  if [ -d "$d" ]; then
    [ -e "$keep" ] && [ "$want" != 0 ] && return 0
    rm -rf -- "$d" 2>/dev/null
  fi
  if printf '%s\n' "conntune: the Pulumi CLI's automatic log is off in this PULUMI_HOME (this file stands where its directory would; see scripts/toolchain.sh automatic_log). Run setup with CONNTUNE_PULUMI_LOGS=1 to turn it on." >"$d" 2>/dev/null; then
    log "the Pulumi CLI's automatic log: off (CONNTUNE_PULUMI_LOGS=1 turns it on)"
  else
    log "the Pulumi CLI's automatic log: could not turn it off ($d is in use)"
  fi
  return 0
}

# The environment every conntune command runs the CLI with: the toolchain first on PATH, our own
# PULUMI_HOME (plugin cache), no update checks, and a missing plugin is an error, never a download.
write_env() {
  # A temp name of its own: two first runs at once (CI jobs, a test and the demo) must not interleave.
  local tmp; tmp=$(mktemp "$ENVFILE.XXXXXX")
  cat >"$tmp" <<ENV
export PATH="$BIN:\$PATH"
export PULUMI_HOME="$PULUMI_HOME"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
ENV
  chmod 644 "$tmp"
  mv "$tmp" "$ENVFILE"
  echo "$ENVFILE"
}

main "$@"
