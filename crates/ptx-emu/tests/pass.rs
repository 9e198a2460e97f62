//! Every `tests/pass/*.ptx` runs and leaves the expected memory (see tests/common).
mod common;

#[test]
fn pass_files() {
    let n = common::run_dir("tests/pass");
    assert!(n >= 10, "only {n} pass files");
}
