#!/usr/bin/env bash
# The project's stacks (its Pulumi.<stack>.yaml files) as a JSON array, for a GitOps workflow's
# matrix: one job per stack, so that a large fleet split into host-group stacks runs on many runners
# at once (each stack under its own lock in the state backend).
#   bash scripts/stacks.sh                 every stack, e.g. ["k8s","redfin"]
#   bash scripts/stacks.sh --host-groups   the stacks that configure hosts (conntune:hosts or conntune:hostsFile), e.g. ["redfin"]
#   ... [--project-dir DIR]                another project than this repository's
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fail() { echo "$*" >&2; exit 1; }
only_hosts=false
while [ $# -gt 0 ]; do
  case "$1" in
    --host-groups) only_hosts=true; shift ;;
    --project-dir) [ $# -ge 2 ] || fail "flag --project-dir: needs a value"; ROOT=$2; shift 2 ;;
    *) fail "usage: bash scripts/stacks.sh [--host-groups] [--project-dir DIR]" ;;
  esac
done
names=()
for f in "$ROOT"/Pulumi.*.yaml; do
  [ -e "$f" ] || continue
  name=${f##*/Pulumi.}
  name=${name%.yaml}
  # The name becomes a job's --stack argument and artifact name: nothing a shell or a path could misread.
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || fail "$f: stack name '$name' is not a plain name (letters, digits, '.', '_', '-')"
  if [ "$only_hosts" = true ] && ! grep -qE '^[[:space:]]+conntune:hosts(File)?:' "$f"; then continue; fi
  names+=("\"$name\"")
done
(IFS=,; printf '[%s]\n' "${names[*]}")
