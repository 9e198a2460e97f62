#!/usr/bin/env bash
# ci/nightly-compare.sh OUT ORAC REPO GPU
# Compares the newest run in OUT/results with baselines/<key>.json and, when something got
# slower or failed, opens (or updates) one issue titled "orac nightly: regressions on GPU".
# No baseline yet: says how to create one and exits 0.
set -u
out=${1:?usage} orac=${2:?usage} repo=${3:?usage} gpu=${4:?usage}
run=$(find "$out/results" -name '*.json' 2>/dev/null | sort | tail -n 1)
[ -n "$run" ] || { echo "no run in $out/results" >&2; exit 1; }
"$orac" compare baseline "$run" --markdown-out "$out/nightly.md" --json-out "$out/nightly.json"
rc=$?
case $rc in
  0) echo "no regression against the baseline"; exit 0 ;;
  1|3) ;;
  *) echo "compare exited $rc (no baseline? create one with: orac baseline set RUN...)" >&2; exit 0 ;;
esac
title="orac nightly: regressions on $gpu"
number=$(gh issue list --repo "$repo" --state open --search "\"$title\" in:title" --json number --jq '.[0].number // empty')
if [ -n "$number" ]; then
  gh issue comment "$number" --repo "$repo" --body-file "$out/nightly.md"
else
  gh issue create --repo "$repo" --title "$title" --body-file "$out/nightly.md"
fi
exit "$rc"
