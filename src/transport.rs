//! The byte pipe under the mio shells: a plain TCP socket, or (with the
//! `tls` feature) a rustls session over one.
//!
//! The sans-IO cores never learn which: they read and write through
//! [`Read`] and [`Write`]. A TLS session may have records of its own to send
//! (handshake, alerts) while the AMI outbox is empty, so the shells call
//! [`Transport::flush`] after every read and write, and count
//! [`Transport::wants_write`] as pending output.

use std::io::{self, Read, Write};
use std::net::Shutdown;

use mio::event::Source;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

/// A socket, with or without TLS on it.
pub(crate) enum Transport {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream>),
}

/// A rustls session (client or server) and its socket.
#[cfg(feature = "tls")]
pub(crate) struct TlsStream {
    tcp: TcpStream,
    tls: rustls::Connection,
    /// The name the client asked for (for error messages).
    name: String,
    /// The socket has reached its end.
    eof: bool,
}

/// A rustls failure on its way through `io::Error`, with the name the
/// client checked the certificate against.
#[cfg(feature = "tls")]
#[derive(Debug)]
pub(crate) struct TlsFailure {
    pub(crate) name: String,
    pub(crate) error: rustls::Error,
}

#[cfg(feature = "tls")]
impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS: {}", self.error)
    }
}

#[cfg(feature = "tls")]
impl std::error::Error for TlsFailure {}

impl Transport {
    #[cfg(feature = "tls")]
    pub(crate) fn tls(tcp: TcpStream, tls: impl Into<rustls::Connection>, name: String) -> Self {
        Transport::Tls(Box::new(TlsStream {
            tcp,
            tls: tls.into(),
            name,
            eof: false,
        }))
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            #[cfg(feature = "tls")]
            Transport::Tls(t) => &t.tcp,
        }
    }

    fn tcp_mut(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(s) => s,
            #[cfg(feature = "tls")]
            Transport::Tls(t) => &mut t.tcp,
        }
    }

    /// True when the bytes go through a TLS session.
    pub(crate) fn is_tls(&self) -> bool {
        !matches!(self, Transport::Plain(_))
    }

    /// True when the transport has bytes of its own to send (TLS records).
    pub(crate) fn wants_write(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.tls.wants_write(),
        }
    }

    /// Writes the transport's own pending bytes until done or the socket
    /// would block (`WouldBlock` is then returned).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write_records(),
        }
    }

    /// Sends a TLS `close_notify` (when there is a session), then shuts the
    /// socket down.
    pub(crate) fn shutdown(&mut self) {
        #[cfg(feature = "tls")]
        if let Transport::Tls(t) = self {
            t.tls.send_close_notify();
            let _ = t.write_records();
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

#[cfg(feature = "tls")]
impl TlsStream {
    fn write_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn failure(&self, error: rustls::Error) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            TlsFailure {
                name: self.name.clone(),
                error,
            },
        )
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The socket ended without a close_notify. AMI messages
                // carry their own end, so this is an end of input as a
                // plain socket's would be.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.eof {
                return Ok(0);
            }
            match self.tls.read_tls(&mut self.tcp) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(error) = self.tls.process_new_packets() {
                // Tell the peer why (the alert rustls queued), then fail.
                let _ = self.write_records();
                return Err(self.failure(error));
            }
            // Handshake messages to answer go out now: the shell may have
            // no AMI output to write. A socket that fails here fails the
            // shell's next flush too; what was read is handed over first.
            let _ = self.write_records();
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            let n = self.tls.writer().write(buf)?;
            if n > 0 || buf.is_empty() {
                // The `n` bytes are rustls' now: report them written, or the
                // caller would hand them over twice. A socket still
                // connecting, full or broken keeps the records for the
                // shell's next flush, which reports a failure.
                let _ = self.write_records();
                return Ok(n);
            }
            // rustls' buffer is full: move records to the socket first.
            if !self.tls.wants_write() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.write_records()?;
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Transport::flush(self)
    }
}

impl Source for Transport {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.tcp_mut().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.tcp_mut().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.tcp_mut().deregister(registry)
    }
}
