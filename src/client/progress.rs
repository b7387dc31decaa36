//! What a verb shows while it works and when it ends.
//!
//! - stderr is a terminal: an indicatif bar per long operation (count, rate, ETA, tallies);
//! - stderr is not a terminal: one plain line every `--progress-every` seconds, and a last one
//!   at the end;
//! - `--json`: stdout carries one JSON object a line (one per id outcome, then a summary);
//! - `--quiet`: no progress and no human report (errors still go to stderr).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use super::args::OutputArgs;

enum Mode {
    Bar(ProgressBar),
    Plain {
        every: Duration,
        last: Mutex<Instant>,
    },
    Silent,
}

/// One verb's output.
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    every: Duration,
    progress: Mutex<Option<Task>>,
}

struct Task {
    label: String,
    total: u64,
    done: u64,
    /// Done before this run started (an earlier run's state): not part of the rate.
    earlier: u64,
    started: Instant,
    mode: Mode,
}

impl Output {
    pub fn new(args: &OutputArgs) -> Output {
        Output {
            json: args.json,
            quiet: args.quiet,
            every: Duration::from_secs_f64(args.progress_every),
            progress: Mutex::new(None),
        }
    }

    /// Starts the progress of an operation over `total` items, `earlier` of them already done.
    pub fn start(&self, label: &str, total: u64, earlier: u64) {
        let mode = if self.quiet {
            Mode::Silent
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:25}] {pos}/{len} {rate} ETA {eta} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0}/s", state.per_sec());
                    },
                )
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_owned());
            bar.set_position(earlier);
            bar.reset_eta();
            bar.enable_steady_tick(Duration::from_millis(250));
            Mode::Bar(bar)
        } else {
            Mode::Plain {
                every: self.every,
                last: Mutex::new(Instant::now()),
            }
        };
        let task = Task {
            label: label.to_owned(),
            total,
            done: earlier,
            earlier,
            started: Instant::now(),
            mode,
        };
        if let Mode::Plain { .. } = task.mode {
            let already = if earlier > 0 {
                format!(" ({earlier} done in an earlier run)")
            } else {
                String::new()
            };
            eprintln!("{label}: {total} to do{already}");
        }
        *self.lock() = Some(task);
    }

    /// `n` more items done; `tallies` describes the counts so far.
    pub fn advance(&self, n: u64, tallies: &str) {
        let mut guard = self.lock();
        let Some(task) = guard.as_mut() else { return };
        task.done += n;
        match &task.mode {
            Mode::Bar(bar) => {
                bar.inc(n);
                bar.set_message(tallies.to_owned());
            }
            Mode::Plain { every, last } => {
                let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                if last.elapsed() >= *every {
                    *last = Instant::now();
                    eprintln!("{}", task.line(tallies));
                }
            }
            Mode::Silent => {}
        }
    }

    /// Updates the tallies shown without counting items (e.g. a retry, a wait).
    pub fn status(&self, tallies: &str) {
        self.advance(0, tallies);
    }

    /// Ends the progress with its last line.
    pub fn finish(&self, tallies: &str) {
        let Some(task) = self.lock().take() else {
            return;
        };
        match &task.mode {
            Mode::Bar(bar) => {
                bar.set_message(tallies.to_owned());
                bar.finish();
                // The finished bar stays on its line; what follows starts on the next one.
                eprintln!();
            }
            Mode::Plain { .. } => eprintln!("{}", task.line(tallies)),
            Mode::Silent => {}
        }
    }

    /// A JSON line on stdout (with --json).
    pub fn record(&self, value: &Value) {
        if self.json {
            self.print(&value.to_string());
        }
    }

    /// A human line on stdout (not with --json or --quiet).
    pub fn say(&self, text: &str) {
        if !self.json && !self.quiet {
            self.print(text);
        }
    }

    /// A line on stdout whatever the mode (the ids `create` made, the token asked for).
    pub fn print(&self, text: &str) {
        self.suspended(|| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        });
    }

    /// A note on stderr (not with --quiet), e.g. an id that failed.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            self.suspended(|| eprintln!("{text}"));
        }
    }

    fn suspended(&self, f: impl FnOnce()) {
        let guard = self.lock();
        match guard.as_ref().map(|t| &t.mode) {
            Some(Mode::Bar(bar)) => bar.suspend(f),
            _ => f(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Task>> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Task {
    fn rate(&self) -> f64 {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        (self.done - self.earlier) as f64 / seconds
    }

    /// `delete: 1200/5000 (24%), 310/s, ETA 12s; deleted 1190, not found 10`
    fn line(&self, tallies: &str) -> String {
        let percent = (self.done * 100).checked_div(self.total).unwrap_or(100);
        let rate = self.rate();
        let left = self.total.saturating_sub(self.done);
        let eta = if left == 0 {
            "done".to_owned()
        } else if rate > 0.0 {
            format!("ETA {}s", (left as f64 / rate).ceil() as u64)
        } else {
            "ETA ?".to_owned()
        };
        format!(
            "{}: {}/{} ({percent}%), {rate:.0}/s, {eta}; {tallies}",
            self.label, self.done, self.total
        )
    }
}
