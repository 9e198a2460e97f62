//! Ctrl-C: the first SIGINT only sets a flag; the run stops between benchmarks, keeping
//! everything already journaled. Workers run in process groups of their own, so the
//! terminal's SIGINT does not reach them: the supervisor, polling the flag, kills the
//! running worker's group itself. A second Ctrl-C kills that group and orac outright.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The process group of the worker now running (0: none), for the second Ctrl-C: the
/// worker would die with orac (`PR_SET_PDEATHSIG`), but not the processes it started.
static WORKER_GROUP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_sigint(_: libc::c_int) {
    if !INTERRUPTED.swap(true, Ordering::SeqCst) {
        return;
    }
    // A second Ctrl-C ends the process at once (a hung in-process benchmark cannot be
    // waited out). SAFETY: kill, signal and raise are async-signal-safe; SIGINT is blocked
    // while this handler runs, so the raised one lands, with the default action, after it.
    unsafe {
        let group = WORKER_GROUP.load(Ordering::SeqCst);
        if group > 0 {
            libc::kill(-group, libc::SIGKILL);
        }
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::raise(libc::SIGINT);
    }
}

/// Routes SIGINT to the flag (idempotent).
pub fn install_interrupt_handler() {
    // SAFETY: the handler only touches atomics and async-signal-safe calls.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Records the running worker's process group (0 once it is reaped).
pub(super) fn set_worker_group(pgid: libc::pid_t) {
    WORKER_GROUP.store(pgid, Ordering::SeqCst);
}
