#!/usr/bin/env bash
# ci/nightly-history.sh RESULTS ORAC REPO OUT
# Run from a full-history checkout of the branch (history follows its first-parent commits).
# For every hardware key under RESULTS: `orac history`; when a benchmark got slower among its
# newest commits (a change point or creep, `--fail-within $ORAC_FAIL_WITHIN`, default 3: a
# step is confirmed by three nights), open or update one issue "orac nightly: change points
# on KEY". Then `orac report` of everything into OUT/report. Exits 1 when an issue was raised.
set -u
results=${1:?usage: nightly-history.sh RESULTS ORAC REPO OUT}
orac=${2:?usage} repo=${3:?usage} out=${4:?usage}
within=${ORAC_FAIL_WITHIN:-3}
mkdir -p "$out"
status=0
for dir in "$results"/*/; do
  [ -d "$dir" ] || continue
  key=$(basename "$dir")
  "$orac" history --results "$results" --hardware "$key" --json >"$out/history-$key.json" || true
  "$orac" history --results "$results" --hardware "$key" --fail-within "$within" >"$out/history-$key.txt"
  rc=$?
  case $rc in
    0) echo "$key: nothing slower in the newest $within commits"; continue ;;
    1) ;;
    *) echo "$key: orac history exited $rc" >&2; status=$rc; continue ;;
  esac
  body="$out/history-$key.md"
  {
    echo "### orac nightly: a benchmark got slower on \`$key\`"
    echo
    echo "Change points and creep along the branch (time: + is slower):"
    echo
    echo '```'
    cat "$out/history-$key.txt"
    echo '```'
  } >"$body"
  title="orac nightly: change points on $key"
  number=$(gh issue list --repo "$repo" --state open --search "\"$title\" in:title" --json number --jq '.[0].number // empty')
  if [ -n "$number" ]; then
    gh issue comment "$number" --repo "$repo" --body-file "$body"
  else
    gh issue create --repo "$repo" --title "$title" --body-file "$body"
  fi
  [ "$status" -eq 0 ] && status=1
done
if ! "$orac" report --results "$results" --out "$out/report"; then
  echo "orac report failed" >&2
  [ "$status" -eq 0 ] && status=2
fi
exit "$status"
