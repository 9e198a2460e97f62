//! What the CUDA backend launches today, for every CUDA benchmark of the quick and full
//! profiles, written as text to `tests/golden/launch_plans.txt`: the snapshot the
//! backend-neutral launch plan must reproduce.
//!
//! `launch_once` and `make_buffers` need a GPU, so their argument lists, buffer kinds and
//! poisoning are transcribed here line by line; every number comes from the backend's own
//! functions (`grid_for`, `scratch_floats`, `workspace_floats`, `device_bytes`) except the
//! decode workspace, whose `workspace_floats` needs a compiled kernel (the same formula).
//! `ORAC_BLESS=1 cargo test --lib golden` rewrites the file.

use std::fmt::Write;

use super::backend::{device_bytes, grid_for};
use super::workload::{Launch, scratch_floats};
use crate::error::{Error, Result};
use crate::kernels::{KernelSpec, KernelTree};
use crate::suite::{Benchmark, Dtype, Filter, Profile, Shape, TRIAD_SCALAR, build_suite};

const GOLDEN: &str = "tests/golden/launch_plans.txt";

/// (label, SMs, shared memory one block may opt in to).
const DEVICES: &[(&str, u32, u64)] = &[
    ("h100-sxm/h200", 132, 227 * 1024),
    ("a100", 108, 163 * 1024),
];

fn elem(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::Bf16 => "bf16",
        Dtype::F16 => "f16",
        Dtype::U8 => "u8",
        Dtype::F32 | Dtype::Tf32 => "f32",
    }
}

struct Buf {
    name: &'static str,
    elem: &'static str,
    count: u64,
    place: &'static str,
    init: String,
}

fn buf(name: &'static str, elem: &'static str, count: u64, init: &str) -> Buf {
    Buf {
        name,
        elem,
        count,
        place: "device",
        init: init.to_string(),
    }
}

/// A dimension as `int` (workload.rs `int`).
fn int(x: u64) -> Result<i32> {
    i32::try_from(x).map_err(|_| Error::NotApplicable {
        kernel: String::new(),
        reason: format!("skipped: dimension {x} does not fit the kernels' 32-bit int"),
    })
}

/// The buffers `make_buffers` allocates (their element counts are those of the inputs
/// `generate_inputs` makes), and the name of the one `read_output` reads back.
fn buffers(
    bench: &Benchmark,
    vendor: Option<&str>,
    pipeline: bool,
    workspace: u64,
) -> Result<Vec<Buf>> {
    let e = elem(bench.dtype);
    Ok(match bench.shape {
        Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            ..
        } => {
            let mut b = vec![
                buf("Q", e, batch * heads * sq * head_dim, "input q"),
                buf("K", e, batch * heads * sk * head_dim, "input k"),
                buf("V", e, batch * heads * sk * head_dim, "input v"),
                buf(
                    "O",
                    "f32",
                    batch * heads * sq * head_dim,
                    "output poison=nan",
                ),
            ];
            // A single kernel is never given the scratch (`with_scratch` false): it is
            // allocated (one float), but no launch sees it.
            if pipeline {
                b.push(buf("scratch", "f32", workspace.max(1), "zeroed"));
            }
            b
        }
        Shape::Decode {
            batch,
            heads,
            kv_heads,
            seq,
            head_dim,
        } => vec![
            buf("Q", e, batch * heads * head_dim, "input q"),
            buf("K", e, batch * kv_heads * seq * head_dim, "input k"),
            buf("V", e, batch * kv_heads * seq * head_dim, "input v"),
            buf("O", "f32", batch * heads * head_dim, "output poison=nan"),
            buf("work", "f32", workspace.max(1), "zeroed"),
        ],
        Shape::Gemm { m, n, k } => vec![
            buf("A", e, m * k, "input a"),
            buf("B", e, k * n, "input b"),
            buf("C", "f32", m * n, "output poison=nan"),
        ],
        Shape::Transfer { bytes } => {
            let host = |name, init: &str| Buf {
                place: "pinned-host",
                ..buf(name, "u8", bytes, init)
            };
            match vendor {
                Some("memcpy-htod") => vec![
                    host("src", "input src"),
                    buf("dst", "u8", bytes, "output poison=!src"),
                ],
                Some("memcpy-dtoh") => vec![
                    buf("src", "u8", bytes, "input src"),
                    host("dst", "output poison=!src"),
                ],
                _ => return Err(Error::Usage("kernel and buffers disagree".into())),
            }
        }
        Shape::Triad { bytes } => vec![
            buf("b", "f32", bytes / 4, "input b"),
            buf("c", "f32", bytes / 4, "input c"),
            buf("a", "f32", bytes / 4, "output poison=nan"),
        ],
        Shape::Copy { bytes } => vec![
            buf("src", "u8", bytes, "input src"),
            buf("dst", "u8", bytes, "output poison=!src"),
        ],
    })
}

/// `launch_once`'s arguments for a kernel of `shape` (buffers by name).
fn args(shape: Shape, pipeline: bool) -> Result<Vec<String>> {
    let i = |name: &str, v: u64| -> Result<String> { Ok(format!("{name}={}_i32", int(v)?)) };
    Ok(match shape {
        Shape::Copy { bytes } => vec!["src".into(), "dst".into(), format!("n_bytes={bytes}_u64")],
        Shape::Triad { bytes } => vec![
            "b".into(),
            "c".into(),
            "a".into(),
            format!("s={:?}_f32", TRIAD_SCALAR),
            format!("n={}_u64", bytes / 4),
        ],
        Shape::Gemm { m, n, k } => vec![
            "A".into(),
            "B".into(),
            "C".into(),
            i("M", m)?,
            i("N", n)?,
            i("K", k)?,
        ],
        Shape::Attention {
            batch,
            heads,
            sq,
            sk,
            head_dim,
            causal,
        } => {
            let mut a = vec![
                "Q".into(),
                "K".into(),
                "V".into(),
                "O".into(),
                i("B", batch)?,
                i("H", heads)?,
                i("Sq", sq)?,
                i("Sk", sk)?,
                i("D", head_dim)?,
                format!("causal={}_i32", i32::from(causal)),
                format!("scale={:?}_f32", 1.0 / (head_dim as f32).sqrt()),
            ];
            if pipeline {
                a.push("scratch".into());
            }
            a
        }
        Shape::Decode {
            batch,
            heads,
            kv_heads,
            seq,
            head_dim,
        } => {
            if pipeline {
                return Err(Error::Usage("kernel and buffers disagree".into()));
            }
            vec![
                "Q".into(),
                "K".into(),
                "V".into(),
                "O".into(),
                i("B", batch)?,
                i("H", heads)?,
                i("Hkv", kv_heads)?,
                i("S", seq)?,
                i("D", head_dim)?,
                format!("scale={:?}_f32", 1.0 / (head_dim as f32).sqrt()),
                "work".into(),
            ]
        }
        Shape::Transfer { .. } => {
            return Err(Error::Usage("kernel and buffers disagree".into()));
        }
    })
}

/// What `prepare` then `launch_once` do for `bench`, as text (vendor calls without their
/// library handle; the architecture check is the compiler's, not recorded).
fn record(spec: &KernelSpec, bench: &Benchmark, sms: u32, max_shared: u64) -> Result<String> {
    let mut out = String::new();
    let (workspace, steps) = match spec.vendor.as_deref() {
        Some(v @ ("memcpy-dtod" | "memcpy-htod" | "memcpy-dtoh")) => {
            let fits = match bench.shape {
                Shape::Copy { .. } => v == "memcpy-dtod",
                Shape::Transfer { .. } => v != "memcpy-dtod",
                _ => false,
            };
            if !fits {
                return Err(Error::Usage("kernel and buffers disagree".into()));
            }
            writeln!(out, "  vendor {v}").unwrap();
            (0, Vec::new())
        }
        Some("cublas-gemm") => {
            let Shape::Gemm { m, n, k } = bench.shape else {
                return Err(Error::Usage("kernel and buffers disagree".into()));
            };
            writeln!(
                out,
                "  vendor cublas-gemm dtype={} m={} n={} k={}",
                bench.dtype,
                int(m)?,
                int(n)?,
                int(k)?
            )
            .unwrap();
            (0, Vec::new())
        }
        Some(other) => {
            return Err(Error::Usage(format!(
                "vendor call {other} is not implemented"
            )));
        }
        None => {
            let mut steps = Vec::new();
            for stage in &spec.stages {
                let grid = grid_for(&stage.grid, &bench.shape, stage.block, sms)?;
                let dynamic = stage.dynamic_shared_bytes;
                let needs = u64::from(stage.shared_bytes) + u64::from(dynamic);
                if needs > max_shared {
                    return Err(Error::NotApplicable {
                        kernel: bench.id.clone(),
                        reason: format!(
                            "skipped: {} needs {needs} bytes of shared memory per block, this GPU allows {max_shared}",
                            stage.entry
                        ),
                    });
                }
                steps.push((stage, grid, dynamic > 48 * 1024));
            }
            let pipeline = !(steps.len() == 1 && spec.scratch.is_none());
            let workspace = match (bench.shape, pipeline) {
                (_, true) => super::workload::workspace_floats(
                    &bench.shape,
                    &Launch::Pipeline {
                        stages: Vec::new(),
                        scratch_floats: scratch_floats(&bench.shape, spec.scratch.as_deref()),
                    },
                ),
                (
                    Shape::Decode {
                        batch,
                        heads,
                        kv_heads,
                        head_dim,
                        ..
                    },
                    false,
                ) => {
                    let splits = u64::from(steps[0].1.0);
                    batch * heads * splits * (head_dim + 2) + batch * kv_heads
                }
                _ => 0,
            };
            let args = args(bench.shape, pipeline)?;
            let mut lines = Vec::new();
            for (stage, (x, y, z), raise) in steps {
                let [bx, by, bz] = stage.block;
                lines.push(format!(
                    "  step {} grid=[{x}, {y}, {z}] block=[{bx}, {by}, {bz}] dynamic_shared={} raise_limit={raise}\n    args {}",
                    stage.entry,
                    stage.dynamic_shared_bytes,
                    args.join(", ")
                ));
            }
            (workspace, lines)
        }
    };
    let pipeline = spec.vendor.is_none() && !(spec.stages.len() == 1 && spec.scratch.is_none());
    for b in buffers(bench, spec.vendor.as_deref(), pipeline, workspace)? {
        writeln!(
            out,
            "  buffer {} {}[{}] {} {}",
            b.name, b.elem, b.count, b.place, b.init
        )
        .unwrap();
    }
    for s in steps {
        writeln!(out, "{s}").unwrap();
    }
    writeln!(
        out,
        "  device_bytes {}",
        device_bytes(bench) + 4 * workspace
    )
    .unwrap();
    Ok(out)
}

/// Every benchmark of `profiles` once (by id), in suite order.
pub fn benchmarks(specs: &[KernelSpec], profiles: &[Profile]) -> Vec<Benchmark> {
    let mut seen = std::collections::HashSet::new();
    profiles
        .iter()
        .flat_map(|p| build_suite(specs, *p, &Filter::default()))
        .filter(|b| seen.insert(b.id.clone()))
        .collect()
}

fn snapshot() -> String {
    let specs = crate::kernels::load_manifest(&KernelTree::Embedded, "cuda").unwrap();
    let mut out = String::new();
    for bench in benchmarks(&specs, &[Profile::Quick, Profile::Full]) {
        let spec = KernelSpec::find(&specs, bench.family(), &bench.kernel).unwrap();
        for (label, sms, shared) in DEVICES {
            writeln!(
                out,
                "{} on {label} (sms {sms}, max_shared_per_block {shared})",
                bench.id
            )
            .unwrap();
            match record(spec, &bench, *sms, *shared) {
                Ok(text) => out.push_str(&text),
                Err(e) => writeln!(out, "  not launched: {e}").unwrap(),
            }
        }
    }
    out
}

#[test]
fn launches_match_the_golden_snapshot() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    let text = snapshot();
    if std::env::var_os("ORAC_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap();
    assert!(text == golden, "launches differ from {GOLDEN}");
}
