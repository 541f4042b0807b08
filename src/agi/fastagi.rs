//! A poll-driven FastAGI server on mio: one thread, many concurrent calls.
//!
//! Asterisk connects for each `AGI(agi://host:port/path?query,args)`, sends
//! the environment block, and then waits for commands. The [`Server`]
//! accepts connections, routes each one by the script path of
//! `agi_network_script` to a handler factory registered with
//! [`Server::route`], and drives the session's [`Handler`] (usually a
//! [`Script`](super::session::Script)) as replies arrive. When the handler
//! has nothing more to send, the socket is closed (Asterisk keeps it open
//! after a hangup, so the server must).
//!
//! # Running it
//!
//! * Standalone: [`Server::run`] owns a `mio::Poll` and loops forever;
//!   [`Server::run_until`] stops when asked.
//! * Inside your own loop: register the server (it implements
//!   [`mio::event::Source`]) under a base token. It then uses exactly the
//!   tokens of [`tokens`](Server::tokens): the base for the listener and the
//!   next [`max_connections`](Server::set_max_connections) (default
//!   [`DEFAULT_MAX_CONNECTIONS`]) for connections. Hand every event whose
//!   token the server [`owns`](Server::owns) to
//!   [`handle_event`](Server::handle_event), and call
//!   [`handle_timeout`](Server::handle_timeout) when the instant of
//!   [`poll_timeout`](Server::poll_timeout) has come.
//!
//! Deregistering the server takes the listener and every connection out of
//! the registry and nothing else: the calls stay where they are, and a later
//! `register` (with the same or another registry, under the same or another
//! base token) brings them all back. `reregister` moves them all to a new
//! base. [`close_all`](Server::close_all) ends every call.
//!
//! # Timeouts and dead peers
//!
//! Time only enters through [`handle_timeout`](Server::handle_timeout)'s
//! `now`; the server keeps deadlines, and [`poll_timeout`](Server::poll_timeout)
//! says when the next one is due.
//!
//! * The environment block must be complete within
//!   [`set_env_timeout`](Server::set_env_timeout) (default 10 s) of the
//!   accept.
//! * [`set_idle_timeout`](Server::set_idle_timeout) closes a connection that
//!   sent nothing for that long. It is off by default: while a command such
//!   as `EXEC Dial` or `WAIT FOR DIGIT -1` runs, Asterisk legitimately stays
//!   silent for as long as the call lasts, so only a script that knows its
//!   commands are short should set it.
//! * TCP keepalive ([`set_tcp_keepalive`](Server::set_tcp_keepalive), on by
//!   default with [`DEFAULT_KEEPALIVE`]) finds a peer that vanished without a
//!   FIN or RST (a crashed host, a dropped NAT entry): the kernel probes the
//!   silent connection, and when the probes go unanswered the read fails and
//!   the session ends. Without it such a half-open connection would hold its
//!   session forever.
//!
//! # Listen backlog
//!
//! `mio::net::TcpListener::bind` (like std) listens with a backlog of 128,
//! too small for a burst of hundreds of simultaneous connects (the kernel
//! drops the SYNs that do not fit and the callers retry a second later).
//! [`Server::bind`] therefore creates the socket with `socket2` and listens
//! with a backlog of [`DEFAULT_BACKLOG`] (1024; the kernel caps it at
//! `net.core.somaxconn`). [`Server::bind_with_backlog`] chooses another
//! value, and [`Server::from_listener`] takes a listener you made yourself.

use super::call::{Call, CallTask};
use super::codec::{Env, Limits};
use super::error::AgiError;
use super::session::{Direction, Handler, Session};
use super::trace::WireTrace;
use crate::net::set_keepalive;
pub use crate::net::{TcpKeepalive, DEFAULT_KEEPALIVE};
use mio::event::{Event, Source};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use std::cell::Cell;
use std::future::Future;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

/// The listen backlog of [`Server::bind`]: room for 1024 connections that
/// completed the TCP handshake but were not accepted yet.
pub const DEFAULT_BACKLOG: i32 = 1024;

/// The default of [`Server::set_max_connections`]: simultaneous calls, and
/// with the listener's the number of tokens the server uses. Above the
/// usual 1024 open files a process gets by default, so raise that limit
/// (`ulimit -n`) before you raise this one.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// The default of [`Server::set_env_timeout`].
pub const DEFAULT_ENV_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection events between two extra accept() calls.
const ACCEPT_EVERY: u32 = 32;

/// How often [`Server::run_until`] asks its `stop` function when nothing
/// else wakes it.
const STOP_CHECK: Duration = Duration::from_millis(100);

type Factory = Box<dyn FnMut(&Env) -> Box<dyn Handler>>;

/// Async sessions woken and waiting for [`Server::run_ready`].
#[derive(Default)]
struct ReadyQueue {
    any: AtomicBool,
    list: Mutex<Vec<(usize, u64)>>,
}

/// The host waker of one async session: queues its slot and connection id.
struct ConnWake {
    queue: Arc<ReadyQueue>,
    slot: usize,
    id: u64,
}

impl Wake for ConnWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if let Ok(mut l) = self.queue.list.lock() {
            l.push((self.slot, self.id));
        }
        self.queue.any.store(true, Ordering::Release);
    }
}

struct Conn {
    stream: TcpStream,
    session: Session<Box<dyn Handler>>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    id: u64,
    want_write: bool,
    accepted: Instant,
    /// When the peer last sent something (the accept to begin with).
    last_input: Instant,
    /// Routed to an async session ([`Server::route_async`]).
    is_async: bool,
}

impl Conn {
    fn interest(&self) -> Interest {
        if self.want_write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }
}

/// Statistics of a [`Server`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Sessions closed.
    pub closed: u64,
    /// Sessions currently open.
    pub active: usize,
    /// Connections refused because the table was full.
    pub refused: u64,
}

/// A FastAGI server. See the [module docs](self).
pub struct Server {
    listener: TcpListener,
    /// The listener's token; connection `slot` has `base + 1 + slot`.
    base: Token,
    /// True between a successful `register` and `deregister`.
    registered: bool,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Path, factory, and whether its sessions are async ([`CallTask`]).
    routes: Vec<(String, Factory, bool)>,
    fallback: Option<(Factory, bool)>,
    /// Async sessions woken since the last [`Server::handle_timeout`].
    ready: Arc<ReadyQueue>,
    /// An instant in the past: the deadline reported while sessions are ready.
    epoch: Instant,
    scratch: Vec<u8>,
    limits: Limits,
    trace: Option<WireTrace>,
    next_id: u64,
    max_conns: usize,
    stats: ServerStats,
    since_accept: u32,
    env_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    keepalive: Option<TcpKeepalive>,
    /// No connection's deadline is earlier than this (`None`: no deadline).
    /// Deadlines only move later while a connection lives, so the value
    /// stays a lower bound until `handle_timeout` computes it afresh.
    next_deadline: Option<Instant>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("tokens", &self.tokens())
            .field("registered", &self.registered)
            .field("stats", &self.stats)
            .finish()
    }
}

fn normalize(path: &str) -> &str {
    path.trim_matches('/')
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, message)
}

/// One past the last token of a server with listener token `base` and
/// `max` connections, or `None` if that does not fit a `usize`.
fn span_end(base: usize, max: usize) -> Option<usize> {
    base.checked_add(1)?.checked_add(max)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Server {
    /// Listen on `addr` with a backlog of [`DEFAULT_BACKLOG`] (see the
    /// module docs). `SO_REUSEADDR` is set, as std and mio do.
    pub fn bind(addr: SocketAddr) -> io::Result<Server> {
        Self::bind_with_backlog(addr, DEFAULT_BACKLOG)
    }

    /// Listen on `addr` with the given backlog (the kernel caps it at
    /// `net.core.somaxconn`).
    pub fn bind_with_backlog(addr: SocketAddr, backlog: i32) -> io::Result<Server> {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        #[cfg(unix)]
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(backlog)?;
        Ok(Self::from_mio(TcpListener::from_std(socket.into())))
    }

    /// Use a listener you created (e.g. with a larger backlog). It is
    /// switched to non-blocking mode.
    pub fn from_listener(listener: std::net::TcpListener) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        Ok(Self::from_mio(TcpListener::from_std(listener)))
    }

    fn from_mio(listener: TcpListener) -> Server {
        Server {
            listener,
            base: Token(0),
            registered: false,
            conns: Vec::new(),
            free: Vec::new(),
            routes: Vec::new(),
            fallback: None,
            ready: Arc::new(ReadyQueue::default()),
            epoch: Instant::now(),
            scratch: vec![0; 16 * 1024],
            limits: Limits::default(),
            trace: None,
            next_id: 0,
            max_conns: DEFAULT_MAX_CONNECTIONS,
            stats: ServerStats::default(),
            since_accept: 0,
            env_timeout: Some(DEFAULT_ENV_TIMEOUT),
            idle_timeout: None,
            keepalive: Some(DEFAULT_KEEPALIVE),
            next_deadline: None,
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve script path `path` (`agi://host/path`; leading and trailing
    /// `/` are ignored, the query string is not part of the path) with
    /// handlers made by `factory`.
    pub fn route<F, H>(&mut self, path: &str, mut factory: F) -> &mut Self
    where
        F: FnMut(&Env) -> H + 'static,
        H: Handler + 'static,
    {
        let f: Factory = Box::new(move |env| Box::new(factory(env)));
        self.routes.push((normalize(path).to_string(), f, false));
        self
    }

    /// Serve script path `path` with sessions written as `async` code: for
    /// each call, `f` gets a [`Call`] handle and returns the session's
    /// future (see [`agi::call`](super::call)). Such a session may wait for
    /// timers and for values the host delivers; the server runs it on its
    /// own loop, with [`Script`](super::Script) sessions next to it.
    pub fn route_async<F, Fut>(&mut self, path: &str, mut f: F) -> &mut Self
    where
        F: FnMut(Call) -> Fut + 'static,
        Fut: Future<Output = Result<(), AgiError>> + 'static,
    {
        let factory: Factory = Box::new(move |env| Box::new(CallTask::with(env, &mut f)));
        self.routes
            .push((normalize(path).to_string(), factory, true));
        self
    }

    /// Like [`fallback`](Self::fallback), with `async` sessions as
    /// [`route_async`](Self::route_async) runs them.
    pub fn fallback_async<F, Fut>(&mut self, mut f: F) -> &mut Self
    where
        F: FnMut(Call) -> Fut + 'static,
        Fut: Future<Output = Result<(), AgiError>> + 'static,
    {
        let factory: Factory = Box::new(move |env| Box::new(CallTask::with(env, &mut f)));
        self.fallback = Some((factory, true));
        self
    }

    /// Serve every path that has no route. Without a fallback such sessions
    /// are closed right after the environment block.
    pub fn fallback<F, H>(&mut self, mut factory: F) -> &mut Self
    where
        F: FnMut(&Env) -> H + 'static,
        H: Handler + 'static,
    {
        self.fallback = Some((Box::new(move |env| Box::new(factory(env))), false));
        self
    }

    /// Size limits for every new session.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// At most `n` simultaneous sessions (default
    /// [`DEFAULT_MAX_CONNECTIONS`]); further connections are closed at once.
    /// With the listener's token the server uses `n + 1` tokens, see
    /// [`tokens`](Self::tokens).
    ///
    /// The token range cannot change while the server is registered:
    /// deregister it first (the calls stay). Fails with
    /// [`ErrorKind::InvalidInput`] while registered, for `n == 0`, for an
    /// `n` whose range cannot fit a `usize`, and for an `n` below the
    /// number of calls in progress.
    pub fn set_max_connections(&mut self, n: usize) -> io::Result<()> {
        if self.registered {
            return Err(invalid(
                "the FastAGI server's token range cannot change while it is registered",
            ));
        }
        if n == 0 {
            return Err(invalid("a FastAGI server needs room for one connection"));
        }
        if span_end(0, n).is_none() {
            return Err(invalid("too many FastAGI connections for the token space"));
        }
        if n < self.stats.active {
            return Err(invalid("fewer FastAGI connections than calls in progress"));
        }
        if n < self.conns.len() {
            // Not registered, so no token is handed out yet: move the live
            // calls to the lowest slots.
            self.conns = self.conns.drain(..).flatten().map(Some).collect();
            self.free.clear();
        }
        self.max_conns = n;
        Ok(())
    }

    /// The tokens the server uses: its base token (the listener, the token
    /// it was last registered under, `Token(0)` before that) and the
    /// [`max_connections`](Self::set_max_connections) tokens after it, one
    /// per connection. Keep them free for the server in a shared `Poll`.
    pub fn tokens(&self) -> Range<usize> {
        let end = span_end(self.base.0, self.max_conns).unwrap_or(usize::MAX);
        self.base.0..end
    }

    /// True if `token` is one of [`tokens`](Self::tokens).
    pub fn owns(&self, token: Token) -> bool {
        self.tokens().contains(&token.0)
    }

    fn token_of(&self, slot: usize) -> Option<Token> {
        if slot >= self.max_conns {
            return None;
        }
        span_end(self.base.0, slot).map(Token)
    }

    fn slot_of(&self, token: Token) -> Option<usize> {
        let slot = token.0.checked_sub(self.base.0)?.checked_sub(1)?;
        (slot < self.max_conns).then_some(slot)
    }

    /// Close connections that have not completed the environment block
    /// this long after they were accepted (default [`DEFAULT_ENV_TIMEOUT`];
    /// `None`: never). Applied by [`handle_timeout`](Self::handle_timeout).
    pub fn set_env_timeout(&mut self, timeout: Option<Duration>) {
        self.env_timeout = timeout;
        self.next_deadline = self.scan_deadlines();
    }

    /// Close connections on which the peer sent nothing for this long
    /// (default `None`: never). It counts from the accept and from every
    /// read, in every phase of the session, and is applied by
    /// [`handle_timeout`](Self::handle_timeout). Off by default because
    /// Asterisk says nothing while a long command runs (`EXEC Dial` lasts as
    /// long as the call); set it above the longest command your scripts
    /// send. For peers that vanished, TCP keepalive is the better tool.
    pub fn set_idle_timeout(&mut self, timeout: Option<Duration>) {
        self.idle_timeout = timeout;
        self.next_deadline = self.scan_deadlines();
    }

    /// TCP keepalive for connections accepted from now on (default
    /// [`DEFAULT_KEEPALIVE`]; `None`: the system default, usually off). A
    /// socket that refuses the setting is served without it.
    pub fn set_tcp_keepalive(&mut self, keepalive: Option<TcpKeepalive>) {
        self.keepalive = keepalive;
    }

    /// When [`handle_timeout`](Self::handle_timeout) should run next, if any
    /// timeout is pending: the earliest deadline of an environment or idle
    /// timeout, or an instant before it. (Deadlines move later as data
    /// arrives without the server searching for the new earliest one, so a
    /// call at that instant may close nothing; it then computes the next
    /// instant afresh.)
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ready.any.load(Ordering::Acquire) {
            return Some(self.epoch);
        }
        self.next_deadline
    }

    /// Let the async sessions woken since the last call run (a
    /// [`Sender`](super::call::Sender) completed, ...): they send their
    /// next command, or end. [`handle_timeout`](Self::handle_timeout) does
    /// this first; returns how many sessions ran.
    pub fn run_ready(&mut self, registry: &Registry, now: Instant) -> usize {
        if !self.ready.any.swap(false, Ordering::AcqRel) {
            return 0;
        }
        let woken = match self.ready.list.lock() {
            Ok(mut l) => std::mem::take(&mut *l),
            Err(_) => return 0,
        };
        let mut ran = 0;
        for (slot, id) in woken {
            if self.conns.get(slot).and_then(Option::as_ref).map(|c| c.id) == Some(id) {
                self.wake_conn(registry, slot, now);
                ran += 1;
            }
        }
        ran
    }

    /// Tell the async session in `slot` the time and let it run if woken;
    /// flush what it sends, close it if it is over.
    fn wake_conn(&mut self, registry: &Registry, slot: usize, now: Instant) {
        let Some(token) = self.token_of(slot) else {
            return;
        };
        let Server { conns, trace, .. } = self;
        let Some(Some(conn)) = conns.get_mut(slot) else {
            return;
        };
        let id = conn.id;
        let mut tap = |d: Direction, b: &[u8]| {
            if let Some(t) = trace.as_mut() {
                t.record(id, d, b);
            }
        };
        conn.session.handle_time(now, &mut conn.out, &mut tap);
        conn.session.resume(&mut conn.out, &mut tap);
        let mut close = false;
        if conn.out.len() > conn.out_pos && !conn.want_write {
            close = flush(conn, registry, token);
        }
        if close || (conn.session.is_done() && conn.out.len() == conn.out_pos) {
            self.release(registry, slot);
            return;
        }
        let timer = conn.session.poll_timeout();
        self.next_deadline = earliest(self.next_deadline, timer);
    }

    fn deadline(&self, c: &Conn) -> Option<Instant> {
        let env = match self.env_timeout {
            Some(d) if !c.session.is_started() => c.accepted.checked_add(d),
            _ => None,
        };
        let idle = self.idle_timeout.and_then(|d| c.last_input.checked_add(d));
        let timer = if c.is_async {
            c.session.poll_timeout()
        } else {
            None
        };
        earliest(earliest(env, idle), timer)
    }

    fn scan_deadlines(&self) -> Option<Instant> {
        self.conns
            .iter()
            .flatten()
            .fold(None, |acc, c| earliest(acc, self.deadline(c)))
    }

    /// Close the connections whose environment or idle timeout has expired
    /// at `now` (see [`set_env_timeout`](Self::set_env_timeout) and
    /// [`set_idle_timeout`](Self::set_idle_timeout)); returns how many. The
    /// session's command in flight and its `on_end` get the reason. Cheap
    /// before [`poll_timeout`](Self::poll_timeout); [`run`](Self::run)
    /// calls it after every wakeup.
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) -> usize {
        self.run_ready(registry, now);
        match self.next_deadline {
            Some(due) if due <= now => {}
            _ => return 0,
        }
        let mut closed = 0;
        let mut next = None;
        for slot in 0..self.conns.len() {
            let Some(c) = &self.conns[slot] else {
                continue;
            };
            if c.is_async && c.session.poll_timeout().is_some_and(|t| t <= now) {
                // A session's own timer: fire it.
                self.wake_conn(registry, slot, now);
            }
            let Some(c) = &self.conns[slot] else {
                continue;
            };
            let env_over = !c.session.is_started()
                && self
                    .env_timeout
                    .and_then(|d| c.accepted.checked_add(d))
                    .is_some_and(|t| t <= now);
            let Some(due) = self.deadline(c) else {
                continue;
            };
            if due > now {
                next = earliest(next, Some(due));
                continue;
            }
            let error = if env_over {
                AgiError::protocol("environment block not received in time", b"")
            } else {
                AgiError::Io(io::Error::new(
                    ErrorKind::TimedOut,
                    "nothing received from Asterisk within the idle timeout",
                ))
            };
            if let Some(c) = self.conns[slot].as_mut() {
                c.session.handle_error(error);
            }
            self.release(registry, slot);
            closed += 1;
        }
        self.next_deadline = next;
        closed
    }

    /// End every call: each session's command in flight and its `on_end`
    /// get [`AgiError::Closed`], and every connection is closed (and
    /// deregistered from `registry`). The listener stays. Returns how many.
    pub fn close_all(&mut self, registry: &Registry) -> usize {
        let mut closed = 0;
        for slot in 0..self.conns.len() {
            if let Some(c) = self.conns[slot].as_mut() {
                c.session.handle_error(AgiError::Closed);
                self.release(registry, slot);
                closed += 1;
            }
        }
        self.next_deadline = None;
        closed
    }

    /// Drops the connection in `slot` and frees the slot.
    fn release(&mut self, registry: &Registry, slot: usize) {
        if let Some(mut c) = self.conns.get_mut(slot).and_then(Option::take) {
            if self.registered {
                let _ = registry.deregister(&mut c.stream);
            }
            self.free.push(slot);
            self.stats.active -= 1;
            self.stats.closed += 1;
        }
    }

    /// Trace all sessions (or stop with `None`).
    pub fn set_trace(&mut self, trace: Option<WireTrace>) {
        self.trace = trace;
    }

    /// The trace, to switch it.
    pub fn trace(&mut self) -> Option<&mut WireTrace> {
        self.trace.as_mut()
    }

    /// Current statistics.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// Process one readiness event. Events for tokens the server does not
    /// [`own`](Self::owns), or for connections already closed, are ignored.
    pub fn handle_event(&mut self, registry: &Registry, event: &Event) {
        let token = event.token();
        if token == self.base {
            self.accept(registry);
            return;
        }
        let Some(slot) = self.slot_of(token) else {
            return;
        };
        self.drive(
            registry,
            slot,
            token,
            event.is_writable(),
            event.is_read_closed(),
        );
        // Drain the accept queue now and then while working through a big
        // batch of events: the kernel queue holds only `backlog` pending
        // connections, and a full queue drops SYNs (a 1 s client retry).
        self.since_accept += 1;
        if self.since_accept >= ACCEPT_EVERY {
            self.accept(registry);
        }
    }

    /// Run forever on a private `Poll`, sleeping until the next event or
    /// timeout.
    pub fn run(&mut self) -> io::Result<()> {
        self.serve(|_| false, None)
    }

    /// Run on a private `Poll` until `stop` returns true (checked after each
    /// wakeup, and at least every 100 ms). Calls still in progress then stay
    /// with the server, out of any registry: run again (or register the
    /// server) to go on with them, or end them with
    /// [`close_all`](Self::close_all).
    pub fn run_until<F: FnMut(&Server) -> bool>(&mut self, stop: F) -> io::Result<()> {
        self.serve(stop, Some(STOP_CHECK))
    }

    fn serve<F: FnMut(&Server) -> bool>(
        &mut self,
        mut stop: F,
        check_every: Option<Duration>,
    ) -> io::Result<()> {
        let mut poll = Poll::new()?;
        poll.registry()
            .register(self, Token(0), Interest::READABLE)?;
        let mut events = Events::with_capacity(1024);
        let result = loop {
            if stop(self) {
                break Ok(());
            }
            let now = Instant::now();
            let wait = self
                .poll_timeout()
                .map(|t| t.saturating_duration_since(now));
            let wait = match (wait, check_every) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match poll.poll(&mut events, wait) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
            for ev in events.iter() {
                self.handle_event(poll.registry(), ev);
            }
            self.handle_timeout(poll.registry(), Instant::now());
        };
        let deregistered = poll.registry().deregister(self);
        result.and(deregistered)
    }

    fn accept(&mut self, registry: &Registry) {
        self.since_accept = 0;
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    self.stats.accepted += 1;
                    let slot = match self.free.pop() {
                        Some(s) => s,
                        None if self.conns.len() < self.max_conns => {
                            self.conns.push(None);
                            self.conns.len() - 1
                        }
                        None => {
                            self.stats.refused += 1;
                            continue; // dropped: closed
                        }
                    };
                    let Some(token) = self.token_of(slot) else {
                        self.free.push(slot);
                        self.stats.refused += 1;
                        continue;
                    };
                    if registry
                        .register(&mut stream, token, Interest::READABLE)
                        .is_err()
                    {
                        self.free.push(slot);
                        continue;
                    }
                    if let Some(k) = &self.keepalive {
                        let _ = set_keepalive(&stream, k);
                    }
                    self.next_id += 1;
                    self.stats.active += 1;
                    let now = Instant::now();
                    let conn = Conn {
                        stream,
                        session: Session::new(self.limits),
                        inbuf: Vec::new(),
                        out: Vec::with_capacity(128),
                        out_pos: 0,
                        id: self.next_id,
                        want_write: false,
                        accepted: now,
                        last_input: now,
                        is_async: false,
                    };
                    self.next_deadline = earliest(self.next_deadline, self.deadline(&conn));
                    self.conns[slot] = Some(conn);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // EMFILE, ECONNABORTED, ...: try again on the next event.
                Err(_) => return,
            }
        }
    }

    fn drive(
        &mut self,
        registry: &Registry,
        slot: usize,
        token: Token,
        writable: bool,
        read_closed: bool,
    ) {
        let Server {
            conns,
            routes,
            fallback,
            scratch,
            trace,
            ready,
            ..
        } = self;
        let Some(Some(conn)) = conns.get_mut(slot) else {
            return;
        };
        let id = conn.id;
        let mut tap = |d: Direction, b: &[u8]| {
            if let Some(t) = trace.as_mut() {
                t.record(id, d, b);
            }
        };
        let routed_async = Cell::new(false);
        let mut route = |env: &Env| -> Option<Box<dyn Handler>> {
            let path = normalize(env.script_path());
            for (p, f, is_async) in routes.iter_mut() {
                if p == path {
                    routed_async.set(*is_async);
                    return Some(f(env));
                }
            }
            fallback.as_mut().map(|(f, is_async)| {
                routed_async.set(*is_async);
                f(env)
            })
        };
        let mut close = false;
        if writable && conn.want_write {
            close |= flush(conn, registry, token);
        }
        // Read: one read per event unless it filled the buffer (a short read
        // drained the socket; new data raises a new edge).
        while !close && !conn.session.is_done() {
            match conn.stream.read(scratch) {
                Ok(0) => {
                    conn.session.handle_eof();
                    close = true;
                }
                Ok(n) => {
                    let now = Instant::now();
                    conn.last_input = now;
                    if conn.is_async {
                        conn.session.handle_time(now, &mut conn.out, &mut tap);
                    }
                    let p = if conn.inbuf.is_empty() {
                        let p = conn.session.handle_input(
                            &scratch[..n],
                            &mut conn.out,
                            &mut route,
                            &mut tap,
                        );
                        if p.consumed < n {
                            conn.inbuf.extend_from_slice(&scratch[p.consumed..n]);
                        }
                        p
                    } else {
                        conn.inbuf.extend_from_slice(&scratch[..n]);
                        let p = conn.session.handle_input(
                            &conn.inbuf,
                            &mut conn.out,
                            &mut route,
                            &mut tap,
                        );
                        conn.inbuf.drain(..p.consumed);
                        p
                    };
                    if !conn.is_async && routed_async.get() {
                        // Just routed to an async session: wakes go through
                        // the ready queue, and it learns the time.
                        conn.is_async = true;
                        let waker = Waker::from(Arc::new(ConnWake {
                            queue: ready.clone(),
                            slot,
                            id,
                        }));
                        if let Some(h) = conn.session.handler_mut() {
                            h.set_waker(&waker);
                        }
                        conn.session.handle_time(now, &mut conn.out, &mut tap);
                    }
                    if conn.out.len() > conn.out_pos {
                        close |= flush(conn, registry, token);
                    }
                    if p.done && conn.out.len() == conn.out_pos {
                        close = true;
                    }
                    if n < scratch.len() && !read_closed {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    conn.session.handle_error(e.into());
                    close = true;
                }
            }
        }
        if conn.session.is_done() && conn.out.len() == conn.out_pos {
            close = true;
        }
        if !close && conn.is_async {
            let timer = conn.session.poll_timeout();
            self.next_deadline = earliest(self.next_deadline, timer);
        }
        if close {
            let c = conns[slot].take();
            // On Linux closing the only descriptor removes it from epoll;
            // elsewhere deregister explicitly.
            #[cfg(not(target_os = "linux"))]
            if let Some(mut c) = c {
                let _ = registry.deregister(&mut c.stream);
            }
            #[cfg(target_os = "linux")]
            drop(c);
            self.free.push(slot);
            self.stats.active -= 1;
            self.stats.closed += 1;
        }
    }

    /// Registers every live connection under the current base, or with
    /// `reregister` moves it there. On failure undoes what it did (moving
    /// connections back under `undo_base`) and returns the error.
    fn place_conns(
        &mut self,
        registry: &Registry,
        again: bool,
        undo_base: Token,
    ) -> io::Result<()> {
        let mut failed = None;
        for slot in 0..self.conns.len() {
            let Some(token) = self.token_of(slot) else {
                failed = Some((slot, invalid("FastAGI connection outside the token range")));
                break;
            };
            let Some(c) = self.conns[slot].as_mut() else {
                continue;
            };
            let interest = c.interest();
            let r = if again {
                registry.reregister(&mut c.stream, token, interest)
            } else {
                registry.register(&mut c.stream, token, interest)
            };
            if let Err(e) = r {
                failed = Some((slot, e));
                break;
            }
        }
        let Some((upto, error)) = failed else {
            return Ok(());
        };
        for slot in 0..upto {
            let old = span_end(undo_base.0, slot).map(Token);
            if let (Some(c), Some(old)) = (self.conns[slot].as_mut(), old) {
                let interest = c.interest();
                let _ = if again {
                    registry.reregister(&mut c.stream, old, interest)
                } else {
                    registry.deregister(&mut c.stream)
                };
            }
        }
        Err(error)
    }
}

/// Write pending output; returns true if the connection must be closed.
fn flush(conn: &mut Conn, registry: &Registry, token: Token) -> bool {
    while conn.out_pos < conn.out.len() {
        match conn.stream.write(&conn.out[conn.out_pos..]) {
            Ok(0) => return true,
            Ok(n) => conn.out_pos += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if !conn.want_write {
                    conn.want_write = true;
                    let interest = conn.interest();
                    let _ = registry.reregister(&mut conn.stream, token, interest);
                }
                return false;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                conn.session.handle_error(e.into());
                return true;
            }
        }
    }
    conn.out.clear();
    conn.out_pos = 0;
    if conn.want_write {
        conn.want_write = false;
        let _ = registry.reregister(&mut conn.stream, token, Interest::READABLE);
    }
    false
}

impl Source for Server {
    /// Registers the listener under `token` and every live connection under
    /// the tokens after it (see [`Server::tokens`]). Fails with
    /// [`ErrorKind::InvalidInput`], registering nothing, if that range does
    /// not fit a `usize`.
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        if span_end(token.0, self.max_conns).is_none() {
            return Err(invalid("FastAGI token range past usize::MAX"));
        }
        self.listener.register(registry, token, interests)?;
        let old = std::mem::replace(&mut self.base, token);
        if let Err(e) = self.place_conns(registry, false, old) {
            let _ = self.listener.deregister(registry);
            self.base = old;
            return Err(e);
        }
        self.registered = true;
        Ok(())
    }

    /// Moves the listener to `token` and every live connection to the
    /// tokens after it. Fails with [`ErrorKind::InvalidInput`], changing
    /// nothing, if that range does not fit a `usize`.
    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        if span_end(token.0, self.max_conns).is_none() {
            return Err(invalid("FastAGI token range past usize::MAX"));
        }
        self.listener.reregister(registry, token, interests)?;
        let old = std::mem::replace(&mut self.base, token);
        if let Err(e) = self.place_conns(registry, true, old) {
            self.base = old;
            let _ = self.listener.reregister(registry, old, interests);
            return Err(e);
        }
        Ok(())
    }

    /// Deregisters the listener and every live connection. The calls stay:
    /// a later `register` brings them back.
    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        let mut first_error = None;
        for c in self.conns.iter_mut().flatten() {
            if let Err(e) = registry.deregister(&mut c.stream) {
                first_error.get_or_insert(e);
            }
        }
        self.registered = false;
        let listener = self.listener.deregister(registry);
        match first_error {
            Some(e) => Err(e),
            None => listener,
        }
    }
}

/// The server in a [`Driver`](crate::driver::Driver) (or a host loop
/// following [`Drive`](crate::driver::Drive)): the tokens of [`Server::tokens`], and its
/// environment and idle timeouts as deadlines.
impl crate::driver::Drive for Server {
    fn token_count(&self) -> usize {
        self.tokens().len()
    }

    fn attach(&mut self, registry: &Registry, base: Token) -> io::Result<()> {
        Source::register(self, registry, base, Interest::READABLE)
    }

    fn detach(&mut self, registry: &Registry) -> io::Result<()> {
        Source::deregister(self, registry)
    }

    fn ready(&mut self, registry: &Registry, event: &Event) {
        self.handle_event(registry, event);
    }

    fn has_work(&self, now: Instant) -> bool {
        self.poll_timeout().is_some_and(|at| at <= now)
    }

    fn work(&mut self, registry: &Registry, now: Instant) {
        self.handle_timeout(registry, now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Server::poll_timeout(self)
    }
}

/// The listening socket, for loops other than mio: a `poll(2)`-style host
/// learns from it when connections wait to be accepted. The connections'
/// sockets are the server's own; such a host drives them through
/// [`Drive`](crate::driver::Drive) with a mio registry, or runs the server
/// in a [`Driver`](crate::driver::Driver).
#[cfg(unix)]
impl std::os::fd::AsFd for Server {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Server {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.listener.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agi::commands::Answer;
    use crate::agi::Script;

    /// Accepts one connection on a fresh server and reports whether its
    /// socket has `SO_KEEPALIVE`.
    fn accepted_keepalive(keepalive: Option<TcpKeepalive>) -> bool {
        let mut poll = Poll::new().unwrap();
        let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        server.fallback(|_: &Env| {
            let mut s = Script::new(());
            s.run(Answer);
            s
        });
        server.set_tcp_keepalive(keepalive);
        poll.registry()
            .register(&mut server, Token(0), Interest::READABLE)
            .unwrap();
        let _peer = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        let mut events = Events::with_capacity(8);
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.stats().active == 0 {
            assert!(Instant::now() < deadline);
            poll.poll(&mut events, Some(Duration::from_millis(10)))
                .unwrap();
            for ev in events.iter() {
                server.handle_event(poll.registry(), ev);
            }
        }
        let conn = server.conns.iter().flatten().next().unwrap();
        socket2::SockRef::from(&conn.stream).keepalive().unwrap()
    }

    #[test]
    fn accepted_sockets_get_tcp_keepalive() {
        assert!(accepted_keepalive(Some(DEFAULT_KEEPALIVE)));
        assert!(accepted_keepalive(Some(TcpKeepalive::new(
            Duration::from_secs(5),
            Duration::from_secs(1),
        ))));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn keepalive_can_be_switched_off() {
        // Linux sockets start without SO_KEEPALIVE.
        assert!(!accepted_keepalive(None));
    }

    #[test]
    fn token_arithmetic_stops_at_the_end_of_the_range() {
        assert_eq!(span_end(usize::MAX - 2, 1), Some(usize::MAX));
        assert_eq!(span_end(usize::MAX - 1, 1), None);
        assert_eq!(span_end(0, usize::MAX), None);
        let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        server.set_max_connections(2).unwrap();
        server.base = Token(usize::MAX - 3);
        assert_eq!(server.token_of(0), Some(Token(usize::MAX - 2)));
        assert_eq!(server.token_of(1), Some(Token(usize::MAX - 1)));
        assert_eq!(server.token_of(2), None);
        assert_eq!(server.slot_of(Token(usize::MAX - 3)), None);
        assert_eq!(server.slot_of(Token(usize::MAX - 1)), Some(1));
        assert_eq!(server.slot_of(Token(usize::MAX)), None);
        assert_eq!(server.slot_of(Token(0)), None);
        assert_eq!(server.tokens(), usize::MAX - 3..usize::MAX);
    }
}
