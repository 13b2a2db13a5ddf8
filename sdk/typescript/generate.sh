#!/usr/bin/env bash
# Regenerates the TypeScript SDK's types from sdk/openapi.json (run from the repo root, by
# sdk/generate.sh). openapi-typescript's output is deterministic; biome formats it like the rest.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=sdk/typescript/src/openapi.d.ts
npx --no-install openapi-typescript sdk/openapi.json --output "$out" --alphabetize --root-types --root-types-no-schema-prefix >/dev/null
npx --no-install biome format --write "$out" >/dev/null
