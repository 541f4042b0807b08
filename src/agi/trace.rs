//! Wire trace: every command and reply with a timestamp.
//!
//! A [`WireTrace`] writes lines like
//!
//! ```text
//! 12.345678 #3 >> GET VARIABLE CALLERID(num)
//! 12.346012 #3 << 200 result=1 (4105551234)
//! ```
//!
//! to stderr, a file, or any writer. It can be switched on and off at run
//! time through a [`TraceSwitch`] (cheap to clone, usable from another thread
//! or a signal-free control path such as a command socket).

use super::session::Direction;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A shared on/off switch for a [`WireTrace`].
#[derive(Debug, Clone)]
pub struct TraceSwitch(Arc<AtomicBool>);

impl TraceSwitch {
    /// Turn tracing on or off.
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed);
    }
    /// Is tracing on?
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Writes a timestamped transcript of the AGI conversation.
pub struct WireTrace {
    sink: Box<dyn Write + Send>,
    switch: TraceSwitch,
    start: Instant,
}

impl std::fmt::Debug for WireTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireTrace")
            .field("on", &self.switch.is_on())
            .finish()
    }
}

impl WireTrace {
    /// Trace to any writer (enabled).
    pub fn new(sink: impl Write + Send + 'static) -> Self {
        WireTrace {
            sink: Box::new(sink),
            switch: TraceSwitch(Arc::new(AtomicBool::new(true))),
            start: Instant::now(),
        }
    }

    /// Trace to stderr.
    pub fn stderr() -> Self {
        Self::new(io::stderr())
    }

    /// Trace to a file (appending).
    pub fn file(path: impl AsRef<Path>) -> io::Result<Self> {
        let f = File::options().create(true).append(true).open(path)?;
        Ok(Self::new(io::LineWriter::new(f)))
    }

    /// The run-time switch.
    pub fn switch(&self) -> TraceSwitch {
        self.switch.clone()
    }

    /// Is tracing on?
    pub fn is_on(&self) -> bool {
        self.switch.is_on()
    }

    /// Record one frame (possibly several lines) for session `id`.
    /// Write errors are ignored: tracing never breaks a call.
    pub fn record(&mut self, id: u64, dir: Direction, bytes: &[u8]) {
        if !self.switch.is_on() {
            return;
        }
        let t = self.start.elapsed().as_secs_f64();
        let arrow = match dir {
            Direction::In => "<<",
            Direction::Out => ">>",
        };
        let text = String::from_utf8_lossy(bytes);
        for line in text.trim_end_matches('\n').split('\n') {
            let _ = writeln!(self.sink, "{t:.6} #{id} {arrow} {line}");
        }
        let _ = self.sink.flush();
    }
}
