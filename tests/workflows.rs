//! The workflows in ci/ are code that runs on self-hosted GPU runners: a fork's pull request
//! must never get there (docs/RELIABILITY.md, security model).

use std::path::Path;

fn workflow(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ci").join(name)).unwrap()
}

/// The jobs of a workflow: (name, the lines of its block).
fn jobs(text: &str) -> Vec<(String, Vec<String>)> {
    let mut jobs: Vec<(String, Vec<String>)> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("jobs:") {
            inside = true;
            continue;
        }
        if !inside || line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            break;
        }
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            jobs.push((line.trim().trim_end_matches(':').to_string(), Vec::new()));
        } else if let Some((_, body)) = jobs.last_mut() {
            body.push(line.to_string());
        }
    }
    jobs
}

#[test]
fn the_pull_request_gate_runs_only_for_same_repository_branches() {
    let text = workflow("pull-request.yml");
    assert!(
        !text.contains("pull_request_target"),
        "pull_request_target hands a fork's code secrets"
    );
    let jobs = jobs(&text);
    assert!(!jobs.is_empty());
    for (name, body) in jobs {
        let guarded = body.iter().any(|l| {
            l.trim_start().starts_with("if:")
                && l.contains("github.event.pull_request.head.repo.full_name == github.repository")
        });
        assert!(
            guarded,
            "job {name} of the PR gate has no same-repository guard"
        );
    }
}
