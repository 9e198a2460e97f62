//! Clocks around a measurement. A GPU that throttles (heat, power brake, a slowdown signal)
//! runs kernels slower for reasons that have nothing to do with the code, so every GPU result
//! records the clocks before and after it was measured, and a result taken below 75% of the
//! default SM clock, or while the driver reported a thermal or hardware slowdown, is marked
//! throttled — retried after a pause, and never compared as a regression.

use std::rc::Rc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
}

/// Readings just before and just after a benchmark's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockCheck {
    pub before: ClockSample,
    pub after: ClockSample,
}

/// Something that reads the device's clocks, held apart from the backend so it can be read
/// while a workload borrows the backend.
pub trait ClockProbe {
    /// `Err` says why this reading failed.
    fn read(&self) -> Result<ClockSample, String>;
}

/// What a backend offers for clock checks: nothing (a CPU), a reason (a GPU whose clocks
/// cannot be read, e.g. no NVML), or a probe.
pub type Clocks = Option<Result<Rc<dyn ClockProbe>, String>>;

/// Measurements of a throttled benchmark are retried this many times…
pub const THROTTLE_RETRIES: usize = 2;
/// …each after this pause, for the device to cool down or its clocks to recover.
pub const THROTTLE_PAUSE: Duration = Duration::from_secs(10);

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

/// Runs `measure`, reading the clocks when it reports the warm-up done (through the callback
/// it is given: an idle GPU parks its clocks, so a reading before the warm-up says nothing)
/// and again when it returns; a throttled attempt is repeated after `pause`, at most
/// `retries` times. Errors of `measure` end it at once.
pub fn measure_checked<M, E>(
    probe: Option<&dyn ClockProbe>,
    default_sm_mhz: u32,
    retries: usize,
    pause: Duration,
    measure: &mut MeasureFn<'_, M, E>,
) -> Result<Checked<M>, E> {
    let mut notes = Vec::new();
    let mut attempt = 0;
    loop {
        let mut before = None;
        let measurement = measure(&mut || before = probe.map(|p| p.read()))?;
        let after = probe.map(|p| p.read());
        let check = match (before, after) {
            (Some(Ok(before)), Some(Ok(after))) => Some(ClockCheck { before, after }),
            (Some(Err(e)), _) | (_, Some(Err(e))) => {
                notes.push(format!("clocks not checked: {e}"));
                None
            }
            _ => None,
        };
        let throttled = check
            .as_ref()
            .and_then(|c| throttle_reason(default_sm_mhz, c));
        match throttled {
            Some(why) if attempt < retries => {
                notes.push(format!(
                    "attempt {} discarded, throttled: {why}; retried after {} s",
                    attempt + 1,
                    pause.as_secs()
                ));
                attempt += 1;
                std::thread::sleep(pause);
            }
            throttled => {
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
    let slowdowns: Vec<&str> = [&check.before, &check.after]
        .iter()
        .flat_map(|s| s.reasons.iter())
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
    use std::cell::RefCell;

    /// Plays back readings in order.
    struct Script(RefCell<Vec<Result<ClockSample, String>>>);

    impl ClockProbe for Script {
        fn read(&self) -> Result<ClockSample, String> {
            self.0.borrow_mut().remove(0)
        }
    }

    #[test]
    fn a_throttled_attempt_is_retried_then_a_clean_one_kept() {
        let script = Script(RefCell::new(vec![
            Ok(sample(1980, &[])),
            Ok(sample(1000, &[])), // throttled during the first attempt
            Ok(sample(1980, &[])),
            Ok(sample(1970, &[])),
        ]));
        let mut runs = 0;
        let out = measure_checked::<u32, ()>(Some(&script), 1980, 2, Duration::ZERO, &mut |warm| {
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
        let script = Script(RefCell::new((0..6).map(|_| slow()).collect()));
        let mut runs = 0;
        let out = measure_checked::<u32, ()>(Some(&script), 1980, 2, Duration::ZERO, &mut |warm| {
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
        let out = measure_checked::<u32, ()>(None, 1980, 2, Duration::ZERO, &mut |warm| {
            warm();
            Ok(7)
        })
        .unwrap();
        assert_eq!(
            (out.measurement, out.check.is_none(), out.notes.len()),
            (7, true, 0)
        );
        let broken = Script(RefCell::new(vec![
            Err("NVML gone".into()),
            Ok(sample(1980, &[])),
        ]));
        let out = measure_checked::<u32, ()>(Some(&broken), 1980, 2, Duration::ZERO, &mut |warm| {
            warm();
            Ok(7)
        })
        .unwrap();
        assert!(out.check.is_none() && out.throttled.is_none());
        assert!(out.notes[0].contains("NVML gone"));
        // A measurement error ends it.
        let r = measure_checked::<u32, &str>(None, 0, 2, Duration::ZERO, &mut |_| Err("boom"));
        assert!(matches!(r, Err("boom")));
    }

    fn sample(sm_mhz: u32, reasons: &[&str]) -> ClockSample {
        ClockSample {
            sm_mhz,
            memory_mhz: 2619,
            temperature_c: 60,
            power_w: 500.0,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn clean_capped_and_slowed_measurements() {
        let check = |a, b| ClockCheck {
            before: a,
            after: b,
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
}
