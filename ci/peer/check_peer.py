#!/usr/bin/env python3
"""Sets orac's results beside the peers measured in the same job (ci/peer/torch_peer.py), as a
markdown table for docs/PERFORMANCE.md:

    python3 ci/peer/check_peer.py RUN.json PEER.json > peer-check.md

Each orac result with a peer on the same dtype and shape gets a row: orac's median, the peer's
(orac's timing method, and triton.testing.do_bench where it ran), and orac's speed as a
share of the peer's. Vendor references (cuBLAS, the driver's copies) must agree with their
torch counterparts: both call the same library, so a gap over 3% means one of the two timings
is wrong, and the row says so ("CHECK"). For hand-written kernels the share is the result.

Exit status: 0, or 1 when a vendor reference is off by more than 3% from do_bench (or, without
Triton, from the peer's own timing), so a CI job can go red on a timing method gone wrong.
"""

import json
import sys

TOLERANCE = 0.03


def peers_for(oid):
    """Peer ids measuring what orac id `oid` measures, in order of preference."""
    parts = oid.split("/")
    if len(parts) != 4:
        return []
    family, kernel, dtype, shape = parts
    if family == "gemm":
        return [f"peer/torch-matmul/{dtype}/{shape}"]
    if family == "attention":
        backends = ("flash", "cudnn", "efficient", "math")
        return [f"peer/torch-sdpa-{b}/{dtype}/{shape}" for b in backends]
    if family == "memcpy":
        if kernel in ("htod", "dtoh"):
            return [f"peer/torch-{kernel}/{dtype}/{shape}"]
        kind = "triad" if dtype == "f32" else "copy"
        return [f"peer/torch-{kind}/{dtype}/{shape}"]
    return []


def fmt_time(s):
    if s is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.4g} {unit}"
    return f"{s / 1e-9:.4g} ns"


def rows(run, peer):
    by_id = {p["id"]: p for p in peer.get("results", []) if "median_s" in p}
    for b in run.get("benchmarks", []):
        summary = b.get("summary") or {}
        median = summary.get("median")
        if b.get("status") != "ok" or median is None:
            continue
        for pid in peers_for(b["id"]):
            p = by_id.get(pid)
            if p is None:
                continue
            yardstick = p.get("do_bench_median_s") or p["median_s"]
            share = yardstick / median  # > 1: orac faster than the peer
            verdict = ""
            if b.get("reference"):
                verdict = "agrees" if abs(median / yardstick - 1) <= TOLERANCE else "CHECK"
            # orac's GEMMs write an f32 C; a peer that wrote a bf16/f16 one moved less data.
            if p.get("c_dtype") not in (None, "f32"):
                verdict = (verdict + f" (peer wrote {p['c_dtype']} C: not like for like)").strip()
            yield {
                "id": b["id"],
                "reference": bool(b.get("reference")),
                "orac": median,
                "peer_id": pid,
                "peer": p["median_s"],
                "do_bench": p.get("do_bench_median_s"),
                "share": share,
                "verdict": verdict,
            }


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            run = json.load(f)
        with open(sys.argv[2]) as f:
            peer = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_peer: {e}", file=sys.stderr)
        return 2
    gpu = (run.get("hardware") or {}).get("gpu") or {}
    commit = ((run.get("git") or {}).get("commit") or "unknown")[:7]
    print(
        f"orac at {commit} on {gpu.get('name', run.get('hardware', {}).get('key', '?'))}; "
        f"peer: torch {peer.get('torch', '?')} (CUDA {peer.get('cuda', '?')}) on "
        f"{peer.get('device', '?')}, Triton do_bench {'yes' if peer.get('triton') else 'no'}\n"
    )
    print("| orac id | orac median | peer | peer median | do_bench median | orac speed vs peer | vendor check |")
    print("|---|--:|---|--:|--:|--:|---|")
    off = 0
    for r in rows(run, peer):
        print(
            f"| `{r['id']}`{' (ref)' if r['reference'] else ''} | {fmt_time(r['orac'])} | "
            f"`{r['peer_id']}` | {fmt_time(r['peer'])} | {fmt_time(r['do_bench'])} | "
            f"{100 * r['share']:.1f}% | {r['verdict']} |"
        )
        off += r["verdict"] == "CHECK"
    if off:
        print(f"\n{off} vendor reference(s) differ from their peer by more than {TOLERANCE:.0%}.")
    return 1 if off else 0


if __name__ == "__main__":
    sys.exit(main())
