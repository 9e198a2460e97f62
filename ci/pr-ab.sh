#!/usr/bin/env bash
# ci/pr-ab.sh BASE HEAD OUT [ORAC]
# The pull-request A/B: the merge base of BASE and HEAD against HEAD, kernels read from git,
# interleaved in one process. Writes OUT/comment.md and OUT/ab.json (when no kernel
# changed, orac still writes the comment, saying that host code is not measured; in
# GitHub Actions the comment links the workflow run), and, for GitHub
# Actions, `comment=` and `exit_code=` to $GITHUB_OUTPUT. With COUNTERS_SECTION set to the
# counters job's markdown (ci/pr-counters.sh), the comment carries it too. Always exits 0: the workflow's
# last step turns exit_code into the check's result, after the comment is posted.
set -u
base=${1:?usage: ci/pr-ab.sh BASE HEAD OUT [ORAC]}
head=${2:?usage: ci/pr-ab.sh BASE HEAD OUT [ORAC]}
out=${3:?usage: ci/pr-ab.sh BASE HEAD OUT [ORAC]}
orac=${4:-target/release/orac}
mkdir -p "$out"
merge_base=$(git merge-base "$base" "$head") || { echo "no merge base of $base and $head" >&2; exit 2; }
# The counters job's section (ci/pr-counters.sh), when it ran: the one comment shows both.
section=()
[ -s "${COUNTERS_SECTION:-}" ] && section=(--counters-section "$COUNTERS_SECTION")
"$orac" ab --base "$merge_base" --head "$head" --changed-only \
  --markdown-out "$out/comment.md" --json-out "$out/ab.json" "${section[@]}"
rc=$?
{
  [ -s "$out/comment.md" ] && echo "comment=$out/comment.md"
  echo "exit_code=$rc"
} >> "${GITHUB_OUTPUT:-/dev/null}"
echo "orac ab exited $rc" >&2
exit 0
