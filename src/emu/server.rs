//! The emulator's mio shell: a loopback listener and its sessions, driven by
//! the caller's loop like the client.

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token};

use super::session::{pairs, ClientSession, Effect, EmulatorConfig};
use crate::driver::Drive;
use crate::transport::Transport;

const INTEREST: Interest = Interest::READABLE.add(Interest::WRITABLE);

struct Client {
    stream: Transport,
    session: ClientSession,
    /// The last write would block: wait for the socket's writable edge.
    blocked: bool,
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
        Ok(Emulator {
            listener: TcpListener::bind(addr)?,
            registration: Registration::Standalone(None),
            events: Events::with_capacity(64),
            config: Rc::new(config),
            clients: Vec::new(),
            buf: vec![0; 64 * 1024],
            silent: false,
        })
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
    pub fn emit_event(&mut self, name: &str, headers: &[(&str, &str)]) {
        let mut ev = vec![("Event".to_owned(), name.to_owned())];
        ev.extend(pairs(headers));
        self.broadcast(&ev);
    }

    fn broadcast(&mut self, ev: &[(String, String)]) {
        if self.silent {
            return;
        }
        for c in self.clients.iter_mut().flatten() {
            c.session.push_event(ev);
        }
    }

    /// Accepts, reads, answers and writes; waits up to `timeout` for
    /// activity. An emulator added to a [`Driver`](crate::driver::Driver) is
    /// polled by the driver: this then fails with [`ErrorKind::Unsupported`].
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.flush_all(None);
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
        self.flush_all(Some(poll.registry()));
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
                    self.clients[slot] = Some(Client {
                        stream,
                        session: ClientSession::new(self.config.clone()),
                        blocked: false,
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
        let mut effects = Vec::new();
        let mut gone = false;
        if let Some(Some(c)) = self.clients.get_mut(slot) {
            c.blocked = false;
            loop {
                match c.stream.read(&mut self.buf) {
                    Ok(0) => {
                        // The client closed its side; it may still read the
                        // replies to what it sent (a Logoff's Goodbye, say):
                        // write them, then drop the session.
                        c.session.close();
                        break;
                    }
                    Ok(_) if self.silent => {}
                    Ok(n) => effects.extend(c.session.feed(&self.buf[..n])),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        gone = true;
                        break;
                    }
                }
            }
        }
        if gone {
            self.drop_client(slot, Some(registry));
        }
        for Effect::Broadcast(ev) in effects {
            self.broadcast(&ev);
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

    /// Writes what sessions have queued; drops sessions that are done.
    fn flush_all(&mut self, registry: Option<&Registry>) {
        for slot in 0..self.clients.len() {
            let Some(c) = &mut self.clients[slot] else {
                continue;
            };
            let mut failed = false;
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
                match c.stream.write(c.session.output()) {
                    Ok(n) => c.session.consume_output(n),
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
            let drained = c.session.output().is_empty() && !c.stream.wants_write();
            if failed || (c.session.is_closing() && drained) {
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

    fn has_work(&self, _now: Instant) -> bool {
        // Output queued by the host (an injected event, say) or by sessions.
        self.clients.iter().flatten().any(|c| {
            let unsent = !c.session.output().is_empty() || c.stream.wants_write();
            (unsent && !c.blocked) || (c.session.is_closing() && !unsent)
        })
    }

    fn work(&mut self, registry: &Registry, _now: Instant) {
        self.flush_all(Some(registry));
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
