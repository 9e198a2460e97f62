#!/usr/bin/env bash
# ci/rehearse.sh [ORAC]
# A pull request rehearsed end to end on the CPU backend: a temporary repository, a branch
# whose naive GEMM does 10% more work, and the very scripts the pull-request workflow runs
# (ci/pr-ab.sh, then ci/post-comment.sh with `gh` stubbed to record its command line).
# Prints the comment the PR would get and the recorded gh call; exits with the gate's code.
#
# ci/rehearse.sh --bringup [ORAC] [OPTIONS...]
# The GPU bring-up (ci/gpu-bringup.sh) rehearsed on the CPU backend with the real binary:
# preflight, info, verify, the run and the peers' plan, each in its budget, the bundle
# rewritten after each; the sections that need a GPU skipped with the reason. OPTIONS go to
# ci/gpu-bringup.sh (--out DIR, default a temporary directory; --filter RE; --max-time S).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --bringup ]; then
  shift
  orac=$(realpath "${1:-target/release/orac}")
  [ $# -gt 0 ] && shift
  out=$(mktemp -d)/bringup
  exec "$here/gpu-bringup.sh" --rehearse --orac "$orac" --out "$out" --fresh --max-time 0.2 "$@"
fi
orac=$(realpath "${1:-target/release/orac}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$here/../kernels" "$tmp/"
cd "$tmp"
git init -q
git add kernels
git -c user.name=rehearsal -c user.email=rehearsal@example.com commit -qm "base"
base=$(git rev-parse HEAD)
git checkout -qb slower-gemm
sed -i 's|    for (long i = 0; i < M; i++) {|    for (long r = 0; r < M + M / 10; r++) {\n        long i = r < M ? r : r - M;|' \
  kernels/cpu/gemm_naive.c
git -c user.name=rehearsal -c user.email=rehearsal@example.com commit -qam "naive GEMM: 10% more work"
head=$(git rev-parse HEAD)

mkdir stub
printf '#!/usr/bin/env bash\necho "gh $*" >> "$GH_LOG"\n' > stub/gh
chmod +x stub/gh
export GH_LOG=$tmp/gh.log GITHUB_OUTPUT=$tmp/github_output
: > "$GH_LOG"
: > "$GITHUB_OUTPUT"

"$here/pr-ab.sh" "$base" "$head" out "$orac"
comment=$(sed -n 's/^comment=//p' "$GITHUB_OUTPUT")
exit_code=$(sed -n 's/^exit_code=//p' "$GITHUB_OUTPUT")
PATH="$tmp/stub:$PATH" "$here/post-comment.sh" example/orac 1 "$comment"

echo "----- comment ($comment) -----"
cat "$comment"
echo "----- gh calls -----"
cat "$GH_LOG"
echo "----- gate exit code: $exit_code -----"
exit "$exit_code"
