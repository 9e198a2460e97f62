//! Writing a run record: atomically (temp file, fsync, then link into place) and never over
//! an existing file. A reader sees either no file or the whole file.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::RunRecord;
use crate::error::{Error, Result};

/// The file-name stem `save_run` gives `record` (before any `-N`): its start time and
/// short commit.
pub fn record_stem(record: &RunRecord) -> String {
    let stamp: String = record
        .started_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{stamp}-{}", record.git.short())
}

/// Saves `record` as `<results_dir>/<hardware key>/<start time>-<short sha>.json` (with
/// `-1`, `-2`… appended if that name is taken) and returns the path.
pub fn save_run(results_dir: &Path, record: &RunRecord) -> Result<PathBuf> {
    // The key and commit name the file: a record read from elsewhere (a shard to merge) must
    // not be able to place it outside `results_dir`.
    super::validate::run_record(record).map_err(Error::Usage)?;
    let dir = results_dir.join(&record.hardware.key);
    fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    let base = record_stem(record);
    let json = serde_json::to_vec_pretty(record).expect("a run record always serialises");

    let temp = dir.join(format!(".{base}.{}.tmp", std::process::id()));
    super::fault::enospc("save-run").map_err(|source| Error::Write {
        path: temp.clone(),
        source,
    })?;
    write_synced(&temp, &json).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })?;
    // hard_link fails when the target exists, unlike rename: an existing result can never
    // be replaced, and two concurrent runs cannot take the same name.
    let mut saved = None;
    for attempt in 0..10_000 {
        let name = if attempt == 0 {
            format!("{base}.json")
        } else {
            format!("{base}-{attempt}.json")
        };
        let target = dir.join(name);
        match fs::hard_link(&temp, &target) {
            Ok(()) => {
                saved = Some(target);
                break;
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(source) => {
                let _ = fs::remove_file(&temp);
                return Err(Error::Write {
                    path: target,
                    source,
                });
            }
        }
    }
    let _ = fs::remove_file(&temp);
    let saved = saved.ok_or_else(|| Error::Write {
        path: dir.join(format!("{base}.json")),
        source: std::io::Error::new(ErrorKind::AlreadyExists, "10000 runs share this name"),
    })?;
    // Make the new directory entry durable too.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(saved)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
}
