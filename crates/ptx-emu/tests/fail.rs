//! Every `tests/fail/*.ptx` faults (or fails to parse) with the expected diagnostic.
mod common;

#[test]
fn fail_files() {
    let n = common::run_dir("tests/fail");
    assert!(n >= 6, "only {n} fail files");
}
