#!/usr/bin/env bash
# herald.v1 only grows: check the contract in proto/ against every earlier commit that changed it
# (buf breaking, FILE rules), so nothing once published is removed, renamed or renumbered.
# The first commit of the contract has nothing to compare against; a shallow clone compares
# against what history it has.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=node_modules/.bin/buf

mapfile -t commits < <(git log --format=%H -n 20 HEAD -- proto 2>/dev/null || true)
head=$(git rev-parse HEAD)
checked=0
for c in "${commits[@]}"; do
  [ "$c" = "$head" ] && continue
  if ! git cat-file -e "$c^{commit}" 2>/dev/null; then continue; fi
  "$buf" breaking proto --against ".git#ref=$c,subdir=proto"
  checked=$((checked + 1))
done
if [ "$checked" -eq 0 ]; then
  echo "buf breaking: no earlier version of proto/ to compare with (first change of the contract)"
else
  echo "buf breaking: proto/ is compatible with $checked earlier version(s)"
fi
