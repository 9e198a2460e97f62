//! The scripts the CI workflows call, run locally with `gh` stubbed by a recorder.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// A `gh` that records its command line and answers the comment lookup with `existing`.
fn stub_gh(dir: &Path, existing: &str) {
    let script = format!(
        "#!/usr/bin/env bash\necho \"gh $*\" >> \"$GH_LOG\"\ncase \"$*\" in *--paginate*) [ -n \"{existing}\" ] && echo {existing};; esac\nexit 0\n"
    );
    let path = dir.join("gh");
    std::fs::write(&path, script).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
}

fn post(existing: &str, body: &str) -> (std::process::Output, String) {
    let tmp = tempfile::tempdir().unwrap();
    stub_gh(tmp.path(), existing);
    let file = tmp.path().join("comment.md");
    std::fs::write(&file, body).unwrap();
    let log = tmp.path().join("gh.log");
    let out = Command::new(repo().join("ci/post-comment.sh"))
        .args(["octo/orac", "42", file.to_str().unwrap()])
        .env("GH_LOG", &log)
        .env(
            "PATH",
            format!(
                "{}:{}",
                tmp.path().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .output()
        .unwrap();
    (out, std::fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn the_comment_is_posted_once_then_updated_in_place() {
    let body = "<!-- orac:compare -->\n### orac: 1 slower\n";
    let (out, log) = post("", body);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        log.contains("gh api --method POST repos/octo/orac/issues/42/comments -F body=@"),
        "{log}"
    );

    let (out, log) = post("987", body);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        log.contains("gh api --method PATCH repos/octo/orac/issues/comments/987 -F body=@"),
        "{log}"
    );
    assert!(
        !log.contains("POST"),
        "an existing comment is edited, never duplicated: {log}"
    );
}

#[test]
fn a_comment_without_the_marker_is_refused() {
    let (out, log) = post("", "### no marker\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not start with"));
    assert!(log.is_empty(), "nothing was sent: {log}");
}

#[test]
fn the_pull_request_rehearsal_flags_the_slower_kernel() {
    let out = Command::new(repo().join("ci/rehearse.sh"))
        .arg(env!("CARGO_BIN_EXE_orac"))
        .env(
            "ORAC_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the gate fails on slower:\n{text}\n{}",
        stderr(&out)
    );
    assert!(text.contains("<!-- orac:compare -->"), "{text}");
    assert!(text.contains("gemm/naive/f32/m128n128k128"), "{text}");
    assert!(text.contains("**slower**"), "{text}");
    assert!(
        text.contains("gh api --method POST repos/example/orac/issues/1/comments"),
        "{text}"
    );
}
