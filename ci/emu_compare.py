#!/usr/bin/env python3
"""Compare two `orac verify --out-dir` directories element by element: the emulator's outputs
against a GPU's for the same emu shapes and inputs (the bring-up's emulator cross-check).

Usage: emu_compare.py EMU_DIR GPU_DIR

Files are `<id>.u8` (bytes: must be identical) or `<id>.f32` (little-endian floats: the
normwise difference max|gpu - emu| / max|emu| must be within the dtype's tolerance, the
same one orac verifies against the f64 reference with; NaN anywhere is a mismatch). Prints
one line per benchmark and exits 1 if any differs or is missing on one side, 2 on bad usage.
"""
import math
import os
import struct
import sys

# orac's Dtype::tolerance (src/suite/model.rs), by the id's dtype segment.
TOLERANCE = {"u8": 0.0, "f32": 1e-5, "tf32": 1e-4, "f16": 1e-2, "bf16": 1e-2}


def dtype_of(name):
    # gemm--mma--bf16--m128n128k64.f32: family, kernel, dtype, shape.
    parts = name.rsplit(".", 1)[0].split("--")
    return parts[2] if len(parts) >= 4 else "f32"


def compare(emu_path, gpu_path, name):
    a = open(emu_path, "rb").read()
    b = open(gpu_path, "rb").read()
    if len(a) != len(b):
        return False, f"sizes differ: emu {len(a)} bytes, gpu {len(b)}"
    if name.endswith(".u8"):
        diff = sum(1 for x, y in zip(a, b) if x != y)
        return diff == 0, f"{len(a)} bytes, {diff} differ"
    n = len(a) // 4
    xs = struct.unpack(f"<{n}f", a)
    ys = struct.unpack(f"<{n}f", b)
    same = sum(1 for x, y in zip(xs, ys) if struct.pack("<f", x) == struct.pack("<f", y))
    if any(math.isnan(v) or math.isinf(v) for v in xs + ys):
        return False, f"{n} floats, NaN/Inf present"
    scale = max((abs(x) for x in xs), default=0.0) or 1e-300
    err = max((abs(x - y) for x, y in zip(xs, ys)), default=0.0) / scale
    tol = TOLERANCE.get(dtype_of(name), 1e-5)
    ok = err <= tol
    return ok, f"{n} floats, {same} bit-identical, normwise diff {err:.2e} (tolerance {tol:.0e})"


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    emu_dir, gpu_dir = argv
    names = sorted(set(os.listdir(emu_dir)) | set(os.listdir(gpu_dir)))
    if not names:
        print(f"no outputs in {emu_dir} or {gpu_dir}")
        return 1
    bad = 0
    for name in names:
        e, g = os.path.join(emu_dir, name), os.path.join(gpu_dir, name)
        if not os.path.exists(e) or not os.path.exists(g):
            ok, text = False, "only on the " + ("gpu" if os.path.exists(g) else "emu") + " side"
        else:
            ok, text = compare(e, g, name)
        bad += not ok
        print(f"{'same' if ok else 'DIFF'}  {name}: {text}")
    print(f"{len(names) - bad} of {len(names)} outputs agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
