//! The emulator's mio shell: a loopback listener and its sessions, driven by
//! the caller's loop like the client.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};

use super::faults::{Fault, Shaper, Then};
use super::pbx::{Out, Pbx};
use super::session::{ClientSession, EmulatorConfig};
use crate::driver::Drive;
use crate::transport::Transport;

const INTEREST: Interest = Interest::READABLE.add(Interest::WRITABLE);

struct Client {
    stream: Transport,
    session: ClientSession,
    /// The last write would block: wait for the socket's writable edge.
    blocked: bool,
    /// The connection's faults.
    shaper: Shaper,
}

/// Where the emulator's sockets are registered.
enum Registration {
    /// In its own `Poll`, made the first time [`Emulator::poll`] runs.
    Standalone(Option<Poll>),
    /// In a host's poll (a [`Driver`](crate::driver::Driver)), from this base token.
    Host(Token),
}

/// A manager emulator listening on a local port.
///
/// It spawns no thread. Either call [`Emulator::poll`] from the loop that
/// drives the client (a zero timeout when the client's loop does the
/// waiting), or add it to a [`Driver`](crate::driver::Driver) with the
/// client, so one `Poll` serves both (see [`Drive`]). The listener uses the
/// base token and client `i` the token `base + 1 + i`, for at most
/// [`EmulatorConfig::max_clients`] clients at once.
pub struct Emulator {
    listener: TcpListener,
    registration: Registration,
    events: Events,
    config: Rc<EmulatorConfig>,
    clients: Vec<Option<Client>>,
    buf: Vec<u8>,
    /// A fault: read what clients send, answer nothing.
    silent: bool,
    pbx: Pbx,
    next_id: u64,
    /// Faults for connections accepted from now on (besides the config's).
    faults: Vec<Fault>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.listener.local_addr().ok())
            .field("sessions", &self.session_count())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Listens on `addr` (use port 0 for any free port).
    pub fn bind(addr: SocketAddr, config: EmulatorConfig) -> io::Result<Emulator> {
        let config = Rc::new(config);
        Ok(Emulator {
            listener: TcpListener::bind(addr)?,
            registration: Registration::Standalone(None),
            events: Events::with_capacity(64),
            pbx: Pbx::new(config.clone(), Instant::now(), SystemTime::now()),
            config,
            clients: Vec::new(),
            buf: vec![0; 64 * 1024],
            silent: false,
            next_id: 1,
            faults: Vec::new(),
        })
    }

    /// Bytes queued for clients and not yet written (a measure of how far
    /// slow clients lag).
    pub fn pending_output(&self) -> usize {
        self.clients
            .iter()
            .flatten()
            .map(|c| c.session.output().len())
            .sum()
    }

    /// The emulated PBX (its channels, globals, AstDB).
    pub fn pbx(&self) -> &Pbx {
        &self.pbx
    }

    /// Applies a fault to every connection accepted from now on.
    pub fn add_fault(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// Applies a fault to every live connection now (a `Login` trigger
    /// fires at once for logged-in clients).
    pub fn inject(&mut self, fault: Fault) {
        let now = Instant::now();
        for c in self.clients.iter_mut().flatten() {
            c.shaper.add(fault.clone());
            // Armed now: what is queued already goes out whole.
            c.shaper.before_write(&mut c.session, now);
        }
    }

    /// Removes the faults added with [`Emulator::add_fault`] (the config's stay).
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    fn base(&self) -> Token {
        match self.registration {
            Registration::Standalone(_) => Token(0),
            Registration::Host(base) => base,
        }
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Number of connected sessions.
    pub fn session_count(&self) -> usize {
        self.clients.iter().flatten().count()
    }

    /// A fault for tests: closes every client connection at once, as a PBX
    /// that restarts does (clients read the end of their stream). The
    /// listener stays; clients may connect again.
    pub fn drop_clients(&mut self) {
        for slot in 0..self.clients.len() {
            // Closing the socket removes it from the poll as well.
            self.clients[slot] = None;
        }
    }

    /// A fault for tests: while on, the emulator reads what clients send and
    /// answers nothing, and sends no events (a hung PBX, a black-holed
    /// network). Connections stay open.
    pub fn set_silent(&mut self, silent: bool) {
        self.silent = silent;
    }

    /// Sends an event (`Event: name` plus `headers`) to every logged-in
    /// session with events on. It goes out at the next [`Emulator::poll`].
    ///
    /// A `Privilege:` header among `headers` sets the event's classes: only
    /// sessions whose read classes and event mask cover them receive it. An
    /// event without one goes to every session with events on.
    pub fn emit_event(&mut self, name: &str, headers: &[(&str, &str)]) {
        self.pbx.raw_event_fields(name, headers);
        self.deliver();
    }

    /// Sends an event of these classes (`call`, `user,system` ...), with its
    /// `Privilege:` header written as Asterisk writes it.
    pub fn emit_event_as(&mut self, classes: &str, name: &str, headers: &[(&str, &str)]) {
        self.pbx
            .event_fields(super::Classes::parse(classes), name, headers);
        self.deliver();
    }

    /// Hands what the PBX has queued to the sessions.
    fn deliver(&mut self) {
        if self.pbx.outbox.is_empty() {
            return;
        }
        let outbox = std::mem::take(&mut self.pbx.outbox);
        if self.silent {
            return;
        }
        for out in &outbox {
            match out {
                Out::Event { classes, bytes } => {
                    for c in self.clients.iter_mut().flatten() {
                        c.session.push_event_bytes(*classes, bytes);
                    }
                }
                Out::Reply { session, bytes } => {
                    if let Some(c) = self
                        .clients
                        .iter_mut()
                        .flatten()
                        .find(|c| c.session.id() == *session)
                    {
                        c.session.push_raw(bytes);
                    }
                }
            }
        }
        // Keep the allocation for the next round.
        let mut outbox = outbox;
        outbox.clear();
        if self.pbx.outbox.is_empty() {
            self.pbx.outbox = outbox;
        }
    }

    /// Moves time on: ends channels whose application finished, fires
    /// timers, lets refused logins answer.
    fn tick(&mut self, now: Instant) {
        self.pbx.tick(now);
        self.deliver();
        for c in self.clients.iter_mut().flatten() {
            c.session.tick(now);
        }
    }

    /// The earliest moment the emulator needs to work without readiness.
    fn deadline(&self) -> Option<Instant> {
        let sessions = self.clients.iter().flatten().filter_map(|c| {
            let s = c.session.next_deadline();
            let f = c.shaper.next_deadline();
            match (s, f) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        });
        sessions.chain(self.pbx.next_deadline()).min()
    }

    /// Accepts, reads, answers and writes; waits up to `timeout` for
    /// activity. An emulator added to a [`Driver`](crate::driver::Driver) is
    /// polled by the driver: this then fails with [`ErrorKind::Unsupported`].
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let now = Instant::now();
        self.tick(now);
        self.retry_reads(None, now);
        self.flush_all(None, now);
        let timeout = match self.deadline() {
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                Some(timeout.map_or(left, |t| t.min(left)))
            }
            None => timeout,
        };
        let Registration::Standalone(own) = &mut self.registration else {
            return Err(io::Error::new(
                ErrorKind::Unsupported,
                "the emulator is attached to a driver, which polls it",
            ));
        };
        let poll = match own {
            Some(poll) => poll,
            None => {
                let poll = Poll::new()?;
                poll.registry()
                    .register(&mut self.listener, Token(0), Interest::READABLE)?;
                own.insert(poll)
            }
        };
        poll.poll(&mut self.events, timeout)?;
        let tokens: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
        // Take the poll out while serving, so its registry can be lent.
        let Registration::Standalone(own) = &mut self.registration else {
            unreachable!("checked above")
        };
        let poll = own.take().expect("made above");
        for t in tokens {
            self.on_token(poll.registry(), t);
        }
        let now = Instant::now();
        self.tick(now);
        self.retry_reads(Some(poll.registry()), now);
        self.flush_all(Some(poll.registry()), now);
        self.registration = Registration::Standalone(Some(poll));
        Ok(())
    }

    fn on_token(&mut self, registry: &Registry, token: Token) {
        let base = self.base().0;
        match token.0.checked_sub(base) {
            Some(0) => {
                if let Err(e) = self.accept(registry) {
                    // A failed accept (out of descriptors, say) leaves the
                    // listener as it is; the next readiness retries.
                    let _ = e;
                }
            }
            Some(n) => self.serve(n - 1, registry),
            None => {}
        }
    }

    fn accept(&mut self, registry: &Registry) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let slot = match self.clients.iter().position(Option::is_none) {
                        Some(i) => i,
                        None if self.clients.len() < self.config.max_clients => {
                            self.clients.push(None);
                            self.clients.len() - 1
                        }
                        // Full: the connection is closed at once.
                        None => continue,
                    };
                    let mut stream = self.wrap(stream)?;
                    let token = Token(self.base().0 + 1 + slot);
                    registry.register(&mut stream, token, INTEREST)?;
                    let id = self.next_id;
                    self.next_id += 1;
                    let mut faults = self.config.faults.clone();
                    faults.extend(self.faults.iter().cloned());
                    if !faults.is_empty() {
                        // Small writes go out as they are made, not coalesced.
                        let _ = stream.tcp().set_nodelay(true);
                    }
                    let mut session = ClientSession::with_id(self.config.clone(), id);
                    if let (Ok(local), Ok(remote)) =
                        (stream.tcp().local_addr(), stream.tcp().peer_addr())
                    {
                        session.set_addresses(local, remote);
                    }
                    self.clients[slot] = Some(Client {
                        stream,
                        session,
                        blocked: false,
                        shaper: Shaper::new(&faults, Instant::now()),
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The accepted socket, under a TLS session when the emulator serves TLS.
    fn wrap(&self, stream: TcpStream) -> io::Result<Transport> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.config.tls {
            let session = rustls::ServerConnection::new(tls.clone()).map_err(io::Error::other)?;
            return Ok(Transport::tls(stream, session, String::new()));
        }
        Ok(Transport::Plain(stream))
    }

    fn serve(&mut self, slot: usize, registry: &Registry) {
        let now = Instant::now();
        if let Some(Some(c)) = self.clients.get_mut(slot) {
            c.blocked = false;
            c.shaper.read_pending = false;
        }
        self.read_client(slot, Some(registry), now);
        // Replies go out at once (a host may not call `work` before its next wait).
        self.flush_all(Some(registry), now);
    }

    /// Reads what client `slot` sent (as much as its faults allow) and
    /// answers it.
    fn read_client(&mut self, slot: usize, registry: Option<&Registry>, now: Instant) {
        let mut gone = false;
        loop {
            let Some(Some(c)) = self.clients.get_mut(slot) else {
                return;
            };
            if c.session.is_closing() {
                break;
            }
            let allowed = c.shaper.read_allowance(now).min(self.buf.len());
            if allowed == 0 {
                c.shaper.read_pending = true;
                break;
            }
            match c.stream.read(&mut self.buf[..allowed]) {
                Ok(0) => {
                    // The client closed its side; it may still read the
                    // replies to what it sent (a Logoff's Goodbye, say):
                    // write them, then drop the session.
                    c.session.close();
                    break;
                }
                Ok(n) => {
                    c.shaper.read(n);
                    if self.silent {
                        continue;
                    }
                    let mut more = c.session.feed_with(&self.buf[..n], &mut self.pbx, now);
                    loop {
                        // What a request made (events, a deferred reply)
                        // goes out before the replies to the next ones.
                        self.deliver();
                        if !more {
                            break;
                        }
                        let Some(Some(c)) = self.clients.get_mut(slot) else {
                            break;
                        };
                        more = c.session.feed_with(&[], &mut self.pbx, now);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    gone = true;
                    break;
                }
            }
        }
        if gone {
            self.drop_client(slot, registry);
        }
    }

    /// Reads again from clients whose reading a slow-read fault paused.
    fn retry_reads(&mut self, registry: Option<&Registry>, now: Instant) {
        for slot in 0..self.clients.len() {
            let due = matches!(&self.clients[slot], Some(c) if c.shaper.read_pending
                && c.shaper.next_deadline().is_some_and(|t| t <= now));
            if due {
                if let Some(c) = &mut self.clients[slot] {
                    c.shaper.read_pending = false;
                }
                self.read_client(slot, registry, now);
            }
        }
    }

    fn drop_client(&mut self, slot: usize, registry: Option<&Registry>) {
        if let Some(mut c) = self.clients[slot].take() {
            if let Some(registry) = registry {
                let _ = registry.deregister(&mut c.stream);
            }
            // Without a registry at hand, closing the socket removes it from
            // the poll all the same.
        }
    }

    /// Writes what sessions have queued (as their faults allow); drops
    /// sessions that are done.
    fn flush_all(&mut self, registry: Option<&Registry>, now: Instant) {
        for slot in 0..self.clients.len() {
            let Some(c) = &mut self.clients[slot] else {
                continue;
            };
            let mut failed = false;
            let mut cut = false;
            let faulty = !c.shaper.is_idle();
            if faulty {
                c.shaper.expire(now);
                c.shaper.before_write(&mut c.session, now);
                if c.shaper.half_close_due() {
                    let _ = c.stream.flush();
                    let _ = c.stream.tcp().shutdown(Shutdown::Write);
                    c.shaper.mark_half_closed();
                }
            }
            while !c.session.output().is_empty() || c.stream.wants_write() {
                if c.session.output().is_empty() {
                    // Records of the transport's own (a TLS handshake).
                    match c.stream.flush() {
                        Ok(()) => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e)
                            if e.kind() == ErrorKind::WouldBlock
                                || e.kind() == ErrorKind::NotConnected =>
                        {
                            c.blocked = true;
                            break;
                        }
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                let (n, then) = if faulty {
                    c.shaper.allowance(c.session.output(), now)
                } else {
                    (usize::MAX, Then::Continue)
                };
                let n = n.min(c.session.output().len());
                let written = if n == 0 {
                    Ok(0)
                } else {
                    c.stream.write(&c.session.output()[..n])
                };
                match written {
                    Ok(w) => {
                        c.session.consume_output(w);
                        if faulty {
                            c.shaper.wrote(w, now);
                        }
                        if w == n {
                            match then {
                                Then::Close => {
                                    cut = true;
                                    break;
                                }
                                Then::HalfClose => {
                                    let _ = c.stream.flush();
                                    let _ = c.stream.tcp().shutdown(Shutdown::Write);
                                    c.shaper.mark_half_closed();
                                    break;
                                }
                                Then::Continue => {}
                            }
                        }
                        if n == 0 || (faulty && c.shaper.paused(now)) {
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e)
                        if e.kind() == ErrorKind::WouldBlock
                            || e.kind() == ErrorKind::NotConnected =>
                    {
                        c.blocked = true;
                        break;
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if c.shaper.half_closed() && !c.session.output().is_empty() {
                // Nothing more can be sent on a half-closed connection.
                let n = c.session.output().len();
                c.session.consume_output(n);
            }
            let drained = c.session.output().is_empty() && !c.stream.wants_write();
            if failed || cut || (c.session.is_closing() && drained) {
                self.drop_client(slot, registry);
            }
        }
    }
}

/// The emulator as a source of a [`Driver`](crate::driver::Driver) or any
/// host loop: the listener on the base token, client `i` on `base + 1 + i`.
impl Drive for Emulator {
    fn token_count(&self) -> usize {
        1 + self.config.max_clients
    }

    fn attach(&mut self, registry: &Registry, base: Token) -> io::Result<()> {
        base.0
            .checked_add(self.token_count())
            .ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, "token range overflows"))?;
        if let Registration::Standalone(Some(own)) = &self.registration {
            own.registry().deregister(&mut self.listener)?;
            for c in self.clients.iter_mut().flatten() {
                own.registry().deregister(&mut c.stream)?;
            }
        }
        registry.register(&mut self.listener, base, Interest::READABLE)?;
        for (slot, c) in self.clients.iter_mut().enumerate() {
            if let Some(c) = c {
                registry.register(&mut c.stream, Token(base.0 + 1 + slot), INTEREST)?;
            }
        }
        self.registration = Registration::Host(base);
        Ok(())
    }

    fn detach(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.listener)?;
        for c in self.clients.iter_mut().flatten() {
            registry.deregister(&mut c.stream)?;
        }
        self.registration = Registration::Standalone(None);
        Ok(())
    }

    fn ready(&mut self, registry: &Registry, event: &Event) {
        self.on_token(registry, event.token());
    }

    fn has_work(&self, now: Instant) -> bool {
        // Output queued by the host (an injected event, say) or by
        // sessions, or a deadline (a channel's end, a fault's pause) passed.
        self.deadline().is_some_and(|t| t <= now)
            || self.clients.iter().flatten().any(|c| {
                let unsent = !c.session.output().is_empty() || c.stream.wants_write();
                (unsent && !c.blocked && !c.shaper.paused(now))
                    || (c.session.is_closing() && !unsent)
            })
    }

    fn work(&mut self, registry: &Registry, now: Instant) {
        self.tick(now);
        self.retry_reads(Some(registry), now);
        self.flush_all(Some(registry), now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline()
    }
}
