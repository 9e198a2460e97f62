//! Fuzzing the readers of untrusted files: run records, journals and kernel manifests,
//! mutated from a corpus of the committed `results/` files and `kernels/` manifests. No
//! panic, no hang, and memory bounded (a counting allocator measures each parse). Fixed
//! seeds, so a CI failure reproduces; 1000 cases per reader, a few seconds in all.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use orac::kernels::{KernelTree, load_manifest as load};
use orac::store::{Journal, load_run};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

/// Counts this thread's live heap bytes and their peak (tests run on several threads).
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let _ = LIVE.try_with(|l| {
                l.set(l.get() + layout.size());
                let _ = PEAK.try_with(|p| p.set(p.get().max(l.get())));
            });
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        let _ = LIVE.try_with(|l| l.set(l.get().saturating_sub(layout.size())));
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns the peak of heap bytes it added on this thread.
fn peak_during(f: impl FnOnce()) -> usize {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    f();
    PEAK.with(Cell::get) - base
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_runs() -> Vec<Vec<u8>> {
    let runs = orac::store::find_runs(&repo().join("results")).unwrap();
    assert!(!runs.is_empty(), "the corpus needs the committed results/");
    runs.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// A journal built from a committed run: its header, then one line per result.
fn corpus_journal(run: &[u8]) -> Vec<u8> {
    let mut record: serde_json::Value = serde_json::from_slice(run).unwrap();
    let benches = record["benchmarks"].take();
    record["benchmarks"] = serde_json::json!([]);
    let header = serde_json::json!({
        "journal_version": orac::store::JOURNAL_VERSION,
        "record": record,
        "planned": benches.as_array().unwrap().iter().map(|b| b["id"].clone()).collect::<Vec<_>>(),
        "seed": 0,
        "kernels_dir": null,
    });
    let mut text = serde_json::to_string(&header).unwrap() + "\n";
    for b in benches.as_array().unwrap() {
        text += &(serde_json::to_string(b).unwrap() + "\n");
    }
    text.into_bytes()
}

fn corpus_manifests() -> Vec<(String, Vec<u8>)> {
    ["cpu", "cuda"]
        .iter()
        .map(|d| {
            let path = repo().join("kernels").join(d).join("manifest.toml");
            (d.to_string(), std::fs::read(path).unwrap())
        })
        .collect()
}

/// A mutation of `base`: bytes flipped, a span cut out or duplicated, the end truncated.
fn mutate(base: &[u8], ops: &[(u8, usize, usize, u8)]) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(op, a, b, byte) in ops {
        if v.is_empty() {
            v.push(byte);
            continue;
        }
        let (a, b) = (a % v.len(), b % v.len());
        let (lo, hi) = (a.min(b), a.max(b));
        match op % 5 {
            0 => v[a] = byte,
            1 => {
                v.drain(lo..hi);
            }
            2 => {
                let span: Vec<u8> = v[lo..hi.min(lo + 4096)].to_vec();
                v.splice(hi..hi, span);
            }
            3 => v.truncate(a.max(1)),
            _ => v.insert(a, byte),
        }
    }
    v
}

fn ops() -> impl Strategy<Value = Vec<(u8, usize, usize, u8)>> {
    proptest::collection::vec(
        (any::<u8>(), any::<usize>(), any::<usize>(), any::<u8>()),
        1..6,
    )
}

fn runner(seed: u64, cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

/// What any parse may use: a generous multiple of its input, never the input's claims.
fn budget(input: usize) -> usize {
    64 * input + (4 << 20)
}

fn check_bounded(what: &str, input: usize, peak: usize) -> Result<(), TestCaseError> {
    prop_assert!(
        peak <= budget(input),
        "{what}: {peak} bytes at peak for {input} bytes of input"
    );
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_run_reader_survives_mutated_records() {
    let corpus = corpus_runs();
    let dir = tempfile::tempdir().unwrap();
    runner(0x0ac1, 1000)
        .run(&(0..corpus.len(), ops()), |(i, ops)| {
            let bytes = mutate(&corpus[i], &ops);
            let path = write(dir.path(), "x.json", &bytes);
            let mut named = true;
            let peak = peak_during(|| {
                if let Err(e) = load_run(&path) {
                    named = e.to_string().contains("x.json");
                }
            });
            prop_assert!(named, "an error that does not name the file");
            check_bounded("load_run", bytes.len(), peak)
        })
        .unwrap();
}

#[test]
fn the_journal_reader_survives_mutated_journals() {
    let corpus: Vec<Vec<u8>> = corpus_runs().iter().map(|r| corpus_journal(r)).collect();
    // The unmutated journal resumes with every result.
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "j.journal", &corpus[0]);
    let resumed = Journal::resume(&path).unwrap();
    assert!(!resumed.results.is_empty() && resumed.warnings.is_empty());
    drop(resumed);
    runner(0x0ac2, 1000)
        .run(&(0..corpus.len(), ops()), |(i, ops)| {
            let bytes = mutate(&corpus[i], &ops);
            let path = write(dir.path(), "j.journal", &bytes);
            let peak = peak_during(|| {
                let _ = Journal::resume(&path);
            });
            check_bounded("Journal::resume", bytes.len(), peak)
        })
        .unwrap();
}

#[test]
fn the_manifest_parser_survives_mutated_manifests() {
    let corpus = corpus_manifests();
    let dir = tempfile::tempdir().unwrap();
    let tree = KernelTree::Dir(dir.path().to_path_buf());
    runner(0x0ac3, 1000)
        .run(&(0..corpus.len(), ops()), |(i, ops)| {
            let (backend, base) = &corpus[i];
            let bytes = mutate(base, &ops);
            std::fs::create_dir_all(dir.path().join(backend)).unwrap();
            write(&dir.path().join(backend), "manifest.toml", &bytes);
            let peak = peak_during(|| {
                let _ = load(&tree, backend);
            });
            check_bounded("manifest", bytes.len(), peak)
        })
        .unwrap();
}

#[test]
fn the_counting_allocator_counts() {
    let peak = peak_during(|| {
        let v = vec![0u8; 1 << 20];
        std::hint::black_box(&v);
    });
    assert!(peak >= 1 << 20, "{peak}");
}
