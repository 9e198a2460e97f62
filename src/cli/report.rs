//! `orac report --out-dir DIR`: gathers the history, verdicts and roofline of each hardware key
//! and writes the static HTML report.

use std::path::{Path, PathBuf};

use super::args::ReportArgs;
use super::history::options;
use crate::chart::{Ceiling, RooflinePoint};
use crate::error::{Error, Result};
use crate::history::{self, HistoryOptions};
use crate::regress::{CompareConfig, SideContext, compare_independent, resolve_side};
use crate::report::{KeyReport, ReportMeta, report_files};
use crate::store::{self, Status, baseline_path};
use crate::suite::{Family, Filter};

/// Marks a directory as written by `orac report`, so it may be replaced.
const MARKER: &str = ".orac-report";

pub fn report(args: ReportArgs) -> Result<()> {
    let base_opts = options(&args.series, args.hardware.as_deref())?;
    let filter = Filter::new(args.series.filter.as_deref())?;
    let keys = match &args.hardware {
        Some(k) => vec![history::choose_hardware(&args.series.results_dir, Some(k))?],
        // `orac counters` records hold counts, not timings: nothing for these pages to chart
        None => history::hardware_keys(&args.series.results_dir)?
            .into_iter()
            .filter(|k| {
                let counts = k == crate::backend::emu::HARDWARE_KEY;
                if counts {
                    eprintln!(
                        "report: {k} left out: it holds emulator counters, not timings (`orac show`, `orac compare` and `orac kernels` show them)"
                    );
                }
                !counts
            })
            .collect(),
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
    let meta = ReportMeta {
        generated_at: store::utc_now().rfc3339(),
        commit_url: commit_url(args.commit_url.as_deref(), &base_opts.repo_dir)?,
    };
    let files = report_files(&reports, &meta);
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
                    href: None,
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

/// The commit link template: the one given (`""`: none), else the CI's repository, else the
/// `origin` remote's when it is on a forge whose commit pages are known.
fn commit_url(given: Option<&str>, repo_dir: &Path) -> Result<Option<String>> {
    if let Some(t) = given {
        if t.is_empty() {
            return Ok(None);
        }
        if !(t.starts_with("https://") || t.starts_with("http://")) || !t.contains("{commit}") {
            return Err(Error::Usage(format!(
                "--commit-url {t}: an http(s) URL with {{commit}} in it, or \"\" for none"
            )));
        }
        return Ok(Some(t.to_string()));
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(server), Some(repo)) = (env("GITHUB_SERVER_URL"), env("GITHUB_REPOSITORY"))
        && server.starts_with("https://")
    {
        return Ok(Some(format!(
            "{}/{repo}/commit/{{commit}}",
            server.trim_end_matches('/')
        )));
    }
    let remote = git2::Repository::open(repo_dir)
        .ok()
        .and_then(|r| r.find_remote("origin").ok()?.url().ok().map(str::to_string));
    Ok(remote.as_deref().and_then(forge_commit_url))
}

/// `https://github.com/o/r/commit/{commit}` for an `origin` of github.com, gitlab.com or
/// codeberg.org (https, ssh or scp-like `git@host:o/r.git`); `None` for any other.
pub fn forge_commit_url(remote: &str) -> Option<String> {
    let rest = remote
        .strip_prefix("https://")
        .or_else(|| remote.strip_prefix("ssh://git@"))
        .or_else(|| remote.strip_prefix("git@"))?;
    let (host, path) = rest.split_once(['/', ':'])?;
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
    if path.is_empty() || path.starts_with('/') || path.contains("..") || !path.chars().all(safe) {
        return None;
    }
    let commit = match host {
        "github.com" | "codeberg.org" => "commit",
        "gitlab.com" => "-/commit",
        _ => return None,
    };
    Some(format!("https://{host}/{path}/{commit}/{{commit}}"))
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
        // The earlier report goes whole: pages of benchmarks or keys that are gone would
        // linger otherwise. (The marker says the directory is the report's.)
        let entries = std::fs::read_dir(out).map_err(|source| Error::Read {
            path: out.to_path_buf(),
            source,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name() == MARKER {
                continue;
            }
            let removed = if path.is_dir() && !path.is_symlink() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|source| Error::Write { path, source })?;
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

#[cfg(test)]
mod tests {
    use super::forge_commit_url;

    #[test]
    fn commit_urls_come_only_from_known_forges() {
        let gh = Some("https://github.com/o/r/commit/{commit}".to_string());
        assert_eq!(forge_commit_url("https://github.com/o/r.git"), gh);
        assert_eq!(forge_commit_url("git@github.com:o/r.git"), gh);
        assert_eq!(forge_commit_url("ssh://git@github.com/o/r"), gh);
        assert_eq!(
            forge_commit_url("https://gitlab.com/g/sub/r.git").as_deref(),
            Some("https://gitlab.com/g/sub/r/-/commit/{commit}")
        );
        for other in [
            "https://example.org/o/r.git",
            "/srv/git/r.git",
            "https://github.com/o/r\"onclick=x",
            "https://github.com/../x",
            "https://user@github.com/o/r",
        ] {
            assert_eq!(forge_commit_url(other), None, "{other}");
        }
    }
}
