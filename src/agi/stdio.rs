//! Stdio AGI: a script Asterisk runs from `agi-bin`, talking over stdin and
//! stdout (or any `BufRead` + `Write` pair).
//!
//! Blocking by nature: [`StdioAgi::run`] writes one command and waits for its
//! final reply.
//!
//! # Hangups and SIGHUP
//!
//! When the channel hangs up, Asterisk sends a *classic* AGI script
//! `SIGHUP`, whose default action kills the process. Set the channel
//! variable `AGISIGHUP=no` (e.g. `same => n,Set(AGISIGHUP=no)` before
//! `AGI(...)`) and Asterisk sends nothing at all: `res_agi.c` (`run_agi`)
//! writes the `HANGUP` line only to a FastAGI socket, and `AGISIGHUP=no`
//! turns that off as well. The script then learns of the hangup from the
//! replies: Asterisk runs the rest of the session in dead mode and answers
//! `511` to commands that need a live channel, which this type turns into
//! [`AgiError::HungUp`]; commands that still work on a dead channel
//! (`GET VARIABLE`) keep working. A `HANGUP` line, should one arrive, is
//! noted the same way. With `AGIEXITONHANGUP=yes` Asterisk closes the pipes
//! instead: EOF on stdin and a broken pipe on stdout (Rust ignores
//! `SIGPIPE`, so a write to the closed pipe returns `EPIPE`) are reported
//! as [`AgiError::HungUp`] too, never as a panic.

use super::codec::{Env, EnvParser, Inbound, Limits, Parsed, ReplyFramer, Skip};
use super::command::Command;
use super::error::{AgiError, HangupSource};
use super::session::Direction;
use super::trace::WireTrace;
use std::io::{self, BufRead, Write};

/// A blocking AGI session over a reader and a writer.
pub struct StdioAgi<R, W> {
    reader: R,
    writer: W,
    env: Env,
    buf: Vec<u8>,
    framer: ReplyFramer,
    out: Vec<u8>,
    hungup: Option<HangupSource>,
    eof: bool,
    skip: Skip,
    trace: Option<WireTrace>,
    max_command_line: usize,
}

impl<R, W> std::fmt::Debug for StdioAgi<R, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdioAgi")
            .field("env", &self.env)
            .field("hungup", &self.hungup)
            .finish()
    }
}

impl StdioAgi<io::StdinLock<'static>, io::Stdout> {
    /// The session of the running AGI script (reads the environment block
    /// from stdin).
    pub fn from_stdio() -> Result<Self, AgiError> {
        StdioAgi::new(io::stdin().lock(), io::stdout())
    }
}

impl<R: BufRead, W: Write> StdioAgi<R, W> {
    /// Start a session: read the environment block.
    pub fn new(reader: R, writer: W) -> Result<Self, AgiError> {
        Self::with_limits(reader, writer, Limits::default())
    }

    /// Like [`new`](Self::new) with explicit size limits.
    pub fn with_limits(mut reader: R, writer: W, limits: Limits) -> Result<Self, AgiError> {
        let mut buf = Vec::with_capacity(1024);
        let mut parser = EnvParser::new(limits);
        let env = loop {
            match parser.parse(&buf)? {
                Parsed::Complete(n) => {
                    let env = parser.take(&buf[..n]);
                    buf.drain(..n);
                    break env;
                }
                Parsed::Partial => {
                    let chunk = reader.fill_buf()?;
                    if chunk.is_empty() {
                        return Err(AgiError::protocol(
                            "end of input inside the environment block",
                            &buf,
                        ));
                    }
                    let n = chunk.len();
                    buf.extend_from_slice(chunk);
                    reader.consume(n);
                }
            }
        };
        Ok(StdioAgi {
            reader,
            writer,
            max_command_line: env.max_command_line(),
            env,
            buf,
            framer: ReplyFramer::new(limits),
            out: Vec::with_capacity(256),
            hungup: None,
            eof: false,
            skip: Skip::None,
            trace: None,
        })
    }

    /// The environment block.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Why the channel counts as hung up, if it does.
    pub fn hangup(&self) -> Option<HangupSource> {
        self.hungup
    }

    /// The longest command line (bytes, LF included) [`run`](Self::run)
    /// sends: the server's, from `agi_version`
    /// ([`Env::max_command_line`]), unless set with
    /// [`set_max_command_line`](Self::set_max_command_line).
    pub fn max_command_line(&self) -> usize {
        self.max_command_line
    }

    /// Override the longest command line sent (for a build whose version
    /// string does not tell, e.g. `GIT-master-…`).
    pub fn set_max_command_line(&mut self, limit: usize) {
        self.max_command_line = limit;
    }

    /// Trace every command and reply (or stop tracing with `None`).
    pub fn set_trace(&mut self, trace: Option<WireTrace>) {
        self.trace = trace;
    }

    /// The trace, to switch it on or off.
    pub fn trace(&mut self) -> Option<&mut WireTrace> {
        self.trace.as_mut()
    }

    /// Send a command and wait for its typed result.
    ///
    /// An argument with CR, LF or NUL, or a line longer than
    /// [`max_command_line`](Self::max_command_line), fails before anything
    /// is written.
    pub fn run<C: Command>(&mut self, cmd: C) -> Result<C::Output, AgiError> {
        self.out.clear();
        cmd.encode_limited(&mut self.out, self.max_command_line)?;
        if self.eof {
            return Err(AgiError::HungUp(HangupSource::Eof));
        }
        if let Some(t) = &mut self.trace {
            t.record(0, Direction::Out, &self.out);
        }
        if let Err(e) = self
            .writer
            .write_all(&self.out)
            .and_then(|()| self.writer.flush())
        {
            return Err(match e.kind() {
                io::ErrorKind::BrokenPipe => {
                    self.hungup.get_or_insert(HangupSource::BrokenPipe);
                    AgiError::HungUp(HangupSource::BrokenPipe)
                }
                _ => AgiError::Io(e),
            });
        }
        loop {
            if self.skip != Skip::None {
                let n = self.skip.advance(&self.buf);
                self.buf.drain(..n);
                if self.skip != Skip::None {
                    self.fill()?;
                    continue;
                }
            }
            match self.framer.next_frame(&self.buf) {
                Ok(Parsed::Complete(n)) => {
                    if let Some(t) = &mut self.trace {
                        t.record(0, Direction::In, &self.buf[..n]);
                    }
                    let outcome = match ReplyFramer::frame(&self.buf[..n]) {
                        Ok(Inbound::Hangup) => {
                            self.hungup.get_or_insert(HangupSource::HangupLine);
                            None
                        }
                        Ok(Inbound::Reply(r)) if r.code == 100 => None,
                        Ok(Inbound::Reply(r)) => {
                            if r.code == 511 {
                                self.hungup.get_or_insert(HangupSource::DeadChannel);
                            }
                            Some(cmd.parse_reply(&r))
                        }
                        Err(e) => Some(Err(e)),
                    };
                    self.buf.drain(..n);
                    if let Some(o) = outcome {
                        return o;
                    }
                }
                Ok(Parsed::Partial) => self.fill()?,
                Err(e) => {
                    self.skip = Skip::after_error(&self.buf);
                    return Err(e);
                }
            }
        }
    }

    fn fill(&mut self) -> Result<(), AgiError> {
        let chunk = match self.reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(AgiError::Io(e)),
        };
        if chunk.is_empty() {
            self.eof = true;
            self.hungup.get_or_insert(HangupSource::Eof);
            return Err(AgiError::HungUp(HangupSource::Eof));
        }
        let n = chunk.len();
        self.buf.extend_from_slice(chunk);
        self.reader.consume(n);
        Ok(())
    }

    /// Give back the reader and writer.
    pub fn into_inner(self) -> (R, W) {
        (self.reader, self.writer)
    }
}
