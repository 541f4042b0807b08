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
//! * Standalone: [`Server::run`] owns a `mio::Poll` and loops forever.
//! * Inside your own loop: register the server (it implements
//!   [`mio::event::Source`]) under a base token; it uses that token for the
//!   listener and the tokens right after it (up to
//!   [`max_connections`](Server::set_max_connections)) for connections.
//!   Hand every event whose token [`owns`](Server::owns) to
//!   [`handle_event`](Server::handle_event).
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

use super::codec::{Env, Limits};
use super::session::{Direction, Handler, Session};
use super::trace::WireTrace;
use mio::event::{Event, Source};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The listen backlog of [`Server::bind`]: room for 1024 connections that
/// completed the TCP handshake but were not accepted yet.
pub const DEFAULT_BACKLOG: i32 = 1024;

/// Connection events between two extra accept() calls.
const ACCEPT_EVERY: u32 = 32;

type Factory = Box<dyn FnMut(&Env) -> Box<dyn Handler>>;

struct Conn {
    stream: TcpStream,
    session: Session<Box<dyn Handler>>,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    id: u64,
    want_write: bool,
    accepted: Instant,
}

/// Statistics of a [`Server`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
    base: Token,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    routes: Vec<(String, Factory)>,
    fallback: Option<Factory>,
    scratch: Vec<u8>,
    limits: Limits,
    trace: Option<WireTrace>,
    next_id: u64,
    max_conns: usize,
    stats: ServerStats,
    since_accept: u32,
    env_timeout: Option<Duration>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("stats", &self.stats)
            .finish()
    }
}

fn normalize(path: &str) -> &str {
    path.trim_matches('/')
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
            conns: Vec::new(),
            free: Vec::new(),
            routes: Vec::new(),
            fallback: None,
            scratch: vec![0; 16 * 1024],
            limits: Limits::default(),
            trace: None,
            next_id: 0,
            max_conns: 1 << 20,
            stats: ServerStats::default(),
            since_accept: 0,
            env_timeout: Some(Duration::from_secs(10)),
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
        self.routes.push((normalize(path).to_string(), f));
        self
    }

    /// Serve every path that has no route. Without a fallback such sessions
    /// are closed right after the environment block.
    pub fn fallback<F, H>(&mut self, mut factory: F) -> &mut Self
    where
        F: FnMut(&Env) -> H + 'static,
        H: Handler + 'static,
    {
        self.fallback = Some(Box::new(move |env| Box::new(factory(env))));
        self
    }

    /// Size limits for every new session.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// At most this many simultaneous sessions (default 2^20); further
    /// connections are closed at once. Also bounds the token range used.
    pub fn set_max_connections(&mut self, n: usize) {
        self.max_conns = n.max(1);
    }

    /// Close connections that have not completed the environment block
    /// this long after they were accepted (default 10 s; `None`: never).
    /// Applied by [`expire`](Self::expire).
    pub fn set_env_timeout(&mut self, timeout: Option<Duration>) {
        self.env_timeout = timeout;
    }

    /// Close connections whose environment block is overdue at `now` (see
    /// [`set_env_timeout`](Self::set_env_timeout)); returns how many. Call it
    /// now and then from your loop ([`run`](Self::run) does, every second).
    pub fn expire(&mut self, registry: &Registry, now: Instant) -> usize {
        let Some(limit) = self.env_timeout else {
            return 0;
        };
        let mut n = 0;
        for slot in 0..self.conns.len() {
            let overdue = matches!(&self.conns[slot], Some(c)
                if !c.session.is_started() && now.saturating_duration_since(c.accepted) >= limit);
            if overdue {
                if let Some(mut c) = self.conns[slot].take() {
                    c.session.handle_error(super::error::AgiError::protocol(
                        "environment block not received in time",
                        b"",
                    ));
                    let _ = registry.deregister(&mut c.stream);
                    self.free.push(slot);
                    self.stats.active -= 1;
                    self.stats.closed += 1;
                    n += 1;
                }
            }
        }
        n
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

    /// True if `token` belongs to this server.
    pub fn owns(&self, token: Token) -> bool {
        token.0 >= self.base.0 && token.0 - self.base.0 <= self.max_conns
    }

    /// Process one readiness event for a token this server [`owns`](Self::owns).
    pub fn handle_event(&mut self, registry: &Registry, event: &Event) {
        if event.token() == self.base {
            self.accept(registry);
            return;
        }
        let slot = event.token().0 - self.base.0 - 1;
        self.drive(registry, slot, event.is_writable(), event.is_read_closed());
        // Drain the accept queue now and then while working through a big
        // batch of events: the kernel queue holds only `backlog` pending
        // connections, and a full queue drops SYNs (a 1 s client retry).
        self.since_accept += 1;
        if self.since_accept >= ACCEPT_EVERY {
            self.accept(registry);
        }
    }

    /// Run forever on a private `Poll`.
    pub fn run(&mut self) -> io::Result<()> {
        self.run_until(|_| false)
    }

    /// Run on a private `Poll` until `stop` returns true (checked after each
    /// batch of events, and at least every 100 ms).
    pub fn run_until<F: FnMut(&Server) -> bool>(&mut self, mut stop: F) -> io::Result<()> {
        let mut poll = Poll::new()?;
        poll.registry()
            .register(self, Token(0), Interest::READABLE)?;
        let mut events = Events::with_capacity(1024);
        let mut last_expire = Instant::now();
        while !stop(self) {
            match poll.poll(&mut events, Some(Duration::from_millis(100))) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for ev in events.iter() {
                self.handle_event(poll.registry(), ev);
            }
            if last_expire.elapsed() >= Duration::from_secs(1) {
                last_expire = Instant::now();
                self.expire(poll.registry(), last_expire);
            }
        }
        poll.registry().deregister(self)?;
        Ok(())
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
                    let token = Token(self.base.0 + 1 + slot);
                    if registry
                        .register(&mut stream, token, Interest::READABLE)
                        .is_err()
                    {
                        self.free.push(slot);
                        continue;
                    }
                    self.next_id += 1;
                    self.stats.active += 1;
                    self.conns[slot] = Some(Conn {
                        stream,
                        session: Session::new(self.limits),
                        inbuf: Vec::new(),
                        out: Vec::with_capacity(128),
                        out_pos: 0,
                        id: self.next_id,
                        want_write: false,
                        accepted: Instant::now(),
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // EMFILE, ECONNABORTED, ...: try again on the next event.
                Err(_) => return,
            }
        }
    }

    fn drive(&mut self, registry: &Registry, slot: usize, writable: bool, read_closed: bool) {
        let Server {
            conns,
            routes,
            fallback,
            scratch,
            trace,
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
        let mut route = |env: &Env| -> Option<Box<dyn Handler>> {
            let path = normalize(env.script_path());
            for (p, f) in routes.iter_mut() {
                if p == path {
                    return Some(f(env));
                }
            }
            fallback.as_mut().map(|f| f(env))
        };
        let mut close = false;
        if writable && conn.want_write {
            close |= flush(conn, registry, slot, self.base);
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
                    if conn.out.len() > conn.out_pos {
                        close |= flush(conn, registry, slot, self.base);
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
}

/// Write pending output; returns true if the connection must be closed.
fn flush(conn: &mut Conn, registry: &Registry, slot: usize, base: Token) -> bool {
    while conn.out_pos < conn.out.len() {
        match conn.stream.write(&conn.out[conn.out_pos..]) {
            Ok(0) => return true,
            Ok(n) => conn.out_pos += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if !conn.want_write {
                    conn.want_write = true;
                    let _ = registry.reregister(
                        &mut conn.stream,
                        Token(base.0 + 1 + slot),
                        Interest::READABLE | Interest::WRITABLE,
                    );
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
        let _ = registry.reregister(
            &mut conn.stream,
            Token(base.0 + 1 + slot),
            Interest::READABLE,
        );
    }
    false
}

impl Source for Server {
    /// Registers the listener under `token`; connections get the tokens
    /// after it.
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.base = token;
        self.listener.register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.base = token;
        self.listener.reregister(registry, token, interests)
    }

    /// Deregisters the listener and closes every open session.
    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        for c in self.conns.iter_mut() {
            if let Some(mut c) = c.take() {
                c.session.handle_error(super::error::AgiError::Closed);
                let _ = registry.deregister(&mut c.stream);
                self.stats.closed += 1;
            }
        }
        self.stats.active = 0;
        self.free.clear();
        self.conns.clear();
        self.listener.deregister(registry)
    }
}
