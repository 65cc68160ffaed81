#!/usr/bin/env bash
# Builds the four Lambda bootstraps as they are deployed and prints their sizes: `sam build`
# itself (offline, no AWS account), which runs `cargo lambda build --release --arm64 --bin <f>`
# in each function's crate (template CodeUri ../functions/<f>), so each is built alone with its
# own feature set (the four differ: built together, cargo would unify e.g. native-order's
# tower-http CORS into pay-notify). Then it checks that what sam built is what the tests ran:
# `cargo lambda build --release --arm64 -p <f>` from the workspace root, the package selection of
# run-all.sh's "built alone" binaries step, must reuse sam's compilation and give the same bytes;
# had sam built other features, cargo would rebuild and the bytes would differ. With --x86_64
# also the x86_64 bootstraps, for comparison and for the cold-start benchmark, which can only run
# binaries of this machine's architecture.
#
#   infra/scripts/build-lambdas.sh [--x86_64] [--x86_64-only]
#
# cargo-lambda comes from PyPI into .tools/venv (its wheel brings zig, the cross linker; building
# it from source takes ~30 minutes on 2 cores). aws-sam-cli comes from PyPI into its own
# .tools/sam-venv (it pins a newer cfn-lint than lint-template.sh's). Release builds go to their
# own target dir (CARGO_TARGET_DIR, default target/lambda-build) so they do not hold the lock of
# target/ that the tests use, and run under `nice`. Output:
#   target/sam-build/<Function>/bootstrap        arm64, what `sam deploy` ships (sam's build dir)
#   target/lambda/<function>/bootstrap           arm64, the comparison build (the same bytes)
#   target/lambda-x86_64/<function>/bootstrap    x86_64 (only with --x86_64)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

functions=(native-order pay-notify order-reconcile merchant-admin)
# The template's logical id of each function (sam's build dir is named after it).
declare -A logical_ids=(
  [native-order]=NativeOrderFunction [pay-notify]=PayNotifyFunction
  [order-reconcile]=OrderReconcileFunction [merchant-admin]=MerchantAdminFunction
)
cargo_lambda_version="1.9.2"
sam_cli_version="1.170.0"
arm64=1
x86=0
for arg in "$@"; do
  case "$arg" in
    --x86_64) x86=1 ;;
    --x86_64-only) x86=1 arm64=0 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
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

sam_venv="${SAM_VENV:-$root/.tools/sam-venv}"
if [ "$arm64" = 1 ]; then
  step "aws-sam-cli $sam_cli_version (PyPI) in ${sam_venv#"$root"/}"
  if [ ! -x "$sam_venv/bin/python" ]; then
    python3 -m venv "$sam_venv"
  fi
  if [ "$("$sam_venv/bin/sam" --version 2>/dev/null)" != "SAM CLI, version $sam_cli_version" ]; then
    "$sam_venv/bin/pip" install --quiet --disable-pip-version-check "aws-sam-cli==$sam_cli_version"
  fi
  "$sam_venv/bin/sam" --version >&2
fi

build() { # build <flag> <output dir>: each function alone, as sam build does
  local f
  for f in "${functions[@]}"; do
    nice -n 10 cargo lambda build --release "$1" --locked -p "$f" --lambda-dir "$2" >&2
  done
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
sam_build="$root/target/sam-build"
if [ "$arm64" = 1 ]; then
  step "sam build (offline; each function alone: cargo lambda build --release --arm64 --bin <f> in its crate)"
  t=$SECONDS
  # --beta-features: BuildMethod rust-cargolambda (samconfig.toml opts in too). No telemetry.
  (cd infra && SAM_CLI_TELEMETRY=0 nice -n 10 "$sam_venv/bin/sam" build --beta-features \
    --template template.yaml --build-dir "$sam_build" >&2)
  echo "sam build: $((SECONDS - t)) s" >&2
  # sam runs cargo without --locked: the lock file must not have moved.
  if ! git diff --quiet -- Cargo.lock; then
    echo "sam build changed Cargo.lock: run cargo update and commit it" >&2
    exit 1
  fi

  step "the tested selection: cargo lambda build --release --arm64 -p <f>, each alone (reuses sam's build if the features are the same)"
  t=$SECONDS
  build --arm64 "$root/target/lambda"
  echo "comparison build: $((SECONDS - t)) s" >&2
  for f in "${functions[@]}"; do
    deployed="$sam_build/${logical_ids[$f]}/bootstrap"
    tested="$root/target/lambda/$f/bootstrap"
    if ! cmp -s "$deployed" "$tested"; then
      echo "FAILED: $deployed (sam build) differs from $tested (-p $f, as tested): the deployed" \
        "binary is built with other features than the tested one" >&2
      exit 1
    fi
  done
  echo "sam build's bootstraps are byte for byte the tested feature set's" >&2
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
      arm64) [ "$arm64" = 1 ] || continue; file="$sam_build/${logical_ids[$f]}/bootstrap" ;;
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
