//! Where each run sits on the branch: the first-parent history from the branch tip (what
//! was merged, in merge order), read with git2. Runs of other commits are kept apart.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

/// One commit of the branch.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BranchCommit {
    pub id: String,
    /// Committer time, UTC, `YYYY-MM-DD`.
    pub date: String,
    /// First line of the message.
    pub subject: String,
}

/// The branch's first-parent commits, oldest first, and each commit id's position.
#[derive(Debug, Clone, Default)]
pub struct BranchLine {
    pub commits: Vec<BranchCommit>,
    position: HashMap<String, usize>,
}

impl BranchLine {
    pub fn position(&self, commit: &str) -> Option<usize> {
        self.position.get(commit).copied()
    }

    /// Reads the first-parent history of `rev` in the repository containing `dir`.
    pub fn read(dir: &Path, rev: &str) -> Result<BranchLine> {
        let repo = git2::Repository::discover(dir).map_err(|e| {
            Error::Usage(if e.code() == git2::ErrorCode::NotFound {
                format!(
                    "{} is not inside a git repository: history orders runs along a branch's commits",
                    dir.display()
                )
            } else {
                format!("cannot open the git repository of {}: {}", dir.display(), e.message())
            })
        })?;
        // A shallow clone (GitHub's default checkout) hides most of the line: every run
        // would be set aside and a gate pass without having looked.
        if repo.is_shallow() {
            return Err(Error::Usage(
                "the repository is a shallow clone: history needs the full history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)".into(),
            ));
        }
        let tip = repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| Error::Usage(format!("unknown git revision '{rev}': {}", e.message())))?;
        let git_err = |e: git2::Error| {
            Error::Usage(format!("reading the history of '{rev}': {}", e.message()))
        };
        let mut walk = repo.revwalk().map_err(git_err)?;
        walk.push(tip.id()).map_err(git_err)?;
        walk.simplify_first_parent().map_err(git_err)?;
        let mut commits = Vec::new();
        for oid in walk {
            let oid = match oid {
                Ok(oid) => oid,
                // A shallow clone ends where its history was cut: what is there is the line.
                Err(_) => break,
            };
            let Ok(commit) = repo.find_commit(oid) else {
                break;
            };
            let secs = commit.time().seconds();
            commits.push(BranchCommit {
                id: oid.to_string(),
                date: crate::store::UtcTime::from_unix(secs).rfc3339()[..10].to_string(),
                subject: commit.summary().ok().flatten().unwrap_or("").to_string(),
            });
        }
        commits.reverse();
        let position = commits
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        Ok(BranchLine { commits, position })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &git2::Repository, msg: &str, parents: &[&git2::Commit]) -> git2::Oid {
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let tree = repo
            .find_tree(repo.index().unwrap().write_tree().unwrap())
            .unwrap();
        repo.commit(None, &sig, &sig, msg, &tree, parents).unwrap()
    }

    #[test]
    fn follows_first_parents_only() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let a = commit(&repo, "a", &[]);
        let a_c = repo.find_commit(a).unwrap();
        let b = commit(&repo, "b", &[&a_c]);
        let side = commit(&repo, "side", &[&a_c]);
        let (b_c, side_c) = (
            repo.find_commit(b).unwrap(),
            repo.find_commit(side).unwrap(),
        );
        let merge = commit(&repo, "merge side", &[&b_c, &side_c]);
        repo.reference("refs/heads/main", merge, true, "t").unwrap();

        let line = BranchLine::read(dir.path(), "main").unwrap();
        let subjects: Vec<&str> = line.commits.iter().map(|c| c.subject.as_str()).collect();
        assert_eq!(subjects, ["a", "b", "merge side"]);
        assert_eq!(line.position(&side.to_string()), None);
        assert_eq!(line.position(&merge.to_string()), Some(2));
        assert_eq!(line.commits[0].date.len(), 10);

        let err = BranchLine::read(dir.path(), "nope").unwrap_err();
        assert!(err.to_string().contains("unknown git revision 'nope'"));
    }
}
