//! The emulator's counters for people: the headline table of `orac counters`, every count
//! of a benchmark, and an exact comparison as a terminal table or the PR comment's section.

use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::regress::counters::{Change, CountersComparison, Counts, Effect, gated_metrics, metric};
use crate::store::{BenchResult, Status};

/// `value` of a gated metric with two decimals, `—` where there is nothing to measure.
fn ratio_text(counts: &Counts, name: &str) -> String {
    metric(counts, name).map_or("—".into(), |r| format!("{:.2}", r.value()))
}

/// Global load sectors per request.
fn sectors_text(counts: &Counts) -> String {
    let requests = counts.get("global.ld.requests").copied().unwrap_or(0);
    if requests == 0 {
        return "—".into();
    }
    let sectors = counts.get("global.ld.sectors").copied().unwrap_or(0);
    format!("{:.1}", sectors as f64 / requests as f64)
}

fn simt_text(counts: &Counts) -> String {
    metric(counts, "simt.efficiency").map_or("—".into(), |r| format!("{:.1}%", 100.0 * r.value()))
}

fn spills_text(counts: &Counts) -> String {
    match (
        counts.get("ptxas.spill_stores"),
        counts.get("ptxas.spill_loads"),
    ) {
        (Some(s), Some(l)) => format!("{s}/{l} B"),
        _ => "?".into(),
    }
}

/// `a / b / c` of three gated metrics.
fn triple(counts: &Counts, names: [&str; 3]) -> String {
    names.map(|n| ratio_text(counts, n)).join(" / ")
}

#[derive(Tabled)]
struct Headline {
    benchmark: String,
    #[tabled(rename = "warp insts")]
    insts: String,
    #[tabled(rename = "SIMT")]
    simt: String,
    #[tabled(rename = "smem ways ld/st/ldmatrix")]
    ways: String,
    #[tabled(rename = "gmem ld sectors/req")]
    sectors: String,
    #[tabled(rename = "sectors/ideal ld/st/cp.async")]
    over_ideal: String,
    #[tabled(rename = "regs")]
    regs: String,
    #[tabled(rename = "spills st/ld")]
    spills: String,
}

/// One row per benchmark counted or failed (skipped ones are left out: the caller says how
/// many): bank-conflict ways, sectors, SIMT, registers and spills.
pub fn counters_table(results: &[BenchResult]) -> String {
    let rows: Vec<Headline> = results
        .iter()
        .filter(|r| r.status != Status::Skipped)
        .map(|r| match &r.counters {
            Some(c) => Headline {
                benchmark: r.id.clone(),
                insts: c.get("inst.executed").copied().unwrap_or(0).to_string(),
                simt: simt_text(c),
                ways: triple(
                    c,
                    ["shared.ld.ways", "shared.st.ways", "shared.ldmatrix.ways"],
                ),
                sectors: sectors_text(c),
                over_ideal: triple(
                    c,
                    [
                        "global.ld.sectors_per_ideal",
                        "global.st.sectors_per_ideal",
                        "cp_async.sectors_per_ideal",
                    ],
                ),
                regs: c
                    .get("ptxas.registers")
                    .map_or("?".into(), |v| v.to_string()),
                spills: spills_text(c),
            },
            None => {
                let why = match r.status {
                    Status::VerificationFailed => "verification failed: not counted".into(),
                    _ => format!("ERROR: {}", r.error.as_deref().unwrap_or("")),
                };
                Headline {
                    benchmark: r.id.clone(),
                    insts: super::cell(&why),
                    simt: String::new(),
                    ways: String::new(),
                    sectors: String::new(),
                    over_ideal: String::new(),
                    regs: String::new(),
                    spills: String::new(),
                }
            }
        })
        .collect();
    Table::new(rows).with(Style::rounded()).to_string()
}

/// Every count of every counted benchmark, one `name value` line each.
pub fn counters_listing(results: &[BenchResult]) -> String {
    let mut out = String::new();
    for r in results {
        let Some(c) = &r.counters else { continue };
        out.push_str(&format!("{}\n", r.id));
        for (name, v) in c {
            out.push_str(&format!("  {name:<36} {v}\n"));
        }
    }
    out
}

/// A count as an integer; a gated metric with two decimals (SIMT efficiency in percent).
fn value(name: &str, v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(x) if name == "simt.efficiency" => format!("{:.2}%", 100.0 * x),
        Some(x) if gated_metrics().any(|(g, _)| g == name) => format!("{x:.2}"),
        Some(x) => format!("{}", x as u64),
    }
}

fn delta(c: &Change) -> String {
    match (c.old, c.new) {
        // SIMT efficiency is already a fraction: its change in percentage points
        (Some(o), Some(n)) if c.name == "simt.efficiency" => {
            format!("{:+.2} pt", 100.0 * (n - o))
        }
        (Some(o), Some(n)) if o != 0.0 => format!("{:+.1}%", 100.0 * (n / o - 1.0)),
        (Some(_), Some(_)) => "from 0".into(),
        (None, _) => "new".into(),
        (_, None) => "gone".into(),
    }
}

fn effect(c: &Change) -> &'static str {
    match c.effect {
        Effect::Worse => "WORSE",
        Effect::Better => "better",
        Effect::Changed => "",
    }
}

#[derive(Tabled)]
struct ChangeRow {
    benchmark: String,
    counter: String,
    old: String,
    new: String,
    change: String,
    gate: String,
}

fn rows(c: &CountersComparison, every: bool) -> Vec<ChangeRow> {
    let mut rows = Vec::new();
    for b in &c.changed {
        for (i, ch) in b.changes.iter().enumerate() {
            if !every && ch.effect == Effect::Changed && i >= 6 {
                continue;
            }
            rows.push(ChangeRow {
                benchmark: b.id.clone(),
                counter: ch.name.clone(),
                old: value(&ch.name, ch.old),
                new: value(&ch.name, ch.new),
                change: delta(ch),
                gate: effect(ch).into(),
            });
        }
    }
    rows
}

/// What the comparison found, in a sentence.
fn summary(c: &CountersComparison) -> String {
    let worse = c.worse();
    let mut s = if c.changed.is_empty() {
        format!("no counter changed in {} benchmarks", c.compared)
    } else {
        format!(
            "counters changed in {} of {} benchmarks; {}",
            c.changed.len(),
            c.compared,
            if worse == 0 {
                "no gated metric got worse".to_string()
            } else {
                format!("{worse} gated metric(s) got worse")
            }
        )
    };
    if !c.only_base.is_empty() {
        s.push_str(&format!("; {} only in base", c.only_base.len()));
    }
    if !c.only_head.is_empty() {
        s.push_str(&format!("; {} only in head", c.only_head.len()));
    }
    if c.unchanged > 0 {
        s.push_str(&format!(
            "; {} not counted: their kernels are unchanged",
            c.unchanged
        ));
    }
    s
}

/// The comparison as a terminal table: every changed count, gated metrics marked.
pub fn counters_comparison_table(c: &CountersComparison) -> String {
    let mut out = format!(
        "counters: {} → {}{}\n",
        c.base,
        c.head,
        c.compiler
            .as_deref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default()
    );
    if !c.changed.is_empty() {
        out.push_str(&Table::new(rows(c, true)).with(Style::rounded()).to_string());
        out.push('\n');
    }
    for b in c.changed.iter().filter(|b| !b.hotspots.is_empty()) {
        out.push_str(&format!("{}: where, in head\n", b.id));
        for h in &b.hotspots {
            out.push_str(&format!("  {h}\n"));
        }
    }
    out.push_str(&summary(c));
    out.push('\n');
    out
}

/// Bytes the PR comment's counters section may fill with rows (the comment caps the whole
/// section at a quarter of its limit; the rest is the summary, hotspots and legend).
const SECTION_BUDGET: usize = super::MARKDOWN_LIMIT / 4 - 3_000;

/// The PR comment's section: the gated metrics that changed and the first counts that
/// changed per benchmark, then what gates.
pub fn counters_comparison_markdown(c: &CountersComparison) -> String {
    let mut out = format!(
        "Exact counts from the PTX emulator (canonical warp order{}): {}.\n",
        c.compiler
            .as_deref()
            .map(|v| format!(", {v}"))
            .unwrap_or_default(),
        summary(c)
    );
    if !c.changed.is_empty() {
        out.push_str(
            "\n| benchmark | counter | old | new | change | gate |\n|---|---|---:|---:|---:|---|\n",
        );
        // worse rows first (the comparison is sorted so), whole rows only, within the
        // budget the PR comment gives this section
        let all = rows(c, false);
        let mut shown = 0;
        for r in &all {
            let gate = if r.gate == "WORSE" {
                "**worse**".to_string()
            } else {
                r.gate.clone()
            };
            let row = format!(
                "| `{}` | `{}` | {} | {} | {} | {} |\n",
                r.benchmark, r.counter, r.old, r.new, r.change, gate
            );
            if out.len() + row.len() > SECTION_BUDGET {
                break;
            }
            out.push_str(&row);
            shown += 1;
        }
        if shown < all.len() {
            out.push_str(&format!(
                "\n_{} more rows left out to fit the comment: `orac ab --backend emu --json-out` (the job's artifacts) has them all._\n",
                all.len() - shown
            ));
        }
    }
    let located: Vec<_> = c
        .changed
        .iter()
        .filter(|b| !b.hotspots.is_empty())
        .collect();
    if !located.is_empty() {
        out.push_str("\nWhere, in head:\n\n");
        let lines = located.iter().flat_map(|b| {
            b.hotspots
                .iter()
                .map(move |h| format!("- `{}`: {h}\n", b.id))
        });
        for (i, line) in lines.enumerate() {
            if i == 12 {
                out.push_str("- …\n");
                break;
            }
            out.push_str(&line);
        }
    }
    out.push_str("\n<details><summary>What gates</summary>\n\n");
    for (name, what) in gated_metrics() {
        out.push_str(&format!("- `{name}`: {what}\n"));
    }
    out.push_str(
        "\nInstruction counts and bytes are shown, never gate (docs/EMULATOR.md).\n</details>\n",
    );
    out
}

#[derive(Tabled)]
struct KernelRow {
    kernel: String,
    #[tabled(rename = "SIMT")]
    simt: String,
    #[tabled(rename = "smem ld ways")]
    ld_ways: String,
    #[tabled(rename = "smem st ways")]
    st_ways: String,
    #[tabled(rename = "ldmatrix ways")]
    ldsm_ways: String,
    #[tabled(rename = "gmem sectors/ideal ld/st")]
    sectors: String,
    note: String,
}

/// One row per kernel (`name`, its benchmarks' counts added, whether its source changed
/// since they were counted).
pub fn kernel_counters_table(rows: &[(String, Counts, bool)]) -> String {
    let rows: Vec<KernelRow> = rows
        .iter()
        .map(|(name, c, stale)| KernelRow {
            kernel: name.clone(),
            simt: simt_text(c),
            ld_ways: ratio_text(c, "shared.ld.ways"),
            st_ways: ratio_text(c, "shared.st.ways"),
            ldsm_ways: ratio_text(c, "shared.ldmatrix.ways"),
            sectors: format!(
                "{} / {}",
                ratio_text(c, "global.ld.sectors_per_ideal"),
                ratio_text(c, "global.st.sectors_per_ideal")
            ),
            note: if *stale {
                "stale: the source changed since".into()
            } else {
                String::new()
            },
        })
        .collect();
    Table::new(rows).with(Style::rounded()).to_string()
}

/// Each benchmark's hotspots, worst first: where, which kind, and how far from the ideal.
pub fn hotspots_listing(results: &[BenchResult]) -> String {
    let mut out = String::new();
    for r in results.iter().filter(|r| !r.hotspots.is_empty()) {
        out.push_str(&format!("{}\n", r.id));
        for h in &r.hotspots {
            out.push_str(&format!("  {:<44} {}\n", h.place(), h.describe()));
        }
    }
    if out.is_empty() {
        out.push_str("no memory instruction took more wavefronts or sectors than it needed\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regress::counters::{BenchChanges, Change};

    #[test]
    fn a_large_comparison_fits_the_comment_with_whole_rows() {
        let change = |name: &str| Change {
            name: name.into(),
            old: Some(100.0),
            new: Some(200.0),
            effect: Effect::Changed,
        };
        let c = CountersComparison {
            base: "b".into(),
            head: "h".into(),
            compared: 2000,
            changed: (0..2000)
                .map(|i| BenchChanges {
                    id: format!("gemm/k{i}/f32/m128n128k64"),
                    changes: vec![change("inst.executed"), change("inst.integer")],
                    hotspots: vec![],
                })
                .collect(),
            ..Default::default()
        };
        let md = counters_comparison_markdown(&c);
        assert!(
            md.len() <= crate::report::MARKDOWN_LIMIT / 4,
            "{}",
            md.len()
        );
        assert!(md.contains("more rows left out to fit the comment"));
        assert!(md.ends_with("</details>\n"));
        // every table row is whole
        for line in md.lines().filter(|l| l.starts_with("| `")) {
            assert_eq!(line.matches('|').count(), 7, "{line}");
        }
    }
}
