//! `orac bisect`: the first commit on the first-parent line from --good to --bad whose
//! kernels make one benchmark slower. Each probe is an in-process A/B (as `orac ab`) of the
//! probed commit's kernels against --good's, loaded from git without a checkout.

use std::path::{Path, PathBuf};

use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::args::BisectArgs;
use super::compare::{AbWorkers, ab_isolated, side_info};
use crate::backend::{self, Backend, BackendChoice};
use crate::error::{Error, Result};
use crate::history::BranchLine;
use crate::history::bisect::{BisectResult, ProbeVerdict, bisect as search};
use crate::isolate::Isolation;
use crate::kernels::{KernelTree, resolve_revision};
use crate::measure::Settings;
use crate::regress::{AbPlan, CompareConfig, Entry, Verdict, compare_paired};
use crate::runner::{AbCase, AbRun, run_ab};
use crate::suite::{Benchmark, Filter, Profile, build_suite};

/// The first-parent commits after `good` up to and including `bad`, oldest first: the
/// same line `orac history` follows.
fn commits_between(repo: &Path, good: &str, bad: &str) -> Result<Vec<(String, String)>> {
    let line = BranchLine::read(repo, bad)?;
    let start = line.position(good).ok_or_else(|| {
        Error::Usage(format!(
            "--good {} is not on the first-parent history of --bad {}: nothing to bisect",
            &good[..7],
            &bad[..7]
        ))
    })?;
    Ok(line.commits[start + 1..]
        .iter()
        .map(|c| (c.id.clone(), c.subject.clone()))
        .collect())
}

#[derive(Tabled)]
struct ProbeRow {
    #[tabled(rename = "#")]
    order: usize,
    commit: String,
    subject: String,
    #[tabled(rename = "time vs good")]
    ratio: String,
    #[tabled(rename = "95% CI")]
    ci: String,
    result: String,
}

struct Prober<'a> {
    /// Probes in worker processes (a crashing probe commit is skipped, not fatal); `None`
    /// runs them in this process.
    workers: Option<AbWorkers>,
    repo: PathBuf,
    /// The backend every probe runs on (resolved from `--backend`).
    choice: BackendChoice,
    good: Box<dyn Backend>,
    good_commit: String,
    bench: Benchmark,
    profile: Profile,
    settings: Settings,
    seed: u64,
    config: CompareConfig,
    /// The gate's rule for the one benchmark; its blocks and budget grow while a probe is
    /// inconclusive, the budget never beyond `max_budget` (under the workers' timeout).
    plan: AbPlan,
    max_budget: std::time::Duration,
    rows: Vec<ProbeRow>,
    commits: &'a [(String, String)],
}

impl Prober<'_> {
    /// The A/B of `commit`, measured again with two, then four times the blocks and the
    /// budget while it is inconclusive. Each retry is a fresh test at the full level, so a
    /// probe's false-alarm chance is at most three times the gate's α (still ≈ 5·10⁻⁴ by
    /// default); the budget stays under the workers' timeout.
    fn measure_until_decided(&mut self, commit: &str) -> Result<Entry> {
        let plan = self.plan.clone();
        let mut entry = self.measure(commit);
        for factor in [2, 4] {
            match &entry {
                Ok(e) if e.verdict == Verdict::Ambiguous => {
                    let mut longer = plan.clone();
                    longer.rule.looks = plan.rule.looks.iter().map(|n| n * factor).collect();
                    longer.budget = (plan.budget * factor as u32).min(self.max_budget);
                    eprintln!(
                        "  inconclusive ({}): measuring again, up to {} blocks in {:.0} s",
                        e.note.as_deref().unwrap_or(""),
                        longer.rule.max_blocks(),
                        longer.budget.as_secs_f64()
                    );
                    self.plan = longer;
                    entry = self.measure(commit);
                    self.plan = plan.clone();
                }
                _ => break,
            }
        }
        entry
    }

    fn probe(&mut self, index: usize) -> ProbeVerdict {
        let (commit, subject) = &self.commits[index];
        eprintln!("probing {} {subject}", &commit[..7]);
        let commit = commit.clone();
        let (verdict, entry, note) = match self.measure_until_decided(&commit) {
            Ok(entry) => {
                // Only what the gate would call a regression is bad; what stays
                // inconclusive after measuring longer cannot be placed on either side.
                let v = match entry.verdict {
                    Verdict::Slower => ProbeVerdict::Bad,
                    Verdict::Failed | Verdict::Ambiguous | Verdict::Contended => ProbeVerdict::Skip,
                    _ => ProbeVerdict::Good,
                };
                let note = match entry.verdict {
                    Verdict::Failed | Verdict::Ambiguous | Verdict::Contended => {
                        format!(
                            "skipped ({}): {}",
                            entry.verdict.name(),
                            entry.note.clone().unwrap_or_default()
                        )
                    }
                    v => format!(
                        "{} ({})",
                        if matches!(v, Verdict::Slower) {
                            "bad"
                        } else {
                            "good"
                        },
                        v.name()
                    ),
                };
                (v, Some(entry), note)
            }
            Err(e) => (ProbeVerdict::Skip, None, format!("skipped: {e}")),
        };
        let pct = |r: f64| format!("{:+.1}%", 100.0 * (r - 1.0));
        let commit = &commit;
        self.rows.push(ProbeRow {
            order: self.rows.len() + 1,
            commit: commit[..7].to_string(),
            subject: subject.chars().take(40).collect(),
            ratio: entry.as_ref().and_then(|e| e.ratio).map_or("-".into(), pct),
            ci: entry
                .as_ref()
                .and_then(|e| Some(format!("{} .. {}", pct(e.ci_low?), pct(e.ci_high?))))
                .unwrap_or_else(|| "-".into()),
            result: first_line(&note),
        });
        verdict
    }

    /// The A/B of `commit`'s kernels against the good ones; `Err` when they cannot run.
    fn measure(&mut self, commit: &str) -> Result<Entry> {
        let (mut head, _) = backend::open(
            self.choice,
            &KernelTree::Git {
                repo: self.repo.clone(),
                commit: commit.to_string(),
            },
        )?;
        let in_head = build_suite(head.kernels(), self.profile, &Filter::new(None)?)
            .iter()
            .any(|b| b.id == self.bench.id);
        if !in_head {
            return Err(Error::Usage(format!(
                "{} is not in this commit's suite",
                self.bench.id
            )));
        }
        let case = AbCase {
            bench: self.bench.clone(),
            in_base: true,
            in_head: true,
        };
        if let Some(workers) = &self.workers {
            drop(head);
            let plan = AbWorkers {
                gate: self.plan.clone(),
                ..workers.clone()
            };
            let outcomes = ab_isolated(
                &plan,
                &self.repo,
                (&self.good_commit, commit),
                &[case],
                self.settings,
            )?;
            return self.entry(commit, outcomes);
        }
        let outcomes = run_ab(
            self.good.as_mut(),
            head.as_mut(),
            &[case],
            AbRun {
                settings: &self.settings,
                plan: &self.plan,
                seed: self.seed,
            },
            &mut |_, _, _, _| {},
        );
        self.entry(commit, outcomes)
    }

    fn entry(
        &self,
        commit: &str,
        outcomes: Vec<(String, crate::suite::Family, crate::regress::PairedOutcome)>,
    ) -> Result<Entry> {
        let key = self.good.hardware().key.clone();
        let c = compare_paired(
            side_info("good", &self.good_commit, &key, None),
            side_info("probe", commit, &key, None),
            outcomes,
            &self.config,
        )?;
        c.entries
            .into_iter()
            .next()
            .ok_or_else(|| Error::Usage("the A/B returned nothing".into()))
    }
}

/// The first line of a message, with the first compiler error line when there is one.
fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let mut line = lines.next().unwrap_or("").to_string();
    if let Some(err) = lines.find(|l| l.contains("error")) {
        line = format!("{line} {}", err.trim());
    }
    line.chars().take(120).collect()
}

/// The benchmark `--filter` names: the one whose id it is, else the only one its regular
/// expression matches; otherwise why not (for the message).
fn the_one(suite: Vec<Benchmark>, filter: &str) -> std::result::Result<Benchmark, String> {
    if let Some(i) = suite.iter().position(|b| b.id == filter) {
        return Ok(suite.into_iter().nth(i).expect("found above"));
    }
    let re = Filter::new(Some(filter)).map_err(|e| e.to_string())?;
    let mut matching: Vec<Benchmark> = suite.into_iter().filter(|b| re.matches(&b.id)).collect();
    match matching.len() {
        0 => Err("no benchmark matches".into()),
        1 => Ok(matching.remove(0)),
        n => {
            let shown: Vec<&str> = matching.iter().take(3).map(|b| b.id.as_str()).collect();
            Err(format!(
                "matches {n} benchmarks ({}{}), but bisect follows one: give its exact id",
                shown.join(", "),
                if n > 3 { ", …" } else { "" }
            ))
        }
    }
}

pub fn bisect(args: BisectArgs) -> Result<()> {
    backend::refuse_untimed(args.backend, "bisect")?;
    let dir = match &args.repo {
        Some(d) => d.clone(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let (repo, good_commit) = resolve_revision(&dir, &args.good)?;
    let (_, bad_commit) = resolve_revision(&dir, &args.bad)?;
    if good_commit == bad_commit {
        return Err(Error::Usage("--good and --bad are the same commit".into()));
    }
    let commits = commits_between(&repo, &good_commit, &bad_commit)?;
    let mut config = match &args.config {
        Some(path) => CompareConfig::load(path)?,
        None if Path::new("orac.toml").is_file() => CompareConfig::load(Path::new("orac.toml"))?,
        None => CompareConfig::default(),
    };
    if let Some(t) = args.min_threshold {
        if !(t.is_finite() && (0.0..=10.0).contains(&t)) {
            return Err(Error::Usage(format!(
                "--min-threshold {t}: must be between 0 and 10"
            )));
        }
        config.defaults.min_threshold = t;
    }
    let mut settings = Settings::for_profile(args.profile);
    if let Some(secs) = args.max_time {
        settings = settings.with_max_time(super::run::seconds("--max-time", secs)?);
    }
    let (good, notes) = backend::open(
        args.backend,
        &KernelTree::Git {
            repo: repo.clone(),
            commit: good_commit.clone(),
        },
    )?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let choice = backend::resolved(good.as_ref());
    let bench = the_one(
        build_suite(good.kernels(), args.profile, &Filter::new(None)?),
        &args.filter,
    )
    .map_err(|why| {
        Error::Usage(format!(
            "--filter {}: {why} in --good {}'s suite (profile {}; see `orac list`)",
            args.filter,
            args.good,
            args.profile.name()
        ))
    })?;
    eprintln!(
        "bisecting {} over {} commits ({} .. {}]",
        bench.id,
        commits.len(),
        &good_commit[..7],
        &bad_commit[..7]
    );
    let plan = AbPlan::new(
        &config,
        [bench.id.as_str()],
        settings.max_time * super::compare::BUDGET_PER_MAX_TIME,
    );
    let timeout = super::run::seconds("--timeout", args.timeout)?;
    let workers = match args.isolation {
        Isolation::None => None,
        isolation => Some(AbWorkers {
            backend: choice,
            profile: args.profile,
            seed: args.seed,
            timeout: super::run::seconds("--timeout", args.timeout)?,
            isolation,
            progress: false,
            gate: plan.clone(),
        }),
    };
    let bench_id = bench.id.clone();
    let mut prober = Prober {
        workers,
        repo,
        choice,
        good,
        good_commit: good_commit.clone(),
        bench,
        profile: args.profile,
        settings,
        seed: args.seed,
        config,
        plan,
        max_budget: timeout.mul_f64(0.8),
        rows: Vec::new(),
        commits: &commits,
    };
    // The bad end first: if it is not slower there is nothing to find.
    let bad_index = commits.len() - 1;
    let at_bad = prober.probe(bad_index);
    let table = |rows: &[ProbeRow]| {
        let mut t = Table::new(rows);
        t.with(Style::rounded());
        t.to_string()
    };
    match at_bad {
        ProbeVerdict::Bad => {}
        ProbeVerdict::Skip => {
            println!("{}", table(&prober.rows));
            return Err(Error::Usage(format!(
                "--bad {} could not be tested on {} (see the row above): pick a bad commit whose kernels compile and verify",
                args.bad, bench_id
            )));
        }
        ProbeVerdict::Good => {
            println!("{}", table(&prober.rows));
            return Err(Error::Usage(format!(
                "--bad {} is not measurably slower than --good {} on {} (see the row above): nothing to bisect",
                args.bad, args.good, bench_id
            )));
        }
    }
    let result = search(commits.len(), &mut |i| prober.probe(i));
    println!("{}", table(&prober.rows));
    match result {
        BisectResult::Found(i) => {
            let (id, subject) = &commits[i];
            println!("first bad commit: {id} {subject}");
        }
        BisectResult::Among(range) => {
            println!("the first bad commit is one of these (the others could not be tested):");
            for i in range {
                println!("  {} {}", commits[i].0, commits[i].1);
            }
        }
    }
    Ok(())
}
