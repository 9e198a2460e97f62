#!/usr/bin/env bash
# Runs orac on a GPU machine with a prebuilt binary: no Rust, no network needed.
#
#   ci/gpu-run.sh OUT_DIR [ORAC_BINARY]
#
# Writes OUT_DIR/{info,kernels,verify,run}.txt, the run's results under OUT_DIR/results/ and
# its table as OUT_DIR/run.md; with PyTorch installed, also OUT_DIR/peer.json
# (ci/peer/torch_peer.py on the same shapes) and OUT_DIR/peer-check.txt (ci/peer/check_peer.py:
# orac beside the peers, as markdown; red when a vendor reference is off its peer by > 3%).
# Every step runs even if an earlier one fails; the script exits with the first failure's
# code so a CI job still goes red. The CUDA toolkit (libnvrtc, ptxas) is found through
# CUDA_HOME, /usr/local/cuda, or pip's nvidia-cuda-nvrtc / nvidia-cuda-nvcc.
#
# ORAC_PROFILE=quick (default: full, as the nightly runs) for a first look on a machine with
# little time: the full profile runs about a hundred GPU benchmarks for up to 10 s each.
set -u
out=${1:?usage: ci/gpu-run.sh OUT_DIR [ORAC_BINARY]}
orac=${2:-./target/release/orac}
profile=${ORAC_PROFILE:-full}
mkdir -p "$out"
status=0

step() {
  local name=$1
  shift
  echo "=== $name: $*" >&2
  "$@" >"$out/$name.txt" 2>&1
  local rc=$?
  cat "$out/$name.txt"
  echo "=== $name exited $rc" >&2
  if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi
}

step info "$orac" info --backend cuda
step kernels "$orac" kernels --arch sm_90
step verify "$orac" verify --backend cuda --profile "$profile"
step run "$orac" run --backend cuda --profile "$profile" --results-dir "$out/results"
# Peers on the same machine, same job, same shapes: PyTorch's matmul and SDPA (if installed).
if python3 -c "import torch" 2>/dev/null; then
  "$orac" list --backend cuda --profile "$profile" >"$out/ids.txt" 2>/dev/null
  step peer python3 "$(dirname "$0")/peer/torch_peer.py" "$out/ids.txt" "$out/peer.json"
fi
# Tables for docs/PERFORMANCE.md: the run as markdown, and orac beside its peers.
run_file=$(find "$out/results" -name '*.json' 2>/dev/null | sort | tail -n 1)
if [ -n "$run_file" ]; then
  "$orac" show --markdown "$run_file" >"$out/run.md" 2>&1
  if [ -f "$out/peer.json" ]; then
    step peer-check python3 "$(dirname "$0")/peer/check_peer.py" "$run_file" "$out/peer.json"
  fi
fi
exit "$status"
