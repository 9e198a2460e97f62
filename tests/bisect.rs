//! `orac bisect` on a temporary repository of ten commits: one of them makes the naive GEMM
//! ~20% slower, and an earlier one does not compile (it is skipped and reported).

mod common;

use common::*;

const BENCH: &str = "gemm/naive/f32/m128n128k128";

/// Commits c0..c9 (tagged): c4 breaks the naive GEMM's source, c5 repairs it, c6 makes it
/// recompute a fifth of its rows. The others touch only a README.
fn repo() -> (tempfile::TempDir, Vec<String>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_kernels(dir);
    git(dir, &["init", "-q"]);
    let kernel = dir.join("kernels/cpu/gemm_naive.c");
    let original = std::fs::read_to_string(&kernel).unwrap();
    let slower = naive_gemm_doing_more_work(&original, 5);
    let mut ids = Vec::new();
    for i in 0..10 {
        std::fs::write(dir.join("README"), format!("commit {i}\n")).unwrap();
        match i {
            4 => {
                std::fs::write(&kernel, format!("{original}\n#error broken on purpose\n")).unwrap()
            }
            5 => std::fs::write(&kernel, &original).unwrap(),
            6 => std::fs::write(&kernel, &slower).unwrap(),
            _ => {}
        }
        git(dir, &["add", "."]);
        let msg = match i {
            4 => "c4 breaks the build".to_string(),
            6 => "c6 naive gemm does 20% more work".to_string(),
            _ => format!("c{i}"),
        };
        git(dir, &["commit", "-q", "-m", &msg]);
        git(dir, &["tag", &format!("c{i}")]);
        ids.push(git(dir, &["rev-parse", "HEAD"]));
    }
    (tmp, ids)
}

#[test]
fn names_the_commit_that_made_the_kernel_slower() {
    let (tmp, ids) = repo();
    // A regex that matches one benchmark names it as well as its id.
    let one = format!("^{BENCH}$");
    let out = orac(
        tmp.path(),
        &[
            "bisect",
            "--good",
            "c0",
            "--bad",
            "c9",
            "--filter",
            &one,
            "--max-time",
            "0.1",
        ],
    );
    let text = stdout(&out);
    eprintln!("{}{text}", stderr(&out)); // shown with --nocapture: what a user sees
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    assert!(
        text.contains(&format!("first bad commit: {} c6 naive gemm", ids[6])),
        "{text}"
    );
    // The broken commit was probed, skipped and said so.
    let broken = text
        .lines()
        .find(|l| l.contains(&ids[4][..7]))
        .expect("c4 was probed");
    assert!(broken.contains("skipped"), "{broken}");
    // The evidence: the bad end is ~20% slower.
    let bad_row = text.lines().find(|l| l.contains(&ids[9][..7])).unwrap();
    assert!(
        bad_row.contains("bad (slower)") && bad_row.contains("+"),
        "{bad_row}"
    );
}

#[test]
fn refuses_what_cannot_be_bisected() {
    let (tmp, _) = repo();
    let cases: [(&[&str], &str); 4] = [
        (&["--good", "c0", "--bad", "c3"], "nothing to bisect"),
        (
            &["--good", "c5", "--bad", "c2"],
            "not on the first-parent history",
        ),
        (&["--good", "c0", "--bad", "nope"], "unknown git revision"),
        (&["--good", "c0", "--bad", "c0"], "same commit"),
    ];
    for (extra, message) in cases {
        let mut args = vec!["bisect", "--filter", BENCH, "--max-time", "0.05"];
        args.extend_from_slice(extra);
        let out = orac(tmp.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(message),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
    let out = orac(
        tmp.path(),
        &[
            "bisect",
            "--good",
            "c0",
            "--bad",
            "c9",
            "--filter",
            "gemm/none",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--filter gemm/none: no benchmark matches"),
        "{}",
        stderr(&out)
    );
    // A regex that selects several is refused, with some of them named.
    let out = orac(
        tmp.path(),
        &[
            "bisect", "--good", "c0", "--bad", "c9", "--filter", "^gemm/",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("but bisect follows one: give its exact id"),
        "{}",
        stderr(&out)
    );
}

/// A probed commit whose kernel crashes kills only its worker: it is skipped, and the answer
/// is the range it hides.
#[test]
fn a_probe_that_crashes_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_kernels(dir);
    git(dir, &["init", "-q"]);
    let kernel = dir.join("kernels/cpu/gemm_naive.c");
    let original = std::fs::read_to_string(&kernel).unwrap();
    let crashing = naive_gemm_crashing(&original);
    let slower = naive_gemm_doing_more_work(&original, 5);
    let mut ids = Vec::new();
    for (i, source) in [&original, &crashing, &slower].into_iter().enumerate() {
        std::fs::write(&kernel, source).unwrap();
        git(dir, &["add", "."]);
        git(dir, &["commit", "-q", "-m", &format!("c{i}")]);
        git(dir, &["tag", &format!("c{i}")]);
        ids.push(git(dir, &["rev-parse", "HEAD"]));
    }
    let out = orac(
        dir,
        &[
            "bisect",
            "--good",
            "c0",
            "--bad",
            "c2",
            "--filter",
            BENCH,
            "--max-time",
            "0.1",
        ],
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    let crashed = text
        .lines()
        .find(|l| l.contains(&ids[1][..7]))
        .expect("c1 was probed");
    assert!(
        crashed.contains("skipped") && crashed.contains("SIGSEGV"),
        "{crashed}"
    );
    assert!(
        text.contains("the first bad commit is one of these"),
        "{text}"
    );
}
