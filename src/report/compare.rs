//! Reports of a comparison: a terminal table, and markdown for a pull-request comment
//! (hidden marker for in-place updates, regressions first, everything else folded, kept
//! under GitHub's comment size limit).

use tabled::settings::{Alignment, Style, object::Columns};
use tabled::{Table, Tabled};

use super::format_seconds;
use crate::regress::{Comparison, Entry, Mode, SideInfo, Verdict};

/// The marker a bot searches for to update its previous comment instead of adding one.
pub const MARKDOWN_MARKER: &str = "<!-- orac:compare -->";

/// GitHub rejects comments over 65 536 characters; stay well below.
pub const MARKDOWN_LIMIT: usize = 60_000;

fn percent(ratio: f64) -> String {
    format!("{:+.2}%", (ratio - 1.0) * 100.0)
}

fn ci(e: &Entry) -> String {
    match (e.ci_low, e.ci_high) {
        (Some(lo), Some(hi)) => format!("{} … {}", percent(lo), percent(hi)),
        _ => String::new(),
    }
}

fn time(t: Option<f64>) -> String {
    t.map(format_seconds).unwrap_or_default()
}

/// Entries in reading order: regressions and failures first, unchanged last.
fn sorted(c: &Comparison) -> Vec<&Entry> {
    let mut v: Vec<&Entry> = c.entries.iter().collect();
    v.sort_by(|a, b| a.verdict.cmp(&b.verdict).then_with(|| a.id.cmp(&b.id)));
    v
}

fn summary_counts(c: &Comparison) -> String {
    let parts: Vec<String> = Verdict::ALL
        .iter()
        .map(|&v| (v, c.count(v)))
        .filter(|(_, n)| *n > 0)
        .map(|(v, n)| format!("{n} {}", v.name()))
        .collect();
    if parts.is_empty() {
        "nothing compared".into()
    } else {
        parts.join(", ")
    }
}

fn side_name(s: &SideInfo) -> String {
    let commit = s
        .commit
        .as_deref()
        .map(|c| c.chars().take(7).collect::<String>());
    match (commit, s.dirty) {
        (Some(c), Some(true)) => format!("{c} (dirty)"),
        (Some(c), _) => c,
        (None, _) => s.label.clone(),
    }
}

fn geomeans(c: &Comparison) -> String {
    c.geomean_by_family()
        .iter()
        .map(|(f, g, n)| format!("{} {} (n={n})", f.name(), percent(*g)))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[derive(Tabled)]
struct Row {
    benchmark: String,
    base: String,
    head: String,
    #[tabled(rename = "Δ time")]
    delta: String,
    #[tabled(rename = "95% CI")]
    ci: String,
    p: String,
    threshold: String,
    verdict: String,
    note: String,
}

/// The comparison as a terminal table with a header and a summary line.
pub fn compare_table(c: &Comparison) -> String {
    let rows = sorted(c).into_iter().map(|e| Row {
        benchmark: e.id.clone(),
        base: time(e.base_median),
        head: time(e.head_median),
        delta: e.ratio.map(percent).unwrap_or_default(),
        ci: ci(e),
        p: e.p_value.map(|p| format!("{p:.2e}")).unwrap_or_default(),
        threshold: e
            .threshold
            .map(|t| format!("±{:.1}%", t * 100.0))
            .unwrap_or_default(),
        verdict: e.verdict.name().to_string(),
        note: e
            .note
            .as_deref()
            .and_then(|n| n.lines().next())
            .unwrap_or("")
            .chars()
            .take(60)
            .collect(),
    });
    let mut table = Table::new(rows);
    table
        .with(Style::rounded())
        .modify(Columns::new(1..4), Alignment::right());
    let mut out = format!(
        "base {} ({})  →  head {} ({})  ·  {}  ·  {}\n",
        c.base.label,
        side_name(&c.base),
        c.head.label,
        side_name(&c.head),
        c.head.hardware_key,
        match c.mode {
            Mode::Paired => "paired A/B",
            Mode::Independent => "independent runs",
        }
    );
    out.push_str(&table.to_string());
    out.push_str(&format!("\n{}", summary_counts(c)));
    let g = geomeans(c);
    if !g.is_empty() {
        out.push_str(&format!(" · geometric mean time change: {g}"));
    }
    for w in &c.warnings {
        out.push_str(&format!("\nwarning: {w}"));
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// An `ambiguous` entry whose point estimate is a regression beyond the threshold: not
/// proven, but a reviewer should see it next to the proven ones.
fn likely_slower(e: &Entry) -> bool {
    e.verdict == Verdict::Ambiguous
        && matches!((e.ratio, e.threshold), (Some(r), Some(t)) if r > 1.0 + t)
}

fn md_row(e: &Entry, full: bool) -> String {
    let verdict = match e.verdict {
        Verdict::Slower | Verdict::Failed => format!("**{}**", e.verdict.name()),
        _ if likely_slower(e) => "ambiguous (likely slower)".to_string(),
        v => v.name().to_string(),
    };
    let mut cells = vec![
        format!("`{}`", md_escape(&e.id)),
        time(e.base_median),
        time(e.head_median),
        e.ratio.map(percent).unwrap_or_default(),
        ci(e),
    ];
    if full {
        cells.push(e.p_value.map(|p| format!("{p:.1e}")).unwrap_or_default());
        cells.push(
            e.threshold
                .map(|t| format!("±{:.1}%", t * 100.0))
                .unwrap_or_default(),
        );
    }
    cells.push(verdict);
    cells.push(md_escape(
        e.note
            .as_deref()
            .and_then(|n| n.lines().next())
            .unwrap_or(""),
    ));
    format!("| {} |\n", cells.join(" | "))
}

const MD_HEAD_SHORT: &str = "| benchmark | base | head | Δ time | 95% CI | verdict | note |\n|:--|--:|--:|--:|:--|:--|:--|\n";
const MD_HEAD_FULL: &str = "| benchmark | base | head | Δ time | 95% CI | p | threshold | verdict | note |\n|:--|--:|--:|--:|:--|--:|--:|:--|:--|\n";

/// Appends `rows` to `out` while it stays under `limit`, noting how many were left out.
fn push_rows(out: &mut String, rows: &[String], limit: usize) {
    for (i, row) in rows.iter().enumerate() {
        if out.len() + row.len() > limit {
            out.push_str(&format!(
                "\n_{} more rows omitted to fit a comment; the JSON report has them all._\n",
                rows.len() - i
            ));
            return;
        }
        out.push_str(row);
    }
}

/// What made a change count, in one sentence.
fn rule_text(c: &Comparison) -> String {
    match c.mode {
        Mode::Paired => format!(
            "A change counts when its interval over the blocks (level 1 − {:.1e} per benchmark, spent over the looks) lies beyond ±{:.0}%; `unchanged` when a 99% interval lies inside; `ambiguous` when the budget ran out first.",
            c.defaults.alpha,
            c.defaults.min_threshold * 100.0
        ),
        Mode::Independent => format!(
            "A change counts when it is significant (p < {:.1e} per benchmark) and its 95% CI lies beyond max({:.0}%, {} × noise).",
            c.defaults.alpha,
            c.defaults.min_threshold * 100.0,
            c.defaults.noise_k
        ),
    }
}

/// Markdown for a pull-request comment.
pub fn compare_markdown(c: &Comparison) -> String {
    let entries = sorted(c);
    let mut out = format!("{MARKDOWN_MARKER}\n### orac: {}\n\n", summary_counts(c));
    out.push_str(&format!(
        "Hardware `{}` · base `{}` · head `{}` · {}\n\n",
        c.head.hardware_key,
        md_escape(&side_name(&c.base)),
        md_escape(&side_name(&c.head)),
        match c.mode {
            Mode::Paired => "paired A/B, interleaved in one process",
            Mode::Independent => "independent runs",
        }
    ));
    let g = geomeans(c);
    if !g.is_empty() {
        out.push_str(&format!("Geometric mean time change: {g}\n\n"));
    }
    for w in &c.warnings {
        out.push_str(&format!("> **warning:** {}\n", md_escape(w)));
    }
    if !c.warnings.is_empty() {
        out.push('\n');
    }
    let notable: Vec<String> = entries
        .iter()
        .filter(|e| {
            matches!(
                e.verdict,
                Verdict::Slower | Verdict::Failed | Verdict::Faster
            ) || likely_slower(e)
        })
        .map(|e| md_row(e, false))
        .collect();
    // Reserve room for the folded table's frame and the footer.
    let footer = format!("\n{} Δ time > 0 is slower.\n", rule_text(c));
    let budget = MARKDOWN_LIMIT - footer.len() - 200;
    if notable.is_empty() {
        out.push_str("No regressions or improvements beyond the thresholds.\n");
    } else {
        out.push_str(MD_HEAD_SHORT);
        push_rows(&mut out, &notable, budget / 2);
    }
    out.push_str(&format!(
        "\n<details><summary>All {} results</summary>\n\n{MD_HEAD_FULL}",
        entries.len()
    ));
    let all: Vec<String> = entries.iter().map(|e| md_row(e, true)).collect();
    push_rows(&mut out, &all, budget);
    out.push_str("\n</details>\n");
    out.push_str(&footer);
    out
}
