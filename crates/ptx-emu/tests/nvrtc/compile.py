#!/usr/bin/env python3
"""Compile CUDA sources to PTX with NVRTC (no GPU needed), for the ptx-emu fixtures.

Usage: compile.py [--out DIR] FILE.cu...
Writes DIR/FILE.ptx (default: next to each source). NVRTC is found through $ORAC_CUDA_HOME
(a CUDA home with lib/libnvrtc.so.13 and include/), e.g. pip's nvidia/cu13 directory.
Options: --gpu-architecture=sm_90a --std=c++17 --generate-line-info --include-path=<home>/include
"""
import ctypes
import os
import sys


def main():
    args = sys.argv[1:]
    out = None
    if args[:1] == ["--out"]:
        out, args = args[1], args[2:]
    home = os.environ.get("ORAC_CUDA_HOME")
    if not home:
        sys.exit("set ORAC_CUDA_HOME to a CUDA home (pip: .../site-packages/nvidia/cu13)")
    lib = ctypes.CDLL(os.path.join(home, "lib", "libnvrtc.so.13"))
    inc = os.path.join(home, "include")
    for path in args:
        src = open(path, "rb").read()
        prog = ctypes.c_void_p()
        name = os.path.basename(path).encode()
        check(lib, lib.nvrtcCreateProgram(ctypes.byref(prog), src, name, 0, None, None))
        opts = [b"--gpu-architecture=sm_90a", b"--std=c++17", b"--generate-line-info",
                b"--include-path=" + inc.encode()]
        arr = (ctypes.c_char_p * len(opts))(*opts)
        rc = lib.nvrtcCompileProgram(prog, len(opts), arr)
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(prog, log)
        if rc != 0:
            sys.exit("%s: compile failed:\n%s" % (path, log.value.decode()))
        check(lib, lib.nvrtcGetPTXSize(prog, ctypes.byref(size)))
        ptx = ctypes.create_string_buffer(size.value)
        check(lib, lib.nvrtcGetPTX(prog, ptx))
        dest_dir = out or os.path.dirname(path) or "."
        dest = os.path.join(dest_dir, os.path.splitext(os.path.basename(path))[0] + ".ptx")
        with open(dest, "wb") as f:
            f.write(ptx.value)
        lib.nvrtcDestroyProgram(ctypes.byref(prog))
        print(dest)


def check(lib, rc):
    if rc != 0:
        lib.nvrtcGetErrorString.restype = ctypes.c_char_p
        sys.exit("nvrtc error %d: %s" % (rc, lib.nvrtcGetErrorString(rc).decode()))


if __name__ == "__main__":
    main()
