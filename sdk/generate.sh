#!/usr/bin/env bash
# Regenerates every SDK's types from the server's OpenAPI document. CI runs this and then fails if
# anything under sdk/ differs from what is committed (`git diff --exit-code -- sdk`).
# Each SDK owns one script, sdk/<language>/generate.sh, run here in turn from the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent openapi:dump
for gen in sdk/*/generate.sh; do
  [ -e "$gen" ] || continue
  echo "== $gen"
  bash "$gen"
done
