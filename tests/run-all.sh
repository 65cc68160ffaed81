#!/usr/bin/env bash
# Runs every check and test of the project; the one test command of the README, and what CI runs.
# Installs what it needs (moto, cfn-lint, cargo-deny, Chromium, playwright-core, cargo-lambda,
# aws-sam-cli) on first use and starts the services the tests talk to on 127.0.0.1 only, stopping them on exit.
# Last, `sam build` builds the arm64 Lambda bootstraps as they are deployed (offline), checks them
# against the tested feature set and prints their sizes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
state="$root/target/test-services"
log="$state/cargo-test.log"
mkdir -p "$state"
: >"$log"

cleanup() { tests/scripts/moto.sh stop "$state/moto"; }
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "lint (clippy, both RSA backends)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p wxpay --all-targets --locked --no-default-features --features rust-crypto -- -D warnings

step "supply chain (cargo deny 0.20.2: advisories offline, licenses, bans, sources)"
bash tests/scripts/deny.sh

step "SAM template (cfn-lint 1.53.3 and the project's own checks)"
bash infra/scripts/lint-template.sh

step "DynamoDB API server (moto) on loopback"
endpoint="$(tests/scripts/moto.sh start "$state/moto")"
export AWS_ENDPOINT_URL_DYNAMODB="$endpoint" AWS_ENDPOINT_URL_SECRETS_MANAGER="$endpoint"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
echo "moto at $endpoint"

step "build (the function binaries run under a Lambda Runtime API emulator in tests/tests/binaries.rs)"
cargo build --workspace --locked

step "cargo test (workspace, aws-lc-rs backend; the lifecycle simulation at 500 seeds)"
# The suites that need moto skip themselves without it (so a plain `cargo test` passes on a fresh
# clone); here each records that it ran (orders::testing::aws_suite), and a missing record fails.
export AWS_SUITES_RAN_DIR="$state/aws-suites-ran"
rm -rf "$AWS_SUITES_RAN_DIR"
LIFECYCLE_SEEDS=500 cargo test --workspace --locked 2>&1 | tee -a "$log"
skipped=""
for suite in orders-dynamodb env-config-secrets-manager binaries local-stack-dynamodb \
  local-stack-refunds-dynamodb wxpay-admin-doctor \
  lifecycle-dynamodb; do
  [[ -e "$AWS_SUITES_RAN_DIR/$suite" ]] || skipped="$skipped $suite"
done
if [[ -n "$skipped" ]]; then
  echo "FAILED: these suites did not run against moto (skipped?):$skipped" >&2
  exit 1
fi
echo "the suites that need moto ran against it"

step "cargo test (wxpay, pure-Rust rsa backend)"
cargo test -p wxpay --locked --no-default-features --features rust-crypto 2>&1 | tee -a "$log"

# The workspace build unifies features across every crate (the local stack's SSO credential
# providers, the simulator's RUST_LOG directives...), and so would building the four functions
# together (native-order's tower-http CORS in pay-notify...); each deployed bootstrap is built from
# its own crate alone (sam build, checked at the end). Run the binaries tests again on builds with
# exactly that feature set.
step "the function binaries built alone (their deployed feature set), under the Runtime API emulator"
for f in native-order pay-notify order-reconcile merchant-admin; do
  cargo build --locked -p "$f" --target-dir target/deployable-features
done
SYSTEM_TESTS_BIN_DIR="$PWD/target/deployable-features/debug" \
  cargo test --locked -p system-tests --test binaries 2>&1 | tee -a "$log"

step "storefront in headless Chromium, against the local stack"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
rm -rf "$state/local"
target/debug/wxpay-local --listen "127.0.0.1:$port" --data-dir "$state/local" \
  --sim-time-scale 100 --sweep-every 5 >"$state/local-stack.log" 2>&1 &
stack_pid=$!
trap 'kill "$stack_pid" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 100); do
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
    "http://127.0.0.1:$port/api/product/list" 2>/dev/null && break
  sleep 0.1
done
STOREFRONT_URL="http://127.0.0.1:$port/" SIM_URL="http://127.0.0.1:$port" \
  bash tests/browser/run.sh 2>&1 | tee "$state/browser.log"
kill "$stack_pid" 2>/dev/null || true
browser_passed=$(awk '/^# pass /{print $3}' "$state/browser.log")
browser_failed=$(awk '/^# fail /{print $3}' "$state/browser.log")

step "sam build (each function alone, as deployed), the same bytes as the tested feature set, and the arm64 bootstrap sizes"
bash infra/scripts/build-lambdas.sh 2>&1 | tee "$state/build-lambdas.log"

passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '; [0-9]+ failed' "$log" | awk '{s += $2} END {print s + 0}')
passed=$((passed + ${browser_passed:-0}))
failed=$((failed + ${browser_failed:-0}))
printf '\ntests: %s passed, %s failed\n' "$passed" "$failed"
