//! Exact comparison of the emulator's counters (`orac counters`, `orac ab --backend emu`):
//! no statistics, since a count either changed or did not. Four derived metrics gate:
//! shared-memory bank-conflict ways, global sectors over the ideal, ptxas spills and SIMT
//! efficiency, each only when it got worse. Every other count that changed is shown, never
//! gated (docs/EMULATOR.md, "Counters").

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

/// Counts of one benchmark, by name.
pub type Counts = BTreeMap<String, u64>;

/// A derived metric: `num / den` of counts (scaled), compared exactly as a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

impl Ratio {
    pub fn value(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    fn cmp_exact(self, other: Ratio) -> Ordering {
        (self.num as u128 * other.den as u128).cmp(&(other.num as u128 * self.den as u128))
    }
}

/// Which way of a metric is worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Worse {
    Higher,
    Lower,
}

/// A gated metric: its name, how it is derived, and which way is worse.
struct Gate {
    name: &'static str,
    what: &'static str,
    /// numerator counts (added), denominator counts (added) times `scale`; a denominator of
    /// no counts means 1
    num: &'static [&'static str],
    den: &'static [&'static str],
    scale: u64,
    worse: Worse,
}

const GATES: &[Gate] = &[
    Gate {
        name: "shared.ld.ways",
        what: "shared-memory load wavefronts per ideal wavefront (bank-conflict ways)",
        num: &["shared.ld.wavefronts"],
        den: &["shared.ld.ideal_wavefronts"],
        scale: 1,
        worse: Worse::Higher,
    },
    Gate {
        name: "shared.st.ways",
        what: "shared-memory store wavefronts per ideal wavefront",
        num: &["shared.st.wavefronts"],
        den: &["shared.st.ideal_wavefronts"],
        scale: 1,
        worse: Worse::Higher,
    },
    Gate {
        name: "shared.ldmatrix.ways",
        what: "ldmatrix wavefronts per ideal wavefront (one per 8x8 matrix)",
        num: &["shared.ldmatrix.wavefronts"],
        den: &["shared.ldmatrix.ideal_wavefronts"],
        scale: 1,
        worse: Worse::Higher,
    },
    Gate {
        name: "global.ld.sectors_per_ideal",
        what: "global load sectors per sector the bytes needed (uncoalesced loads)",
        num: &["global.ld.sectors"],
        den: &["global.ld.ideal_sectors"],
        scale: 1,
        worse: Worse::Higher,
    },
    Gate {
        name: "global.st.sectors_per_ideal",
        what: "global store sectors per sector the bytes needed",
        num: &["global.st.sectors"],
        den: &["global.st.ideal_sectors"],
        scale: 1,
        worse: Worse::Higher,
    },
    Gate {
        name: "cp_async.sectors_per_ideal",
        what: "cp.async global sectors per sector the bytes needed",
        num: &["cp_async.global_sectors"],
        den: &["cp_async.ideal_sectors"],
        scale: 1,
        worse: Worse::Higher,
    },
    Gate {
        name: "ptxas.spill_bytes",
        what: "bytes of spill stores and loads ptxas reports for sm_90a",
        num: &["ptxas.spill_stores", "ptxas.spill_loads"],
        den: &[],
        scale: 1,
        worse: Worse::Higher,
    },
    Gate {
        name: "simt.efficiency",
        what: "active threads per warp-instruction, of 32",
        num: &["inst.thread_executed"],
        den: &["inst.executed"],
        scale: 32,
        worse: Worse::Lower,
    },
];

/// What each gated metric means, for reports.
pub fn gated_metrics() -> impl Iterator<Item = (&'static str, &'static str)> {
    GATES.iter().map(|g| (g.name, g.what))
}

/// A gated metric of `counts`, `None` where it has nothing to measure (no such accesses).
pub fn metric(counts: &Counts, name: &str) -> Option<Ratio> {
    let g = GATES.iter().find(|g| g.name == name)?;
    ratio(counts, g)
}

fn ratio(counts: &Counts, g: &Gate) -> Option<Ratio> {
    let sum = |names: &[&str]| -> Option<u64> {
        let present: Vec<u64> = names
            .iter()
            .filter_map(|n| counts.get(*n).copied())
            .collect();
        (!present.is_empty()).then(|| present.iter().sum())
    };
    let num = if g.den.is_empty() {
        // a plain count (spills): present when ptxas reported, zero or not
        sum(g.num)?
    } else {
        sum(g.num).unwrap_or(0)
    };
    let den = if g.den.is_empty() { 1 } else { sum(g.den)? };
    (den > 0).then_some(Ratio {
        num,
        den: den * g.scale,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// A gated metric got worse: the gate fails.
    Worse,
    /// A gated metric got better.
    Better,
    /// A count that changed and does not gate.
    Changed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub name: String,
    /// The old and new value (a count, or a gated metric's value).
    pub old: Option<f64>,
    pub new: Option<f64>,
    pub effect: Effect,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchChanges {
    pub id: String,
    /// Gated metrics first (worse, then better), then the other counts that changed.
    pub changes: Vec<Change>,
    /// Where the head's worse metrics come from: its worst instructions of that kind
    /// (`file:line (PTX line n) kind: …`), filled in by whoever has the hotspots.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hotspots: Vec<String>,
}

impl BenchChanges {
    pub fn worse(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.effect == Effect::Worse)
            .count()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CountersComparison {
    pub base: String,
    pub head: String,
    /// What compiled the PTX both sides ran (the same NVRTC: checked).
    pub compiler: Option<String>,
    /// Benchmarks counted on both sides.
    pub compared: usize,
    /// Those where some count changed.
    pub changed: Vec<BenchChanges>,
    /// Counted on one side only.
    pub only_base: Vec<String>,
    pub only_head: Vec<String>,
    /// Benchmarks left out because their kernel is the same in both trees
    /// (`--changed-only`).
    pub unchanged: usize,
}

impl CountersComparison {
    /// Gated metrics that got worse, over all benchmarks.
    pub fn worse(&self) -> usize {
        self.changed.iter().map(BenchChanges::worse).sum()
    }
}

/// Compares one benchmark's counts: every gated metric that changed (worse or better), then
/// every raw count that changed.
pub fn compare_counts(id: &str, base: &Counts, head: &Counts) -> Option<BenchChanges> {
    let mut gated = Vec::new();
    for g in GATES {
        let (old, new) = (ratio(base, g), ratio(head, g));
        let effect = match (old, new) {
            (Some(o), Some(n)) => match (n.cmp_exact(o), g.worse) {
                (Ordering::Equal, _) => continue,
                (Ordering::Greater, Worse::Higher) | (Ordering::Less, Worse::Lower) => {
                    Effect::Worse
                }
                _ => Effect::Better,
            },
            // a metric one side has nothing to measure for (no shared loads at all) is
            // shown, never gated
            (None, None) => continue,
            _ => Effect::Changed,
        };
        gated.push(Change {
            name: g.name.to_string(),
            old: old.map(Ratio::value),
            new: new.map(Ratio::value),
            effect,
        });
    }
    gated.sort_by_key(|c| match c.effect {
        Effect::Worse => 0,
        Effect::Better => 1,
        Effect::Changed => 2,
    });
    let mut names: Vec<&String> = base.keys().chain(head.keys()).collect();
    names.sort();
    names.dedup();
    let raw = names.into_iter().filter_map(|n| {
        let (o, h) = (base.get(n), head.get(n));
        (o.copied().unwrap_or(0) != h.copied().unwrap_or(0)).then(|| Change {
            name: n.clone(),
            old: Some(o.copied().unwrap_or(0) as f64),
            new: Some(h.copied().unwrap_or(0) as f64),
            effect: Effect::Changed,
        })
    });
    // the raw counts that moved most first (a bank conflict's wavefronts before the few
    // extra integer instructions that came with it)
    let mut raw: Vec<Change> = raw.collect();
    let moved = |c: &Change| match (c.old, c.new) {
        (Some(o), Some(n)) if o > 0.0 => (n / o).ln().abs(),
        _ => f64::INFINITY,
    };
    raw.sort_by(|a, b| {
        moved(b)
            .total_cmp(&moved(a))
            .then_with(|| a.name.cmp(&b.name))
    });
    let changes: Vec<Change> = gated.into_iter().chain(raw).collect();
    (!changes.is_empty()).then(|| BenchChanges {
        id: id.to_string(),
        changes,
        hotspots: Vec::new(),
    })
}

/// Compares the counts of every benchmark either side counted.
pub fn compare(
    base_label: &str,
    head_label: &str,
    compiler: Option<String>,
    base: &BTreeMap<String, Counts>,
    head: &BTreeMap<String, Counts>,
) -> CountersComparison {
    let mut c = CountersComparison {
        base: base_label.to_string(),
        head: head_label.to_string(),
        compiler,
        ..Default::default()
    };
    for (id, b) in base {
        match head.get(id) {
            Some(h) => {
                c.compared += 1;
                if let Some(changes) = compare_counts(id, b, h) {
                    c.changed.push(changes);
                }
            }
            None => c.only_base.push(id.clone()),
        }
    }
    c.only_head = head
        .keys()
        .filter(|id| !base.contains_key(*id))
        .cloned()
        .collect();
    // the worst first, then by id
    c.changed
        .sort_by(|a, b| b.worse().cmp(&a.worse()).then_with(|| a.id.cmp(&b.id)));
    c
}

/// The hotspot kind (`shared.ld`, `global.st`, …) behind a gated metric, where there is one.
pub fn hotspot_kind(metric: &str) -> Option<&'static str> {
    Some(match metric {
        "shared.ld.ways" => "shared.ld",
        "shared.st.ways" => "shared.st",
        "shared.ldmatrix.ways" => "shared.ldmatrix",
        "global.ld.sectors_per_ideal" => "global.ld",
        "global.st.sectors_per_ideal" => "global.st",
        "cp_async.sectors_per_ideal" => "cp_async",
        _ => return None,
    })
}

impl CountersComparison {
    /// For each benchmark with a worse metric, the head's worst instructions of its kind
    /// (`hotspots(id)` gives the head's hotspots of a benchmark), at most two per metric.
    pub fn locate(&mut self, hotspots: impl Fn(&str) -> Vec<crate::store::Hotspot>) {
        for b in &mut self.changed {
            let hot = hotspots(&b.id);
            for c in b.changes.iter().filter(|c| c.effect == Effect::Worse) {
                let Some(kind) = hotspot_kind(&c.name) else {
                    continue;
                };
                for h in hot.iter().filter(|h| h.kind == kind).take(2) {
                    b.hotspots.push(format!("{} {}", h.place(), h.describe()));
                }
            }
        }
    }
}

/// Why counts from two toolchains are not compared, if they are from two.
pub fn toolchain_mismatch(base: Option<&str>, head: Option<&str>) -> Option<String> {
    let nvrtc = |c: Option<&str>| c.and_then(|c| c.split(" for ").next()).map(str::to_string);
    let (b, h) = (nvrtc(base), nvrtc(head));
    (b != h).then(|| {
        format!(
            "the counts were made from PTX of different compilers ({} and {}): they are not compared, since another NVRTC emits other PTX; count both revisions with one NVRTC (`orac ab --backend emu` does)",
            b.as_deref().unwrap_or("unknown"),
            h.as_deref().unwrap_or("unknown")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> Counts {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn base() -> Counts {
        counts(&[
            ("inst.executed", 100),
            ("inst.thread_executed", 3200),
            ("shared.ld.wavefronts", 8),
            ("shared.ld.ideal_wavefronts", 8),
            ("global.ld.sectors", 40),
            ("global.ld.ideal_sectors", 40),
            ("ptxas.spill_stores", 0),
            ("ptxas.spill_loads", 0),
        ])
    }

    #[test]
    fn identical_counts_change_nothing() {
        assert!(compare_counts("x", &base(), &base()).is_none());
    }

    #[test]
    fn a_bank_conflict_is_worse_and_gates() {
        let mut head = base();
        head.insert("shared.ld.wavefronts".into(), 16);
        let c = compare_counts("x", &base(), &head).unwrap();
        assert_eq!(c.worse(), 1);
        assert_eq!(c.changes[0].name, "shared.ld.ways");
        assert_eq!((c.changes[0].old, c.changes[0].new), (Some(1.0), Some(2.0)));
        // the raw count is listed too, ungated
        assert!(
            c.changes
                .iter()
                .any(|x| x.name == "shared.ld.wavefronts" && x.effect == Effect::Changed)
        );
    }

    #[test]
    fn more_instructions_show_but_never_gate() {
        let mut head = base();
        head.insert("inst.executed".into(), 200);
        head.insert("inst.thread_executed".into(), 6400);
        let c = compare_counts("x", &base(), &head).unwrap();
        assert_eq!(c.worse(), 0);
        assert!(c.changes.iter().all(|x| x.effect == Effect::Changed));
    }

    #[test]
    fn simt_efficiency_lower_is_worse_spills_higher_is_worse() {
        let mut head = base();
        head.insert("inst.thread_executed".into(), 3100);
        head.insert("ptxas.spill_stores".into(), 8);
        let c = compare_counts("x", &base(), &head).unwrap();
        let effect = |n: &str| c.changes.iter().find(|x| x.name == n).unwrap().effect;
        assert_eq!(effect("simt.efficiency"), Effect::Worse);
        assert_eq!(effect("ptxas.spill_bytes"), Effect::Worse);
        // wider loads: more sectors per request, but none beyond the ideal: not worse
        let mut wide = base();
        wide.insert("global.ld.sectors".into(), 40);
        wide.insert("global.ld.requests".into(), 10);
        let mut narrow = base();
        narrow.insert("global.ld.requests".into(), 40);
        let c = compare_counts("x", &narrow, &wide).unwrap();
        assert_eq!(c.worse(), 0);
    }

    #[test]
    fn ratios_compare_exactly() {
        // 1/3 vs 2/6: equal, though 1/3 and 2/6 differ in floating point only by rounding
        let a = Ratio { num: 1, den: 3 };
        let b = Ratio { num: 2, den: 6 };
        assert_eq!(a.cmp_exact(b), Ordering::Equal);
        assert_eq!(
            Ratio {
                num: 1_000_000_001,
                den: 1_000_000_000
            }
            .cmp_exact(Ratio { num: 1, den: 1 }),
            Ordering::Greater
        );
    }

    #[test]
    fn a_metric_new_on_one_side_shows_without_gating() {
        let mut head = base();
        head.insert("shared.st.wavefronts".into(), 4);
        head.insert("shared.st.ideal_wavefronts".into(), 2);
        let c = compare_counts("x", &base(), &head).unwrap();
        let ways = c
            .changes
            .iter()
            .find(|x| x.name == "shared.st.ways")
            .unwrap();
        assert_eq!(ways.effect, Effect::Changed);
        assert_eq!(c.worse(), 0);
    }

    #[test]
    fn benchmarks_on_one_side_are_listed() {
        let b: BTreeMap<String, Counts> = [("a".into(), base()), ("b".into(), base())].into();
        let h: BTreeMap<String, Counts> = [("a".into(), base()), ("c".into(), base())].into();
        let c = compare("base", "head", None, &b, &h);
        assert_eq!(c.compared, 1);
        assert_eq!(c.only_base, vec!["b".to_string()]);
        assert_eq!(c.only_head, vec!["c".to_string()]);
        assert!(c.changed.is_empty());
    }

    #[test]
    fn counts_of_two_nvrtc_versions_are_not_compared() {
        let a = Some("NVRTC 13.5 for sm_90a, PTX ISA 9.0, run by ptx-emu");
        let b = Some("NVRTC 12.8 for sm_90a, PTX ISA 8.7, run by ptx-emu");
        assert!(toolchain_mismatch(a, a).is_none());
        assert!(
            toolchain_mismatch(a, b)
                .unwrap()
                .contains("NVRTC 13.5 and NVRTC 12.8")
        );
    }
}
