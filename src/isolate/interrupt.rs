//! Ctrl-C and SIGTERM (a CI job cancelled, `scancel`, `kill`, a container stopped): the first
//! of either only sets a flag; the run stops between benchmarks, keeping everything already
//! journaled. Workers run in process groups of their own, so the terminal's SIGINT does not
//! reach them: the supervisor, polling the flag, kills the running worker's group itself. A
//! second signal (either kind) kills that group and ends orac at once, by the signal's
//! default action. GitHub Actions cancels with SIGINT and then SIGTERM: the first lets the
//! run save what it has, the second ends one stuck inside a benchmark.
//!
//! The handlers are signal-hook's (sigaction, registered once, chained with any other
//! handler the process has) rather than a hand-written `signal(2)` call.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The process group of the worker now running (0: none), for the second signal: the
/// worker would die with orac (`PR_SET_PDEATHSIG`), but not the processes it started.
static WORKER_GROUP: AtomicI32 = AtomicI32::new(0);

/// The signals that stop a run.
pub const STOP_SIGNALS: [libc::c_int; 2] = [SIGINT, SIGTERM];

/// Routes SIGINT and SIGTERM to the flag (idempotent).
pub fn install_interrupt_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for signal in STOP_SIGNALS {
            // signal-hook runs a signal's actions in the order they were registered: on a
            // second signal the flag is already set, so the first two act (kill the
            // worker's group, then die by the default action); on the first, only the
            // third does (set the flag).
            // SAFETY: the action loads atomics and calls kill(2), which is async-signal-safe.
            let kill_worker = unsafe {
                signal_hook::low_level::register(signal, || {
                    if INTERRUPTED.load(Ordering::SeqCst) {
                        let group = WORKER_GROUP.load(Ordering::SeqCst);
                        if group > 0 {
                            libc::kill(-group, libc::SIGKILL);
                        }
                    }
                })
            };
            let result = kill_worker
                .and_then(|_| signal_hook::flag::register_conditional_default(signal, &INTERRUPTED))
                .and_then(|_| signal_hook::flag::register(signal, &INTERRUPTED));
            if let Err(e) = result {
                eprintln!(
                    "warning: cannot handle signal {signal} ({e}): it will end orac without saving"
                );
            }
        }
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Records the running worker's process group (0 once it is reaped).
pub(super) fn set_worker_group(pgid: libc::pid_t) {
    WORKER_GROUP.store(pgid, Ordering::SeqCst);
}
