//! `orac verify --out-dir DIR`: each benchmark's raw output, so two backends' outputs for
//! the same inputs can be compared element by element (the GPU bring-up's emulator
//! cross-check: `--backend cuda` against `--backend emu`).
//!
//! One file per benchmark, `<id>.f32` (little-endian f32) or `<id>.u8` (bytes), with the
//! id's `/` written `--` and anything but `[A-Za-z0-9._-]` written `_`: the id comes from a
//! manifest, which may be anyone's, so it never names a path outside `dir`. A file that is
//! already there is never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::suite::Output;

/// The file `output` of benchmark `id` is written to under `dir`.
pub fn output_path(dir: &Path, id: &str, output: &Output) -> PathBuf {
    let stem: String = id
        .replace('/', "--")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // A leading dot would hide the file (and `..` must never be a name).
    let stem = stem.trim_start_matches('.');
    let ext = match output {
        Output::Bytes(_) => "u8",
        Output::F32(_) => "f32",
    };
    dir.join(format!("{stem}.{ext}"))
}

/// Writes `output` of benchmark `id` under `dir` (created if missing).
pub fn write_output(dir: &Path, id: &str, output: &Output) -> Result<()> {
    let path = output_path(dir, id, output);
    let write_err = |source| Error::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let bytes: Vec<u8> = match output {
        Output::Bytes(b) => b.clone(),
        Output::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(write_err)?;
    file.write_all(&bytes).map_err(write_err)?;
    file.sync_all().map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_directory_and_files_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::F32(vec![1.5, -2.0]);
        let path = output_path(dir.path(), "../../etc/x y/.hidden", &out);
        assert_eq!(path.parent().unwrap(), dir.path());
        assert_eq!(path.file_name().unwrap(), "--..--etc--x_y--.hidden.f32");
        write_output(dir.path(), "gemm/a/f32/m1", &out).unwrap();
        let written = std::fs::read(dir.path().join("gemm--a--f32--m1.f32")).unwrap();
        assert_eq!(
            written,
            [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat()
        );
        assert!(matches!(
            write_output(dir.path(), "gemm/a/f32/m1", &out),
            Err(Error::Write { .. })
        ));
    }
}
