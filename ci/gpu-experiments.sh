#!/usr/bin/env bash
# ci/gpu-experiments.sh OUT [ORAC] [SECTIONS]
# The GPU steps of the regression and reliability work (prebuilt binary; no Rust, no
# network). A GPU session runs them through ci/gpu-bringup.sh, the GPU entry point, one
# section at a time within its deadline; SECTIONS (comma-separated: ab, verdicts, faults;
# default all three) picks them here:
#   1. A/A and A/B through `orac ab --backend cuda`: a scratch repository whose head commit
#      makes the vectorised copy kernel re-copy a tenth of its buffer (~10% more traffic);
#      A/A three times, A/B three times, each report kept as OUT/ab/*.json.
#   2. Faults inside a real suite run: the copy family plus a kernel writing far out of
#      bounds (an illegal address that poisons its CUDA context) and one that spins
#      forever; the run must record both as failed with the reason and keep the rest.
#   3. Verdict accuracy (the verdicts issue), in a budget of its own (ORAC_VERDICTS_BUDGET_S,
#      default 300 s): A/A x5 and +3% x5 through the sequential gate on a copy kernel
#      (copy-vec re-copies 3% of its words) and a GEMM (tiled f32 m1024n1024k1024: one
#      block in 33 computes its tile twice); OUT/verdicts.txt has one line per A/B, for
#      the table in docs/REGRESSIONS.md.
# OUT/summary.txt has the verdicts; paste it into docs/REGRESSIONS.md and RELIABILITY.md.
#
# ORAC_EXPERIMENTS_PREPARE_ONLY=1 writes the scratch repository and the fault kernels under
# OUT and stops (what the CPU tests check, with `orac kernels` compiling them offline).
set -u
out=${1:?usage: ci/gpu-experiments.sh OUT [ORAC] [SECTIONS]}
orac=$(realpath "${2:-target/release/orac}")
sections=,${3:-ab,verdicts,faults},
want() { case $sections in *,"$1",*) return 0 ;; esac; return 1; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
status=0

# --- 1. the scratch repository for the A/B experiment ---------------------------------
repo=$out/ab-repo
rm -rf "$repo"
mkdir -p "$repo"
cp -r "$here/../kernels" "$repo/"
git_() { git -C "$repo" -c user.name=orac -c user.email=orac@example.com "$@"; }
git_ init -q
git_ add kernels
git_ commit -qm base
git_ tag base
python3 - "$repo/kernels/cuda/copy_vec.cu" <<'EOF'
import sys
path = sys.argv[1]
src = open(path).read()
loop = "    for (unsigned long long i = words * 16 + tid; i < n; i += stride) {"
extra = ("    // Deliberately slower: re-copy the first tenth of the words.\n"
         "    for (unsigned long long i = tid; i < words / 10; i += stride) {\n"
         "        d[i] = s[i];\n"
         "    }\n")
if loop not in src:
    sys.exit("copy_vec.cu changed shape: update ci/gpu-experiments.sh")
open(path, "w").write(src.replace(loop, extra + loop, 1))
EOF
git_ commit -qam "copy-vec re-copies a tenth of its buffer"
# Plants for the verdict-accuracy section, on a tag of their own off base: ~3% more work.
git_ checkout -q -b plants base
python3 - "$repo/kernels/cuda/copy_vec.cu" "$repo/kernels/cuda/gemm_tiled.cu" <<'EOF'
import sys
copy_path, gemm_path = sys.argv[1], sys.argv[2]
src = open(copy_path).read()
loop = "    for (unsigned long long i = words * 16 + tid; i < n; i += stride) {"
extra = ("    // Deliberately slower: re-copy 3% of the words.\n"
         "    for (unsigned long long i = tid; i < words * 3 / 100; i += stride) {\n"
         "        d[i] = s[i];\n"
         "    }\n")
if loop not in src:
    sys.exit("copy_vec.cu changed shape: update ci/gpu-experiments.sh")
open(copy_path, "w").write(src.replace(loop, extra + loop, 1))
src = open(gemm_path).read()
start = "    const int row = blockIdx.y * TILE + threadIdx.y;\n"
store = "    if (row < M && col < N) C[(long long)row * N + col] = acc;\n}"
if start not in src or store not in src:
    sys.exit("gemm_tiled.cu changed shape: update ci/gpu-experiments.sh")
# A block-uniform repeat count keeps the __syncthreads inside uniform.
src = src.replace(start, "    // Deliberately slower: one block in 33 computes its tile twice.\n"
                  "    const int reps = 1 + ((blockIdx.x + blockIdx.y * gridDim.x) % 33 == 0);\n"
                  "    for (int rep = 0; rep < reps; ++rep) {\n" + start, 1)
src = src.replace(store, "    if (row < M && col < N) C[(long long)row * N + col] = acc;\n    }\n}", 1)
open(gemm_path, "w").write(src)
EOF
git_ commit -qam "copy-vec and tiled GEMM do ~3% more work"
git_ tag plant3
git_ checkout -q -

# --- 2. the fault kernels ----------------------------------------------------------------
faults=$out/fault-kernels
rm -rf "$faults"
cp -r "$here/../kernels" "$faults"
cat > "$faults/cuda/fault_oob.cu" <<'EOF'
// Writes a terabyte past the end of its buffer: an illegal address, a poisoned context.
extern "C" __global__ void orac_fault_oob(const unsigned char *src, unsigned char *dst,
                                          unsigned long long n) {
    if (blockIdx.x == 0 && threadIdx.x == 0) dst[n + (1ull << 40)] = src[0];
}
EOF
cat > "$faults/cuda/fault_spin.cu" <<'EOF'
// Never returns: the run's per-benchmark timeout must end it.
extern "C" __global__ void orac_fault_spin(const unsigned char *src, unsigned char *dst,
                                           unsigned long long n) {
    volatile unsigned long long spin = 1;
    while (spin) {
    }
}
EOF
cat >> "$faults/cuda/manifest.toml" <<'EOF'

[[kernel]]
name = "fault-oob"
op = "copy"
dtype = "u8"
source = "fault_oob.cu"
entry = "orac_fault_oob"
block = [32, 1, 1]
grid = "threads:16"
description = "test fixture: an out-of-bounds write (ci/gpu-experiments.sh)"

[[kernel]]
name = "fault-spin"
op = "copy"
dtype = "u8"
source = "fault_spin.cu"
entry = "orac_fault_spin"
block = [32, 1, 1]
grid = "threads:16"
description = "test fixture: a kernel that never returns (ci/gpu-experiments.sh)"
EOF

if [ "${ORAC_EXPERIMENTS_PREPARE_ONLY:-0}" = 1 ]; then
  echo "prepared $repo and $faults"
  exit 0
fi

summary=$out/summary.txt
# All three: a fresh summary; a section on its own adds to it (the bring-up runs them apart).
[ "$sections" = ,ab,verdicts,faults, ] && : > "$summary"
verdicts() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(f"{e[\"id\"]}={e[\"verdict\"]} ({(e.get(\"ratio\") or 0):.4f})" for e in r["entries"]))' "$1"; }

# --- A/A and A/B ---------------------------------------------------------------------------
if want ab; then
mkdir -p "$out/ab"
for kind in aa ab; do
  head=base
  [ "$kind" = ab ] && head=HEAD
  for i in 1 2 3; do
    json=$out/ab/$kind-$i.json
    "$orac" ab --backend cuda --repo "$repo" --base base --head "$head" \
      --filter '^memcpy/copy-vec/' --json-out "$json" >"$out/ab/$kind-$i.txt" 2>&1
    rc=$?
    echo "$kind run $i (exit $rc): $(verdicts "$json" 2>/dev/null || echo 'no report')" | tee -a "$summary"
    # A/A must flag nothing; A/B must say slower (exit 1). Anything else is a finding.
    if { [ "$kind" = aa ] && [ "$rc" -ne 0 ]; } || { [ "$kind" = ab ] && [ "$rc" -ne 1 ]; }; then
      [ "$status" -eq 0 ] && status=1
    fi
  done
done
fi

# --- verdict accuracy: A/A x5 and +3% x5 on a copy kernel and a GEMM, in a budget -------
if want verdicts; then
verdict_budget=${ORAC_VERDICTS_BUDGET_S:-300}
verdict_start=$(date +%s)
vsum=$out/verdicts.txt
: > "$vsum"
mkdir -p "$out/verdicts"
for bench in '^memcpy/copy-vec/u8/64MiB$' '^gemm/tiled/f32/m1024n1024k1024$'; do
  for kind in aa plant3; do
    head=base
    [ "$kind" = plant3 ] && head=plant3
    for i in 1 2 3 4 5; do
      left=$((verdict_budget - ($(date +%s) - verdict_start)))
      if [ "$left" -le 10 ]; then
        echo "budget spent: $bench $kind $i not run" | tee -a "$vsum"
        continue
      fi
      name=$(echo "$bench" | tr -c 'a-zA-Z0-9\n' '-')$kind-$i
      json=$out/verdicts/$name.json
      timeout "$left" "$orac" ab --backend cuda --repo "$repo" --base base --head "$head" \
        --filter "$bench" --json-out "$json" >"$out/verdicts/$name.txt" 2>&1
      echo "$bench $kind $i (exit $?): $(verdicts "$json" 2>/dev/null || echo 'no report')" | tee -a "$vsum"
    done
  done
done
cat "$vsum" >> "$summary"
fi

# --- faults in a real run --------------------------------------------------------------
if want faults; then
"$orac" run --kernels "$faults" --backend cuda --filter '^memcpy/(copy-vec|dtod|fault-oob|fault-spin)/' \
  --timeout 30 --max-time 0.5 --results-dir "$out/fault-results" >"$out/faults.txt" 2>&1
echo "fault run exit: $? (3 expected: the two fixtures failed, the rest measured)" | tee -a "$summary"
run_file=$(find "$out/fault-results" -name '*.json' | sort | tail -n 1)
if [ -n "$run_file" ]; then
  python3 - "$run_file" <<'EOF' | tee -a "$summary"
import json, sys
run = json.load(open(sys.argv[1]))
for b in run["benchmarks"]:
    why = (b.get("error") or "").splitlines()[:1]
    print(f"{b['id']}: {b['status']} {why[0] if why else ''}")
EOF
else
  echo "no run file: the fault run lost its results" | tee -a "$summary"
  status=1
fi
fi
exit "$status"
