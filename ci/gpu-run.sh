#!/usr/bin/env bash
# ci/gpu-run.sh OUT_DIR [ORAC_BINARY]
# The nightly's GPU step: ci/gpu-bringup.sh (the GPU entry point) with the full profile, no
# deadline, and its raw files kept in OUT_DIR, laid out as the nightly's later steps read
# them: OUT_DIR/{info,kernels,verify,run}.txt, the run under OUT_DIR/results/ and its table
# as OUT_DIR/run.md; with PyTorch, OUT_DIR/peer.json (ci/peer/torch_peer.py on the same
# shapes) and OUT_DIR/peer-check.txt (ci/peer/check_peer.py; red when a vendor reference is
# off its peer by > 3%); OUT_DIR/bundle/ has the bring-up's status.json and summary.md.
# Every section runs even if an earlier one fails; the exit code is the first failure's.
#
# ORAC_PROFILE=quick (default: full, as the nightly runs) for a shorter run. A GPU session
# with little time runs ci/gpu-bringup.sh itself: a deadline, budgets, a bundle per section.
set -u
out=${1:?usage: ci/gpu-run.sh OUT_DIR [ORAC_BINARY]}
orac=${2:-./target/release/orac}
exec python3 "$(dirname "$0")/gpu_bringup.py" --work "$out" --out "$out/bundle" --orac "$orac" \
  --profile "${ORAC_PROFILE:-full}" --deadline 0 --fresh --sections info,kernels,verify,run,peers \
  --budget info=300 --budget kernels=1800 --budget verify=3600 --budget run=10800 --budget peers=3600
