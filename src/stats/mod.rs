//! Pure numerics: no I/O, no printing. Inputs are plain `f64` slices.

pub mod bootstrap;
mod changepoint;
mod mann_whitney;
mod median_ci;
mod modes;
mod multiple;
mod normal;
mod rank;
pub mod rng;
mod spread;
mod student;
mod summary;
pub mod t_interval;
mod trend;
mod wilcoxon;

pub use changepoint::{ChangePoint, ChangePointConfig, change_points};
pub use mann_whitney::{RankTest, mann_whitney_u};
pub use median_ci::{MedianCi, median_ci};
pub use modes::{Modes, effective_draws, two_modes};
pub use multiple::benjamini_hochberg;
pub use normal::normal_sf;
pub use spread::robust_cv;
pub use student::{pooled_t_test, student_t_two_sided};
pub use summary::{Outliers, Summary, quantile};
pub use trend::{Creep, CreepConfig, creeps, mann_kendall, theil_sen};
pub use wilcoxon::wilcoxon_signed_rank;
