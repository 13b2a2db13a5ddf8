#!/usr/bin/env bash
# Rewrites sdk/python/src/airmy/types.py from sdk/openapi.json (run from anywhere; sdk/generate.sh
# calls it after dumping the document). Standard-library Python only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python3 "$here/scripts/generate_types.py" "$here/../openapi.json" "$here/src/airmy/types.py"
