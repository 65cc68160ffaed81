#!/usr/bin/env bash
# Supply-chain check: `cargo deny check` (advisories, licenses, bans, sources; deny.toml), offline.
# The RustSec advisory database comes from the snapshot bundle beside the repo
# (../shared/tools/rustsec-advisory-db.bundle, as CI checks it out), cloned fresh into target/ each
# run; its date is printed, since "no advisory" means "none known on that date".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
deny="$(tests/scripts/cargo-deny.sh)"
bundle="${ADVISORY_DB_BUNDLE:-$root/../shared/tools/rustsec-advisory-db.bundle}"
if [[ ! -f "$bundle" ]]; then
  echo "deny: no advisory database bundle at $bundle" >&2
  exit 1
fi
# cargo-deny reads the database of db-urls[0] (deny.toml) from db-path/<last URL segment>-<xxh64
# of the URL, seed 0xca80de71, in hex>: its url_to_db_path (pinned version, tests/scripts/cargo-deny.sh).
db="target/advisory-db/advisory-db-3157b0e258782691"
rm -rf "$db"
mkdir -p "$(dirname "$db")"
git -c init.defaultBranch=main clone --quiet "$bundle" "$db"
echo "advisory database: RustSec snapshot $(git -C "$db" log -1 --format='%cs (commit %h)')"
"$deny" --version
"$deny" --offline --locked check
