#!/usr/bin/env bash
# Regenerates sdk/go/types.go from sdk/openapi.json (run from anywhere; sdk/generate.sh runs it from
# the repo root after `npm run openapi:dump`). Standard library only, no module proxy needed.
set -euo pipefail
cd "$(dirname "$0")"
export GOFLAGS=-mod=mod GOPROXY=off
command -v go >/dev/null || { echo "go is not installed (apt-get install -y golang-go)" >&2; exit 1; }
go run ./internal/gen ../openapi.json types.go
