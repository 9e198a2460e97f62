//! `orac export`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::args::{ExportArgs, ExportFormat};
use crate::error::{Error, Result};
use crate::report::{self, GabTool};
use crate::store::{self, RunRecord};

/// The run files named (files as they are, directories searched), oldest first.
fn run_paths(args: &ExportArgs) -> Result<Vec<PathBuf>> {
    if args.runs.is_empty() {
        let all = store::find_runs(&args.results_dir)?;
        let key_of = |p: &PathBuf| {
            p.parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
        };
        if let Some(key) = &args.hardware {
            let key = crate::history::choose_hardware(&args.results_dir, Some(key))?;
            return Ok(all
                .into_iter()
                .filter(|p| key_of(p).as_ref() == Some(&key))
                .collect());
        }
        if args.format != ExportFormat::Csv {
            // The newest run of which machine? Say so rather than pick one.
            crate::history::choose_hardware(&args.results_dir, None)?;
        }
        return Ok(all);
    }
    let mut paths = Vec::new();
    for p in &args.runs {
        if p.is_dir() {
            // A results directory (<key>/*.json) or one key's directory.
            let mut found = store::find_runs(p)?;
            if found.is_empty() {
                found = std::fs::read_dir(p)
                    .map_err(|source| Error::Read {
                        path: p.clone(),
                        source,
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "json"))
                    // Dotfiles are temporaries of a writer in progress.
                    .filter(|f| {
                        f.file_name()
                            .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
                    })
                    .collect();
                found.sort();
            }
            paths.extend(found);
        } else if p.is_file() {
            paths.push(p.clone());
        } else {
            return Err(Error::Usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    Ok(paths)
}

/// Names on stderr what a tracker export left out, by reason, so that a failed or
/// throttled benchmark never just vanishes from a dashboard.
fn warn_left_out(run: &RunRecord, include_throttled: bool, format: &ExportFormat) {
    let left = report::tracker_left_out(run, include_throttled);
    if left.is_empty() {
        return;
    }
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for (id, why) in &left {
        match reasons.iter_mut().find(|(w, _)| w == why) {
            Some((_, ids)) => ids.push(id),
            None => reasons.push((why, vec![id])),
        }
    }
    let parts: Vec<String> = reasons
        .iter()
        .map(|(why, ids)| {
            let mut names: Vec<&str> = ids.iter().take(5).copied().collect();
            let more = ids.len().saturating_sub(5);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            names.sort_unstable();
            format!("{} {why} ({}{more})", ids.len(), names.join(", "))
        })
        .collect();
    let format = clap::ValueEnum::to_possible_value(format)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let mut hint = vec![
        "failed and skipped ones have no time to export (`--format csv` keeps every row with its status)",
    ];
    if !include_throttled
        && left
            .iter()
            .any(|(_, w)| w == "throttled" || w == "contended")
    {
        hint.push("--include-throttled exports throttled and contended ones");
    }
    eprintln!(
        "warning: {} of {} benchmarks left out of the {format} export: {}; {}",
        left.len(),
        run.benchmarks.len(),
        parts.join(", "),
        hint.join("; ")
    );
}

pub fn export(args: ExportArgs) -> Result<()> {
    let paths = run_paths(&args)?;
    let Some(newest) = paths.last() else {
        return Err(Error::Usage(format!(
            "no stored runs to export in {} (run `orac run` first, or name run files)",
            if args.runs.is_empty() {
                args.results_dir.display().to_string()
            } else {
                "the paths given".to_string()
            }
        )));
    };
    let one = |path: &Path| -> Result<RunRecord> {
        if paths.len() > 1 && !args.runs.is_empty() {
            return Err(Error::Usage(format!(
                "--format {} exports one run, but {} were named: name one run file",
                clap::ValueEnum::to_possible_value(&args.format)
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default(),
                paths.len()
            )));
        }
        store::load_run(path)
    };
    let include = args.include_throttled;
    let tracker = |run: RunRecord, text: String| {
        warn_left_out(&run, include, &args.format);
        text
    };
    let text = match args.format {
        ExportFormat::Bmf => {
            let run = one(newest)?;
            let text = report::bencher_json(&run, include);
            tracker(run, text)
        }
        ExportFormat::GabSmaller => {
            let run = one(newest)?;
            let text =
                report::github_action_benchmark_json(&run, GabTool::SmallerIsBetter, include);
            tracker(run, text)
        }
        ExportFormat::GabBigger => {
            let run = one(newest)?;
            let text = report::github_action_benchmark_json(&run, GabTool::BiggerIsBetter, include);
            tracker(run, text)
        }
        ExportFormat::Csv => {
            let mut text = format!("{}\n", report::CSV_HEADER);
            for p in &paths {
                text.push_str(&report::csv_rows(&store::load_run(p)?));
            }
            text
        }
    };
    match &args.out {
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let newline: &[u8] = if text.ends_with('\n') { b"" } else { b"\n" };
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.write_all(newline));
            Ok(())
        }
        Some(path) => super::write_atomically(path, &text),
    }
}
