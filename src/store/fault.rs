//! Fault injection for the tests of what happens on a full disk or a crash at a bad moment,
//! so those paths run in CI without a small filesystem or a well-timed kill.
//!
//! `ORAC_FAULT` holds comma-separated faults: `enospc:POINT` makes every write at `POINT`
//! fail with "no space left on device"; `enospc:POINT@N` only the Nth, `@N+` the Nth and
//! every later one; and
//! `abort:POINT` aborts the process there. Points: `journal-append` (a torn half line is
//! written first, as a full disk leaves it), `save-run`, and `after-save` (the record is
//! saved, the journal not yet removed). Unset, it costs one environment lookup per point.

use std::collections::HashMap;
use std::sync::Mutex;

static HITS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

/// (kind, point, first pass that fails, whether later passes fail too).
fn faults() -> Vec<(String, String, usize, bool)> {
    let Ok(spec) = std::env::var("ORAC_FAULT") else {
        return Vec::new();
    };
    spec.split(',')
        .filter_map(|f| {
            let (kind, rest) = f.trim().split_once(':')?;
            let (point, from, on) = match rest.split_once('@') {
                Some((p, n)) => match n.strip_suffix('+') {
                    Some(n) => (p, n.parse().ok()?, true),
                    None => (p, n.parse().ok()?, false),
                },
                None => (rest, 1, true),
            };
            Some((kind.to_string(), point.to_string(), from, on))
        })
        .collect()
}

/// Counts a pass through `point`; true when a fault of `kind` is due there.
fn due(kind: &str, point: &str) -> bool {
    let wanted: Vec<(usize, bool)> = faults()
        .into_iter()
        .filter(|(k, p, _, _)| k == kind && p == point)
        .map(|(_, _, from, on)| (from, on))
        .collect();
    if wanted.is_empty() {
        return false;
    }
    let mut hits = HITS.lock().unwrap_or_else(|e| e.into_inner());
    let n = hits
        .get_or_insert_with(HashMap::new)
        .entry(format!("{kind}:{point}"))
        .or_insert(0);
    *n += 1;
    wanted
        .iter()
        .any(|&(from, on)| *n == from || (on && *n > from))
}

/// `Err(ENOSPC)` when a full disk is injected at `point`.
pub fn enospc(point: &str) -> std::io::Result<()> {
    if due("enospc", point) {
        Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
    } else {
        Ok(())
    }
}

/// Aborts the process when a crash is injected at `point`.
pub fn crash(point: &str) {
    if due("abort", point) {
        eprintln!("ORAC_FAULT: aborting at {point}");
        std::process::abort();
    }
}
