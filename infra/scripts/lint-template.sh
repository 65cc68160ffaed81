#!/usr/bin/env bash
# Lint the AWS SAM template: cfn-lint (pinned), then this project's invariants.
#
#   bash infra/scripts/lint-template.sh [extra cfn-lint args...]
#   LINT_TEMPLATE=/tmp/broken.yaml bash infra/scripts/lint-template.sh
#
# cfn-lint is pinned to exactly 1.53.3 on purpose: 1.54 and later no longer run
# the SAM translator, so they let wrong schedule expressions, architectures,
# runtimes and dangling !Refs inside AWS::Serverless::* resources through;
# 1.53.3 transforms the template first and catches them.
#
# It lives in a private virtualenv under .tools/venv at the repo root (gitignored),
# created and filled on first use; later runs only check `cfn-lint --version` (and the
# translator's version).
#
# cfn-lint skips its IAM action check (W3037) on SAM templates and has no opinion
# on `Resource: "*"`, so a second step checks what the template promises (issue 6):
# least privilege (no "*" resources or wildcard actions, real action names, no SAM
# policy templates or managed policies, no hard-coded partition in ARNs), and the
# four Rust functions built as deployed (provided.al2023, arm64, bootstrap,
# rust-cargolambda with their binary names, JSON logs, timeouts under API Gateway's), each
# function's CodeUri its own crate (built alone), DynamoDB writes limited by LeadingKeys (the
# public function never writes the catalog), LogLevel values that never log requests, CORS
# exposing Date, the outputs publish-storefront.sh reads. Then infra/samconfig.toml (the beta
# opt-in in every environment) and the deploy scripts (check-scripts.sh, no AWS needed).
#
# Exits non-zero on any finding (error, warning or informational).
set -euo pipefail

readonly CFN_LINT_VERSION="1.53.3"
# cfn-lint 1.53.3 accepts any aws-sam-translator >= 1.111.0; the translator is what checks the
# AWS::Serverless::* resources, so it is pinned too, to the version this template was checked with.
readonly SAM_TRANSLATOR_VERSION="1.115.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

venv="$root/.tools/venv"
cfn_lint="$venv/bin/cfn-lint"
# LINT_TEMPLATE: lint another file (e.g. a deliberately broken copy) instead.
template="${LINT_TEMPLATE:-infra/template.yaml}"

reports_pinned() {
    # `cfn-lint --version` prints "cfn-lint 1.53.3".
    local out translator
    out="$("$cfn_lint" --version 2>/dev/null)" || return 1
    translator="$("$venv/bin/python" -c \
        'import importlib.metadata as m; print(m.version("aws-sam-translator"))' 2>/dev/null)" || return 1
    [[ "$out" == "cfn-lint $CFN_LINT_VERSION" && "$translator" == "$SAM_TRANSLATOR_VERSION" ]]
}

if ! { [[ -x "$cfn_lint" ]] && reports_pinned; }; then
    python="${PYTHON:-python3}"
    command -v "$python" >/dev/null 2>&1 || {
        echo "lint-template: $python not found (needed to install cfn-lint $CFN_LINT_VERSION)" >&2
        exit 1
    }
    echo "lint-template: installing cfn-lint==$CFN_LINT_VERSION" \
        "aws-sam-translator==$SAM_TRANSLATOR_VERSION into $venv" >&2
    if [[ ! -x "$venv/bin/python" ]]; then
        mkdir -p "$(dirname "$venv")"
        "$python" -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cfn-lint==$CFN_LINT_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
    reports_pinned || {
        echo "lint-template: $venv does not hold cfn-lint $CFN_LINT_VERSION" \
            "with aws-sam-translator $SAM_TRANSLATOR_VERSION" >&2
        exit 1
    }
fi

[[ -f "$template" ]] || { echo "lint-template: $template not found" >&2; exit 1; }

echo "lint-template: $("$cfn_lint" --version) on $template" >&2
# --include-checks I: the informational rules too (e.g. I3011, explicit deletion policies on
# stateful resources); --non-zero-exit-code informational: any finding at all fails the check.
# --regions: where a merchant is likely to deploy (China regions included, where resource and
# property availability differs); extra arguments may override it.
if ! "$cfn_lint" --include-checks I --non-zero-exit-code informational \
    --regions us-east-1 cn-north-1 cn-northwest-1 ap-east-1 ap-southeast-1 \
    "$@" -- "$template"; then
    echo "lint-template: cfn-lint found problems in $template" >&2
    exit 1
fi

echo "lint-template: project invariants on $template" >&2
"$venv/bin/python" - "$template" <<'PY'
import fnmatch
import sys

from cfnlint.data import AdditionalSpecs
from cfnlint.decode import cfn_yaml
from cfnlint.helpers import load_resource

path = sys.argv[1]
template = cfn_yaml.load(path)
iam_actions = load_resource(AdditionalSpecs, "Policies.json")
problems = []


def bad(where, message):
    problems.append(f"{where}: {message}")


def as_list(value):
    return value if isinstance(value, list) else [value]


def strings(node, where):
    """Every plain string in the tree, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, f"{where}/{i}")
    elif isinstance(node, str):
        yield node, where


def statements(node, where):
    """Every IAM policy statement (anything under a `Statement` key)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Statement":
                for i, statement in enumerate(as_list(value)):
                    if isinstance(statement, dict):
                        yield statement, f"{where}/Statement/{i}"
            else:
                yield from statements(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from statements(value, f"{where}/{i}")


resources = template.get("Resources") or {}
globals_function = (template.get("Globals") or {}).get("Function") or {}

# -- least privilege -------------------------------------------------------------------
for statement, where in statements(resources, "Resources"):
    if statement.get("Effect") != "Allow":
        continue  # Deny statements (e.g. the bucket's TLS-only policy) may be broad
    if "NotAction" in statement or "NotResource" in statement:
        bad(where, "Allow with NotAction/NotResource")
    if "Principal" in statement:
        continue  # trust policy (sts:AssumeRole): no Resource element
    if "Resource" not in statement:
        bad(where, "Allow statement without Resource")
    for resource in as_list(statement.get("Resource")):
        if isinstance(resource, str) and resource.strip() == "*":
            bad(where, 'Resource "*"')
    for action in as_list(statement.get("Action")):
        if not isinstance(action, str):
            bad(where, f"action {action!r} is not a literal string")
            continue
        if "*" in action:
            bad(where, f"wildcard action {action!r}")
            continue
        service, _, name = action.partition(":")
        known = (iam_actions.get(service.lower()) or {}).get("Actions") or {}
        if name.lower() not in known:
            bad(where, f"unknown IAM action {action!r}")

for name, resource in resources.items():
    if resource.get("Type") == "AWS::IAM::Role":
        if (resource.get("Properties") or {}).get("ManagedPolicyArns"):
            bad(f"Resources/{name}", "managed policies on a role (write the statements)")

for where_root in ("Resources", "Outputs", "Globals"):
    for text, where in strings(template.get(where_root) or {}, where_root):
        for partition in ("arn:aws:", "arn:aws-cn:", "arn:aws-us-gov:"):
            if partition in text:
                bad(where, f"hard-coded partition {partition!r}: use arn:${{AWS::Partition}}:")

# -- the functions, built and run as deployed ---------------------------------------------
expected_binaries = {"native-order", "pay-notify", "order-reconcile", "merchant-admin"}
# The one API with an authorizer: the merchant admin API, IAM (SigV4) on every route.
ADMIN_API, ADMIN_FUNCTION = "MerchantAdminApi", "MerchantAdminFunction"
if "Policies" in globals_function:
    bad("Globals/Function", "Policies (SAM policy templates) are not allowed")
seen = {}
for name, resource in resources.items():
    kind = resource.get("Type")
    props = resource.get("Properties") or {}
    where = f"Resources/{name}"
    if kind in ("AWS::Serverless::HttpApi", "AWS::Serverless::Api") and name != ADMIN_API and "Auth" in props:
        bad(where, "no authorizer but on the admin API (pay-notify is authenticated by WeChat Pay's signature)")
    if name == ADMIN_API:
        auth = props.get("Auth") or {}
        if kind != "AWS::Serverless::HttpApi" or auth.get("DefaultAuthorizer") != "AWS_IAM" \
                or auth.get("EnableIamAuthorizer") is not True:
            bad(where, "the admin API must be an HttpApi with DefaultAuthorizer AWS_IAM")
    if kind == "AWS::Lambda::Function":
        bad(where, "functions are AWS::Serverless::Function built by cargo-lambda")
    if kind != "AWS::Serverless::Function":
        continue
    effective = {**globals_function, **props}
    if effective.get("Runtime") != "provided.al2023":
        bad(where, "Runtime must be provided.al2023")
    if effective.get("Architectures") != ["arm64"]:
        bad(where, "Architectures must be [arm64]")
    if effective.get("Handler") != "bootstrap":
        bad(where, "Handler must be bootstrap")
    metadata = resource.get("Metadata") or {}
    if metadata.get("BuildMethod") != "rust-cargolambda":
        bad(where, "Metadata.BuildMethod must be rust-cargolambda")
    binary = (metadata.get("BuildProperties") or {}).get("Binary")
    if binary not in expected_binaries:
        bad(where, f"Metadata.BuildProperties.Binary {binary!r} is not one of {sorted(expected_binaries)}")
    elif binary in seen:
        bad(where, f"binary {binary!r} already deployed by {seen[binary]}")
    else:
        seen[binary] = name
    for event_name, event in (props.get("Events") or {}).items():
        event = event or {}
        if event.get("Type") not in ("HttpApi", "Api"):
            continue
        event_props = event.get("Properties") or {}
        on_admin_api = event_props.get("ApiId") == {"Ref": ADMIN_API}
        if on_admin_api != (name == ADMIN_FUNCTION):
            bad(f"{where}/Events/{event_name}", f"only {ADMIN_FUNCTION} is routed on {ADMIN_API}, and only there")
        if on_admin_api and (event_props.get("Auth") or {}).get("Authorizer", "AWS_IAM") != "AWS_IAM":
            bad(f"{where}/Events/{event_name}", "admin routes must keep the AWS_IAM authorizer")
    if "Policies" in props:
        bad(where, "Policies (SAM policy templates / managed policies) are not allowed: use Role")
    if "Role" not in props:
        bad(where, "needs its own least-privilege Role")
    if (effective.get("LoggingConfig") or {}).get("LogFormat") != "JSON":
        bad(where, "LoggingConfig.LogFormat must be JSON (the alarms' metric filters read JSON fields)")
    timeout = effective.get("Timeout")
    if not isinstance(timeout, int):
        bad(where, "needs an explicit Timeout")
    elif any((event or {}).get("Type") in ("HttpApi", "Api")
             for event in (props.get("Events") or {}).values()) and timeout >= 30:
        bad(where, f"Timeout {timeout} s is not below API Gateway's 30 s")
for binary in sorted(expected_binaries - set(seen)):
    bad("Resources", f"no function builds binary {binary!r}")

# -- each function built alone (sam build runs cargo lambda in its CodeUri) ---------------------
if "CodeUri" in globals_function:
    bad("Globals/Function", "CodeUri: each function's CodeUri is its own crate")
for binary, name in seen.items():
    code_uri = (resources[name].get("Properties") or {}).get("CodeUri")
    if code_uri != f"../functions/{binary}":
        bad(f"Resources/{name}", f"CodeUri must be ../functions/{binary} (its crate alone, not the "
            "workspace: a workspace build unifies in the other crates' features)")

# -- DynamoDB writes only under each function's own partition keys ------------------------------
WRITE_ACTIONS = {"dynamodb:putitem", "dynamodb:updateitem", "dynamodb:deleteitem",
                 "dynamodb:batchwriteitem", "dynamodb:partiqlinsert", "dynamodb:partiqlupdate",
                 "dynamodb:partiqldelete"}
# The public function must not be able to write the catalog.
NEVER_WRITES = {"NativeOrderRole": ["PRODUCT#1", "CATALOG"]}
for name, resource in resources.items():
    if resource.get("Type") != "AWS::IAM::Role":
        continue
    for statement, where in statements(resource.get("Properties") or {}, f"Resources/{name}"):
        if statement.get("Effect") != "Allow" or "Principal" in statement:
            continue
        actions = {a.lower() for a in as_list(statement.get("Action")) if isinstance(a, str)}
        if not actions & WRITE_ACTIONS:
            continue
        condition = (statement.get("Condition") or {}).get("ForAllValues:StringLike") or {}
        keys = condition.get("dynamodb:LeadingKeys")
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            bad(where, "DynamoDB writes need Condition ForAllValues:StringLike dynamodb:LeadingKeys "
                "(a list of the function's partition key patterns)")
            continue
        if any(k in ("*", "") for k in keys):
            bad(where, f"LeadingKeys {keys} allow every partition key")
        for forbidden in NEVER_WRITES.get(name, []):
            if any(fnmatch.fnmatchcase(forbidden, k) for k in keys):
                bad(where, f"{name} may write {forbidden!r} (LeadingKeys {keys})")

# -- logs never carry request headers or bodies ---------------------------------------------------
QUIET_LEVELS = {"INFO", "WARN", "ERROR"}
log_level = (template.get("Parameters") or {}).get("LogLevel") or {}
allowed_levels = set(log_level.get("AllowedValues") or [])
if not allowed_levels or not allowed_levels <= QUIET_LEVELS or log_level.get("Default") not in QUIET_LEVELS:
    bad("Parameters/LogLevel", f"AllowedValues and Default must be among {sorted(QUIET_LEVELS)}: "
        "DEBUG and TRACE log requests (headers such as X-Buyer-Token, bodies)")

# -- the storefront's clock correction reads Date across origins ----------------------------------
cors = ((resources.get("StorefrontApi") or {}).get("Properties") or {}).get("CorsConfiguration") or {}
if "date" not in [h.lower() for h in as_list(cors.get("ExposeHeaders") or []) if isinstance(h, str)]:
    bad("Resources/StorefrontApi/Properties/CorsConfiguration", "ExposeHeaders must include date")

# -- what infra/scripts/publish-storefront.sh reads -----------------------------------------------
for output in ("ApiUrl", "StorefrontBucketName", "StorefrontDistributionId", "StorefrontUrl"):
    if output not in (template.get("Outputs") or {}):
        bad("Outputs", f"{output} is missing (publish-storefront.sh reads it)")

for problem in problems:
    print(f"{path}: {problem}")
if problems:
    print(f"lint-template: {len(problems)} invariant(s) broken", file=sys.stderr)
    sys.exit(1)
PY

echo "lint-template: $template is clean" >&2

# The beta opt-in that BuildMethod rust-cargolambda needs, in every samconfig.toml environment:
# an environment does not inherit from [default] (each needs its own build and sync parameters).
if [[ -z "${LINT_TEMPLATE:-}" ]]; then
    "$venv/bin/python" - infra/samconfig.toml <<'PY'
import sys
import tomllib

path = sys.argv[1]
with open(path, "rb") as f:
    config = tomllib.load(f)
problems = []
environments = [name for name, value in config.items() if isinstance(value, dict)]
for env in ("default", "prod"):
    if env not in environments:
        problems.append(f"environment [{env}] is missing")
for env in environments:
    for command in ("build", "sync"):
        params = ((config[env].get(command) or {}).get("parameters")) or {}
        if params.get("beta_features") is not True:
            problems.append(f"[{env}.{command}.parameters] needs beta_features = true")
for problem in problems:
    print(f"{path}: {problem}")
sys.exit(1 if problems else 0)
PY
    echo "lint-template: infra/samconfig.toml opts in to the beta in every environment" >&2
    bash infra/scripts/check-scripts.sh
fi
