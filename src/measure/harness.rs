//! The measurement loop: warm up, choose a batch size, then sample until the median is
//! known precisely enough (or time runs out). Every sample is kept.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Settings, Timed};
use crate::error::Result;
use crate::stats::median_ci;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The 95% CI of the median reached the target width.
    Converged,
    /// The time limit came first; the noise target was not met.
    TimeLimit,
    /// The sample limit came first.
    SampleLimit,
    /// Another process took the CPUs the kernel ran on (see `measure::contention`): the
    /// samples are not this kernel's speed.
    Contended,
}

#[derive(Debug, Clone)]
pub struct Measurement {
    /// Seconds per run, one entry per sample (a sample is `runs_per_sample` runs).
    pub samples: Vec<f64>,
    pub runs_per_sample: u64,
    pub warmup_runs: u64,
    pub warmup_seconds: f64,
    pub stop_reason: StopReason,
    /// Why the samples look contended, when they do (host workloads only).
    pub contended: Option<String>,
}

/// Never fewer samples than this, however slow the kernel: a summary needs them.
pub(super) const MIN_SAMPLES: usize = 3;

/// Runs `settings.warmup_runs` runs (at least) for `settings.warmup_time` (at least), then
/// samples. Time: bounded by warm-up + `max_time` + one sample's duration beyond it.
pub fn measure(w: &mut dyn Timed, settings: &Settings) -> Result<Measurement> {
    measure_with(w, settings, &mut || {})
}

/// [`measure`], calling `after_warmup` between the warm-up and the first sample: the moment
/// the device is busy and warm, when its clocks say something about the samples.
pub fn measure_with(
    w: &mut dyn Timed,
    settings: &Settings,
    after_warmup: &mut dyn FnMut(),
) -> Result<Measurement> {
    // Warm-up, one run at a time; the fastest run sizes the batches.
    let start = Instant::now();
    let mut warmup_runs = 0;
    let mut fastest = f64::INFINITY;
    while warmup_runs < settings.warmup_runs || start.elapsed() < settings.warmup_time {
        fastest = fastest.min(w.time_batch(1)?);
        warmup_runs += 1;
    }
    let warmup_seconds = start.elapsed().as_secs_f64();
    let runs_per_sample = batch_size(fastest, settings.min_sample_time);
    after_warmup();

    let start = Instant::now();
    let mut samples = Vec::new();
    let mut usage = Vec::new();
    let mut next_check = 0;
    let stop_reason = loop {
        let (seconds, used) = super::sample(w, runs_per_sample)?;
        usage.extend(used);
        samples.push(seconds / runs_per_sample as f64);
        let elapsed = start.elapsed();
        if samples.len() < MIN_SAMPLES {
            continue;
        }
        // The noise check sorts the samples, so it runs as the count grows by ~2%: the
        // loop stays linear-ish even for tens of thousands of samples.
        if samples.len() >= settings.min_samples
            && samples.len() >= next_check
            && elapsed >= settings.min_time
        {
            next_check = samples.len() + (samples.len() / 50).max(1);
            if rel_ci(&samples) <= settings.target_rel_ci {
                break StopReason::Converged;
            }
        }
        if (elapsed >= settings.max_time && samples.len() >= settings.min_samples)
            || elapsed >= settings.hard_timeout
        {
            break StopReason::TimeLimit;
        }
        if samples.len() >= settings.max_samples {
            break StopReason::SampleLimit;
        }
    };
    let contended = w
        .host_threads()
        .and_then(|threads| super::contended(&usage, threads));
    Ok(Measurement {
        samples,
        runs_per_sample,
        warmup_runs,
        warmup_seconds,
        stop_reason,
        contended,
    })
}

/// Runs per sample so one sample lasts at least `min_sample_time`.
pub(super) fn batch_size(run_seconds: f64, min_sample_time: Duration) -> u64 {
    if run_seconds <= 0.0 || !run_seconds.is_finite() {
        return 1;
    }
    // The epsilon keeps a ratio like 500.00000000000006 (rounding) from adding a run.
    (min_sample_time.as_secs_f64() / run_seconds - 1e-9)
        .ceil()
        .clamp(1.0, 1e6) as u64
}

/// Half-width of the median's 95% CI relative to the median.
fn rel_ci(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ci = median_ci(&sorted, 0.95);
    let median = crate::stats::quantile(&sorted, 0.5);
    if median > 0.0 {
        (ci.high - ci.low) / 2.0 / median
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake workload whose run time is a fixed pattern: deterministic, no sleeping.
    struct Fake {
        times: Vec<f64>,
        calls: usize,
        runs: u64,
    }

    impl Timed for Fake {
        fn time_batch(&mut self, runs: u64) -> Result<f64> {
            let t = self.times[self.calls % self.times.len()];
            self.calls += 1;
            self.runs += runs;
            Ok(t * runs as f64)
        }
    }

    fn settings() -> Settings {
        Settings {
            warmup_runs: 3,
            warmup_time: Duration::ZERO,
            min_sample_time: Duration::ZERO,
            min_samples: 10,
            max_samples: 50,
            min_time: Duration::ZERO,
            max_time: Duration::from_secs(3600),
            hard_timeout: Duration::from_secs(3600),
            target_rel_ci: 0.005,
        }
    }

    #[test]
    fn steady_workload_converges_at_min_samples() {
        let mut w = Fake {
            times: vec![1e-3],
            calls: 0,
            runs: 0,
        };
        let m = measure(&mut w, &settings()).unwrap();
        assert_eq!(m.stop_reason, StopReason::Converged);
        assert_eq!(m.warmup_runs, 3);
        assert_eq!(m.samples.len(), 10);
        assert!(m.samples.iter().all(|&s| s == 1e-3));
    }

    #[test]
    fn noisy_workload_runs_to_the_sample_limit() {
        // Spread evenly over [1, 2) without ties (golden-ratio sequence): with 50 samples
        // the median's CI is several percent wide, far from the 0.5% target.
        let times = (0..1000)
            .map(|i| 1.0 + (i as f64 * 0.618_034).fract())
            .collect();
        let mut w = Fake {
            times,
            calls: 0,
            runs: 0,
        };
        let m = measure(&mut w, &settings()).unwrap();
        assert_eq!(m.stop_reason, StopReason::SampleLimit);
        assert_eq!(m.samples.len(), 50);
    }

    #[test]
    fn short_runs_are_batched() {
        assert_eq!(batch_size(1e-6, Duration::from_micros(500)), 500);
        assert_eq!(batch_size(1.0, Duration::from_micros(500)), 1);
        assert_eq!(batch_size(0.0, Duration::from_micros(500)), 1);
    }

    #[test]
    fn time_limit_stops_sampling() {
        let mut w = Fake {
            times: vec![1.0, 2.0],
            calls: 0,
            runs: 0,
        };
        let s = Settings {
            max_time: Duration::ZERO,
            ..settings()
        };
        let m = measure(&mut w, &s).unwrap();
        assert_eq!(m.stop_reason, StopReason::TimeLimit);
        assert_eq!(m.samples.len(), 10, "min_samples even past the time limit");
    }

    #[test]
    fn hard_timeout_stops_even_below_min_samples() {
        let mut w = Fake {
            times: vec![1.0, 2.0],
            calls: 0,
            runs: 0,
        };
        let s = Settings {
            max_time: Duration::ZERO,
            hard_timeout: Duration::ZERO,
            ..settings()
        };
        let m = measure(&mut w, &s).unwrap();
        assert_eq!(m.stop_reason, StopReason::TimeLimit);
        assert_eq!(m.samples.len(), MIN_SAMPLES, "but never fewer than three");
    }
}
