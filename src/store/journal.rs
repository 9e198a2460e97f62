//! The run journal: an append-only file written while a run is in progress, one line per
//! finished benchmark, each fsynced. A crash, a kill or a power loss loses at most the
//! benchmark that was running; `orac run --resume` picks the journal up, runs what is left
//! and assembles the final record. The journal is locked while in use, so a run and a resume
//! (or two resumes) never write it at once.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BenchResult, RunRecord, fault};
use crate::error::{Error, Result};

pub const JOURNAL_VERSION: u32 = 1;
const SUFFIX: &str = ".journal";

/// First line of a journal: everything needed to finish the run elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalHeader {
    pub journal_version: u32,
    /// The run as planned, with no benchmark results yet.
    pub record: RunRecord,
    /// Benchmark ids in the order they run.
    pub planned: Vec<String>,
    pub seed: u64,
    /// The `--kernels` directory, when the run did not use the built-in kernels.
    pub kernels_dir: Option<PathBuf>,
}

pub struct Journal {
    path: PathBuf,
    file: File,
}

/// A journal reopened by `Journal::resume`.
pub struct Resumed {
    pub journal: Journal,
    pub header: JournalHeader,
    /// The valid results it holds, each id once.
    pub results: Vec<BenchResult>,
    /// Lines dropped, and why.
    pub warnings: Vec<String>,
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Takes an exclusive advisory lock on `file`, failing at once if another process has it.
fn lock(file: &File, path: &Path) -> Result<()> {
    // SAFETY: flock on a file descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{} is in use by another orac process (a run or a resume in progress)",
            path.display()
        )))
    }
}

impl Journal {
    /// Starts a journal in `results_dir/<hardware key>/`.
    pub fn create(results_dir: &Path, header: &JournalHeader) -> Result<Journal> {
        super::validate::run_record(&header.record).map_err(Error::Usage)?;
        let dir = results_dir.join(&header.record.hardware.key);
        fs::create_dir_all(&dir).map_err(write_err(&dir))?;
        let stamp: String = header
            .record
            .started_at
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let path = dir.join(format!(
            "{stamp}-{}-{}{SUFFIX}",
            header.record.git.short(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(write_err(&path))?;
        lock(&file, &path)?;
        let mut journal = Journal { path, file };
        journal.write_line(&serde_json::to_string(header).expect("header serialises"))?;
        Ok(journal)
    }

    /// Reopens a journal to continue it: its header, the results it holds, and the journal
    /// ready for appending. A torn last line (the process died mid-write) is cut off; any
    /// other line that is not a valid result is dropped with a warning, never the journal.
    pub fn resume(path: &Path) -> Result<Resumed> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Read {
                path: path.to_path_buf(),
                source,
            })?;
        lock(&file, path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::CorruptFile {
                path: path.to_path_buf(),
                reason: format!("unreadable journal: {e}"),
            })?;
        let mut warnings = Vec::new();
        // Cut at the last complete line: a write torn mid-line (even mid-character) is dropped.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < bytes.len() {
            file.set_len(complete as u64).map_err(write_err(path))?;
            file.seek(SeekFrom::End(0)).map_err(write_err(path))?;
            warnings.push(format!(
                "{}: dropped a torn last line ({} bytes): the benchmark it held runs again",
                path.display(),
                bytes.len() - complete
            ));
        }
        let corrupt = |reason: String| Error::CorruptFile {
            path: path.to_path_buf(),
            reason,
        };
        let mut lines = bytes[..complete].split(|&b| b == b'\n');
        let header: JournalHeader = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or_else(|| corrupt("empty journal".into()))
            .and_then(|l| {
                serde_json::from_slice(l).map_err(|e| corrupt(format!("bad journal header: {e}")))
            })?;
        if header.journal_version != JOURNAL_VERSION {
            return Err(corrupt(format!(
                "journal version {}, this orac reads {JOURNAL_VERSION}",
                header.journal_version
            )));
        }
        super::validate::run_record(&header.record).map_err(corrupt)?;
        let mut results: Vec<BenchResult> = Vec::new();
        for (i, line) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
            let parsed = serde_json::from_slice::<BenchResult>(line)
                .map_err(|e| e.to_string())
                .and_then(|r| super::validate::bench_result(&r).map(|_| r));
            match parsed {
                Ok(r) if results.iter().any(|k| k.id == r.id) => warnings.push(format!(
                    "{} line {}: {} is there twice: the first is kept",
                    path.display(),
                    i + 2,
                    r.id
                )),
                Ok(r) => results.push(r),
                Err(e) => warnings.push(format!(
                    "{} line {}: dropped, not a valid result ({e}): that benchmark runs again",
                    path.display(),
                    i + 2
                )),
            }
        }
        Ok(Resumed {
            journal: Journal {
                path: path.to_path_buf(),
                file,
            },
            header,
            results,
            warnings,
        })
    }

    /// Appends one line and syncs it. A failed append (a full disk) is cut back to where it
    /// began, so a torn half line never sits in front of later results.
    fn write_line(&mut self, line: &str) -> Result<()> {
        let err = write_err(&self.path);
        let start = self.file.metadata().map(|m| m.len()).ok();
        let bytes = format!("{line}\n");
        let written = fault::enospc("journal-append")
            .inspect_err(|_| {
                // What a full disk leaves behind: part of the line.
                let _ = self.file.write_all(&bytes.as_bytes()[..bytes.len() / 2]);
            })
            .and_then(|_| self.file.write_all(bytes.as_bytes()))
            .and_then(|_| self.file.sync_data());
        if let Err(e) = written {
            if let Some(start) = start {
                let _ = self.file.set_len(start);
            }
            return Err(err(e));
        }
        Ok(())
    }

    /// Records one finished benchmark durably.
    pub fn append(&mut self, result: &BenchResult) -> Result<()> {
        self.write_line(&serde_json::to_string(result).expect("a result serialises"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run's record is saved: the journal is no longer needed.
    pub fn remove(self) -> Result<()> {
        fs::remove_file(&self.path).map_err(write_err(&self.path))
    }
}

/// Unfinished journals under `results_dir/<key>/`, oldest first.
pub fn find_journals(results_dir: &Path, key: &str) -> Result<Vec<PathBuf>> {
    let dir = results_dir.join(key);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(SUFFIX))
        .collect();
    found.sort();
    Ok(found)
}
