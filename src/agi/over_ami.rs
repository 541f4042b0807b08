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
//! No thread, no extra socket: [`AsyncAgiServer::attach`] registers a
//! catch-all event handler on the manager, which sends the commands from
//! inside [`Manager::poll_events`] with [`Ctx::send_with`]; each `Action: AGI`
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
//! [`Connection::send`](crate::ami::Connection::send), once the event is
//! copied out of the connection's buffer), and
//! [`AsyncAgiServer::handle_result`] takes an action's result.
//!
//! # Sharing
//!
//! AsyncAGI events are broadcast to every manager session. Commands are
//! matched by `CommandId`; by default each server's ids start with a prefix
//! of its own, made of the process id, the time it was created and a
//! per-process counter (`agi-{pid}-{start}-{instance}-{n}`), so no other
//! server, in this process or another, sends the same id; see
//! [`AsyncAgiServer::set_command_ids`]. An `AsyncAGIExec`
//! without a `CommandId` (a command someone sent without one) is taken as the
//! answer to the command in flight on that channel, since AGI runs one
//! command at a time. Channels no route claims are left alone.
//!
//! # Calling the server from your own code
//!
//! The server never holds its state borrowed while your code runs: a
//! factory, a handler (a [`Script`](super::Script)'s callbacks), the
//! function given to [`AsyncAgiServer::set_command_ids`] and a `send`
//! function are each called with the state released. Any of them may call
//! any method of the server: ask for [`stats`](AsyncAgiServer::stats) or
//! [`in_flight`](AsyncAgiServer::in_flight), add a route, or even feed it an
//! event. While a session's own code runs the session still counts as
//! active; if that code ends its own session (by feeding the server its
//! `AsyncAGIEnd`), the handler gets its `on_end` once it returns.

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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::Instant;

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
#[non_exhaustive]
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
    /// `None` while the handler's own code runs (it is then held by the
    /// caller, outside the shared state).
    handler: Option<Box<dyn Handler>>,
    /// Tells this session from a later one on the same channel.
    generation: u64,
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

/// The server's shared state. User code (factories, handlers, the id
/// function, the `send` function) never runs while it is borrowed: each is
/// taken out, called, and put back, so that code may call the server.
struct Inner {
    /// A route's factory is `None` while it runs.
    routes: Vec<(String, Option<Factory>)>,
    /// `None` while it runs, or when there is none.
    fallback: Option<Factory>,
    sessions: HashMap<String, Sess>,
    sent: HashMap<ActionId, Sent>,
    /// Default ids are this prefix and the counter.
    id_prefix: String,
    /// Set by `set_command_ids`; `None` while it runs.
    ids: Option<IdGen>,
    next_id: u64,
    next_generation: u64,
    break_on_finish: bool,
    limits: Limits,
    stats: AsyncAgiStats,
    line: Vec<u8>,
    /// Sessions woken (a `oneshot` sent, a channel event delivered) since
    /// the last resume: the manager's event handler resumes them within
    /// the same dispatch, and only them.
    woken: Arc<WokenQueue>,
}

/// Channels (and session generations) whose futures were woken.
#[derive(Default)]
struct WokenQueue {
    any: AtomicBool,
    list: Mutex<Vec<(Arc<str>, u64)>>,
}

/// The host waker of one session: queues its channel.
struct SessWake {
    queue: Arc<WokenQueue>,
    channel: Arc<str>,
    generation: u64,
}

impl Wake for SessWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Ok(mut l) = self.queue.list.lock() {
            l.push((self.channel.clone(), self.generation));
        }
        self.queue.any.store(true, Ordering::Release);
    }
}

type Shared = RefCell<Inner>;

/// Sends an `Action: AGI`; returns its id or why it was not sent.
pub type SendFn<'a> = dyn FnMut(&Agi) -> Result<ActionId, AmiError> + 'a;

/// AsyncAGI sessions over a manager connection. See the [module docs](self).
///
/// The server is a handle to shared state (the manager's event handler
/// holds the other reference), so its methods take `&self`. Every method may
/// be called from inside the server's own user code: a factory, a session's
/// callbacks, the id function or a `send` function.
pub struct AsyncAgiServer {
    inner: Rc<Shared>,
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

/// The handler [`AsyncAgiServer::attach`] registered, to remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    id: HandlerId,
}

impl Attachment {
    /// Removes the handler from `manager`; running sessions stay as they are
    /// (feed them with [`AsyncAgiServer::handle_event`] or attach again).
    pub fn detach(self, manager: &mut Manager) {
        manager.remove_handler(self.id);
    }
}

impl AsyncAgiServer {
    /// A server with no routes: every channel is ignored until a route or a
    /// fallback is added.
    pub fn new() -> Self {
        AsyncAgiServer {
            inner: Rc::new(RefCell::new(Inner {
                routes: Vec::new(),
                fallback: None,
                sessions: HashMap::new(),
                sent: HashMap::new(),
                id_prefix: super::asyncagi::unique_id_prefix(),
                ids: None,
                next_id: 0,
                next_generation: 0,
                break_on_finish: true,
                limits: Limits::default(),
                stats: AsyncAgiStats::default(),
                line: Vec::new(),
                woken: Arc::default(),
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
        let factory: Factory = Box::new(move |env| Box::new(factory(env)) as Box<dyn Handler>);
        self.inner
            .borrow_mut()
            .routes
            .push((name.to_string(), Some(factory)));
        self
    }

    /// Serve every channel no route claims.
    pub fn fallback<F, H>(&self, mut factory: F) -> &Self
    where
        F: FnMut(&Env) -> H + 'static,
        H: Handler + 'static,
    {
        let factory: Factory = Box::new(move |env| Box::new(factory(env)) as Box<dyn Handler>);
        let old = self.inner.borrow_mut().fallback.replace(factory);
        // Dropped without the borrow: its captures may run code of their own.
        drop(old);
        self
    }

    /// How `CommandID`s are made from a counter starting at 0. The default
    /// is a prefix no other instance uses, in this process or (with the
    /// process id and the start time in it) another one, and the counter:
    /// `agi-{pid}-{start}-{instance}-{n}` (hexadecimal fields but `n`). Ids
    /// must be unique among the commands in flight on the channel, and should
    /// be unique among every client of the same Asterisk, since every manager
    /// session sees every `AsyncAGIExec`.
    pub fn set_command_ids(&self, ids: impl FnMut(u64) -> String + 'static) {
        let old = {
            let mut i = self.inner.borrow_mut();
            i.next_id = 0;
            i.ids.replace(Box::new(ids))
        };
        drop(old);
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

    /// Registers a handler for the AsyncAGI events on `manager` (one
    /// catch-all handler that passes over every other event). The manager
    /// must receive `agi` class events (`Events: on` or `agi` in the login).
    /// It runs after the manager's named handlers, so one of those that
    /// returns [`Flow::Stop`](crate::ami::Flow::Stop) for an AsyncAGI event
    /// hides it from the server. After every event it also resumes the
    /// async sessions woken meanwhile (by a
    /// [`ChannelEvents`](super::channel_events::ChannelEvents) hub attached
    /// before it, say), so those go on within the same `poll_events`.
    pub fn attach(&self, manager: &mut Manager) -> Attachment {
        let inner = self.inner.clone();
        let id = manager.on_any_event(move |ev, ctx| {
            if kind_of(ev).is_some() {
                handle_event(&inner, ev, &mut |a: &Agi| send_via(&inner, ctx, a));
            }
            // An earlier handler (a `ChannelEvents` hub) may have woken a
            // session: let it go on now.
            resume_woken(&inner, &mut |a: &Agi| send_via(&inner, ctx, a));
        });
        Attachment { id }
    }

    /// Sans-IO input: one manager event. AsyncAGI events of channels this
    /// server serves (or claims now) are acted on; `send` sends the
    /// resulting `Action: AGI`. Returns `true` if the event was used.
    pub fn handle_event(&self, event: &Event<'_>, send: &mut SendFn<'_>) -> bool {
        handle_event(&self.inner, event, send)
    }

    /// Serve channels whose first AGI argument is `name` with sessions
    /// written as `async` code (see [`agi::call`](super::call)): `f` gets a
    /// [`Call`](super::call::Call) handle per channel. Their timers and
    /// woken values need [`resume`](Self::resume) /
    /// [`handle_time`](Self::handle_time) (or the `_on` variants with a
    /// `Manager`) from the host's loop.
    pub fn route_async<F, Fut>(&self, name: &str, mut f: F) -> &Self
    where
        F: FnMut(super::call::Call) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(), AgiError>> + 'static,
    {
        self.route(name, move |env: &Env| {
            super::call::CallTask::with(env, &mut f)
        })
    }

    /// Let the sessions whose futures were woken (a
    /// [`oneshot`](super::call::oneshot) completed) run, and send what they
    /// send next with `send`. Looks at every session (cheap for those not
    /// woken); call it on every turn of the host's loop.
    pub fn resume(&self, send: &mut SendFn<'_>) {
        self.inner.borrow().woken.clear();
        poke(&self.inner, send, &mut |h| h.on_wake());
    }

    /// The time is `now`: fire the async sessions' timers that are due.
    pub fn handle_time(&self, now: Instant, send: &mut SendFn<'_>) {
        poke(&self.inner, send, &mut |h| {
            h.handle_time(now);
            h.on_wake();
        });
    }

    /// [`resume`](Self::resume), sending through `manager`.
    pub fn resume_on(&self, manager: &mut Manager) {
        let inner = self.inner.clone();
        inner.borrow().woken.clear();
        manager.with_ctx(|ctx| {
            poke(&inner, &mut |a: &Agi| send_via(&inner, ctx, a), &mut |h| {
                h.on_wake()
            })
        });
    }

    /// [`handle_time`](Self::handle_time), sending through `manager`.
    pub fn handle_time_on(&self, now: Instant, manager: &mut Manager) {
        let inner = self.inner.clone();
        manager.with_ctx(|ctx| {
            poke(&inner, &mut |a: &Agi| send_via(&inner, ctx, a), &mut |h| {
                h.handle_time(now);
                h.on_wake();
            })
        });
    }

    /// The earliest timer of the async sessions, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let i = self.inner.borrow();
        i.sessions
            .values()
            .filter_map(|s| s.handler.as_ref().and_then(|h| h.poll_timeout()))
            .min()
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
        handle_result(&self.inner, id, result, send)
    }
}

impl WokenQueue {
    fn clear(&self) {
        if self.any.swap(false, Ordering::AcqRel) {
            if let Ok(mut l) = self.list.lock() {
                l.clear();
            }
        }
    }

    fn take(&self) -> Vec<(Arc<str>, u64)> {
        if !self.any.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        self.list
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }
}

/// Lets the sessions woken since the last call run (one atomic load when
/// none was), then sends what each sends next.
fn resume_woken(inner: &Shared, send: &mut SendFn<'_>) {
    let woken = inner.borrow().woken.clone();
    for (channel, generation) in woken.take() {
        let handler = inner
            .borrow_mut()
            .sessions
            .get_mut(&*channel)
            .filter(|s| s.generation == generation)
            .and_then(|s| s.handler.take());
        let Some(mut handler) = handler else {
            continue;
        };
        handler.on_wake();
        if put_back(inner, &channel, generation, handler) {
            advance(inner, &channel, send);
        }
    }
}

/// Tells every idle session something (`f`), then sends what each sends
/// next.
fn poke(inner: &Shared, send: &mut SendFn<'_>, f: &mut dyn FnMut(&mut dyn Handler)) {
    let channels: Vec<(String, u64)> = inner
        .borrow()
        .sessions
        .iter()
        .filter(|(_, s)| s.handler.is_some())
        .map(|(c, s)| (c.clone(), s.generation))
        .collect();
    for (channel, generation) in channels {
        let handler = inner
            .borrow_mut()
            .sessions
            .get_mut(&channel)
            .filter(|s| s.generation == generation)
            .and_then(|s| s.handler.take());
        let Some(mut handler) = handler else {
            continue;
        };
        f(&mut *handler);
        if put_back(inner, &channel, generation, handler) {
            advance(inner, &channel, send);
        }
    }
}

/// Sends an `Action: AGI` through a handler's [`Ctx`], with a callback that
/// hands its result back to the server (and lets it send what follows).
fn send_via(inner: &Rc<Shared>, ctx: &mut Ctx<'_>, action: &Agi) -> Result<ActionId, AmiError> {
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
        .map(ActionResult::new);
        handle_result(&shared, id, result, &mut |a: &Agi| {
            send_via(&shared, ctx, a)
        });
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

fn session_ended() -> AgiError {
    AgiError::HungUp(HangupSource::SessionEnded)
}

fn handle_event(inner: &Shared, event: &Event<'_>, send: &mut SendFn<'_>) -> bool {
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
            start(inner, &channel, &env, send)
        }
        Kind::Exec => {
            let id = event.get("CommandId").or_else(|| event.get("CommandID"));
            let id = id.map(|v| v.to_str_lossy());
            let result = event.get("Result").map(|v| v.as_bytes()).unwrap_or(b"");
            exec(
                inner,
                &channel,
                id.as_deref(),
                &percent_decode(result),
                send,
            )
        }
        Kind::End => {
            let old = inner.borrow_mut().sessions.remove(&*channel);
            match old {
                Some(sess) => {
                    finish_ended(inner, sess);
                    true
                }
                None => false,
            }
        }
    }
}

/// Where a factory was taken from, to put it back.
enum FactorySlot {
    Route(usize),
    Fallback,
}

fn start(inner: &Shared, channel: &str, env: &Env, send: &mut SendFn<'_>) -> bool {
    // A restart on the same channel ends the old session first.
    let old = inner.borrow_mut().sessions.remove(channel);
    if let Some(old) = old {
        finish_ended(inner, old);
    }
    let name = env.arg(1);
    let taken = {
        let mut i = inner.borrow_mut();
        let route = i
            .routes
            .iter()
            .position(|(n, _)| name.is_some_and(|a| a.eq_ignore_ascii_case(n)));
        match route {
            // A factory that is running (it started a session itself) is
            // not called again from inside.
            Some(k) => i.routes[k].1.take().map(|f| (FactorySlot::Route(k), f)),
            None => i.fallback.take().map(|f| (FactorySlot::Fallback, f)),
        }
    };
    let Some((from, mut factory)) = taken else {
        return false;
    };
    let mut handler = factory(env);
    let unused = {
        let mut i = inner.borrow_mut();
        let slot = match from {
            FactorySlot::Route(k) => &mut i.routes[k].1,
            FactorySlot::Fallback => &mut i.fallback,
        };
        // Unless the factory installed a new one meanwhile.
        if slot.is_none() {
            *slot = Some(factory);
            None
        } else {
            Some(factory)
        }
    };
    drop(unused);
    // The generation is taken before `start`, which runs user code that
    // may start other sessions.
    let (generation, queue) = {
        let mut i = inner.borrow_mut();
        i.next_generation += 1;
        (i.next_generation, i.woken.clone())
    };
    handler.set_waker(&Waker::from(Arc::new(SessWake {
        queue,
        channel: Arc::from(channel),
        generation,
    })));
    handler.start(env);
    let replaced = {
        let mut i = inner.borrow_mut();
        i.stats.started += 1;
        i.sessions.insert(
            channel.to_string(),
            Sess {
                handler: Some(handler),
                generation,
                in_flight: None,
                hung_up_by_script: false,
            },
        )
    };
    if let Some(old) = replaced {
        finish_ended(inner, old);
    }
    advance(inner, channel, send);
    true
}

fn exec(
    inner: &Shared,
    channel: &str,
    id: Option<&str>,
    result: &[u8],
    send: &mut SendFn<'_>,
) -> bool {
    let (mut handler, generation, limits) = {
        let mut i = inner.borrow_mut();
        let limits = i.limits;
        let Some(sess) = i.sessions.get_mut(channel) else {
            return false;
        };
        match (&sess.in_flight, id) {
            (Some(f), Some(id)) if f.command_id == id => {}
            (Some(_), None) => {}
            _ => return false,
        }
        sess.in_flight = None;
        let Some(handler) = sess.handler.take() else {
            return true;
        };
        (handler, sess.generation, limits)
    };
    deliver(handler.as_mut(), result, limits);
    if put_back(inner, channel, generation, handler) {
        advance(inner, channel, send);
    }
    true
}

/// Returns a handler to its session after its code ran. If the session
/// ended meanwhile (its own callback fed the server an `AsyncAGIEnd`), the
/// handler gets its `on_end` here; returns false then.
fn put_back(inner: &Shared, channel: &str, generation: u64, handler: Box<dyn Handler>) -> bool {
    let mut handler = Some(handler);
    {
        let mut i = inner.borrow_mut();
        if let Some(sess) = i.sessions.get_mut(channel) {
            if sess.generation == generation && sess.handler.is_none() {
                sess.handler = handler.take();
            }
        }
    }
    match handler {
        None => true,
        Some(mut h) => {
            h.on_end(Some(&session_ended()));
            false
        }
    }
}

/// Asterisk ended the session (or restarted it): fail what is in flight.
fn finish_ended(inner: &Shared, mut sess: Sess) {
    inner.borrow_mut().stats.ended += 1;
    // A handler that is out is running now; `put_back` ends it.
    let Some(mut handler) = sess.handler.take() else {
        return;
    };
    let err = session_ended();
    if sess.in_flight.take().is_some() {
        handler.on_reply(Err(err.duplicate()));
    }
    handler.on_end(Some(&err));
}

fn handle_result(
    inner: &Shared,
    id: ActionId,
    result: Result<ActionResult, AmiError>,
    send: &mut SendFn<'_>,
) -> bool {
    let (channel, mut handler, generation, error) = {
        let mut guard = inner.borrow_mut();
        let i = &mut *guard;
        let Some(sent) = i.sent.remove(&id) else {
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
        let Some(sess) = i.sessions.get_mut(&channel) else {
            return true;
        };
        if sess.in_flight.as_ref().map(|f| f.action) != Some(id) {
            return true;
        }
        i.stats.rejected += 1;
        sess.in_flight = None;
        let Some(handler) = sess.handler.take() else {
            return true;
        };
        (channel, handler, sess.generation, error)
    };
    handler.on_reply(Err(error));
    if put_back(inner, &channel, generation, handler) {
        advance(inner, &channel, send);
    }
    true
}

fn fresh_id(inner: &Shared) -> String {
    let (mut ids, n) = {
        let mut i = inner.borrow_mut();
        let n = i.next_id;
        i.next_id += 1;
        match i.ids.take() {
            Some(ids) => (ids, n),
            None => return format!("{}{n}", i.id_prefix),
        }
    };
    let id = ids(n);
    let unused = {
        let mut i = inner.borrow_mut();
        // Unless the function installed a new one meanwhile.
        if i.ids.is_none() {
            i.ids = Some(ids);
            None
        } else {
            Some(ids)
        }
    };
    drop(unused);
    id
}

/// Sends the session's next command, or finishes it.
fn advance(inner: &Shared, channel: &str, send: &mut SendFn<'_>) {
    // A handler that keeps handing out lines that cannot be sent would
    // loop; give up on the session after this many in a row.
    let mut current = None;
    for _ in 0..64 {
        let (mut handler, generation, mut line) = {
            let mut guard = inner.borrow_mut();
            let i = &mut *guard;
            let Some(sess) = i.sessions.get_mut(channel) else {
                return;
            };
            if sess.in_flight.is_some() {
                return;
            }
            // Out already: the code running it advances when it is back.
            let Some(handler) = sess.handler.take() else {
                return;
            };
            (handler, sess.generation, std::mem::take(&mut i.line))
        };
        current = Some(generation);
        line.clear();
        let more = handler.next_command(&mut line);
        let mut text = String::from_utf8_lossy(&line).into_owned();
        inner.borrow_mut().line = line;
        if !more && handler.waiting() {
            // An async session waiting for a timer or a value: it goes on
            // when `resume` or `handle_time` finds it woken.
            put_back(inner, channel, generation, handler);
            return;
        }
        if !more {
            let finished = {
                let mut i = inner.borrow_mut();
                let mine = i
                    .sessions
                    .get(channel)
                    .is_some_and(|s| s.generation == generation && s.handler.is_none());
                if mine {
                    i.stats.ended += 1;
                    let sess = i.sessions.remove(channel);
                    Some(sess.is_some_and(|s| s.hung_up_by_script) || !i.break_on_finish)
                } else {
                    None
                }
            };
            match finished {
                Some(no_break) => {
                    handler.on_end(None);
                    if !no_break {
                        send_break(inner, channel, send);
                    }
                }
                None => handler.on_end(Some(&session_ended())),
            }
            return;
        }
        if !put_back(inner, channel, generation, handler) {
            return;
        }
        while text.ends_with(['\n', '\r']) {
            text.pop();
        }
        if let Some(sess) = inner.borrow_mut().sessions.get_mut(channel) {
            sess.hung_up_by_script = text == "HANGUP";
        }
        let command_id = fresh_id(inner);
        let action = Agi {
            channel: channel.to_string(),
            command: text,
            command_id: Some(command_id),
        };
        inner.borrow_mut().stats.commands += 1;
        match send(&action) {
            Ok(action_id) => {
                let mut i = inner.borrow_mut();
                i.sent.insert(action_id, Sent::Command(channel.to_string()));
                if let Some(sess) = i.sessions.get_mut(channel) {
                    if sess.generation == generation {
                        sess.in_flight = Some(InFlight {
                            command_id: action.command_id.unwrap_or_default(),
                            line: action.command,
                            action: action_id,
                        });
                    }
                }
                return;
            }
            Err(e) => {
                let handler = {
                    let mut i = inner.borrow_mut();
                    i.stats.rejected += 1;
                    i.sessions
                        .get_mut(channel)
                        .filter(|s| s.generation == generation)
                        .and_then(|s| s.handler.take())
                };
                let Some(mut handler) = handler else {
                    return;
                };
                handler.on_reply(Err(rejected(e.to_string())));
                if !put_back(inner, channel, generation, handler) {
                    return;
                }
            }
        }
    }
    let gave_up = {
        let mut i = inner.borrow_mut();
        let mine = i
            .sessions
            .get(channel)
            .is_some_and(|s| Some(s.generation) == current);
        if mine {
            i.stats.ended += 1;
            i.sessions.remove(channel)
        } else {
            None
        }
    };
    if let Some(handler) = gave_up.and_then(|s| s.handler) {
        let mut handler = handler;
        handler.on_end(Some(&rejected("too many commands could not be sent")));
    }
}

fn send_break(inner: &Shared, channel: &str, send: &mut SendFn<'_>) {
    let Ok(line) = AsyncAgiBreak.to_line() else {
        return;
    };
    let action = Agi {
        channel: channel.to_string(),
        command: line.trim_end().to_string(),
        command_id: Some(fresh_id(inner)),
    };
    inner.borrow_mut().stats.commands += 1;
    if let Ok(id) = send(&action) {
        inner.borrow_mut().sent.insert(id, Sent::Break);
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
