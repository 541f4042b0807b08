//! Error and panic reports on the Asterisk console (in the spirit of pyst's
//! `agitb`).
//!
//! A [`Reporter`] formats an error with its `source()` chain and a
//! backtrace, then sends it to the Asterisk console as `VERBOSE` commands
//! (one per line, long lines split so each command stays well under
//! Asterisk's 2 KiB command buffer) and/or writes it to a file in a log
//! directory. [`Reporter::install_panic_hook`] does the same for panics in a
//! stdio AGI script: the hook writes the `VERBOSE` lines straight to stdout
//! (it does not wait for replies, so it cannot deadlock on stdin).

use super::commands::Verbose;
use super::stdio::StdioAgi;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::error::Error;
use std::fmt::Write as _;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest message text of one `VERBOSE` command sent by the reporter.
pub const MAX_VERBOSE_CHUNK: usize = 900;

/// Formats errors and panics and sends them where a developer will see them.
#[derive(Debug, Clone)]
pub struct Reporter {
    level: Option<i64>,
    log_dir: Option<PathBuf>,
    backtrace: bool,
    prefix: String,
}

impl Default for Reporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter {
    /// Report at `VERBOSE` level 1, with a backtrace, no log file.
    pub fn new() -> Self {
        Reporter {
            level: Some(1),
            log_dir: None,
            backtrace: true,
            prefix: "AGI".into(),
        }
    }

    /// Send reports with this `VERBOSE` level (1-4).
    pub fn verbose_level(mut self, level: i64) -> Self {
        self.level = Some(level);
        self
    }

    /// Do not send reports to the console.
    pub fn no_verbose(mut self) -> Self {
        self.level = None;
        self
    }

    /// Also write each report to a new file in `dir`.
    pub fn log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = Some(dir.into());
        self
    }

    /// Include a backtrace (captured even without `RUST_BACKTRACE`).
    pub fn backtrace(mut self, on: bool) -> Self {
        self.backtrace = on;
        self
    }

    /// A word put in front of every console line (default `AGI`).
    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.prefix = p.into();
        self
    }

    /// The report text for an error: message, causes, backtrace.
    pub fn format_error(&self, err: &(dyn Error + 'static)) -> String {
        let mut s = format!("error: {err}\n");
        let mut src = err.source();
        let mut n = 0;
        while let Some(e) = src {
            n += 1;
            let _ = writeln!(s, "  cause {n}: {e}");
            src = e.source();
        }
        self.add_backtrace(&mut s);
        s
    }

    fn add_backtrace(&self, s: &mut String) {
        if !self.backtrace {
            return;
        }
        let bt = Backtrace::force_capture();
        if bt.status() == BacktraceStatus::Captured {
            let _ = write!(s, "backtrace:\n{bt}");
        }
    }

    /// The `VERBOSE` commands that show `text` on the console: one per
    /// line, lines longer than [`MAX_VERBOSE_CHUNK`] split at character
    /// boundaries, control characters replaced by spaces.
    pub fn verbose_commands(&self, text: &str) -> Vec<Verbose> {
        let level = self.level.unwrap_or(1);
        let mut out = Vec::new();
        for line in text.lines() {
            let clean: String = line
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let mut rest = clean.as_str();
            loop {
                let mut cut = rest.len().min(MAX_VERBOSE_CHUNK);
                while !rest.is_char_boundary(cut) {
                    cut -= 1;
                }
                let (head, tail) = rest.split_at(cut);
                out.push(Verbose::new(format!("{}: {head}", self.prefix), level));
                rest = tail;
                if rest.is_empty() {
                    break;
                }
            }
        }
        out
    }

    /// Write `text` to a new file in the log directory; returns its path.
    pub fn write_file(&self, text: &str) -> io::Result<Option<PathBuf>> {
        let Some(dir) = &self.log_dir else {
            return Ok(None);
        };
        let path = report_path(dir);
        std::fs::create_dir_all(dir)?;
        std::fs::write(&path, text)?;
        Ok(Some(path))
    }

    /// Report `err` through a stdio session (`VERBOSE` commands, waiting
    /// for each reply) and to the log file. Failures of the report itself
    /// are ignored.
    pub fn report_to<R: BufRead, W: Write>(
        &self,
        agi: &mut StdioAgi<R, W>,
        err: &(dyn Error + 'static),
    ) {
        let text = self.format_error(err);
        let _ = self.write_file(&text);
        if self.level.is_some() {
            for cmd in self.verbose_commands(&text) {
                if agi.run(cmd).is_err() {
                    break;
                }
            }
        }
    }

    /// Queue the report of `err` in a FastAGI [`Script`](super::session::Script)
    /// (as `VERBOSE` commands whose results are ignored; they run next) and
    /// write it to the log file.
    pub fn queue_report<S>(
        &self,
        script: &mut super::session::Script<S>,
        err: &(dyn Error + 'static),
    ) {
        let text = self.format_error(err);
        let _ = self.write_file(&text);
        if self.level.is_some() {
            for cmd in self.verbose_commands(&text) {
                script.then(cmd, |_, _| {});
            }
        }
    }

    /// Write the `VERBOSE` lines for `text` to `out` without reading replies
    /// (for panic hooks and other last-gasp paths).
    pub fn write_verbose_lines(&self, text: &str, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = Vec::new();
        for cmd in self.verbose_commands(text) {
            use super::command::Command;
            let _ = cmd.encode(&mut buf);
        }
        out.write_all(&buf)?;
        out.flush()
    }

    /// Install a panic hook for a stdio AGI script: the panic message,
    /// location and backtrace go to the Asterisk console (via stdout) and
    /// to the log directory, then the previous hook runs (stderr, which
    /// Asterisk logs as well).
    pub fn install_panic_hook(self) {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mut text = format!("panic: {info}\n");
            self.add_backtrace(&mut text);
            let _ = self.write_file(&text);
            if self.level.is_some() {
                let _ = self.write_verbose_lines(&text, &mut io::stdout().lock());
            }
            prev(info);
        }));
    }
}

fn report_path(dir: &Path) -> PathBuf {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    dir.join(format!("agi-report-{}-{t}.txt", std::process::id()))
}
