//! The static HTML report (`orac report --out-dir DIR`): an index of hardware keys, a page per
//! key with the latest results, verdicts against the baseline, change points, creep, a
//! roofline and a chart per benchmark. Plain HTML and SVG files: it opens from `file://`
//! with no server and no network. Pure: it returns the files to write.

use std::fmt::Write as _;

use super::units::short_commit as short;
use super::{format_bytes_per_s, format_flops, format_seconds};
use crate::chart::{Ceiling, RooflinePoint, roofline_svg, series_svg};
use crate::history::{Direction, History};
use crate::regress::Comparison;

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

/// A file of the report: path relative to the output directory, and its contents.
pub struct ReportFile {
    pub path: String,
    pub contents: String,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
td.num{text-align:right;font-variant-numeric:tabular-nums}.slower{color:#b00020;font-weight:600}\
.faster{color:#1b7f2a;font-weight:600}.muted{color:#777}section{margin:2em 0}img{max-width:100%}";

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        escape(title)
    )
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

/// File-name-safe slug of a key or an id. Distinct inputs can share a slug (`a.b`, `a_b`):
/// callers make them unique (chart files carry an index, key pages a suffix).
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

/// All files of the report.
pub fn report_files(keys: &[KeyReport], generated_at: &str) -> Vec<ReportFile> {
    let mut files = Vec::new();
    let mut index = format!(
        "<h1>orac report</h1><p class=\"muted\">generated {} · time: + is slower</p>\n",
        escape(generated_at)
    );
    if keys.is_empty() {
        index.push_str("<p>No stored runs.</p>\n");
    }
    index.push_str("<table><tr><th>hardware</th><th>commits</th><th>runs</th><th>benchmarks</th><th>change points</th><th>creep</th><th>vs baseline</th></tr>\n");
    // `index` is the index page's name; a clash of two keys' slugs gets a suffix.
    let mut used: std::collections::HashSet<String> = ["index".to_string()].into();
    for k in keys {
        let h = &k.history;
        let base = file_slug(&h.hardware_key);
        let mut slug = base.clone();
        let mut n = 2;
        while !used.insert(slug.clone()) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        let key_page = format!("{slug}.html");
        let slower = h
            .series
            .iter()
            .flat_map(|s| &s.change_points)
            .filter(|c| c.direction == Direction::Slower)
            .count();
        let faster = h.series.iter().flat_map(|s| &s.change_points).count() - slower;
        let creep = h.series.iter().map(|s| s.creep.len()).sum::<usize>();
        let verdicts = match &k.verdicts {
            Some(c) => {
                let mut counts = std::collections::BTreeMap::<&str, usize>::new();
                for e in &c.entries {
                    *counts.entry(e.verdict.name()).or_default() += 1;
                }
                counts
                    .iter()
                    .map(|(v, n)| format!("{n} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            None => k.verdicts_note.clone().unwrap_or_default(),
        };
        let _ = writeln!(
            index,
            "<tr><td><a href=\"{}\">{}</a></td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td>\
             <td><span class=slower>{slower} slower</span>, <span class=faster>{faster} faster</span></td><td class=num>{creep}</td><td>{}</td></tr>",
            escape(&key_page),
            escape(&h.hardware_key),
            h.commits.len(),
            h.runs,
            h.series.len(),
            escape(&verdicts)
        );
        files.extend(key_files(k, &slug, generated_at));
    }
    index.push_str("</table>\n");
    files.push(ReportFile {
        path: "index.html".into(),
        contents: page("orac report", &index),
    });
    files
}

fn key_files(k: &KeyReport, slug: &str, generated_at: &str) -> Vec<ReportFile> {
    let h = &k.history;
    let key_page = format!("{slug}.html");
    let dir = format!("charts/{slug}");
    let mut files = Vec::new();
    let mut body = format!(
        "<p><a href=\"index.html\">← all hardware</a></p><h1>{}</h1>\
         <p class=muted>along {} · {} commits with runs · {} runs · generated {}</p>\n",
        escape(&h.hardware_key),
        escape(&h.branch),
        h.commits.len(),
        h.runs,
        escape(generated_at)
    );
    if let Some(note) = &k.verdicts_note {
        let _ = writeln!(body, "<p class=muted>Verdicts: {}</p>", escape(note));
    }
    body.push_str("<table><tr><th>benchmark</th><th>latest</th><th>throughput</th><th>vs baseline</th><th>overall</th><th>change points</th><th>creep</th></tr>\n");
    for (i, s) in h.series.iter().enumerate() {
        let latest = s.points.last();
        let throughput = latest.map_or(String::new(), |p| {
            if s.flops > 0 {
                format_flops(s.flops as f64 / p.median)
            } else {
                format_bytes_per_s(s.bytes as f64 / p.median)
            }
        });
        let verdict = k
            .verdicts
            .as_ref()
            .and_then(|c| c.entries.iter().find(|e| e.id == s.id))
            .map_or(String::from("—"), |e| {
                let ratio = e
                    .ratio
                    .map(|r| format!(" ({})", percent(r - 1.0)))
                    .unwrap_or_default();
                format!("<span class={0}>{0}</span>{ratio}", e.verdict.name())
            });
        let cps = s
            .change_points
            .iter()
            .map(|c| {
                format!(
                    "<span class={}>{}</span> at {}",
                    class(c.direction),
                    percent(c.change),
                    escape(short(&c.commit))
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let creep = s
            .creep
            .iter()
            .map(|c| {
                format!(
                    "<span class={}>{}</span> over {}",
                    class(c.direction),
                    percent(c.drift),
                    c.points
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            body,
            "<tr><td><a href=\"#b{i}\">{}</a></td><td class=num>{}</td><td class=num>{}</td><td>{verdict}</td><td class=num>{}</td><td>{cps}</td><td>{creep}</td></tr>",
            escape(&s.id),
            latest.map_or(String::new(), |p| format_seconds(p.median)),
            throughput,
            s.overall_change().map_or(String::new(), percent),
        );
    }
    body.push_str("</table>\n");

    let roof = format!("{dir}/roofline.svg");
    files.push(ReportFile {
        path: roof.clone(),
        contents: roofline_svg(&k.roofline, k.bandwidth.clone(), None),
    });
    let _ = writeln!(
        body,
        "<section><h2>Roofline of the newest run</h2><img src=\"{}\" alt=\"roofline\"></section>",
        escape(&roof)
    );
    for (i, s) in h.series.iter().enumerate() {
        let chart = format!("{dir}/{i:04}-{}.svg", file_slug(&s.id));
        files.push(ReportFile {
            path: chart.clone(),
            contents: series_svg(s),
        });
        let _ = write!(
            body,
            "<section id=\"b{i}\"><h2>{}</h2><img src=\"{}\" alt=\"history of {}\">",
            escape(&s.id),
            escape(&chart),
            escape(&s.id)
        );
        if s.unusable > 0 {
            let _ = write!(
                body,
                "<p class=muted>{} commits without a usable time (failed or throttled).</p>",
                s.unusable
            );
        }
        if !s.change_points.is_empty() {
            body.push_str("<ul>");
            for c in &s.change_points {
                let place = if c.commits_in_range > 1 {
                    format!(
                        "between <code>{}</code>..<code>{}</code> ({} commits; <code>orac bisect --good {} --bad {} --filter {}</code> finds which)",
                        escape(short(&c.last_before)),
                        escape(short(&c.commit)),
                        c.commits_in_range,
                        escape(short(&c.last_before)),
                        escape(short(&c.commit)),
                        escape(&s.id)
                    )
                } else {
                    format!(
                        "at <code>{}</code> ({}, {})",
                        escape(short(&c.commit)),
                        escape(&c.date),
                        escape(&c.subject)
                    )
                };
                let _ = write!(
                    body,
                    "<li><span class={}>{}</span> {place}: {} → {}, p = {:.1e}</li>",
                    class(c.direction),
                    percent(c.change),
                    format_seconds(c.before),
                    format_seconds(c.after),
                    c.p_value
                );
            }
            body.push_str("</ul>");
        }
        body.push_str("</section>\n");
    }
    if !h.set_aside.is_empty() || !h.unreadable.is_empty() {
        body.push_str("<section><h2>Not in the history</h2><ul>");
        for a in &h.set_aside {
            let _ = write!(
                body,
                "<li><code>{}</code>: {}</li>",
                escape(&a.path),
                escape(&a.reason)
            );
        }
        for e in &h.unreadable {
            let _ = write!(body, "<li>{}</li>", escape(e));
        }
        body.push_str("</ul></section>\n");
    }
    files.push(ReportFile {
        path: key_page,
        contents: page(&h.hardware_key, &body),
    });
    files
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
        let files = report_files(&[key("a.b"), key("a_b"), key("index")], "now");
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
}
