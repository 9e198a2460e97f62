//! Verdicts, and the rule that assigns them.
//!
//! For independent runs (`orac compare`), with `ratio` = head time / base time and its CI
//! [lo, hi], a threshold t and the benchmark's own p-value p (never adjusted for what else
//! was compared: α is a per-benchmark level, 0.05/300 by default); the A/B gate's rule on
//! blocks is `regress::sequential`:
//! - `slower`: p < α and lo > 1 + t — significant, and even the optimistic end of the CI is
//!   a regression bigger than the threshold;
//! - `faster`: p < α and hi < 1 / (1 + t);
//! - `unchanged`: the whole CI lies within [1 / (1 + t), 1 + t] — any change is smaller than
//!   we care about;
//! - `ambiguous`: anything else — a significant change whose CI straddles the threshold, or a
//!   CI too wide to tell.
//!
//! Thresholds are symmetric in log space, so a 3% threshold means ×1.03 either way.

use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Slower,
    Failed,
    Faster,
    Ambiguous,
    Throttled,
    /// Another process took the CPUs while it ran: not this kernel's speed.
    Contended,
    Missing,
    New,
    Unchanged,
}

impl Verdict {
    pub const ALL: [Verdict; 9] = [
        Verdict::Slower,
        Verdict::Failed,
        Verdict::Faster,
        Verdict::Ambiguous,
        Verdict::Throttled,
        Verdict::Contended,
        Verdict::Missing,
        Verdict::New,
        Verdict::Unchanged,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Slower => "slower",
            Verdict::Failed => "failed",
            Verdict::Faster => "faster",
            Verdict::Ambiguous => "ambiguous",
            Verdict::Throttled => "throttled",
            Verdict::Contended => "contended",
            Verdict::Missing => "missing",
            Verdict::New => "new",
            Verdict::Unchanged => "unchanged",
        }
    }

    pub fn from_name(name: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// The verdict for a compared benchmark (see the module docs).
pub fn decide(ratio_low: f64, ratio_high: f64, p: f64, threshold: f64, alpha: f64) -> Verdict {
    let band = (1.0 + threshold).ln();
    let (lo, hi) = (ratio_low.ln(), ratio_high.ln());
    let significant = p < alpha;
    if significant && lo > band {
        Verdict::Slower
    } else if significant && hi < -band {
        Verdict::Faster
    } else if lo >= -band && hi <= band {
        Verdict::Unchanged
    } else {
        Verdict::Ambiguous
    }
}

/// What a comparison means for the process: `Ok` or the error whose exit code a CI job
/// should see. Failed kernels (exit 3) take precedence over other failing verdicts (exit 1).
/// Speedups never fail unless asked to.
pub fn outcome(verdicts: &[Verdict], fail_on: &[Verdict]) -> Result<(), Error> {
    let failing: Vec<Verdict> = verdicts
        .iter()
        .copied()
        .filter(|v| fail_on.contains(v))
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    let failed = failing.iter().filter(|v| **v == Verdict::Failed).count();
    if failed > 0 {
        return Err(Error::BenchmarksFailed {
            failed,
            total: verdicts.len(),
        });
    }
    let mut counts: Vec<String> = Vec::new();
    for v in Verdict::ALL {
        let n = failing.iter().filter(|f| **f == v).count();
        if n > 0 {
            counts.push(format!("{n} {}", v.name()));
        }
    }
    Err(Error::Regression(counts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExitCode;

    #[test]
    fn rule_by_hand() {
        let (t, a) = (0.03, 0.05);
        assert_eq!(decide(1.045, 1.055, 0.001, t, a), Verdict::Slower);
        assert_eq!(
            decide(1.045, 1.055, 0.2, t, a),
            Verdict::Ambiguous,
            "not significant"
        );
        assert_eq!(
            decide(1.02, 1.055, 0.001, t, a),
            Verdict::Ambiguous,
            "straddles 3%"
        );
        assert_eq!(decide(0.90, 0.95, 0.001, t, a), Verdict::Faster);
        assert_eq!(decide(0.99, 1.01, 0.5, t, a), Verdict::Unchanged);
        assert_eq!(
            decide(1.005, 1.01, 0.001, t, a),
            Verdict::Unchanged,
            "real but tiny"
        );
        assert_eq!(decide(0.9, 1.2, 0.5, t, a), Verdict::Ambiguous, "too noisy");
    }

    #[test]
    fn only_chosen_verdicts_fail_and_speedups_pass() {
        let fail_on = [Verdict::Slower, Verdict::Failed];
        assert!(outcome(&[Verdict::Faster, Verdict::Unchanged], &fail_on).is_ok());
        let e = outcome(&[Verdict::Slower, Verdict::Faster], &fail_on).unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::Regression);
        assert!(e.to_string().contains("1 slower"));
        let e = outcome(&[Verdict::Slower, Verdict::Failed], &fail_on).unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::BenchmarkFailed);
        assert!(outcome(&[Verdict::Missing], &fail_on).is_ok());
        assert!(outcome(&[Verdict::Missing], &[Verdict::Missing]).is_err());
    }
}
