//! Progress while a drill runs: a bar with live counters on a terminal,
//! plain lines (every couple of seconds) when output goes to a file or a
//! pipe, as in CI.

use std::{
    io::IsTerminal,
    sync::Mutex,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain progress line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(2);

/// Where progress goes: stderr when stdout carries JSON, stdout otherwise.
pub struct Progress {
    json: bool,
    bar: Option<ProgressBar>,
    last_line: Mutex<Instant>,
}

impl Progress {
    /// A progress display for `len` steps.
    pub fn new(len: u64, json: bool) -> Self {
        let tty = if json {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        let bar = tty.then(|| {
            let target = if json {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::stdout()
            };
            let bar = ProgressBar::with_draw_target(Some(len), target);
            if let Ok(style) =
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            json,
            bar,
            last_line: Mutex::new(Instant::now()),
        }
    }

    /// A line of news, above the bar if there is one.
    pub fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.json => eprintln!("{line}"),
            None => println!("{line}"),
        }
    }

    /// Where the work stands: the bar moves, or a plain line now and then.
    pub fn step(&self, position: u64, counters: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(position);
                bar.set_message(counters.to_owned());
            }
            None => {
                let Ok(mut last) = self.last_line.lock() else {
                    return;
                };
                if last.elapsed() >= PLAIN_EVERY {
                    *last = Instant::now();
                    drop(last);
                    self.say(&format!("[{position}] {counters}"));
                }
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
