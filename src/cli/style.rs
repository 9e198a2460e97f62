//! Colour for verdicts and failures. anstream decides whether a stream gets any (`NO_COLOR`,
//! `CLICOLOR=0`, not a terminal: none; `CLICOLOR_FORCE`: always) and anstyle writes the
//! codes. Tables are laid out without colour and painted afterwards, cell by cell, so the
//! colour never changes a column's width.

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};

/// A regression, a failure, an error.
pub const BAD: Style = AnsiColor::Red.on_default().bold();
/// An improvement, a pass.
pub const GOOD: Style = AnsiColor::Green.on_default();
/// Undecided or disturbed: worth a look, not an alarm.
pub const DOUBT: Style = AnsiColor::Yellow.on_default();

/// Whether text for one stream is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint(pub bool);

impl Paint {
    pub fn stdout() -> Self {
        Paint(AutoStream::choice(&std::io::stdout()) != ColorChoice::Never)
    }

    pub fn stderr() -> Self {
        Paint(AutoStream::choice(&std::io::stderr()) != ColorChoice::Never)
    }

    /// `text` in `style`, or as it is when this stream gets no colour.
    pub fn paint(self, style: Style, text: &str) -> String {
        if self.0 {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// Paints each cell of the column headed `header` in a rendered table (tabled's
    /// `│`-separated rows) with the style `style_of` gives its text; the padding is kept.
    pub fn column(
        self,
        table: &str,
        header: &str,
        style_of: impl Fn(&str) -> Option<Style>,
    ) -> String {
        if !self.0 {
            return table.to_string();
        }
        let mut column = None;
        let mut out = Vec::new();
        for line in table.split('\n') {
            let cells: Vec<&str> = line.split('│').collect();
            if cells.len() < 3 {
                out.push(line.to_string());
                continue;
            }
            let Some(i) = column else {
                column = cells.iter().position(|c| c.trim() == header);
                out.push(line.to_string());
                continue;
            };
            let Some(style) = cells.get(i).and_then(|c| style_of(c.trim())) else {
                out.push(line.to_string());
                continue;
            };
            let cell = cells[i];
            let text = cell.trim();
            let start = cell.find(text).unwrap_or(0);
            let painted = format!(
                "{}{}{}",
                &cell[..start],
                self.paint(style, text),
                &cell[start + text.len()..]
            );
            let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
            cells[i] = painted;
            out.push(cells.join("│"));
        }
        out.join("\n")
    }

    /// A run's or verify's table with its `check` column painted: failures red.
    pub fn checks(self, table: &str) -> String {
        self.column(table, "check", check_style)
    }

    /// A comparison's table with its `verdict` column painted.
    pub fn verdicts(self, table: &str) -> String {
        self.column(table, "verdict", verdict_style)
    }
}

/// The style of a verdict, by its name (`Verdict::name`).
pub fn verdict_style(verdict: &str) -> Option<Style> {
    match verdict {
        "slower" | "failed" => Some(BAD),
        "faster" => Some(GOOD),
        "ambiguous" | "contended" | "inconclusive" | "throttled" | "missing" => Some(DOUBT),
        _ => None,
    }
}

/// The style of a `check` cell: failures and errors only (a table of green would hide them).
pub fn check_style(check: &str) -> Option<Style> {
    (check.starts_with("FAIL") || check.starts_with("ERROR")).then_some(BAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
╭───────────┬─────────┬──────╮
│ benchmark │ verdict │ note │
├───────────┼─────────┼──────┤
│ a         │ slower  │      │
│ b         │ same    │ ok   │
│ c         │ faster  │      │
╰───────────┴─────────┴──────╯";

    #[test]
    fn only_the_named_column_is_painted_and_its_width_is_kept() {
        let painted = Paint(true).verdicts(TABLE);
        assert!(
            painted.contains(&format!("│ {BAD}slower{BAD:#}  │")),
            "{painted}"
        );
        assert!(
            painted.contains(&format!("│ {GOOD}faster{GOOD:#}  │")),
            "{painted}"
        );
        assert!(painted.contains("│ same    │ ok   │"), "{painted}");
        // Without the codes it is the table as laid out.
        let plain = anstream::adapter::strip_str(&painted).to_string();
        assert_eq!(plain, TABLE);
        assert_eq!(Paint(false).verdicts(TABLE), TABLE);
    }

    #[test]
    fn failed_checks_are_painted_passes_are_not() {
        let table = "│ benchmark │ check │\n│ x │ FAIL: err 1e0 │\n│ y │ ok (exact) │";
        let painted = Paint(true).checks(table);
        assert!(
            painted.contains(&format!("{BAD}FAIL: err 1e0{BAD:#}")),
            "{painted}"
        );
        assert!(painted.contains("│ ok (exact) │"), "{painted}");
    }
}
