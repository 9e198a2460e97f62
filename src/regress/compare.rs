//! Building a comparison: per benchmark a ratio of medians with a bootstrap CI and a rank
//! test, p-values adjusted across the comparison, a threshold from the benchmark's noise,
//! and a verdict.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::sequential::StoppingRule;
use super::side::{RunSpread, Side};
use super::{CompareConfig, Thresholds, Verdict, decide};
use crate::error::{Error, Result};
use crate::stats::bootstrap::ratio_of_medians;
use crate::stats::rng::seed_from;
use crate::stats::t_interval::{interval_from, t_quantile_two_sided};
use crate::stats::{mann_whitney_u, quantile, robust_cv};
use crate::store::{MIN_HISTORY_RUNS, NoiseSource};
use crate::suite::Family;

const LEVEL: f64 = 0.95;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Two separate sets of runs: Mann–Whitney U, bootstrap of the ratio of medians.
    Independent,
    /// Interleaved A/B pairs in one process: Wilcoxon signed-rank on log ratios,
    /// bootstrap over pairs.
    Paired,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideInfo {
    pub label: String,
    pub hardware_key: String,
    pub commit: Option<String>,
    pub dirty: Option<bool>,
    /// Runs this side was built from (0 for a baseline).
    pub runs: usize,
    pub compiler: Option<String>,
    pub orac_version: Option<String>,
    /// The GPU this side ran on, when a GPU backend measured (name, driver, clocks for the
    /// report's header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<crate::store::GpuInfo>,
}

/// How an entry's Δ was estimated, so a report can show medians that agree with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// median(head samples) / median(base samples): the medians shown give the Δ.
    MedianRatio,
    /// Between runs: the geometric mean of each side's run medians, which are what
    /// `base_median` and `head_median` hold, so again the medians shown give the Δ.
    RunMedians,
    /// A/B blocks: the geometric mean over blocks of each block's median head/base ratio.
    /// The medians of all samples pooled over blocks need not give the same ratio (a
    /// benchmark whose speed moves between blocks, say), so a report names this estimator.
    PairedBlocks,
}

/// Benchmarks left out of a comparison, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub count: usize,
    pub reason: String,
}

/// The reason `orac ab --changed-only` gives for the benchmarks it leaves out.
pub const UNCHANGED_KERNEL: &str = "kernel unchanged between base and head (--changed-only)";

/// Adds one skipped benchmark to `list` under `reason` (the same reason counted once).
pub fn add_skipped(list: &mut Vec<Skipped>, reason: &str, count: usize) {
    let reason = reason.strip_prefix("skipped: ").unwrap_or(reason).trim();
    match list.iter_mut().find(|s| s.reason == reason) {
        Some(s) => s.count += count,
        None => list.push(Skipped {
            count,
            reason: reason.to_string(),
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub family: Family,
    /// Median seconds per run on each side.
    pub base_median: Option<f64>,
    pub head_median: Option<f64>,
    /// Head time / base time: above 1 is slower.
    pub ratio: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    /// Benjamini–Hochberg adjusted p-value, in comparisons written before the level
    /// became per benchmark; no longer set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q_value: Option<f64>,
    pub noise: Option<f64>,
    pub noise_source: Option<NoiseSource>,
    pub threshold: Option<f64>,
    pub verdict: Verdict,
    pub note: Option<String>,
    /// Runs per side (base, head) whose medians the interval rests on, when it is a
    /// between-run interval; absent when it is the newest run's samples alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<[usize; 2]>,
    /// For an inconclusive verdict: the smallest change (as a fraction, 0.1 = 10%) that
    /// this much data could have called `slower` or `faster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_detectable: Option<f64>,
    /// What the Δ (`ratio`) was computed from, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimator: Option<Estimator>,
    /// Standard error and degrees of freedom of a between-run interval (log space).
    #[serde(skip)]
    between: Option<(f64, f64)>,
}

impl Entry {
    fn bare(id: &str, family: Family, verdict: Verdict) -> Self {
        Entry {
            id: id.to_string(),
            family,
            base_median: None,
            head_median: None,
            ratio: None,
            ci_low: None,
            ci_high: None,
            p_value: None,
            q_value: None,
            noise: None,
            noise_source: None,
            threshold: None,
            verdict,
            note: None,
            runs: None,
            min_detectable: None,
            estimator: None,
            between: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub mode: Mode,
    pub base: SideInfo,
    pub head: SideInfo,
    pub defaults: Thresholds,
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
    /// Benchmarks not compared (a kernel unchanged under `--changed-only`, one that cannot
    /// run on this device), counted by reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Files outside `kernels/` that differ between the two commits (`orac ab`): host code
    /// runs the same (head's) build on both sides, so no comparison here measures it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_changes: Vec<String>,
}

impl Comparison {
    pub fn verdicts(&self) -> Vec<Verdict> {
        self.entries.iter().map(|e| e.verdict).collect()
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.entries.iter().filter(|e| e.verdict == verdict).count()
    }

    /// Geometric mean of head/base time ratios per family, over compared benchmarks.
    pub fn geomean_by_family(&self) -> Vec<(Family, f64, usize)> {
        let mut out = Vec::new();
        for family in [Family::Memcpy, Family::Gemm, Family::Attention] {
            let logs: Vec<f64> = self
                .entries
                .iter()
                .filter(|e| e.family == family)
                .filter_map(|e| e.ratio.filter(|_| e.verdict != Verdict::Throttled))
                .map(f64::ln)
                .collect();
            if !logs.is_empty() {
                let mean = logs.iter().sum::<f64>() / logs.len() as f64;
                out.push((family, mean.exp(), logs.len()));
            }
        }
        out
    }
}

fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    Some(quantile(&s, 0.5))
}

/// Assigns the verdicts of compared entries, each at the per-benchmark level. A
/// between-run interval carries the run-to-run noise itself, so its threshold is the plain
/// minimum; an interval from one run's samples does not, so the threshold grows with the
/// noise, and without any run-to-run knowledge no change can be told from that noise.
fn finalize(entries: &mut [Entry], config: &CompareConfig) {
    for e in entries
        .iter_mut()
        .filter(|e| e.p_value.is_some() && e.verdict == Verdict::Unchanged)
    {
        let t = config.for_id(&e.id);
        let threshold = if e.runs.is_some() {
            t.min_threshold
        } else {
            t.threshold(e.noise.unwrap_or(0.0))
        };
        e.threshold = Some(threshold);
        e.verdict = decide(
            e.ci_low.unwrap(),
            e.ci_high.unwrap(),
            e.p_value.unwrap(),
            threshold,
            t.alpha,
        );
        if let (Verdict::Ambiguous, Some((se, df)), Some([nb, nh])) = (e.verdict, e.between, e.runs)
        {
            let mdc = min_detectable_between(se, df, threshold, t.alpha);
            e.min_detectable = Some(mdc);
            e.note = Some(format!(
                "inconclusive: minimum detectable change {:.1}% ({nb} + {nh} runs, run-to-run spread {:.1}%)",
                mdc * 100.0,
                e.noise.unwrap_or(0.0) * 100.0
            ));
        }
        if e.noise_source == Some(NoiseSource::WithinRun)
            && matches!(e.verdict, Verdict::Slower | Verdict::Faster)
        {
            e.note = Some(format!(
                "inconclusive: {} beyond one run's own spread, but one run per side says nothing of the run-to-run noise (compare against a baseline of {MIN_HISTORY_RUNS} or more runs, several runs per side, or gate with `orac ab`)",
                e.verdict.name()
            ));
            e.verdict = Verdict::Ambiguous;
        }
    }
}

/// A between-run interval for ln(head/base) from both sides' run medians: the pooled
/// standard deviation of the sides that have two or more runs (a baseline's run-to-run
/// noise counts as its runs), Student's t on their degrees of freedom. `None` when
/// neither side knows its run-to-run spread.
fn between_runs(b: &RunSpread, h: &RunSpread) -> Option<BetweenRuns> {
    let parts: Vec<(f64, usize)> = [b, h]
        .iter()
        .filter_map(|s| s.sd_log.filter(|_| s.n >= 2).map(|sd| (sd, s.n)))
        .collect();
    let df: usize = parts.iter().map(|(_, n)| n - 1).sum();
    if df == 0 {
        return None;
    }
    let pooled = (parts
        .iter()
        .map(|(sd, n)| sd * sd * (n - 1) as f64)
        .sum::<f64>()
        / df as f64)
        .sqrt();
    let se = pooled * (1.0 / b.n as f64 + 1.0 / h.n as f64).sqrt();
    let ci = interval_from(h.mean_log - b.mean_log, se, df as f64, 1.0 - LEVEL);
    Some(BetweenRuns {
        diff: ci.mean,
        half_width: ci.half_width,
        p_value: ci.p_value.max(f64::MIN_POSITIVE),
        se,
        df: df as f64,
    })
}

struct BetweenRuns {
    diff: f64,
    half_width: f64,
    p_value: f64,
    se: f64,
    df: f64,
}

/// The smallest change a between-run interval with this standard error and these degrees
/// of freedom could call `slower` (by symmetry, `faster`): its estimate must be significant
/// at `alpha` and its 95% interval must clear the threshold.
fn min_detectable_between(se: f64, df: f64, threshold: f64, alpha: f64) -> f64 {
    let significant = t_quantile_two_sided(alpha, df) * se;
    let clears = (1.0 + threshold).ln() + t_quantile_two_sided(1.0 - LEVEL, df) * se;
    significant.max(clears).exp() - 1.0
}

fn check_hardware(base: &SideInfo, head: &SideInfo, allow_cross: bool) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    if base.hardware_key != head.hardware_key {
        let what = format!(
            "base ran on {}, head on {}",
            base.hardware_key, head.hardware_key
        );
        if !allow_cross {
            return Err(Error::Usage(format!(
                "{what}: differences would be the hardware's, not the code's (pass --allow-cross-hardware to compare anyway)"
            )));
        }
        warnings.push(format!("{what}: compared across hardware on request"));
    }
    if let (Some(a), Some(b)) = (&base.compiler, &head.compiler)
        && a != b
    {
        warnings.push(format!("compilers differ: base {a}, head {b}"));
    }
    if let (Some(a), Some(b)) = (&base.orac_version, &head.orac_version)
        && a != b
    {
        warnings.push(format!("orac versions differ: base {a}, head {b}"));
    }
    Ok(warnings)
}

/// Compares two independent sides benchmark by benchmark.
pub fn compare_independent(
    base: &Side,
    head: &Side,
    config: &CompareConfig,
    allow_cross_hardware: bool,
) -> Result<Comparison> {
    let warnings = check_hardware(&base.info, &head.info, allow_cross_hardware)?;
    let ids: BTreeSet<&String> = base.benches.keys().chain(head.benches.keys()).collect();
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for id in ids {
        // Skipped on either side ("this machine cannot hold it"): not compared, counted.
        if let Some(why) = [head.benches.get(id), base.benches.get(id)]
            .into_iter()
            .flatten()
            .find(|b| b.status == crate::store::Status::Skipped)
            .map(|b| b.error.clone().unwrap_or_else(|| "skipped".into()))
        {
            add_skipped(&mut skipped, &why, 1);
            continue;
        }
        let entry = match (base.benches.get(id), head.benches.get(id)) {
            (None, Some(h)) => Entry {
                head_median: median(&h.samples),
                ..Entry::bare(id, h.family, Verdict::New)
            },
            (Some(b), None) => Entry {
                base_median: median(&b.samples),
                ..Entry::bare(id, b.family, Verdict::Missing)
            },
            (Some(b), Some(h)) => compare_one(id, b, h),
            (None, None) => unreachable!("id came from one of the sides"),
        };
        entries.push(entry);
    }
    finalize(&mut entries, config);
    let mut warnings = warnings;
    let within = entries
        .iter()
        .filter(|e| e.noise_source == Some(NoiseSource::WithinRun))
        .count();
    if within > 0 {
        warnings.push(format!(
            "{within} benchmarks have no run-to-run history, so their thresholds use the spread within one run, which underestimates run-to-run noise: set a baseline from {MIN_HISTORY_RUNS} or more runs, or gate with `orac ab`"
        ));
    }
    Ok(Comparison {
        mode: Mode::Independent,
        base: base.info.clone(),
        head: head.info.clone(),
        defaults: config.defaults,
        entries,
        warnings,
        skipped,
        host_changes: Vec::new(),
    })
}

/// Everything but the verdict; `Unchanged` here means "to be decided by `finalize`".
fn compare_one(id: &str, b: &super::SideBench, h: &super::SideBench) -> Entry {
    use crate::store::Status;
    let mut e = Entry::bare(id, h.family, Verdict::Unchanged);
    e.base_median = median(&b.samples);
    e.head_median = median(&h.samples);
    if h.status != Status::Ok {
        e.verdict = Verdict::Failed;
        e.note = h.error.clone().or(Some(format!("{:?}", h.status)));
        return e;
    }
    if b.status != Status::Ok {
        e.verdict = Verdict::New;
        e.note = Some("base failed: nothing to compare with".into());
        return e;
    }
    // Measured off its real speed on either side: set aside, never compared.
    for (verdict, (on_base, on_head), what) in [
        (
            Verdict::Contended,
            (b.contended, h.contended),
            "measured under CPU contention",
        ),
        (Verdict::Throttled, (b.throttled, h.throttled), "throttled"),
    ] {
        if on_base || on_head {
            e.verdict = verdict;
            e.note = Some(format!("{} {what}", if on_head { "head" } else { "base" }));
            return e;
        }
    }
    let valid = |s: &[f64]| !s.is_empty() && s.iter().all(|x| x.is_finite() && *x > 0.0);
    if !valid(&b.samples) || !valid(&h.samples) {
        e.verdict = Verdict::Ambiguous;
        e.note = Some("no usable samples (empty, zero, negative or non-finite times)".into());
        return e;
    }
    if let (Some(rb), Some(rh)) = (&b.runs, &h.runs)
        && let Some(br) = between_runs(rb, rh)
    {
        let (diff, half) = (br.diff, br.half_width);
        e.ratio = Some(diff.exp());
        // The centres the ratio compares, so the medians shown give the Δ shown.
        e.base_median = Some(rb.mean_log.exp());
        e.head_median = Some(rh.mean_log.exp());
        e.estimator = Some(Estimator::RunMedians);
        e.ci_low = Some((diff - half).exp());
        e.ci_high = Some((diff + half).exp());
        e.p_value = Some(br.p_value);
        e.runs = Some([rb.n, rh.n]);
        e.between = Some((br.se, br.df));
        let sd = [rb, rh].iter().filter_map(|s| s.sd_log).fold(0.0, f64::max);
        e.noise = Some(sd);
        e.noise_source = Some(NoiseSource::History);
        return e;
    }
    let ci = ratio_of_medians(&b.samples, &h.samples, LEVEL, seed_from(id, 0));
    e.ratio = Some(ci.ratio);
    e.estimator = Some(Estimator::MedianRatio);
    e.ci_low = Some(ci.low);
    e.ci_high = Some(ci.high);
    e.p_value = Some(mann_whitney_u(&b.samples, &h.samples).p_value);
    // History beats a within-run figure; with history on both sides the larger counts.
    let history = [b.noise, h.noise]
        .into_iter()
        .flatten()
        .filter(|(_, s)| *s == NoiseSource::History)
        .map(|(n, _)| n)
        .fold(None, |m: Option<f64>, n| Some(m.map_or(n, |m| m.max(n))));
    let (noise, source) = match history
        .map(|n| (n, NoiseSource::History))
        .or(b.noise)
        .or(h.noise)
    {
        Some(known) => known,
        None => (
            robust_cv(&b.samples)
                .unwrap_or(0.0)
                .max(robust_cv(&h.samples).unwrap_or(0.0)),
            NoiseSource::WithinRun,
        ),
    };
    e.noise = Some(noise);
    e.noise_source = Some(source);
    e
}

/// The outcome of measuring one benchmark on both sides of an A/B run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedOutcome {
    /// Per-run seconds, pair i measured back to back, in block `blocks[i]` (each block
    /// with freshly allocated buffers on both sides).
    Measured {
        base: Vec<f64>,
        head: Vec<f64>,
        blocks: Vec<usize>,
        /// Blocks thrown away and redone because another process took the CPUs.
        #[serde(default)]
        contended_blocks: usize,
        /// Why the blocks stopped: `converged` (the rule decided), `time_limit` (the
        /// budget ran out), `sample_limit` (the most blocks the rule allows).
        #[serde(default)]
        stop_reason: Option<crate::measure::StopReason>,
    },
    /// The head kernel failed (verification, compile, run).
    HeadFailed(String),
    /// Neither side can run here (written for another architecture, too big): why.
    Skipped(String),
    /// Only the base kernel failed.
    BaseFailed(String),
    New,
    Missing,
}

/// Median of ln(head/base) per block: the independent replications of an A/B run.
fn block_log_ratios(base: &[f64], head: &[f64], blocks: &[usize]) -> Vec<f64> {
    let mut ids: Vec<usize> = blocks.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .filter_map(|block| {
            let (b, h): (Vec<f64>, Vec<f64>) = (0..base.len().min(head.len()))
                .filter(|&i| blocks.get(i) == Some(&block))
                .map(|i| (base[i], head[i]))
                .unzip();
            block_log_ratio(&b, &h)
        })
        .collect()
}

/// One block's median ln(head/base) over its pairs (non-finite ratios left out).
pub fn block_log_ratio(base: &[f64], head: &[f64]) -> Option<f64> {
    let logs: Vec<f64> = base
        .iter()
        .zip(head)
        .map(|(b, h)| (h / b).ln())
        .filter(|x| x.is_finite())
        .collect();
    median(&logs)
}

/// Compares interleaved A/B measurements with the gate's sequential rule
/// (`regress::sequential`): the blocks' median log ratios are the replications, drift
/// cancels in pairs and placement is redrawn per block, so the threshold is the plain
/// `min_threshold` (no noise term) and the interval carries all the uncertainty.
pub fn compare_paired(
    base: SideInfo,
    head: SideInfo,
    outcomes: Vec<(String, Family, PairedOutcome)>,
    config: &CompareConfig,
) -> Result<Comparison> {
    let warnings = check_hardware(&base, &head, false)?;
    let rule = StoppingRule::new(config.defaults.alpha);
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for (id, family, outcome) in outcomes {
        let entry = match outcome {
            PairedOutcome::Skipped(why) => {
                add_skipped(&mut skipped, &why, 1);
                continue;
            }
            PairedOutcome::New => Entry::bare(&id, family, Verdict::New),
            PairedOutcome::Missing => Entry::bare(&id, family, Verdict::Missing),
            PairedOutcome::HeadFailed(why) => Entry {
                note: Some(why),
                ..Entry::bare(&id, family, Verdict::Failed)
            },
            PairedOutcome::BaseFailed(why) => Entry {
                note: Some(format!("base failed: {why}")),
                ..Entry::bare(&id, family, Verdict::New)
            },
            PairedOutcome::Measured {
                base,
                head,
                blocks,
                contended_blocks,
                ..
            } => paired_entry(
                &id,
                family,
                (&base, &head, &blocks),
                contended_blocks,
                &rule,
                config,
            ),
        };
        entries.push(entry);
    }
    Ok(Comparison {
        mode: Mode::Paired,
        base,
        head,
        defaults: config.defaults,
        entries,
        warnings,
        skipped,
        host_changes: Vec::new(),
    })
}

/// One measured A/B benchmark's entry under `rule`.
fn paired_entry(
    id: &str,
    family: Family,
    (base, head, blocks): (&[f64], &[f64], &[usize]),
    contended_blocks: usize,
    rule: &StoppingRule,
    config: &CompareConfig,
) -> Entry {
    let logs = block_log_ratios(base, head, blocks);
    let mut e = Entry {
        base_median: median(base),
        head_median: median(head),
        noise: Some(0.0),
        noise_source: Some(NoiseSource::Paired),
        ..Entry::bare(id, family, Verdict::Ambiguous)
    };
    if logs.len() < 2 {
        if contended_blocks > 0 {
            e.verdict = Verdict::Contended;
            e.note = Some(format!(
                "contended: {contended_blocks} blocks measured while another process took the CPUs; none usable"
            ));
        } else {
            e.note = Some("fewer than two measured blocks".into());
        }
        return e;
    }
    let threshold = config.for_id(id).min_threshold;
    let d = rule.decide(&logs, threshold, true);
    e.ratio = Some(d.ratio);
    e.estimator = Some(Estimator::PairedBlocks);
    (e.ci_low, e.ci_high) = (Some(d.ci95.0), Some(d.ci95.1));
    e.p_value = Some(d.p_value);
    e.threshold = Some(threshold);
    e.verdict = d.verdict;
    let mut notes = Vec::new();
    if d.verdict == Verdict::Ambiguous {
        e.min_detectable = Some(d.min_detectable);
        notes.push(format!(
            "inconclusive: minimum detectable change {:.1}% at this budget ({} blocks)",
            d.min_detectable * 100.0,
            logs.len()
        ));
    }
    if contended_blocks > 0 {
        notes.push(format!("{contended_blocks} contended blocks redone"));
    }
    e.note = (!notes.is_empty()).then(|| notes.join("; "));
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A between-run comparison of two groups of run medians, ln(head/base) = `shift`
    /// (log space), each side with the same scatter.
    fn spread(n: usize, centre: f64, scatter: f64) -> RunSpread {
        let medians: Vec<f64> = (0..n)
            .map(|i| (centre + scatter * (i as f64 - (n - 1) as f64 / 2.0)).exp())
            .collect();
        RunSpread::of(&medians).unwrap()
    }

    #[test]
    fn minimum_detectable_change_is_where_the_verdict_turns() {
        let (threshold, alpha) = (0.03, 0.05 / 300.0);
        let (b, h0) = (spread(5, 0.0, 0.02), spread(3, 0.0, 0.02));
        let br = between_runs(&b, &h0).unwrap();
        let mdc = min_detectable_between(br.se, br.df, threshold, alpha);
        assert!(mdc > threshold, "{mdc}");
        for (scale, want) in [(1.02, Verdict::Slower), (0.98, Verdict::Ambiguous)] {
            let shift = (1.0 + mdc).ln() * scale;
            let h = spread(3, shift, 0.02);
            let br = between_runs(&b, &h).unwrap();
            let (lo, hi) = (br.diff - br.half_width, br.diff + br.half_width);
            let v = decide(lo.exp(), hi.exp(), br.p_value, threshold, alpha);
            assert_eq!(v, want, "shift {shift} against mdc {mdc}");
        }
        // More runs, the same scatter: a smaller change is detectable.
        let more = between_runs(&spread(20, 0.0, 0.005), &spread(20, 0.0, 0.005)).unwrap();
        assert!(min_detectable_between(more.se, more.df, threshold, alpha) < mdc);
    }
}
