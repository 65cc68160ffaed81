#!/usr/bin/env bash
# Installs moto's server mode (the DynamoDB and Secrets Manager APIs, served on loopback for the
# tests) into .tools/venv; idempotent and quick when already there. Prints the venv's bin folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.tools/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import moto.server' 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.1' >&2
fi
echo "$venv/bin"
