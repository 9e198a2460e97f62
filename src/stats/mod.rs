//! Pure numerics: no I/O, no printing. Inputs are plain `f64` slices.

pub mod bootstrap;
mod mann_whitney;
mod median_ci;
mod multiple;
mod normal;
mod rank;
pub mod rng;
mod spread;
mod summary;
mod wilcoxon;

pub use mann_whitney::{RankTest, mann_whitney_u};
pub use median_ci::{MedianCi, median_ci};
pub use multiple::benjamini_hochberg;
pub use normal::normal_sf;
pub use spread::robust_cv;
pub use summary::{Outliers, Summary, quantile};
pub use wilcoxon::wilcoxon_signed_rank;
