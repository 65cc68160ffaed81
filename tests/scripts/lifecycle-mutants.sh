#!/usr/bin/env bash
# Measures the lifecycle simulation's power: puts each money-safety defect of issues 11 and 13 back into the
# code (tests/lifecycle-mutants/*.patch), runs the simulation, and reports the first seed that
# fails. A mutant that no seed catches is reported as such. The tree is restored on exit.
#
#   bash tests/scripts/lifecycle-mutants.sh [seeds per mutant, default 2000] [patch ...]
#
# Not part of the test command: each mutant rebuilds the workspace's dependents and runs up to
# N seeds (about a minute each on two cores). Run it after changing the simulation's schedule.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
seeds="${1:-2000}"
applied=""
restore() { if [[ -n "$applied" ]]; then git apply -R "$applied"; applied=""; fi; }
trap restore EXIT

printf '%-48s %s\n' "mutant" "first failing seed (of $seeds)"
patches=("${@:2}")
if [[ ${#patches[@]} -eq 0 ]]; then patches=(tests/lifecycle-mutants/*.patch); fi
for patch in "${patches[@]}"; do
  git apply "$patch"
  applied="$patch"
  output="$(LIFECYCLE_SEEDS="$seeds" cargo test -q -p system-tests --test lifecycle \
    money_invariants_hold_on_every_seed -- --nocapture 2>&1 || true)"
  restore
  first="$(grep -Eo -m1 '^seed [0-9]+ failed' <<<"$output" | awk '{print $2}' || true)"
  failing="$(grep -Ec '^seed [0-9]+ failed' <<<"$output" || true)"
  if [[ -n "$first" ]]; then
    printf '%-48s %s (%s seeds failed)\n' "$(basename "$patch" .patch)" "$first" "$failing"
  else
    printf '%-48s %s\n' "$(basename "$patch" .patch)" "none: not caught"
  fi
done
