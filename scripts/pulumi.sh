#!/usr/bin/env bash
# Run the toolchain's pulumi with conntune's environment: `npm run pulumi -- preview --stack redfin`.
# Defaults to a local file backend under .pulumi-state/ (no Pulumi Cloud account); set
# PULUMI_BACKEND_URL to use another backend (the team's: postgres://USER@HOST:5432/DB?table=...,
# the password in PGPASSWORD, never in the URL: see README "Team state in PostgreSQL").
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fail() { echo "$*" >&2; exit 1; }
# The CLI prints the backend URL as given when it cannot open the backend: a password in it would
# reach logs (scripts/engine.ts backendUrlProblem refuses the same).
if [[ "${PULUMI_BACKEND_URL:-}" == *://* ]]; then
  authority=${PULUMI_BACKEND_URL#*://}
  authority=${authority%%[/?#]*}
  query=${PULUMI_BACKEND_URL#*://}
  query=${query%%#*}
  [[ "$query" == *\?* ]] && query="&${query#*\?}&" || query=""
  # The PostgreSQL drivers also take the password as a query parameter (?password=).
  if [[ ( "$authority" == *@* && "${authority%@*}" == *:* ) || "${query,,}" == *"&password="* ]]; then
    fail "PULUMI_BACKEND_URL holds a password: pulumi prints the backend URL in its errors, so it would reach logs; remove it from the URL and give it in PGPASSWORD (or a PGPASSFILE) instead"
  fi
fi
envfile=$(bash "$ROOT/scripts/toolchain.sh")
# shellcheck disable=SC1090
. "$envfile"
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "$ROOT/.pulumi-state"
  # No sidecar .attrs file per state write (see fileBackendUrl in scripts/engine.ts).
  export PULUMI_BACKEND_URL="file://$ROOT/.pulumi-state?metadata=skip"
fi
cd "$ROOT"
# Transpile only (tsconfig.pulumi.json, noCheck): type checking is `npm run typecheck`. Pulumi.yaml
# names that file too, but the language host built here (v3.68) only reads it from this variable.
export PULUMI_NODEJS_TSCONFIG_PATH="${PULUMI_NODEJS_TSCONFIG_PATH:-tsconfig.pulumi.json}"
# The SDK's runner without ts-node for program.js (it transpiles and caches the sources itself): see
# scripts/nodejs-run.js. Other programs run exactly as with the SDK's own runner.
export PULUMI_LANGUAGE_NODEJS_RUN_PATH="${PULUMI_LANGUAGE_NODEJS_RUN_PATH:-$ROOT/scripts/nodejs-run.js}"
# Resource operations at once: Pulumi's default is 4 per CPU, but conntune's operations wait on the
# hosts, not on this machine's CPU. With one SSH connection per host (shared by its commands) this
# never opens more than one unauthenticated connection per host at a time (sshd's MaxStartups).
export PULUMI_PARALLEL="${PULUMI_PARALLEL:-64}"
exec pulumi "$@"
