#!/usr/bin/env python3
"""Set the emulator's counters beside Nsight Compute's for the same launches (the bring-up's
`counters` section; docs/EMULATOR.md, "Counters").

Usage: ncu_compare.py COUNTERS_TXT NCU_CSV

COUNTERS_TXT is `orac counters --all` output (a benchmark id on a line, then `  name value`
lines); NCU_CSV is `ncu --csv --page raw --metrics ...` over `orac verify --backend cuda
--profile emu --isolation none` of the same benchmarks. A benchmark is matched to the first
ncu launch whose kernel name contains its kernel's name (gemm/regblock -> *regblock*), so
pick benchmarks of single-launch kernels. Prints one markdown table per benchmark: each
emulator count, the ncu metric it corresponds to, both values and their ratio. PTX is not
SASS, so instruction counts differ by design; the memory counts are the model under test.
Exits 2 on bad usage or unreadable input, 1 if no benchmark could be matched.
"""
import csv
import sys

# emulator count (or difference of two) -> ncu metric
PAIRS = [
    ("inst.executed", "smsp__inst_executed.sum"),
    ("inst.thread_executed", "smsp__thread_inst_executed.sum"),
    ("branch.divergent", "smsp__sass_branch_targets_threads_divergent.sum"),
    ("shared.ld.requests", "smsp__inst_executed_op_shared_ld.sum"),
    ("shared.ld.wavefronts", "l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ld.sum"),
    ("shared.ld.wavefronts-shared.ld.ideal_wavefronts", "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum"),
    ("shared.st.requests", "smsp__inst_executed_op_shared_st.sum"),
    ("shared.st.wavefronts", "l1tex__data_pipe_lsu_wavefronts_mem_shared_op_st.sum"),
    ("shared.st.wavefronts-shared.st.ideal_wavefronts", "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum"),
    ("shared.ldmatrix.wavefronts", "l1tex__data_pipe_lsu_wavefronts_mem_shared_op_ldsm.sum"),
    ("global.ld.requests", "l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum"),
    ("global.ld.sectors", "l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum"),
    ("global.st.requests", "l1tex__t_requests_pipe_lsu_mem_global_op_st.sum"),
    ("global.st.sectors", "l1tex__t_sectors_pipe_lsu_mem_global_op_st.sum"),
    ("cp_async.global_sectors", "l1tex__t_sectors_pipe_lsu_mem_global_op_ldgsts.sum"),
]

METRICS = sorted({m for _, m in PAIRS})


def read_counters(path):
    benches, current = {}, None
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        if not line.startswith(" ") and line.count("/") >= 3 and " " not in line.strip():
            current = line.strip()
            benches.setdefault(current, {})
        elif current and line.startswith("  "):
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                benches[current][parts[0]] = int(parts[1])
    return benches


def read_ncu(path):
    rows = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    # the raw page's second row holds units
    return [r for r in rows if (r.get("ID") or "").strip().isdigit()]


def number(text):
    try:
        return float(str(text).replace(",", ""))
    except ValueError:
        return None


def emulated(counts, name):
    if "-" in name:
        a, b = name.split("-")
        return counts.get(a, 0) - counts.get(b, 0)
    return counts.get(name, 0)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        benches = read_counters(argv[1])
        launches = read_ncu(argv[2])
    except OSError as e:
        print(f"ncu_compare.py: {e}", file=sys.stderr)
        return 2
    matched = 0
    for bench, counts in benches.items():
        kernel = bench.split("/")[1].replace("-", "_")
        launch = next((r for r in launches if kernel in (r.get("Kernel Name") or "")), None)
        print(f"\n### `{bench}`\n")
        if launch is None:
            print(f"no ncu launch whose kernel name contains `{kernel}`")
            continue
        matched += 1
        print(f"ncu launch {launch['ID']}: `{launch.get('Kernel Name')}`\n")
        print("| emulator | value | ncu metric | value | ncu / emulator |")
        print("|---|--:|---|--:|--:|")
        for ours, theirs in PAIRS:
            mine = emulated(counts, ours)
            value = number(launch.get(theirs, ""))
            shown = "n/a" if value is None else f"{value:.0f}"
            ratio = "" if value is None or mine == 0 else f"{value / mine:.3f}"
            print(f"| `{ours}` | {mine} | `{theirs}` | {shown} | {ratio} |")
    return 0 if matched else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
