//! Reading run records back, with errors that name the file and say what is wrong.

use std::path::{Path, PathBuf};

use super::{RunRecord, SCHEMA_VERSION};
use crate::error::{Error, Result};

/// Larger files are refused before they are read: no run record comes near this, and
/// reading a multi-gigabyte file by mistake would exhaust memory.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads `path` whole, refusing files over `MAX_FILE_BYTES`.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > MAX_FILE_BYTES {
        return Err(Error::CorruptFile {
            path: path.to_path_buf(),
            reason: format!("{len} bytes is larger than any orac file can be ({MAX_FILE_BYTES})"),
        });
    }
    std::fs::read(path).map_err(read_err)
}

/// Loads one run record, checking its schema version before its shape.
pub fn load_run(path: &Path) -> Result<RunRecord> {
    let bytes = read_bounded(path)?;
    let corrupt = |reason: String| Error::CorruptFile {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(corrupt("the file is empty".into()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("invalid JSON: {e}")))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        None => return Err(corrupt("no schema_version: not an orac run record".into())),
        Some(v) if v != u64::from(SCHEMA_VERSION) => {
            return Err(corrupt(format!(
                "schema version {v}, but this orac reads version {SCHEMA_VERSION}{}",
                if v > u64::from(SCHEMA_VERSION) {
                    " (written by a newer orac: upgrade)"
                } else {
                    ""
                }
            )));
        }
        Some(_) => {}
    }
    serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
}

/// Paths of the run records under `results_dir` (`<hardware key>/*.json`), oldest first by
/// file name (names start with the UTC start time). A missing directory holds no runs.
pub fn find_runs(results_dir: &Path) -> Result<Vec<PathBuf>> {
    let read_dir = |dir: &Path| {
        std::fs::read_dir(dir).map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })
    };
    if !results_dir.exists() {
        return Ok(Vec::new());
    }
    let mut runs = Vec::new();
    for hw in read_dir(results_dir)? {
        let hw = hw.map_err(|source| Error::Read {
            path: results_dir.to_path_buf(),
            source,
        })?;
        if !hw.path().is_dir() {
            continue;
        }
        for entry in read_dir(&hw.path())? {
            let path = entry
                .map_err(|source| Error::Read {
                    path: hw.path(),
                    source,
                })?
                .path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.ends_with(".json") && !n.starts_with('.')) {
                runs.push(path);
            }
        }
    }
    runs.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then(a.cmp(b)));
    Ok(runs)
}
