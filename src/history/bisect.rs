//! The search of `orac bisect`, apart from any measuring: commits `0..n` lie between a good
//! revision (before 0) and a bad one (n − 1 is the bad revision itself); `probe(i)` says
//! whether commit i is good, bad, or cannot be tested (kernels that do not compile). Commits
//! that cannot be tested are stepped around, as `git bisect skip` does.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeVerdict {
    Good,
    Bad,
    Skip,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BisectResult {
    /// The first bad commit.
    Found(usize),
    /// Untestable commits hide which of these (ascending, the last one bad) came first.
    Among(Vec<usize>),
}

/// Binary search for the first bad commit; each commit is probed at most once.
pub fn bisect(n: usize, probe: &mut dyn FnMut(usize) -> ProbeVerdict) -> BisectResult {
    assert!(n > 0, "the bad revision is commit n − 1");
    // Invariant: everything ≤ good is good (−1: the good revision), bad is bad.
    let (mut good, mut bad) = (-1_i64, n as i64 - 1);
    let mut skipped = vec![false; n];
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        // The untested commit nearest the middle, alternating outwards.
        let candidate = (0..(bad - good))
            .flat_map(|d| [mid + d, mid - d])
            .find(|&c| c > good && c < bad && !skipped[c as usize]);
        let Some(c) = candidate else {
            return BisectResult::Among(((good + 1) as usize..=bad as usize).collect());
        };
        match probe(c as usize) {
            ProbeVerdict::Good => good = c,
            ProbeVerdict::Bad => bad = c,
            ProbeVerdict::Skip => skipped[c as usize] = true,
        }
    }
    BisectResult::Found(bad as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: usize, first_bad: usize, skip: &[usize]) -> (BisectResult, Vec<usize>) {
        let mut probed = Vec::new();
        let result = bisect(n, &mut |i| {
            assert!(!probed.contains(&i), "commit {i} probed twice");
            probed.push(i);
            if skip.contains(&i) {
                ProbeVerdict::Skip
            } else if i >= first_bad {
                ProbeVerdict::Bad
            } else {
                ProbeVerdict::Good
            }
        });
        (result, probed)
    }

    #[test]
    fn finds_every_position_in_log_probes() {
        for n in 1..40 {
            for first_bad in 0..n {
                let (result, probed) = run(n, first_bad, &[]);
                assert_eq!(result, BisectResult::Found(first_bad), "n {n}");
                assert!(
                    probed.len() <= (n as f64).log2().ceil() as usize + 1,
                    "n {n}: {probed:?}"
                );
            }
        }
    }

    #[test]
    fn steps_around_untestable_commits() {
        let (result, probed) = run(9, 5, &[3]);
        assert_eq!(result, BisectResult::Found(5));
        assert!(probed.contains(&3));
        // When untestable commits sit on the boundary, the answer is the range they hide.
        assert_eq!(run(9, 4, &[3, 4]).0, BisectResult::Among(vec![3, 4, 5]));
        assert_eq!(run(6, 3, &[2, 3]).0, BisectResult::Among(vec![2, 3, 4]));
        // Every commit untestable: the whole range.
        assert_eq!(
            run(4, 3, &[0, 1, 2]).0,
            BisectResult::Among(vec![0, 1, 2, 3])
        );
    }
}
