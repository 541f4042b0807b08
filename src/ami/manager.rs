//! The poll-driven manager client: a [`Connection`] on a non-blocking mio socket.
//!
//! The manager spawns no thread. The host calls [`Manager::poll_events`] from
//! its own loop (or registers the manager in its own [`mio::Poll`], since it
//! is a [`mio::event::Source`]); each call reads what the socket has, parses
//! it, completes actions and calls event handlers, doing at most
//! [`ManagerConfig::max_messages_per_poll`] messages' worth of work.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs};
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Registry, Token};

use super::action::{Action, ActionId};
use super::actions::{Login, Logoff, Ping};
use super::codec::Greeting;
use super::connection::{Connection, ManagerConfig};
use super::dispatch::{
    Ctx, Dispatcher, HandlerId, HandlerResult, Internal, ManagerStats, ResultStatus,
};
use super::error::{Error, Skipped};
use super::event::Event;
use super::events::EventType;
use super::link::{Jitter, Keepalive, LinkDown, LinkEvent, LinkState, Reconnect};
use super::message::Message;
use super::response::{ActionResult, FromResult};
use crate::driver::Drive;
use crate::transport::Transport;

/// Where the manager's socket is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Registration {
    /// Nowhere else: the manager waits on a `Poll` of its own, made the
    /// first time it has to wait.
    Standalone,
    /// In a host's `Poll` (or a [`Driver`](crate::driver::Driver)) under this token.
    Host(Token),
}

/// The token of the socket in the manager's own `Poll`.
const OWN_TOKEN: Token = Token(0);

/// A connection whose read buffer has grown to this is busy: it borrows the
/// thread's warm buffer for its turns.
const WARM_MIN: usize = 16 * 1024;
/// The most unread input copied to move a connection between buffers.
const WARM_MAX_CARRY: usize = 4 * 1024;

thread_local! {
    /// The read buffer busy managers of this thread take turns with.
    static WARM_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The socket is registered for both directions, once, edge-triggered: a
/// readable or writable edge wakes whoever polls, whether or not output is
/// pending now, so nothing has to be re-registered when it is (or when a
/// transport under the AMI stream wants to write on its own).
const INTEREST: Interest = Interest::READABLE.add(Interest::WRITABLE);

/// A manager connection driven by the caller's loop. See the [crate docs](crate) for a host loop.
pub struct Manager {
    conn: Connection,
    /// The socket, plain or under TLS.
    stream: Transport,
    /// The manager's own poll, made the first time a standalone manager waits.
    poll: Option<Poll>,
    events: Events,
    registration: Registration,
    dispatcher: Dispatcher,
    /// False once a read returned `WouldBlock`, until the next readiness.
    read_open: bool,
    /// The last readiness seen said the peer had not closed its side: a
    /// short read then drained the socket, and more input (or the close)
    /// raises a new edge. False when unknown (a host's own poll), so reads
    /// go on until `WouldBlock`.
    short_read_drains: bool,
    peer: SocketAddr,
    /// The link's life: state, policy, the login to replay, keepalive.
    link: Link,
}

/// What the manager keeps to survive its link.
struct Link {
    state: LinkState,
    reconnect: Option<Reconnect>,
    keepalive: Option<Keepalive>,
    tcp_keepalive: Option<crate::net::TcpKeepalive>,
    socket_recv_buffer: Option<usize>,
    /// The login to replay on every new link (the user's last one).
    login: Option<Login>,
    /// Reconnect attempts in a row.
    attempt: u32,
    jitter: Jitter,
    /// When input last arrived (a busy link needs no keepalive ping).
    last_input: Instant,
    /// A keepalive ping is out.
    ping_out: bool,
    /// The user closed or logged off: no reconnect.
    ending: bool,
    /// A clone of the host's registry, kept only when reconnecting under a
    /// host's `Poll` (a new socket must be registered there).
    host_registry: Option<Registry>,
    /// The TLS settings made once, for every link (each gets a fresh session).
    #[cfg(feature = "tls")]
    tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("peer", &self.peer)
            .field("tls", &self.stream.is_tls())
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
        #[cfg(feature = "tls")]
        let tls = match &config.tls {
            Some(settings) => Some((settings.client_config()?, settings.name_for(peer)?)),
            None => None,
        };
        let link = Link {
            state: LinkState::Connecting { attempt: 0 },
            reconnect: config.reconnect.clone(),
            keepalive: config.keepalive,
            tcp_keepalive: config.tcp_keepalive,
            socket_recv_buffer: config.socket_recv_buffer,
            login: None,
            attempt: 0,
            jitter: Jitter::new(peer.port() as u64),
            last_input: Instant::now(),
            ping_out: false,
            ending: false,
            host_registry: None,
            #[cfg(feature = "tls")]
            tls,
        };
        let stream = link.open(peer)?;
        let hold_unsent = config.reconnect.as_ref().is_some_and(|r| r.hold_unsent);
        let mut conn = Connection::new(config.clone());
        conn.keep_unsent(hold_unsent);
        Ok(Manager {
            dispatcher: Dispatcher::new(config.action_timeout, config.max_stored_results),
            conn,
            stream,
            poll: None,
            events: Events::with_capacity(8),
            registration: Registration::Standalone,
            read_open: true,
            short_read_drains: false,
            peer,
            link,
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

    /// True once the connection has ended (logoff, server close, a refused
    /// login, a fatal error, or `close`): exactly when the error it ended
    /// with [`is_fatal`](Error::is_fatal). A manager that reconnects is not
    /// closed while it waits to connect again; it is once it gives up.
    pub fn is_closed(&self) -> bool {
        self.conn.fatal_error().is_some()
    }

    /// Where the link stands (see [`ManagerConfig::reconnect`]).
    pub fn link_state(&self) -> LinkState {
        self.link.state
    }

    /// Calls `handler` at every change of the link's life: up (after the
    /// login, also after a reconnect: resynchronise state there), down with
    /// the reason, retrying after a wait, given up.
    pub fn on_link(&mut self, handler: impl FnMut(&LinkEvent, &mut Ctx<'_>) + 'static) {
        self.dispatcher.set_link(handler);
    }

    /// The error the connection ended with, if it has.
    pub fn close_reason(&self) -> Option<&Error> {
        self.conn.fatal_error()
    }

    /// Counters of events, skipped messages and unmatched responses so far.
    pub fn stats(&self) -> ManagerStats {
        self.dispatcher.book.stats
    }

    /// Runs `f` with a [`Ctx`], as handlers get, then writes what it queued.
    pub(crate) fn with_ctx<T>(&mut self, f: impl FnOnce(&mut Ctx<'_>) -> T) -> T {
        self.dispatcher.book.now = Instant::now();
        let t = self.dispatcher.with_ctx(&mut self.conn, f);
        if self.dispatcher.book.take_close_request() {
            self.shutdown();
        }
        // A write failure becomes the result of what was queued.
        let _ = self.flush();
        t
    }

    /// Calls `handler` for every event named `name` (ASCII-case-insensitive),
    /// before catch-all handlers. Returning [`Flow::Stop`](super::Flow::Stop)
    /// hides the event from handlers registered later. Names the catalogue
    /// knows ([`EventKind`](super::EventKind)) are found by index.
    pub fn on_event<R: HandlerResult>(
        &mut self,
        name: &str,
        handler: impl FnMut(&Event<'_>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        self.with_ctx(|c| c.on_event(name, handler))
    }

    /// Calls `handler` with a typed view of every `T` event, e.g.
    /// `mgr.on(Hangup, |h, _ctx| println!("{:?}", h.cause()))` (the event
    /// types in [`events`](super::events) are unit values). It runs among the
    /// named handlers, in registration order.
    pub fn on<T: EventType, R: HandlerResult>(
        &mut self,
        event: T,
        handler: impl for<'e> FnMut(T::View<'e>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        self.with_ctx(|c| c.on(event, handler))
    }

    /// Calls `handler` for every event, after the named handlers.
    pub fn on_any_event<R: HandlerResult>(
        &mut self,
        handler: impl FnMut(&Event<'_>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        self.with_ctx(|c| c.on_any_event(handler))
    }

    /// Calls `handler` for responses that no pending action of this
    /// connection owns (late replies of timed-out or cancelled actions
    /// among them); without one they are counted and dropped.
    pub fn on_unmatched_response(
        &mut self,
        handler: impl FnMut(&Message<'_>, &mut Ctx<'_>) + 'static,
    ) {
        self.dispatcher.set_unmatched(handler);
    }

    /// Calls `handler` for every message skipped as malformed or oversized.
    /// The connection goes on either way: `poll_events` never fails for
    /// these. Without a hook they are only counted ([`Manager::stats`]).
    pub fn on_skipped(&mut self, handler: impl FnMut(&Skipped, &mut Ctx<'_>) + 'static) {
        self.dispatcher.set_skipped(handler);
    }

    /// Removes a handler; true if it was registered.
    pub fn remove_handler(&mut self, id: HandlerId) -> bool {
        let was = self.dispatcher.is_registered(id);
        self.with_ctx(|c| c.remove_handler(id));
        was
    }

    /// Queues an action and returns its id at once; many actions may be in
    /// flight. Its result is kept until taken with [`Manager::take_result`]
    /// or [`Manager::wait_for`]; it fails with [`Error::Timeout`] after
    /// [`ManagerConfig::action_timeout`]. A field containing CR or LF
    /// refuses the whole action and nothing is sent.
    ///
    /// `Err` means the action was not queued. Once it is queued, a failure to
    /// write it (the socket broke) becomes the action's result, so it is
    /// reported exactly once.
    pub fn send<A: Action + ?Sized>(&mut self, action: &A) -> Result<ActionId, Error> {
        self.with_ctx(|c| c.send(action))
    }

    /// Like [`Manager::send`], with a deadline of its own instead of
    /// [`ManagerConfig::action_timeout`].
    pub fn send_with_timeout<A: Action + ?Sized>(
        &mut self,
        action: &A,
        timeout: Duration,
    ) -> Result<ActionId, Error> {
        self.with_ctx(|c| c.send_kept(action, Some(timeout)))
    }

    /// Queues an action; `done` is called with its typed result from inside
    /// a later [`Manager::poll_events`], with a [`Ctx`] to send follow-up
    /// actions. Nothing is kept for [`Manager::take_result`].
    pub fn send_with<A: Action + ?Sized>(
        &mut self,
        action: &A,
        done: impl FnOnce(Result<A::Output, Error>, &mut Ctx<'_>) + 'static,
    ) -> Result<ActionId, Error> {
        self.with_ctx(|c| c.send_with(action, done))
    }

    /// Queues an action whose result is dropped when it arrives.
    pub fn send_and_forget<A: Action + ?Sized>(&mut self, action: &A) -> Result<ActionId, Error> {
        self.with_ctx(|c| c.send_and_forget(action))
    }

    /// Where the result of `id` stands: [`ResultStatus::Pending`],
    /// [`ResultStatus::Ready`] (handed over once), or
    /// [`ResultStatus::Gone`] with the reason there will never be one.
    pub fn take_result(&mut self, id: ActionId) -> ResultStatus {
        self.with_ctx(|c| c.take_result(id))
    }

    /// Stops waiting for action `id`: a `send_with` callback gets
    /// [`Error::Cancelled`], a kept result is dropped, and a late reply is an
    /// unmatched response. Asterisk may still run the action. False when
    /// `id` is not pending.
    pub fn cancel(&mut self, id: ActionId) -> bool {
        self.with_ctx(|c| c.cancel(id))
    }

    /// The earliest moment the manager has work to do without input (an
    /// action's deadline). A host with its own `Poll` waits no longer than
    /// this, then calls [`Manager::poll_events`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let link = match self.link.state {
            LinkState::Waiting { until, .. } => Some(until),
            LinkState::Up if !self.link.ping_out => self
                .link
                .keepalive
                .map(|k| self.link.last_input + k.interval),
            _ => None,
        };
        match (self.conn.poll_timeout(), link) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Queues a login (plain, or MD5 challenge then login) without waiting.
    /// The manager remembers it, to replay it after a reconnect.
    pub fn start_login(&mut self, login: &Login) -> Result<ActionId, Error> {
        let id = self.with_ctx(|c| c.login(login, None))?;
        self.remember_login(login, id);
        Ok(id)
    }

    fn remember_login(&mut self, login: &Login, id: ActionId) {
        self.link.login = Some(login.clone());
        self.dispatcher.book.watch_login = Some(id);
    }

    /// Queues a login whose result is kept, with its own deadline.
    pub(crate) fn start_login_with_timeout(
        &mut self,
        login: &Login,
        timeout: Duration,
    ) -> Result<ActionId, Error> {
        let id = self.with_ctx(|c| c.login(login, Some(timeout)))?;
        self.remember_login(login, id);
        Ok(id)
    }

    /// Logs in and waits for the answer. A refused login is
    /// [`Error::AuthFailed`], and the manager is closed.
    pub fn login(&mut self, login: &Login, timeout: Duration) -> Result<(), Error> {
        self.check_standalone()?;
        let id = self.start_login_with_timeout(login, timeout)?;
        self.wait_for(id, timeout).map(|_| ())
    }

    /// Sends an action and drives the loop until its result arrives or
    /// `timeout` passes; the timeout is the action's deadline, so nothing is
    /// left pending either way. Events keep being dispatched meanwhile.
    pub fn call<A: Action + ?Sized>(
        &mut self,
        action: &A,
        timeout: Duration,
    ) -> Result<A::Output, Error> {
        self.check_standalone()?;
        let id = self.send_with_timeout(action, timeout)?;
        self.wait_for(id, timeout).and_then(A::Output::from_result)
    }

    /// Drives the loop until the action `id` finishes or `timeout` passes.
    /// When this wait times out the action stays pending (it has its own
    /// deadline); an id whose result is [gone](ResultStatus::Gone) is
    /// [`Error::Gone`] at once.
    ///
    /// A manager registered in a host's `Poll` cannot wait by itself: the
    /// blocking helpers (`call`, `wait_for`, `login`, `logoff`) then fail
    /// with [`Error::Registered`] and send nothing. Use the
    /// [`Driver`](crate::driver::Driver)'s helpers, or `send_with` and the
    /// host's loop.
    pub fn wait_for(&mut self, id: ActionId, timeout: Duration) -> Result<ActionResult, Error> {
        self.check_standalone()?;
        self.wait_loop(id, timeout)
    }

    fn check_standalone(&self) -> Result<(), Error> {
        match self.registration {
            Registration::Standalone => Ok(()),
            Registration::Host(_) => Err(Error::Registered),
        }
    }

    fn wait_loop(&mut self, id: ActionId, timeout: Duration) -> Result<ActionResult, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.take_result(id) {
                ResultStatus::Ready(r) => return r,
                ResultStatus::Gone(why) => return Err(Error::Gone(why)),
                ResultStatus::Pending => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout(timeout));
            }
            if let Err(e) = self.poll_events(Some(deadline - now)) {
                // The connection ended: the action's own failure, if it has one.
                return match self.take_result(id) {
                    ResultStatus::Ready(r) => r,
                    _ => Err(e),
                };
            }
        }
    }

    /// Sends `Logoff`, waits for Asterisk's `Goodbye` and for it to close the
    /// connection, then closes this side; no reply is lost to a race between
    /// the goodbye and the close.
    pub fn logoff(&mut self, timeout: Duration) -> Result<(), Error> {
        self.check_standalone()?;
        self.link.ending = true;
        let deadline = Instant::now() + timeout;
        let id = self.start_logoff(timeout)?;
        let r = self.wait_loop(id, timeout);
        // Let the server's close arrive, so nothing it sent is cut off.
        while !self.is_closed() && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.poll_events(Some(left)).is_err() {
                break;
            }
        }
        self.close();
        r.map(|_| ())
    }

    /// Queues `Logoff` (the server answers `Goodbye` and closes) with a deadline.
    pub(crate) fn start_logoff(&mut self, timeout: Duration) -> Result<ActionId, Error> {
        self.link.ending = true;
        self.with_ctx(|c| c.send_kept(&Logoff, Some(timeout)))
    }

    /// Closes the connection now: pending actions fail with [`Error::Closed`].
    pub fn close(&mut self) {
        self.link.ending = true;
        self.conn.close();
        self.shutdown();
        self.link.state = LinkState::Closed;
    }

    fn shutdown(&mut self) {
        self.stream.shutdown();
        self.deliver_done();
    }

    /// Reads, parses and dispatches; waits up to `timeout` for input when
    /// nothing is buffered (`None` waits indefinitely), and no longer than
    /// the next action deadline ([`Manager::poll_timeout`]), failing actions
    /// whose deadline has passed. Returns how many inputs were handled.
    ///
    /// When the manager is registered in a host's `Poll`, this never waits:
    /// call it when the host's poll reports the manager's token or its
    /// `poll_timeout` passes, and again while [`Manager::has_buffered_input`]
    /// is true.
    ///
    /// `Err` means the connection has ended (the error is
    /// [fatal](Error::is_fatal)) and is returned again on every later call.
    /// A malformed message from the server is no error: it is skipped,
    /// counted and reported to [`Manager::on_skipped`].
    pub fn poll_events(&mut self, timeout: Option<Duration>) -> Result<usize, Error> {
        if let Registration::Host(_) = self.registration {
            // The host's poll saw readiness (or the host is just asking):
            // try the socket, within one budget.
            self.read_open = !matches!(self.link.state, LinkState::Waiting { .. });
            self.short_read_drains = false;
            return self.pump(None);
        }
        let n = self.pump(None)?;
        if n > 0 || self.read_open || self.conn.has_buffered_input() {
            return Ok(n);
        }
        let timeout = match self.poll_timeout() {
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                Some(timeout.map_or(left, |t| t.min(left)))
            }
            None => timeout,
        };
        let poll = match &mut self.poll {
            Some(poll) => poll,
            None => {
                let poll = Poll::new()?;
                poll.registry()
                    .register(&mut self.stream, OWN_TOKEN, INTEREST)?;
                self.poll.insert(poll)
            }
        };
        match poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(e.into()),
        }
        if !self.events.is_empty() && !matches!(self.link.state, LinkState::Waiting { .. }) {
            self.read_open = true;
            self.short_read_drains = self.events.iter().all(|e| !e.is_read_closed());
        }
        self.pump(None)
    }

    /// True when input is buffered that a further `poll_events` would handle
    /// without waiting. Once the connection is closed it is false: there is
    /// nothing more to handle.
    pub fn has_buffered_input(&self) -> bool {
        self.conn.has_buffered_input() || (self.read_open && !self.is_closed())
    }

    /// Fails expired actions, keeps the link alive (or connects it again),
    /// flushes output, then handles buffered input and reads until the
    /// socket would block or the per-call budget is spent. `registry` is the
    /// host's, when the host passes it (a driver): a new socket after a
    /// reconnect is registered there.
    fn pump(&mut self, registry: Option<&Registry>) -> Result<usize, Error> {
        let now = Instant::now();
        self.dispatcher.book.now = now;
        if let LinkState::Waiting { until, .. } = self.link.state {
            if now < until {
                // Held actions time out while the link waits, too.
                self.conn.handle_timeout(now);
                return Ok(self.dispatch(usize::MAX));
            }
            self.start_attempt(registry, now);
        }
        if let Some(e) = self.conn.fatal_error() {
            let e = e.clone();
            let n = self.dispatch(usize::MAX);
            if self.link_down(now) {
                return Ok(n);
            }
            return Err(e);
        }
        self.conn.handle_timeout(now);
        self.keep_alive(now);
        // A write failure ends the connection: seen below.
        let _ = self.flush();
        // A budget of 0 would never handle anything, and never wait either.
        let budget = self.conn.config().max_messages_per_poll.max(1);
        let mut handled = 0;
        let own_buffer = self.borrow_warm_buffer();
        loop {
            handled += self.dispatch(budget - handled);
            if handled >= budget || !self.read_open || self.conn.fatal_error().is_some() {
                break;
            }
            match self.conn.read_from(&mut self.stream) {
                Ok(0) => self.read_open = false,
                Ok(_) => {
                    self.link.last_input = now;
                    // A short read drained the socket: handle what came,
                    // and wait for the next edge instead of a read that
                    // would only say `WouldBlock` (TLS keeps records of its
                    // own, so it reads on).
                    if self.short_read_drains
                        && !self.conn.last_read_was_full()
                        && !self.stream.is_tls()
                    {
                        self.read_open = false;
                        handled += self.dispatch(budget - handled);
                        break;
                    }
                }
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
        if let Some(own) = own_buffer {
            self.return_warm_buffer(own);
        }
        // With no login to wait for, the link is up at the greeting.
        let connecting = matches!(self.link.state, LinkState::Connecting { .. });
        if connecting && self.link.login.is_none() && self.conn.greeting().is_some() {
            self.link_up();
        }
        // Write what handlers queued, unless the connection just ended.
        let _ = self.flush();
        if let Some(e) = self.conn.fatal_error() {
            let e = e.clone();
            handled += self.dispatch(usize::MAX);
            if self.link_down(now) {
                return Ok(handled);
            }
            if handled == 0 {
                return Err(e);
            }
        }
        Ok(handled)
    }

    /// Sends a keepalive ping when the link has been silent long enough.
    fn keep_alive(&mut self, now: Instant) {
        let Some(k) = self.link.keepalive else {
            return;
        };
        if self.link.state != LinkState::Up || self.link.ping_out {
            return;
        }
        if now < self.link.last_input + k.interval {
            return;
        }
        let sent = self.dispatcher.with_ctx(&mut self.conn, |c| {
            c.send_internal(&Ping, Internal::Keepalive, k.timeout)
        });
        self.link.ping_out = sent.is_ok();
    }

    /// Acts on the outcomes of the manager's own actions.
    fn on_internal(&mut self) {
        for (kind, outcome) in std::mem::take(&mut self.dispatcher.book.internal) {
            match (kind, outcome) {
                (Internal::Login, Ok(())) => self.link_up(),
                (Internal::Login, Err(e)) => {
                    // A refusal has ended the connection already; a replayed
                    // login that timed out ends it here.
                    if self.link.attempt > 0 {
                        self.conn.close_with(e);
                    }
                }
                (Internal::Keepalive, Err(Error::Timeout(t))) => {
                    self.link.ping_out = false;
                    self.conn.close_with(Error::KeepaliveTimeout(t));
                }
                (Internal::Keepalive, _) => self.link.ping_out = false,
            }
        }
    }

    fn link_up(&mut self) {
        if self.link.state == LinkState::Up {
            return;
        }
        if self.link.attempt > 0 {
            self.dispatcher.book.stats.reconnects += 1;
        }
        self.link.attempt = 0;
        self.link.state = LinkState::Up;
        // Actions that waited for this login go out now, in order.
        self.conn.release_held();
        let reconnects = self.dispatcher.book.stats.reconnects;
        let event = LinkEvent::Up { reconnects };
        self.dispatcher.emit_link(&mut self.conn, &event);
    }

    /// The connection has ended: tells the host, and when the policy says
    /// so, puts a fresh connection in its place and schedules the next
    /// attempt. True when the manager goes on.
    fn link_down(&mut self, now: Instant) -> bool {
        let Some(err) = self.conn.fatal_error().cloned() else {
            return false;
        };
        if matches!(
            self.link.state,
            LinkState::Closed | LinkState::Waiting { .. }
        ) {
            return false;
        }
        let reason = LinkDown::from_error(&err);
        if self.link.ending {
            self.link.state = LinkState::Closed;
            return false;
        }
        let down = LinkEvent::Down(reason.clone());
        self.dispatcher.emit_link(&mut self.conn, &down);
        let Some(policy) = self.link.reconnect.clone() else {
            self.link.state = LinkState::Closed;
            return false;
        };
        let give_up = |m: &mut Manager, reason: LinkDown| {
            m.link.state = LinkState::Closed;
            m.conn.fail_unsent();
            m.deliver_done();
            m.dispatcher
                .emit_link(&mut m.conn, &LinkEvent::GaveUp(reason));
            false
        };
        let refused = matches!(reason, LinkDown::LoginRefused(_));
        self.link.attempt += 1;
        let exhausted = policy
            .max_attempts
            .is_some_and(|max| self.link.attempt > max);
        if (refused && !policy.retry_login_refused) || exhausted {
            return give_up(self, reason);
        }
        let after = policy.delay(self.link.attempt, self.link.jitter.next());
        let mut next = self.conn.successor();
        if policy.hold_unsent {
            // Until the next login, actions wait (up to their deadlines).
            next.keep_unsent(true);
            next.hold_sends();
            next.adopt_unsent(self.conn.take_unsent());
        } else {
            // Until the next link is up, actions fail at once: never sent.
            next.refuse_sends(Some(Error::NotSent(Box::new(err))));
        }
        self.conn = next;
        self.read_open = false;
        self.link.ping_out = false;
        let attempt = self.link.attempt;
        self.link.state = LinkState::Waiting {
            until: now + after,
            attempt,
        };
        let retry = LinkEvent::Retrying { after, attempt };
        self.dispatcher.emit_link(&mut self.conn, &retry);
        true
    }

    /// Connects again: a new socket in the old one's registration, and the
    /// login replayed. A failure shows as the new connection's end.
    fn start_attempt(&mut self, registry: Option<&Registry>, now: Instant) {
        self.link.state = LinkState::Connecting {
            attempt: self.link.attempt,
        };
        self.conn.refuse_sends(None);
        self.link.last_input = now;
        let stream = match self.link.open(self.peer) {
            Ok(stream) => stream,
            Err(e) => {
                self.conn.close_with(e);
                return;
            }
        };
        let mut old = std::mem::replace(&mut self.stream, stream);
        let registered = match self.registration {
            Registration::Standalone => match &self.poll {
                Some(poll) => {
                    let _ = poll.registry().deregister(&mut old);
                    poll.registry()
                        .register(&mut self.stream, OWN_TOKEN, INTEREST)
                }
                None => Ok(()),
            },
            Registration::Host(token) => match registry.or(self.link.host_registry.as_ref()) {
                Some(registry) => {
                    let _ = registry.deregister(&mut old);
                    registry.register(&mut self.stream, token, INTEREST)
                }
                None => Err(io::Error::other(
                    "no registry to register the new socket in",
                )),
            },
        };
        drop(old);
        if let Err(e) = registered {
            self.conn.close_with(e.into());
            return;
        }
        self.read_open = true;
        if let (Some(login), Some(policy)) = (self.link.login.clone(), &self.link.reconnect) {
            let timeout = policy.login_timeout;
            let sent = self
                .dispatcher
                .with_ctx(&mut self.conn, |c| c.login_internal(&login, timeout));
            if let Err(e) = sent {
                self.conn.close_with(e);
            }
        }
    }

    fn deliver_done(&mut self) {
        self.dispatch(usize::MAX);
    }

    /// Turns buffered input into handler calls and results.
    fn dispatch(&mut self, max: usize) -> usize {
        let n = self.dispatcher.run(&mut self.conn, max);
        if self.dispatcher.book.take_close_request() {
            self.link.ending = true;
            self.link.state = LinkState::Closed;
            self.stream.shutdown();
            self.dispatcher.run(&mut self.conn, usize::MAX);
        }
        if !self.dispatcher.book.internal.is_empty() {
            self.on_internal();
        }
        n
    }

    /// Writes queued output until done or the socket would block (its
    /// writable edge then wakes the poll), then the transport's own records
    /// (a TLS handshake goes on while the AMI outbox is empty).
    fn flush(&mut self) -> Result<(), Error> {
        let mut written = Ok(());
        if self.conn.wants_write() {
            written = self.conn.write_to(&mut self.stream).map(|_| ());
        }
        if written.is_ok() && self.stream.wants_write() {
            written = self.stream.flush();
        }
        match written {
            Err(e)
                if !matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::NotConnected | ErrorKind::Interrupted
                ) =>
            {
                let err = Error::from(e);
                self.conn.close_with(err.clone());
                Err(err)
            }
            _ => Ok(()),
        }
    }

    /// Work to do without new readiness: input left in the socket by a turn
    /// whose budget ran out, buffered input, or an action deadline at or
    /// before `now`. (Output is written as it is queued; what the socket
    /// refused waits for its writable edge.)
    pub(crate) fn has_work(&self, now: Instant) -> bool {
        // `read_open`: a turn's budget ran out before the socket was
        // drained, and no new readiness edge will come for what is queued.
        (self.read_open && self.conn.fatal_error().is_none())
            || self.has_buffered_input()
            || self.poll_timeout().is_some_and(|at| at <= now)
    }

    /// Handles readiness reported by a host's poll (`readable` or not).
    pub(crate) fn on_ready(&mut self, registry: &Registry) {
        self.read_open = !matches!(self.link.state, LinkState::Waiting { .. });
        let _ = self.pump(Some(registry));
    }

    /// Lends a busy connection the thread's warm read buffer for one turn,
    /// and returns its own. Many busy managers on one thread then read into
    /// memory that is still in cache, instead of each into its own buffer,
    /// long evicted. Idle connections (small buffers) keep theirs.
    fn borrow_warm_buffer(&mut self) -> Option<Vec<u8>> {
        // Only a turn that will read gains anything from the warm buffer.
        if !self.read_open
            || self.conn.input_buffer_len() < WARM_MIN
            || self.conn.unread_len() > WARM_MAX_CARRY
        {
            return None;
        }
        let mut warm = WARM_BUFFER.with(|w| w.take());
        if warm.is_empty() {
            warm = vec![0; self.conn.input_buffer_len()];
        }
        self.conn.trade_input_buffer(&mut warm);
        Some(warm)
    }

    /// Gives the connection its own buffer back (the unread input copied
    /// into it) and the warm buffer back to the thread. When much input is
    /// left over, the buffers are simply exchanged rather than copied.
    fn return_warm_buffer(&mut self, mut own: Vec<u8>) {
        if self.conn.unread_len() <= WARM_MAX_CARRY {
            self.conn.trade_input_buffer(&mut own);
        }
        WARM_BUFFER.with(|w| {
            let kept = w.take();
            w.set(if kept.len() > own.len() { kept } else { own });
        });
    }

    /// Does the work [`Manager::has_work`] saw, without a read unless
    /// input may be waiting.
    pub(crate) fn on_tick(&mut self, registry: &Registry) {
        let _ = self.pump(Some(registry));
    }
}

impl Link {
    /// A new socket to `peer`, under a fresh TLS session when the settings
    /// ask for TLS.
    fn open(&self, peer: SocketAddr) -> Result<Transport, Error> {
        let stream = TcpStream::connect(peer)?;
        if let Some(k) = &self.tcp_keepalive {
            let _ = crate::net::set_keepalive(&stream, k);
        }
        if let Some(bytes) = self.socket_recv_buffer {
            let _ = socket2::SockRef::from(&stream).set_recv_buffer_size(bytes);
        }
        #[cfg(feature = "tls")]
        if let Some((config, name)) = &self.tls {
            let session = rustls::ClientConnection::new(config.clone(), name.clone())
                .map_err(|e| Error::Tls(super::TlsError::Other(e.to_string())))?;
            return Ok(Transport::tls(stream, session, name.to_str().into_owned()));
        }
        Ok(Transport::Plain(stream))
    }
}

impl Manager {
    /// Registers the socket in `registry` under `token`, leaving the
    /// manager's own poll (whose descriptor goes).
    fn register_in(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        if let Some(own) = self.poll.take() {
            own.registry().deregister(&mut self.stream)?;
        }
        registry.register(&mut self.stream, token, INTEREST)?;
        self.registration = Registration::Host(token);
        // Readiness may have been reported elsewhere meanwhile: try the socket.
        self.read_open = !matches!(self.link.state, LinkState::Waiting { .. });
        Ok(())
    }
}

/// Registers the manager's socket in a host's `Poll` (readable and
/// writable, edge-triggered, whatever interest the host passes). While it is
/// registered, [`Manager::poll_events`] never waits and the blocking helpers
/// fail with [`Error::Registered`]; after `deregister` it waits on its own again.
impl Source for Manager {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        _interests: Interest,
    ) -> io::Result<()> {
        self.register_in(registry, token)?;
        // A new socket after a reconnect must be registered in the host's
        // poll: keep a handle to it (a driver passes it instead).
        if self.link.reconnect.is_some() {
            self.link.host_registry = Some(registry.try_clone()?);
        }
        Ok(())
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        _interests: Interest,
    ) -> io::Result<()> {
        registry.reregister(&mut self.stream, token, INTEREST)?;
        self.registration = Registration::Host(token);
        if self.link.reconnect.is_some() {
            self.link.host_registry = Some(registry.try_clone()?);
        }
        Ok(())
    }

    /// Removes the socket from the host's `Poll`; the manager goes back to
    /// waiting on its own, so `poll_events`, `call` and `wait_for` block
    /// again instead of returning at once.
    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.stream)?;
        self.registration = Registration::Standalone;
        self.link.host_registry = None;
        self.read_open = true;
        Ok(())
    }
}

/// A manager in a [`Driver`](crate::driver::Driver) (or a host loop
/// following [`Drive`]): one token, its socket.
impl Drive for Manager {
    fn token_count(&self) -> usize {
        1
    }

    fn attach(&mut self, registry: &Registry, base: Token) -> io::Result<()> {
        // The driver hands its registry to every call: no clone to keep.
        self.register_in(registry, base)
    }

    fn detach(&mut self, registry: &Registry) -> io::Result<()> {
        Source::deregister(self, registry)
    }

    fn ready(&mut self, registry: &Registry, event: &mio::event::Event) {
        self.short_read_drains = !event.is_read_closed();
        self.on_ready(registry);
    }

    fn has_work(&self, now: Instant) -> bool {
        Manager::has_work(self, now)
    }

    fn work(&mut self, registry: &Registry, _now: Instant) {
        self.on_tick(registry);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Manager::poll_timeout(self)
    }
}

/// The manager's socket, for loops other than mio (glib, calloop, a `poll(2)`
/// loop, tokio's `AsyncFd`): wait for it to be readable or writable, then
/// call [`Manager::poll_events`] with a zero timeout, and also when
/// [`Manager::poll_timeout`] passes. After a reconnect the socket is a new
/// one: take the descriptor again when [`LinkEvent::Up`] (or any link
/// event) arrives.
#[cfg(unix)]
impl std::os::fd::AsFd for Manager {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.stream.tcp().as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Manager {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.stream.tcp().as_raw_fd()
    }
}
