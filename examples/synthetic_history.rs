//! Writes a synthetic stored history into DIR (a new git repository with 60 commits and
//! runs for them), to try `orac history` and `orac report` without months of nightly runs:
//!
//!     cargo run --example synthetic_history -- /tmp/demo
//!     cd /tmp/demo && orac report --out-dir report
//!
//! The GEMM gets 6% slower at commit 35, the attention kernel 8% faster at commit 20 and
//! the copy creeps slower from commit 40 on; decode attention (memory-bound: reported in GB/s)
//! has one 4× outlier at commit 45, which the charts' robust y-range draws off scale; the
//! rest stay flat.

use std::path::PathBuf;

use orac::history::synthetic::{self, Track};
use orac::suite::Family;

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: synthetic_history DIR");
        std::process::exit(2);
    };
    if dir.join(".git").exists() {
        eprintln!(
            "{}: already a git repository; choose a new directory",
            dir.display()
        );
        std::process::exit(2);
    }
    std::fs::create_dir_all(&dir).expect("create DIR");
    let ids = synthetic::commit_chain(&dir, 60).expect("create the commits");
    let gemm = |i: usize| if i < 35 { 1.2e-3 } else { 1.272e-3 };
    let attention = |i: usize| if i < 20 { 4.0e-3 } else { 3.68e-3 };
    let copy = |i: usize| {
        8.0e-5
            * if i < 40 {
                1.0
            } else {
                1.0 + 0.004 * (i - 39) as f64
            }
    };
    let flat = |_: usize| 2.5e-4;
    let decode = |i: usize| if i == 45 { 6.0e-4 } else { 1.5e-4 };
    let tracks = [
        Track {
            id: "gemm/tiled/f32/m1024n1024k1024".into(),
            family: Family::Gemm,
            level: &gemm,
        },
        Track {
            id: "gemm/naive/f32/m1024n1024k1024".into(),
            family: Family::Gemm,
            level: &flat,
        },
        Track {
            id: "attention/flash/bf16/b1h8sq1024sk1024d64".into(),
            family: Family::Attention,
            level: &attention,
        },
        Track {
            id: "attention/decode/bf16/b1h32kv8sk4096d128".into(),
            family: Family::Attention,
            level: &decode,
        },
        Track {
            id: "memcpy/copy/u8/64MiB".into(),
            family: Family::Memcpy,
            level: &copy,
        },
    ];
    let results = dir.join("results");
    for (i, id) in ids.iter().enumerate() {
        let mut run = synthetic::run("cpu-synthetic-x2", id, i, 0, &tracks, 20);
        for b in run.benchmarks.iter_mut().filter(|b| b.kernel == "decode") {
            // As the suite records a decode shape: memory-bound, so its figure is GB/s.
            b.params.insert("bound".into(), "memory".into());
            (b.flops, b.bytes) = (1 << 24, 1 << 26);
            let median = b.summary.as_ref().map_or(1.0, |s| s.median);
            b.flop_per_s = Some(b.flops as f64 / median);
            b.bytes_per_s = Some(b.bytes as f64 / median);
        }
        orac::store::save_run(&results, &run).expect("save a run");
    }
    println!("{} commits with runs in {}", ids.len(), dir.display());
}
