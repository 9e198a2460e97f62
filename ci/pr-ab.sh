#!/usr/bin/env bash
# ci/pr-ab.sh BASE HEAD OUT [ORAC]
# The pull-request A/B: the merge base of BASE and HEAD against HEAD, kernels read from git,
# interleaved in one process. Writes OUT/comment.md and OUT/ab.json, and, for GitHub
# Actions, `comment=` and `exit_code=` to $GITHUB_OUTPUT. Always exits 0: the workflow's
# last step turns exit_code into the check's result, after the comment is posted.
set -u
base=${1:?usage: ci/pr-ab.sh BASE HEAD OUT [ORAC]}
head=${2:?usage: ci/pr-ab.sh BASE HEAD OUT [ORAC]}
out=${3:?usage: ci/pr-ab.sh BASE HEAD OUT [ORAC]}
orac=${4:-target/release/orac}
mkdir -p "$out"
merge_base=$(git merge-base "$base" "$head") || { echo "no merge base of $base and $head" >&2; exit 2; }
"$orac" ab --base "$merge_base" --head "$head" --changed-only \
  --markdown-out "$out/comment.md" --json-out "$out/ab.json"
rc=$?
if [ ! -s "$out/comment.md" ] && [ "$rc" -eq 0 ]; then
  # Say what did change: a green check must not read as "measured and fine".
  changed=$(git diff --name-only "$merge_base" "$head" -- . ':(exclude)kernels' | wc -l)
  {
    printf '%s\n### orac: no kernel changed, nothing measured\n\n' '<!-- orac:compare -->'
    printf 'No file under `kernels/` differs between `%s` and `%s`, so this gate timed nothing.' \
      "${merge_base:0:7}" "${head:0:7}"
    if [ "$changed" -gt 0 ]; then
      printf ' The pull request changes %s other file(s) (host code, scripts or docs): a change to how orac measures is **not** measured by this gate; run `orac ab` or the nightly to see its effect.\n' "$changed"
    else
      printf '\n'
    fi
  } > "$out/comment.md"
fi
{
  [ -s "$out/comment.md" ] && echo "comment=$out/comment.md"
  echo "exit_code=$rc"
} >> "${GITHUB_OUTPUT:-/dev/null}"
echo "orac ab exited $rc" >&2
exit 0
