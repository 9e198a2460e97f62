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

pub struct Progress {
    /// The terminal's bar, made at the first event (when the total is known); `None` in a
    /// log, where each finished benchmark is one plain line.
    bar: Option<ProgressBar>,
    tty: bool,
    paint: Paint,
    started: Instant,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            bar: None,
            tty: std::io::stderr().is_terminal(),
            paint: Paint::stderr(),
            started: Instant::now(),
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

    /// Ends the bar (called when the run ends), leaving the finished lines above it.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Started { total, bench, .. } => {
                if self.tty {
                    let bar = self.bar(total);
                    bar.set_message(bench.id.clone());
                }
            }
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
                if self.tty {
                    let bar = self.bar(total);
                    bar.set_position(index as u64 + 1);
                    bar.println(line);
                } else {
                    let _ = writeln!(std::io::stderr().lock(), "{line}");
                }
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
