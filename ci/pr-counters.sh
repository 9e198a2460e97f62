#!/usr/bin/env bash
# ci/pr-counters.sh BASE HEAD OUT [ORAC]
# The pull-request counters gate, on any machine with NVRTC (no GPU): the kernels of the
# merge base of BASE and HEAD and of HEAD run in the PTX emulator (`orac ab --backend emu
# --changed-only`), their counters compared exactly. Writes OUT/counters.md (the section the
# PR comment shows under "Emulator counters") and OUT/counters.json, and, for GitHub Actions,
# `section=` and `exit_code=` to $GITHUB_OUTPUT. Always exits 0: the workflow's last step
# turns exit_code into the check's result (1 when a gated counter got worse).
set -u
base=${1:?usage: ci/pr-counters.sh BASE HEAD OUT [ORAC]}
head=${2:?usage: ci/pr-counters.sh BASE HEAD OUT [ORAC]}
out=${3:?usage: ci/pr-counters.sh BASE HEAD OUT [ORAC]}
orac=${4:-target/release/orac}
mkdir -p "$out"
merge_base=$(git merge-base "$base" "$head") || { echo "no merge base of $base and $head" >&2; exit 2; }
"$orac" ab --backend emu --base "$merge_base" --head "$head" --changed-only \
  --markdown-out "$out/counters.md" --json-out "$out/counters.json"
rc=$?
{
  [ -s "$out/counters.md" ] && echo "section=$out/counters.md"
  echo "exit_code=$rc"
} >> "${GITHUB_OUTPUT:-/dev/null}"
echo "orac ab --backend emu exited $rc" >&2
exit 0
