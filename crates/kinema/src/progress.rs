//! A progress bar on stderr when it is a terminal; silence otherwise (logs, CI, pipes).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use kinema_core::Progress;

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(1);
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg:>9} [{bar:32}] {pos}/{len} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Bar { bar }
    }

    /// Engine progress callback; safe to call from worker threads.
    pub fn update(&self, p: Progress) {
        self.bar.set_length(p.total.max(1));
        self.bar.set_position(p.done);
        self.bar.set_message(p.stage);
    }

    /// Hides the bar while `f` writes to the terminal (a question, a notice).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
