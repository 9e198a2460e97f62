//! Checks on what a results file, journal or baseline claims, before anything is built from
//! it. These files are untrusted data: a name that becomes part of a path (hardware key,
//! commit) must not be able to leave its directory, and times must be times.

use std::collections::BTreeSet;

use super::{Baseline, BenchResult, RunRecord};

/// Longest hardware key or path component accepted.
const MAX_NAME: usize = 128;
/// Longest benchmark id accepted.
const MAX_ID: usize = 256;

/// A name used as one path component (a hardware key): ASCII letters, digits, `.`, `_`, `-`,
/// not starting with `.` (so never `.` or `..`, and never a hidden file), at most 128 bytes.
pub fn path_component(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {:?} is not a safe name (1 to {MAX_NAME} of A-Z a-z 0-9 . _ -, not starting with a dot)",
            shorten(name)
        ))
    }
}

/// A benchmark id: `/`-separated parts, each a safe name (`+` and `=` allowed too), at most
/// 256 bytes in all.
pub fn benchmark_id(id: &str) -> Result<(), String> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'='))
    };
    if !id.is_empty() && id.len() <= MAX_ID && id.split('/').all(part_ok) {
        Ok(())
    } else {
        Err(format!(
            "benchmark id {:?} is not a valid id (parts of A-Z a-z 0-9 . _ - + = separated by /, at most {MAX_ID} bytes)",
            shorten(id)
        ))
    }
}

/// A git commit id: 4 to 64 hex digits.
pub fn commit(c: &str) -> Result<(), String> {
    if (4..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!("commit {:?} is not a hex commit id", shorten(c)))
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        s.chars().take(80).collect::<String>() + "…"
    }
}

fn positive(what: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(format!("{what} is {x}: a time must be positive and finite"))
    }
}

/// One benchmark result: its id, and its times (every sample and summary figure positive
/// and finite).
pub fn bench_result(b: &BenchResult) -> Result<(), String> {
    benchmark_id(&b.id)?;
    let at = |what: &str| format!("benchmark {}: {what}", b.id);
    for (i, s) in b.samples.iter().enumerate() {
        positive(&at(&format!("sample {i}")), *s)?;
    }
    if let Some(s) = &b.summary {
        for (what, x) in [
            ("median", s.median),
            ("ci_low", s.ci_low),
            ("ci_high", s.ci_high),
        ] {
            positive(&at(what), x)?;
        }
    }
    Ok(())
}

/// A whole run record: names that become paths, every result, and no id twice.
pub fn run_record(r: &RunRecord) -> Result<(), String> {
    path_component("hardware key", &r.hardware.key)?;
    if let Some(c) = &r.git.commit {
        commit(c)?;
    }
    let mut seen = BTreeSet::new();
    for b in &r.benchmarks {
        bench_result(b)?;
        if !seen.insert(b.id.as_str()) {
            return Err(format!("benchmark {} appears twice", b.id));
        }
    }
    Ok(())
}

/// A baseline: its key (it names the file), its commits, and positive times.
pub fn baseline(b: &Baseline) -> Result<(), String> {
    path_component("hardware key", &b.hardware_key)?;
    path_component("hardware key", &b.hardware.key)?;
    for (id, e) in &b.benchmarks {
        benchmark_id(id)?;
        if let Some(c) = &e.commit {
            commit(c)?;
        }
        let at = |what: &str| format!("benchmark {id}: {what}");
        for (what, x) in [
            ("median", e.median),
            ("ci_low", e.ci_low),
            ("ci_high", e.ci_high),
        ] {
            positive(&at(what), x)?;
        }
        for (i, p) in e.points.iter().enumerate() {
            positive(&at(&format!("point {i}")), *p)?;
        }
        if !(e.noise.is_finite() && e.noise >= 0.0) {
            return Err(at(&format!("noise is {}", e.noise)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_a_directory_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "./../../etc",
            "a/b",
            "a\\b",
            "/abs",
            ".hidden",
            "a\0b",
            "é",
            &"x".repeat(129),
        ] {
            assert!(path_component("key", bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "cpu-amd-epyc-7b13-x2",
            "nvidia-h100-80gb-hbm3",
            "emu-sm_90a",
            "a.b",
        ] {
            assert!(path_component("key", good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn benchmark_ids_and_commits() {
        assert!(benchmark_id("memcpy/copy-st/u8/64MiB").is_ok());
        assert!(benchmark_id("attention/naive/f32/b1h2sq200sk200d64-causal").is_ok());
        for bad in ["", "a//b", "a/../b", "/a", "a/", "a b", "a/.x"] {
            assert!(benchmark_id(bad).is_err(), "{bad:?} accepted");
        }
        assert!(commit("c9d3b3d").is_ok());
        assert!(commit(&"ab".repeat(20)).is_ok());
        for bad in ["", "xyz1234", "../../..", "abc"] {
            assert!(commit(bad).is_err(), "{bad:?} accepted");
        }
    }
}
