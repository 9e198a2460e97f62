#!/usr/bin/env bash
# ci/nightly-compare.sh OUT ORAC REPO [GPU]
# Compares the newest run in OUT/results with its hardware key's baseline
# (baselines/<key>.json). One issue per hardware key, "orac nightly: regressions on KEY",
# holds the current state rather than a comment a night: while something is slower or
# failed its body is replaced by the latest comparison (capped to GitHub's size limit with
# ci/cap-body.sh), and on the first night without it is closed with one comment. GPU (the
# runner label) is only named in the body. No baseline yet: says how to create one, exits 0.
set -u
usage="usage: ci/nightly-compare.sh OUT ORAC REPO [GPU]"
out=${1:?$usage} orac=${2:?$usage} repo=${3:?$usage} gpu=${4:-}
here=$(dirname "$0")
run=$(find "$out/results" -name '*.json' 2>/dev/null | sort | tail -n 1)
[ -n "$run" ] || { echo "no run in $out/results" >&2; exit 1; }
key=$(basename "$(dirname "$run")")
"$orac" compare baseline "$run" --markdown-out "$out/nightly.md" --json-out "$out/nightly.json"
rc=$?
case $rc in
  0|1|3) ;;
  *) echo "compare exited $rc (no baseline? create one with: orac baseline set RUN...)" >&2; exit 0 ;;
esac
title="orac nightly: regressions on $key"
# The search is fuzzy: keep only the issue with exactly this title.
number=$(gh issue list --repo "$repo" --state open --search "\"$title\" in:title" \
  --json number,title --jq "map(select(.title == \"$title\")) | .[0].number // empty")
today=$(date -u +%Y-%m-%d)
if [ "$rc" -eq 0 ]; then
  echo "no regression against the baseline"
  if [ -n "$number" ]; then
    gh issue close "$number" --repo "$repo" \
      --comment "No regression against the baseline on $today (run \`$(basename "$run")\`): closing."
  fi
  exit 0
fi
body="$out/nightly-issue.md"
{
  printf 'Last updated %s from run %s%s. This body is replaced every night while the regression lasts.\n\n' \
    "$today" "\`$(basename "$run")\`" "${gpu:+ on runner \`$gpu\`}"
  cat "$out/nightly.md"
} > "$body"
"$here/cap-body.sh" "$body"
if [ -n "$number" ]; then
  gh issue edit "$number" --repo "$repo" --body-file "$body"
else
  gh issue create --repo "$repo" --title "$title" --body-file "$body"
fi
exit "$rc"
