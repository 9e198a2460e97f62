//! The static HTML report (`orac report --out-dir DIR`): an index of hardware keys and of
//! their benchmarks grouped by family (with a filter box), a page per key (the latest results,
//! verdicts against the baseline, a roofline and every chart) and a page per benchmark (its
//! chart, change points, creep and a row per commit). Pages are built with maud, which escapes
//! every interpolated string; charts are inline SVG (plotters, see `chart`) whose points carry
//! their tooltip and link; one small script of our own shows the tooltips and runs the filter.
//! No server, no network: it opens from `file://`. Pure: it returns the files to write.

use std::collections::{BTreeMap, HashMap, HashSet};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::units::short_commit as short;
use super::{format_bytes_per_s, format_flops, format_seconds};
use crate::chart::{Ceiling, MAX_CHART_POINTS, PointMark, RooflinePoint, roofline_svg, series_svg};
use crate::history::{Direction, History, Point, Series};
use crate::regress::{Comparison, Entry, Verdict};

/// Everything the report shows for one hardware key.
pub struct KeyReport {
    pub history: History,
    /// The newest run against the baseline, when there is a baseline.
    pub verdicts: Option<Comparison>,
    /// Why there are no verdicts (no baseline, or it could not be read).
    pub verdicts_note: Option<String>,
    pub roofline: Vec<RooflinePoint>,
    /// The bandwidth ceiling: the device's peak, or else the best copy of the newest run.
    pub bandwidth: Option<Ceiling>,
}

/// What the whole report shares.
#[derive(Debug, Clone, Default)]
pub struct ReportMeta {
    /// When it was generated (shown on every page).
    pub generated_at: String,
    /// Where a commit is shown, `{commit}` standing for its full id
    /// (`https://github.com/o/r/commit/{commit}`); `None`: a point links to its commit's row
    /// on the benchmark's page.
    pub commit_url: Option<String>,
}

/// Commits drawn per chart on a key's page, which holds every benchmark's chart (each point
/// carries its tooltip and link: 50 charts of 500 points would make a page of ~9 MB); the
/// benchmark's own page draws the newest `MAX_CHART_POINTS`.
const KEY_PAGE_POINTS: usize = 200;

/// A file of the report: path relative to the output directory, and its contents.
pub struct ReportFile {
    pub path: String,
    pub contents: String,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;padding:0 1em;color:#222;max-width:1100px}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.slower,.failed{color:#b00020;font-weight:600}.faster{color:#1b7f2a;font-weight:600}.muted{color:#666}\
section{margin:2em 0}svg.chart{max-width:100%;height:auto;display:block}\
tr.fam th{background:#f0f3f8;font-size:1.05em}.pt{cursor:pointer}.pt:hover{stroke:#000;stroke-width:2}\
#tip{position:fixed;z-index:10;background:#fff;border:1px solid #888;border-radius:4px;padding:4px 8px;\
font-size:13px;white-space:pre-line;pointer-events:none;box-shadow:0 2px 6px rgba(0,0,0,.2);max-width:420px}\
#filter{font-size:1em;padding:4px 8px;width:24em}code{background:#f3f3f3;padding:0 3px;border-radius:3px}\
nav a{margin-right:1em}ol.legend{columns:2;font-size:.9em}h3 a,h2 a{color:inherit}";

/// Moves each point's `<title>` into the page's own tooltip (shown at once, not after the
/// browser's delay), marks each chart with the number of points it drew (`data-drawn`, which
/// ci/check-report.sh reads), and filters the benchmark rows by the words in `#filter`.
const SCRIPT: &str = r#"(function(){
var tip=document.getElementById('tip');
document.querySelectorAll('svg.chart').forEach(function(svg){
  var n=0;
  svg.querySelectorAll('.pt').forEach(function(p){
    var t=p.querySelector('title');
    if(t){p.setAttribute('data-tip',t.textContent);t.remove();}
    n++;
  });
  svg.setAttribute('data-drawn',String(n));
});
function show(e){
  var p=e.target.closest?e.target.closest('[data-tip]'):null;
  if(!p){tip.hidden=true;return;}
  tip.textContent=p.getAttribute('data-tip');tip.hidden=false;
  var x=Math.min(e.clientX+14,window.innerWidth-tip.offsetWidth-8);
  var y=e.clientY+14;if(y+tip.offsetHeight>window.innerHeight){y=e.clientY-tip.offsetHeight-8;}
  tip.style.left=Math.max(0,x)+'px';tip.style.top=Math.max(0,y)+'px';
}
document.addEventListener('mouseover',show);document.addEventListener('mousemove',show);
var f=document.getElementById('filter');
if(f){
  var run=function(){
    var words=f.value.toLowerCase().split(/\s+/).filter(Boolean),shown=0;
    document.querySelectorAll('tr[data-id]').forEach(function(r){
      var id=r.getAttribute('data-id').toLowerCase();
      r.hidden=!words.every(function(w){return id.indexOf(w)>=0;});
      if(!r.hidden){shown++;}
    });
    document.querySelectorAll('tbody.family').forEach(function(g){
      g.hidden=!g.querySelector('tr[data-id]:not([hidden])');
    });
    var c=document.getElementById('shown');if(c){c.textContent=String(shown);}
  };
  f.addEventListener('input',run);run();
}
})();"#;

/// A page around `body`, with the style, the tooltip and the script.
fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (body)
                div #tip hidden {}
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
    .into_string()
}

/// Text that may hold markdown-style `code` spans (messages shared with the terminal): each
/// span becomes `<code>`, and no backtick reaches the page.
fn prose(text: &str) -> Markup {
    let parts: Vec<&str> = text.split('`').collect();
    // An odd number of backticks leaves the last one unpaired: its text stays plain.
    let paired = if parts.len() % 2 == 1 {
        parts.len()
    } else {
        parts.len() - 1
    };
    html! {
        @for (i, part) in parts.iter().enumerate() {
            @if i % 2 == 1 && i < paired { code { (part) } } @else { (part) }
        }
    }
}

fn percent(x: f64) -> String {
    format!("{:+.1}%", 100.0 * x)
}

fn class(d: Direction) -> &'static str {
    match d {
        Direction::Slower => "slower",
        Direction::Faster => "faster",
    }
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Slower | Verdict::Failed => "slower",
        Verdict::Faster => "faster",
        _ => "muted",
    }
}

/// The rate a time stands for: bandwidth for copies and memory-bound shapes (decode), as the
/// run table shows them, FLOP/s for the rest.
fn throughput(s: &Series, seconds: f64) -> String {
    if seconds.is_nan() || seconds <= 0.0 {
        return String::new();
    }
    if s.flops > 0 && !s.reports_bandwidth {
        format_flops(s.flops as f64 / seconds)
    } else if s.bytes > 0 {
        format_bytes_per_s(s.bytes as f64 / seconds)
    } else {
        String::new()
    }
}

/// File-name-safe slug of a key or an id. Distinct inputs can share a slug (`a.b`, `a_b`):
/// callers make them unique (`unique`).
fn file_slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `base`, or `base-2`, `base-3`, … if taken.
fn unique(used: &mut HashSet<String>, base: String) -> String {
    let mut slug = base.clone();
    let mut n = 2;
    while !used.insert(slug.clone()) {
        slug = format!("{base}-{n}");
        n += 1;
    }
    slug
}

/// Where one key's files go and what its commits are called.
struct Key<'a> {
    report: &'a KeyReport,
    /// `{slug}.html` is the key's page, `{slug}/` holds its benchmarks' pages.
    slug: String,
    /// Per series (same order as `history.series`): its page's file name within `{slug}/`.
    pages: Vec<String>,
    subjects: HashMap<&'a str, &'a str>,
}

impl<'a> Key<'a> {
    fn new(report: &'a KeyReport, slug: String) -> Key<'a> {
        let mut used = HashSet::new();
        let pages = report
            .history
            .series
            .iter()
            .map(|s| format!("{}.html", unique(&mut used, file_slug(&s.id))))
            .collect();
        let subjects = report
            .history
            .commits
            .iter()
            .map(|c| (c.id.as_str(), c.subject.as_str()))
            .collect();
        Key {
            report,
            slug,
            pages,
            subjects,
        }
    }

    fn verdict(&self, id: &str) -> Option<&'a Entry> {
        self.report
            .verdicts
            .as_ref()
            .and_then(|c| c.entries.iter().find(|e| e.id == id))
    }
}

/// One tooltip per point: value, CI, commit, date (and subject, runs, rate).
fn tip(s: &Series, p: &Point, subject: Option<&str>) -> String {
    let mut t = format!(
        "{} · {}\nmedian {} (CI {} – {})",
        short(&p.commit),
        p.date,
        format_seconds(p.median),
        format_seconds(p.ci_low),
        format_seconds(p.ci_high)
    );
    let rate = throughput(s, p.median);
    if !rate.is_empty() {
        t += &format!(" · {rate}");
    }
    t += &format!("\n{} run{}", p.runs, if p.runs == 1 { "" } else { "s" });
    if let Some(subject) = subject.filter(|s| !s.is_empty()) {
        t += &format!(" · {subject}");
    }
    t
}

fn marks(key: &Key, s: &Series, page_href: &str, meta: &ReportMeta) -> Vec<PointMark> {
    s.points
        .iter()
        .map(|p| PointMark {
            tip: tip(s, p, key.subjects.get(p.commit.as_str()).copied()),
            href: commit_href(meta, &p.commit)
                .unwrap_or_else(|| format!("{page_href}#c-{}", p.commit)),
        })
        .collect()
}

fn commit_href(meta: &ReportMeta, commit: &str) -> Option<String> {
    meta.commit_url
        .as_ref()
        .map(|t| t.replace("{commit}", commit))
}

/// A commit's short id, linked to the forge when the report knows where commits are shown.
fn commit_link(meta: &ReportMeta, commit: &str) -> Markup {
    html! {
        @if let Some(href) = commit_href(meta, commit) {
            a href=(href) { code { (short(commit)) } }
        } @else {
            code { (short(commit)) }
        }
    }
}

fn change_points_cell(s: &Series) -> Markup {
    html! {
        @for (i, c) in s.change_points.iter().enumerate() {
            @if i > 0 { ", " }
            span class=(class(c.direction)) { (percent(c.change)) } " at " code { (short(&c.commit)) }
        }
    }
}

fn creep_cell(s: &Series) -> Markup {
    html! {
        @for (i, c) in s.creep.iter().enumerate() {
            @if i > 0 { ", " }
            span class=(class(c.direction)) { (percent(c.drift)) } " over " (c.points)
        }
    }
}

fn verdict_cell(e: Option<&Entry>) -> Markup {
    html! {
        @match e {
            Some(e) => {
                span class=(verdict_class(e.verdict)) { (e.verdict.name()) }
                @if let Some(r) = e.ratio { " (" (percent(r - 1.0)) ")" }
            }
            None => span.muted { "—" }
        }
    }
}

/// The benchmarks of a key, grouped by family; `prefix` leads from the page to the report's
/// top directory.
fn bench_table(key: &Key, prefix: &str) -> Markup {
    let mut families: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in key.report.history.series.iter().enumerate() {
        families.entry(s.family.name()).or_default().push(i);
    }
    html! {
        table.benchmarks {
            thead {
                tr {
                    th { "benchmark" } th { "latest" } th { "throughput" } th { "vs baseline" }
                    th { "overall" } th { "change points" } th { "creep" }
                }
            }
            @for (family, rows) in &families {
                tbody.family {
                    tr.fam { th colspan="7" { (family) " " span.muted { "(" (rows.len()) ")" } } }
                    @for &i in rows {
                        @let s = &key.report.history.series[i];
                        @let latest = s.points.last();
                        tr data-id=(s.id) {
                            td { a href=(format!("{prefix}{}/{}", key.slug, key.pages[i])) { (s.id) } }
                            td.num { (latest.map_or(String::new(), |p| format_seconds(p.median))) }
                            td.num { (latest.map_or(String::new(), |p| throughput(s, p.median))) }
                            td { (verdict_cell(key.verdict(&s.id))) }
                            td.num { (s.overall_change().map_or(String::new(), percent)) }
                            td { (change_points_cell(s)) }
                            td { (creep_cell(s)) }
                        }
                    }
                }
            }
        }
    }
}

fn filter_box(total: usize) -> Markup {
    html! {
        p {
            label for="filter" { "Filter benchmarks: " }
            input #filter type="search" placeholder="words in the id, e.g. gemm f32" autocomplete="off";
            " " span.muted { span #shown { (total) } " of " (total) " shown" }
        }
    }
}

/// `1 slower, 3 faster`: a count is coloured only when it is not zero.
fn count(n: usize, word: &str, class: &str) -> Markup {
    html! {
        @if n > 0 { span class=(class) { (n) " " (word) } } @else { span.muted { "0 " (word) } }
    }
}

/// All files of the report.
pub fn report_files(keys: &[KeyReport], meta: &ReportMeta) -> Vec<ReportFile> {
    // `index` is the index page's name; a clash of two keys' slugs gets a suffix.
    let mut used: HashSet<String> = ["index".to_string()].into();
    let keys: Vec<Key> = keys
        .iter()
        .map(|k| Key::new(k, unique(&mut used, file_slug(&k.history.hardware_key))))
        .collect();
    let mut files = Vec::new();
    for key in &keys {
        files.extend(key_files(key, meta));
    }
    let total: usize = keys.iter().map(|k| k.report.history.series.len()).sum();
    let body = html! {
        h1 { "orac report" }
        p.muted { "generated " (meta.generated_at) " · time: + is slower · hover a point for its value, CI, commit and date" }
        @if keys.is_empty() { p { "No stored runs." } }
        table {
            tr {
                th { "hardware" } th { "commits" } th { "runs" } th { "benchmarks" }
                th { "change points" } th { "creep" } th { "vs baseline" }
            }
            @for key in &keys {
                @let h = &key.report.history;
                @let cps = h.series.iter().flat_map(|s| &s.change_points);
                @let slower = cps.clone().filter(|c| c.direction == Direction::Slower).count();
                @let faster = cps.count() - slower;
                tr {
                    td { a href=(format!("{}.html", key.slug)) { (h.hardware_key) } }
                    td.num { (h.commits.len()) }
                    td.num { (h.runs) }
                    td.num { (h.series.len()) }
                    td { (count(slower, "slower", "slower")) ", " (count(faster, "faster", "faster")) }
                    td.num { (h.series.iter().map(|s| s.creep.len()).sum::<usize>()) }
                    td { (verdict_counts(key.report)) }
                }
            }
        }
        @if total > 0 { (filter_box(total)) }
        @for key in &keys {
            section {
                h2 { a href=(format!("{}.html", key.slug)) { (key.report.history.hardware_key) } }
                (bench_table(key, ""))
            }
        }
    };
    files.push(ReportFile {
        path: "index.html".into(),
        contents: page("orac report", body),
    });
    files
}

fn verdict_counts(k: &KeyReport) -> Markup {
    match &k.verdicts {
        Some(c) => {
            let mut counts = BTreeMap::<&str, (usize, Verdict)>::new();
            for e in &c.entries {
                counts.entry(e.verdict.name()).or_insert((0, e.verdict)).0 += 1;
            }
            html! {
                @for (i, (name, (n, v))) in counts.iter().enumerate() {
                    @if i > 0 { ", " }
                    span class=(verdict_class(*v)) { (n) " " (name) }
                }
            }
        }
        None => html! { span.muted { (prose(k.verdicts_note.as_deref().unwrap_or_default())) } },
    }
}

fn key_files(key: &Key, meta: &ReportMeta) -> Vec<ReportFile> {
    let k = key.report;
    let h = &k.history;
    let mut files = Vec::new();
    let roofline: Vec<RooflinePoint> = k
        .roofline
        .iter()
        .map(|p| RooflinePoint {
            href: h
                .series
                .iter()
                .position(|s| s.id == p.id)
                .map(|i| format!("{}/{}", key.slug, key.pages[i])),
            ..p.clone()
        })
        .collect();
    let body = html! {
        nav { a href="index.html" { "← all hardware" } }
        h1 { (h.hardware_key) }
        p.muted {
            "along " code { (h.branch) } " · " (h.commits.len()) " commits with runs · "
            (h.runs) " runs · generated " (meta.generated_at)
        }
        @if let Some(note) = &k.verdicts_note { p.muted { "Verdicts: " (prose(note)) } }
        @if !h.series.is_empty() { (filter_box(h.series.len())) }
        (bench_table(key, ""))
        section {
            h2 { "Roofline of the newest run" }
            (PreEscaped(roofline_svg(&roofline, k.bandwidth.clone(), None)))
            @if !roofline.is_empty() {
                ol.legend {
                    @for p in &roofline {
                        li {
                            @if let Some(href) = &p.href { a href=(href) { (p.id) } } @else { (p.id) }
                        }
                    }
                }
            }
        }
        @for (i, s) in h.series.iter().enumerate() {
            @let href = format!("{}/{}", key.slug, key.pages[i]);
            section id=(format!("b{i}")) {
                h3 { a href=(href) { (s.id) } }
                (PreEscaped(series_svg(s, &marks(key, s, &href, meta), (760, 300), KEY_PAGE_POINTS)))
            }
        }
        (not_in_history(h))
    };
    files.push(ReportFile {
        path: format!("{}.html", key.slug),
        contents: page(&h.hardware_key, body),
    });
    for (i, s) in h.series.iter().enumerate() {
        files.push(ReportFile {
            path: format!("{}/{}", key.slug, key.pages[i]),
            contents: bench_page(key, s, &key.pages[i], meta),
        });
    }
    files
}

fn not_in_history(h: &History) -> Markup {
    html! {
        @if !h.set_aside.is_empty() || !h.unreadable.is_empty() {
            section {
                h2 { "Not in the history" }
                ul {
                    @for a in &h.set_aside { li { code { (a.path) } ": " (prose(&a.reason)) } }
                    @for e in &h.unreadable { li { (prose(e)) } }
                }
            }
        }
    }
}

/// A benchmark's page, one directory below the index.
fn bench_page(key: &Key, s: &Series, file: &str, meta: &ReportMeta) -> String {
    let h = &key.report.history;
    let latest = s.points.last();
    let body = html! {
        nav {
            a href="../index.html" { "← all hardware" }
            a href=(format!("../{}.html", key.slug)) { "← " (h.hardware_key) }
        }
        h1 { (s.id) }
        p.muted {
            (s.family.name()) " · " (h.hardware_key) " · " (s.points.len()) " commits with a time"
            @if s.unusable > 0 { " · " (s.unusable) " without a usable time (failed or throttled)" }
            " · generated " (meta.generated_at)
        }
        table {
            tr { th { "latest" } th { "throughput" } th { "vs baseline" } th { "overall" } }
            tr {
                td.num { (latest.map_or(String::new(), |p| format_seconds(p.median))) }
                td.num { (latest.map_or(String::new(), |p| throughput(s, p.median))) }
                td { (verdict_cell(key.verdict(&s.id))) }
                td.num { (s.overall_change().map_or(String::new(), percent)) }
            }
        }
        (PreEscaped(series_svg(s, &marks(key, s, file, meta), (1000, 380), MAX_CHART_POINTS)))
        @if !s.change_points.is_empty() {
            h2 { "Change points" }
            ul {
                @for c in &s.change_points {
                    li {
                        span class=(class(c.direction)) { (percent(c.change)) } " "
                        @if c.commits_in_range > 1 {
                            "between " (commit_link(meta, &c.last_before)) ".." (commit_link(meta, &c.commit))
                            " (" (c.commits_in_range) " commits; "
                            code { "orac bisect --good " (short(&c.last_before)) " --bad " (short(&c.commit)) " --filter " (s.id) }
                            " finds which)"
                        } @else {
                            "at " (commit_link(meta, &c.commit)) " (" (c.date) ", " (c.subject) ")"
                        }
                        ": " (format_seconds(c.before)) " → " (format_seconds(c.after))
                        ", p = " (format!("{:.1e}", c.p_value))
                    }
                }
            }
        }
        @if !s.creep.is_empty() {
            h2 { "Creep" }
            ul {
                @for c in &s.creep {
                    li {
                        span class=(class(c.direction)) { (percent(c.drift)) } " over " (c.points)
                        " commits, " (commit_link(meta, &c.from_commit)) ".." (commit_link(meta, &c.to_commit))
                        " (Mann–Kendall p = " (format!("{:.1e}", c.p_value)) ")"
                    }
                }
            }
        }
        h2 {
            @if s.points.len() > MAX_CHART_POINTS {
                "The newest " (MAX_CHART_POINTS) " of " (s.points.len()) " commits, as charted"
            } @else { "Every commit, newest first" }
        }
        @if s.points.len() > MAX_CHART_POINTS {
            p.muted { code { "orac history --format json" } " has them all." }
        }
        table {
            tr {
                th { "commit" } th { "date" } th { "median" } th { "CI of the median" }
                th { "throughput" } th { "runs" } th { "subject" }
            }
            @for p in s.points.iter().rev().take(MAX_CHART_POINTS) {
                tr id=(format!("c-{}", p.commit)) {
                    td { (commit_link(meta, &p.commit)) }
                    td { (p.date) }
                    td.num { (format_seconds(p.median)) }
                    td.num { (format_seconds(p.ci_low)) " – " (format_seconds(p.ci_high)) }
                    td.num { (throughput(s, p.median)) }
                    td.num { (p.runs) }
                    td { (key.subjects.get(p.commit.as_str()).copied().unwrap_or_default()) }
                }
            }
        }
    };
    page(&format!("{} · {}", s.id, h.hardware_key), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Ceilings, History};

    fn key(name: &str) -> KeyReport {
        KeyReport {
            history: History {
                hardware_key: name.into(),
                branch: "HEAD".into(),
                commits: Vec::new(),
                runs: 0,
                series: Vec::new(),
                set_aside: Vec::new(),
                unreadable: Vec::new(),
                ceilings: Ceilings::default(),
            },
            verdicts: None,
            verdicts_note: None,
            roofline: Vec::new(),
            bandwidth: None,
        }
    }

    #[test]
    fn keys_that_slug_alike_or_to_index_get_their_own_pages() {
        let files = report_files(
            &[key("a.b"), key("a_b"), key("index")],
            &ReportMeta::default(),
        );
        let mut pages: Vec<&str> = files
            .iter()
            .map(|f| f.path.as_str())
            .filter(|p| p.ends_with(".html"))
            .collect();
        pages.sort();
        assert_eq!(
            pages,
            ["a_b-2.html", "a_b.html", "index-2.html", "index.html"]
        );
        let index = &files
            .iter()
            .find(|f| f.path == "index.html")
            .unwrap()
            .contents;
        assert!(index.contains("href=\"a_b-2.html\"") && index.contains("href=\"index-2.html\""));
    }

    #[test]
    fn code_spans_become_code_and_no_backtick_is_left() {
        let p = |t: &str| prose(t).into_string();
        assert_eq!(
            p("no baseline (`orac baseline set RUN` makes one)"),
            "no baseline (<code>orac baseline set RUN</code> makes one)"
        );
        assert_eq!(p("a `b` c `d"), "a <code>b</code> c d");
        assert_eq!(p("`<x>`"), "<code>&lt;x&gt;</code>");
    }
}
