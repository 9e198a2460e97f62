//! The worker side: run a job's benchmarks one by one and report each as it finishes.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::fd::FromRawFd;

use super::{AbJob, Job, Message, Outcome, PairResult};
use crate::error::{Error, Result};
use crate::kernels::KernelTree;
use crate::runner::{AbCase, AbRun, run_ab_with_phases, run_one, verify_one};
use crate::suite::{Filter, build_suite};

/// Keeps the protocol channel clean and the worker tied to its supervisor: the protocol
/// moves to a private copy of stdout, fd 1 is pointed at stderr (so a kernel's printf
/// cannot corrupt the protocol), and the worker dies with its parent.
fn detach_protocol() -> Result<File> {
    // SAFETY: plain fd juggling on this process's own descriptors; prctl only sets the
    // parent-death signal, signal only ignores SIGTTOU.
    unsafe {
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // The worker leads a background process group: with `stty tostop` its writes to a
        // terminal on stderr would stop it (and it would time out) unless SIGTTOU is ignored.
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        // Close-on-exec: compilers and python3 started by the worker must not inherit it.
        let proto = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if proto < 0 || libc::dup2(2, 1) < 0 {
            return Err(Error::Usage("worker: cannot set up its output".into()));
        }
        Ok(File::from_raw_fd(proto))
    }
}

/// `orac worker`: reads a [`Job`] from stdin, runs it, writes [`Message`] lines.
pub fn worker_main() -> Result<()> {
    let out = detach_protocol()?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Error::Usage(format!("worker: cannot read the job: {e}")))?;
    let job: Job =
        serde_json::from_str(&input).map_err(|e| Error::Usage(format!("worker: bad job: {e}")))?;
    let mut out = BufWriter::new(out);
    let mut send = |line: String| -> Result<()> {
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|e| Error::Usage(format!("worker: supervisor went away: {e}")))
    };
    match &job.ab {
        Some(ab) => ab_job(&job, ab, &mut send),
        None => run_job(&job, &mut send),
    }
}

fn message<R: Outcome>(m: &Message<R>) -> String {
    serde_json::to_string(m).expect("a message serialises")
}

/// `orac run`'s work: each benchmark verified and timed on one backend.
fn run_job(job: &Job, send: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    let tree = match &job.kernels_dir {
        Some(dir) => KernelTree::Dir(dir.clone()),
        None => KernelTree::Embedded,
    };
    let (mut backend, _) = crate::backend::open(job.backend, &tree)?;
    let suite = build_suite(backend.kernels(), job.profile, &Filter::default());
    for id in &job.ids {
        let bench = suite
            .iter()
            .find(|b| &b.id == id)
            .ok_or_else(|| Error::Usage(format!("worker: unknown benchmark {id}")))?;
        send(message::<crate::store::BenchResult>(&Message::Started {
            id: id.clone(),
        }))?;
        let result = if job.verify_only {
            verify_one(backend.as_mut(), bench, job.seed, job.out_dir.as_deref())
        } else {
            run_one(backend.as_mut(), bench, &job.settings, job.seed)
        };
        let failed = result.status != crate::store::Status::Ok;
        send(message(&Message::Finished {
            result: Box::new(result),
        }))?;
        if failed && let Err(e) = backend.check_health() {
            eprintln!("worker: {e}; restarting");
            std::process::exit(super::RESTART_EXIT);
        }
    }
    Ok(())
}

/// `orac ab`'s work: each benchmark measured on both revisions' kernels, interleaved.
fn ab_job(job: &Job, ab: &AbJob, send: &mut dyn FnMut(String) -> Result<()>) -> Result<()> {
    // The supervisor resolved the backend (never `auto`): both sides run on it.
    let side = |commit: &str| {
        crate::backend::open(
            job.backend,
            &KernelTree::Git {
                repo: ab.repo.clone(),
                commit: commit.to_string(),
            },
        )
        .map(|(b, _)| b)
    };
    let (mut base, mut head) = (side(&ab.base_commit)?, side(&ab.head_commit)?);
    let base_suite = build_suite(base.kernels(), job.profile, &Filter::default());
    let head_suite = build_suite(head.kernels(), job.profile, &Filter::default());
    for id in &job.ids {
        let in_base = base_suite.iter().find(|b| &b.id == id);
        let in_head = head_suite.iter().find(|b| &b.id == id);
        let bench = in_head
            .or(in_base)
            .ok_or_else(|| Error::Usage(format!("worker: unknown benchmark {id}")))?;
        send(message::<PairResult>(&Message::Started { id: id.clone() }))?;
        let case = AbCase {
            bench: bench.clone(),
            in_base: in_base.is_some(),
            in_head: in_head.is_some(),
        };
        let (id, family, outcome) = run_ab_with_phases(
            base.as_mut(),
            head.as_mut(),
            &[case],
            AbRun {
                settings: &job.settings,
                plan: &ab.plan,
                seed: job.seed,
            },
            &mut |_, _, _, _| {},
            &mut |id, phase| {
                // Best effort: a lost phase only makes the blame less precise.
                let _ = send(message::<PairResult>(&Message::Phase {
                    id: id.to_string(),
                    phase: phase.to_string(),
                }));
            },
        )
        .pop()
        .expect("one case in, one outcome out");
        send(message(&Message::Finished {
            result: Box::new(PairResult {
                id,
                family,
                outcome,
            }),
        }))?;
    }
    Ok(())
}
