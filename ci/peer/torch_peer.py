#!/usr/bin/env python3
"""Peer measurements on the same machine, in the same job, on the same shapes as orac:
torch.matmul for every GEMM shape, scaled_dot_product_attention (flash, cuDNN and math backends) for
every attention shape that orac's suite lists, decode shapes included (one query token,
grouped-query heads through `enable_gqa`, reported in GB/s as well), and torch's copy_ (device
to device, and host to device and back with pinned memory) and a triad (torch.add with alpha)
for the memcpy family, with orac's byte counts.

    orac list --backend cuda --profile full > ids.txt
    python3 ci/peer/torch_peer.py ids.txt OUT.json      # needs PyTorch with CUDA
    python3 ci/peer/torch_peer.py ids.txt --dry-run      # only parse and print the plan

Timing follows orac's method: CUDA events on the stream, a 256 MiB buffer zeroed before each
sample to flush L2 (outside the timed region), warm-up of at least 3 runs and 100 ms, then
samples until 0.5 s and at least 10 samples; the median is reported. f32 matmul runs with TF32
disabled, like orac's cuBLAS f32 reference; tf32 ids run it with TF32 allowed. Where Triton is
installed, each case is also timed with triton.testing.do_bench (median), the yardstick the
issue names for cuBLAS and copies: `do_bench_median_s` next to `median_s`.
"""

import argparse
import json
import os
import re
import statistics
import sys

GEMM = re.compile(r"^gemm/[^/]+/(f32|tf32|f16|bf16)/m(\d+)n(\d+)k(\d+)$")
ATTN = re.compile(r"^attention/[^/]+/(f32|bf16|f16)/b(\d+)h(\d+)sq(\d+)sk(\d+)d(\d+)(-causal)?$")
DECODE = re.compile(r"^attention/[^/]+/(f32|bf16|f16)/b(\d+)h(\d+)kv(\d+)s(\d+)d(\d+)$")
MEM = re.compile(r"^memcpy/([^/]+)/(u8|f32)/(\d+)(MiB|B)$")
SIZE = {"f32": 4, "tf32": 4, "bf16": 2, "f16": 2}
MIB = 1 << 20


def mem_kind(kernel, dtype):
    """orac's memcpy kernels by what they do: transfers, the triad, or a device copy."""
    if kernel in ("htod", "dtoh"):
        return kernel
    return "triad" if dtype == "f32" else "copy"


def mem_bytes(kind, n):
    """orac's byte counts (src/suite/memcpy.rs): read + write for copies, 3n for the triad,
    n for a transfer (what crosses the host link)."""
    return {"copy": 2 * n, "triad": 3 * n}.get(kind, n)


def size_segment(n):
    return f"{n // MIB}MiB" if n >= MIB and n % MIB == 0 else f"{n}B"


def plan(ids):
    """Unique peer cases for the orac ids given, in first-seen order."""
    cases, seen = [], set()
    for line in ids:
        line = line.strip()
        m = GEMM.match(line)
        if m:
            dtype, mm, nn, kk = m.group(1), *map(int, m.group(2, 3, 4))
            case = ("matmul", dtype, (mm, nn, kk))
        elif MEM.match(line):
            a = MEM.match(line)
            n = int(a.group(3)) * (MIB if a.group(4) == "MiB" else 1)
            case = (mem_kind(a.group(1), a.group(2)), a.group(2), (n,))
        elif DECODE.match(line):
            a = DECODE.match(line)
            case = ("decode", a.group(1), tuple(map(int, a.group(2, 3, 4, 5, 6))))
        else:
            a = ATTN.match(line)
            if not a:
                continue
            dtype = a.group(1)
            b, h, sq, sk, d = map(int, a.group(2, 3, 4, 5, 6))
            case = ("sdpa", dtype, (b, h, sq, sk, d, a.group(7) is not None))
        if case not in seen:
            seen.add(case)
            cases.append(case)
    return cases


def case_id(kind, dtype, shape, backend=None):
    if kind == "matmul":
        m, n, k = shape
        return f"peer/torch-matmul/{dtype}/m{m}n{n}k{k}"
    if kind == "decode":
        b, h, kv, s, d = shape
        return f"peer/torch-sdpa-{backend}/{dtype}/b{b}h{h}kv{kv}s{s}d{d}"
    if kind in MEM_KINDS:
        return f"peer/torch-{kind}/{dtype}/{size_segment(shape[0])}"
    b, h, sq, sk, d, causal = shape
    return f"peer/torch-sdpa-{backend}/{dtype}/b{b}h{h}sq{sq}sk{sk}d{d}{'-causal' if causal else ''}"


def flops(kind, shape):
    """orac's formulas (src/suite/gemm.rs, attention.rs): 2·M·N·K; 4·B·H·Sq·Sk·D, halved for
    causal with Sq = Sk, else the visible (query, key) pairs counted exactly."""
    if kind == "matmul":
        m, n, k = shape
        return 2 * m * n * k
    if kind == "decode":
        b, h, kv, s, d = shape
        return 4 * b * h * s * d
    if kind in MEM_KINDS:
        return 2 * (shape[0] // 4) if kind == "triad" else 0
    b, h, sq, sk, d, causal = shape
    if not causal:
        return 4 * b * h * sq * sk * d
    if sq == sk:
        return 4 * b * h * sq * sk * d // 2
    pairs = sum(min(sk, max(0, i + sk - sq + 1)) for i in range(sq))
    return 4 * b * h * pairs * d


MEM_KINDS = ("copy", "htod", "dtoh", "triad")


def decode_bytes(dtype, shape):
    """orac's decode byte count (src/suite/decode.rs): K and V once, Q in the dtype, O in f32."""
    b, h, kv, s, d = shape
    e = SIZE[dtype]
    return 2 * b * kv * s * d * e + b * h * d * e + b * h * d * 4


def unsupported(kind, shape):
    """Why a case cannot be measured like orac's, or None."""
    if kind == "sdpa":
        b, h, sq, sk, d, causal = shape
        if causal and sq != sk:
            return "PyTorch's is_causal aligns the mask top-left; orac's causal mask is bottom-right when Sq != Sk"
    return None


def measure(torch, fn):
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    warm_start = torch.cuda.Event(enable_timing=True)
    warm_start.record()
    runs = 0
    while True:
        fn()
        runs += 1
        end.record()
        end.synchronize()
        if runs >= 3 and warm_start.elapsed_time(end) >= 100.0:
            break
    samples, total = [], 0.0
    while len(samples) < 10 or total < 0.5:
        flush.zero_()
        start.record()
        fn()
        end.record()
        end.synchronize()
        s = start.elapsed_time(end) / 1e3
        samples.append(s)
        total += s
        if total > 10.0 and len(samples) >= 10:
            break
    return samples


def save(path, result):
    """Writes the results so far through a temporary file and a rename: a run stopped by its
    time budget keeps the cases it finished."""
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)


def run(cases, path=None):
    import torch
    import torch.nn.functional as F

    try:
        from triton.testing import do_bench
    except ImportError:
        do_bench = None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dt = {"f32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
    out = []

    def result(partial):
        r = {
            "device": torch.cuda.get_device_name(0),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "triton": do_bench is not None,
            "results": out,
        }
        if partial:
            r["partial"] = True
        return r

    for kind, dtype, shape in cases:
        if path:
            save(path, result(True))
        if kind == "matmul":
            m, n, k = shape
            a = torch.rand(m, k, device="cuda", dtype=dt[dtype]) * 2 - 1
            b = torch.rand(k, n, device="cuda", dtype=dt[dtype]) * 2 - 1
            # Like with like: orac's cuBLAS bf16/f16 entries write an f32 C, so the peer
            # asks for one too where this PyTorch can (torch.mm's out_dtype); otherwise it
            # writes a half-width C, about 3% less traffic at 8192^3, and says so.
            c_dtype = "f32"
            if dtype in ("bf16", "f16"):
                try:
                    torch.mm(a[:16, :16], b[:16, :16], out_dtype=torch.float32)
                except (TypeError, RuntimeError):
                    c_dtype = dtype

            def matmul(a=a, b=b, tf32=dtype == "tf32", f32_out=c_dtype == "f32" and dtype in ("bf16", "f16")):
                # TF32 only where orac's reference uses it (cublas-tf32); strict f32 otherwise.
                torch.backends.cuda.matmul.allow_tf32 = tf32
                if f32_out:
                    return torch.mm(a, b, out_dtype=torch.float32)
                return torch.matmul(a, b)

            variants = [(None, matmul)]
        elif kind in MEM_KINDS:
            n = shape[0]
            if kind == "triad":
                b_ = torch.rand(n // 4, device="cuda")
                c_ = torch.rand(n // 4, device="cuda")
                a_ = torch.empty_like(b_)
                variants = [(None, lambda a_=a_, b_=b_, c_=c_: torch.add(b_, c_, alpha=3.0, out=a_))]
            else:
                on = {"copy": ("cuda", "cuda"), "htod": ("cpu", "cuda"), "dtoh": ("cuda", "cpu")}[kind]
                src = torch.randint(0, 255, (n,), dtype=torch.uint8).to(on[0])
                dst = torch.empty(n, dtype=torch.uint8, device=on[1])
                if on[0] == "cpu":
                    src = src.pin_memory()
                if on[1] == "cpu":
                    dst = dst.pin_memory()
                variants = [(None, lambda dst=dst, src=src: dst.copy_(src, non_blocking=True))]
        elif kind == "decode":
            bb, h, kv, sk, d = shape
            q = torch.rand(bb, h, 1, d, device="cuda", dtype=dt[dtype]) * 2 - 1
            k_ = torch.rand(bb, kv, sk, d, device="cuda", dtype=dt[dtype]) * 2 - 1
            v = torch.rand(bb, kv, sk, d, device="cuda", dtype=dt[dtype]) * 2 - 1
            from torch.nn.attention import SDPBackend, sdpa_kernel

            def gqa(backend, q=q, k_=k_, v=v):
                def call():
                    with sdpa_kernel(backend):
                        return F.scaled_dot_product_attention(q, k_, v, enable_gqa=True)

                return call

            variants = [
                ("flash", gqa(SDPBackend.FLASH_ATTENTION)),
                ("cudnn", gqa(SDPBackend.CUDNN_ATTENTION)),
                ("efficient", gqa(SDPBackend.EFFICIENT_ATTENTION)),
            ]
        else:
            bb, h, sq, sk, d, causal = shape
            q = torch.rand(bb, h, sq, d, device="cuda", dtype=dt[dtype]) * 2 - 1
            k_ = torch.rand(bb, h, sk, d, device="cuda", dtype=dt[dtype]) * 2 - 1
            v = torch.rand(bb, h, sk, d, device="cuda", dtype=dt[dtype]) * 2 - 1
            from torch.nn.attention import SDPBackend, sdpa_kernel

            def sdpa(backend):
                def call():
                    with sdpa_kernel(backend):
                        return F.scaled_dot_product_attention(q, k_, v, is_causal=causal)

                return call

            # math: the unfused baseline's counterpart (materialised scores).
            variants = [
                ("flash", sdpa(SDPBackend.FLASH_ATTENTION)),
                ("cudnn", sdpa(SDPBackend.CUDNN_ATTENTION)),
                ("math", sdpa(SDPBackend.MATH)),
            ]
        for backend, fn in variants:
            rid = case_id(kind, dtype, shape, backend)
            why = unsupported(kind, shape)
            if why:
                out.append({"id": rid, "error": f"skipped: {why}"})
                continue
            try:
                samples = measure(torch, fn)
            except Exception as e:  # an unsupported backend or dtype is a result, not a crash
                out.append({"id": rid, "error": f"{type(e).__name__}: {e}"})
                print(f"{rid}: {e}", file=sys.stderr)
                continue
            med = statistics.median(samples)
            entry = {
                "id": rid,
                "median_s": med,
                "samples": len(samples),
                "tflop_per_s": flops(kind, shape) / med / 1e12,
            }
            if kind == "matmul":
                entry["c_dtype"] = c_dtype
            if kind == "decode":
                entry["gb_per_s"] = decode_bytes(dtype, shape) / med / 1e9
            if kind in MEM_KINDS:
                entry["gb_per_s"] = mem_bytes(kind, shape[0]) / med / 1e9
            if do_bench is not None:
                try:
                    entry["do_bench_median_s"] = do_bench(fn, return_mode="median") / 1e3
                except Exception as e:  # an old Triton without return_mode, say
                    entry["do_bench_error"] = f"{type(e).__name__}: {e}"
            out.append(entry)
            print(f"{rid}: {med * 1e3:.3f} ms, {flops(kind, shape) / med / 1e12:.1f} TFLOP/s", file=sys.stderr)
        torch.cuda.empty_cache()
    return result(False)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ids", help="file of orac benchmark ids (`orac list --backend cuda`)")
    p.add_argument("out", nargs="?", help="JSON file to write")
    p.add_argument("--dry-run", action="store_true", help="print the cases, measure nothing")
    args = p.parse_args()
    with open(args.ids) as f:
        cases = plan(f)
    if args.dry_run:
        for kind, dtype, shape in cases:
            backends = {"sdpa": ["flash", "cudnn", "math"], "decode": ["flash", "cudnn", "efficient"]}.get(
                kind, [None]
            )
            for backend in backends:
                why = unsupported(kind, shape)
                note = f" skipped: {why}" if why else ""
                print(case_id(kind, dtype, shape, backend), flops(kind, shape), note)
        return 0
    if not args.out:
        p.error("OUT is required unless --dry-run")
    try:
        import torch
    except ImportError:
        print("torch_peer: PyTorch is not installed; nothing measured", file=sys.stderr)
        return 4
    if not torch.cuda.is_available():
        print("torch_peer: no CUDA device; nothing measured", file=sys.stderr)
        return 4
    save(args.out, run(cases, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
