//! Clocks around a measurement. A GPU that throttles (heat, power brake, a slowdown signal)
//! runs kernels slower for reasons that have nothing to do with the code, so every GPU result
//! records the clocks before and after it was measured, and a result taken below 75% of the
//! default SM clock, or while the driver reported a thermal or hardware slowdown, is marked
//! throttled — retried after a pause, and never compared as a regression.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clock_sampler::{ClockSampler, DuringSamples, summarize};

/// One reading of the device's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockSample {
    pub sm_mhz: u32,
    pub memory_mhz: u32,
    pub temperature_c: u32,
    pub power_w: f64,
    /// Why the driver holds the clocks down right now (NVML's throttle reasons), e.g.
    /// `sw_power_cap`, `hw_thermal_slowdown`; empty when nothing does.
    pub reasons: Vec<String>,
    /// NVML's cumulative violation counters (time held below the requested clocks, by
    /// policy: `power`, `thermal`), in ns; empty where NVML lacks them (virtualised GPUs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub violations_ns: BTreeMap<String, u64>,
}

/// Readings just before and just after a benchmark's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockCheck {
    pub before: ClockSample,
    pub after: ClockSample,
    /// Readings taken while the samples ran (absent in results from before it was read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during: Option<DuringSamples>,
    /// Wall time between `before` and `after`, in ns, for the violation counters' shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ns: Option<u64>,
}

impl ClockCheck {
    /// Nanoseconds of `policy` violation between the two readings, where both have it.
    pub fn violation_ns(&self, policy: &str) -> Option<u64> {
        let (a, b) = (
            self.before.violations_ns.get(policy)?,
            self.after.violations_ns.get(policy)?,
        );
        Some(b.saturating_sub(*a))
    }
}

/// Something that reads the device's clocks, held apart from the backend so it can be read
/// while a workload borrows the backend.
pub trait ClockProbe: Send + Sync {
    /// `Err` says why this reading failed.
    fn read(&self) -> Result<ClockSample, String>;
}

/// What a backend offers for clock checks: nothing (a CPU), a reason (a GPU whose clocks
/// cannot be read, e.g. no NVML), or a probe.
pub type Clocks = Option<Result<Arc<dyn ClockProbe>, String>>;

/// Measurements of a throttled benchmark are retried this many times…
pub const THROTTLE_RETRIES: usize = 2;
/// …each after this pause, for the device to cool down or its clocks to recover.
pub const THROTTLE_PAUSE: Duration = Duration::from_secs(10);
/// Pauses one process (a run, or one worker of it) spends on throttled attempts at most: if
/// the rule misfired on every benchmark, 56 of them would otherwise cost 19 minutes.
pub const MAX_THROTTLE_PAUSES: usize = 4;

/// Throttle retries left; shared by every benchmark of a process.
pub struct RetryBudget(AtomicUsize);

impl RetryBudget {
    pub const fn new(pauses: usize) -> Self {
        RetryBudget(AtomicUsize::new(pauses))
    }

    /// Takes one retry; false when none is left.
    pub fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// This process's budget of throttle pauses.
pub static RUN_RETRY_BUDGET: RetryBudget = RetryBudget::new(MAX_THROTTLE_PAUSES);

/// A measurement with the clocks around it: `check` when both readings worked, `throttled`
/// with the reason when even the last attempt was throttled, `notes` for readings that
/// failed and attempts that were thrown away.
pub struct Checked<M> {
    pub measurement: M,
    pub check: Option<ClockCheck>,
    pub throttled: Option<String>,
    pub notes: Vec<String>,
}

/// A measurement that calls its argument once the warm-up is done.
pub type MeasureFn<'a, M, E> = dyn FnMut(&mut dyn FnMut()) -> Result<M, E> + 'a;

/// How `measure_checked` reads and retries.
pub struct CheckPolicy<'a> {
    pub default_sm_mhz: u32,
    pub retries: usize,
    pub pause: Duration,
    /// Read the clocks this often while the samples run; `None`: before and after only.
    pub sample_period: Option<Duration>,
    pub budget: &'a RetryBudget,
}

/// Runs `measure`, reading the clocks when it reports the warm-up done (through the callback
/// it is given: an idle GPU parks its clocks, so a reading before the warm-up says nothing),
/// on a sampling thread while the samples run, and again when it returns; a throttled
/// attempt is repeated after `pause`, at most `retries` times and while the process's budget
/// lasts. Errors of `measure` end it at once.
pub fn measure_checked<M, E>(
    probe: Option<&Arc<dyn ClockProbe>>,
    policy: &CheckPolicy,
    measure: &mut MeasureFn<'_, M, E>,
) -> Result<Checked<M>, E> {
    let mut notes = Vec::new();
    let mut attempt = 0;
    loop {
        let mut before = None;
        let mut sampler: Option<ClockSampler> = None;
        let mut started = None;
        let measurement = measure(&mut || {
            // Called again when a measurement starts over: the first one's readings go.
            if let Some(old) = sampler.take() {
                old.stop();
            }
            before = probe.map(|p| p.read());
            started = Some(std::time::Instant::now());
            sampler = probe
                .zip(policy.sample_period)
                .map(|(p, period)| ClockSampler::start(p.clone(), period));
        });
        // Stopped before an error returns, or the thread would read forever.
        let during = sampler.map(ClockSampler::stop);
        let measurement = measurement?;
        let after = probe.map(|p| p.read());
        let check = match (before, after) {
            (Some(Ok(before)), Some(Ok(after))) => Some(ClockCheck {
                before,
                after,
                during: during.as_ref().map(|r| summarize(r, policy.default_sm_mhz)),
                window_ns: started.map(|t| t.elapsed().as_nanos() as u64),
            }),
            (Some(Err(e)), _) | (_, Some(Err(e))) => {
                notes.push(format!("clocks not checked: {e}"));
                None
            }
            _ => None,
        };
        if let Some(e) = during.iter().flatten().find_map(|r| r.as_ref().err()) {
            notes.push(format!(
                "some clock readings during the samples failed: {e}"
            ));
        }
        let throttled = check
            .as_ref()
            .and_then(|c| throttle_reason(policy.default_sm_mhz, c));
        match throttled {
            Some(why) if attempt < policy.retries && policy.budget.take() => {
                notes.push(format!(
                    "attempt {} discarded, throttled: {why}; retried after {} s",
                    attempt + 1,
                    policy.pause.as_secs()
                ));
                attempt += 1;
                std::thread::sleep(policy.pause);
            }
            throttled => {
                if throttled.is_some() && attempt < policy.retries {
                    notes.push(format!(
                        "not retried: this process's {MAX_THROTTLE_PAUSES} throttle pauses are used up"
                    ));
                }
                if let Some(share) = check.as_ref().and_then(power_capped_share) {
                    notes.push(format!(
                        "power capped for {:.0}% of the measurement (normal for a busy GPU; the clocks say how much it cost)",
                        share * 100.0
                    ));
                }
                return Ok(Checked {
                    measurement,
                    check,
                    throttled,
                    notes,
                });
            }
        }
    }
}

/// The share of the measurement the driver held the clocks down for power, when NVML
/// counts it and it happened at all.
pub fn power_capped_share(check: &ClockCheck) -> Option<f64> {
    let ns = check.violation_ns("power")?;
    let window = check.window_ns.filter(|w| *w > 0)?;
    (ns > 0).then(|| (ns as f64 / window as f64).min(1.0))
}

/// Busy readings during the samples below the clock floor, beyond this share, make the
/// measurement throttled (one or two low readings are a clock ramping at a kernel's start).
pub const MAX_LOW_READINGS: f64 = 0.1;

/// Below this share of the default SM clock a result is throttled.
pub const MIN_CLOCK_SHARE: f64 = 0.75;

/// Reasons that mean the silicon was slowed down, not merely capped by policy. A software
/// power cap is how a busy H100 normally runs big GEMMs; it counts only through the clock.
const SLOWDOWNS: &[&str] = &[
    "hw_slowdown",
    "sw_thermal_slowdown",
    "hw_thermal_slowdown",
    "hw_power_brake_slowdown",
];

/// Why `check` is a throttled measurement, or `None` when it is clean.
pub fn throttle_reason(default_sm_mhz: u32, check: &ClockCheck) -> Option<String> {
    // A reading the driver calls idle (the GPU between kernels) says nothing about the
    // clock the kernels ran at: only busy readings count towards the clock rule.
    let busy = [&check.before, &check.after]
        .into_iter()
        .filter(|s| !s.reasons.iter().any(|r| r == "gpu_idle"));
    let lowest = busy.map(|s| s.sm_mhz).min();
    if let Some(lowest) = lowest
        && default_sm_mhz > 0
        && f64::from(lowest) < MIN_CLOCK_SHARE * f64::from(default_sm_mhz)
    {
        return Some(format!(
            "SM clock {lowest} MHz is below {:.0}% of the default {default_sm_mhz} MHz",
            MIN_CLOCK_SHARE * 100.0
        ));
    }
    if let Some(d) = &check.during
        && d.busy > 0
        && d.below_share as f64 > MAX_LOW_READINGS * d.busy as f64
    {
        return Some(format!(
            "SM clock below {:.0}% of the default {default_sm_mhz} MHz in {} of {} readings during the samples (lowest {} MHz)",
            MIN_CLOCK_SHARE * 100.0,
            d.below_share,
            d.busy,
            d.sm_mhz_min
        ));
    }
    if let Some(ns) = check.violation_ns("thermal").filter(|ns| *ns > 0) {
        return Some(format!(
            "thermal capping for {:.1} ms of the measurement",
            ns as f64 / 1e6
        ));
    }
    let during = check.during.iter().flat_map(|d| d.reasons.iter());
    let slowdowns: Vec<&str> = [&check.before, &check.after]
        .iter()
        .flat_map(|s| s.reasons.iter())
        .chain(during)
        .map(String::as_str)
        .filter(|r| SLOWDOWNS.contains(r))
        .collect();
    if let Some(first) = slowdowns.first() {
        return Some(format!(
            "the driver reported {first} while measuring ({} °C before, {} °C after)",
            check.before.temperature_c, check.after.temperature_c
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Plays back readings in order.
    struct Script(Mutex<Vec<Result<ClockSample, String>>>);

    impl ClockProbe for Script {
        fn read(&self) -> Result<ClockSample, String> {
            self.0.lock().unwrap().remove(0)
        }
    }

    fn script(readings: Vec<Result<ClockSample, String>>) -> Arc<dyn ClockProbe> {
        Arc::new(Script(Mutex::new(readings)))
    }

    /// Before and after only, two retries, no pause, a fresh budget.
    fn policy(budget: &RetryBudget) -> CheckPolicy<'_> {
        CheckPolicy {
            default_sm_mhz: 1980,
            retries: 2,
            pause: Duration::ZERO,
            sample_period: None,
            budget,
        }
    }

    #[test]
    fn a_throttled_attempt_is_retried_then_a_clean_one_kept() {
        let script = script(vec![
            Ok(sample(1980, &[])),
            Ok(sample(1000, &[])), // throttled during the first attempt
            Ok(sample(1980, &[])),
            Ok(sample(1970, &[])),
        ]);
        let mut runs = 0;
        let budget = RetryBudget::new(4);
        let out = measure_checked::<u32, ()>(Some(&script), &policy(&budget), &mut |warm| {
            warm();
            runs += 1;
            Ok(runs)
        })
        .unwrap();
        assert_eq!(out.measurement, 2, "the second attempt is kept");
        assert!(out.throttled.is_none());
        assert_eq!(out.check.unwrap().after.sm_mhz, 1970);
        assert!(
            out.notes[0].contains("attempt 1 discarded"),
            "{:?}",
            out.notes
        );
    }

    #[test]
    fn throttled_every_time_is_recorded_as_throttled() {
        let slow = || Ok(sample(900, &[]));
        let script = script((0..6).map(|_| slow()).collect());
        let mut runs = 0;
        let budget = RetryBudget::new(4);
        let out = measure_checked::<u32, ()>(Some(&script), &policy(&budget), &mut |warm| {
            warm();
            runs += 1;
            Ok(runs)
        })
        .unwrap();
        assert_eq!(out.measurement, 3, "1 + 2 retries");
        assert!(out.throttled.unwrap().contains("900 MHz"));
        assert_eq!(out.notes.len(), 2);
    }

    #[test]
    fn without_a_probe_or_with_a_failing_one_nothing_is_retried() {
        let budget = RetryBudget::new(4);
        let out = measure_checked::<u32, ()>(None, &policy(&budget), &mut |warm| {
            warm();
            Ok(7)
        })
        .unwrap();
        assert_eq!(
            (out.measurement, out.check.is_none(), out.notes.len()),
            (7, true, 0)
        );
        let broken = script(vec![Err("NVML gone".into()), Ok(sample(1980, &[]))]);
        let out = measure_checked::<u32, ()>(Some(&broken), &policy(&budget), &mut |warm| {
            warm();
            Ok(7)
        })
        .unwrap();
        assert!(out.check.is_none() && out.throttled.is_none());
        assert!(out.notes[0].contains("NVML gone"));
        // A measurement error ends it.
        let r = measure_checked::<u32, &str>(None, &policy(&budget), &mut |_| Err("boom"));
        assert!(matches!(r, Err("boom")));
    }

    fn sample(sm_mhz: u32, reasons: &[&str]) -> ClockSample {
        ClockSample {
            sm_mhz,
            memory_mhz: 2619,
            temperature_c: 60,
            power_w: 500.0,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            violations_ns: BTreeMap::new(),
        }
    }

    #[test]
    fn clean_capped_and_slowed_measurements() {
        let check = |a, b| ClockCheck {
            before: a,
            after: b,
            during: None,
            window_ns: None,
        };
        // Full clocks under the normal power cap: clean.
        assert_eq!(
            throttle_reason(
                1980,
                &check(sample(1980, &[]), sample(1755, &["sw_power_cap"]))
            ),
            None
        );
        // Clock fell below 75% of the default.
        let why = throttle_reason(1980, &check(sample(1980, &[]), sample(1400, &[]))).unwrap();
        assert!(
            why.contains("1400 MHz") && why.contains("1980 MHz"),
            "{why}"
        );
        // A thermal slowdown counts even at a good clock.
        let why = throttle_reason(
            1980,
            &check(sample(1900, &[]), sample(1900, &["hw_thermal_slowdown"])),
        )
        .unwrap();
        assert!(why.contains("hw_thermal_slowdown"), "{why}");
        // An idle reading (between kernels, clocks parked) does not count against the clock.
        assert_eq!(
            throttle_reason(1980, &check(sample(345, &["gpu_idle"]), sample(1950, &[]))),
            None
        );
        // No default clock known: only the reasons count.
        assert_eq!(
            throttle_reason(0, &check(sample(100, &[]), sample(100, &[]))),
            None
        );
    }

    #[test]
    fn readings_during_the_samples_decide_when_the_ends_see_an_idle_gpu() {
        let idle = || sample(345, &["gpu_idle"]);
        let during = |low: usize, of: usize| {
            let readings: Vec<Result<ClockSample, String>> = (0..of)
                .map(|i| Ok(sample(if i < low { 1200 } else { 1950 }, &[])))
                .collect();
            ClockCheck {
                before: idle(),
                after: idle(),
                during: Some(summarize(&readings, 1980)),
                window_ns: Some(1_000_000_000),
            }
        };
        // The ends alone say nothing (idle); one low reading in 20 is a ramp, not throttling.
        assert_eq!(throttle_reason(1980, &during(1, 20)), None);
        let why = throttle_reason(1980, &during(5, 20)).unwrap();
        assert!(why.contains("5 of 20 readings"), "{why}");
    }

    #[test]
    fn violation_counters_mark_thermal_as_throttled_and_power_as_a_note() {
        let with = |thermal: u64, power: u64| {
            let mut s = sample(1900, &[]);
            s.violations_ns = [
                ("thermal".to_string(), thermal),
                ("power".to_string(), power),
            ]
            .into_iter()
            .collect();
            s
        };
        let check = ClockCheck {
            before: with(1_000, 0),
            after: with(1_000, 250_000_000),
            during: None,
            window_ns: Some(1_000_000_000),
        };
        assert_eq!(
            throttle_reason(1980, &check),
            None,
            "power capping alone is normal"
        );
        assert_eq!(power_capped_share(&check), Some(0.25));
        let hot = ClockCheck {
            after: with(3_001_000, 0),
            ..check.clone()
        };
        assert!(
            throttle_reason(1980, &hot)
                .unwrap()
                .contains("thermal capping for 3.0 ms")
        );
        // Counters NVML does not have: no share, no verdict from them.
        let bare = ClockCheck {
            before: sample(1900, &[]),
            after: sample(1900, &[]),
            during: None,
            window_ns: Some(1),
        };
        assert_eq!(
            (power_capped_share(&bare), throttle_reason(1980, &bare)),
            (None, None)
        );
    }

    #[test]
    fn the_process_budget_caps_throttle_pauses() {
        let budget = RetryBudget::new(1);
        let slow = || Ok(sample(900, &[]));
        let script = script((0..6).map(|_| slow()).collect());
        let mut runs = 0;
        let out = measure_checked::<u32, ()>(Some(&script), &policy(&budget), &mut |warm| {
            warm();
            runs += 1;
            Ok(runs)
        })
        .unwrap();
        assert_eq!(out.measurement, 2, "one retry, then the budget is spent");
        assert!(out.throttled.is_some());
        assert!(
            out.notes.iter().any(|n| n.contains("used up")),
            "{:?}",
            out.notes
        );
        assert!(!budget.take());
    }
}
