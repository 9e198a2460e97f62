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

#[test]
fn the_kubernetes_indexed_job_runs_one_shard_per_gpu() {
    let job: serde_json::Value = serde_json::from_str(&workflow("k8s-indexed-job.json")).unwrap();
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(
        spec["completionMode"], "Indexed",
        "JOB_COMPLETION_INDEX is set only then"
    );
    let completions = spec["completions"].as_u64().unwrap();
    assert_eq!(spec["parallelism"].as_u64(), Some(completions));
    let container = &spec["template"]["spec"]["containers"][0];
    let command: Vec<&str> = container["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let shard = command.iter().position(|a| *a == "--shard").unwrap();
    assert_eq!(
        command[shard + 1],
        format!("auto/{completions}"),
        "the count matches the Job's"
    );
    assert_eq!(container["resources"]["limits"]["nvidia.com/gpu"], 1);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
}

#[test]
fn the_slurm_script_runs_shard_auto_and_merges() {
    let text = workflow("slurm-array.sh");
    assert!(text.contains("run --shard auto"));
    assert!(text.contains("merge --results-dir"));
    assert!(text.contains("#SBATCH --gres=gpu:1"));
}
