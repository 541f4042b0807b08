//! The sans-IO session core and the user-facing session model.
//!
//! A FastAGI (or stdio) session is one command in flight at a time: write a
//! line, wait for the final reply, decide what to send next. Without threads
//! there is nowhere to park "straight-line code" while waiting, so a session
//! is a value that *reacts*:
//!
//! * [`Handler`] is the low-level contract: hand out the next command line,
//!   take the reply. Implement it directly to write a session as an explicit
//!   state machine.
//! * [`Script`] is the comfortable one: queue typed commands in order, each
//!   optionally with a callback that receives the typed result and may queue
//!   more commands (they run next, before the rest of the queue). It reads
//!   top-to-bottom like straight-line code, and branches where a callback
//!   decides.
//! * [`Session`] is the protocol core under both: it frames the environment
//!   block and the replies out of the bytes it is given, skips `100 Trying`,
//!   notes the `HANGUP` line, and asks the handler for the next line. It does
//!   no I/O; the FastAGI server and the tests drive it.

use super::codec::{Env, EnvParser, Inbound, Limits, Parsed, Reply, ReplyFramer, Skip};
use super::command::{Command, MAX_COMMAND_LINE, MAX_COMMAND_LINE_8K};
use super::error::{AgiError, HangupSource};
use std::collections::VecDeque;
use std::ops::Range;
use std::task::Waker;
use std::time::Instant;

/// A session's logic, driven by [`Session`].
///
/// Order of calls: [`start`](Self::start) once, then repeatedly
/// [`next_command`](Self::next_command) → [`on_reply`](Self::on_reply) until
/// `next_command` returns `false`; [`on_hangup`](Self::on_hangup) whenever
/// the `HANGUP` line arrives; [`on_end`](Self::on_end) exactly once at the end.
///
/// A handler that waits for something other than its reply (an async
/// session, [`CallTask`](super::call::CallTask)) also answers
/// [`waiting`](Self::waiting), takes the host's waker, the time and
/// wakeups ([`set_waker`](Self::set_waker), [`handle_time`](Self::handle_time),
/// [`on_wake`](Self::on_wake)) and reports its next timer
/// ([`poll_timeout`](Self::poll_timeout)); the defaults suit a handler that
/// only reacts to replies.
pub trait Handler {
    /// The session started with this environment.
    fn start(&mut self, env: &Env) {
        let _ = env;
    }
    /// Append the next command line (LF-terminated, e.g. with
    /// [`Command::encode`]) to `out` and return `true`, or return `false`
    /// when the script is finished (the connection is then closed) or,
    /// if [`waiting`](Self::waiting) says so, has nothing to send yet.
    fn next_command(&mut self, out: &mut Vec<u8>) -> bool;
    /// The final reply to the command last written (or why there is none).
    fn on_reply(&mut self, reply: Result<&Reply<'_>, AgiError>);
    /// Asterisk sent the `HANGUP` line.
    fn on_hangup(&mut self) {}
    /// The session is over; `error` says why if it did not end normally.
    fn on_end(&mut self, error: Option<&AgiError>) {
        let _ = error;
    }
    /// Asked when [`next_command`](Self::next_command) returned `false`:
    /// `true` if the handler is not finished but waits for something other
    /// than a reply (a timer, a value the host delivers). The session then
    /// stays open with no command in flight until the host calls
    /// [`Session::resume`] or [`Session::handle_time`]. The default (`false`)
    /// ends the session, as a [`Script`] wants.
    fn waiting(&self) -> bool {
        false
    }
    /// Something the handler waits for was woken; the host calls this
    /// through [`Session::resume`].
    fn on_wake(&mut self) {}
    /// The host's waker for this session: waking it makes the host call
    /// [`Session::resume`] from its own loop. Given once, after
    /// [`start`](Self::start), by hosts that can resume sessions (the
    /// FastAGI server does for [`route_async`](super::fastagi::Server::route_async)).
    fn set_waker(&mut self, waker: &Waker) {
        let _ = waker;
    }
    /// The current instant, from the host: fire the timers due at `now`.
    fn handle_time(&mut self, now: Instant) {
        let _ = now;
    }
    /// The earliest timer of this handler, if any.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

impl<H: Handler + ?Sized> Handler for Box<H> {
    fn waiting(&self) -> bool {
        (**self).waiting()
    }
    fn on_wake(&mut self) {
        (**self).on_wake()
    }
    fn set_waker(&mut self, waker: &Waker) {
        (**self).set_waker(waker)
    }
    fn handle_time(&mut self, now: Instant) {
        (**self).handle_time(now)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        (**self).poll_timeout()
    }
    fn start(&mut self, env: &Env) {
        (**self).start(env)
    }
    fn next_command(&mut self, out: &mut Vec<u8>) -> bool {
        (**self).next_command(out)
    }
    fn on_reply(&mut self, reply: Result<&Reply<'_>, AgiError>) {
        (**self).on_reply(reply)
    }
    fn on_hangup(&mut self) {
        (**self).on_hangup()
    }
    fn on_end(&mut self, error: Option<&AgiError>) {
        (**self).on_end(error)
    }
}

/// Direction of a traced line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From Asterisk.
    In,
    /// To Asterisk.
    Out,
}

/// What [`Session::handle_input`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the input used; the caller drops them and keeps the rest.
    pub consumed: usize,
    /// The session is over: flush the output, then close.
    pub done: bool,
}

// The parser is needed only until the block is complete; keeping it inline
// avoids an allocation per session.
#[allow(clippy::large_enum_variant)]
enum Phase {
    Env(EnvParser),
    Running,
    Done,
}

/// The sans-IO protocol core for one AGI session.
///
/// Feed it received bytes with [`handle_input`](Self::handle_input); it
/// appends command lines to the output buffer you pass. When the
/// environment block is complete it calls your `route` function to get the
/// [`Handler`] (return `None` to refuse the session).
pub struct Session<H> {
    phase: Phase,
    framer: ReplyFramer,
    handler: Option<H>,
    in_flight: bool,
    hungup: Option<HangupSource>,
    skip: Skip,
    ended: bool,
}

impl<H: Handler> Default for Session<H> {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl<H: Handler> Session<H> {
    /// A fresh session waiting for the environment block.
    pub fn new(limits: Limits) -> Self {
        Session {
            phase: Phase::Env(EnvParser::new(limits)),
            framer: ReplyFramer::new(limits),
            handler: None,
            in_flight: false,
            hungup: None,
            skip: Skip::None,
            ended: false,
        }
    }

    /// The handler, once routed.
    pub fn handler(&self) -> Option<&H> {
        self.handler.as_ref()
    }

    /// The handler, mutably.
    pub fn handler_mut(&mut self) -> Option<&mut H> {
        self.handler.as_mut()
    }

    /// Why the channel counts as hung up, if it does.
    pub fn hangup(&self) -> Option<HangupSource> {
        self.hungup
    }

    /// True once the session is over.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// True once the environment block is complete.
    pub fn is_started(&self) -> bool {
        !matches!(self.phase, Phase::Env(_))
    }

    /// True while a command waits for its reply.
    pub fn awaiting_reply(&self) -> bool {
        self.in_flight
    }

    fn end(&mut self, error: Option<&AgiError>) {
        self.phase = Phase::Done;
        self.in_flight = false;
        if !self.ended {
            self.ended = true;
            if let Some(h) = self.handler.as_mut() {
                h.on_end(error);
            }
        }
    }

    fn ask_next(&mut self, out: &mut Vec<u8>, tap: &mut dyn FnMut(Direction, &[u8])) -> bool {
        let Some(h) = self.handler.as_mut() else {
            return false;
        };
        let start = out.len();
        if h.next_command(out) {
            tap(Direction::Out, &out[start..]);
            self.in_flight = true;
            true
        } else {
            out.truncate(start);
            h.waiting()
        }
    }

    /// After the handler was told something (a wakeup, the time, a
    /// `HANGUP` line): send its next command, or end the session if it has
    /// none and waits for nothing.
    fn step(&mut self, out: &mut Vec<u8>, tap: &mut dyn FnMut(Direction, &[u8])) {
        if matches!(self.phase, Phase::Running) && !self.in_flight && !self.ask_next(out, tap) {
            self.end(None);
        }
    }

    /// Something the handler waits for was woken (its
    /// [`set_waker`](Handler::set_waker) waker, or a value the host
    /// delivered): let it run, and append the command it sends next to
    /// `out`. Returns true once the session is over (flush `out`, then
    /// close). Cheap when nothing was woken.
    pub fn resume(&mut self, out: &mut Vec<u8>, tap: &mut dyn FnMut(Direction, &[u8])) -> bool {
        if matches!(self.phase, Phase::Running) {
            if let Some(h) = self.handler.as_mut() {
                h.on_wake();
            }
            self.step(out, tap);
        }
        self.is_done()
    }

    /// The time is `now` (the host's clock; the core never reads one):
    /// fire the handler's timers that are due, as [`resume`](Self::resume)
    /// does. Returns true once the session is over.
    pub fn handle_time(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
        tap: &mut dyn FnMut(Direction, &[u8]),
    ) -> bool {
        if matches!(self.phase, Phase::Running) {
            if let Some(h) = self.handler.as_mut() {
                h.handle_time(now);
            }
            self.step(out, tap);
        }
        self.is_done()
    }

    /// The earliest instant the handler wants [`handle_time`](Self::handle_time)
    /// (its next timer), if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Running => self.handler.as_ref().and_then(|h| h.poll_timeout()),
            _ => None,
        }
    }

    /// Process received bytes (`input` starts at the first unconsumed byte).
    /// `tap` sees every frame received and every line written (for traces).
    pub fn handle_input<R>(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        route: R,
        tap: &mut dyn FnMut(Direction, &[u8]),
    ) -> Progress
    where
        R: FnOnce(&Env) -> Option<H>,
    {
        let mut route = Some(route);
        let mut pos = 0;
        loop {
            match &mut self.phase {
                Phase::Done => {
                    return Progress {
                        consumed: input.len(),
                        done: true,
                    }
                }
                Phase::Env(p) => match p.parse(&input[pos..]) {
                    Ok(Parsed::Partial) => {
                        return Progress {
                            consumed: pos,
                            done: false,
                        }
                    }
                    Ok(Parsed::Complete(n)) => {
                        let env = p.take(&input[pos..pos + n]);
                        tap(Direction::In, env.raw());
                        pos += n;
                        self.phase = Phase::Running;
                        match route.take().and_then(|r| r(&env)) {
                            Some(mut h) => {
                                h.start(&env);
                                self.handler = Some(h);
                                if !self.ask_next(out, tap) {
                                    self.end(None);
                                }
                            }
                            None => {
                                self.end(Some(&AgiError::protocol(
                                    "no route for script",
                                    env.network_script().unwrap_or("").as_bytes(),
                                )));
                            }
                        }
                    }
                    Err(e) => {
                        self.end(Some(&e));
                        return Progress {
                            consumed: input.len(),
                            done: true,
                        };
                    }
                },
                Phase::Running => {
                    let buf = &input[pos..];
                    if self.skip != Skip::None {
                        pos += self.skip.advance(buf);
                        if self.skip != Skip::None {
                            return Progress {
                                consumed: pos,
                                done: false,
                            };
                        }
                        continue;
                    }
                    if buf.is_empty() {
                        return Progress {
                            consumed: pos,
                            done: false,
                        };
                    }
                    let n = match self.framer.next_frame(buf) {
                        Ok(Parsed::Partial) => {
                            return Progress {
                                consumed: pos,
                                done: false,
                            }
                        }
                        Ok(Parsed::Complete(n)) => n,
                        Err(e) => {
                            // Oversized line or block: report it once, skip
                            // past it.
                            self.skip = Skip::after_error(buf);
                            self.deliver(Err(e), out, tap);
                            continue;
                        }
                    };
                    let frame = &buf[..n];
                    pos += n;
                    tap(Direction::In, frame);
                    match ReplyFramer::frame(frame) {
                        Ok(Inbound::Hangup) => {
                            self.hungup.get_or_insert(HangupSource::HangupLine);
                            if let Some(h) = self.handler.as_mut() {
                                h.on_hangup();
                            }
                            self.step(out, tap);
                        }
                        Ok(Inbound::Reply(r)) if r.code == 100 => {}
                        Ok(Inbound::Reply(r)) => {
                            if r.code == 511 {
                                self.hungup.get_or_insert(HangupSource::DeadChannel);
                            }
                            self.deliver(Ok(&r), out, tap);
                        }
                        Err(e) => self.deliver(Err(e), out, tap),
                    }
                }
            }
        }
    }

    fn deliver(
        &mut self,
        reply: Result<&Reply<'_>, AgiError>,
        out: &mut Vec<u8>,
        tap: &mut dyn FnMut(Direction, &[u8]),
    ) {
        if !self.in_flight {
            // Nothing asked: a stray line. Ignore it (Asterisk does not send
            // any), but a garbage line with no command in flight is not fatal.
            return;
        }
        self.in_flight = false;
        if let Some(h) = self.handler.as_mut() {
            h.on_reply(reply);
        }
        if !self.ask_next(out, tap) {
            self.end(None);
        }
    }

    /// The peer closed its side (EOF). Ends the session; the command in
    /// flight, if any, gets [`AgiError::HungUp`].
    pub fn handle_eof(&mut self) {
        if matches!(self.phase, Phase::Done) {
            return;
        }
        let e = AgiError::HungUp(HangupSource::Eof);
        if self.in_flight {
            self.in_flight = false;
            if let Some(h) = self.handler.as_mut() {
                h.on_reply(Err(e.duplicate()));
            }
        }
        self.hungup.get_or_insert(HangupSource::Eof);
        let err = if matches!(self.phase, Phase::Env(_)) {
            Some(AgiError::protocol(
                "connection closed inside the environment block",
                b"",
            ))
        } else {
            None
        };
        self.end(err.as_ref());
    }

    /// The transport failed; ends the session with `error`.
    pub fn handle_error(&mut self, error: AgiError) {
        if matches!(self.phase, Phase::Done) {
            return;
        }
        if self.in_flight {
            self.in_flight = false;
            if let Some(h) = self.handler.as_mut() {
                h.on_reply(Err(error.duplicate()));
            }
        }
        self.end(Some(&error));
    }
}

// ---------------------------------------------------------------------------
// Script
// ---------------------------------------------------------------------------

/// Dead line bytes a [`Script`] keeps before it compacts its buffer.
const COMPACT_AT: usize = 4096;

type EndCallback<S> = Box<dyn FnOnce(&mut S, Option<&AgiError>)>;
type Callback<S> = Box<dyn for<'r> FnOnce(&mut Script<S>, Result<&Reply<'r>, AgiError>)>;

struct Step<S> {
    line: Result<Range<usize>, AgiError>,
    name: &'static str,
    cb: Option<Callback<S>>,
}

/// A queued-command session with typed callbacks.
///
/// ```
/// use asterisk_io::agi::commands::{Answer, GetVariable, Hangup, StreamFile};
/// use asterisk_io::agi::session::Script;
///
/// #[derive(Default)]
/// struct Call { caller: Option<String> }
///
/// let mut s = Script::new(Call::default());
/// s.run(Answer);
/// s.then(GetVariable::new("CALLERID(num)"), |s, r| {
///     s.state.caller = r.ok().flatten();
///     if s.state.caller.is_none() {
///         s.run(StreamFile::new("unknown-caller", ""));
///     }
/// });
/// s.run(Hangup::new());
/// ```
///
/// Commands queued with [`run`](Self::run) ignore their typed result, but an
/// error (510, 511, 520, 503, hangup, I/O) stops the script. Commands queued
/// with [`then`](Self::then) hand the typed result to the callback, which
/// decides. Commands queued from inside a callback run next, in the order
/// queued, before what was queued earlier. The script ends (and the FastAGI
/// connection closes) when the queue is empty.
///
/// A command line longer than the server reads as one command is not sent:
/// it fails with [`AgiError::CommandTooLong`] when its turn comes (to its
/// callback, or stopping the script). The limit follows `agi_version` of the
/// session's environment ([`Env::max_command_line`]: 8191 bytes from
/// Asterisk 20.16.0, 21.11.0 and 22.6.0 on, 2047 before and for unknown
/// versions); [`set_max_command_line`](Self::set_max_command_line) fixes it.
pub struct Script<S> {
    /// Your per-call state, available in every callback.
    pub state: S,
    lines: Vec<u8>,
    /// Bytes of `lines` whose step is gone (sent or dropped).
    dead: usize,
    steps: VecDeque<Step<S>>,
    insert_at: Option<usize>,
    current: Option<Option<Callback<S>>>,
    hungup: bool,
    error: Option<AgiError>,
    on_end: Option<EndCallback<S>>,
    /// Longest line sent, LF included.
    limit: usize,
    /// Set by the caller: `start` does not change it.
    limit_fixed: bool,
}

impl<S> Script<S> {
    /// An empty script with this state.
    pub fn new(state: S) -> Self {
        Script {
            state,
            lines: Vec::new(),
            dead: 0,
            steps: VecDeque::new(),
            insert_at: None,
            current: None,
            hungup: false,
            error: None,
            on_end: None,
            limit: MAX_COMMAND_LINE,
            limit_fixed: false,
        }
    }

    /// The longest command line (bytes, LF included) this script sends:
    /// [`MAX_COMMAND_LINE`] until the session starts, then the server's
    /// ([`Env::max_command_line`]) unless fixed with
    /// [`set_max_command_line`](Self::set_max_command_line).
    pub fn max_command_line(&self) -> usize {
        self.limit
    }

    /// Fix the longest command line sent, whatever `agi_version` says (for
    /// a build whose version string does not tell, e.g. `GIT-master-…`).
    pub fn set_max_command_line(&mut self, limit: usize) -> &mut Self {
        self.limit = limit;
        self.limit_fixed = true;
        self
    }

    fn push(
        &mut self,
        line: Result<Range<usize>, AgiError>,
        name: &'static str,
        cb: Option<Callback<S>>,
    ) {
        let step = Step { line, name, cb };
        if self.steps.capacity() == 0 {
            self.steps.reserve(8);
        }
        match &mut self.insert_at {
            Some(i) => {
                self.steps.insert(*i, step);
                *i += 1;
            }
            None => self.steps.push_back(step),
        }
    }

    fn encode<C: Command>(&mut self, cmd: &C) -> Result<Range<usize>, AgiError> {
        if self.lines.capacity() == 0 {
            self.lines.reserve(128);
        }
        let start = self.lines.len();
        // The server's limit is known only once the session starts; the
        // line is checked against it when it is sent.
        cmd.encode_limited(&mut self.lines, self.limit.max(MAX_COMMAND_LINE_8K))?;
        Ok(start..self.lines.len())
    }

    /// Queue a command; its result is ignored, an error stops the script.
    pub fn run<C: Command>(&mut self, cmd: C) -> &mut Self {
        let line = self.encode(&cmd);
        self.push(line, cmd.name(), None);
        self
    }

    /// Queue a command and a callback for its typed result.
    pub fn then<C, F>(&mut self, cmd: C, f: F) -> &mut Self
    where
        C: Command + 'static,
        F: FnOnce(&mut Script<S>, Result<C::Output, AgiError>) + 'static,
    {
        let line = self.encode(&cmd);
        let name = cmd.name();
        let cb: Callback<S> =
            Box::new(move |s: &mut Script<S>, r: Result<&Reply<'_>, AgiError>| {
                let out = r.and_then(|rep| cmd.parse_reply(rep));
                f(s, out)
            });
        self.push(line, name, Some(cb));
        self
    }

    /// Call `f` when the session ends (with the error that stopped it, if any).
    pub fn on_end<F>(&mut self, f: F) -> &mut Self
    where
        F: FnOnce(&mut S, Option<&AgiError>) + 'static,
    {
        self.on_end = Some(Box::new(f));
        self
    }

    /// Drop everything still queued: the script ends after the command in
    /// flight.
    pub fn finish(&mut self) {
        self.steps.clear();
        self.dead = self.lines.len();
        self.insert_at = self.insert_at.map(|_| 0);
    }

    /// Commands still queued.
    pub fn queued(&self) -> usize {
        self.steps.len()
    }

    /// True once Asterisk sent the `HANGUP` line.
    pub fn hung_up(&self) -> bool {
        self.hungup
    }

    /// Drop the lines already sent once they are most of the buffer, so a
    /// long call (a callback that keeps queueing while a final command waits
    /// behind it) does not keep every line it ever sent.
    fn compact(&mut self) {
        if self.dead < COMPACT_AT || self.dead * 2 < self.lines.len() {
            return;
        }
        let mut fresh = Vec::with_capacity((self.lines.len() - self.dead).max(128));
        for step in self.steps.iter_mut() {
            if let Ok(r) = &mut step.line {
                let start = fresh.len();
                fresh.extend_from_slice(&self.lines[r.clone()]);
                *r = start..fresh.len();
            }
        }
        self.lines = fresh;
        self.dead = 0;
    }

    fn call(&mut self, cb: Callback<S>, r: Result<&Reply<'_>, AgiError>) {
        self.insert_at = Some(0);
        cb(self, r);
        self.insert_at = None;
    }
}

impl<S> Handler for Script<S> {
    fn start(&mut self, env: &Env) {
        if !self.limit_fixed {
            self.limit = env.max_command_line();
        }
    }

    fn next_command(&mut self, out: &mut Vec<u8>) -> bool {
        if self.error.is_some() {
            return false;
        }
        while let Some(step) = self.steps.pop_front() {
            let line = match step.line {
                Ok(range) if range.len() > self.limit => {
                    self.dead += range.len();
                    Err(AgiError::CommandTooLong {
                        command: step.name,
                        len: range.len(),
                        limit: self.limit,
                    })
                }
                // Refused when queued, against the largest limit: report
                // the session's.
                Err(AgiError::CommandTooLong {
                    command,
                    len,
                    limit,
                }) => Err(AgiError::CommandTooLong {
                    command,
                    len,
                    limit: limit.min(self.limit),
                }),
                line => line,
            };
            match line {
                Ok(range) => {
                    out.extend_from_slice(&self.lines[range.clone()]);
                    if self.steps.is_empty() {
                        self.lines.clear();
                        self.dead = 0;
                    } else {
                        self.dead += range.len();
                        self.compact();
                    }
                    self.current = Some(step.cb);
                    return true;
                }
                Err(e) => match step.cb {
                    Some(cb) => self.call(cb, Err(e)),
                    None => {
                        self.error = Some(e);
                        return false;
                    }
                },
            }
        }
        self.lines.clear();
        self.dead = 0;
        false
    }

    fn on_reply(&mut self, reply: Result<&Reply<'_>, AgiError>) {
        let Some(cb) = self.current.take() else {
            return;
        };
        match cb {
            Some(cb) => self.call(cb, reply),
            None => {
                if let Err(e) = reply.and_then(|r| r.check().map(drop)) {
                    self.error = Some(e);
                }
            }
        }
    }

    fn on_hangup(&mut self) {
        self.hungup = true;
    }

    fn on_end(&mut self, error: Option<&AgiError>) {
        if let Some(f) = self.on_end.take() {
            let own = self.error.take();
            f(&mut self.state, error.or(own.as_ref()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agi::commands::{Hangup, WaitForDigit};

    fn poll(s: &mut Script<u32>, n: u32) {
        s.then(WaitForDigit::new(100), move |s, _| {
            s.state += 1;
            if n > 0 {
                poll(s, n - 1);
            }
        });
    }

    /// A long call whose callback keeps queueing the next command while
    /// something else waits at the end of the queue (the usual IVR loop
    /// with a final `HANGUP`) must not keep every line it ever sent.
    #[test]
    fn script_line_buffer_stays_bounded_in_a_long_loop() {
        let mut s = Script::new(0u32);
        poll(&mut s, 20_000);
        s.run(Hangup::new());
        let reply = Reply::parse(b"200 result=0\n").unwrap();
        let mut out = Vec::new();
        let mut max = 0;
        let mut sent = 0;
        while s.next_command(&mut out) {
            sent += 1;
            let expect: &[u8] = if sent <= 20_001 {
                b"WAIT FOR DIGIT 100\n"
            } else {
                b"HANGUP\n"
            };
            assert_eq!(out, expect, "command {sent}");
            out.clear();
            s.on_reply(Ok(&reply));
            max = max.max(s.lines.len());
        }
        assert_eq!(sent, 20_002);
        assert_eq!(s.state, 20_001);
        assert!(max <= 8 * 1024, "line buffer grew to {max} bytes");
    }

    /// `finish` inside a callback drops the rest of the queue; what the
    /// callback queues afterwards still goes out intact (after compaction).
    #[test]
    fn finish_then_queue_after_compaction() {
        let mut s = Script::new(0u32);
        poll(&mut s, 1_000);
        s.then(WaitForDigit::new(7), |s, _| {
            s.finish();
            s.run(WaitForDigit::new(8));
        });
        s.run(Hangup::new());
        let reply = Reply::parse(b"200 result=0\n").unwrap();
        let mut out = Vec::new();
        let mut last = Vec::new();
        let mut sent = 0;
        while s.next_command(&mut out) {
            sent += 1;
            last = std::mem::take(&mut out);
            s.on_reply(Ok(&reply));
        }
        assert_eq!(sent, 1_003);
        assert_eq!(last, b"WAIT FOR DIGIT 8\n");
    }
}
