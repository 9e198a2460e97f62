//! `orac verify`: every benchmark's correctness check, once, no timing — the first command
//! to run on a new machine, and the one that proves GPU kernels.

use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::args::VerifyArgs;
use crate::backend;
use crate::error::{Error, Result};
use crate::kernels::KernelTree;
use crate::suite::{Filter, build_suite, generate_inputs, verify as check};

#[derive(Tabled)]
struct Row {
    benchmark: String,
    check: String,
}

pub fn verify(tree: &KernelTree, args: VerifyArgs) -> Result<()> {
    let filter = Filter::new(args.filter.as_deref())?;
    let (mut backend, notes) = backend::open(args.backend, tree)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let suite = build_suite(backend.kernels(), args.profile, &filter);
    if suite.is_empty() {
        return Err(Error::NoMatch(filter.as_str().unwrap_or("").to_string()));
    }
    let key = backend.hardware().key.clone();
    let mut rows = Vec::new();
    let mut failed = 0;
    for (i, bench) in suite.iter().enumerate() {
        eprint!("\r[{:>3}/{}] {}", i + 1, suite.len(), bench.id);
        let inputs = generate_inputs(bench, args.seed);
        let result = backend
            .prepare(bench, &inputs)
            .and_then(|mut w| w.run_checked())
            .map(|out| check(bench, &inputs, &out));
        let text = match result {
            Ok(v) if v.passed => v.summary(),
            Ok(v) => {
                failed += 1;
                v.summary()
            }
            Err(e) => {
                failed += 1;
                format!("ERROR: {}", e.to_string().lines().next().unwrap_or(""))
            }
        };
        rows.push(Row {
            benchmark: bench.id.clone(),
            check: text,
        });
    }
    eprintln!();
    println!("verify on {key}");
    println!("{}", Table::new(&rows).with(Style::rounded()));
    if failed == 0 {
        println!("all {} benchmarks match the reference", rows.len());
        Ok(())
    } else {
        Err(Error::BenchmarksFailed {
            failed,
            total: rows.len(),
        })
    }
}
