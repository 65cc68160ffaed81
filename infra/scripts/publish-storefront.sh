#!/usr/bin/env bash
# Publishes the static storefront (infra/storefront/) to the stack's own hosting (template
# parameter DeployStorefront=true): writes config.js from the stack's outputs into a temporary
# copy of the page, uploads it (aws s3 sync --delete) and invalidates the CloudFront cache.
#
#   infra/scripts/publish-storefront.sh --stack NAME [--region REGION] [--dry-run]
#                                       [--outputs FILE]
#
#   --stack NAME     the stack (sam deploy's stack_name, e.g. wxpay-native)
#   --region REGION  its region (else the AWS CLI's default)
#   --dry-run        print the config.js and the commands, run nothing (but describe-stacks)
#   --outputs FILE   read the outputs from FILE instead of asking CloudFormation: the text of
#                    aws cloudformation describe-stacks --stack-name NAME \
#                      --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text
#                    (one "key<TAB>value" line per output; for tests and for reviewing)
#
# Outputs read: ApiUrl (the page's API), StorefrontBucketName, StorefrontDistributionId,
# StorefrontUrl. Hosting the page elsewhere (DeployStorefront=false, StorefrontOrigin set):
# --dry-run prints the config.js to put next to index.html there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "publish-storefront: $*" >&2; exit 1; }

stack="" region="" dry_run=0 outputs_file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --stack) stack="${2:?--stack needs a name}"; shift 2 ;;
    --region) region="${2:?--region needs a region}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --outputs) outputs_file="${2:?--outputs needs a file}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -n "$stack" ] || die "--stack is required"
[[ "$stack" =~ ^[A-Za-z][A-Za-z0-9-]{0,127}$ ]] || die "--stack: not a stack name: $stack"
[ -z "$region" ] || [[ "$region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]$ ]] || die "--region: not a region: $region"

region_args=()
[ -z "$region" ] || region_args=(--region "$region")

if [ -n "$outputs_file" ]; then
  [ -r "$outputs_file" ] || die "--outputs: cannot read $outputs_file"
  outputs="$(cat -- "$outputs_file")"
else
  command -v aws >/dev/null 2>&1 || die "the AWS CLI (aws) is needed"
  outputs="$(aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]}" \
    --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text)" ||
    die "cannot describe stack $stack"
fi

# output KEY: the value of one output, or empty.
output() {
  local key value
  while IFS=$'\t' read -r key value; do
    if [ "$key" = "$1" ]; then
      printf '%s' "${value%$'\r'}"
      return
    fi
  done <<<"$outputs"
}

api_url="$(output ApiUrl)"
bucket="$(output StorefrontBucketName)"
distribution="$(output StorefrontDistributionId)"
storefront_url="$(output StorefrontUrl)"

# Checked before they reach a JavaScript string or a command: no quotes, no spaces, no path tricks.
[ -n "$api_url" ] || die "stack $stack has no ApiUrl output"
[[ "$api_url" =~ ^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*$ ]] ||
  die "ApiUrl is not an https URL without query: $api_url"

[ -z "$storefront_url" ] || [[ "$storefront_url" =~ ^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$ ]] ||
  die "StorefrontUrl is not an origin: $storefront_url"

config_js="// Written by infra/scripts/publish-storefront.sh from the outputs of stack $stack.
// The page calls the storefront API at apiBase (CORS allows ${storefront_url:-the StorefrontOrigin}).
window.STOREFRONT_CONFIG = {
  apiBase: \"$api_url\",
  simulator: false,
};"

if [ -z "$bucket" ] || [ -z "$distribution" ]; then
  if [ "$dry_run" = 1 ]; then
    echo "publish-storefront: stack $stack does not host the storefront (DeployStorefront=false):" \
      "put this config.js next to index.html where you host it" >&2
    printf '%s\n' "$config_js"
    exit 0
  fi
  die "stack $stack does not host the storefront (no StorefrontBucketName/StorefrontDistributionId" \
    "outputs: DeployStorefront=false). Host infra/storefront/ yourself with the config.js that" \
    "--dry-run prints."
fi
[[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "StorefrontBucketName is not a bucket name: $bucket"
[[ "$distribution" =~ ^[A-Z0-9]{6,32}$ ]] || die "StorefrontDistributionId is not a distribution id: $distribution"

site="$(mktemp -d)"
trap 'rm -rf "$site"' EXIT
cp -R "$root/infra/storefront/." "$site/"
rm -f "$site/README.md"
printf '%s\n' "$config_js" >"$site/config.js"

# Short browser caching: a publish shows within a minute even in open tabs; CloudFront's own
# copies are invalidated below.
sync=(aws s3 sync "$site/" "s3://$bucket/" --delete --cache-control "public, max-age=60" "${region_args[@]}")
invalidate=(aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/*")

if [ "$dry_run" = 1 ]; then
  echo "# config.js"
  printf '%s\n' "$config_js"
  echo "# files"
  (cd "$site" && find . -type f | sort)
  echo "# commands"
  printf '%q ' "${sync[@]}"; echo
  printf '%q ' "${invalidate[@]}"; echo
  echo "# then open ${storefront_url:-the storefront}"
  exit 0
fi

command -v aws >/dev/null 2>&1 || die "the AWS CLI (aws) is needed"
"${sync[@]}"
"${invalidate[@]}" --query 'Invalidation.Id' --output text
echo "publish-storefront: published to s3://$bucket; open ${storefront_url:-the storefront}" \
  "(CloudFront serves the new page once the invalidation completes, usually within a minute)" >&2
