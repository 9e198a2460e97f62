//! The benchmark model. A benchmark is one kernel on one shape; its id
//! `family/kernel/dtype/shape` is stable across runs and revisions, and is the key every
//! stored result and comparison uses.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{attention, decode, gemm, memcpy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Memcpy,
    Gemm,
    Attention,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Memcpy => "memcpy",
            Family::Gemm => "gemm",
            Family::Attention => "attention",
        }
    }
}

/// Element types. Inputs are generated in f32 and rounded to the dtype, so the reference
/// sees exactly the values the kernel sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    U8,
    F32,
    /// f32 storage, multiplied as TF32 (10-bit mantissa) on tensor cores with f32
    /// accumulation; inputs are rounded to TF32, so the reference sees the same values.
    Tf32,
    F16,
    Bf16,
}

impl Dtype {
    pub fn size_bytes(self) -> u64 {
        match self {
            Dtype::U8 => 1,
            Dtype::F32 | Dtype::Tf32 => 4,
            Dtype::F16 | Dtype::Bf16 => 2,
        }
    }

    /// Bound on the normwise relative error of a computed output (see `verify`); 0 means
    /// the output must match exactly.
    pub fn tolerance(self) -> f64 {
        match self {
            Dtype::U8 => 0.0,
            Dtype::F32 => 1e-5,
            // Exact products of TF32 inputs, but tensor-core f32 accumulation is not IEEE
            // round-to-nearest on every architecture.
            Dtype::Tf32 => 1e-4,
            Dtype::F16 | Dtype::Bf16 => 1e-2,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::U8 => "u8",
            Dtype::F32 => "f32",
            Dtype::Tf32 => "tf32",
            Dtype::F16 => "f16",
            Dtype::Bf16 => "bf16",
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which set of shapes to run: `quick` takes about a minute on a 2-core machine, `full`
/// is meant for real hardware.
/// Which problem sizes a backend's kernels get: a CPU and an H100 differ by three orders of
/// magnitude, so one shape list cannot be both quick on one and meaningful on the other.
/// Declared per backend in its manifest (`sizes = "device"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sizes {
    /// Sized for a CPU: a quick run of the whole suite takes seconds.
    #[default]
    Host,
    /// Sized for a data-centre GPU: squares up to 8192 and LLM projection shapes.
    Device,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Quick,
    Full,
    /// Small shapes per kernel for the PTX emulator (src/suite/emu.rs); any backend runs
    /// them, `--backend emu` nothing else.
    Emu,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Quick => "quick",
            Profile::Full => "full",
            Profile::Emu => "emu",
        }
    }
}

/// The problem size of a benchmark, one variant per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Copy {
        bytes: u64,
    },
    /// Row-major C (m x n) = A (m x k) * B (k x n).
    Gemm {
        m: u64,
        n: u64,
        k: u64,
    },
    /// Layout [batch, heads, seq, head_dim] for Q (sq rows) and K, V (sk rows).
    Attention {
        batch: u64,
        heads: u64,
        sq: u64,
        sk: u64,
        head_dim: u64,
        causal: bool,
    },
    /// STREAM's triad a = b + s·c over f32 arrays of `bytes` each (family memcpy).
    Triad {
        bytes: u64,
    },
    /// A host↔device transfer of `bytes` (family memcpy): pinned host memory on one side.
    Transfer {
        bytes: u64,
    },
    /// Decode attention (family attention): one query token per (batch, query head) over a
    /// KV cache of `seq` keys; `heads` query heads share `kv_heads` KV heads.
    /// Q and O [batch, heads, head_dim]; K and V [batch, kv_heads, seq, head_dim].
    Decode {
        batch: u64,
        heads: u64,
        kv_heads: u64,
        seq: u64,
        head_dim: u64,
    },
}

impl Shape {
    pub fn family(&self) -> Family {
        match self {
            Shape::Copy { .. } | Shape::Transfer { .. } | Shape::Triad { .. } => Family::Memcpy,
            Shape::Gemm { .. } => Family::Gemm,
            Shape::Attention { .. } | Shape::Decode { .. } => Family::Attention,
        }
    }

    /// The shape's id segment, e.g. `m1024n1024k1024`.
    pub fn id_segment(&self) -> String {
        match *self {
            Shape::Copy { bytes } | Shape::Transfer { bytes } | Shape::Triad { bytes } => {
                memcpy::id_segment(bytes)
            }
            Shape::Gemm { m, n, k } => format!("m{m}n{n}k{k}"),
            Shape::Attention { .. } => attention::id_segment(self),
            Shape::Decode { .. } => decode::id_segment(self),
        }
    }

    /// Floating-point operations of one run (documented formulas in the family modules).
    pub fn flops(&self) -> u64 {
        match self {
            Shape::Copy { .. } | Shape::Transfer { .. } => 0,
            Shape::Triad { .. } => memcpy::triad_flops(self),
            Shape::Gemm { .. } => gemm::flops(self),
            Shape::Attention { .. } => attention::flops(self),
            Shape::Decode { .. } => decode::flops(self),
        }
    }

    /// What bounds a shape whatever the hardware, where the op decides it: "memory" for
    /// decode attention (reported as bandwidth, like copies), "link" for host↔device
    /// transfers (held to the host link, not the device memory). Stored in the params.
    pub fn bound(&self) -> Option<&'static str> {
        match self {
            Shape::Decode { .. } => Some("memory"),
            Shape::Transfer { .. } => Some("link"),
            _ => None,
        }
    }

    /// The head dimension of an attention shape (prefill or decode).
    pub fn head_dim(&self) -> Option<u64> {
        match *self {
            Shape::Attention { head_dim, .. } | Shape::Decode { head_dim, .. } => Some(head_dim),
            _ => None,
        }
    }

    /// Bytes one run must move at least: what it reads plus what it writes.
    pub fn bytes(&self, dtype: Dtype) -> u64 {
        match self {
            Shape::Copy { .. } | Shape::Transfer { .. } | Shape::Triad { .. } => {
                memcpy::bytes(self)
            }
            Shape::Gemm { .. } => gemm::bytes(self, dtype),
            Shape::Attention { .. } => attention::bytes(self, dtype),
            Shape::Decode { .. } => decode::bytes(self, dtype),
        }
    }

    /// The axes as named parameters, stored with each result.
    pub fn params(&self) -> BTreeMap<String, serde_json::Value> {
        let mut p = BTreeMap::new();
        let mut put = |k: &str, v: serde_json::Value| {
            p.insert(k.to_string(), v);
        };
        match *self {
            Shape::Copy { bytes } => put("bytes", bytes.into()),
            Shape::Triad { bytes } => {
                put("bytes", bytes.into());
                put("arrays", 3.into());
            }
            Shape::Transfer { bytes } => {
                put("bytes", bytes.into());
            }
            Shape::Gemm { m, n, k } => {
                put("layout", "row-major".into());
                put("m", m.into());
                put("n", n.into());
                put("k", k.into());
            }
            Shape::Attention {
                batch,
                heads,
                sq,
                sk,
                head_dim,
                causal,
            } => {
                put("layout", "bhsd".into());
                put("batch", batch.into());
                put("heads", heads.into());
                put("sq", sq.into());
                put("sk", sk.into());
                put("head_dim", head_dim.into());
                put("causal", causal.into());
            }
            Shape::Decode {
                batch,
                heads,
                kv_heads,
                seq,
                head_dim,
            } => {
                put("layout", "bhsd".into());
                put("batch", batch.into());
                put("heads", heads.into());
                put("kv_heads", kv_heads.into());
                put("seq", seq.into());
                put("head_dim", head_dim.into());
            }
        }
        if let Some(bound) = self.bound() {
            p.insert("bound".to_string(), bound.into());
        }
        p
    }
}

/// One kernel on one shape: the unit that is verified, timed, stored and compared.
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// `family/kernel/dtype/shape`, e.g. `gemm/blocked/f32/m1024n1024k1024`.
    pub id: String,
    pub kernel: String,
    pub dtype: Dtype,
    pub shape: Shape,
}

impl Benchmark {
    pub fn new(kernel: &str, dtype: Dtype, shape: Shape) -> Self {
        let id = format!(
            "{}/{kernel}/{dtype}/{}",
            shape.family().name(),
            shape.id_segment()
        );
        Benchmark {
            id,
            kernel: kernel.to_string(),
            dtype,
            shape,
        }
    }

    pub fn family(&self) -> Family {
        self.shape.family()
    }

    pub fn flops(&self) -> u64 {
        self.shape.flops()
    }

    pub fn bytes(&self) -> u64 {
        self.shape.bytes(self.dtype)
    }

    /// Whether its figure of merit is bandwidth (copies, transfers, the triad, decode), as
    /// `BenchResult::reports_bandwidth` says of its stored result.
    pub fn reports_bandwidth(&self) -> bool {
        self.family() == Family::Memcpy || self.shape.bound() == Some("memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_family_kernel_dtype_shape() {
        let b = Benchmark::new(
            "blocked",
            Dtype::F32,
            Shape::Gemm {
                m: 1024,
                n: 1024,
                k: 1024,
            },
        );
        assert_eq!(b.id, "gemm/blocked/f32/m1024n1024k1024");
        assert_eq!(b.flops(), 2 * 1024 * 1024 * 1024);
    }
}
