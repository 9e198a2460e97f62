//! Progress on stderr: a line per finished benchmark (so CI logs show it), and on a
//! terminal a progress bar under them (indicatif: done/total, elapsed, ETA, and the running
//! benchmark with a spinner and its own clock, so a long benchmark still shows signs of life).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::style::{BAD, DOUBT, GOOD, Paint};
use crate::report::format_seconds;
use crate::runner::Event;
use crate::store::Status;

/// The terminal's live bar under the finished lines: made at the first event (when the
/// total is known); where stderr is not a terminal (CI logs), only the plain lines.
pub struct LiveBar {
    bar: Option<ProgressBar>,
    tty: bool,
}

impl LiveBar {
    pub fn new() -> Self {
        LiveBar {
            bar: None,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// The bar, drawn on stderr at most 10 times a second and ticking every 200 ms.
    fn bar(&mut self, total: usize) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{pos:>3}/{len}] {elapsed_precise} elapsed, ETA {eta} · {wide_msg}",
                )
                .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        })
    }

    /// `id` (of `total`) is running.
    pub fn started(&mut self, total: usize, id: &str) {
        if self.tty {
            self.bar(total).set_message(id.to_string());
        }
    }

    /// The `index`th of `total` finished: `line` above the bar, or on its own in a log.
    pub fn finished(&mut self, index: usize, total: usize, line: String) {
        if self.tty {
            let bar = self.bar(total);
            bar.set_position(index as u64 + 1);
            bar.println(line);
        } else {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// Ends the bar (before anything else is printed), leaving the finished lines.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for LiveBar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `orac run`'s progress: a line per finished benchmark with its median or what went wrong.
pub struct Progress {
    bar: LiveBar,
    paint: Paint,
    started: Instant,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            bar: LiveBar::new(),
            paint: Paint::stderr(),
            started: Instant::now(),
        }
    }

    /// Ends the bar (called when the run ends), leaving the finished lines above it.
    pub fn finish(&mut self) {
        self.bar.finish();
    }

    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Started { total, bench, .. } => self.bar.started(total, &bench.id),
            Event::Finished {
                index,
                total,
                result,
            } => {
                let p = |style, word| self.paint.paint(style, word);
                let what = match (result.status, &result.summary) {
                    (Status::Ok, Some(s)) if result.contended => {
                        format!("{} {}", p(DOUBT, "CONTENDED"), format_seconds(s.median))
                    }
                    (Status::Ok, Some(s)) => {
                        format!("{} {}", p(GOOD, "ok"), format_seconds(s.median))
                    }
                    (Status::VerificationFailed, _) => p(BAD, "VERIFICATION FAILED"),
                    (Status::Skipped, _) => "skipped".to_string(),
                    _ => p(BAD, "ERROR"),
                };
                let line = format!(
                    "[{:>3}/{total}] {} {what} ({:.1} s elapsed)",
                    index + 1,
                    result.id,
                    self.started.elapsed().as_secs_f64()
                );
                self.bar.finished(index, total, line);
            }
        }
    }
}
