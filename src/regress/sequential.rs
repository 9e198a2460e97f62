//! The gate's decision on the blocks of an A/B run, and when to stop adding blocks.
//!
//! A block is one independent replication: both sides' buffers allocated afresh (placement
//! redrawn), a short run of interleaved pairs, summarised by its median log ratio. The
//! verdict is a t-interval over the blocks, at a **per-benchmark** false-alarm level fixed
//! by configuration (default 0.05/300: a 300-benchmark suite of unchanged kernels fails
//! the gate in at most 5% of runs), whatever else is compared alongside.
//!
//! Blocks are added in looks (`LOOKS`): a benchmark is decided as soon as its interval
//! allows, and only undecided ones pay for more blocks. Each look spends its own share of
//! the level (Bonferroni over the planned looks, weighted by each look's block count), so
//! stopping at whichever look first decides never raises the false-alarm rate above the
//! level: P(any look flags) ≤ Σ αₖ = α.
//!
//! - `slower`: the flag interval (level 1 − αₖ) lies wholly above +threshold;
//! - `faster`: it lies wholly below −threshold;
//! - `unchanged`: the clear interval (level 1 − cₖ, c = `clear_alpha`) lies wholly inside
//!   ±threshold: an equivalence test, so a change as large as the threshold is called
//!   unchanged with probability at most c/2;
//! - otherwise undecided: more blocks, or, when the blocks or the time budget run out,
//!   `ambiguous` — inconclusive — with the smallest change this budget could have flagged.

use serde::{Deserialize, Serialize};

use super::Verdict;
use crate::stats::t_interval::{MeanInterval, mean_interval};

/// Block counts at which an A/B benchmark is looked at; the last is the most it gets.
pub const LOOKS: [usize; 5] = [8, 12, 16, 24, 32];

/// The per-benchmark false-alarm level a suite of this many benchmarks needs for a 5%
/// chance that any of them raises a false alarm.
pub const SUITE_SIZE: f64 = 300.0;

/// Default per-benchmark level for `slower`/`faster`.
pub const DEFAULT_ALPHA: f64 = 0.05 / SUITE_SIZE;

/// Default per-benchmark level for `unchanged` (calling a real change no change).
pub const DEFAULT_CLEAR_ALPHA: f64 = 0.01;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoppingRule {
    /// Per-benchmark level for `slower`/`faster`, spent over the looks.
    pub alpha: f64,
    /// Per-benchmark level for `unchanged`, spent over the looks.
    pub clear_alpha: f64,
    /// Block counts at which to decide (increasing).
    pub looks: Vec<usize>,
}

impl Default for StoppingRule {
    fn default() -> Self {
        StoppingRule::new(DEFAULT_ALPHA)
    }
}

/// What the blocks so far say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockDecision {
    /// `Unchanged` here may also mean "undecided": see `decided`.
    pub verdict: Verdict,
    pub decided: bool,
    /// Mean block log ratio as a ratio, and its 95% interval (for display).
    pub ratio: f64,
    pub ci95: (f64, f64),
    /// The interval the slower/faster rule used, as ratios.
    pub flag: (f64, f64),
    pub p_value: f64,
    /// The smallest relative change this many blocks could flag (threshold + the flag
    /// interval's half-width).
    pub min_detectable: f64,
}

impl StoppingRule {
    pub fn new(alpha: f64) -> Self {
        StoppingRule {
            alpha,
            clear_alpha: DEFAULT_CLEAR_ALPHA,
            looks: LOOKS.to_vec(),
        }
    }

    pub fn max_blocks(&self) -> usize {
        self.looks.last().copied().unwrap_or(2).max(2)
    }

    pub fn min_blocks(&self) -> usize {
        self.looks.first().copied().unwrap_or(2).max(2)
    }

    /// Whether `blocks` is one of the planned looks.
    pub fn is_look(&self, blocks: usize) -> bool {
        self.looks.contains(&blocks)
    }

    /// The share of `level` spent at the look that `blocks` blocks fall in: the first
    /// planned look at or after `blocks` (a look cut short by the budget spends that
    /// look's share).
    fn spent(&self, level: f64, blocks: usize) -> f64 {
        let total: usize = self.looks.iter().sum();
        let look = self
            .looks
            .iter()
            .copied()
            .find(|&n| n >= blocks)
            .unwrap_or(self.max_blocks());
        level * look as f64 / total.max(1) as f64
    }

    /// The decision on `logs`, the blocks' median ln(head/base), for a `threshold` (0.03 =
    /// 3%). `last` says no more blocks will come: an undecided benchmark is then ambiguous.
    /// Needs at least two blocks.
    pub fn decide(&self, logs: &[f64], threshold: f64, last: bool) -> BlockDecision {
        let band = (1.0 + threshold).ln();
        let n = logs.len();
        let flag = mean_interval(logs, self.spent(self.alpha, n));
        let clear = mean_interval(logs, self.spent(self.clear_alpha, n));
        let ci95 = mean_interval(logs, 0.05);
        let verdict = if flag.low > band {
            Some(Verdict::Slower)
        } else if flag.high < -band {
            Some(Verdict::Faster)
        } else if clear.low >= -band && clear.high <= band {
            Some(Verdict::Unchanged)
        } else {
            None
        };
        let ratio = |ci: &MeanInterval| (ci.low.exp(), ci.high.exp());
        BlockDecision {
            verdict: verdict.unwrap_or(if last {
                Verdict::Ambiguous
            } else {
                Verdict::Unchanged
            }),
            decided: verdict.is_some(),
            ratio: flag.mean.exp(),
            ci95: ratio(&ci95),
            flag: ratio(&flag),
            p_value: flag.p_value,
            min_detectable: (band + flag.half_width).exp() - 1.0,
        }
    }
}

/// What the A/B runner needs to decide each benchmark while it measures: the rule, each
/// benchmark's threshold (the gate's `min_threshold`, overrides applied) and the measuring
/// time a benchmark may take before an undecided one is called inconclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbPlan {
    pub rule: StoppingRule,
    pub default_threshold: f64,
    #[serde(default)]
    pub thresholds: std::collections::BTreeMap<String, f64>,
    pub budget: std::time::Duration,
}

impl Default for AbPlan {
    fn default() -> Self {
        AbPlan {
            rule: StoppingRule::default(),
            default_threshold: super::Thresholds::default().min_threshold,
            thresholds: Default::default(),
            budget: std::time::Duration::from_secs(12),
        }
    }
}

impl AbPlan {
    /// The plan for `ids` under `config`, with `budget` of measuring per benchmark.
    pub fn new<'a>(
        config: &super::CompareConfig,
        ids: impl IntoIterator<Item = &'a str>,
        budget: std::time::Duration,
    ) -> Self {
        AbPlan {
            rule: StoppingRule::new(config.defaults.alpha),
            default_threshold: config.defaults.min_threshold,
            thresholds: ids
                .into_iter()
                .map(|id| (id.to_string(), config.for_id(id).min_threshold))
                .collect(),
            budget,
        }
    }

    pub fn threshold(&self, id: &str) -> f64 {
        self.thresholds
            .get(id)
            .copied()
            .unwrap_or(self.default_threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::rng::SplitMix64;

    /// Runs the sequential rule on simulated blocks (normal log ratios with mean `effect`
    /// and spread `sigma`) until it decides or the looks run out.
    fn simulate(rule: &StoppingRule, rng: &mut SplitMix64, effect: f64, sigma: f64) -> Verdict {
        let mut logs = Vec::new();
        for &look in &rule.looks {
            while logs.len() < look {
                logs.push(effect.ln_1p() + sigma * rng.normal());
            }
            let d = rule.decide(&logs, 0.03, look == rule.max_blocks());
            if d.decided || look == rule.max_blocks() {
                return d.verdict;
            }
        }
        unreachable!()
    }

    #[test]
    fn repeated_looks_keep_false_alarms_below_alpha() {
        // 10,000 A/A series at a level large enough to count: no true change, so any
        // slower/faster is a false alarm. The threshold is 0 so that every deviation from
        // 1 could be flagged: the hardest case for the level.
        let rule = StoppingRule::new(0.05);
        let mut rng = SplitMix64::new(42);
        let mut alarms = 0;
        for _ in 0..10_000 {
            let mut logs = Vec::new();
            for &look in &rule.looks {
                while logs.len() < look {
                    logs.push(0.01 * rng.normal());
                }
                let d = rule.decide(&logs, 0.0, look == rule.max_blocks());
                if matches!(d.verdict, Verdict::Slower | Verdict::Faster) {
                    alarms += 1;
                    break;
                }
            }
        }
        // The union bound allows 500; the Monte-Carlo error at 5% is about ±22.
        assert!(alarms <= 500, "{alarms} false alarms in 10,000 A/A series");
        assert!(
            alarms > 100,
            "{alarms}: the rule should spend most of its level"
        );
    }

    #[test]
    fn a_suite_of_300_fails_rarely_yet_catches_a_lone_five_percent() {
        // Block spread 1.5% (ln units), the default level: 200 suites of 300 unchanged
        // benchmarks, then a lone +5% and +10%.
        let rule = StoppingRule::default();
        let mut rng = SplitMix64::new(7);
        let sigma = 0.015;
        let mut suites_failed = 0;
        for _ in 0..200 {
            let flagged = (0..300)
                .filter(|_| {
                    matches!(
                        simulate(&rule, &mut rng, 0.0, sigma),
                        Verdict::Slower | Verdict::Faster
                    )
                })
                .count();
            suites_failed += usize::from(flagged > 0);
        }
        assert!(
            suites_failed <= 10,
            "{suites_failed} of 200 A/A suites failed"
        );
        let mut caught = |effect| {
            (0..200)
                .filter(|_| simulate(&rule, &mut rng, effect, sigma) == Verdict::Slower)
                .count()
        };
        let five = caught(0.05);
        assert!(five >= 180, "+5% caught {five} of 200");
        assert_eq!(caught(0.10), 200);
    }

    #[test]
    fn a_change_at_the_threshold_is_never_called_unchanged() {
        let rule = StoppingRule::default();
        let mut rng = SplitMix64::new(3);
        let unchanged = (0..1000)
            .filter(|_| simulate(&rule, &mut rng, 0.03, 0.015) == Verdict::Unchanged)
            .count();
        // At most clear_alpha / 2 = 0.5% in theory.
        assert!(unchanged <= 10, "{unchanged} of 1000");
    }

    #[test]
    fn undecided_until_the_last_look_then_ambiguous_with_a_detectable_size() {
        let rule = StoppingRule::default();
        // Spread too wide to tell at 8 blocks.
        let logs = [0.05, -0.03, 0.08, 0.0, 0.06, -0.02, 0.04, 0.07];
        let d = rule.decide(&logs, 0.03, false);
        assert!(!d.decided);
        let d = rule.decide(&logs, 0.03, true);
        assert_eq!(d.verdict, Verdict::Ambiguous);
        assert!(d.min_detectable > 0.03 && d.ci95.0 < d.ratio && d.ratio < d.ci95.1);
        assert!(d.flag.0 < d.ci95.0, "the flag interval is the wider one");
    }
}
