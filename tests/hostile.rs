//! Hostile input: arbitrary bytes and strings fed to every parser a user can reach must
//! give errors, never panics (property tests, bounded so CI stays fast).

use std::path::Path;

use orac::regress::{SideContext, parse_fail_on, resolve_side};
use orac::store::{load_baseline, load_run};
use orac::suite::Filter;
use proptest::prelude::*;

/// A valid run record to mutate.
fn valid_run_json() -> String {
    let path = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("results"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a committed run in results/");
    std::fs::read_to_string(path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn run_and_baseline_readers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, &bytes).unwrap();
        let _ = load_run(&path);
        let _ = load_baseline(&path);
    }

    #[test]
    fn mutated_run_records_are_errors_not_panics(cut in 0usize..100_000, flip in 0usize..100_000, byte in any::<u8>()) {
        let mut text = valid_run_json().into_bytes();
        let flip = flip % text.len();
        text[flip] = byte;
        text.truncate(cut.max(1).min(text.len()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, &text).unwrap();
        if let Err(e) = load_run(&path) {
            prop_assert!(e.to_string().contains("x.json"), "error does not name the file: {e}");
        }
    }

    #[test]
    fn filters_and_verdict_lists_never_panic(s in "\\PC{0,40}") {
        let _ = Filter::new(Some(&s));
        let _ = parse_fail_on(&[s]);
    }

    #[test]
    fn side_specs_never_panic(s in "[a-zA-Z0-9~^@{}./:_-]{0,30}") {
        let dir = tempfile::tempdir().unwrap();
        let ctx = SideContext {
            results_dir: &dir.path().join("results"),
            baselines_dir: &dir.path().join("baselines"),
            repo_dir: dir.path(),
            hardware_hint: Some("cpu-x"),
        };
        let _ = resolve_side(&s, &ctx);
    }
}

#[test]
fn a_huge_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(orac::store::MAX_FILE_BYTES + 1).unwrap(); // sparse: no disk used
    let err = load_run(&path).unwrap_err().to_string();
    assert!(
        err.contains("huge.json") && err.contains("larger than"),
        "{err}"
    );
}
