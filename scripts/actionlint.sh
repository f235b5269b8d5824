#!/usr/bin/env bash
# Build actionlint from its Go module once (cached), print its path. Used to check .github/workflows.
set -euo pipefail
CACHE=${CONNTUNE_CACHE:-/var/cache/conntune}
V=1.7.12
OUT="$CACHE/tools/actionlint-v$V"
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
[ "${1:-}" = "--check" ] && exit 1
mkdir -p "$CACHE/tools"
printf '[actionlint] building github.com/rhysd/actionlint v%s\n' "$V" >&2
GOBIN="$CACHE/tools/bin-$V" CGO_ENABLED=0 GOTOOLCHAIN=local go install "github.com/rhysd/actionlint/cmd/actionlint@v$V" >&2
mv "$CACHE/tools/bin-$V/actionlint" "$OUT" && rmdir "$CACHE/tools/bin-$V"
echo "$OUT"
