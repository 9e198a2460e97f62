//! Comparison settings: defaults, an optional config file (`orac.toml`, section
//! `[compare]`) with per-benchmark overrides, and command-line flags on top.

use std::path::Path;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::Verdict;
use crate::error::{Error, Result};

/// How big a change must be, and how sure we must be, before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Smallest relative change ever reported as slower/faster (0.03 = 3%).
    pub min_threshold: f64,
    /// The threshold grows to `noise_k × noise` for noisy benchmarks.
    pub noise_k: f64,
    /// Per-benchmark false-alarm level: the chance that one unchanged benchmark comes out
    /// slower or faster. Fixed, whatever else is compared: the default, 0.05/300, keeps a
    /// 300-benchmark suite of unchanged kernels to one failed gate in twenty.
    pub alpha: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_threshold: 0.03,
            noise_k: 3.0,
            alpha: super::sequential::DEFAULT_ALPHA,
        }
    }
}

impl Thresholds {
    /// The relative change a benchmark with this `noise` must exceed.
    pub fn threshold(&self, noise: f64) -> f64 {
        self.min_threshold.max(self.noise_k * noise)
    }
}

/// Thresholds for benchmarks whose id matches `filter`.
#[derive(Debug, Clone)]
pub struct Override {
    pub filter: Regex,
    pub min_threshold: Option<f64>,
    pub noise_k: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct CompareConfig {
    pub defaults: Thresholds,
    /// Later overrides win over earlier ones.
    pub overrides: Vec<Override>,
    pub fail_on: Vec<Verdict>,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            defaults: Thresholds::default(),
            overrides: Vec::new(),
            fail_on: vec![Verdict::Slower, Verdict::Failed],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    compare: Option<Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    min_threshold: Option<f64>,
    noise_k: Option<f64>,
    alpha: Option<f64>,
    fail_on: Option<Vec<String>>,
    #[serde(default, rename = "override")]
    overrides: Vec<RawOverride>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    filter: String,
    min_threshold: Option<f64>,
    noise_k: Option<f64>,
}

fn check_fraction(name: &str, v: f64, max: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 && v <= max {
        Ok(v)
    } else {
        Err(Error::Usage(format!(
            "{name} = {v}: must be between 0 and {max}"
        )))
    }
}

/// Parses a comma-separated verdict list such as `slower,failed`.
pub fn parse_fail_on(items: &[String]) -> Result<Vec<Verdict>> {
    // An empty list would turn the gate off without a word: say so instead.
    if items
        .iter()
        .all(|s| s.split(',').all(|v| v.trim().is_empty()))
    {
        return Err(Error::Usage(
            "fail-on is empty: name the verdicts that fail (e.g. slower,failed); to never fail, use `|| true` in the script".into(),
        ));
    }
    items
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Verdict::from_name(s).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown verdict '{s}' in fail-on (expected: {})",
                    Verdict::ALL
                        .iter()
                        .map(|v| v.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect()
}

impl CompareConfig {
    /// Reads `[compare]` from `path`; errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |reason: String| Error::Usage(format!("{}: {reason}", path.display()));
        let file: File = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut config = CompareConfig::default();
        let Some(section) = file.compare else {
            return Ok(config);
        };
        let d = &mut config.defaults;
        if let Some(v) = section.min_threshold {
            d.min_threshold =
                check_fraction("min_threshold", v, 10.0).map_err(|e| bad(e.to_string()))?;
        }
        if let Some(v) = section.noise_k {
            d.noise_k = check_fraction("noise_k", v, 100.0).map_err(|e| bad(e.to_string()))?;
        }
        if let Some(v) = section.alpha {
            d.alpha = check_fraction("alpha", v, 1.0).map_err(|e| bad(e.to_string()))?;
            if !(v > 0.0 && v < 1.0) {
                return Err(bad(format!(
                    "alpha = {v}: must be above 0 and below 1 (a per-benchmark level, e.g. 0.05/300)"
                )));
            }
        }
        if let Some(list) = section.fail_on {
            config.fail_on = parse_fail_on(&list).map_err(|e| bad(e.to_string()))?;
        }
        for raw in section.overrides {
            let filter = Regex::new(&raw.filter)
                .map_err(|e| bad(format!("override filter '{}': {e}", raw.filter)))?;
            for (name, v) in [
                ("min_threshold", raw.min_threshold),
                ("noise_k", raw.noise_k),
            ] {
                if let Some(v) = v {
                    check_fraction(name, v, 100.0).map_err(|e| bad(e.to_string()))?;
                }
            }
            config.overrides.push(Override {
                filter,
                min_threshold: raw.min_threshold,
                noise_k: raw.noise_k,
            });
        }
        Ok(config)
    }

    /// The thresholds that apply to benchmark `id`.
    pub fn for_id(&self, id: &str) -> Thresholds {
        let mut t = self.defaults;
        for o in self.overrides.iter().filter(|o| o.filter.is_match(id)) {
            if let Some(v) = o.min_threshold {
                t.min_threshold = v;
            }
            if let Some(v) = o.noise_k {
                t.noise_k = v;
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_apply_by_filter_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orac.toml");
        std::fs::write(
            &path,
            r#"
[compare]
min_threshold = 0.02
fail_on = ["slower", "failed", "missing"]

[[compare.override]]
filter = "^memcpy/"
min_threshold = 0.05

[[compare.override]]
filter = "64MiB$"
noise_k = 4.0
"#,
        )
        .unwrap();
        let c = CompareConfig::load(&path).unwrap();
        assert_eq!(c.for_id("gemm/x/f32/m1n1k1").min_threshold, 0.02);
        let t = c.for_id("memcpy/copy-mt/u8/64MiB");
        assert_eq!((t.min_threshold, t.noise_k), (0.05, 4.0));
        assert_eq!(c.fail_on.len(), 3);
        assert_eq!(t.threshold(0.01), 0.05);
        assert_eq!(t.threshold(0.02), 0.08);
    }

    #[test]
    fn bad_config_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orac.toml");
        std::fs::write(&path, "[compare]\nalpha = 7\n").unwrap();
        let err = CompareConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("orac.toml") && err.contains("alpha"), "{err}");
        std::fs::write(&path, "[compare]\nfail_on = [\"sloer\"]\n").unwrap();
        let err = CompareConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown verdict 'sloer'"), "{err}");
    }
}
