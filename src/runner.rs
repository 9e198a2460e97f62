//! Drives benchmarks through the pipeline: inputs → backend → verification → measurement →
//! statistics, producing one result per benchmark. A failure ends that benchmark only.

use crate::backend::Backend;
use crate::backend::clock_sampler::SAMPLE_PERIOD;
use crate::backend::clocks::{
    CheckPolicy, RUN_RETRY_BUDGET, THROTTLE_PAUSE, THROTTLE_RETRIES, measure_checked,
};
use crate::kernels::KernelSpec;
use crate::measure::{Settings, StopReason, measure_pair, measure_with};
use crate::regress::{AbPlan, PairedOutcome};
use crate::stats::Summary;
use crate::store::{BenchResult, Status};
use crate::suite::{Benchmark, generate_inputs, verify};

/// How long a contended benchmark waits before its one retry.
const CONTENTION_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Progress of a run, for whoever is watching.
pub enum Event<'a, R = BenchResult> {
    Started {
        index: usize,
        total: usize,
        bench: &'a Benchmark,
    },
    Finished {
        index: usize,
        total: usize,
        result: &'a R,
    },
}

/// Runs `benches` in order on `backend`, reporting progress to `on_event`.
pub fn run_all(
    backend: &mut dyn Backend,
    benches: &[Benchmark],
    settings: &Settings,
    seed: u64,
    on_event: &mut dyn FnMut(Event),
) -> Vec<BenchResult> {
    let total = benches.len();
    let mut results = Vec::with_capacity(total);
    for (index, bench) in benches.iter().enumerate() {
        on_event(Event::Started {
            index,
            total,
            bench,
        });
        let result = run_one(backend, bench, settings, seed);
        on_event(Event::Finished {
            index,
            total,
            result: &result,
        });
        results.push(result);
    }
    results
}

/// Why `bench` cannot run here, if it needs more memory than is available: its buffers
/// exist about four times over (host inputs, the kernel's aligned copies, the output and
/// the copy checked against the reference).
fn too_big_for_memory(bench: &Benchmark) -> Option<String> {
    let needed = bench.bytes().saturating_mul(4);
    let available = crate::backend::cpu::available_memory()?;
    (needed > available).then(|| {
        format!(
            "skipped: needs about {:.1} GiB of memory, {:.1} GiB available",
            needed as f64 / (1u64 << 30) as f64,
            available as f64 / (1u64 << 30) as f64
        )
    })
}

/// A result for `bench` with no verification or timing yet (status `error` until set).
pub fn unmeasured(bench: &Benchmark, kernel_source_hash: String) -> BenchResult {
    BenchResult {
        id: bench.id.clone(),
        family: bench.family(),
        kernel: bench.kernel.clone(),
        dtype: bench.dtype,
        params: bench.shape.params(),
        kernel_source_hash,
        flops: bench.flops(),
        bytes: bench.bytes(),
        status: Status::Error,
        error: None,
        verification: None,
        timing: None,
        samples: Vec::new(),
        runs_per_sample: 0,
        warmup_runs: 0,
        stop_reason: None,
        summary: None,
        flop_per_s: None,
        bytes_per_s: None,
        throttled: false,
        contended: false,
        reference: false,
        clocks: None,
        counters: None,
        hotspots: Vec::new(),
        warnings: Vec::new(),
    }
}

/// Marks `result` skipped, with the sizes, when `bench` needs more memory than there is.
fn skip_if_too_big(bench: &Benchmark, result: &mut BenchResult) -> bool {
    let Some(why) = too_big_for_memory(bench) else {
        return false;
    };
    result.status = Status::Skipped;
    result.error = Some(why);
    true
}

/// Binds `bench`'s kernel to `inputs` and checks its output against the reference,
/// recording the outcome in `result`: the workload, ready to time, only when the output is
/// right. A kernel that cannot run on this device (another architecture, too little device
/// memory) is `skipped`.
fn prepare_verified<'a>(
    backend: &'a mut dyn Backend,
    bench: &Benchmark,
    inputs: &'a crate::suite::Inputs,
    result: &mut BenchResult,
    out_dir: Option<&std::path::Path>,
) -> Option<Box<dyn crate::backend::Workload + 'a>> {
    let mut workload = match backend.prepare(bench, inputs) {
        Ok(w) => w,
        Err(e) => {
            if matches!(e, crate::error::Error::NotApplicable { .. }) {
                result.status = Status::Skipped;
            }
            result.error = Some(e.to_string());
            return None;
        }
    };
    let output = match workload.run_checked() {
        Ok(out) => out,
        Err(e) => {
            result.error = Some(e.to_string());
            return None;
        }
    };
    result.counters = workload.counters();
    result.hotspots = workload.hotspots();
    if let Some(dir) = out_dir
        && let Err(e) = crate::store::write_output(dir, &bench.id, &output)
    {
        result.error = Some(e.to_string());
        return None;
    }
    let verification = verify(bench, inputs, &output);
    let passed = verification.passed;
    result.verification = Some(verification);
    if !passed {
        result.status = Status::VerificationFailed;
        return None;
    }
    Some(workload)
}

/// [`unmeasured`] for `bench` as `backend` declares its kernel: the source hash, and whether
/// it is a vendor reference.
fn unmeasured_for(backend: &dyn Backend, bench: &Benchmark) -> BenchResult {
    let spec = KernelSpec::find(backend.kernels(), bench.family(), &bench.kernel);
    let mut result = unmeasured(
        bench,
        spec.map(|k| k.source_hash.clone()).unwrap_or_default(),
    );
    result.reference = spec.is_some_and(|k| k.vendor.is_some());
    result
}

/// `orac verify`'s work for one benchmark: the correctness check alone, no timing. Status
/// `ok` means the output matches the reference. With `out_dir`, the output is also written
/// there (`store::write_output`), whether or not it matches.
pub fn verify_one(
    backend: &mut dyn Backend,
    bench: &Benchmark,
    seed: u64,
    out_dir: Option<&std::path::Path>,
) -> BenchResult {
    let mut result = unmeasured_for(backend, bench);
    if skip_if_too_big(bench, &mut result) {
        return result;
    }
    let inputs = generate_inputs(bench, seed);
    if prepare_verified(backend, bench, &inputs, &mut result, out_dir).is_some() {
        result.status = Status::Ok;
    }
    result
}

/// Verifies, then (only if the output is right) measures one benchmark.
pub fn run_one(
    backend: &mut dyn Backend,
    bench: &Benchmark,
    settings: &Settings,
    seed: u64,
) -> BenchResult {
    let timing_method = backend.timing_method();
    let mut result = unmeasured_for(backend, bench);
    // Taken before the workload borrows the backend.
    let probe = match backend.clocks() {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(why)) => {
            result.warnings.push(format!("clocks not checked: {why}"));
            None
        }
    };
    let default_sm_mhz = backend
        .hardware()
        .gpu
        .as_ref()
        .map_or(0, |g| (g.sm_clock_khz / 1000) as u32);
    // Before the inputs exist: they alone could exhaust the host's memory.
    if skip_if_too_big(bench, &mut result) {
        return result;
    }
    let inputs = generate_inputs(bench, seed);
    let Some(mut workload) = prepare_verified(backend, bench, &inputs, &mut result, None) else {
        return result;
    };
    // A contended measurement is retried once after a pause, the contention being
    // another process's (a build, a second benchmark) and often over soon.
    let mut measure = |after_warmup: &mut dyn FnMut()| {
        let m = measure_with(&mut *workload, settings, after_warmup)?;
        if m.contended.is_none() {
            return Ok(m);
        }
        std::thread::sleep(CONTENTION_PAUSE);
        measure_with(&mut *workload, settings, after_warmup)
    };
    let policy = CheckPolicy {
        default_sm_mhz,
        retries: THROTTLE_RETRIES,
        pause: THROTTLE_PAUSE,
        sample_period: Some(SAMPLE_PERIOD),
        budget: &RUN_RETRY_BUDGET,
    };
    let checked = measure_checked(probe.as_ref(), &policy, &mut |after_warmup| {
        measure(after_warmup)
    });
    result.warnings.extend(workload.timing_notes());
    let mut m = match checked {
        Ok(c) => {
            result.clocks = c.check;
            result.warnings.extend(c.notes);
            if let Some(why) = c.throttled {
                result.throttled = true;
                result.warnings.push(format!("throttled: {why}"));
            }
            c.measurement
        }
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    if m.samples.iter().any(|s| !s.is_finite() || *s <= 0.0) {
        result.error = Some(format!(
            "the timer returned a non-finite or non-positive sample ({} samples)",
            m.samples.len()
        ));
        return result;
    }
    // What the timed launches wrote must be right too: verification before timing saw one
    // launch on fresh buffers, not the state many launches leave.
    match check_after_timing(&mut *workload, bench, &inputs) {
        Ok(None) => {}
        Ok(Some((copy, v))) => {
            result.error = Some(format!(
                "wrong output after timing (buffer copy {copy} of the timed batches): {}",
                v.summary()
            ));
            result.verification = Some(v);
            result.status = Status::VerificationFailed;
            return result;
        }
        Err(e) => {
            result.error = Some(format!("reading the output back after timing: {e}"));
            return result;
        }
    }
    if let Some(why) = m.contended.take() {
        result.contended = true;
        m.stop_reason = StopReason::Contended;
        result.warnings.push(format!("contended: {why}"));
    }
    let summary = Summary::from_samples(&m.samples);
    if let Some(s) = &summary {
        if s.median > 0.0 {
            if result.flops > 0 {
                result.flop_per_s = Some(result.flops as f64 / s.median);
            }
            result.bytes_per_s = Some(result.bytes as f64 / s.median);
        }
        if !matches!(m.stop_reason, StopReason::Converged | StopReason::Contended) {
            result.warnings.push(format!(
                "noise target not met: median ±{:.2}% after {} samples ({:?})",
                s.rel_ci * 100.0,
                s.n,
                m.stop_reason
            ));
        }
    }
    result.status = Status::Ok;
    result.timing = Some(format!(
        "{timing_method}; {} run(s) per sample",
        m.runs_per_sample
    ));
    result.summary = summary;
    result.samples = m.samples;
    result.runs_per_sample = m.runs_per_sample;
    result.warmup_runs = m.warmup_runs;
    result.stop_reason = Some(m.stop_reason);
    result
}

/// The first copy of the buffers whose output after timing fails verification, with that
/// check; `None` when every copy the backend can read back is right.
fn check_after_timing(
    workload: &mut dyn crate::backend::Workload,
    bench: &Benchmark,
    inputs: &crate::suite::Inputs,
) -> crate::error::Result<Option<(usize, crate::suite::Verification)>> {
    for (copy, output) in workload.timed_outputs()?.iter().enumerate() {
        let v = verify(bench, inputs, output);
        if !v.passed {
            return Ok(Some((copy, v)));
        }
    }
    Ok(None)
}

/// One benchmark of an A/B run: which sides have it.
pub struct AbCase {
    pub bench: Benchmark,
    pub in_base: bool,
    pub in_head: bool,
}

/// Checks one side's kernel: `Err` carries why it cannot be compared.
fn checked<'a>(
    backend: &'a mut dyn Backend,
    bench: &Benchmark,
    inputs: &'a crate::suite::Inputs,
) -> Result<Box<dyn crate::backend::Workload + 'a>, CheckFail> {
    let mut w = backend.prepare(bench, inputs).map_err(|e| match e {
        crate::error::Error::NotApplicable { reason, .. } => CheckFail::Skip(reason),
        e => CheckFail::Fail(e.to_string()),
    })?;
    let out = w
        .run_checked()
        .map_err(|e| CheckFail::Fail(e.to_string()))?;
    let v = verify(bench, inputs, &out);
    if v.passed {
        Ok(w)
    } else {
        Err(CheckFail::Fail(format!("verification {}", v.summary())))
    }
}

/// Why an A/B side could not be measured: it cannot run on this device (skipped, with the
/// reason) or it failed.
enum CheckFail {
    Skip(String),
    Fail(String),
}

/// One word or so on how an A/B case ended, for progress lines.
pub fn outcome_status(outcome: &PairedOutcome) -> String {
    match outcome {
        PairedOutcome::Measured {
            base,
            head,
            blocks,
            contended_blocks,
            ..
        } => {
            let n = blocks.iter().max().map_or(0, |b| b + 1);
            let mut s = format!("{} pairs in {n} blocks", base.len().min(head.len()));
            if *contended_blocks > 0 {
                s.push_str(&format!(" ({contended_blocks} contended, redone)"));
            }
            s
        }
        PairedOutcome::HeadFailed(_) => "HEAD FAILED".into(),
        PairedOutcome::Skipped(_) => "skipped".into(),
        PairedOutcome::BaseFailed(_) => "base failed".into(),
        PairedOutcome::New => "new".into(),
        PairedOutcome::Missing => "missing".into(),
    }
}

/// Where one block's buffers land. Each block allocates both sides' buffers afresh, but a
/// fresh allocation of the same size lands where the last one was freed, on the same
/// physical pages: placement luck (cache-set conflicts, TLB reach, DRAM banks) then repeats
/// in every block and looks like a difference between identical kernels (seen: A/A runs
/// of copy-st/64MiB at −13.7% with all blocks agreeing in sign, and the sign flipping
/// between runs). So every block redraws it: the sides take turns allocating first, and a
/// spacer of a random number of whole pages (4 KiB and 2 MiB, so buffers keep their page
/// and huge-page alignment) is taken and touched before them and held until the block
/// ends, which moves both sides onto other virtual addresses and other physical pages.
struct Placement {
    head_first: bool,
    _spacer: crate::backend::cpu::AlignedBuf<u8>,
}

impl Placement {
    fn draw(block: usize, rng: &mut crate::stats::rng::SplitMix64) -> Placement {
        const PAGE: usize = 4096;
        let bytes = rng.below(512) * PAGE + rng.below(4) * (2 << 20);
        let mut spacer = crate::backend::cpu::AlignedBuf::<u8>::zeroed(bytes);
        // Touch each page so that it takes a physical page now.
        for page in spacer.as_mut_slice().chunks_mut(PAGE) {
            page[0] = 1;
        }
        Placement {
            head_first: block % 2 == 1,
            _spacer: spacer,
        }
    }
}

/// Measures `bench` on both sides in blocks of ABBA pairs, a block at a time, until the
/// gate's rule decides it (at one of its looks), the blocks run out or the time budget
/// does: per-run seconds of each pair and the block of each, or why it could not.
fn measure_blocks(
    base: &mut dyn Backend,
    head: &mut dyn Backend,
    bench: &Benchmark,
    inputs: &crate::suite::Inputs,
    run: AbRun,
) -> PairedOutcome {
    match measure_blocks_inner(base, head, bench, inputs, run) {
        Ok(outcome) => outcome,
        Err(why) => PairedOutcome::HeadFailed(why),
    }
}

/// Settings for one block: short, since the blocks, not the pairs inside one, are the
/// replications that the verdict counts.
fn block_settings(settings: &Settings) -> Settings {
    Settings {
        min_samples: 5,
        max_time: settings.max_time / 8,
        hard_timeout: settings.hard_timeout / 8,
        min_time: settings.min_time / 16,
        warmup_time: settings.warmup_time / 4,
        ..*settings
    }
}

fn measure_blocks_inner(
    base: &mut dyn Backend,
    head: &mut dyn Backend,
    bench: &Benchmark,
    inputs: &crate::suite::Inputs,
    AbRun {
        settings,
        plan,
        seed,
    }: AbRun,
) -> Result<PairedOutcome, String> {
    let per_block = block_settings(settings);
    let rule = &plan.rule;
    let threshold = plan.threshold(&bench.id);
    let mut rng =
        crate::stats::rng::SplitMix64::new(crate::stats::rng::seed_from(&bench.id, seed ^ 0x9ac3));
    let started = std::time::Instant::now();
    let (mut b, mut h, mut blocks) = (Vec::new(), Vec::new(), Vec::new());
    let mut logs: Vec<f64> = Vec::new();
    let mut contended_blocks = 0;
    let mut stop = StopReason::SampleLimit;
    while logs.len() < rule.max_blocks() {
        // Contended blocks are redone, but not forever.
        if contended_blocks >= rule.max_blocks() {
            stop = StopReason::Contended;
            break;
        }
        let block = logs.len();
        let placement = Placement::draw(block + contended_blocks, &mut rng);
        let m = measure_block(base, head, bench, inputs, &per_block, placement.head_first)?;
        drop(placement);
        if m.contended {
            contended_blocks += 1;
        } else {
            let log = crate::regress::block_log_ratio(&m.base, &m.head).ok_or_else(|| {
                format!(
                    "block {block}: no finite head/base ratio (zero or non-finite times from the timer)"
                )
            })?;
            logs.push(log);
            blocks.extend(std::iter::repeat_n(block, m.base.len()));
            b.extend(m.base);
            h.extend(m.head);
        }
        let out_of_time = started.elapsed() >= plan.budget;
        if logs.len() >= 2 && (rule.is_look(logs.len()) || out_of_time) {
            let d = rule.decide(&logs, threshold, out_of_time);
            if d.decided {
                stop = StopReason::Converged;
                break;
            }
        }
        if out_of_time {
            stop = StopReason::TimeLimit;
            break;
        }
    }
    Ok(PairedOutcome::Measured {
        base: b,
        head: h,
        blocks,
        contended_blocks,
        stop_reason: Some(stop),
    })
}

/// One block's pairs: on the CPU both kernels share one set of buffers (`SharedPair`);
/// elsewhere each side has its own, `head_first` saying which allocates first.
fn measure_block(
    base: &mut dyn Backend,
    head: &mut dyn Backend,
    bench: &Benchmark,
    inputs: &crate::suite::Inputs,
    settings: &Settings,
    head_first: bool,
) -> Result<crate::measure::PairedMeasurement, String> {
    let failed = |e: crate::error::Error| format!("measurement error: {e}");
    if let (Some(cb), Some(ch)) = (base.as_cpu(), head.as_cpu())
        && let Some(pair) = crate::backend::cpu::SharedPair::new(cb, ch, bench, inputs)
            .map_err(|e| e.to_string())?
    {
        let (mut b, mut h) = pair.sides();
        return measure_pair(&mut b, &mut h, settings).map_err(failed);
    }
    let (mut wb, mut wh);
    if head_first {
        wh = head.prepare(bench, inputs).map_err(|e| e.to_string())?;
        wb = base.prepare(bench, inputs).map_err(|e| e.to_string())?;
    } else {
        wb = base.prepare(bench, inputs).map_err(|e| e.to_string())?;
        wh = head.prepare(bench, inputs).map_err(|e| e.to_string())?;
    }
    measure_pair(&mut *wb, &mut *wh, settings).map_err(failed)
}

/// How an A/B run measures: the profile's settings (each block gets a share), the gate's
/// plan (rule, thresholds, budget) and the input seed.
#[derive(Clone, Copy)]
pub struct AbRun<'a> {
    pub settings: &'a Settings,
    pub plan: &'a AbPlan,
    pub seed: u64,
}

/// Interleaves base and head kernels benchmark by benchmark (both verified first) and
/// returns what `regress::compare_paired` needs. `on_progress(index, total, id, status)`.
pub fn run_ab(
    base: &mut dyn Backend,
    head: &mut dyn Backend,
    cases: &[AbCase],
    run: AbRun,
    on_progress: &mut dyn FnMut(usize, usize, &str, &str),
) -> Vec<(String, crate::suite::Family, PairedOutcome)> {
    run_ab_with_phases(base, head, cases, run, on_progress, &mut |_, _| {})
}

/// Which kernels of an A/B case are running: if the process dies, this says whom to blame.
pub mod ab_phase {
    /// Verifying the base kernel alone.
    pub const BASE: &str = "base";
    /// Verifying the head kernel alone.
    pub const HEAD: &str = "head";
    /// Measuring both, interleaved.
    pub const BOTH: &str = "both";
}

/// [`run_ab`], announcing each case's phase (`ab_phase`) to `on_phase(id, phase)` first.
pub fn run_ab_with_phases(
    base: &mut dyn Backend,
    head: &mut dyn Backend,
    cases: &[AbCase],
    run: AbRun,
    on_progress: &mut dyn FnMut(usize, usize, &str, &str),
    on_phase: &mut dyn FnMut(&str, &str),
) -> Vec<(String, crate::suite::Family, PairedOutcome)> {
    let total = cases.len();
    let mut out = Vec::with_capacity(total);
    for (index, case) in cases.iter().enumerate() {
        let bench = &case.bench;
        let outcome = match (case.in_base, case.in_head) {
            (false, _) => PairedOutcome::New,
            (_, false) => PairedOutcome::Missing,
            (true, true) => {
                let inputs = generate_inputs(bench, run.seed);
                on_phase(&bench.id, ab_phase::BASE);
                let base_ok = checked(base, bench, &inputs).map(drop);
                on_phase(&bench.id, ab_phase::HEAD);
                let head_ok = checked(head, bench, &inputs).map(drop);
                // A kernel this device cannot run is skipped, not failed.
                let verified = match (base_ok, head_ok) {
                    (_, Err(CheckFail::Skip(why))) | (Err(CheckFail::Skip(why)), _) => {
                        Err(PairedOutcome::Skipped(why))
                    }
                    (_, Err(CheckFail::Fail(why))) => Err(PairedOutcome::HeadFailed(why)),
                    (Err(CheckFail::Fail(why)), Ok(())) => Err(PairedOutcome::BaseFailed(why)),
                    (Ok(()), Ok(())) => Ok(()),
                };
                match verified {
                    Err(failed) => failed,
                    Ok(()) => {
                        on_phase(&bench.id, ab_phase::BOTH);
                        measure_blocks(base, head, bench, &inputs, run)
                    }
                }
            }
        };
        on_progress(index, total, &bench.id, &outcome_status(&outcome));
        out.push((bench.id.clone(), bench.family(), outcome));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Workload;
    use crate::error::Error;
    use crate::kernels::{KernelTree, load_manifest};
    use crate::store::Hardware;
    use crate::suite::{Dtype, Inputs, Profile, Shape};

    /// A backend whose every `prepare` fails with the error it is given.
    struct Refusing {
        hardware: Hardware,
        kernels: Vec<KernelSpec>,
        error: fn() -> Error,
    }

    impl Backend for Refusing {
        fn name(&self) -> &'static str {
            "test"
        }
        fn hardware(&self) -> &Hardware {
            &self.hardware
        }
        fn kernels(&self) -> &[KernelSpec] {
            &self.kernels
        }
        fn prepare<'a>(
            &'a mut self,
            _bench: &Benchmark,
            _inputs: &'a Inputs,
        ) -> crate::error::Result<Box<dyn Workload + 'a>> {
            Err((self.error)())
        }
    }

    fn outcome(error: fn() -> Error) -> BenchResult {
        let mut backend = Refusing {
            hardware: Hardware::cpu("test".into(), 1, None, None),
            kernels: load_manifest(&KernelTree::Embedded, "cpu").unwrap(),
            error,
        };
        let bench = Benchmark::new("blocked", Dtype::F32, Shape::Gemm { m: 8, n: 8, k: 8 });
        run_one(
            &mut backend,
            &bench,
            &Settings::for_profile(Profile::Quick),
            1,
        )
    }

    #[test]
    fn a_benchmark_that_cannot_run_here_is_skipped_not_failed() {
        let skipped = outcome(|| Error::NotApplicable {
            kernel: "k".into(),
            reason: "skipped: written for sm_90a, this GPU is sm_80".into(),
        });
        assert_eq!(skipped.status, Status::Skipped);
        assert!(skipped.error.as_deref().unwrap().contains("sm_90a"));
        let failed = outcome(|| Error::KernelUnavailable {
            kernel: "k".into(),
            reason: "cannot load".into(),
        });
        assert_eq!(failed.status, Status::Error);
    }
}
