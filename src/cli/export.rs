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
    let text = match args.format {
        ExportFormat::Bmf => report::bencher_json(&one(newest)?),
        ExportFormat::GabSmaller => {
            report::github_action_benchmark_json(&one(newest)?, GabTool::SmallerIsBetter)
        }
        ExportFormat::GabBigger => {
            report::github_action_benchmark_json(&one(newest)?, GabTool::BiggerIsBetter)
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
