#!/usr/bin/env bash
# One orac shard per GPU as a Slurm job array, then one merge:
#
#   jid=$(sbatch --parsable --array=1-4 ci/slurm-array.sh run results)
#   sbatch --dependency=afterok:"$jid" ci/slurm-array.sh merge results
#
# Each array task runs `orac run --shard auto`, which reads its K/N from
# SLURM_ARRAY_TASK_ID / _MIN / _MAX (or _COUNT) and says so; the merge joins the shards of
# this commit into one run (the shards are set aside in .merged/).
#SBATCH --job-name=orac
#SBATCH --gres=gpu:1
#SBATCH --time=02:00:00
set -euo pipefail

mode="${1:-run}"
results="${2:-results}"
orac="${ORAC:-target/release/orac}"
shards="$results/shards"

case "$mode" in
  run)
    exec "$orac" run --shard auto --profile "${ORAC_PROFILE:-full}" --results-dir "$shards"
    ;;
  merge)
    mapfile -t files < <(find "$shards" -mindepth 2 -maxdepth 2 -name '*.json' ! -name '.*' | sort)
    if [ "${#files[@]}" -lt 2 ]; then
      echo "slurm-array.sh: found ${#files[@]} shard files under $shards, need 2 or more" >&2
      exit 2
    fi
    exec "$orac" merge --results-dir "$results" "${files[@]}"
    ;;
  *)
    echo "usage: slurm-array.sh run|merge [RESULTS_DIR]" >&2
    exit 2
    ;;
esac
