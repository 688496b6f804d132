//! Progress on stderr: an indicatif bar on a terminal, a plain line every few seconds otherwise
//! (CI logs keep every redraw of a bar).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain line is written when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// Progress of one phase towards `total`.
pub struct Meter {
    what: String,
    total: u64,
    display: Display,
}

enum Display {
    Bar(ProgressBar),
    Lines { last: Mutex<Instant> },
}

impl Meter {
    /// A meter for `what`, counting to `total`.
    pub fn new(what: &str, total: u64) -> Meter {
        let display = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .map(|style| style.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(what.to_owned());
            Display::Bar(bar)
        } else {
            Display::Lines {
                last: Mutex::new(Instant::now()),
            }
        };
        Meter {
            what: what.to_owned(),
            total,
            display,
        }
    }

    /// `done` of the total, with a note (`1,234 ops/s`).
    pub fn set(&self, done: u64, note: String) {
        match &self.display {
            Display::Bar(bar) => {
                bar.set_position(done.min(self.total));
                bar.set_message(note);
            }
            Display::Lines { last } => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() >= LINE_EVERY {
                    *last = Instant::now();
                    let note = if note.is_empty() {
                        String::new()
                    } else {
                        format!(", {note}")
                    };
                    eprintln!("{}: {done}/{}{note}", self.what, self.total);
                }
            }
        }
    }

    /// Ends the phase with a last line.
    pub fn finish(&self, line: &str) {
        match &self.display {
            Display::Bar(bar) => bar.finish_and_clear(),
            Display::Lines { .. } => {}
        }
        eprintln!("{line}");
    }
}
