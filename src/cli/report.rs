//! `orac report --out-dir DIR`: gathers the history, verdicts and roofline of each hardware key
//! and writes the static HTML report.

use std::path::{Path, PathBuf};

use super::args::ReportArgs;
use super::history::options;
use crate::chart::{Ceiling, RooflinePoint};
use crate::error::{Error, Result};
use crate::history::{self, HistoryOptions};
use crate::regress::{CompareConfig, SideContext, compare_independent, resolve_side};
use crate::report::{KeyReport, report_files};
use crate::store::{self, Status, baseline_path};
use crate::suite::{Family, Filter};

/// Marks a directory as written by `orac report`, so it may be replaced.
const MARKER: &str = ".orac-report";

pub fn report(args: ReportArgs) -> Result<()> {
    let base_opts = options(&args.series, args.hardware.as_deref())?;
    let filter = Filter::new(args.series.filter.as_deref())?;
    let keys = match &args.hardware {
        Some(k) => vec![history::choose_hardware(&args.series.results_dir, Some(k))?],
        None => history::hardware_keys(&args.series.results_dir)?,
    };
    if keys.is_empty() {
        return Err(Error::Usage(format!(
            "no stored runs under {}: `orac run` stores one",
            args.series.results_dir.display()
        )));
    }
    let mut reports = Vec::new();
    for key in keys {
        eprintln!("report: {key}");
        let opts = HistoryOptions {
            hardware: Some(key.clone()),
            ..base_opts.clone()
        };
        reports.push(key_report(&opts, &filter, &args.baselines_dir)?);
    }
    // Only once everything is gathered: a failure above leaves the directory as it was.
    prepare_out_dir(&args.out_dir)?;
    let generated = store::utc_now().rfc3339();
    let files = report_files(&reports, &generated);
    for f in &files {
        write_file(&args.out_dir.join(&f.path), &f.contents)?;
    }
    println!("{}", args.out_dir.join("index.html").display());
    Ok(())
}

fn key_report(opts: &HistoryOptions, filter: &Filter, baselines: &Path) -> Result<KeyReport> {
    let history = history::build(opts, filter)?;
    let key = history.hardware_key.clone();
    let newest: Option<PathBuf> = store::find_runs(&opts.results_dir)?
        .into_iter()
        .rev()
        .filter(|p| {
            p.parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == key.as_str())
        })
        .find(|p| history::load_digest(p).is_ok());
    let digest = newest.as_deref().map(history::load_digest).transpose()?;
    let bandwidth = match (history.ceilings.bandwidth, &digest) {
        (Some(peak), _) => Some(Ceiling {
            value: peak,
            label: "peak bandwidth".into(),
        }),
        (None, Some(d)) => {
            // The largest copies: small ones stay in cache and would overstate the bandwidth.
            let copies: Vec<_> = d
                .benchmarks
                .iter()
                .filter(|b| b.family == Family::Memcpy && b.usable_median().is_some())
                .collect();
            let largest = copies.iter().map(|b| b.bytes).max().unwrap_or(0);
            copies
                .iter()
                .filter(|b| b.bytes == largest)
                .filter_map(|b| b.bytes_per_s)
                .max_by(f64::total_cmp)
                .map(|v| Ceiling {
                    value: v,
                    label: "best copy of the largest size".into(),
                })
        }
        (None, None) => None,
    };
    let roofline = match &digest {
        Some(d) => d
            .benchmarks
            .iter()
            .filter(|b| {
                b.status == Status::Ok && b.flops > 0 && b.bytes > 0 && filter.matches(&b.id)
            })
            .filter_map(|b| {
                Some(RooflinePoint {
                    id: b.id.clone(),
                    intensity: b.flops as f64 / b.bytes as f64,
                    flop_per_s: b.flop_per_s?,
                })
            })
            .collect(),
        None => Vec::new(),
    };
    let (verdicts, verdicts_note) = match (&newest, baseline_path(baselines, &key)?.is_file()) {
        (None, _) => (None, Some("no readable run".to_string())),
        (Some(_), false) => (
            None,
            Some(format!(
                "no baseline for {key} (`orac baseline set RUN` makes one)"
            )),
        ),
        (Some(run), true) => {
            let ctx = SideContext {
                results_dir: &opts.results_dir,
                baselines_dir: baselines,
                repo_dir: &opts.repo_dir,
                hardware_hint: Some(&key),
            };
            let config = if Path::new("orac.toml").is_file() {
                CompareConfig::load(Path::new("orac.toml"))?
            } else {
                CompareConfig::default()
            };
            let compared = resolve_side("baseline", &ctx).and_then(|base| {
                let head = resolve_side(&run.display().to_string(), &ctx)?;
                compare_independent(&base, &head, &config, false)
            });
            match compared {
                Ok(c) => (
                    Some(c),
                    Some(format!(
                        "newest run {} against baselines/{key}.json",
                        run.display()
                    )),
                ),
                // A bad baseline should not cost the whole report: say so on the page.
                Err(e) => (None, Some(format!("baseline not usable: {e}"))),
            }
        }
    };
    Ok(KeyReport {
        history,
        verdicts: verdicts.map(|mut c| {
            c.entries.retain(|e| filter.matches(&e.id));
            c
        }),
        verdicts_note,
        roofline,
        bandwidth,
    })
}

/// Creates `out`, or clears an earlier report there; refuses any other non-empty directory.
fn prepare_out_dir(out: &Path) -> Result<()> {
    if out.exists() {
        if !out.is_dir() {
            return Err(Error::Usage(format!(
                "--out-dir {}: exists and is not a directory",
                out.display()
            )));
        }
        let empty = std::fs::read_dir(out)
            .map_err(|source| Error::Read {
                path: out.to_path_buf(),
                source,
            })?
            .next()
            .is_none();
        if !empty && !out.join(MARKER).is_file() {
            return Err(Error::Usage(format!(
                "--out-dir {}: a non-empty directory that is not an orac report; choose another (nothing was written)",
                out.display()
            )));
        }
        // Stale charts of benchmarks that are gone would linger otherwise.
        let charts = out.join("charts");
        if charts.is_dir() {
            std::fs::remove_dir_all(&charts).map_err(|source| Error::Write {
                path: charts,
                source,
            })?;
        }
    }
    std::fs::create_dir_all(out).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    // Marked at once, so a report that fails halfway can still be replaced by the next.
    write_file(
        &out.join(MARKER),
        "written by orac report; the directory is replaced by the next one\n",
    )
}

/// Creates the page's directory, then writes it atomically: a browser never shows half a page.
fn write_file(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    super::write_atomically(path, contents)
}
