//! A kernel tree is a set of files laid out like `kernels/`: the sources built into orac,
//! or a directory given with `--kernels`. Everything about a kernel is read through it, so
//! any revision of the kernels can be benchmarked without rebuilding orac.

use std::path::PathBuf;

use crate::error::{Error, Result};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_kernels.rs"));
}

#[derive(Debug, Clone)]
pub enum KernelTree {
    /// The `kernels/` directory as it was when this orac binary was built.
    Embedded,
    /// A directory with the same layout as `kernels/`.
    Dir(PathBuf),
}

impl KernelTree {
    /// Reads `rel` (a `/`-separated path relative to the tree's root).
    pub fn read(&self, rel: &str) -> Result<String> {
        match self {
            KernelTree::Embedded => embedded::EMBEDDED
                .iter()
                .find(|(path, _)| *path == rel)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| Error::KernelFileMissing(format!("{rel} (built-in kernels)"))),
            KernelTree::Dir(root) => {
                let path = root.join(rel);
                std::fs::read_to_string(&path).map_err(|source| {
                    if source.kind() == std::io::ErrorKind::NotFound {
                        Error::KernelFileMissing(path.display().to_string())
                    } else {
                        Error::Read { path, source }
                    }
                })
            }
        }
    }

    /// A short description for records and messages.
    pub fn describe(&self) -> String {
        match self {
            KernelTree::Embedded => "built-in".to_string(),
            KernelTree::Dir(root) => root.display().to_string(),
        }
    }

    /// Paths of every built-in kernel file, for tests and `orac info`.
    pub fn embedded_files() -> impl Iterator<Item = &'static str> {
        embedded::EMBEDDED.iter().map(|(path, _)| *path)
    }
}
