//! Is another process taking the CPUs a kernel runs on? Under contention an OpenMP kernel's
//! thread waits a scheduler quantum for its partner in every sample, and the samples come
//! out stable and wrong (seen: a 62.6 µs GEMM stored at 7.995 ms, `converged`, CI ±0.1%).
//! Timing cannot tell; the process's own accounting can: per sample, the CPU time its
//! threads got against the wall time they needed, and the involuntary context switches
//! (the kernel preempting it for someone else), both from getrusage.

/// Whether contention is acted on: `ORAC_CONTENTION=ignore` turns the check off (for a
/// machine known to be shared, where a noisy result beats none, and for tests that run many
/// benchmarks at once).
pub fn check_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("ORAC_CONTENTION").map_or(true, |v| v != "ignore"))
}

/// What one sample cost the process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleUsage {
    pub wall_s: f64,
    /// User + system CPU seconds of all the process's threads.
    pub cpu_s: f64,
    /// Involuntary context switches during the sample.
    pub involuntary: u64,
}

/// A sample is starved when the process was preempted during it and its threads got less
/// than this share of the CPU time they would have used running unhindered.
pub const STARVED_SHARE: f64 = 0.85;

/// A measurement is contended when at least this share of its samples were starved.
pub const CONTENDED_SAMPLES: f64 = 0.2;

/// Whether a measurement of a kernel running `threads` threads was contended, from its
/// samples' usage; `Some(why)` if so. Pure, so the rule is tested on scripted readings.
pub fn contended(samples: &[SampleUsage], threads: usize) -> Option<String> {
    if samples.len() < 2 || threads == 0 {
        return None;
    }
    let starved = samples
        .iter()
        .filter(|s| s.involuntary > 0 && s.cpu_s < STARVED_SHARE * threads as f64 * s.wall_s)
        .count();
    let share = starved as f64 / samples.len() as f64;
    (share >= CONTENDED_SAMPLES).then(|| {
        let mut used: Vec<f64> = samples
            .iter()
            .filter(|s| s.wall_s > 0.0)
            .map(|s| s.cpu_s / (threads as f64 * s.wall_s))
            .collect();
        used.sort_by(f64::total_cmp);
        let median = used.get(used.len() / 2).copied().unwrap_or(0.0);
        format!(
            "{starved} of {} samples preempted with their {threads} thread(s) getting under {:.0}% of the CPU (median {:.0}%): another process shares these CPUs",
            samples.len(),
            STARVED_SHARE * 100.0,
            median * 100.0
        )
    })
}

/// The process's CPU seconds and involuntary context switches so far.
#[cfg(unix)]
pub fn usage_now() -> Option<(f64, u64)> {
    usage_of(libc::RUSAGE_SELF)
}

/// [`usage_now`] for `who` (`RUSAGE_SELF`, or `RUSAGE_THREAD` where the process runs other
/// work too, as a test binary does).
#[cfg(unix)]
fn usage_of(who: libc::c_int) -> Option<(f64, u64)> {
    // SAFETY: getrusage fills the struct it is given; zeroed is a valid rusage.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut u) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Some((secs(u.ru_utime) + secs(u.ru_stime), u.ru_nivcsw as u64))
}

#[cfg(not(unix))]
pub fn usage_now() -> Option<(f64, u64)> {
    None
}

/// Runs `f` and returns its result with what it cost the process.
pub fn with_usage<T>(f: impl FnOnce() -> T) -> (T, Option<SampleUsage>) {
    measured(usage_now, f)
}

fn measured<T>(
    read: impl Fn() -> Option<(f64, u64)>,
    f: impl FnOnce() -> T,
) -> (T, Option<SampleUsage>) {
    let before = read();
    let start = std::time::Instant::now();
    let out = f();
    let wall_s = start.elapsed().as_secs_f64();
    let usage = match (before, read()) {
        (Some((c0, i0)), Some((c1, i1))) => Some(SampleUsage {
            wall_s,
            cpu_s: (c1 - c0).max(0.0),
            involuntary: i1.saturating_sub(i0),
        }),
        _ => None,
    };
    (out, usage)
}

/// Threads an OpenMP kernel runs: `OMP_NUM_THREADS` (its first number) or every CPU this
/// process may use, as libgomp decides.
pub fn openmp_threads() -> usize {
    std::env::var("OMP_NUM_THREADS")
        .ok()
        .and_then(|v| v.split(',').next()?.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(wall_s: f64, cpu_s: f64, involuntary: u64) -> SampleUsage {
        SampleUsage {
            wall_s,
            cpu_s,
            involuntary,
        }
    }

    #[test]
    fn the_rule_on_scripted_readings() {
        // Unhindered: two threads busy the whole sample.
        let idle = vec![sample(1e-3, 2e-3, 0); 20];
        assert_eq!(contended(&idle, 2), None);
        // A preemption now and then, but the threads still got their CPU: a timer tick.
        let mut ticks = idle.clone();
        ticks[3] = sample(1e-3, 1.98e-3, 1);
        ticks[9] = sample(1e-3, 1.99e-3, 2);
        assert_eq!(contended(&ticks, 2), None);
        // One of two threads waiting a quantum in every sample: 8 ms for 60 µs of work.
        let starved = vec![sample(8e-3, 8.1e-3, 1); 20];
        let why = contended(&starved, 2).expect("contended");
        assert!(why.contains("20 of 20") && why.contains("51%"), "{why}");
        // Short CPU time without any preemption is not contention (e.g. page faults
        // served by the kernel count as system time anyway).
        assert_eq!(contended(&vec![sample(1e-3, 0.5e-3, 0); 20], 1), None);
        // Below the share of starved samples: a burst in 3 of 20.
        let mut burst = idle.clone();
        for s in &mut burst[..3] {
            *s = sample(2e-3, 2e-3, 1);
        }
        assert_eq!(contended(&burst, 2), None);
        for s in &mut burst[..4] {
            *s = sample(2e-3, 2e-3, 1);
        }
        assert!(contended(&burst, 2).is_some());
    }

    /// Pins the calling thread (pid 0) or process `pid` to CPU 0.
    #[cfg(target_os = "linux")]
    fn pin_to_cpu0(pid: libc::pid_t) {
        // SAFETY: a zeroed cpu_set_t is empty; CPU_SET and sched_setaffinity only read it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            assert_eq!(
                libc::sched_setaffinity(pid, size_of::<libc::cpu_set_t>(), &set),
                0,
                "sched_setaffinity"
            );
        }
    }

    /// A real contender: another process spinning on the CPU this thread is pinned to.
    /// Each sample of a single-threaded loop then gets about half the CPU it needs, and
    /// the rule must say so. (Nothing here asserts a duration: the rule compares the
    /// process's own CPU time with its wall time.)
    #[test]
    #[cfg(target_os = "linux")]
    fn a_process_spinning_on_the_same_cpu_is_detected() {
        let mut spinner = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        pin_to_cpu0(spinner.id() as libc::pid_t);
        pin_to_cpu0(0);
        // This thread's own usage: other tests run in this process meanwhile.
        let samples: Vec<SampleUsage> = (0..40)
            .filter_map(|_| {
                measured(
                    || usage_of(libc::RUSAGE_THREAD),
                    || {
                        // About a scheduler slice of work, so the spinner gets its turns.
                        std::hint::black_box((0..3_000_000u64).fold(0u64, |a, i| a ^ (i * 31)))
                    },
                )
                .1
            })
            .collect();
        let _ = spinner.kill();
        let _ = spinner.wait();
        let why = contended(&samples, 1);
        assert!(why.is_some(), "not detected: {samples:?}");
    }

    #[test]
    fn usage_is_read_on_this_platform() {
        let (sum, usage) = with_usage(|| (0..200_000u64).map(|i| i ^ (i >> 3)).sum::<u64>());
        assert!(sum > 0);
        let u = usage.expect("getrusage works on unix");
        assert!(u.wall_s > 0.0 && u.cpu_s >= 0.0);
        assert!(openmp_threads() >= 1);
    }
}
