#!/usr/bin/env bash
# Cold-start benchmark of the deployable binaries (not a test): builds the x86_64 release
# bootstraps with cargo-lambda (the arm64 ones cannot run here), starts moto for the Secrets
# Manager variant, and runs tests/benches/cold_start.rs, which prints median/p90 time from process
# start to the first /invocation/next poll and the stripped bootstrap sizes (arm64 from
# target/lambda if build-lambdas.sh built them, x86_64 from target/lambda-x86_64).
#   infra/scripts/cold-start.sh [runs]      (default 30 per function and variant)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
runs="${1:-30}"
state="$root/target/cold-start"
mkdir -p "$state"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  infra/scripts/build-lambdas.sh --x86_64-only
fi
trap 'tests/scripts/moto.sh stop "$state/moto"' EXIT
endpoint="$(tests/scripts/moto.sh start "$state/moto")"
# The bench itself needs no optimisation: what it measures are the release bootstraps.
AWS_ENDPOINT_URL_SECRETS_MANAGER="$endpoint" SYSTEM_TESTS_BIN_DIR="$root/target/lambda-x86_64" \
  nice cargo bench -p system-tests --bench cold_start --profile dev -- "$runs"
