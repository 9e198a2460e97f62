//! orac: a GPU kernel microbenchmark and regression suite.
//!
//! Data flows one way: [`suite`] (what is measured) → [`backend`] (where it runs) →
//! [`measure`] (how it is timed) → [`stats`] (pure numerics) → [`store`] (results on disk)
//! → [`report`] (what a person reads). [`runner`] drives one benchmark through that chain;
//! [`cli`] only wires things together and maps errors to exit codes.

pub mod backend;
pub mod chart;
pub mod cli;
pub mod error;
pub mod history;
pub mod isolate;
pub mod kernels;
pub mod launch;
pub mod measure;
pub mod regress;
pub mod report;
pub mod runner;
pub mod stats;
pub mod store;
pub mod suite;
pub mod toolchain;

pub use error::{Error, ExitCode, Result};
