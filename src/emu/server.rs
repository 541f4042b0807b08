//! The emulator's mio shell: a loopback listener and its sessions, driven by
//! the caller's loop like the client.

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::session::{pairs, ClientSession, Effect, EmulatorConfig};

const LISTENER: Token = Token(usize::MAX);

struct Client {
    stream: TcpStream,
    session: ClientSession,
}

/// A manager emulator listening on a local port.
///
/// It spawns no thread: call [`Emulator::poll`] from the same loop that
/// drives the client (a zero timeout when the client's loop does the waiting).
pub struct Emulator {
    listener: TcpListener,
    poll: Poll,
    events: Events,
    config: Rc<EmulatorConfig>,
    clients: Vec<Option<Client>>,
    buf: Vec<u8>,
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
        let mut listener = TcpListener::bind(addr)?;
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Emulator {
            listener,
            poll,
            events: Events::with_capacity(64),
            config: Rc::new(config),
            clients: Vec::new(),
            buf: vec![0; 64 * 1024],
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Number of connected sessions.
    pub fn session_count(&self) -> usize {
        self.clients.iter().flatten().count()
    }

    /// Sends an event (`Event: name` plus `headers`) to every logged-in
    /// session with events on. It goes out at the next [`Emulator::poll`].
    pub fn emit_event(&mut self, name: &str, headers: &[(&str, &str)]) {
        let mut ev = vec![("Event".to_owned(), name.to_owned())];
        ev.extend(pairs(headers));
        self.broadcast(&ev);
    }

    fn broadcast(&mut self, ev: &[(String, String)]) {
        for c in self.clients.iter_mut().flatten() {
            c.session.push_event(ev);
        }
    }

    /// Accepts, reads, answers and writes; waits up to `timeout` for activity.
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.flush_all();
        self.poll.poll(&mut self.events, timeout)?;
        let tokens: Vec<Token> = self.events.iter().map(|e| e.token()).collect();
        for t in tokens {
            if t == LISTENER {
                self.accept()?;
            } else {
                self.serve(t.0);
            }
        }
        self.flush_all();
        Ok(())
    }

    fn accept(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let slot = match self.clients.iter().position(Option::is_none) {
                        Some(i) => i,
                        None => {
                            self.clients.push(None);
                            self.clients.len() - 1
                        }
                    };
                    self.poll.registry().register(
                        &mut stream,
                        Token(slot),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    self.clients[slot] = Some(Client {
                        stream,
                        session: ClientSession::new(self.config.clone()),
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn serve(&mut self, slot: usize) {
        let mut effects = Vec::new();
        let mut gone = false;
        if let Some(Some(c)) = self.clients.get_mut(slot) {
            loop {
                match c.stream.read(&mut self.buf) {
                    Ok(0) => {
                        // The client closed its side; it may still read the
                        // replies to what it sent (a Logoff's Goodbye, say):
                        // write them, then drop the session.
                        c.session.close();
                        break;
                    }
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
            self.drop_client(slot);
        }
        for Effect::Broadcast(ev) in effects {
            self.broadcast(&ev);
        }
    }

    fn drop_client(&mut self, slot: usize) {
        if let Some(mut c) = self.clients[slot].take() {
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }

    fn flush_all(&mut self) {
        for slot in 0..self.clients.len() {
            let Some(c) = &mut self.clients[slot] else {
                continue;
            };
            let mut failed = false;
            while !c.session.output().is_empty() {
                match c.stream.write(c.session.output()) {
                    Ok(n) => c.session.consume_output(n),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e)
                        if e.kind() == ErrorKind::WouldBlock
                            || e.kind() == ErrorKind::NotConnected =>
                    {
                        break
                    }
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
            if failed || (c.session.is_closing() && c.session.output().is_empty()) {
                self.drop_client(slot);
            }
        }
    }
}
