#!/usr/bin/env bash
# Build kube-apiserver from its Go module (k8s.io/kubernetes), once, cached next to the Pulumi
# toolchain. Prints the binary's path. Used by the live-mode Kubernetes tests (with Debian's etcd).
#
# k8s.io/kubernetes requires every staging module at v0.0.0 and replaces it with ./staging/…: a
# wrapper module requires kubernetes at the release and replaces each staging module with its
# published v0.MINOR.PATCH instead.
set -euo pipefail
CACHE=${CONNTUNE_CACHE:-/var/cache/conntune}
K8S_VERSION=1.34.4
OUT="$CACHE/kube/v$K8S_VERSION/kube-apiserver"
WORK="$CACHE/build/kube-apiserver-$K8S_VERSION"
log() { printf '[kube-apiserver %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
[ "${1:-}" = "--check" ] && exit 1
command -v go >/dev/null || { echo "Go is needed to build kube-apiserver" >&2; exit 1; }

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
minor=${K8S_VERSION#1.}
staging=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | node -e '
  let s=""; process.stdin.on("data",d=>s+=d).on("end",()=>{ const j=JSON.parse(s);
  const mod=require("fs").readFileSync(j.GoMod,"utf8");
  for (const m of mod.matchAll(/^\s*(k8s\.io\/[a-z0-9-]+) => \.\/staging\//gm)) console.log(m[1]); })')
rm -rf "$WORK"; mkdir -p "$WORK" "$(dirname "$OUT")"
{
  echo "module conntune.local/toolchain/kube-apiserver"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes v$K8S_VERSION"
  echo
  for m in $staging; do echo "replace $m => $m v0.$minor"; done
} >"$WORK/go.mod"
cd "$WORK"
start=$SECONDS
log "resolving modules (k8s.io/kubernetes v$K8S_VERSION, $(echo "$staging" | wc -w) staging modules)"
go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" >"$WORK/get.log" 2>&1 || { tail -n 20 "$WORK/get.log" >&2; exit 1; }
log "building kube-apiserver (about 15 minutes on 2 cores)"
go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}" \
  -o "$OUT.tmp" k8s.io/kubernetes/cmd/kube-apiserver >"$WORK/build.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do sleep 30; kill -0 "$pid" 2>/dev/null && log "still building, $((SECONDS - start)) s"; done
wait "$pid" || { tail -n 30 "$WORK/build.log" >&2; exit 1; }
mv "$OUT.tmp" "$OUT"
log "built in $((SECONDS - start)) s"
echo "$OUT"
