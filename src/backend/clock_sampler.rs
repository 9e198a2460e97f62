//! Reading the clocks *while* the samples run. A reading taken after a synchronise sees an
//! idle GPU whose clocks are parked, so the before/after pair alone mostly says nothing
//! about the clock the kernels ran at: a thread reads the device every few tens of
//! milliseconds during the samples, and the readings are summarised for the throttle rule.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::clocks::{ClockProbe, ClockSample};

/// How often the sampling thread reads the device. NVML reads take ~0.1–1 ms on the host
/// and none of the GPU's time.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(25);

/// Reads `probe` every `period` on a thread of its own until stopped.
pub struct ClockSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Result<ClockSample, String>>>,
}

impl ClockSampler {
    pub fn start(probe: Arc<dyn ClockProbe>, period: Duration) -> ClockSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut readings = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                readings.push(probe.read());
                std::thread::park_timeout(period);
            }
            readings
        });
        ClockSampler { stop, thread }
    }

    /// Stops the thread and returns its readings, oldest first.
    pub fn stop(self) -> Vec<Result<ClockSample, String>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.thread().unpark();
        self.thread
            .join()
            .unwrap_or_else(|_| vec![Err("the clock sampling thread panicked".into())])
    }
}

/// The readings taken during the samples, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuringSamples {
    /// Readings that worked.
    pub readings: usize,
    /// Of those, readings of a busy GPU (the driver did not call it idle): only these say
    /// what clock the kernels ran at.
    pub busy: usize,
    /// Lowest and median SM clock over the busy readings (0 when none).
    pub sm_mhz_min: u32,
    pub sm_mhz_median: u32,
    /// Busy readings below `MIN_CLOCK_SHARE` of the default SM clock.
    pub below_share: usize,
    /// Every throttle reason the driver gave in any reading.
    pub reasons: Vec<String>,
    pub max_temperature_c: u32,
    pub max_power_w: f64,
    /// Readings that failed (their first error is in the result's notes).
    pub failed: usize,
}

/// Summarises `readings` against the default SM clock `default_sm_mhz` (0: unknown).
pub fn summarize(readings: &[Result<ClockSample, String>], default_sm_mhz: u32) -> DuringSamples {
    let ok: Vec<&ClockSample> = readings.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mut busy: Vec<u32> = ok
        .iter()
        .filter(|s| !s.reasons.iter().any(|r| r == "gpu_idle"))
        .map(|s| s.sm_mhz)
        .collect();
    busy.sort_unstable();
    let floor = super::clocks::MIN_CLOCK_SHARE * f64::from(default_sm_mhz);
    let reasons: BTreeSet<String> = ok.iter().flat_map(|s| s.reasons.iter().cloned()).collect();
    DuringSamples {
        readings: ok.len(),
        busy: busy.len(),
        sm_mhz_min: busy.first().copied().unwrap_or(0),
        sm_mhz_median: busy.get(busy.len() / 2).copied().unwrap_or(0),
        below_share: if default_sm_mhz == 0 {
            0
        } else {
            busy.iter().filter(|&&m| f64::from(m) < floor).count()
        },
        reasons: reasons.into_iter().collect(),
        max_temperature_c: ok.iter().map(|s| s.temperature_c).max().unwrap_or(0),
        max_power_w: ok.iter().map(|s| s.power_w).fold(0.0, f64::max),
        failed: readings.len() - ok.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    fn sample(sm_mhz: u32, reasons: &[&str]) -> ClockSample {
        ClockSample {
            sm_mhz,
            memory_mhz: 2619,
            temperature_c: 60,
            power_w: 500.0,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            violations_ns: Default::default(),
        }
    }

    #[test]
    fn busy_readings_alone_describe_the_clock() {
        let readings = vec![
            Ok(sample(345, &["gpu_idle"])),
            Ok(sample(1980, &[])),
            Ok(sample(1400, &["sw_power_cap"])),
            Ok(sample(1000, &["hw_slowdown"])),
            Err("NVML hiccup".into()),
        ];
        let d = summarize(&readings, 1980);
        assert_eq!((d.readings, d.busy, d.failed), (4, 3, 1));
        assert_eq!((d.sm_mhz_min, d.sm_mhz_median), (1000, 1400));
        // 75% of 1980 is 1485: 1400 and 1000 are below it.
        assert_eq!(d.below_share, 2);
        assert!(d.reasons.contains(&"hw_slowdown".to_string()));
        assert_eq!(
            summarize(&readings, 0).below_share,
            0,
            "no default: no clock rule"
        );
    }

    /// Counts its reads; each returns the same reading.
    struct Counting(AtomicUsize, Mutex<ClockSample>);

    impl ClockProbe for Counting {
        fn read(&self) -> Result<ClockSample, String> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(self.1.lock().unwrap().clone())
        }
    }

    #[test]
    fn the_sampler_reads_until_stopped_and_returns_every_reading() {
        let probe = Arc::new(Counting(AtomicUsize::new(0), Mutex::new(sample(1900, &[]))));
        let sampler = ClockSampler::start(probe.clone(), Duration::from_millis(1));
        while probe.0.load(Ordering::Relaxed) < 3 {
            std::thread::yield_now();
        }
        let readings = sampler.stop();
        let reads = probe.0.load(Ordering::Relaxed);
        assert_eq!(readings.len(), reads, "every read is returned");
        assert!(readings.len() >= 3);
        // Stopped means stopped: no read after `stop` returned.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(probe.0.load(Ordering::Relaxed), reads);
    }
}
