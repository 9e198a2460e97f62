//! Fault isolation: benchmarks run in worker processes (`orac worker`, hidden) supervised
//! by `orac run` and `orac ab`, so a segfault, an abort, a poisoned CUDA context or a hang ends one
//! benchmark — recorded as failed with the reason — and a fresh worker carries on.

mod interrupt;
mod protocol;
mod supervisor;
mod worker;

pub use interrupt::{install_interrupt_handler, interrupted};
pub use protocol::{AbJob, Job, Message, Outcome, PairResult, RESTART_EXIT};
pub use supervisor::{Isolation, run_isolated};
pub use worker::worker_main;
