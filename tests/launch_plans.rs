//! The launch plan of every CUDA benchmark equals the golden snapshots in tests/golden/,
//! which were recorded from what the CUDA backend launched before the plan existed (commit
//! 465a747, the same launches as 707aa82): launch_plans.txt for the quick and full profiles,
//! launch_plans_emu.txt for the emu profile (465a747's recorder run over the emu shapes of
//! 6de17b2). Regenerate after an intended change with
//! `ORAC_BLESS=1 cargo test --test launch_plans`, and read the diff.

use std::collections::HashSet;
use std::fmt::Write;
use std::path::Path;

use orac::kernels::{self, KernelSpec, KernelTree};
use orac::launch::{self, DeviceLimits};
use orac::suite::{Benchmark, Filter, Profile, build_suite};

/// Each golden file and the profiles whose benchmarks it holds.
const GOLDENS: &[(&str, &[Profile])] = &[
    (
        "tests/golden/launch_plans.txt",
        &[Profile::Quick, Profile::Full],
    ),
    ("tests/golden/launch_plans_emu.txt", &[Profile::Emu]),
];

const DEVICES: &[(&str, DeviceLimits)] = &[
    ("h100-sxm/h200", DeviceLimits::H100_SXM),
    ("a100", DeviceLimits::A100),
];

/// Every benchmark of `profiles` once (by id), in suite order.
fn benchmarks(specs: &[KernelSpec], profiles: &[Profile]) -> Vec<Benchmark> {
    let mut seen = HashSet::new();
    profiles
        .iter()
        .flat_map(|p| build_suite(specs, *p, &Filter::default()))
        .filter(|b| seen.insert(b.id.clone()))
        .collect()
}

/// The plan of each of `benches` on each device, or why there is none.
fn snapshot(specs: &[KernelSpec], benches: &[Benchmark]) -> String {
    let mut out = String::new();
    for bench in benches {
        let spec = KernelSpec::find(specs, bench.family(), &bench.kernel).unwrap();
        for (label, limits) in DEVICES {
            writeln!(
                out,
                "{} on {label} (sms {}, max_shared_per_block {})",
                bench.id, limits.sms, limits.max_shared_per_block
            )
            .unwrap();
            match launch::plan(spec, bench, limits) {
                Ok(plan) => write!(out, "{plan}").unwrap(),
                Err(e) => writeln!(out, "  not launched: {e}").unwrap(),
            }
        }
    }
    out
}

#[test]
fn every_cuda_benchmark_launches_as_the_golden_snapshot_says() {
    let specs = kernels::load_manifest(&KernelTree::Embedded, "cuda").unwrap();
    for (golden, profiles) in GOLDENS {
        check(golden, &snapshot(&specs, &benchmarks(&specs, profiles)));
    }
}

/// Compares `text` with the golden file `name` (or rewrites it under `ORAC_BLESS`).
fn check(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    if std::env::var_os("ORAC_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap();
    if text != golden {
        let first = text
            .lines()
            .zip(golden.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(text.lines().count().min(golden.lines().count()));
        panic!(
            "launch plans differ from {name} at line {}:\n  plan:   {}\n  golden: {}\n(ORAC_BLESS=1 regenerates it)",
            first + 1,
            text.lines().nth(first).unwrap_or("<end>"),
            golden.lines().nth(first).unwrap_or("<end>")
        );
    }
}
