#!/usr/bin/env bash
# Installs cargo-deny (pinned) into .tools/cargo, idempotent and quick when already there; prints
# the path of the binary. `cargo install --locked` builds it with the lock file it was released with.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="0.20.2"
tools="$root/.tools/cargo"
bin="$tools/bin/cargo-deny"
if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "cargo-deny $version" ]; then
  cargo install --quiet --locked --root "$tools" cargo-deny --version "$version" >&2
fi
echo "$bin"
