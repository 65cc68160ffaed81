#!/usr/bin/env bash
# Checks the deploy scripts without an AWS account (lint-template.sh runs it):
#   publish-storefront.sh --dry-run against fake stack outputs: the config.js it writes, the
#     files it would upload, the commands it would run, and what it refuses;
#   make-secret-json.sh: the JSON it writes holds the files exactly, mode 600, and it refuses
#     what is not a key.
# Needs python3 only to check the JSON (the scripts themselves need neither python nor jq).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
publish="$root/infra/scripts/publish-storefront.sh"
make_secret="$root/infra/scripts/make-secret-json.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "check-scripts: FAIL: $*" >&2; failures=$((failures + 1)); }
expect_in() { # expect_in FILE TEXT WHAT
  grep -qF -- "$2" "$1" || fail "$3: missing [$2] in $(cat "$1")"
}

# -- publish-storefront.sh --------------------------------------------------------------------
tab=$'\t'
cat >"$work/outputs.txt" <<EOF
ApiUrl${tab}https://abc123defg.execute-api.ap-east-1.amazonaws.com
NotifyUrl${tab}https://n0tify1234.execute-api.ap-east-1.amazonaws.com/api/wx-pay/native/notify
StorefrontBucketName${tab}wxpay-native-storefrontbucket-1a2b3c4d5e6f
StorefrontDistributionId${tab}E2QWRUHAPOMQZL
StorefrontUrl${tab}https://d111111abcdef8.cloudfront.net
EOF
bash "$publish" --stack wxpay-native --region ap-east-1 --dry-run --outputs "$work/outputs.txt" \
  >"$work/dry-run.txt" || fail "publish-storefront --dry-run failed"
expect_in "$work/dry-run.txt" 'apiBase: "https://abc123defg.execute-api.ap-east-1.amazonaws.com",' "config.js apiBase"
expect_in "$work/dry-run.txt" 'simulator: false,' "config.js hides the simulator link"
expect_in "$work/dry-run.txt" 's3://wxpay-native-storefrontbucket-1a2b3c4d5e6f/ --delete' "s3 sync --delete"
expect_in "$work/dry-run.txt" '--region ap-east-1' "the region is passed on"
expect_in "$work/dry-run.txt" 'create-invalidation --distribution-id E2QWRUHAPOMQZL --paths /\*' "invalidation"
expect_in "$work/dry-run.txt" './index.html' "index.html uploaded"
expect_in "$work/dry-run.txt" './app.js' "app.js uploaded"
if grep -qF './README.md' "$work/dry-run.txt"; then fail "README.md would be uploaded"; fi
# The config.js printed is what app.js reads: the page's JavaScript evaluates it.
sed -n '/^# config.js$/,/^# files$/p' "$work/dry-run.txt" | sed '1d;$d' >"$work/config.js"
if command -v node >/dev/null 2>&1; then
  node -e 'global.window = {}; require(process.argv[1]);
    const c = window.STOREFRONT_CONFIG;
    if (c.apiBase !== "https://abc123defg.execute-api.ap-east-1.amazonaws.com" || c.simulator !== false) process.exit(1);' \
    "$work/config.js" || fail "config.js does not evaluate to the expected STOREFRONT_CONFIG"
fi
# The real page's config.js is left alone (a temporary copy is published).
if grep -q 'abc123defg' "$root/infra/storefront/config.js"; then fail "infra/storefront/config.js was modified"; fi

# Hosting elsewhere: no bucket outputs, --dry-run prints the config.js, a real run refuses.
grep -v '^Storefront' "$work/outputs.txt" >"$work/elsewhere.txt"
bash "$publish" --stack wxpay-native --dry-run --outputs "$work/elsewhere.txt" >"$work/elsewhere-out.txt" 2>/dev/null ||
  fail "publish-storefront --dry-run without hosting failed"
expect_in "$work/elsewhere-out.txt" 'apiBase: "https://abc123defg.execute-api.ap-east-1.amazonaws.com",' "config.js without hosting"
if bash "$publish" --stack wxpay-native --outputs "$work/elsewhere.txt" >/dev/null 2>&1; then
  fail "publish-storefront without hosting outputs did not refuse"
fi
# An ApiUrl that would break out of the JavaScript string is refused.
sed 's|^ApiUrl\t.*|ApiUrl\thttps://x.example/"+alert(1)+"|' "$work/outputs.txt" >"$work/evil.txt"
if bash "$publish" --stack wxpay-native --dry-run --outputs "$work/evil.txt" >/dev/null 2>&1; then
  fail "publish-storefront accepted an ApiUrl with quotes"
fi
if bash "$publish" --dry-run --outputs "$work/outputs.txt" >/dev/null 2>&1; then
  fail "publish-storefront ran without --stack"
fi

# -- make-secret-json.sh ----------------------------------------------------------------------
if command -v openssl >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/apiclient_key.pem" 2>/dev/null
  openssl pkey -in "$work/apiclient_key.pem" -pubout -out "$work/pub_key.pem"
  printf '0123456789ABCDEFabcdef0123456789\n' >"$work/apiv3.key"
  bash "$make_secret" --merchant-key "$work/apiclient_key.pem" --apiv3-key-file "$work/apiv3.key" \
    --public-key "$work/pub_key.pem" --out "$work/secret.json" 2>/dev/null || fail "make-secret-json failed"
  [ "$(stat -c %a "$work/secret.json")" = 600 ] || fail "secret.json is not mode 600"
  python3 - "$work" <<'PY' || fail "secret.json does not hold the files exactly"
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
secret = json.loads((work / "secret.json").read_text())
assert secret == {
    "merchant_private_key": (work / "apiclient_key.pem").read_text(),
    "apiv3_key": "0123456789ABCDEFabcdef0123456789",
    "wechatpay_public_key": (work / "pub_key.pem").read_text(),
}, sorted(secret)
PY
  # Refusals: an existing output, a short APIv3 key, a public key given as the private key.
  if bash "$make_secret" --merchant-key "$work/apiclient_key.pem" --apiv3-key-file "$work/apiv3.key" \
    --out "$work/secret.json" 2>/dev/null; then fail "make-secret-json overwrote a file"; fi
  printf 'short\n' >"$work/short.key"
  if bash "$make_secret" --merchant-key "$work/apiclient_key.pem" --apiv3-key-file "$work/short.key" \
    --out "$work/short.json" 2>/dev/null; then fail "make-secret-json accepted a short APIv3 key"; fi
  if bash "$make_secret" --merchant-key "$work/pub_key.pem" --apiv3-key-file "$work/apiv3.key" \
    --out "$work/wrong.json" 2>/dev/null; then fail "make-secret-json accepted a public key as the private key"; fi
else
  fail "openssl and python3 are needed to check make-secret-json.sh"
fi

if [ "$failures" -gt 0 ]; then
  echo "check-scripts: $failures failure(s)" >&2
  exit 1
fi
echo "check-scripts: publish-storefront.sh and make-secret-json.sh behave" >&2
