//! Measurement settings per profile.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::suite::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Warm-up lasts at least this many runs…
    pub warmup_runs: u64,
    /// …and at least this long (module loads, page faults and clock ramp-up stay out).
    pub warmup_time: Duration,
    /// Runs shorter than this are timed in batches so timer overhead stays negligible.
    pub min_sample_time: Duration,
    pub min_samples: usize,
    pub max_samples: usize,
    /// Sampling lasts at least this long…
    pub min_time: Duration,
    /// …and stops here, once `min_samples` exist, even if the noise target was not met
    /// (the result says so)…
    pub max_time: Duration,
    /// …and stops here whatever the sample count (a very slow kernel). Zero in the first v1
    /// files, written before this limit existed.
    #[serde(default)]
    pub hard_timeout: Duration,
    /// Stop once the 95% CI of the median is within ± this fraction of the median.
    pub target_rel_ci: f64,
}

impl Settings {
    /// The settings with sampling capped at `max_time` (`--max-time`): shorter minimums and
    /// warm-up to match, and a hard timeout at ten times the cap.
    pub fn with_max_time(mut self, max_time: Duration) -> Self {
        self.max_time = max_time;
        self.min_time = self.min_time.min(max_time);
        self.warmup_time = self.warmup_time.min(max_time);
        self.hard_timeout = max_time * 10;
        self
    }

    pub fn for_profile(profile: Profile) -> Self {
        match profile {
            // The emulator does not time; a CPU run of the emu shapes is a quick one.
            Profile::Quick | Profile::Emu => Settings {
                warmup_runs: 3,
                warmup_time: Duration::from_millis(100),
                min_sample_time: Duration::from_micros(500),
                min_samples: 10,
                max_samples: 10_000,
                min_time: Duration::from_millis(100),
                max_time: Duration::from_secs(1),
                hard_timeout: Duration::from_secs(10),
                target_rel_ci: 0.005,
            },
            Profile::Full => Settings {
                warmup_runs: 3,
                warmup_time: Duration::from_millis(100),
                min_sample_time: Duration::from_micros(500),
                min_samples: 10,
                max_samples: 100_000,
                min_time: Duration::from_millis(500),
                max_time: Duration::from_secs(10),
                hard_timeout: Duration::from_secs(100),
                target_rel_ci: 0.005,
            },
        }
    }
}
