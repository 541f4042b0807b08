//! The poll-driven manager client: a [`Connection`] on a non-blocking mio socket.
//!
//! The manager spawns no thread. The host calls [`Manager::poll_events`] from
//! its own loop (or registers the manager in its own [`mio::Poll`], since it
//! is a [`mio::event::Source`]); each call reads what the socket has, parses
//! it, completes actions and calls event handlers, doing at most
//! [`ManagerConfig::max_messages_per_poll`] messages' worth of work.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Registry, Token};

use super::action::{Action, ActionId};
use super::actions::Login;
use super::codec::Greeting;
use super::connection::{Connection, Input, ManagerConfig, Outbox};
use super::error::Error;
use super::event::Event;
use super::events::EventType;
use super::message::Message;
use super::response::{ActionResult, FromResult};

/// What a handler tells the dispatcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Let later handlers see the event too.
    Continue,
    /// Later handlers (named or catch-all) do not see this event.
    Stop,
}

/// What a handler may return: `()` (continue) or a [`Flow`].
pub trait HandlerResult {
    /// The flow this value means.
    fn flow(self) -> Flow;
}

impl HandlerResult for () {
    fn flow(self) -> Flow {
        Flow::Continue
    }
}

impl HandlerResult for Flow {
    fn flow(self) -> Flow {
        self
    }
}

/// Lets a handler or a result callback send actions while it runs.
pub struct Ctx<'a> {
    outbox: &'a mut Outbox,
    callbacks: &'a mut HashMap<ActionId, Callback>,
}

impl Ctx<'_> {
    /// Queues an action (written to the socket when the handler returns).
    /// Its result is kept for [`Manager::take_result`].
    pub fn send<A: Action + ?Sized>(&mut self, action: &A) -> Result<ActionId, Error> {
        self.outbox.send(action)
    }

    /// Queues an action whose typed result goes to `done` (called from a
    /// later `poll_events`, with a `Ctx` of its own to send follow-ups).
    /// `|_, _| {}` discards the result.
    pub fn send_with<A: Action + ?Sized>(
        &mut self,
        action: &A,
        done: impl FnOnce(Result<A::Output, Error>, &mut Ctx<'_>) + 'static,
    ) -> Result<ActionId, Error> {
        let id = self.outbox.send(action)?;
        self.callbacks.insert(id, typed_callback::<A>(done));
        Ok(id)
    }
}

type Handler = Box<dyn FnMut(&Event<'_>, &mut Ctx<'_>) -> Flow>;
type Callback = Box<dyn FnOnce(Result<ActionResult, Error>, &mut Ctx<'_>)>;

fn typed_callback<A: Action + ?Sized>(
    done: impl FnOnce(Result<A::Output, Error>, &mut Ctx<'_>) + 'static,
) -> Callback {
    Box::new(move |r, ctx| done(r.and_then(A::Output::from_result), ctx))
}
type UnmatchedHandler = Box<dyn FnMut(&Message<'_>)>;

/// Identifies a registered handler, to remove it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HandlerId(u64);

#[derive(Default)]
struct Handlers {
    next: u64,
    named: Vec<(HandlerId, Box<str>, Handler)>,
    any: Vec<(HandlerId, Handler)>,
    unmatched: Option<UnmatchedHandler>,
}

impl Handlers {
    fn dispatch(&mut self, ev: &Event<'_>, ctx: &mut Ctx<'_>) {
        if !self.named.is_empty() {
            let name = ev.name();
            for (_, n, h) in &mut self.named {
                if name.eq_ignore_case(n) && h(ev, ctx) == Flow::Stop {
                    return;
                }
            }
        }
        for (_, h) in &mut self.any {
            if h(ev, ctx) == Flow::Stop {
                return;
            }
        }
    }
}

enum Registration {
    Internal,
    External { registry: Registry, token: Token },
    None,
}

const OWN_TOKEN: Token = Token(0);

/// A manager connection driven by the caller's loop. See the [crate docs](crate) for a host loop.
pub struct Manager {
    conn: Connection,
    stream: TcpStream,
    poll: Option<Poll>,
    events: Events,
    registration: Registration,
    interest: Interest,
    handlers: Handlers,
    callbacks: HashMap<ActionId, Callback>,
    results: BTreeMap<ActionId, Result<ActionResult, Error>>,
    /// False once a read returned `WouldBlock`, until the next readiness.
    read_open: bool,
    /// The action a `wait_for` is waiting for: its result is never dropped
    /// to make room.
    waiting: Option<ActionId>,
    peer: SocketAddr,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("peer", &self.peer)
            .field("state", &self.conn.state())
            .field("pending", &self.conn.pending_count())
            .finish_non_exhaustive()
    }
}

impl Manager {
    /// Starts connecting to `addr` without blocking on the connection (name
    /// resolution, if `addr` is a name, does block). Only the first address a
    /// name resolves to is tried: give an IP address (`127.0.0.1:5038`) to
    /// choose, since `localhost` may resolve to `::1` first while Asterisk
    /// listens on IPv4 only. A refused connection shows as a fatal I/O error
    /// from the first `poll_events` or `call`.
    pub fn connect(addr: impl ToSocketAddrs) -> Result<Manager, Error> {
        Manager::connect_with(addr, ManagerConfig::default())
    }

    /// Like [`Manager::connect`], with settings.
    pub fn connect_with(addr: impl ToSocketAddrs, config: ManagerConfig) -> Result<Manager, Error> {
        let peer = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(ErrorKind::InvalidInput, "address resolved to nothing")
        })?;
        let mut stream = TcpStream::connect(peer)?;
        let poll = Poll::new()?;
        let interest = Interest::READABLE | Interest::WRITABLE;
        poll.registry().register(&mut stream, OWN_TOKEN, interest)?;
        Ok(Manager {
            conn: Connection::new(config),
            stream,
            poll: Some(poll),
            events: Events::with_capacity(8),
            registration: Registration::Internal,
            interest,
            handlers: Handlers::default(),
            callbacks: HashMap::new(),
            results: BTreeMap::new(),
            read_open: true,
            waiting: None,
            peer,
        })
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The greeting, once received.
    pub fn greeting(&self) -> Option<&Greeting> {
        self.conn.greeting()
    }

    /// The sans-IO connection underneath (for inspection).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// True once the connection has ended (logoff, server close, fatal error, or `close`).
    pub fn is_closed(&self) -> bool {
        self.conn.fatal_error().is_some()
    }

    /// Calls `handler` for every event named `name` (ASCII-case-insensitive),
    /// before catch-all handlers. Returning [`Flow::Stop`] hides the event
    /// from handlers registered later.
    pub fn on_event<R: HandlerResult>(
        &mut self,
        name: &str,
        mut handler: impl FnMut(&Event<'_>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        let id = self.next_handler_id();
        self.handlers
            .named
            .push((id, name.into(), Box::new(move |e, c| handler(e, c).flow())));
        id
    }

    /// Calls `handler` with a typed view of every `T` event, e.g.
    /// `mgr.on(Hangup, |h, _ctx| println!("{:?}", h.cause()))` (the event
    /// types in [`events`](super::events) are unit values). It runs among the
    /// named handlers, in registration order.
    pub fn on<T: EventType, R: HandlerResult>(
        &mut self,
        _event: T,
        mut handler: impl for<'e> FnMut(T::View<'e>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        self.on_event(T::NAME, move |ev, ctx| handler(T::view(*ev), ctx).flow())
    }

    /// Calls `handler` for every event, after the named handlers.
    pub fn on_any_event<R: HandlerResult>(
        &mut self,
        mut handler: impl FnMut(&Event<'_>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        let id = self.next_handler_id();
        self.handlers
            .any
            .push((id, Box::new(move |e, c| handler(e, c).flow())));
        id
    }

    /// Calls `handler` for responses that no pending action of this
    /// connection owns (otherwise they are dropped).
    pub fn on_unmatched_response(&mut self, handler: impl FnMut(&Message<'_>) + 'static) {
        self.handlers.unmatched = Some(Box::new(handler));
    }

    /// Removes a handler; true if it was registered.
    pub fn remove_handler(&mut self, id: HandlerId) -> bool {
        let before = self.handlers.named.len() + self.handlers.any.len();
        self.handlers.named.retain(|(i, _, _)| *i != id);
        self.handlers.any.retain(|(i, _)| *i != id);
        before != self.handlers.named.len() + self.handlers.any.len()
    }

    fn next_handler_id(&mut self) -> HandlerId {
        self.handlers.next += 1;
        HandlerId(self.handlers.next)
    }

    /// Queues an action and returns its id at once; many actions may be in
    /// flight. Collect the result with [`Manager::take_result`] or
    /// [`Manager::wait_for`]. A field containing CR or LF refuses the whole
    /// action and nothing is sent.
    ///
    /// `Err` means the action was not queued. Once it is queued, a failure to
    /// write it (the socket broke) becomes the action's result, so it is
    /// reported exactly once.
    pub fn send<A: Action + ?Sized>(&mut self, action: &A) -> Result<ActionId, Error> {
        let id = self.conn.send(action)?;
        let _ = self.flush();
        Ok(id)
    }

    /// Queues an action; `done` is called with its typed result from inside
    /// a later [`Manager::poll_events`], with a [`Ctx`] to send follow-up
    /// actions. `|_, _| {}` discards the result.
    pub fn send_with<A: Action + ?Sized>(
        &mut self,
        action: &A,
        done: impl FnOnce(Result<A::Output, Error>, &mut Ctx<'_>) + 'static,
    ) -> Result<ActionId, Error> {
        let id = self.conn.send(action)?;
        self.callbacks.insert(id, typed_callback::<A>(done));
        // A write failure reaches `done` as the action's result.
        let _ = self.flush();
        Ok(id)
    }

    /// Takes the result of a finished action sent with [`Manager::send`].
    pub fn take_result(&mut self, id: ActionId) -> Option<Result<ActionResult, Error>> {
        self.results.remove(&id)
    }

    /// Queues a login (plain, or MD5 challenge then login) without waiting.
    pub fn start_login(&mut self, login: &Login) -> Result<ActionId, Error> {
        let id = self.conn.login(login)?;
        let _ = self.flush();
        Ok(id)
    }

    /// Logs in and waits for the answer. A refused login is [`Error::AuthFailed`].
    pub fn login(&mut self, login: &Login, timeout: Duration) -> Result<(), Error> {
        let id = self.start_login(login)?;
        self.wait_for(id, timeout).map(|_| ())
    }

    /// Sends an action and drives the loop until its result arrives or
    /// `timeout` passes. Events keep being dispatched meanwhile.
    pub fn call<A: Action + ?Sized>(
        &mut self,
        action: &A,
        timeout: Duration,
    ) -> Result<A::Output, Error> {
        let id = self.send(action)?;
        self.wait_for(id, timeout).and_then(A::Output::from_result)
    }

    /// Drives the loop until the action `id` finishes or `timeout` passes.
    ///
    /// When the manager is registered in a host's `Poll`, it moves to its own
    /// poll for the wait and back to the host's (same token) afterwards.
    pub fn wait_for(&mut self, id: ActionId, timeout: Duration) -> Result<ActionResult, Error> {
        self.on_own_poll(|m| m.wait_inner(id, timeout))?
    }

    /// Runs `f` with the socket in the manager's own poll, so `poll_events`
    /// can wait. When a host's `Poll` holds it, it moves to the own poll for
    /// the duration and back to the host's (same token) afterwards; when
    /// moving fails, the host's registration is kept.
    fn on_own_poll<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Result<T, Error> {
        let (registry, token) = match std::mem::replace(&mut self.registration, Registration::None)
        {
            Registration::External { registry, token } => (registry, token),
            other => {
                self.registration = other;
                return Ok(f(self));
            }
        };
        if let Err(e) = registry.deregister(&mut self.stream) {
            self.registration = Registration::External { registry, token };
            return Err(e.into());
        }
        if let Err(e) = self.use_own_poll() {
            let back = registry.register(&mut self.stream, token, self.interest);
            self.registration = Registration::External { registry, token };
            back?;
            return Err(e.into());
        }
        let result = f(self);
        let own = match &self.poll {
            Some(poll) => poll.registry().deregister(&mut self.stream),
            None => Ok(()),
        };
        let back = own.and_then(|()| registry.register(&mut self.stream, token, self.interest));
        self.registration = Registration::External { registry, token };
        back?;
        Ok(result)
    }

    /// Registers the socket in the manager's own poll (creating it if needed).
    fn use_own_poll(&mut self) -> io::Result<()> {
        if self.poll.is_none() {
            self.poll = Some(Poll::new()?);
        }
        if let Some(poll) = &self.poll {
            poll.registry()
                .register(&mut self.stream, OWN_TOKEN, self.interest)?;
        }
        self.registration = Registration::Internal;
        // Readiness may have been reported elsewhere meanwhile: try the socket.
        self.read_open = true;
        Ok(())
    }

    fn wait_inner(&mut self, id: ActionId, timeout: Duration) -> Result<ActionResult, Error> {
        let before = self.waiting.replace(id);
        let r = self.wait_loop(id, timeout);
        self.waiting = before;
        r
    }

    fn wait_loop(&mut self, id: ActionId, timeout: Duration) -> Result<ActionResult, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.results.remove(&id) {
                return r;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout(timeout));
            }
            match self.poll_events(Some(deadline - now)) {
                Ok(_) => {}
                Err(e) if e.is_fatal() => {
                    return self.results.remove(&id).unwrap_or(Err(e));
                }
                Err(_) => {}
            }
        }
    }

    /// Sends `Logoff`, waits for Asterisk's `Goodbye` and for it to close the
    /// connection, then closes this side. No result is lost to a race
    /// between the goodbye and the close.
    pub fn logoff(&mut self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let id = self.conn.logoff()?;
        self.flush()?;
        // On the own poll for the whole wait: registered in a host's poll,
        // `poll_events` never blocks and the loop below would spin.
        let r = self.on_own_poll(|m| {
            let r = m.wait_inner(id, timeout);
            // Let the server's close arrive, so nothing it sent is cut off.
            while !m.is_closed() && Instant::now() < deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if m.poll_events(Some(left)).is_err() {
                    break;
                }
            }
            r
        });
        self.close();
        r?.map(|_| ())
    }

    /// Closes the connection now: pending actions fail with [`Error::Closed`].
    pub fn close(&mut self) {
        self.conn.close();
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.deliver_done();
    }

    /// Reads, parses and dispatches; waits up to `timeout` for input when
    /// nothing is buffered (`None` waits indefinitely). Returns how many
    /// messages were handled.
    ///
    /// When the manager is registered in a host's `Poll`, this never waits:
    /// call it when the host's poll reports the manager's token, and again
    /// while [`Manager::has_buffered_input`] is true.
    ///
    /// A recoverable error (a malformed message, skipped) is returned once
    /// and the connection goes on; a fatal one is returned on every call.
    pub fn poll_events(&mut self, timeout: Option<Duration>) -> Result<usize, Error> {
        if let Registration::External { .. } = self.registration {
            // The host's poll saw readiness (or the host is just asking):
            // try the socket, within one budget.
            self.read_open = true;
            return self.pump();
        }
        let n = self.pump()?;
        if n > 0 || self.read_open || self.conn.has_buffered_input() {
            return Ok(n);
        }
        if let (Some(poll), Registration::Internal) = (&mut self.poll, &self.registration) {
            match poll.poll(&mut self.events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(0),
                Err(e) => return Err(e.into()),
            }
            if self.events.is_empty() {
                return Ok(0);
            }
            self.read_open = true;
        }
        self.pump()
    }

    /// True when input is buffered that a further `poll_events` would handle
    /// without waiting. Once the connection is closed it is false: there is
    /// nothing more to handle.
    pub fn has_buffered_input(&self) -> bool {
        self.conn.has_buffered_input() || (self.read_open && !self.is_closed())
    }

    /// Flushes output, then handles buffered input and reads until the
    /// socket would block or the per-call budget is spent.
    fn pump(&mut self) -> Result<usize, Error> {
        if let Some(e) = self.conn.fatal_error() {
            let e = e.clone();
            self.deliver_done();
            return Err(e);
        }
        self.flush()?;
        // A budget of 0 would never handle anything, and never wait either.
        let budget = self.conn.config().max_messages_per_poll.max(1);
        let mut handled = 0;
        loop {
            match self.dispatch(budget - handled) {
                Ok(n) => handled += n,
                Err(e) => {
                    // Recoverable: still write what handlers queued before it.
                    self.flush()?;
                    return Err(e);
                }
            }
            if handled >= budget || !self.read_open {
                break;
            }
            match self.conn.read_from(&mut self.stream) {
                Ok(0) => self.read_open = false,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.read_open = false;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::NotConnected => {
                    self.read_open = false;
                    break;
                }
                Err(e) => {
                    self.read_open = false;
                    self.conn.close_with(Error::from(e));
                }
            }
        }
        self.flush()?;
        if let Some(e) = self.conn.fatal_error() {
            let e = e.clone();
            handled += self.dispatch(usize::MAX)?;
            if handled == 0 {
                return Err(e);
            }
        }
        Ok(handled)
    }

    fn deliver_done(&mut self) {
        let _ = self.dispatch(usize::MAX);
    }

    /// Turns buffered input into handler calls and results.
    fn dispatch(&mut self, max: usize) -> Result<usize, Error> {
        let mut n = 0;
        while n < max {
            let Some(step) = self.conn.next_input() else {
                break;
            };
            n += 1;
            match step.input {
                Input::Event(ev) => {
                    let mut ctx = Ctx {
                        outbox: step.outbox,
                        callbacks: &mut self.callbacks,
                    };
                    self.handlers.dispatch(&ev, &mut ctx);
                }
                Input::Done(id, r) => match self.callbacks.remove(&id) {
                    Some(cb) => cb(
                        r.map(|b| *b),
                        &mut Ctx {
                            outbox: step.outbox,
                            callbacks: &mut self.callbacks,
                        },
                    ),
                    None => {
                        self.results.insert(id, r.map(|b| *b));
                        let cap = self.conn.config().max_stored_results.max(1);
                        while self.results.len() > cap {
                            // The oldest, unless a wait_for is waiting for it.
                            let waiting = self.waiting;
                            let Some(&old) = self.results.keys().find(|&&k| Some(k) != waiting)
                            else {
                                break;
                            };
                            self.results.remove(&old);
                        }
                    }
                },
                Input::Unmatched(m) => {
                    if let Some(h) = &mut self.handlers.unmatched {
                        h(&m);
                    }
                }
                Input::Error(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Writes queued output until done or the socket would block, and keeps
    /// the registered interest in step with whether output is pending.
    fn flush(&mut self) -> Result<(), Error> {
        if self.conn.wants_write() {
            match self.conn.write_to(&mut self.stream) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::NotConnected | ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    let err = Error::from(e);
                    self.conn.close_with(err.clone());
                    return Err(err);
                }
            }
        }
        let want = if self.conn.wants_write() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if want != self.interest {
            self.interest = want;
            match &self.registration {
                Registration::Internal => {
                    if let Some(p) = &self.poll {
                        p.registry().reregister(&mut self.stream, OWN_TOKEN, want)?;
                    }
                }
                Registration::External { registry, token } => {
                    registry.reregister(&mut self.stream, *token, want)?;
                }
                Registration::None => {}
            }
        }
        Ok(())
    }
}

/// Registers the manager's socket in a host's `Poll`. The interest the host
/// passes is widened or narrowed by the manager itself: readable always,
/// writable while output is pending.
impl Source for Manager {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        _interests: Interest,
    ) -> io::Result<()> {
        if let (Registration::Internal, Some(p)) = (&self.registration, &self.poll) {
            p.registry().deregister(&mut self.stream)?;
        }
        registry.register(&mut self.stream, token, self.interest)?;
        self.registration = Registration::External {
            registry: registry.try_clone()?,
            token,
        };
        self.read_open = true;
        Ok(())
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        _interests: Interest,
    ) -> io::Result<()> {
        registry.reregister(&mut self.stream, token, self.interest)?;
        self.registration = Registration::External {
            registry: registry.try_clone()?,
            token,
        };
        Ok(())
    }

    /// Removes the socket from the host's `Poll`; the manager goes back to
    /// waiting on its own, so `poll_events`, `call` and `wait_for` block
    /// again instead of returning at once.
    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.stream)?;
        self.registration = Registration::None;
        self.use_own_poll()
    }
}
