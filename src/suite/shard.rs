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

/// What `--shard` was given: `K/N`, or `auto` (`auto/N`) to take K/N from the scheduler
/// that started this process (see [`from_scheduler`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    Auto { count: Option<usize> },
}

impl FromStr for ShardArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(ShardArg::Auto { count: None }),
            t if t.starts_with("auto/") => {
                let n = t["auto/".len()..].trim();
                match n.parse::<usize>() {
                    Ok(count) if count > 0 => Ok(ShardArg::Auto { count: Some(count) }),
                    _ => Err(format!("--shard {s}: expected auto/N with N >= 1")),
                }
            }
            _ => s.parse().map(ShardArg::Fixed),
        }
    }
}

impl ShardArg {
    /// The shard, and where it came from (for the run's log); `env` looks up variables.
    pub fn resolve(self, env: &dyn Fn(&str) -> Option<String>) -> Result<(Shard, String), String> {
        match self {
            ShardArg::Fixed(shard) => Ok((shard, "--shard".into())),
            ShardArg::Auto { count } => from_scheduler(env, count),
        }
    }
}

/// K/N from the variables a scheduler sets, tried in this order: a Slurm job array
/// (`SLURM_ARRAY_TASK_ID` with `_MIN` and `_COUNT` or `_MAX`, and `_STEP`), a Kubernetes
/// Indexed Job (`JOB_COMPLETION_INDEX`, 0-based, with the count from `auto/N` or
/// `ORAC_SHARD_COUNT`), GitLab's `parallel` (`CI_NODE_INDEX`/`CI_NODE_TOTAL`), CircleCI
/// (`CIRCLE_NODE_INDEX`/`CIRCLE_NODE_TOTAL`), Buildkite (`BUILDKITE_PARALLEL_JOB`/`_COUNT`),
/// and for a CI matrix without its own variables `ORAC_SHARD_INDEX` (1-based) with
/// `ORAC_SHARD_COUNT`. A count given with `auto/N` must agree with the scheduler's.
pub fn from_scheduler(
    env: &dyn Fn(&str) -> Option<String>,
    count: Option<usize>,
) -> Result<(Shard, String), String> {
    let num = |name: &str| -> Result<Option<usize>, String> {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("--shard auto: {name}={v} is not a whole number"))
            })
            .transpose()
    };
    let count_from_env = match count {
        Some(n) => Some(n),
        None => num("ORAC_SHARD_COUNT")?,
    };
    // (0-based index, count, source)
    let found: Option<(usize, usize, String)> = if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let total = match (num("SLURM_ARRAY_TASK_COUNT")?, num("SLURM_ARRAY_TASK_MAX")?) {
            (Some(c), _) => c,
            (None, Some(max)) if max >= min => (max - min) / step + 1,
            _ => {
                return Err(
                    "--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX".into(),
                );
            }
        };
        if id < min || (id - min) % step != 0 {
            return Err(format!(
                "--shard auto: SLURM_ARRAY_TASK_ID={id} is not on the array's grid (min {min}, step {step})"
            ));
        }
        Some((
            (id - min) / step,
            total,
            "Slurm job array (SLURM_ARRAY_TASK_*)".into(),
        ))
    } else if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        let n = count_from_env.ok_or(
            "--shard auto: a Kubernetes Indexed Job sets JOB_COMPLETION_INDEX but not the count: pass --shard auto/N or set ORAC_SHARD_COUNT",
        )?;
        Some((i, n, "Kubernetes Indexed Job (JOB_COMPLETION_INDEX)".into()))
    } else if let (Some(i), Some(n)) = (num("CI_NODE_INDEX")?, num("CI_NODE_TOTAL")?) {
        (i >= 1).then(|| (i - 1, n, "GitLab parallel (CI_NODE_INDEX)".to_string()))
    } else if let (Some(i), Some(n)) = (num("CIRCLE_NODE_INDEX")?, num("CIRCLE_NODE_TOTAL")?) {
        Some((i, n, "CircleCI parallelism (CIRCLE_NODE_INDEX)".into()))
    } else if let (Some(i), Some(n)) = (
        num("BUILDKITE_PARALLEL_JOB")?,
        num("BUILDKITE_PARALLEL_JOB_COUNT")?,
    ) {
        Some((
            i,
            n,
            "Buildkite parallelism (BUILDKITE_PARALLEL_JOB)".into(),
        ))
    } else if let (Some(k), Some(n)) = (num("ORAC_SHARD_INDEX")?, count_from_env) {
        (k >= 1).then(|| (k - 1, n, "ORAC_SHARD_INDEX".to_string()))
    } else {
        None
    };
    let (index0, total, source) = found.ok_or(
        "--shard auto: no scheduler says which shard this is (looked for Slurm's SLURM_ARRAY_TASK_ID, Kubernetes' JOB_COMPLETION_INDEX, CI_NODE_INDEX, CIRCLE_NODE_INDEX, BUILDKITE_PARALLEL_JOB, ORAC_SHARD_INDEX): pass --shard K/N",
    )?;
    if let Some(n) = count
        && n != total
    {
        return Err(format!(
            "--shard auto/{n}: the {source} says there are {total} shards"
        ));
    }
    if total == 0 || index0 >= total {
        return Err(format!(
            "--shard auto: the {source} gives shard {} of {total}",
            index0 + 1
        ));
    }
    Ok((
        Shard {
            index: index0 + 1,
            count: total,
        },
        source,
    ))
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

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn auto_takes_the_shard_from_slurm_kubernetes_or_ci() {
        let auto = |pairs: &[(&str, &str)], count| from_scheduler(&vars(pairs), count);
        let shard = |index, count| Shard { index, count };
        // Slurm arrays: --array=1-4, --array=0-7:2, or with an explicit count.
        let (s, src) = auto(
            &[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "4"),
            ],
            None,
        )
        .unwrap();
        assert_eq!((s, src.contains("Slurm")), (shard(3, 4), true));
        let (s, _) = auto(
            &[
                ("SLURM_ARRAY_TASK_ID", "4"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_MAX", "6"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s, shard(3, 4));
        let (s, _) = auto(
            &[
                ("SLURM_ARRAY_TASK_ID", "0"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(s, shard(1, 2));
        assert!(
            auto(
                &[
                    ("SLURM_ARRAY_TASK_ID", "3"),
                    ("SLURM_ARRAY_TASK_MIN", "0"),
                    ("SLURM_ARRAY_TASK_MAX", "6"),
                    ("SLURM_ARRAY_TASK_STEP", "2")
                ],
                None
            )
            .is_err()
        );
        // Kubernetes: a 0-based index, the count passed.
        let (s, src) = auto(&[("JOB_COMPLETION_INDEX", "0")], Some(4)).unwrap();
        assert_eq!((s, src.contains("Kubernetes")), (shard(1, 4), true));
        let (s, _) = auto(
            &[("JOB_COMPLETION_INDEX", "3"), ("ORAC_SHARD_COUNT", "4")],
            None,
        )
        .unwrap();
        assert_eq!(s, shard(4, 4));
        let err = auto(&[("JOB_COMPLETION_INDEX", "0")], None).unwrap_err();
        assert!(err.contains("auto/N"), "{err}");
        assert!(
            auto(&[("JOB_COMPLETION_INDEX", "4")], Some(4)).is_err(),
            "index past the count"
        );
        // CI systems.
        assert_eq!(
            auto(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")], None)
                .unwrap()
                .0,
            shard(2, 3)
        );
        assert_eq!(
            auto(
                &[("CIRCLE_NODE_INDEX", "0"), ("CIRCLE_NODE_TOTAL", "2")],
                None
            )
            .unwrap()
            .0,
            shard(1, 2)
        );
        assert_eq!(
            auto(
                &[
                    ("BUILDKITE_PARALLEL_JOB", "1"),
                    ("BUILDKITE_PARALLEL_JOB_COUNT", "2")
                ],
                None
            )
            .unwrap()
            .0,
            shard(2, 2)
        );
        assert_eq!(
            auto(
                &[("ORAC_SHARD_INDEX", "2"), ("ORAC_SHARD_COUNT", "2")],
                None
            )
            .unwrap()
            .0,
            shard(2, 2)
        );
        // A count that disagrees with the scheduler's, nothing at all, garbage.
        assert!(
            auto(&[("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "3")], Some(2))
                .unwrap_err()
                .contains("3 shards")
        );
        assert!(auto(&[], None).unwrap_err().contains("pass --shard K/N"));
        assert!(
            auto(&[("SLURM_ARRAY_TASK_ID", "x")], None)
                .unwrap_err()
                .contains("not a whole number")
        );
        // The flag's forms.
        assert_eq!(
            "auto".parse::<ShardArg>(),
            Ok(ShardArg::Auto { count: None })
        );
        assert_eq!(
            "auto/4".parse::<ShardArg>(),
            Ok(ShardArg::Auto { count: Some(4) })
        );
        assert_eq!("2/3".parse::<ShardArg>(), Ok(ShardArg::Fixed(shard(2, 3))));
        assert!("auto/0".parse::<ShardArg>().is_err());
    }
}
