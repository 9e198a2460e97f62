//! The supervisor side: start workers, follow their progress, and turn a crash, a kill or a
//! hang into a failed result for the benchmark that was running, then start a new worker
//! for what is left.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
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
    /// Everything in this orac process: a crash ends the command (a run keeps its
    /// journal for `orac run --resume`).
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
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// Why a worker ended, in words.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        // Our own kills are described where they happen (timeouts): one that reaches here
        // came from outside, and who sent it cannot be known from the status.
        (_, Some(libc::SIGKILL)) => format!(
            "worker killed by SIGKILL ({}) from outside orac (the OOM killer or another process)",
            libc::SIGKILL
        ),
        (_, Some(sig)) => format!("worker killed by {} ({sig})", signal_name(sig)),
        (Some(code), _) => format!("worker exited with status {code}"),
        _ => "worker ended".into(),
    }
}

enum Line {
    Text(String),
    Eof,
}

/// A worker process, the leader of a process group of its own, so that whatever its
/// kernels start (a `fork` that keeps the protocol pipe open) is killed with it. Dropping
/// it kills the group.
struct Worker {
    child: Child,
    /// Set once the worker is reaped; after that its group id may be reused and is never
    /// signalled again.
    status: Option<ExitStatus>,
    /// The status is from our own SIGKILL.
    killed: bool,
}

impl Worker {
    /// Whether the worker has exited, without reaping it: while it is a zombie its pid,
    /// and so its group id, cannot be reused, so killing the group stays safe.
    fn has_exited(&self) -> bool {
        if self.status.is_some() {
            return true;
        }
        // SAFETY: waitid with WNOWAIT only inspects our own child; siginfo_t is plain data.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let rc = libc::waitid(
                libc::P_PID,
                self.child.id(),
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            // si_pid stays 0 while the child runs; an error (ECHILD) means it is gone.
            rc != 0 || info.si_pid() != 0
        }
    }

    /// Kills the worker's whole group (the worker too, if still running) and reaps it.
    fn finish(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let pgid = self.child.id() as libc::pid_t;
        self.killed = !self.has_exited();
        super::interrupt::set_worker_group(0);
        // SAFETY: the worker is not reaped yet, so -pgid still names its group.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let status = self
            .child
            .wait()
            .unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL));
        self.status = Some(status);
        status
    }

    /// Waits up to `grace` for the worker to exit (e.g. a hang while tearing down a CUDA
    /// context), then kills its group either way.
    fn wait_or_kill(&mut self, grace: Duration) -> ExitStatus {
        let deadline = Instant::now() + grace;
        while !self.has_exited() && Instant::now() < deadline && !interrupted() {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.finish()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.finish();
    }
}

fn spawn(exe: &Path, job: &Job) -> Result<(Worker, mpsc::Receiver<Line>)> {
    let mut child = Command::new(exe)
        .arg("worker")
        // Its own group: killing it reaches the kernels' children. It no longer gets the
        // terminal's Ctrl-C; the supervisor kills it on interrupt instead.
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Usage(format!("cannot start a worker ({}): {e}", exe.display())))?;
    super::interrupt::set_worker_group(child.id() as libc::pid_t);
    let json = serde_json::to_vec(job).expect("a job serialises");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let worker = Worker {
        child,
        status: None,
        killed: false,
    };
    // A worker that dies at once closes the pipe; that shows up as EOF below.
    let _ = stdin.write_all(&json);
    drop(stdin);
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
    Ok((worker, rx))
}

/// How long a worker may take to exit once its output has ended.
const EXIT_GRACE: Duration = Duration::from_secs(10);

/// How long to keep reading a dead worker's pipe for lines it wrote before dying. Its group
/// is killed by then, so the end of the pipe comes at once unless a process escaped the
/// group (`setsid`) with the pipe open; that one is not waited for.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

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
            if interrupted() {
                return Ok(false);
            }
            let mut worker_job = job.clone();
            worker_job.ids = queue.iter().cloned().collect();
            let (mut worker, rx) = spawn(exe, &worker_job)?;
            let mut current: Option<(String, Instant)> = None;
            let mut phase: Option<String> = None;
            let mut progressed = false;
            // Guards the stretches with no benchmark running too: start-up (driver and
            // context creation) and the gap between two benchmarks.
            let mut last_activity = Instant::now();
            // When the worker was seen dead while its pipe was still open.
            let mut exited_at: Option<Instant> = None;
            let end_of_worker = loop {
                if interrupted() {
                    worker.finish();
                    return Ok(false);
                }
                let message = rx.recv_timeout(POLL);
                let silent = matches!(message, Err(mpsc::RecvTimeoutError::Timeout));
                if !silent {
                    last_activity = Instant::now();
                }
                if silent && exited_at.is_none() && worker.has_exited() {
                    // Dead, but a process it started may hold its pipe open: the exit is
                    // what counts. Killing the group ends the pipe; the lines written
                    // before the death are still read below.
                    worker.finish();
                    exited_at = Some(Instant::now());
                    continue;
                }
                let pipe_ended = matches!(
                    message,
                    Ok(Line::Eof) | Err(mpsc::RecvTimeoutError::Disconnected)
                ) || (silent
                    && exited_at.is_some_and(|t| t.elapsed() > DRAIN_GRACE));
                if pipe_ended {
                    let status = worker.wait_or_kill(EXIT_GRACE);
                    // A worker killed by Ctrl-C is an interruption, not a failure (it has
                    // its own process group, but a SIGINT can still be sent to it).
                    if interrupted() || status.signal() == Some(libc::SIGINT) {
                        return Ok(false);
                    }
                    if current.is_none() && status.code() == Some(RESTART_EXIT) {
                        // The worker asked for a fresh process between benchmarks.
                        break None;
                    }
                    let why = if worker.killed {
                        format!(
                            "worker closed its output but did not exit within {} s (killed)",
                            EXIT_GRACE.as_secs()
                        )
                    } else {
                        describe(status)
                    };
                    break Some((current.as_ref().map(|c| c.0.clone()), why));
                }
                let text = match message {
                    Ok(Line::Text(text)) => text,
                    _ if exited_at.is_some() => continue, // draining a dead worker's pipe
                    _ => {
                        // Checked only when no message is waiting: a result that arrived
                        // just in time is never thrown away.
                        let since = current.as_ref().map_or(last_activity, |c| c.1);
                        if since.elapsed() <= timeout {
                            continue;
                        }
                        worker.finish();
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
                };
                match serde_json::from_str::<Message<R>>(&text) {
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
                            worker.wait_or_kill(EXIT_GRACE);
                            break None;
                        }
                    }
                    Err(e) => {
                        worker.finish();
                        break Some((
                            current.as_ref().map(|c| c.0.clone()),
                            format!("worker protocol error: {e}"),
                        ));
                    }
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
        let sigkill = describe(ExitStatus::from_raw(libc::SIGKILL));
        assert!(
            sigkill.starts_with("worker killed by SIGKILL (9)"),
            "{sigkill}"
        );
        assert!(!sigkill.contains("memory?"), "{sigkill}");
        assert_eq!(
            describe(ExitStatus::from_raw(3 << 8)),
            "worker exited with status 3"
        );
    }
}
