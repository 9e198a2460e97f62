//! The command line: clap parses, the commands call the library, and errors become exit
//! codes in exactly one place.

mod args;
mod baseline;
mod bisect;
mod commands;
mod compare;
mod counters;
mod export;
mod history;
mod kernels;
mod merge;
mod progress;
mod report;
mod run;
mod style;
mod verify;

pub use args::Cli;

use clap::Parser;

/// Runs orac with the process arguments and returns the exit code.
pub fn main() -> i32 {
    let outcome = Cli::parse().normalized().and_then(|mut cli| {
        if let Some(i) = cli.command.device_mut().and_then(|d| d.device) {
            select_device(i)?;
        }
        commands::dispatch(cli)
    });
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            let paint = style::Paint::stderr();
            eprintln!("{}: {e}", paint.paint(style::BAD, "error"));
            e.exit_code() as i32
        }
    }
}

/// Writes `text` to a temporary sibling of `path`, then renames it into place: a reader sees
/// the old file or the new one, never half of one.
fn write_atomically(path: &std::path::Path, text: &str) -> crate::Result<()> {
    let err = |source| crate::Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| crate::Error::Usage(format!("{}: not a file name", path.display())))?;
    let temp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&temp, text).map_err(err)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        err(e)
    })
}

/// `--device I`: narrows CUDA_VISIBLE_DEVICES to the I-th visible GPU before anything loads
/// the driver, so this process and its workers see exactly one GPU, and the run records
/// which (`environment.CUDA_VISIBLE_DEVICES`).
fn select_device(index: usize) -> crate::Result<()> {
    let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    let chosen = device_entry(visible.as_deref(), index)?;
    crate::backend::request_device(index);
    // SAFETY: called first thing in main, before any thread is started.
    unsafe { std::env::set_var("CUDA_VISIBLE_DEVICES", chosen) };
    Ok(())
}

/// The entry of a CUDA_VISIBLE_DEVICES list (or the plain index when unset) for `--device`.
fn device_entry(visible: Option<&str>, index: usize) -> crate::Result<String> {
    match visible {
        None => Ok(index.to_string()),
        Some(list) => {
            let entries: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .collect();
            entries.get(index).map(|e| e.to_string()).ok_or_else(|| {
                crate::Error::Usage(format!(
                    "--device {index}: CUDA_VISIBLE_DEVICES={list} shows {} GPU(s), numbered from 0",
                    entries.len()
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_index_picks_from_the_visible_list() {
        assert_eq!(device_entry(None, 3).unwrap(), "3");
        assert_eq!(device_entry(Some("4,5,6"), 1).unwrap(), "5");
        assert_eq!(
            device_entry(Some("GPU-abc, GPU-def"), 1).unwrap(),
            "GPU-def"
        );
        let err = device_entry(Some("4,5"), 2).unwrap_err().to_string();
        assert!(err.contains("shows 2 GPU(s)"), "{err}");
    }
}
