#!/usr/bin/env bash
# Builds the JSON value of the stack's Secrets Manager secret (output SecretArn) from key files,
# so that no key ever appears on a command line (argv is visible to every process of the machine
# and lands in shell history):
#
#   infra/scripts/make-secret-json.sh --merchant-key apiclient_key.pem \
#     --apiv3-key-file apiv3.key [--public-key pub_key.pem] [--out wxpay-secret.json]
#   aws secretsmanager put-secret-value --secret-id <SecretArn> \
#     --secret-string file://wxpay-secret.json
#   shred -u wxpay-secret.json
#
#   --merchant-key FILE    the merchant API private key (apiclient_key.pem)      -> merchant_private_key
#   --apiv3-key-file FILE  a file holding the 32-character APIv3 key (one line)   -> apiv3_key
#   --public-key FILE      the WeChat Pay public key (pub_key.pem), public-key and
#                          both modes                                             -> wechatpay_public_key
#   --out FILE             where to write (default wxpay-secret.json); created with mode 600,
#                          an existing file is refused
#
# Plain bash: no jq, no python. The JSON escaping covers \, " and the control characters a PEM
# or a key file may hold (newline, carriage return, tab); any other control character is refused.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "make-secret-json: $*" >&2; exit 1; }

merchant_key="" apiv3_file="" public_key="" out="wxpay-secret.json"
while [ $# -gt 0 ]; do
  case "$1" in
    --merchant-key) merchant_key="${2:?--merchant-key needs a file}"; shift 2 ;;
    --apiv3-key-file) apiv3_file="${2:?--apiv3-key-file needs a file}"; shift 2 ;;
    --public-key) public_key="${2:?--public-key needs a file}"; shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -n "$merchant_key" ] || die "--merchant-key is required"
[ -n "$apiv3_file" ] || die "--apiv3-key-file is required"

# read_file NAME FILE: sets $text to the file's content, exactly (trailing newlines included).
read_file() {
  [ -r "$2" ] || die "$1: cannot read $2"
  text="$(cat -- "$2"; printf x)"
  text="${text%x}"
}

# json_string NAME: $text as a JSON string literal (on stdout). A shell function: the value is
# never an argument of another process.
json_string() {
  local bad=$'[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]'
  if [[ "$text" =~ $bad ]]; then
    die "$1: holds control characters: not a PEM or key file"
  fi
  local t="$text"
  t="${t//\\/\\\\}"
  t="${t//\"/\\\"}"
  t="${t//$'\n'/\\n}"
  t="${t//$'\r'/\\r}"
  t="${t//$'\t'/\\t}"
  printf '"%s"' "$t"
}

grep -q -- '-----BEGIN .*PRIVATE KEY-----' "$merchant_key" ||
  die "--merchant-key: $merchant_key is not a PEM private key"
read_file --apiv3-key-file "$apiv3_file"
apiv3="${text%%$'\n'}"
apiv3="${apiv3%%$'\r'}"
[ "${#apiv3}" -eq 32 ] || die "--apiv3-key-file: the APIv3 key must be 32 characters (found ${#apiv3})"
if [ -n "$public_key" ]; then
  grep -q -- '-----BEGIN PUBLIC KEY-----' "$public_key" ||
    die "--public-key: $public_key is not a PEM public key"
fi
[ ! -e "$out" ] || die "$out exists: remove it first (shred -u $out)"

read_file --merchant-key "$merchant_key"
json="{\"merchant_private_key\":$(json_string --merchant-key)"
text="$apiv3"
json+=",\"apiv3_key\":$(json_string --apiv3-key-file)"
if [ -n "$public_key" ]; then
  read_file --public-key "$public_key"
  json+=",\"wechatpay_public_key\":$(json_string --public-key)"
fi
json+="}"

(umask 077 && set -o noclobber && printf '%s\n' "$json" >"$out")
chmod 600 "$out"
echo "make-secret-json: wrote $out (mode 600); fill the secret with --secret-string file://$out, then shred -u $out" >&2
