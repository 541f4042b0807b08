//! AsyncAGI sessions served over a [`Manager`] connection, with the same
//! [`Handler`] / [`Script`](super::Script) session model as FastAGI.
//!
//! ```text
//!  Asterisk ──AsyncAGIStart──▶ Manager ──handler──▶ AsyncAgiServer ── factory(env) ─▶ Script
//!           ◀──Action: AGI─── (Ctx::send)  ◀──────── next command line ◀─────────────┘
//!           ──AsyncAGIExec──▶ Manager ──handler──▶ reply ─▶ Script::on_reply ─▶ next ...
//!           ──Response: Error─▶ Manager ──result callback──▶ Script::on_reply (Rejected)
//!           ──AsyncAGIEnd───▶ session over
//! ```
//!
//! A channel that runs `AGI(agi:async,NAME,...)` raises `AsyncAGIStart` on
//! every manager connection with the `agi` event class. The server picks a
//! factory by `NAME` (the first AGI argument, see [`AsyncAgiServer::route`])
//! or the [fallback](AsyncAgiServer::fallback), builds the session's
//! [`Handler`] from the decoded environment, and sends its commands one at a
//! time as `Action: AGI` with a fresh `CommandID`. Each `AsyncAGIExec` with
//! that id is parsed and handed to the handler, which then gives the next
//! command. When the handler has nothing more to send, the server sends
//! `ASYNCAGI BREAK` (the dialplan continues after `AGI()`; switch this off
//! with [`AsyncAgiServer::set_break_on_finish`]) unless the last command was
//! a plain `HANGUP`, after which Asterisk ends the session by itself. `AsyncAGIEnd` ends the
//! session; a command still in flight gets [`AgiError::HungUp`].
//!
//! Asterisk ≤ 11's `Event: AsyncAGI` with `SubEvent: Start|Exec|End` is
//! accepted as well.
//!
//! # Wiring
//!
//! No thread, no extra socket: [`AsyncAgiServer::attach`] registers event
//! handlers on the manager, which send the commands from inside
//! [`Manager::poll_events`] with [`Ctx::send_with`]; each `Action: AGI`
//! result comes back to the server through its callback, so a
//! `Response: Error` fails the command with [`AgiError::Rejected`] and the
//! manager keeps nothing. Just keep calling `poll_events`.
//!
//! ```no_run
//! use asterisk_io::agi::commands::*;
//! use asterisk_io::agi::over_ami::AsyncAgiServer;
//! use asterisk_io::agi::{Env, Script};
//! use asterisk_io::ami::{actions::Login, Manager};
//! use std::time::Duration;
//!
//! fn main() -> Result<(), asterisk_io::ami::Error> {
//!     let mut mgr = Manager::connect("127.0.0.1:5038")?;
//!     mgr.login(&Login::new("admin", "secret"), Duration::from_secs(5))?;
//!     let agi = AsyncAgiServer::new();
//!     agi.fallback(|env: &Env| {
//!         let mut s = Script::new(());
//!         s.run(Answer).run(StreamFile::new("beep", ""));
//!         if let Some(cid) = env.caller_id() {
//!             s.run(SayDigits::new(cid, ""));
//!         }
//!         s
//!     });
//!     agi.attach(&mut mgr);
//!     loop {
//!         mgr.poll_events(Some(Duration::from_secs(1)))?;
//!     }
//! }
//! ```
//!
//! # Without a `Manager`
//!
//! The server is sans-IO underneath: [`AsyncAgiServer::handle_event`] takes
//! an [`Event`] and a function that sends an [`Agi`] action (for instance
//! [`Outbox::send`](crate::ami::Outbox::send) of a [`Connection`](crate::ami::Connection)),
//! and [`AsyncAgiServer::handle_result`] takes an action's result.
//!
//! # Sharing
//!
//! AsyncAGI events are broadcast to every manager session. Commands are
//! matched by `CommandId`; ids are `aio-PID-N` by default (unique across
//! processes), see [`AsyncAgiServer::set_command_ids`]. An `AsyncAGIExec`
//! without a `CommandId` (a command someone sent without one) is taken as the
//! answer to the command in flight on that channel, since AGI runs one
//! command at a time. Channels no route claims are left alone.

use super::codec::{percent_decode, Env, Inbound, Limits, Parsed, ReplyFramer};
use super::command::Command;
use super::commands::AsyncAgiBreak;
use super::error::{AgiError, HangupSource};
use super::session::Handler;
use crate::ami::actions::Agi;
use crate::ami::{
    ActionId, ActionResult, Ctx, Error as AmiError, Event, HandlerId, Manager, Response,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

type Factory = Box<dyn FnMut(&Env) -> Box<dyn Handler>>;
type IdGen = Box<dyn FnMut(u64) -> String>;

/// The event names the server listens to.
pub const EVENTS: [&str; 4] = ["AsyncAGIStart", "AsyncAGIExec", "AsyncAGIEnd", "AsyncAGI"];

/// A command sent to a channel and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// The `CommandID` it was sent with.
    pub command_id: String,
    /// The command line (without LF).
    pub line: String,
    /// The manager action that carried it.
    pub action: ActionId,
}

/// Counters of an [`AsyncAgiServer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsyncAgiStats {
    /// Sessions started (a route claimed the channel).
    pub started: u64,
    /// Sessions over (finished, ended by Asterisk, or replaced).
    pub ended: u64,
    /// `Action: AGI` messages sent (including `ASYNCAGI BREAK`).
    pub commands: u64,
    /// Commands the manager refused (`Response: Error`) or that could not be sent.
    pub rejected: u64,
    /// Sessions currently running.
    pub active: usize,
}

struct Sess {
    handler: Box<dyn Handler>,
    in_flight: Option<InFlight>,
    /// The last command was `HANGUP` (of this channel): no break needed.
    hung_up_by_script: bool,
}

enum Sent {
    /// A command of a running session.
    Command(String),
    /// The final `ASYNCAGI BREAK`; its result is discarded.
    Break,
}

struct Inner {
    routes: Vec<(String, Factory)>,
    fallback: Option<Factory>,
    sessions: HashMap<String, Sess>,
    sent: HashMap<ActionId, Sent>,
    ids: IdGen,
    next_id: u64,
    break_on_finish: bool,
    limits: Limits,
    stats: AsyncAgiStats,
    line: Vec<u8>,
}

/// Sends an `Action: AGI`; returns its id or why it was not sent.
pub type SendFn<'a> = dyn FnMut(&Agi) -> Result<ActionId, AmiError> + 'a;

/// AsyncAGI sessions over a manager connection. See the [module docs](self).
///
/// The server is a handle to shared state (the manager's event handlers hold
/// the other references), so its methods take `&self`. Do not call them from
/// inside one of the session's own callbacks.
pub struct AsyncAgiServer {
    inner: Rc<RefCell<Inner>>,
}

impl Default for AsyncAgiServer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for AsyncAgiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.try_borrow() {
            Ok(i) => f
                .debug_struct("AsyncAgiServer")
                .field("stats", &i.stats)
                .field("channels", &i.sessions.keys().collect::<Vec<_>>())
                .finish(),
            Err(_) => f.write_str("AsyncAgiServer { <busy> }"),
        }
    }
}

/// The handlers [`AsyncAgiServer::attach`] registered, to remove them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    ids: Vec<HandlerId>,
}

impl Attachment {
    /// Removes the handlers from `manager`; running sessions stay as they are
    /// (feed them with [`AsyncAgiServer::handle_event`] or attach again).
    pub fn detach(self, manager: &mut Manager) {
        for id in self.ids {
            manager.remove_handler(id);
        }
    }
}

impl AsyncAgiServer {
    /// A server with no routes: every channel is ignored until a route or a
    /// fallback is added.
    pub fn new() -> Self {
        let pid = std::process::id();
        AsyncAgiServer {
            inner: Rc::new(RefCell::new(Inner {
                routes: Vec::new(),
                fallback: None,
                sessions: HashMap::new(),
                sent: HashMap::new(),
                ids: Box::new(move |n| format!("aio-{pid}-{n}")),
                next_id: 0,
                break_on_finish: true,
                limits: Limits::default(),
                stats: AsyncAgiStats::default(),
                line: Vec::new(),
            })),
        }
    }

    /// Serve channels whose first AGI argument is `name`
    /// (`AGI(agi:async,NAME,...)`, compared ASCII-case-insensitively) with
    /// sessions from `factory`. Routes are tried in registration order.
    pub fn route<F, H>(&self, name: &str, mut factory: F) -> &Self
    where
        F: FnMut(&Env) -> H + 'static,
        H: Handler + 'static,
    {
        self.inner.borrow_mut().routes.push((
            name.to_string(),
            Box::new(move |env| Box::new(factory(env)) as Box<dyn Handler>),
        ));
        self
    }

    /// Serve every channel no route claims.
    pub fn fallback<F, H>(&self, mut factory: F) -> &Self
    where
        F: FnMut(&Env) -> H + 'static,
        H: Handler + 'static,
    {
        self.inner.borrow_mut().fallback = Some(Box::new(move |env| {
            Box::new(factory(env)) as Box<dyn Handler>
        }));
        self
    }

    /// How `CommandID`s are made from a counter starting at 0 (default
    /// `aio-PID-N`). Ids must be unique among the commands in flight.
    pub fn set_command_ids(&self, ids: impl FnMut(u64) -> String + 'static) {
        let mut i = self.inner.borrow_mut();
        i.ids = Box::new(ids);
        i.next_id = 0;
    }

    /// Whether to send `ASYNCAGI BREAK` when a session's handler has nothing
    /// more to send (default `true`). Without it the channel stays in
    /// `AGI(agi:async)` until it hangs up or someone else sends commands.
    pub fn set_break_on_finish(&self, on: bool) {
        self.inner.borrow_mut().break_on_finish = on;
    }

    /// Limits for parsing the `Result` of `AsyncAGIExec`.
    pub fn set_limits(&self, limits: Limits) {
        self.inner.borrow_mut().limits = limits;
    }

    /// Counters.
    pub fn stats(&self) -> AsyncAgiStats {
        let i = self.inner.borrow();
        AsyncAgiStats {
            active: i.sessions.len(),
            ..i.stats
        }
    }

    /// True while a session runs on `channel`.
    pub fn is_active(&self, channel: &str) -> bool {
        self.inner.borrow().sessions.contains_key(channel)
    }

    /// Channels with a running session.
    pub fn channels(&self) -> Vec<String> {
        self.inner.borrow().sessions.keys().cloned().collect()
    }

    /// The command waiting for its `AsyncAGIExec` on `channel`, if any.
    pub fn in_flight(&self, channel: &str) -> Option<InFlight> {
        self.inner
            .borrow()
            .sessions
            .get(channel)
            .and_then(|s| s.in_flight.clone())
    }

    /// Registers handlers for the AsyncAGI events on `manager`. The manager
    /// must receive `agi` class events (`Events: on` or `agi` in the login).
    pub fn attach(&self, manager: &mut Manager) -> Attachment {
        let ids = EVENTS
            .iter()
            .map(|name| {
                let inner = self.inner.clone();
                manager.on_event(name, move |ev, ctx| {
                    let shared = inner.clone();
                    inner
                        .borrow_mut()
                        .handle_event(ev, &mut |a: &Agi| send_via(&shared, ctx, a));
                })
            })
            .collect();
        Attachment { ids }
    }

    /// Sans-IO input: one manager event. AsyncAGI events of channels this
    /// server serves (or claims now) are acted on; `send` sends the
    /// resulting `Action: AGI`. Returns `true` if the event was used.
    pub fn handle_event(&self, event: &Event<'_>, send: &mut SendFn<'_>) -> bool {
        self.inner.borrow_mut().handle_event(event, send)
    }

    /// Sans-IO input: the result of an action. Returns `false` if `id` is
    /// not an `Action: AGI` this server sent (or its result was already
    /// handled).
    pub fn handle_result(
        &self,
        id: ActionId,
        result: Result<ActionResult, AmiError>,
        send: &mut SendFn<'_>,
    ) -> bool {
        self.inner.borrow_mut().handle_result(id, result, send)
    }
}

/// Sends an `Action: AGI` through a handler's [`Ctx`], with a callback that
/// hands its result back to the server (and lets it send what follows).
fn send_via(
    inner: &Rc<RefCell<Inner>>,
    ctx: &mut Ctx<'_>,
    action: &Agi,
) -> Result<ActionId, AmiError> {
    let slot: Rc<std::cell::Cell<Option<ActionId>>> = Rc::default();
    let (shared, id_slot) = (inner.clone(), slot.clone());
    let id = ctx.send_with(action, move |result: Result<Response, AmiError>, ctx| {
        let Some(id) = id_slot.get() else {
            return;
        };
        // A refusal keeps its response so the message reads as Asterisk's.
        let result = match result {
            Ok(response) => Ok(response),
            Err(AmiError::Server { response, .. }) => Ok(Response::new(*response)),
            Err(e) => Err(e),
        }
        .map(|response| ActionResult {
            response,
            events: Vec::new(),
            completion: None,
            output: None,
        });
        let again = shared.clone();
        shared
            .borrow_mut()
            .handle_result(id, result, &mut |a: &Agi| send_via(&again, ctx, a));
    })?;
    slot.set(Some(id));
    Ok(id)
}

enum Kind {
    Start,
    Exec,
    End,
}

fn kind_of(event: &Event<'_>) -> Option<Kind> {
    let name = event.name();
    if name.eq_ignore_case("AsyncAGIStart") {
        Some(Kind::Start)
    } else if name.eq_ignore_case("AsyncAGIExec") {
        Some(Kind::Exec)
    } else if name.eq_ignore_case("AsyncAGIEnd") {
        Some(Kind::End)
    } else if name.eq_ignore_case("AsyncAGI") {
        let sub = event.get("SubEvent")?;
        if sub.eq_ignore_case("Start") {
            Some(Kind::Start)
        } else if sub.eq_ignore_case("Exec") {
            Some(Kind::Exec)
        } else if sub.eq_ignore_case("End") {
            Some(Kind::End)
        } else {
            None
        }
    } else {
        None
    }
}

/// Parses a decoded environment, tolerating a missing final blank line.
fn parse_env(raw: &[u8]) -> Env {
    if let Ok(env) = Env::parse(raw) {
        return env;
    }
    let mut fixed = raw.to_vec();
    while fixed.last() == Some(&b'\n') {
        fixed.pop();
    }
    fixed.extend_from_slice(b"\n\n");
    Env::parse(&fixed).unwrap_or_else(|_| Env::parse(b"\n").expect("an empty environment parses"))
}

fn rejected(message: impl Into<String>) -> AgiError {
    AgiError::Rejected {
        message: message.into(),
    }
}

impl Inner {
    fn handle_event(&mut self, event: &Event<'_>, send: &mut SendFn<'_>) -> bool {
        let Some(kind) = kind_of(event) else {
            return false;
        };
        let Some(channel) = event.get("Channel") else {
            return false;
        };
        let channel = channel.to_str_lossy();
        match kind {
            Kind::Start => {
                let raw = event.get("Env").map(|v| v.as_bytes()).unwrap_or(b"");
                let env = parse_env(&percent_decode(raw));
                self.start(&channel, &env, send)
            }
            Kind::Exec => {
                let id = event.get("CommandId").or_else(|| event.get("CommandID"));
                let id = id.map(|v| v.to_str_lossy());
                let result = event.get("Result").map(|v| v.as_bytes()).unwrap_or(b"");
                self.exec(&channel, id.as_deref(), &percent_decode(result), send)
            }
            Kind::End => self.end(&channel),
        }
    }

    fn start(&mut self, channel: &str, env: &Env, send: &mut SendFn<'_>) -> bool {
        if let Some(old) = self.sessions.remove(channel) {
            self.finish_ended(old);
        }
        let name = env.arg(1);
        let factory = match self
            .routes
            .iter_mut()
            .find(|(n, _)| name.is_some_and(|a| a.eq_ignore_ascii_case(n)))
        {
            Some((_, f)) => Some(f),
            None => self.fallback.as_mut(),
        };
        let Some(factory) = factory else {
            return false;
        };
        let mut handler = factory(env);
        handler.start(env);
        self.stats.started += 1;
        self.sessions.insert(
            channel.to_string(),
            Sess {
                handler,
                in_flight: None,
                hung_up_by_script: false,
            },
        );
        self.advance(channel, send);
        true
    }

    fn exec(
        &mut self,
        channel: &str,
        id: Option<&str>,
        result: &[u8],
        send: &mut SendFn<'_>,
    ) -> bool {
        let limits = self.limits;
        let Some(sess) = self.sessions.get_mut(channel) else {
            return false;
        };
        match (&sess.in_flight, id) {
            (Some(f), Some(id)) if f.command_id == id => {}
            (Some(_), None) => {}
            _ => return false,
        }
        sess.in_flight = None;
        deliver(sess.handler.as_mut(), result, limits);
        self.advance(channel, send);
        true
    }

    fn end(&mut self, channel: &str) -> bool {
        match self.sessions.remove(channel) {
            Some(sess) => {
                self.finish_ended(sess);
                true
            }
            None => false,
        }
    }

    /// Asterisk ended the session (or restarted it): fail what is in flight.
    fn finish_ended(&mut self, mut sess: Sess) {
        let err = AgiError::HungUp(HangupSource::SessionEnded);
        if sess.in_flight.take().is_some() {
            sess.handler.on_reply(Err(err.duplicate()));
        }
        sess.handler.on_end(Some(&err));
        self.stats.ended += 1;
    }

    fn handle_result(
        &mut self,
        id: ActionId,
        result: Result<ActionResult, AmiError>,
        send: &mut SendFn<'_>,
    ) -> bool {
        let Some(sent) = self.sent.remove(&id) else {
            return false;
        };
        let error = match result {
            Ok(r) if r.response.is_success() => return true,
            Ok(r) => rejected(r.response.message().unwrap_or("Response: Error")),
            Err(e) => rejected(e.to_string()),
        };
        let Sent::Command(channel) = sent else {
            return true;
        };
        let Some(sess) = self.sessions.get_mut(&channel) else {
            return true;
        };
        if sess.in_flight.as_ref().map(|f| f.action) != Some(id) {
            return true;
        }
        self.stats.rejected += 1;
        sess.in_flight = None;
        sess.handler.on_reply(Err(error));
        self.advance(&channel, send);
        true
    }

    fn fresh_id(&mut self) -> String {
        let id = (self.ids)(self.next_id);
        self.next_id += 1;
        id
    }

    /// Sends the session's next command, or finishes it.
    fn advance(&mut self, channel: &str, send: &mut SendFn<'_>) {
        // A handler that keeps handing out lines that cannot be sent would
        // loop; give up on the session after this many in a row.
        for _ in 0..64 {
            let Some(sess) = self.sessions.get_mut(channel) else {
                return;
            };
            if sess.in_flight.is_some() {
                return;
            }
            self.line.clear();
            if !sess.handler.next_command(&mut self.line) {
                let mut hung_up = false;
                if let Some(mut sess) = self.sessions.remove(channel) {
                    sess.handler.on_end(None);
                    hung_up = sess.hung_up_by_script;
                }
                self.stats.ended += 1;
                if self.break_on_finish && !hung_up {
                    self.send_break(channel, send);
                }
                return;
            }
            let mut line = String::from_utf8_lossy(&self.line).into_owned();
            while line.ends_with(['\n', '\r']) {
                line.pop();
            }
            sess.hung_up_by_script = line == "HANGUP";
            let command_id = self.fresh_id();
            let action = Agi {
                channel: channel.to_string(),
                command: line,
                command_id: Some(command_id),
            };
            self.stats.commands += 1;
            match send(&action) {
                Ok(action_id) => {
                    self.sent
                        .insert(action_id, Sent::Command(channel.to_string()));
                    if let Some(sess) = self.sessions.get_mut(channel) {
                        sess.in_flight = Some(InFlight {
                            command_id: action.command_id.unwrap_or_default(),
                            line: action.command,
                            action: action_id,
                        });
                    }
                    return;
                }
                Err(e) => {
                    self.stats.rejected += 1;
                    if let Some(sess) = self.sessions.get_mut(channel) {
                        sess.handler.on_reply(Err(rejected(e.to_string())));
                    }
                }
            }
        }
        if let Some(mut sess) = self.sessions.remove(channel) {
            sess.handler
                .on_end(Some(&rejected("too many commands could not be sent")));
            self.stats.ended += 1;
        }
    }

    fn send_break(&mut self, channel: &str, send: &mut SendFn<'_>) {
        let Ok(line) = AsyncAgiBreak.to_line() else {
            return;
        };
        let action = Agi {
            channel: channel.to_string(),
            command: line.trim_end().to_string(),
            command_id: Some(self.fresh_id()),
        };
        self.stats.commands += 1;
        if let Ok(id) = send(&action) {
            self.sent.insert(id, Sent::Break);
        }
    }
}

/// Parses the decoded `Result` of an `AsyncAGIExec` (one reply, perhaps
/// preceded by `100 Trying` lines or a `HANGUP` line, or a `520` block) and
/// hands the final reply to the handler.
fn deliver(handler: &mut dyn Handler, result: &[u8], limits: Limits) {
    let owned;
    let mut buf = result;
    if !buf.ends_with(b"\n") {
        owned = [result, b"\n"].concat();
        buf = &owned[..];
    }
    let mut framer = ReplyFramer::new(limits);
    let mut last: Option<(usize, usize)> = None;
    let mut pos = 0;
    let mut error = None;
    while pos < buf.len() {
        match framer.next_frame(&buf[pos..]) {
            Ok(Parsed::Complete(n)) => {
                let frame = &buf[pos..pos + n];
                match ReplyFramer::frame(frame) {
                    Ok(Inbound::Hangup) => handler.on_hangup(),
                    Ok(Inbound::Reply(r)) if r.code == 100 => {}
                    Ok(Inbound::Reply(_)) => last = Some((pos, pos + n)),
                    Err(e) => error = Some(e),
                }
                pos += n;
            }
            Ok(Parsed::Partial) => {
                error = Some(AgiError::protocol("truncated AsyncAGI result", &buf[pos..]));
                break;
            }
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    if let Some((a, b)) = last {
        match ReplyFramer::frame(&buf[a..b]) {
            Ok(Inbound::Reply(r)) => handler.on_reply(Ok(&r)),
            Ok(Inbound::Hangup) => {}
            Err(e) => handler.on_reply(Err(e)),
        }
        return;
    }
    handler.on_reply(Err(error.unwrap_or_else(|| {
        AgiError::protocol("AsyncAGIExec without a result", result)
    })));
}
