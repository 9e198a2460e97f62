//! A kernel tree is a set of files laid out like `kernels/`: the sources built into orac,
//! or a directory given with `--kernels`. Everything about a kernel is read through it, so
//! any revision of the kernels can be benchmarked without rebuilding orac.

use std::path::{Path, PathBuf};

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
    /// `kernels/` of a commit, read straight from a git repository (no checkout).
    Git { repo: PathBuf, commit: String },
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
            KernelTree::Git { repo, commit } => read_from_git(repo, commit, rel),
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
            KernelTree::Git { commit, .. } => format!("git:{}", &commit[..commit.len().min(12)]),
        }
    }

    /// Every built-in kernel file: its path relative to `kernels/`, and its text.
    pub fn embedded() -> &'static [(&'static str, &'static str)] {
        embedded::EMBEDDED
    }

    /// Paths of every built-in kernel file, for tests and `orac info`.
    pub fn embedded_files() -> impl Iterator<Item = &'static str> {
        embedded::EMBEDDED.iter().map(|(path, _)| *path)
    }
}

fn git_error(repo: &Path, what: String) -> Error {
    Error::Usage(format!("{}: {what}", repo.display()))
}

/// Reads `kernels/<rel>` at `commit` from the repository at `repo`.
fn read_from_git(repo_path: &Path, commit: &str, rel: &str) -> Result<String> {
    let repo = git2::Repository::open(repo_path)
        .map_err(|e| git_error(repo_path, e.message().to_string()))?;
    let oid =
        git2::Oid::from_str(commit).map_err(|e| git_error(repo_path, e.message().to_string()))?;
    let tree = repo
        .find_commit(oid)
        .and_then(|c| c.tree())
        .map_err(|e| git_error(repo_path, e.message().to_string()))?;
    let short = &commit[..commit.len().min(7)];
    let missing = || Error::KernelFileMissing(format!("kernels/{rel} at commit {short}"));
    let entry = tree
        .get_path(&Path::new("kernels").join(rel))
        .map_err(|_| missing())?;
    let blob = entry
        .to_object(&repo)
        .and_then(|o| o.peel_to_blob())
        .map_err(|_| missing())?;
    String::from_utf8(blob.content().to_vec()).map_err(|_| Error::Manifest {
        path: format!("kernels/{rel} at commit {short}"),
        reason: "not UTF-8 text".into(),
    })
}

/// Resolves `rev` (a branch, tag, sha, `HEAD~2`…) in the repository containing `dir` to
/// the repository's root and the full commit id.
pub fn resolve_revision(dir: &Path, rev: &str) -> Result<(PathBuf, String)> {
    let repo = git2::Repository::discover(dir)
        .map_err(|_| Error::Usage(format!("{} is not inside a git repository", dir.display())))?;
    let commit = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| {
            Error::Usage(format!(
                "unknown git revision '{rev}' in {}: {}",
                repo.path().display(),
                e.message()
            ))
        })?;
    let root = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    Ok((root, commit.id().to_string()))
}

/// Files outside `kernels/` that differ between commits `base` and `head` of the
/// repository at `repo` (sorted), or `None` when git cannot tell. An A/B runs one build of
/// orac (head's) on both sides, so changes to these files are never what it measures.
pub fn host_changes(repo: &Path, base: &str, head: &str) -> Option<Vec<String>> {
    let repo = git2::Repository::open(repo).ok()?;
    let tree = |rev: &str| {
        repo.revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .and_then(|c| c.tree())
            .ok()
    };
    let (a, b) = (tree(base)?, tree(head)?);
    let diff = repo.diff_tree_to_tree(Some(&a), Some(&b), None).ok()?;
    let mut files: Vec<String> = diff
        .deltas()
        .flat_map(|d| [d.old_file().path(), d.new_file().path()])
        .flatten()
        .filter(|p| !p.starts_with("kernels"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    files.dedup();
    Some(files)
}
