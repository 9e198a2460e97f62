//! Reports of a comparison: a terminal table, and markdown for a pull-request comment
//! (hidden marker for in-place updates, a header naming the GPU and the workflow run,
//! notable changes first, everything else folded and narrow, kept under GitHub's comment
//! size limit).

use tabled::settings::{Alignment, Style, object::Columns};
use tabled::{Table, Tabled};

use super::format_seconds;
use crate::regress::{Comparison, Entry, Estimator, Mode, SideInfo, UNCHANGED_KERNEL, Verdict};

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

/// The size of an entry's change, whichever way: |ln ratio| (none: no size).
fn change_size(e: &Entry) -> Option<f64> {
    e.ratio
        .filter(|r| r.is_finite() && *r > 0.0)
        .map(|r| r.ln().abs())
}

/// Entries in reading order: regressions and failures first, unchanged last; within a
/// verdict the biggest change first (entries without a ratio after those with one).
fn sorted(c: &Comparison) -> Vec<&Entry> {
    let mut v: Vec<&Entry> = c.entries.iter().collect();
    v.sort_by(|a, b| {
        a.verdict
            .cmp(&b.verdict)
            .then_with(|| match (change_size(a), change_size(b)) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.id.cmp(&b.id))
    });
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
        delta: delta_cell(e),
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
    if c.entries
        .iter()
        .any(|e| e.estimator == Some(Estimator::PairedBlocks))
    {
        out.push_str(&format!("\n{PAIRED_NOTE}"));
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

/// Rows of the first table: what a reviewer must see.
fn notable(e: &Entry) -> bool {
    matches!(
        e.verdict,
        Verdict::Slower | Verdict::Failed | Verdict::Faster
    ) || likely_slower(e)
}

/// A status icon per verdict, so the tables can be scanned by colour.
fn icon(e: &Entry) -> &'static str {
    match e.verdict {
        Verdict::Slower => "🔴",
        Verdict::Failed => "❌",
        Verdict::Faster => "🟢",
        Verdict::Ambiguous if likely_slower(e) => "🟠",
        Verdict::Ambiguous => "🟡",
        Verdict::Throttled => "🌡️",
        Verdict::Contended => "🚦",
        Verdict::Missing => "➖",
        Verdict::New => "➕",
        Verdict::Unchanged => "⚪",
    }
}

fn verdict_cell(e: &Entry) -> String {
    let name = match e.verdict {
        Verdict::Slower | Verdict::Failed => format!("**{}**", e.verdict.name()),
        _ if likely_slower(e) => "ambiguous (likely slower)".to_string(),
        v => v.name().to_string(),
    };
    format!("{} {name}", icon(e))
}

/// Marks a Δ that is not the ratio of the medians shown (see the footer).
const PAIRED_MARK: &str = "†";

/// What the mark means.
const PAIRED_NOTE: &str = "† A/B Δ: the geometric mean over blocks of each block's median head/base ratio (pairs measured back to back), not the ratio of the base and head medians shown, which pool every block.";

/// The Δ shown next to `e`'s medians: computed from those very medians when the estimator
/// is a ratio of them, and otherwise marked with the estimator it came from, so the two
/// never silently disagree.
fn delta_cell(e: &Entry) -> String {
    match (e.estimator, e.base_median, e.head_median, e.ratio) {
        (Some(Estimator::MedianRatio | Estimator::RunMedians), Some(b), Some(h), Some(_))
            if b > 0.0 && h.is_finite() =>
        {
            percent(h / b)
        }
        (Some(Estimator::PairedBlocks), _, _, Some(r)) => format!("{}{PAIRED_MARK}", percent(r)),
        (_, _, _, r) => r.map(percent).unwrap_or_default(),
    }
}

/// A note on one line, short enough not to wrap a table cell over several lines.
fn short_note(e: &Entry) -> Option<String> {
    const MAX: usize = 90;
    let first = e.note.as_deref()?.lines().next()?.trim();
    if first.is_empty() {
        return None;
    }
    let mut text: String = first.chars().take(MAX).collect();
    if first.chars().count() > MAX {
        text.push('…');
    }
    Some(md_escape(&text))
}

/// The first table's row; the note column only when some row has a note.
fn notable_row(e: &Entry, with_note: bool) -> String {
    let mut cells = vec![
        verdict_cell(e),
        format!("`{}`", md_escape(&e.id)),
        time(e.base_median),
        time(e.head_median),
        delta_cell(e),
        ci(e),
    ];
    if with_note {
        cells.push(short_note(e).unwrap_or_default());
    }
    format!("| {} |\n", cells.join(" | "))
}

/// The folded table's row: five short cells (notes go in a list under the table).
fn folded_row(e: &Entry) -> String {
    format!(
        "| {} | `{}` | {} | {} | {} |\n",
        verdict_cell(e),
        md_escape(&e.id),
        time(e.base_median),
        time(e.head_median),
        delta_cell(e)
    )
}

const MD_HEAD_NOTABLE: &str =
    "| | benchmark | base | head | Δ time | 95% CI |\n|:--|:--|--:|--:|--:|:--|\n";
const MD_HEAD_NOTABLE_NOTE: &str =
    "| | benchmark | base | head | Δ time | 95% CI | note |\n|:--|:--|--:|--:|--:|:--|:--|\n";
const MD_HEAD_FOLDED: &str = "| | benchmark | base | head | Δ time |\n|:--|:--|--:|--:|--:|\n";

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

/// What a pull-request comment shows beyond the comparison itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommentContext {
    /// The workflow run that measured (its page lists the artifacts).
    pub run_url: Option<String>,
    /// The emulator counters' section (markdown below its own heading), which shares the
    /// comment with the timings; `None` leaves the section out.
    pub counters: Option<String>,
}

impl CommentContext {
    /// The context GitHub Actions describes in its environment (`GITHUB_SERVER_URL`,
    /// `GITHUB_REPOSITORY`, `GITHUB_RUN_ID`); outside Actions, no link.
    pub fn from_env() -> Self {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `get`. A variable that
    /// is missing, or does not look like what Actions sets, means no link (a comment never
    /// carries a link built from odd text).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let server = get("GITHUB_SERVER_URL").filter(|s| {
            (s.starts_with("https://") || s.starts_with("http://"))
                && !s.contains(|c: char| c.is_whitespace() || "()[]<>\"'".contains(c))
        });
        let repo = get("GITHUB_REPOSITORY").filter(|r| {
            let mut parts = r.split('/');
            let ok = |p: Option<&str>| {
                p.is_some_and(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                })
            };
            ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
        });
        let run = get("GITHUB_RUN_ID")
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()));
        let run_url = match (server, repo, run) {
            (Some(s), Some(r), Some(id)) => {
                Some(format!("{}/{r}/actions/runs/{id}", s.trim_end_matches('/')))
            }
            _ => None,
        };
        CommentContext {
            run_url,
            counters: None,
        }
    }
}

/// The GPU line of the header, where the run has a GPU: name, driver, default clocks.
fn gpu_line(c: &Comparison) -> Option<String> {
    let gpu = c.head.gpu.as_ref().or(c.base.gpu.as_ref())?;
    let mut parts = vec![format!("**{}**", md_escape(&gpu.name))];
    let cuda = format!(
        "CUDA {}.{}",
        gpu.driver_api_version / 1000,
        (gpu.driver_api_version % 1000) / 10
    );
    parts.push(match &gpu.driver_version {
        Some(v) => format!("driver {} ({cuda})", md_escape(v)),
        None => format!("{cuda} driver"),
    });
    if gpu.sm_clock_khz > 0 {
        parts.push(format!("SM clock {} MHz", gpu.sm_clock_khz / 1000));
    }
    if gpu.memory_clock_khz > 0 {
        parts.push(format!("memory clock {} MHz", gpu.memory_clock_khz / 1000));
    }
    Some(parts.join(" · "))
}

/// The heading's icon: the worst thing in the comparison.
fn headline_icon(c: &Comparison) -> &'static str {
    let has = |v| c.count(v) > 0;
    if has(Verdict::Failed) {
        "❌"
    } else if has(Verdict::Slower) {
        "🔴"
    } else if c.entries.iter().any(likely_slower) {
        "🟠"
    } else if c.entries.is_empty() {
        "⚠️"
    } else if has(Verdict::Ambiguous) || has(Verdict::Throttled) || has(Verdict::Contended) {
        "🟡"
    } else {
        "✅"
    }
}

fn skipped_text(c: &Comparison) -> Option<String> {
    let total: usize = c.skipped.iter().map(|s| s.count).sum();
    if total == 0 {
        return None;
    }
    let reasons: Vec<String> = c
        .skipped
        .iter()
        .map(|s| format!("{} {}", s.count, md_escape(&s.reason)))
        .collect();
    Some(format!(
        "**Skipped {total} benchmark{}:** {}.",
        if total == 1 { "" } else { "s" },
        reasons.join("; ")
    ))
}

/// Up to five file names, and how many more.
fn some_files(files: &[String]) -> String {
    let mut names: Vec<String> = files
        .iter()
        .take(5)
        .map(|f| format!("`{}`", md_escape(f)))
        .collect();
    if files.len() > 5 {
        names.push(format!("{} more", files.len() - 5));
    }
    names.join(", ")
}

/// Markdown for a pull-request comment, without a workflow link or other sections.
pub fn compare_markdown(c: &Comparison) -> String {
    compare_markdown_with(c, &CommentContext::default())
}

/// Markdown for a pull-request comment: the marker; a heading with the worst verdict's
/// icon and the counts; the GPU, the sides and a link to the workflow run and its
/// artifacts; what was skipped and what this gate cannot measure; the notable changes;
/// every other result folded into a narrow table; the emulator counters' section when
/// there is one; and the rule, always last and always under `MARKDOWN_LIMIT`.
pub fn compare_markdown_with(c: &Comparison, ctx: &CommentContext) -> String {
    let entries = sorted(c);
    // An A/B that left everything out because no kernel differs (not, say, because no
    // kernel can run on this device).
    let no_kernel_changed = c.entries.is_empty()
        && !c.skipped.is_empty()
        && c.skipped.iter().all(|s| s.reason == UNCHANGED_KERNEL);
    let title = match (
        c.entries.is_empty(),
        no_kernel_changed,
        ctx.counters.is_some(),
    ) {
        (false, ..) => summary_counts(c),
        // the counters job compared the CUDA kernels; this gate's backend saw none change
        (true, true, true) => "nothing timed, no kernel this gate times changed".to_string(),
        (true, true, false) => "nothing measured, no kernel changed".to_string(),
        (true, false, _) => "nothing measured".to_string(),
    };
    let mut out = format!(
        "{MARKDOWN_MARKER}\n### {} orac: {title}\n\n",
        headline_icon(c)
    );
    if let Some(gpu) = gpu_line(c) {
        out.push_str(&format!("- {gpu}\n"));
    }
    out.push_str(&format!(
        "- hardware `{}` · base `{}` → head `{}` · {}\n",
        md_escape(&c.head.hardware_key),
        md_escape(&side_name(&c.base)),
        md_escape(&side_name(&c.head)),
        match c.mode {
            Mode::Paired => "paired A/B, interleaved in one process",
            Mode::Independent => "independent runs",
        }
    ));
    if let Some(url) = &ctx.run_url {
        out.push_str(&format!(
            "- [workflow run]({url}) · [artifacts]({url}#artifacts) (JSON report, logs)\n"
        ));
    }
    out.push('\n');
    let g = geomeans(c);
    if !g.is_empty() {
        out.push_str(&format!("Geometric mean time change: {g}\n\n"));
    }
    if let Some(skipped) = skipped_text(c) {
        out.push_str(&format!("{skipped}\n\n"));
    }
    if !c.host_changes.is_empty() {
        let n = c.host_changes.len();
        let files = format!(
            "{n} file{} outside `kernels/` ({})",
            if n == 1 { "" } else { "s" },
            some_files(&c.host_changes)
        );
        if no_kernel_changed {
            out.push_str(&format!(
                "**This change touches only host code, which this gate cannot measure.** It changes {files} and no kernel. The gate builds orac once, at the head, and times both sides' kernels with that one build, so a host-code change looks the same on both sides: this check passing means nothing was measured, not that nothing got slower. To see its effect, `orac run` at both commits and `orac compare` them, or watch the nightly.\n\n"
            ));
        } else {
            out.push_str(&format!(
                "> **Not measured:** this change also touches {files}. The gate times both sides with head's build of orac, so host-code changes are not in these numbers.\n\n"
            ));
        }
    } else if no_kernel_changed && ctx.counters.is_some() {
        out.push_str("No kernel this gate times changed: see the emulator counters below.\n\n");
    } else if no_kernel_changed {
        out.push_str("No kernel changed and no other file either: nothing to measure.\n\n");
    }
    for w in &c.warnings {
        out.push_str(&format!("> **warning:** {}\n", md_escape(w)));
    }
    if !c.warnings.is_empty() {
        out.push('\n');
    }

    // The footer, always kept: the rule, what the marks mean, the sign convention.
    let mut footer = format!("\n{}", rule_text(c));
    if c.entries
        .iter()
        .any(|e| e.estimator == Some(Estimator::PairedBlocks))
    {
        footer.push_str(&format!(" {PAIRED_NOTE}"));
    }
    if c.entries
        .iter()
        .any(|e| e.estimator == Some(Estimator::RunMedians))
    {
        footer.push_str(" Where a side has several runs, base and head are the geometric mean of its runs' medians: the Δ compares those.");
    }
    footer.push_str(" Δ time > 0 is slower.\n");
    let counters = ctx.counters.as_ref().map(|body| {
        let mut body = body.trim_end().to_string();
        if body.len() > MARKDOWN_LIMIT / 4 {
            let mut cut = MARKDOWN_LIMIT / 4;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push_str("\n\n_Counters cut to fit a comment; the artifacts have them all._");
        }
        format!("\n#### Emulator counters\n\n{body}\n")
    });
    let reserved = footer.len() + counters.as_ref().map_or(0, String::len) + 400;
    let budget = MARKDOWN_LIMIT.saturating_sub(reserved);

    let (shown, rest): (Vec<&Entry>, Vec<&Entry>) = entries.iter().partition(|e| notable(e));
    if !c.entries.is_empty() {
        if shown.is_empty() {
            out.push_str("No regressions or improvements beyond the thresholds.\n");
        } else {
            let with_note = shown.iter().any(|e| short_note(e).is_some());
            out.push_str(if with_note {
                MD_HEAD_NOTABLE_NOTE
            } else {
                MD_HEAD_NOTABLE
            });
            let rows: Vec<String> = shown.iter().map(|e| notable_row(e, with_note)).collect();
            push_rows(&mut out, &rows, budget / 2);
        }
    }
    if !rest.is_empty() {
        out.push_str(&format!(
            "\n<details><summary>{} other result{}</summary>\n\n{MD_HEAD_FOLDED}",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ));
        let rows: Vec<String> = rest.iter().map(|e| folded_row(e)).collect();
        push_rows(&mut out, &rows, budget);
        let notes: Vec<String> = rest
            .iter()
            .filter_map(|e| Some(format!("- `{}`: {}\n", md_escape(&e.id), short_note(e)?)))
            .collect();
        if !notes.is_empty() && out.len() < budget {
            out.push('\n');
            push_rows(&mut out, &notes, budget);
        }
        out.push_str("\n</details>\n");
    }
    if let Some(counters) = counters {
        out.push_str(&counters);
    }
    out.push_str(&footer);
    out
}
