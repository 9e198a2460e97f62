//! Git provenance of a run, read with git2 from the working directory's repository.
//! Outside a repository the run is still recorded, with the commit unknown.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    /// Full commit id of HEAD; `None` outside a repository or before the first commit.
    pub commit: Option<String>,
    /// Branch name; `None` on a detached HEAD or outside a repository.
    pub branch: Option<String>,
    /// Tracked files differ from HEAD (untracked files do not count).
    pub dirty: Option<bool>,
}

impl GitInfo {
    pub fn unknown() -> Self {
        GitInfo {
            commit: None,
            branch: None,
            dirty: None,
        }
    }

    /// First 7 hex digits of the commit, or `nogit`, for file names.
    pub fn short(&self) -> String {
        match &self.commit {
            Some(c) => c.chars().take(7).collect(),
            None => "nogit".to_string(),
        }
    }
}

/// Provenance of the repository containing `dir`, and a warning when it is incomplete.
pub fn provenance(dir: &Path) -> (GitInfo, Option<String>) {
    let repo = match git2::Repository::discover(dir) {
        Ok(repo) => repo,
        Err(e) => {
            let why = if e.code() == git2::ErrorCode::NotFound {
                format!("{} is not in a git repository", dir.display())
            } else {
                format!(
                    "the git repository of {} is unreadable ({})",
                    dir.display(),
                    e.message()
                )
            };
            return (
                GitInfo::unknown(),
                Some(format!("{why}: the run is recorded with commit unknown")),
            );
        }
    };
    let head = match repo.head() {
        Ok(head) => head,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => {
            return (
                GitInfo::unknown(),
                Some("the git repository has no commit yet: commit unknown".to_string()),
            );
        }
        Err(e) => {
            return (
                GitInfo::unknown(),
                Some(format!(
                    "git HEAD is unreadable ({}): the run is recorded with commit unknown",
                    e.message()
                )),
            );
        }
    };
    let commit = head.peel_to_commit().ok().map(|c| c.id().to_string());
    let branch = if head.is_branch() {
        head.shorthand().ok().map(str::to_string)
    } else {
        None
    };
    let dirty = if repo.is_bare() {
        None
    } else {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(false).include_ignored(false);
        repo.statuses(Some(&mut opts)).ok().map(|s| !s.is_empty())
    };
    let warning = match (&commit, dirty) {
        (None, _) => Some("the repository has no commit yet: commit unknown".to_string()),
        (Some(_), Some(true)) => {
            Some("the working tree has uncommitted changes: the run is marked dirty".to_string())
        }
        _ => None,
    };
    (
        GitInfo {
            commit,
            branch,
            dirty,
        },
        warning,
    )
}

/// Whether `kernels/` at `commit` of the repository containing `dir` holds exactly `files`
/// (paths relative to `kernels/`, and their text). `None` when that cannot be read, or when
/// that commit has no `kernels/` (a repository that is not a kernel tree).
pub fn kernels_match(dir: &Path, commit: &str, files: &[(&str, &str)]) -> Option<bool> {
    let repo = git2::Repository::discover(dir).ok()?;
    let tree = repo
        .revparse_single(commit)
        .ok()?
        .peel_to_commit()
        .ok()?
        .tree()
        .ok()?;
    let entry = tree.get_path(Path::new("kernels")).ok()?;
    let kernels = repo.find_tree(entry.id()).ok()?;
    let mut found = 0usize;
    let mut same = true;
    kernels
        .walk(git2::TreeWalkMode::PreOrder, |root, e| {
            if e.kind() != Some(git2::ObjectType::Blob) {
                return git2::TreeWalkResult::Ok;
            }
            let path = format!("{root}{}", e.name().unwrap_or(""));
            found += 1;
            let blob = repo.find_blob(e.id());
            let equal = files.iter().any(|(p, text)| {
                *p == path && blob.as_ref().is_ok_and(|b| b.content() == text.as_bytes())
            });
            if equal {
                git2::TreeWalkResult::Ok
            } else {
                same = false;
                git2::TreeWalkResult::Abort
            }
        })
        .ok();
    Some(same && found == files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_repository_is_unknown_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let (info, warning) = provenance(dir.path());
        assert_eq!(info, GitInfo::unknown());
        assert_eq!(info.short(), "nogit");
        assert!(warning.unwrap().contains("not in a git repository"));
    }

    #[test]
    fn reads_commit_branch_and_dirty_flag() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        std::fs::write(dir.path().join("a.txt"), "one").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.txt")).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let id = repo
            .commit(Some("HEAD"), &sig, &sig, "first", &tree, &[])
            .unwrap();
        index.write().unwrap();

        let (info, warning) = provenance(dir.path());
        assert_eq!(info.commit.as_deref(), Some(id.to_string().as_str()));
        assert!(info.branch.is_some());
        assert_eq!(info.dirty, Some(false));
        assert!(warning.is_none());
        assert_eq!(info.short().len(), 7);

        std::fs::write(dir.path().join("a.txt"), "two").unwrap();
        let (info, warning) = provenance(dir.path());
        assert_eq!(info.dirty, Some(true));
        assert!(warning.unwrap().contains("dirty"));

        // Detached HEAD (CI checkouts): the commit is known, the branch is not.
        repo.set_head_detached(id).unwrap();
        let (info, _) = provenance(dir.path());
        assert_eq!(info.commit.as_deref(), Some(id.to_string().as_str()));
        assert_eq!(info.branch, None);
    }
}
