#!/usr/bin/env bash
# Builds the four Lambda bootstraps as they are deployed (cargo-lambda, release profile, arm64 for
# provided.al2023) and prints their sizes; with --x86_64 also the x86_64 bootstraps, for comparison
# and for the cold-start benchmark, which can only run binaries of this machine's architecture.
#
#   infra/scripts/build-lambdas.sh [--x86_64] [--x86_64-only]
#
# cargo-lambda comes from PyPI into .tools/venv (its wheel brings zig, the cross linker); building
# it from source takes ~30 minutes on 2 cores, the wheel installs in seconds. Release builds go to
# their own target dir (CARGO_TARGET_DIR, default target/lambda-build) so they do not hold the lock
# of target/ that the tests use, and run under `nice`. Output:
#   target/lambda/<function>/bootstrap           arm64 (what `sam deploy` ships)
#   target/lambda-x86_64/<function>/bootstrap    x86_64 (only with --x86_64)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

functions=(native-order pay-notify order-reconcile merchant-admin)
cargo_lambda_version="1.9.2"
arm64=1
x86=0
for arg in "$@"; do
  case "$arg" in
    --x86_64) x86=1 ;;
    --x86_64-only) x86=1 arm64=0 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/lambda-build}"
venv="$root/.tools/venv"
step() { printf '\n==> %s\n' "$*" >&2; }
started=$SECONDS

step "cargo-lambda (PyPI wheel, with zig) in .tools/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/cargo-lambda" --version >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$cargo_lambda_version"
fi
# cargo finds `cargo lambda` on PATH; cargo-lambda finds zig (python -m ziglang) in the venv.
export PATH="$venv/bin:$PATH"
cargo lambda --version >&2

packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done

build() { # build <flag> <output dir>
  nice -n 10 cargo lambda build --release "$1" --locked "${packages[@]}" --lambda-dir "$2" >&2
}

if [ "$arm64" = 1 ]; then
  step "rustup target aarch64-unknown-linux-gnu"
  if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    if ! rustup target add aarch64-unknown-linux-gnu >&2; then
      echo "cannot add the aarch64-unknown-linux-gnu target on this machine: arm64 build skipped" >&2
      arm64=0
    fi
  fi
fi
if [ "$arm64" = 1 ]; then
  step "cargo lambda build --release --arm64 (${functions[*]})"
  t=$SECONDS
  build --arm64 "$root/target/lambda"
  echo "arm64 build: $((SECONDS - t)) s" >&2
fi
if [ "$x86" = 1 ]; then
  step "cargo lambda build --release --x86-64 (${functions[*]})"
  t=$SECONDS
  build --x86-64 "$root/target/lambda-x86_64"
  echo "x86_64 build: $((SECONDS - t)) s" >&2
fi

step "bootstrap sizes (release profile: strip = true, lto, codegen-units = 1, panic = abort)"
printf '%-16s %-8s %12s %9s\n' function arch bytes MiB
status=0
for f in "${functions[@]}"; do
  for arch in arm64 x86_64; do
    case "$arch" in
      arm64) [ "$arm64" = 1 ] || continue; file="$root/target/lambda/$f/bootstrap" ;;
      x86_64) [ "$x86" = 1 ] || continue; file="$root/target/lambda-x86_64/$f/bootstrap" ;;
    esac
    if [ ! -f "$file" ]; then
      echo "missing $file" >&2
      status=1
      continue
    fi
    bytes=$(stat -c %s "$file")
    printf '%-16s %-8s %12s %9s\n' "$f" "$arch" "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')"
  done
done
echo "total: $((SECONDS - started)) s" >&2
exit "$status"
