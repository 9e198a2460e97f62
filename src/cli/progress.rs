//! Progress on stderr: a line per finished benchmark (so CI logs show it), and on a
//! terminal a live line for the one running.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use super::style::{BAD, DOUBT, GOOD, Paint};
use crate::report::format_seconds;
use crate::runner::Event;
use crate::store::Status;

pub struct Progress {
    tty: bool,
    paint: Paint,
    started: Instant,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            paint: Paint::stderr(),
            started: Instant::now(),
        }
    }

    pub fn on_event(&mut self, event: Event) {
        let mut err = std::io::stderr().lock();
        match event {
            Event::Started {
                index,
                total,
                bench,
            } => {
                if self.tty {
                    let _ = write!(err, "\r\x1b[K[{:>3}/{total}] {} …", index + 1, bench.id);
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
                let clear = if self.tty { "\r\x1b[K" } else { "" };
                let _ = writeln!(
                    err,
                    "{clear}[{:>3}/{total}] {} {what} ({:.1} s elapsed)",
                    index + 1,
                    result.id,
                    self.started.elapsed().as_secs_f64()
                );
            }
        }
    }
}
