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
#
# ci/rehearse.sh --counters [ORAC]
# The counters gate rehearsed: a branch that un-pads attention_unfused's shared tiles, the
# counters job (ci/pr-counters.sh, the emulator; needs NVRTC, e.g. ORAC_CUDA_HOME), then the
# A/B job with its section (ci/pr-ab.sh on this machine's backend) and the comment posted
# with `gh` stubbed. Prints the comment; exits with the counters gate's code (1: worse).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --bringup ]; then
  shift
  orac=$(realpath "${1:-target/release/orac}")
  [ $# -gt 0 ] && shift
  out=$(mktemp -d)/bringup
  exec "$here/gpu-bringup.sh" --rehearse --orac "$orac" --out "$out" --fresh --max-time 0.2 "$@"
fi
counters=false
if [ "${1:-}" = --counters ]; then
  counters=true
  shift
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
if $counters; then
  git checkout -qb unpadded-tiles
  sed -i 's|float qs\[T\]\[TK + 1\], ks\[T\]\[TK + 1\];|float qs[T][TK], ks[T][TK];|' \
    kernels/cuda/attention_unfused.cu
  git -c user.name=rehearsal -c user.email=rehearsal@example.com commit -qam "unfused attention: unpad the Q and K tiles"
  head=$(git rev-parse HEAD)
  export GITHUB_OUTPUT=$tmp/counters_output
  : > "$GITHUB_OUTPUT"
  "$here/pr-counters.sh" "$base" "$head" counters "$orac"
  section=$(sed -n 's/^section=//p' "$GITHUB_OUTPUT")
  counters_exit=$(sed -n 's/^exit_code=//p' "$GITHUB_OUTPUT")
  export COUNTERS_SECTION=$section
else
  git checkout -qb slower-gemm
  sed -i 's|    for (long i = 0; i < M; i++) {|    for (long r = 0; r < M + M / 10; r++) {\n        long i = r < M ? r : r - M;|' \
    kernels/cpu/gemm_naive.c
  git -c user.name=rehearsal -c user.email=rehearsal@example.com commit -qam "naive GEMM: 10% more work"
  head=$(git rev-parse HEAD)
fi

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
if $counters; then
  echo "----- counters gate exit code: $counters_exit (A/B gate: $exit_code) -----"
  exit "$counters_exit"
fi
echo "----- gate exit code: $exit_code -----"
exit "$exit_code"
