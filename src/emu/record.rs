//! The recording proxy: sits between AMI clients and a real PBX, passes
//! bytes both ways unchanged, and writes every connection to one
//! [transcript](super::transcript).
//!
//! ```no_run
//! use asterisk_io::emu::record::RecordingProxy;
//! let proxy = RecordingProxy::create(
//!     "127.0.0.1:0".parse().unwrap(),   // clients connect here
//!     "192.0.2.10:5038".parse().unwrap(), // the PBX
//!     "session.transcript",
//! ).unwrap();
//! println!("listening {}", proxy.local_addr().unwrap());
//! proxy.run().unwrap(); // or add it to a `Driver` with other sources
//! ```

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::time::Instant;

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use super::transcript::{Direction, Recorder};
use crate::driver::{Drive, Driver};

const INTEREST: Interest = Interest::READABLE.add(Interest::WRITABLE);

/// Most bytes the proxy holds for one side before it stops reading the other.
pub const MAX_BUFFERED: usize = 256 * 1024;

struct Side {
    stream: TcpStream,
    /// Bytes waiting to be written to this side.
    pending: Vec<u8>,
    /// This side's stream ended (it closed its writing half).
    eof: bool,
    /// Its end was passed on: the other side's writing half is shut.
    shut: bool,
}

struct Pair {
    conn: u32,
    client: Side,
    server: Side,
    connected: bool,
}

/// A recording AMI proxy; see the [module docs](self).
///
/// As a [`Drive`] source it uses the base token for its listener, and
/// `base + 1 + 2i` / `base + 2 + 2i` for the client / upstream sockets of
/// connection slot `i`, at most [`RecordingProxy::MAX_CONNECTIONS`] at once.
pub struct RecordingProxy<W: Write> {
    listener: TcpListener,
    upstream: SocketAddr,
    recorder: Recorder,
    out: W,
    start: Instant,
    pairs: Vec<Option<Pair>>,
    base: Token,
    buf: Vec<u8>,
    error: Option<io::Error>,
    opened: usize,
}

impl<W: Write> fmt::Debug for RecordingProxy<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingProxy")
            .field("addr", &self.listener.local_addr().ok())
            .field("upstream", &self.upstream)
            .field("connections", &self.opened)
            .finish_non_exhaustive()
    }
}

impl RecordingProxy<std::fs::File> {
    /// Listens on `listen`, proxies to `upstream`, records into a new file
    /// at `path` (replacing one that is there).
    pub fn create(
        listen: SocketAddr,
        upstream: SocketAddr,
        path: impl AsRef<Path>,
    ) -> io::Result<Self> {
        let file = std::fs::File::create(path)?;
        Self::bind(listen, upstream, file)
    }
}

impl<W: Write> RecordingProxy<W> {
    /// Most connections proxied at once (more wait in the listen queue).
    pub const MAX_CONNECTIONS: usize = 64;

    /// Listens on `listen` (port 0: any free port); each client is connected
    /// to `upstream`; the transcript goes to `out` as it is made (its time 0
    /// is now).
    pub fn bind(listen: SocketAddr, upstream: SocketAddr, out: W) -> io::Result<Self> {
        let mut proxy = RecordingProxy {
            listener: TcpListener::bind(listen)?,
            upstream,
            recorder: Recorder::new(),
            out,
            start: Instant::now(),
            pairs: Vec::new(),
            base: Token(0),
            buf: vec![0; 64 * 1024],
            error: None,
            opened: 0,
        };
        proxy.write_out();
        Ok(proxy)
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How many client connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.opened
    }

    /// How many are still open.
    pub fn active(&self) -> usize {
        self.pairs.iter().flatten().count()
    }

    /// The first error writing the transcript (recording stopped there;
    /// proxying goes on).
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Writes what the recorder held back (client bytes inside an
    /// unfinished request) and flushes the writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.recorder.finish();
        self.write_out();
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }

    /// Flushes and gives back the writer (open connections are closed).
    pub fn into_writer(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.out)
    }

    /// Proxies and records forever in a loop of its own (for a command
    /// line: print [`local_addr`](Self::local_addr), then call this).
    pub fn run(self) -> io::Result<()>
    where
        W: 'static,
    {
        let mut driver = Driver::new()?;
        driver.add(self)?;
        loop {
            driver.poll(None)?;
        }
    }

    fn write_out(&mut self) {
        if self.error.is_some() {
            self.recorder.take_output();
            return;
        }
        let out = self.recorder.take_output();
        if out.is_empty() {
            return;
        }
        if let Err(e) = self.out.write_all(&out).and_then(|_| self.out.flush()) {
            self.error = Some(e);
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            let (mut client, _) = match self.listener.accept() {
                Ok(c) => c,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let slot = match self.pairs.iter().position(Option::is_none) {
                Some(i) => i,
                None if self.pairs.len() < Self::MAX_CONNECTIONS => {
                    self.pairs.push(None);
                    self.pairs.len() - 1
                }
                None => continue,
            };
            let Ok(mut server) = TcpStream::connect(self.upstream) else {
                continue;
            };
            let base = self.base.0 + 1 + 2 * slot;
            if registry
                .register(&mut client, Token(base), INTEREST)
                .is_err()
                || registry
                    .register(&mut server, Token(base + 1), INTEREST)
                    .is_err()
            {
                let _ = registry.deregister(&mut client);
                continue;
            }
            self.opened += 1;
            let conn = self.recorder.open(self.start.elapsed());
            let side = |stream| Side {
                stream,
                pending: Vec::new(),
                eof: false,
                shut: false,
            };
            self.pairs[slot] = Some(Pair {
                conn,
                client: side(client),
                server: side(server),
                connected: false,
            });
        }
        self.write_out();
    }

    /// Moves bytes both ways until nothing moves; drops the pair when done.
    fn pump(&mut self, slot: usize, registry: &Registry) {
        let Some(Some(p)) = self.pairs.get_mut(slot) else {
            return;
        };
        let mut failed = false;
        if !p.connected {
            match p.server.stream.take_error() {
                Ok(Some(_)) | Err(_) => failed = true,
                Ok(None) => match p.server.stream.peer_addr() {
                    Ok(_) => p.connected = true,
                    Err(e) if e.kind() == ErrorKind::NotConnected => {}
                    Err(_) => failed = true,
                },
            }
        }
        let start = self.start;
        loop {
            let mut moved = false;
            // Client to server.
            if !failed {
                match move_bytes(
                    &mut p.client,
                    &mut p.server,
                    p.connected,
                    &mut self.buf,
                    |bytes| {
                        self.recorder
                            .data(p.conn, Direction::ToServer, start.elapsed(), bytes)
                    },
                ) {
                    Ok((m, eof)) => {
                        moved |= m;
                        if eof {
                            self.recorder
                                .eof(p.conn, Direction::ToServer, start.elapsed());
                        }
                    }
                    Err(()) => failed = true,
                }
            }
            if !failed && p.connected {
                match move_bytes(&mut p.server, &mut p.client, true, &mut self.buf, |bytes| {
                    self.recorder
                        .data(p.conn, Direction::FromServer, start.elapsed(), bytes)
                }) {
                    Ok((m, eof)) => {
                        moved |= m;
                        if eof {
                            self.recorder
                                .eof(p.conn, Direction::FromServer, start.elapsed());
                        }
                    }
                    Err(()) => failed = true,
                }
            }
            if failed || !moved {
                break;
            }
        }
        let done = p.client.shut && p.server.shut;
        if failed || done {
            let mut p = self.pairs[slot].take().expect("present above");
            if failed {
                // A reset or a refused upstream: both ends go.
                if !p.server.eof {
                    self.recorder
                        .eof(p.conn, Direction::FromServer, start.elapsed());
                }
                if !p.client.eof {
                    self.recorder
                        .eof(p.conn, Direction::ToServer, start.elapsed());
                }
            }
            self.recorder.close(p.conn);
            let _ = registry.deregister(&mut p.client.stream);
            let _ = registry.deregister(&mut p.server.stream);
        }
        self.write_out();
    }
}

/// Reads `from` (while `to` has room) into `to`'s pending bytes, recording
/// each chunk, and writes `to`'s pending bytes; passes an end on as a
/// shutdown of `to`'s writing half. Returns (anything moved, `from` just ended).
fn move_bytes(
    from: &mut Side,
    to: &mut Side,
    can_write: bool,
    buf: &mut [u8],
    mut record: impl FnMut(&[u8]),
) -> Result<(bool, bool), ()> {
    let mut moved = false;
    let mut ended = false;
    while !from.eof && to.pending.len() < MAX_BUFFERED {
        match from.stream.read(buf) {
            Ok(0) => {
                from.eof = true;
                ended = true;
                moved = true;
            }
            Ok(n) => {
                record(&buf[..n]);
                to.pending.extend_from_slice(&buf[..n]);
                moved = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::NotConnected => break,
            Err(_) => return Err(()),
        }
    }
    if !can_write {
        return Ok((moved, ended));
    }
    while !to.pending.is_empty() {
        match to.stream.write(&to.pending) {
            Ok(0) => return Err(()),
            Ok(n) => {
                to.pending.drain(..n);
                moved = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(()),
        }
    }
    if from.eof && to.pending.is_empty() && !from.shut {
        from.shut = true;
        // The peer may be gone already; its end shows as a read of 0.
        let _ = to.stream.shutdown(Shutdown::Write);
        moved = true;
    }
    Ok((moved, ended))
}

impl<W: Write> Drive for RecordingProxy<W> {
    fn token_count(&self) -> usize {
        1 + 2 * Self::MAX_CONNECTIONS
    }

    fn attach(&mut self, registry: &Registry, base: Token) -> io::Result<()> {
        registry.register(&mut self.listener, base, Interest::READABLE)?;
        for (slot, p) in self.pairs.iter_mut().enumerate() {
            if let Some(p) = p {
                let t = base.0 + 1 + 2 * slot;
                registry.register(&mut p.client.stream, Token(t), INTEREST)?;
                registry.register(&mut p.server.stream, Token(t + 1), INTEREST)?;
            }
        }
        self.base = base;
        Ok(())
    }

    fn detach(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.listener)?;
        for p in self.pairs.iter_mut().flatten() {
            registry.deregister(&mut p.client.stream)?;
            registry.deregister(&mut p.server.stream)?;
        }
        Ok(())
    }

    fn ready(&mut self, registry: &Registry, event: &Event) {
        match event.token().0.checked_sub(self.base.0) {
            Some(0) => self.accept(registry),
            Some(n) if (n - 1) / 2 < self.pairs.len() => self.pump((n - 1) / 2, registry),
            _ => {}
        }
    }

    fn has_work(&self, _now: Instant) -> bool {
        false
    }

    fn work(&mut self, _registry: &Registry, _now: Instant) {}

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
