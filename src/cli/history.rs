//! `orac history`.

use super::args::{HistoryArgs, HistoryFormat, SeriesArgs};
use crate::error::{Error, Result};
use crate::history::{self, HistoryOptions};
use crate::report::history_text;
use crate::stats::{ChangePointConfig, CreepConfig};
use crate::suite::Filter;

/// The options of `history`, `report` and `export`, checked.
pub fn options(args: &SeriesArgs, hardware: Option<&str>) -> Result<HistoryOptions> {
    let fraction = |name: &str, v: f64| {
        if v.is_finite() && (0.0..1.0).contains(&v) {
            Ok(v)
        } else {
            Err(Error::Usage(format!(
                "--{name} {v}: must be at least 0 and below 1"
            )))
        }
    };
    if args.window < 6 {
        return Err(Error::Usage(format!(
            "--window {}: must be at least 6",
            args.window
        )));
    }
    if args.creep_window < 4 {
        return Err(Error::Usage(format!(
            "--creep-window {}: must be at least 4",
            args.creep_window
        )));
    }
    if !(args.max_p > 0.0 && args.max_p < 1.0) {
        return Err(Error::Usage(format!(
            "--max-p {}: must be between 0 and 1",
            args.max_p
        )));
    }
    Ok(HistoryOptions {
        results_dir: args.results_dir.clone(),
        repo_dir: std::env::current_dir().map_err(|source| Error::Read {
            path: ".".into(),
            source,
        })?,
        hardware: hardware.map(str::to_string),
        branch: args.branch.clone(),
        since: args.since.clone(),
        change_points: ChangePointConfig {
            window: args.window,
            max_p: args.max_p,
            min_magnitude: fraction("min-change", args.min_change)?,
            ..ChangePointConfig::default()
        },
        creep: CreepConfig {
            window: args.creep_window,
            threshold: fraction("creep-threshold", args.creep_threshold)?,
            ..CreepConfig::default()
        },
    })
}

pub fn history(args: HistoryArgs) -> Result<()> {
    let opts = options(&args.series, args.hardware.as_deref())?;
    let filter = Filter::new(args.series.filter.as_deref())?;
    let h = history::build(&opts, &filter)?;
    if let (Some(f), true) = (&args.series.filter, h.series.is_empty()) {
        return Err(Error::NoMatch(f.clone()));
    }
    if args.format == HistoryFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&h).expect("a history always serialises")
        );
    } else {
        print!("{}", history_text(&h));
    }
    let alarming: Vec<&str> = h
        .series
        .iter()
        .filter(|s| s.slower_within(args.fail_within))
        .map(|s| s.id.as_str())
        .collect();
    if alarming.is_empty() {
        Ok(())
    } else {
        Err(Error::Regression(format!(
            "slower in the newest {} commits: {}",
            args.fail_within,
            alarming.join(", ")
        )))
    }
}
