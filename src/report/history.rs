//! `orac history` in the terminal: one row per benchmark, then each change point and creep.

use tabled::settings::{Alignment, Style, object::Columns};
use tabled::{Table, Tabled};

use super::format_seconds;
use super::units::short_commit as short;
use crate::history::{Direction, History};

#[derive(Tabled)]
struct Row {
    benchmark: String,
    commits: usize,
    first: String,
    latest: String,
    overall: String,
    #[tabled(rename = "change points")]
    change_points: String,
    creep: String,
}

fn signed_percent(x: f64) -> String {
    format!("{:+.1}%", 100.0 * x)
}

fn word(d: Direction) -> &'static str {
    match d {
        Direction::Slower => "slower",
        Direction::Faster => "faster",
    }
}

/// The table and the details below it.
pub fn history_text(h: &History) -> String {
    let mut out = format!(
        "history of {} along {} — {} commits with runs, {} runs\n",
        h.hardware_key,
        h.branch,
        h.commits.len(),
        h.runs
    );
    let rows = h.series.iter().map(|s| Row {
        benchmark: s.id.clone(),
        commits: s.points.len(),
        first: s
            .points
            .first()
            .map_or("-".into(), |p| format_seconds(p.median)),
        latest: s
            .points
            .last()
            .map_or("-".into(), |p| format_seconds(p.median)),
        overall: s.overall_change().map_or("-".into(), signed_percent),
        change_points: s
            .change_points
            .iter()
            .map(|c| format!("{} at {}", signed_percent(c.change), short(&c.commit)))
            .collect::<Vec<_>>()
            .join(", "),
        creep: s
            .creep
            .iter()
            .map(|c| format!("{} over {}", signed_percent(c.drift), c.points))
            .collect::<Vec<_>>()
            .join(", "),
    });
    let mut table = Table::new(rows);
    table
        .with(Style::rounded())
        .modify(Columns::new(1..5), Alignment::right());
    out.push_str(&table.to_string());
    out.push('\n');

    let details: Vec<String> = h
        .series
        .iter()
        .flat_map(|s| {
            let steps = s.change_points.iter().map(move |c| {
                let place = if c.commits_in_range > 1 {
                    format!(
                        "between {}..{} ({} commits without a point between; `orac bisect --good {} --bad {} --filter {}` finds which)",
                        short(&c.last_before),
                        short(&c.commit),
                        c.commits_in_range,
                        short(&c.last_before),
                        short(&c.commit),
                        s.id
                    )
                } else {
                    format!("at {} ({}, “{}”)", short(&c.commit), c.date, c.subject)
                };
                format!(
                    "  {} {} {place}: {} → {} ({}, p = {:.1e})",
                    s.id,
                    word(c.direction),
                    format_seconds(c.before),
                    format_seconds(c.after),
                    signed_percent(c.change),
                    c.p_value
                )
            });
            let creep = s.creep.iter().map(move |c| {
                format!(
                    "  {} creeping {}: {} over {} commits {}..{} (Mann–Kendall p = {:.1e})",
                    s.id,
                    word(c.direction),
                    signed_percent(c.drift),
                    c.points,
                    short(&c.from_commit),
                    short(&c.to_commit),
                    c.p_value
                )
            });
            steps.chain(creep)
        })
        .collect();
    if details.is_empty() {
        out.push_str("no change points or creep\n");
    } else {
        out.push_str("changes (time: + is slower):\n");
        for line in details {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if !h.set_aside.is_empty() {
        out.push_str(&format!("{} runs set aside:\n", h.set_aside.len()));
        for a in &h.set_aside {
            out.push_str(&format!("  {}: {}\n", a.path, a.reason));
        }
    }
    if !h.unreadable.is_empty() {
        out.push_str(&format!(
            "{} files could not be read:\n",
            h.unreadable.len()
        ));
        for e in &h.unreadable {
            out.push_str(&format!("  {e}\n"));
        }
    }
    out
}
