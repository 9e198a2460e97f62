//! Each op's buffers and argument list: the C signatures `op` fixes in
//! kernels/cuda/manifest.toml (and CONTRIBUTING.md), in the order the kernel takes them.

use super::buffers::{Buffer, Elem, Init, Place, Poison, Source};
use super::plan::{Arg, Scalar};
use crate::error::{Error, Result};
use crate::suite::{Shape, TRIAD_SCALAR};

/// A launch's buffers and the arguments each of its steps passes.
pub struct Signature {
    pub buffers: Vec<Buffer>,
    pub args: Vec<Arg>,
}

fn device(name: &'static str, elem: Elem, count: u64, init: Init) -> Buffer {
    Buffer {
        name,
        elem,
        count,
        place: Place::Device,
        init,
    }
}

fn input(name: &'static str, elem: Elem, count: u64, source: Source) -> Buffer {
    device(name, elem, count, Init::Input(source))
}

/// Outputs are f32 (GEMM and attention accumulate and write f32 whatever the input type).
fn f32_output(name: &'static str, count: u64) -> Buffer {
    device(name, Elem::F32, count, Init::Output(Poison::Nan))
}

/// A dimension as the `int` the kernel signatures take; one that does not fit is refused
/// rather than wrapped.
pub fn int(x: u64) -> Result<i32> {
    i32::try_from(x).map_err(|_| Error::NotApplicable {
        kernel: String::new(),
        reason: format!("skipped: dimension {x} does not fit the kernels' 32-bit int"),
    })
}

fn i32_arg(name: &'static str, x: u64) -> Result<Arg> {
    Ok(Arg::Scalar {
        name,
        value: Scalar::I32(int(x)?),
    })
}

/// Arguments 0..n: the buffers in order.
fn buffer_args(n: usize) -> Vec<Arg> {
    (0..n).map(Arg::Buffer).collect()
}

/// `copy(const u8 *src, u8 *dst, u64 n_bytes)`; also what a driver copy moves.
pub fn copy(bytes: u64) -> Signature {
    let mut args = buffer_args(2);
    args.push(Arg::Scalar {
        name: "n_bytes",
        value: Scalar::U64(bytes),
    });
    Signature {
        buffers: vec![
            input("src", Elem::U8, bytes, Source::Src),
            device(
                "dst",
                Elem::U8,
                bytes,
                Init::Output(Poison::ComplementOf(Source::Src)),
            ),
        ],
        args,
    }
}

/// A host↔device transfer: `src` and `dst`, the host side page-locked (no kernel, no
/// arguments). `to_device`: host → device.
pub fn transfer(bytes: u64, to_device: bool) -> Signature {
    let mut sig = copy(bytes);
    let host = if to_device { 0 } else { 1 };
    sig.buffers[host].place = Place::PinnedHost;
    sig.args.clear();
    sig
}

/// `triad(const float *b, const float *c, float *a, float s, u64 n)`: a = b + s·c.
pub fn triad(bytes: u64) -> Signature {
    let n = bytes / 4;
    let mut args = buffer_args(3);
    args.push(Arg::Scalar {
        name: "s",
        value: Scalar::F32(TRIAD_SCALAR),
    });
    args.push(Arg::Scalar {
        name: "n",
        value: Scalar::U64(n),
    });
    Signature {
        buffers: vec![
            input("b", Elem::F32, n, Source::B),
            input("c", Elem::F32, n, Source::C),
            f32_output("a", n),
        ],
        args,
    }
}

/// `gemm(const T *A, const T *B, float *C, int M, int N, int K)`, row-major.
pub fn gemm(m: u64, n: u64, k: u64, elem: Elem) -> Result<Signature> {
    let mut args = buffer_args(3);
    args.extend([i32_arg("M", m)?, i32_arg("N", n)?, i32_arg("K", k)?]);
    Ok(Signature {
        buffers: vec![
            input("A", elem, m * k, Source::A),
            input("B", elem, k * n, Source::B),
            f32_output("C", m * n),
        ],
        args,
    })
}

/// 1/√D, the softmax scale both attention ops take.
fn scale(head_dim: u64) -> Arg {
    Arg::Scalar {
        name: "scale",
        value: Scalar::F32(1.0 / (head_dim as f32).sqrt()),
    }
}

/// `attention(const T *Q, const T *K, const T *V, float *O, int B, int H, int Sq, int Sk,
/// int D, int causal, float scale)`, plus a last `float *scratch` of `scratch` floats for
/// each stage of a pipeline.
pub fn attention(shape: &Shape, elem: Elem, scratch: Option<u64>) -> Result<Signature> {
    let Shape::Attention {
        batch,
        heads,
        sq,
        sk,
        head_dim,
        causal,
    } = *shape
    else {
        unreachable!("attention signature of a non-attention shape");
    };
    let (q, kv) = (batch * heads * sq * head_dim, batch * heads * sk * head_dim);
    let mut buffers = vec![
        input("Q", elem, q, Source::Q),
        input("K", elem, kv, Source::K),
        input("V", elem, kv, Source::V),
        f32_output("O", q),
    ];
    let mut args = buffer_args(4);
    args.extend([
        i32_arg("B", batch)?,
        i32_arg("H", heads)?,
        i32_arg("Sq", sq)?,
        i32_arg("Sk", sk)?,
        i32_arg("D", head_dim)?,
        Arg::Scalar {
            name: "causal",
            value: Scalar::I32(i32::from(causal)),
        },
        scale(head_dim),
    ]);
    if let Some(floats) = scratch {
        args.push(Arg::Buffer(buffers.len()));
        buffers.push(device("scratch", Elem::F32, floats, Init::Zeroed));
    }
    Ok(Signature { buffers, args })
}

/// `decode(const T *Q, const T *K, const T *V, float *O, int B, int H, int Hkv, int S,
/// int D, float scale, float *work)` with a zeroed workspace of `work` floats.
pub fn decode(shape: &Shape, elem: Elem, work: u64) -> Result<Signature> {
    let Shape::Decode {
        batch,
        heads,
        kv_heads,
        seq,
        head_dim,
    } = *shape
    else {
        unreachable!("decode signature of a non-decode shape");
    };
    let (q, cache) = (batch * heads * head_dim, batch * kv_heads * seq * head_dim);
    let mut args = buffer_args(4);
    args.extend([
        i32_arg("B", batch)?,
        i32_arg("H", heads)?,
        i32_arg("Hkv", kv_heads)?,
        i32_arg("S", seq)?,
        i32_arg("D", head_dim)?,
        scale(head_dim),
        Arg::Buffer(4),
    ]);
    Ok(Signature {
        buffers: vec![
            input("Q", elem, q, Source::Q),
            input("K", elem, cache, Source::K),
            input("V", elem, cache, Source::V),
            f32_output("O", q),
            device("work", Elem::F32, work, Init::Zeroed),
        ],
        args,
    })
}
