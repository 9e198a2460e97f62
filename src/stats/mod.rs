//! Pure numerics: no I/O, no printing. Inputs are plain `f64` slices.

mod median_ci;
mod summary;

pub use median_ci::{MedianCi, median_ci};
pub use summary::{Outliers, Summary, quantile};
