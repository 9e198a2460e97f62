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

/// Samples are judged in windows of at least this much wall time: the kernel brings the
/// CPU time of the process's *other* threads up to date only at scheduler ticks (1–4 ms)
/// and switches, so over one short sample an OpenMP kernel's CPU time reads low even when
/// nothing else runs. Over 50 ms a tick's error is a few percent.
pub const WINDOW_S: f64 = 0.05;

/// A window is starved when the process was preempted in it and its threads got less than
/// this share of the CPU time they would have used running unhindered.
pub const STARVED_SHARE: f64 = 0.85;

/// A measurement is contended when at least this share of its windows were starved.
pub const CONTENDED_WINDOWS: f64 = 0.2;

/// Consecutive samples summed into windows of at least `WINDOW_S` (a short tail joins the
/// window before it).
fn windows(samples: &[SampleUsage]) -> Vec<SampleUsage> {
    let mut out: Vec<SampleUsage> = Vec::new();
    let mut open: Option<SampleUsage> = None;
    for s in samples {
        let w = open.get_or_insert(SampleUsage {
            wall_s: 0.0,
            cpu_s: 0.0,
            involuntary: 0,
        });
        w.wall_s += s.wall_s;
        w.cpu_s += s.cpu_s;
        w.involuntary += s.involuntary;
        if w.wall_s >= WINDOW_S {
            out.extend(open.take());
        }
    }
    if let Some(tail) = open {
        match out.last_mut() {
            Some(last) if tail.wall_s < WINDOW_S / 2.0 => {
                last.wall_s += tail.wall_s;
                last.cpu_s += tail.cpu_s;
                last.involuntary += tail.involuntary;
            }
            _ => out.push(tail),
        }
    }
    out
}

/// Whether a measurement of a kernel running `threads` threads was contended, from its
/// samples' usage; `Some(why)` if so. Pure, so the rule is tested on scripted readings.
pub fn contended(samples: &[SampleUsage], threads: usize) -> Option<String> {
    if samples.len() < 2 || threads == 0 {
        return None;
    }
    let windows = windows(samples);
    let share = |w: &SampleUsage| w.cpu_s / (threads as f64 * w.wall_s);
    let starved = windows
        .iter()
        .filter(|w| w.wall_s > 0.0 && w.involuntary > 0 && share(w) < STARVED_SHARE)
        .count();
    (starved as f64 >= CONTENDED_WINDOWS * windows.len() as f64 && starved > 0).then(|| {
        let mut used: Vec<f64> = windows
            .iter()
            .filter(|w| w.wall_s > 0.0)
            .map(share)
            .collect();
        used.sort_by(f64::total_cmp);
        let median = used.get(used.len() / 2).copied().unwrap_or(0.0);
        format!(
            "{starved} of {} windows ({} samples) preempted with their {threads} thread(s) getting under {:.0}% of the CPU (median {:.0}%): another process shares these CPUs",
            windows.len(),
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
        // Unhindered: two threads busy the whole time, 1 ms samples (200 ms: 4 windows).
        let idle = vec![sample(1e-3, 2e-3, 0); 200];
        assert_eq!(contended(&idle, 2), None);
        // A preemption now and then, but the threads still got their CPU: a timer tick.
        let mut ticks = idle.clone();
        ticks[3] = sample(1e-3, 1.98e-3, 1);
        ticks[90] = sample(1e-3, 1.99e-3, 2);
        assert_eq!(contended(&ticks, 2), None);
        // The other thread's CPU time lands at ticks: per sample it reads 1 ms or 3 ms, but
        // every window adds up to two threads' worth. Not contention.
        let ticking: Vec<_> = (0..200)
            .map(|i| {
                sample(
                    1e-3,
                    if i % 2 == 0 { 1e-3 } else { 3e-3 },
                    u64::from(i % 7 == 0),
                )
            })
            .collect();
        assert_eq!(contended(&ticking, 2), None);
        // One of two threads waiting a quantum in every sample: 8 ms for 60 µs of work.
        let starved = vec![sample(8e-3, 8.1e-3, 1); 20];
        let why = contended(&starved, 2).expect("contended");
        assert!(
            why.contains("3 of 3 windows") && why.contains("51%"),
            "{why}"
        );
        // Short CPU time without any preemption is not contention.
        assert_eq!(contended(&vec![sample(1e-3, 0.5e-3, 0); 200], 1), None);
        // A burst inside one window does not starve the window.
        let mut burst = idle.clone();
        for s in &mut burst[..3] {
            *s = sample(2e-3, 2e-3, 1);
        }
        assert_eq!(contended(&burst, 2), None);
        // Contention through one whole window of five: 20% of the windows.
        for s in &mut burst[..25] {
            *s = sample(2e-3, 2e-3, 1);
        }
        assert!(contended(&burst, 2).is_some());
        // A measurement shorter than a window is one window.
        assert!(contended(&[sample(2e-3, 2e-3, 1); 5], 2).is_some());
        assert_eq!(contended(&[sample(2e-3, 4e-3, 1); 5], 2), None);
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
