//! Interleaved A/B measurement: base and head kernels timed in alternating rounds in one
//! process (ABBA order, so neither always runs first), giving pairs that share clocks,
//! temperature and background load. Drift between runs cancels in each pair's ratio.

use std::time::Instant;

use super::harness::{MIN_SAMPLES, batch_size};
use super::{Settings, StopReason, Timed};
use crate::error::Result;
use crate::stats::median_ci;

#[derive(Debug, Clone)]
pub struct PairedMeasurement {
    /// Seconds per run; `base[i]` and `head[i]` were measured back to back.
    pub base: Vec<f64>,
    pub head: Vec<f64>,
    pub runs_per_sample: u64,
    pub stop_reason: StopReason,
    /// Either side's samples looked contended (host workloads only).
    pub contended: bool,
}

/// Half-width of the 95% CI of the median log ratio (≈ relative precision of the ratio).
fn log_ratio_half_width(base: &[f64], head: &[f64]) -> f64 {
    let mut logs: Vec<f64> = base.iter().zip(head).map(|(b, h)| (h / b).ln()).collect();
    logs.sort_by(f64::total_cmp);
    let ci = median_ci(&logs, 0.95);
    (ci.high - ci.low) / 2.0
}

/// Warms both up, then samples pairs until the ratio is known to `settings.target_rel_ci`
/// or a time limit is reached (each side gets the budget a single benchmark would).
pub fn measure_pair(
    base: &mut dyn Timed,
    head: &mut dyn Timed,
    settings: &Settings,
) -> Result<PairedMeasurement> {
    let start = Instant::now();
    let mut warmup_runs = 0;
    let mut fastest = f64::INFINITY;
    while warmup_runs < settings.warmup_runs || start.elapsed() < settings.warmup_time {
        fastest = fastest.min(base.time_batch(1)?).min(head.time_batch(1)?);
        warmup_runs += 1;
    }
    let runs = batch_size(fastest, settings.min_sample_time);
    let (max_time, hard_timeout) = (settings.max_time * 2, settings.hard_timeout * 2);

    let start = Instant::now();
    let (mut b, mut h) = (Vec::new(), Vec::new());
    let (mut base_usage, mut head_usage) = (Vec::new(), Vec::new());
    let mut next_check = 0;
    let stop_reason = loop {
        // ABBA: even rounds run base first, odd rounds head first.
        let ((tb, ub), (th, uh)) = if b.len() % 2 == 0 {
            let tb = super::sample(base, runs)?;
            (tb, super::sample(head, runs)?)
        } else {
            let th = super::sample(head, runs)?;
            (super::sample(base, runs)?, th)
        };
        base_usage.extend(ub);
        head_usage.extend(uh);
        b.push(tb / runs as f64);
        h.push(th / runs as f64);
        let elapsed = start.elapsed();
        if b.len() < MIN_SAMPLES {
            continue;
        }
        if b.len() >= settings.min_samples && b.len() >= next_check && elapsed >= settings.min_time
        {
            next_check = b.len() + (b.len() / 50).max(1);
            if log_ratio_half_width(&b, &h) <= settings.target_rel_ci {
                break StopReason::Converged;
            }
        }
        if (elapsed >= max_time && b.len() >= settings.min_samples) || elapsed >= hard_timeout {
            break StopReason::TimeLimit;
        }
        if b.len() >= settings.max_samples {
            break StopReason::SampleLimit;
        }
    };
    let contended = |w: &dyn Timed, usage: &[super::SampleUsage]| {
        w.host_threads()
            .is_some_and(|t| super::contended(usage, t).is_some())
    };
    Ok(PairedMeasurement {
        contended: contended(base, &base_usage) || contended(head, &head_usage),
        base: b,
        head: h,
        runs_per_sample: runs,
        stop_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Run time = factor × a drifting clock: the drift is shared by both sides.
    struct Drifting<'a> {
        factor: f64,
        clock: &'a std::cell::Cell<f64>,
    }

    impl Timed for Drifting<'_> {
        fn time_batch(&mut self, runs: u64) -> Result<f64> {
            let t = self.clock.get();
            self.clock.set(t * 1.01); // 1% slower every call: strong drift
            Ok(self.factor * t * runs as f64)
        }
    }

    #[test]
    fn pairs_recover_the_ratio_despite_drift_and_alternate_order() {
        let clock = std::cell::Cell::new(1e-3);
        let mut base = Drifting {
            factor: 1.0,
            clock: &clock,
        };
        let mut head = Drifting {
            factor: 1.1,
            clock: &clock,
        };
        let settings = Settings {
            warmup_runs: 3,
            warmup_time: Duration::ZERO,
            min_sample_time: Duration::ZERO,
            min_samples: 10,
            max_samples: 40,
            min_time: Duration::ZERO,
            max_time: Duration::from_secs(3600),
            hard_timeout: Duration::from_secs(3600),
            target_rel_ci: 0.0,
        };
        let m = measure_pair(&mut base, &mut head, &settings).unwrap();
        assert_eq!(m.stop_reason, StopReason::SampleLimit);
        let ratios: Vec<f64> = m.base.iter().zip(&m.head).map(|(b, h)| h / b).collect();
        // ABBA: the one who runs second pays 1% of drift, alternately.
        assert!((ratios[0] - 1.1 * 1.01).abs() < 1e-9, "{ratios:?}");
        assert!((ratios[1] - 1.1 / 1.01).abs() < 1e-9, "{ratios:?}");
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        let median = (sorted[19] + sorted[20]) / 2.0;
        assert!((median / 1.1 - 1.0).abs() < 0.011, "{median}");
    }
}
