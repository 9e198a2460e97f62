//! Formats other tools ingest: Bencher Metric Format, github-action-benchmark's custom JSON,
//! and CSV. Only verified, timed, unthrottled results are exported to the benchmark trackers
//! (a failed benchmark has no time; a throttled or contended one would make them alert on
//! the machine, not the code) unless throttled ones are asked for; what is left out is
//! listed by `tracker_left_out` for the CLI to say. CSV keeps every row with its status and
//! throttled flag.

use serde_json::{Map, Value, json};

use crate::stats::Summary;
use crate::store::{BenchResult, RunRecord, Status};

/// Whether `b` goes into the trackers' JSON: verified and timed, and measured at its real
/// speed unless `include_throttled` asks for throttled and contended results too.
fn exported(b: &BenchResult, include_throttled: bool) -> Option<&Summary> {
    match (b.status, &b.summary) {
        (Status::Ok, Some(s)) if include_throttled || !(b.throttled || b.contended) => Some(s),
        _ => None,
    }
}

/// The benchmarks of `run` that the trackers' JSON leaves out, with why (`failed
/// (verification_failed)`, `throttled`, `contended`, `skipped`), in run order: the CLI names
/// them on stderr so that none vanishes silently.
pub fn tracker_left_out(run: &RunRecord, include_throttled: bool) -> Vec<(String, String)> {
    run.benchmarks
        .iter()
        .filter(|b| exported(b, include_throttled).is_none())
        .map(|b| {
            let why = match b.status {
                Status::Ok if b.counters.is_some() => {
                    "counted, not timed (emulator counters)".to_string()
                }
                Status::Ok if b.summary.is_none() => "failed (no timing)".to_string(),
                Status::Ok if b.throttled => "throttled".to_string(),
                Status::Ok => "contended".to_string(),
                Status::Skipped => "skipped".to_string(),
                status => format!(
                    "failed ({})",
                    serde_json::to_value(status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ),
            };
            (b.id.clone(), why)
        })
        .collect()
}

/// Bencher Metric Format: `{id: {latency: {value, lower_value, upper_value}, …}}`, latency
/// in nanoseconds (Bencher's built-in measure); throughput as the custom
/// `flop-per-second` and `byte-per-second` measures (docs/HISTORY.md, "Exports").
pub fn bencher_json(run: &RunRecord, include_throttled: bool) -> String {
    let mut out = Map::new();
    for b in &run.benchmarks {
        let Some(s) = exported(b, include_throttled) else {
            continue;
        };
        let mut measures = Map::new();
        measures.insert(
            "latency".into(),
            json!({"value": s.median * 1e9, "lower_value": s.ci_low * 1e9, "upper_value": s.ci_high * 1e9}),
        );
        // A rate's interval is the time's interval inverted.
        let rate = |amount: u64| {
            let a = amount as f64;
            json!({"value": a / s.median, "lower_value": a / s.ci_high, "upper_value": a / s.ci_low})
        };
        if b.flops > 0 {
            measures.insert("flop-per-second".into(), rate(b.flops));
        }
        if b.bytes > 0 {
            measures.insert("byte-per-second".into(), rate(b.bytes));
        }
        out.insert(b.id.clone(), Value::Object(measures));
    }
    serde_json::to_string_pretty(&Value::Object(out)).expect("JSON values serialise")
}

/// Which github-action-benchmark tool the JSON is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GabTool {
    /// `customSmallerIsBetter`: median time in ns.
    SmallerIsBetter,
    /// `customBiggerIsBetter`: GFLOP/s, or GB/s for copies and memory-bound shapes.
    BiggerIsBetter,
}

/// `x` with four significant digits (no exponent for the sizes benchmarks have).
fn four_significant(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 12) as usize;
    format!("{x:.digits$}")
}

/// github-action-benchmark's custom tools: `[{name, unit, value, range, extra}]`, `range`
/// as `± x` (half the median's CI, the wider side, in `unit`) the way its own benchmark.js
/// tool writes it, `extra` (the chart's tooltip) with the sample count, hardware key and
/// commit when the run has one.
pub fn github_action_benchmark_json(
    run: &RunRecord,
    tool: GabTool,
    include_throttled: bool,
) -> String {
    let mut rows = Vec::new();
    for b in &run.benchmarks {
        let Some(s) = exported(b, include_throttled) else {
            continue;
        };
        let mut extra = vec![format!("{} samples", s.n), run.hardware.key.clone()];
        if let Some(c) = &run.git.commit {
            let short: String = c.chars().take(7).collect();
            extra.push(match run.git.dirty {
                Some(true) => format!("commit {short} (dirty)"),
                _ => format!("commit {short}"),
            });
        }
        if b.throttled {
            extra.push("throttled: not this kernel's full speed".into());
        }
        if b.contended {
            extra.push("contended: the CPUs were busy".into());
        }
        let (unit, value, lo, hi) = match tool {
            GabTool::SmallerIsBetter => ("ns", s.median * 1e9, s.ci_low * 1e9, s.ci_high * 1e9),
            GabTool::BiggerIsBetter if b.flops > 0 && !b.reports_bandwidth() => {
                let f = b.flops as f64 / 1e9;
                ("GFLOP/s", f / s.median, f / s.ci_high, f / s.ci_low)
            }
            GabTool::BiggerIsBetter => {
                let g = b.bytes as f64 / 1e9;
                ("GB/s", g / s.median, g / s.ci_high, g / s.ci_low)
            }
        };
        let half = (value - lo).abs().max((hi - value).abs());
        rows.push(json!({
            "name": b.id,
            "unit": unit,
            "value": value,
            "range": format!("± {}", four_significant(half)),
            "extra": extra.join("\n"),
        }));
    }
    serde_json::to_string_pretty(&Value::Array(rows)).expect("JSON values serialise")
}

pub const CSV_HEADER: &str = "started_at,commit,dirty,hardware_key,backend,id,family,status,median_s,ci_low_s,ci_high_s,samples,flop_per_s,bytes_per_s,throttled";

/// One CSV line per benchmark of `run` (no header), RFC 4180 quoting.
pub fn csv_rows(run: &RunRecord) -> String {
    let mut out = String::new();
    for b in &run.benchmarks {
        let num = |v: Option<f64>| v.map(|v| format!("{v:e}")).unwrap_or_default();
        let s = b.summary.as_ref();
        let fields = [
            run.started_at.clone(),
            run.git.commit.clone().unwrap_or_default(),
            run.git.dirty.map(|d| d.to_string()).unwrap_or_default(),
            run.hardware.key.clone(),
            run.backend.clone(),
            b.id.clone(),
            b.family.name().to_string(),
            serde_json::to_value(b.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            num(s.map(|s| s.median)),
            num(s.map(|s| s.ci_low)),
            num(s.map(|s| s.ci_high)),
            s.map(|s| s.n.to_string()).unwrap_or_default(),
            num(b.flop_per_s),
            num(b.bytes_per_s),
            b.throttled.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_digits() {
        assert_eq!(four_significant(12345.678), "12346");
        assert_eq!(four_significant(1.23456), "1.235");
        assert_eq!(four_significant(0.00123456), "0.001235");
        assert_eq!(four_significant(0.0), "0");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
