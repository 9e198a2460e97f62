//! Splitting a suite across runners: `--shard K/N` takes a deterministic, balanced slice,
//! so a CI matrix or several GPUs in a node together run every benchmark exactly once.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Benchmark;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("--shard {s}: expected K/N with 1 <= K <= N, e.g. 2/3");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// A rough cost of one benchmark, for balancing only: FLOPs plus bytes moved, bytes
/// weighted ×10 since they are the slower resource on every machine orac targets.
fn cost(b: &Benchmark) -> f64 {
    b.flops() as f64 + 10.0 * b.bytes() as f64
}

/// The benchmarks of `shard`, in suite order. Largest-cost-first greedy assignment (ties
/// broken by id) balances the shards; the result depends only on the suite.
pub fn shard(benches: &[Benchmark], shard: Shard) -> Vec<Benchmark> {
    let mut order: Vec<usize> = (0..benches.len()).collect();
    order.sort_by(|&a, &b| {
        cost(&benches[b])
            .total_cmp(&cost(&benches[a]))
            .then_with(|| benches[a].id.cmp(&benches[b].id))
    });
    let mut load = vec![0.0f64; shard.count];
    let mut owner = vec![0usize; benches.len()];
    for i in order {
        let lightest = (0..shard.count)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .expect("at least one shard");
        owner[i] = lightest;
        load[lightest] += cost(&benches[i]);
    }
    benches
        .iter()
        .zip(owner)
        .filter(|(_, o)| *o == shard.index - 1)
        .map(|(b, _)| b.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{self, KernelTree};
    use crate::suite::{Filter, Profile, build_suite};

    #[test]
    fn shards_cover_the_suite_exactly_once_and_balance() {
        let specs = kernels::load_manifest(&KernelTree::Embedded, "cpu").unwrap();
        let suite = build_suite(&specs, Profile::Full, &Filter::default());
        for n in 1..=5 {
            let shards: Vec<Vec<Benchmark>> = (1..=n)
                .map(|k| shard(&suite, Shard { index: k, count: n }))
                .collect();
            let mut ids: Vec<&str> = shards.iter().flatten().map(|b| b.id.as_str()).collect();
            ids.sort();
            let mut all: Vec<&str> = suite.iter().map(|b| b.id.as_str()).collect();
            all.sort();
            assert_eq!(ids, all, "n = {n}: every benchmark exactly once");
            let loads: Vec<f64> = shards.iter().map(|s| s.iter().map(cost).sum()).collect();
            let biggest = suite.iter().map(cost).fold(0.0, f64::max);
            let (lo, hi) = loads
                .iter()
                .fold((f64::MAX, 0.0f64), |(lo, hi), &l| (lo.min(l), hi.max(l)));
            assert!(
                hi - lo <= biggest,
                "n = {n}: greedy keeps shards within one job: {loads:?}"
            );
        }
        assert_eq!(
            shard(&suite, Shard { index: 2, count: 3 }).len(),
            shard(&suite, Shard { index: 2, count: 3 }).len()
        );
    }

    #[test]
    fn shard_specs_parse() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
