#!/usr/bin/env bash
# ci/nightly-history.sh RESULTS ORAC REPO OUT
# Run from a full-history checkout of the branch (history follows its first-parent commits).
# For every hardware key under RESULTS: `orac history`; when a benchmark got slower among its
# newest commits (a change point or creep, `--fail-within $ORAC_FAIL_WITHIN`, default 10: a
# step needs at least three nights to be confirmed, a small one more), open one issue
# "orac nightly: change points on KEY", or comment on it with the slowdowns it does not yet
# mention (by benchmark and commit), so each is raised once however many nights it stays in
# the window. Then `orac report` of everything into OUT/report. Exits 1 when something new
# was raised. Issue bodies and comments are capped to GitHub's size limit (ci/cap-body.sh).
set -u
here=$(dirname "$0")
results=${1:?usage: nightly-history.sh RESULTS ORAC REPO OUT}
orac=${2:?usage} repo=${3:?usage} out=${4:?usage}
within=${ORAC_FAIL_WITHIN:-10}
mkdir -p "$out"
status=0
for dir in "$results"/*/; do
  [ -d "$dir" ] || continue
  key=$(basename "$dir")
  "$orac" history --results-dir "$results" --hardware "$key" --format json >"$out/history-$key.json" || true
  "$orac" history --results-dir "$results" --hardware "$key" --fail-within "$within" >"$out/history-$key.txt"
  rc=$?
  case $rc in
    0) echo "$key: nothing slower in the newest $within commits"; continue ;;
    1) ;;
    *) echo "$key: orac history exited $rc" >&2; status=$rc; continue ;;
  esac
  title="orac nightly: change points on $key"
  # The search is fuzzy: keep only the issue with exactly this title.
  number=$(gh issue list --repo "$repo" --state open --search "\"$title\" in:title" \
    --json number,title --jq "map(select(.title == \"$title\")) | .[0].number // empty")
  known=""
  if [ -n "$number" ]; then
    known=$(gh issue view "$number" --repo "$repo" --comments 2>/dev/null || true)
  fi
  # A slowdown is known when the issue already names its benchmark and commit (or range).
  fresh=$(grep -E '^  [^ ]+ (slower (at|between) |creeping slower: )' "$out/history-$key.txt" |
    while IFS= read -r line; do
      id=$(echo "$line" | awk '{print $1}')
      where=$(echo "$line" | awk '{ if ($2 == "slower") print $4; else for (i = 1; i <= NF; i++) if ($i ~ /\.\./) { print $i; exit } }')
      if ! printf '%s' "$known" | grep -F -- "$id" | grep -qF -- "$where"; then
        echo "$line"
      fi
    done)
  if [ -z "$fresh" ]; then
    echo "$key: slowdowns in the newest $within commits are already in issue #$number"
    continue
  fi
  body="$out/history-$key.md"
  {
    echo "### orac nightly: a benchmark got slower on \`$key\`"
    echo
    echo "New since the last report (time: + is slower):"
    echo
    echo '```'
    echo "$fresh"
    echo '```'
    echo
    echo "<details><summary>Full history</summary>"
    echo
    echo '```'
    cat "$out/history-$key.txt"
    echo '```'
    echo "</details>"
  } >"$body"
  "$here/cap-body.sh" "$body"
  if [ -n "$number" ]; then
    gh issue comment "$number" --repo "$repo" --body-file "$body"
  else
    gh issue create --repo "$repo" --title "$title" --body-file "$body"
  fi
  [ "$status" -eq 0 ] && status=1
done
if ! "$orac" report --results-dir "$results" --out-dir "$out/report"; then
  echo "orac report failed" >&2
  [ "$status" -eq 0 ] && status=2
fi
exit "$status"
