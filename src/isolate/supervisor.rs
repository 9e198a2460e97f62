//! The supervisor side: start workers, follow their progress, and turn a crash, a kill or a
//! hang into a failed result for the benchmark that was running, then start a new worker
//! for what is left.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Job, Message, Outcome, RESTART_EXIT, interrupted};
use crate::error::{Error, Result};
use crate::runner::Event;
use crate::suite::Benchmark;

/// How benchmarks are spread over worker processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolation {
    /// One worker per family (memcpy, gemm, attention); a crash restarts the rest.
    Family,
    /// One worker per benchmark: the most isolated, the most process starts.
    Benchmark,
    /// Everything in the `orac run` process: a crash ends the run (journal kept).
    None,
}

/// How often the supervisor looks at the Ctrl-C flag while waiting.
const POLL: Duration = Duration::from_millis(100);

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL (out of memory?)",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// Why a worker ended, in words.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (_, Some(sig)) => format!("worker killed by {} ({sig})", signal_name(sig)),
        (Some(code), _) => format!("worker exited with status {code}"),
        _ => "worker ended".into(),
    }
}

enum Line {
    Text(String),
    Eof,
}

fn spawn(exe: &Path, job: &Job) -> Result<(Child, mpsc::Receiver<Line>)> {
    let mut child = Command::new(exe)
        .arg("worker")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot start a worker ({}): {e}", exe.display())))?;
    let json = serde_json::to_vec(job).expect("a job serialises");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // A worker that dies at once closes the pipe; that shows up as EOF below.
    let _ = stdin.write_all(&json);
    drop(stdin);
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(text) => {
                    if tx.send(Line::Text(text)).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send(Line::Eof);
    });
    Ok((child, rx))
}

fn stop(child: &mut Child) -> ExitStatus {
    let _ = child.kill();
    child
        .wait()
        .unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL))
}

/// How long a worker may take to exit once its output has ended.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// Waits for `child` to exit, killing it after `grace` (e.g. a hang while tearing down a
/// CUDA context).
fn wait_or_kill(child: &mut Child, grace: Duration) -> ExitStatus {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => return stop(child),
        }
    }
}

/// Groups of benchmark ids, one group per worker.
fn batches(benches: &[Benchmark], isolation: Isolation) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for b in benches {
        let same_family = out.last().and_then(|g| g.last()).is_some_and(|last| {
            benches.iter().find(|x| &x.id == last).map(|x| x.family()) == Some(b.family())
        });
        if isolation == Isolation::Family && same_family {
            out.last_mut().unwrap().push(b.id.clone());
        } else {
            out.push(vec![b.id.clone()]);
        }
    }
    out
}

/// Runs `benches` in workers of the current executable. `failed(bench, reason, phase)` builds
/// the outcome of a benchmark whose worker died (`phase`: the last one it announced); `on_event` sees every start and finish (with
/// indices offset by `done`, out of `total`). `R` is what a worker reports per benchmark:
/// a result for `orac run`, a pair's outcome for `orac ab`. Returns false when interrupted
/// by Ctrl-C.
#[allow(clippy::too_many_arguments)]
pub fn run_isolated<R: Outcome>(
    exe: &Path,
    job: &Job,
    benches: &[Benchmark],
    isolation: Isolation,
    timeout: Duration,
    failed: &dyn Fn(&Benchmark, String, Option<&str>) -> R,
    on_event: &mut dyn FnMut(Event<R>),
    (done, total): (usize, usize),
) -> Result<bool> {
    let by_id = |id: &str| benches.iter().find(|b| b.id == id).expect("planned id");
    let mut finished = done;
    for batch in batches(benches, isolation) {
        let mut queue: VecDeque<String> = batch.into();
        while !queue.is_empty() {
            let mut worker_job = job.clone();
            worker_job.ids = queue.iter().cloned().collect();
            let (mut child, rx) = spawn(exe, &worker_job)?;
            let mut current: Option<(String, Instant)> = None;
            let mut phase: Option<String> = None;
            let mut progressed = false;
            // Guards the stretches with no benchmark running too: start-up (driver and
            // context creation) and the gap between two benchmarks.
            let mut last_activity = Instant::now();
            let end_of_worker = loop {
                if interrupted() {
                    stop(&mut child);
                    return Ok(false);
                }
                let message = rx.recv_timeout(POLL);
                if !matches!(message, Err(mpsc::RecvTimeoutError::Timeout)) {
                    last_activity = Instant::now();
                }
                match message {
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        // Checked only when no message is waiting: a result that arrived
                        // just in time is never thrown away.
                        let since = current.as_ref().map_or(last_activity, |c| c.1);
                        if since.elapsed() <= timeout {
                            continue;
                        }
                        stop(&mut child);
                        let what = if current.is_some() {
                            "timed out"
                        } else {
                            "no progress"
                        };
                        break Some((
                            current.as_ref().map(|c| c.0.clone()),
                            format!(
                                "{what} after {:.0} s (worker killed); raise --timeout if it is just slow",
                                timeout.as_secs_f64()
                            ),
                        ));
                    }
                    Ok(Line::Eof) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let status = wait_or_kill(&mut child, EXIT_GRACE);
                        // A worker killed by Ctrl-C is an interruption, not a failure, even
                        // if the signal reached it before our handler ran.
                        if interrupted() || status.signal() == Some(libc::SIGINT) {
                            return Ok(false);
                        }
                        if current.is_none() && status.code() == Some(RESTART_EXIT) {
                            // The worker asked for a fresh process between benchmarks.
                            break None;
                        }
                        break Some((current.as_ref().map(|c| c.0.clone()), describe(status)));
                    }
                    Ok(Line::Text(text)) => match serde_json::from_str::<Message<R>>(&text) {
                        Ok(Message::Started { id }) => {
                            on_event(Event::Started {
                                index: finished,
                                total,
                                bench: by_id(&id),
                            });
                            current = Some((id, Instant::now()));
                            phase = None;
                        }
                        Ok(Message::Phase { id, phase: p }) => {
                            if current.as_ref().is_some_and(|c| c.0 == id) {
                                phase = Some(p);
                            }
                        }
                        Ok(Message::Finished { result }) => {
                            queue.retain(|id| id != result.id());
                            current = None;
                            progressed = true;
                            on_event(Event::Finished {
                                index: finished,
                                total,
                                result: &result,
                            });
                            finished += 1;
                            if queue.is_empty() {
                                wait_or_kill(&mut child, EXIT_GRACE);
                                break None;
                            }
                        }
                        Err(e) => {
                            stop(&mut child);
                            break Some((
                                current.as_ref().map(|c| c.0.clone()),
                                format!("worker protocol error: {e}"),
                            ));
                        }
                    },
                }
            };
            let Some((running, why)) = end_of_worker else {
                continue;
            };
            // The benchmark that was running takes the blame; if none was (the worker died
            // before starting one), the whole queue fails rather than respawning forever.
            let victims: Vec<String> = match running {
                Some(id) => vec![id],
                None if !progressed => queue.iter().cloned().collect(),
                None => vec![queue.front().cloned().expect("non-empty queue")],
            };
            for id in victims {
                queue.retain(|q| q != &id);
                let result = failed(by_id(&id), why.clone(), phase.as_deref());
                on_event(Event::Finished {
                    index: finished,
                    total,
                    result: &result,
                });
                finished += 1;
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Dtype, Shape};

    #[test]
    fn family_batches_group_consecutive_families() {
        let g = |m| Benchmark::new("k", Dtype::F32, Shape::Gemm { m, n: 1, k: 1 });
        let c = |bytes| Benchmark::new("k", Dtype::U8, Shape::Copy { bytes });
        let benches = [c(1), c(2), g(1), g(2), g(3)];
        let fam = batches(&benches, Isolation::Family);
        assert_eq!(fam.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(batches(&benches, Isolation::Benchmark).len(), 5);
    }

    #[test]
    fn worker_ends_are_described() {
        assert_eq!(
            describe(ExitStatus::from_raw(libc::SIGSEGV)),
            "worker killed by SIGSEGV (11)"
        );
        assert_eq!(
            describe(ExitStatus::from_raw(3 << 8)),
            "worker exited with status 3"
        );
    }
}
