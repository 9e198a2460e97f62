//! `cargo bench`: the orac suite under criterion, for Rust developers who already know it.
//!
//! Benchmark names are orac ids (`cargo bench -- gemm/blocked` filters as usual). Every
//! kernel is verified against the reference before criterion times it; a wrong kernel
//! aborts the bench with the verification result instead of producing a timing. Timing
//! comes from the backend's own timer through `iter_custom`: device events on the launch
//! stream when a GPU is usable (the CUDA backend: not yet run on a GPU), the monotonic clock
//! on the CPU backend otherwise. The quick profile runs by default;
//! `ORAC_PROFILE=full cargo bench` runs the full one. `--save-baseline NAME` and
//! `--baseline NAME` work as in any criterion bench.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orac::backend::{BackendChoice, open};
use orac::kernels::KernelTree;
use orac::suite::{Filter, Profile, build_suite, generate_inputs, verify};

fn profile() -> Profile {
    match std::env::var("ORAC_PROFILE").as_deref() {
        Ok("full") => Profile::Full,
        _ => Profile::Quick,
    }
}

fn suite(c: &mut Criterion) {
    // The GPU when one is usable, else the CPU: the same choice as `orac run`.
    let (mut backend, notes) = open(BackendChoice::Auto, &KernelTree::Embedded).expect("backend");
    for note in notes {
        eprintln!("note: {note}");
    }
    let benches = build_suite(backend.kernels(), profile(), &Filter::default());
    for bench in &benches {
        let inputs = generate_inputs(bench, 0);
        let mut workload = match backend.prepare(bench, &inputs) {
            Ok(w) => w,
            // Too big for this GPU, or written for another architecture: not a failure.
            Err(e @ orac::Error::NotApplicable { .. }) => {
                eprintln!("{}: {e}", bench.id);
                continue;
            }
            Err(e) => panic!("{}: cannot prepare the kernel: {e}", bench.id),
        };
        let output = workload.run_checked().expect("run kernel");
        let check = verify(bench, &inputs, &output);
        assert!(check.passed, "{}: {}", bench.id, check.summary());

        let family = bench.family().name();
        let mut group = c.benchmark_group(family);
        // Bytes for what orac reports as bandwidth, FLOPs (as elements) otherwise.
        group.throughput(if bench.reports_bandwidth() {
            Throughput::Bytes(bench.bytes())
        } else {
            Throughput::Elements(bench.flops())
        });
        let name = bench.id.strip_prefix(&format!("{family}/")).unwrap();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                Duration::from_secs_f64(workload.time_batch(iters).expect("timed run"))
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = suite
}
criterion_main!(benches);
