//! Reading run records back, with errors that name the file and say what is wrong.

use std::path::{Path, PathBuf};

use super::{RunRecord, SCHEMA_VERSION};
use crate::error::{Error, Result};

/// Larger files are refused before they are read: no run record comes near this, and
/// reading a multi-gigabyte file by mistake would exhaust memory.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads `path` whole, refusing anything but a regular file and files over
/// `MAX_FILE_BYTES`. A FIFO, a device or a symlink to `/dev/zero` named `*.json` is refused
/// rather than read forever: the file is opened without blocking, its type is checked on the
/// opened descriptor, and the read itself is bounded (metadata says 0 bytes for such files).
pub fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let too_big = |len: u64| Error::CorruptFile {
        path: path.to_path_buf(),
        reason: format!("{len} bytes is larger than any orac file can be ({MAX_FILE_BYTES})"),
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(Error::CorruptFile {
            path: path.to_path_buf(),
            reason: "not a regular file (a directory, FIFO, socket or device)".into(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
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
    let record: RunRecord = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    super::validate::run_record(&record).map_err(corrupt)?;
    Ok(record)
}

/// Paths of the run records under `results_dir` (`<hardware key>/*.json`), oldest first by
/// file name (names start with the UTC start time). A missing directory holds no runs. Only
/// regular files count; a symlinked key directory or run file is followed, but each file is
/// listed once (by its canonical path), and a link that leads nowhere or loops is skipped.
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
    let mut seen = std::collections::HashSet::new();
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
            if !name.is_some_and(|n| n.ends_with(".json") && !n.starts_with('.')) {
                continue;
            }
            // `metadata` follows links: FIFOs, devices and dangling or looping links drop out.
            let regular = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
            if regular
                && let Ok(canonical) = path.canonicalize()
                && seen.insert(canonical)
            {
                runs.push(path);
            }
        }
    }
    runs.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then(a.cmp(b)));
    Ok(runs)
}
