//! Typed errors for the whole library and the one mapping from error to exit code.
//!
//! Messages are lowercase fragments that read well after "error: ", and every file-system
//! error names the path it failed on.

use std::path::PathBuf;

/// Process exit codes, documented in the README and `orac --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything ran and verified.
    Ok = 0,
    /// Stopped by Ctrl-C; what was measured is kept for `orac run --resume`.
    Interrupted = 130,
    /// Reserved for "a regression was found" (the comparison commands).
    Regression = 1,
    /// Bad arguments or bad input files: the user can fix the command line or the file.
    Usage = 2,
    /// At least one benchmark failed verification, failed to compile or crashed.
    BenchmarkFailed = 3,
    /// The environment cannot run the request: no C compiler, unwritable results directory.
    Environment = 4,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("invalid filter regex '{pattern}': {source}")]
    BadFilter {
        pattern: String,
        source: regex::Error,
    },

    #[error("no benchmark matches filter '{0}' (see `orac list`)")]
    NoMatch(String),

    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{} is not a valid orac results file: {reason} (repair or remove it)", path.display())]
    CorruptFile { path: PathBuf, reason: String },

    #[error("kernel manifest {path} is invalid: {reason}")]
    Manifest { path: String, reason: String },

    #[error("kernel file {0} not found")]
    KernelFileMissing(String),

    #[error(
        "no C compiler: running '{command}' failed ({reason}); install one (e.g. `apt-get install gcc`) or set CC"
    )]
    CompilerMissing { command: String, reason: String },

    #[error("kernel {kernel} ({file}) failed to compile:\n{log}")]
    Compile {
        kernel: String,
        file: String,
        log: String,
    },

    /// A kernel cache directory others could write to: they could plant a library that orac
    /// would load (and run its constructors). `reason` says what is wrong and how to fix it.
    #[error("kernel cache {} is not private: {reason}", path.display())]
    UnsafeCache { path: PathBuf, reason: String },

    #[error("cannot load compiled kernel {}: {reason}", path.display())]
    KernelLoad { path: PathBuf, reason: String },

    /// A kernel that failed to compile or load earlier in this run; `reason` says why.
    #[error("{reason}")]
    KernelUnavailable { kernel: String, reason: String },

    /// A kernel the emulator stopped: an access outside every buffer, a barrier not all
    /// threads reach, a step limit (`report` is the emulator's diagnostic).
    #[error("{report}")]
    KernelFault { kernel: String, report: String },

    /// A benchmark that cannot run on this device at all (too little memory, an
    /// architecture the kernel was not written for): skipped with the reason, not failed.
    #[error("{reason}")]
    NotApplicable { kernel: String, reason: String },

    /// A tool orac needs for this command is not installed (libnvrtc, ptxas).
    #[error("{0}")]
    ToolMissing(String),

    #[error("CUDA backend unavailable: {0}")]
    CudaUnavailable(String),

    /// A comparison found verdicts the user asked to fail on (e.g. "2 slower").
    #[error("regression: {0} (see the table above)")]
    Regression(String),

    #[error(
        "interrupted: {done} of {total} benchmarks kept in {journal}; `orac run --resume` finishes the run"
    )]
    Interrupted {
        done: usize,
        total: usize,
        journal: String,
    },

    /// Ctrl-C during `orac ab`: nothing is compared from a partial A/B.
    #[error("interrupted: {done} of {total} A/B cases were measured; nothing was compared")]
    AbInterrupted { done: usize, total: usize },

    #[error("{failed} of {total} benchmarks failed (see the table above)")]
    BenchmarksFailed { failed: usize, total: usize },

    /// The run finished but its record could not be written (a full disk): the journal
    /// still holds it.
    #[error("the run record could not be saved in {}: {source}; {kept}", dir.display())]
    NotSaved {
        dir: PathBuf,
        source: std::io::Error,
        kept: String,
    },
}

impl Error {
    /// The exit code a process reporting this error should end with.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_)
            | Error::BadFilter { .. }
            | Error::NoMatch(_)
            | Error::CorruptFile { .. }
            | Error::Manifest { .. }
            | Error::KernelFileMissing(_)
            | Error::UnsafeCache { .. }
            | Error::CudaUnavailable(_) => ExitCode::Usage,
            Error::Read { source, .. } | Error::Write { source, .. } => {
                // A path the user named that does not exist is an input error; anything
                // else (permissions, full disk) is the environment's.
                use std::io::ErrorKind::*;
                if matches!(
                    source.kind(),
                    NotFound | IsADirectory | NotADirectory | InvalidInput | InvalidFilename
                ) || source.raw_os_error() == Some(libc::ELOOP)
                {
                    ExitCode::Usage
                } else {
                    ExitCode::Environment
                }
            }
            Error::Compile { .. }
            | Error::KernelLoad { .. }
            | Error::KernelUnavailable { .. }
            | Error::KernelFault { .. }
            | Error::NotApplicable { .. }
            | Error::BenchmarksFailed { .. } => ExitCode::BenchmarkFailed,
            Error::CompilerMissing { .. } | Error::ToolMissing(_) | Error::NotSaved { .. } => {
                ExitCode::Environment
            }
            Error::Regression(_) => ExitCode::Regression,
            Error::Interrupted { .. } | Error::AbInterrupted { .. } => ExitCode::Interrupted,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
