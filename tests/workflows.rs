//! The workflows in ci/ are code that runs on self-hosted GPU runners: a fork's pull request
//! must never get there (docs/RELIABILITY.md, security model); the nightly must not race on
//! its results branch, must create that branch the first time, and gives write access only
//! to the job that pushes. Each workflow is parsed as YAML and its fields asserted.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

fn file(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ci").join(name)).unwrap()
}

fn workflow(name: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&file(name)).unwrap();
    assert_eq!(docs.len(), 1, "{name} is one YAML document");
    docs.remove(0)
}

/// The jobs of a workflow, by name.
fn jobs(w: &Yaml) -> Vec<(String, &Yaml)> {
    w["jobs"]
        .as_hash()
        .expect("a workflow has jobs")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v))
        .collect()
}

fn steps(job: &Yaml) -> &[Yaml] {
    job["steps"].as_vec().map(Vec::as_slice).unwrap_or_default()
}

/// Every `run:` script of a job, joined.
fn scripts(job: &Yaml) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn runs_on(job: &Yaml) -> Vec<String> {
    match &job["runs-on"] {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(v) => v
            .iter()
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_pull_request_gate_runs_only_for_same_repository_branches() {
    let text = file("pull-request.yml");
    assert!(
        !text.contains("pull_request_target"),
        "pull_request_target hands a fork's code secrets"
    );
    let w = workflow("pull-request.yml");
    assert!(!w["on"]["pull_request"].is_badvalue());
    let jobs = jobs(&w);
    assert!(!jobs.is_empty());
    for (name, job) in jobs {
        let guard = job["if"].as_str().unwrap_or_default();
        assert!(
            guard.contains("github.event.pull_request.head.repo.full_name == github.repository"),
            "job {name} of the PR gate has no same-repository guard"
        );
    }
}

#[test]
fn the_pull_request_gate_runs_when_anything_that_builds_orac_changes() {
    let w = workflow("pull-request.yml");
    let paths: Vec<&str> = w["on"]["pull_request"]["paths"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for needed in [
        "kernels/**",
        "src/**",
        "crates/**",
        "build.rs",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        assert!(paths.contains(&needed), "{needed} missing from {paths:?}");
    }
}

#[test]
fn the_nightly_runs_one_at_a_time() {
    let w = workflow("nightly.yml");
    let c = &w["concurrency"];
    assert!(
        c["group"].as_str().is_some_and(|g| !g.is_empty()),
        "a schedule and a dispatch would race on the results branch"
    );
    assert_eq!(
        c["cancel-in-progress"].as_bool(),
        Some(false),
        "a night half stored is lost: queue, never cancel"
    );
}

#[test]
fn only_the_nightly_job_that_pushes_may_write_contents() {
    let w = workflow("nightly.yml");
    assert_eq!(w["permissions"]["contents"].as_str(), Some("read"));
    assert!(w["permissions"]["issues"].is_badvalue());
    let mut writers = Vec::new();
    for (name, job) in jobs(&w) {
        let perms = &job["permissions"];
        assert!(
            perms.as_hash().is_some(),
            "job {name} states its permissions"
        );
        let pushes = scripts(job).contains("nightly-store.sh") || scripts(job).contains("git push");
        match perms["contents"].as_str() {
            Some("write") => {
                assert!(pushes, "job {name} may write but does not push");
                writers.push(name);
            }
            _ => assert!(!pushes, "job {name} pushes without contents: write"),
        }
    }
    assert_eq!(writers, ["store"]);
}

#[test]
fn the_nightly_creates_its_results_branch_when_missing() {
    let w = workflow("nightly.yml");
    let (_, store) = jobs(&w).into_iter().find(|(n, _)| n == "store").unwrap();
    // `actions/checkout` of a branch that does not exist fails: the store job checks out
    // the default branch and lets the script fetch `results`, or create it.
    for step in steps(store) {
        if step["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/checkout"))
        {
            assert!(step["with"]["ref"].is_badvalue(), "{step:?}");
        }
    }
    assert!(scripts(store).contains("ci/nightly-store.sh"));
    let script = file("nightly-store.sh");
    assert!(script.contains("git ls-remote --exit-code --heads origin"));
    assert!(script.contains("--orphan"));
}

#[test]
fn gpu_jobs_build_incrementally_and_hosted_jobs_use_the_cache() {
    for name in ["pull-request.yml", "nightly.yml"] {
        let w = workflow(name);
        for (job_name, job) in jobs(&w) {
            let script = scripts(job);
            if !script.contains("cargo build") {
                continue;
            }
            if runs_on(job).iter().any(|l| l == "self-hosted") {
                // A target directory that outlives the job's workspace, set before the build.
                let steps = steps(job);
                let set = steps
                    .iter()
                    .position(|s| {
                        s["run"].as_str().is_some_and(|r| {
                            r.contains("CARGO_TARGET_DIR=$RUNNER_TOOL_CACHE/")
                                && r.contains("$GITHUB_ENV")
                        })
                    })
                    .unwrap_or_else(|| panic!("{name} {job_name}: no persistent CARGO_TARGET_DIR"));
                let build = steps
                    .iter()
                    .position(|s| s["run"].as_str().is_some_and(|r| r.contains("cargo build")))
                    .unwrap();
                assert!(set < build, "{name} {job_name}");
                assert!(
                    !script.contains("target/release/orac"),
                    "{name} {job_name}: the binary is under $CARGO_TARGET_DIR"
                );
            } else {
                let cached = steps(job).iter().any(|s| {
                    s["uses"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("actions/cache@"))
                });
                assert!(
                    cached,
                    "{name} {job_name}: a hosted runner builds from the cache"
                );
            }
        }
    }
}

#[test]
fn the_nightly_keeps_one_issue_per_hardware_key() {
    let script = file("nightly-compare.sh");
    assert!(
        script.contains("regressions on $key"),
        "titled by hardware key"
    );
    assert!(script.contains("gh issue edit"), "the body is updated");
    assert!(!script.contains("gh issue comment"), "no comment a night");
    assert!(script.contains("cap-body.sh"));
    assert!(file("nightly-history.sh").contains("cap-body.sh"));
}

#[test]
fn the_kubernetes_indexed_job_runs_one_shard_per_gpu() {
    let job: serde_json::Value = serde_json::from_str(&file("k8s-indexed-job.json")).unwrap();
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
    let text = file("slurm-array.sh");
    assert!(text.contains("run --shard auto"));
    assert!(text.contains("merge --results-dir"));
    assert!(text.contains("#SBATCH --gres=gpu:1"));
}
