//! Shared by the emulator's integration tests: the emulator on a thread of
//! its own, and a raw AMI client over a blocking socket.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use asterisk_io::emu::{Emulator, EmulatorConfig};

/// The emulator, polled on its own thread until dropped.
pub struct EmuThread {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl EmuThread {
    pub fn start(config: impl FnOnce() -> EmulatorConfig + Send + 'static) -> EmuThread {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = thread::spawn(move || {
            let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config()).unwrap();
            tx.send(emu.local_addr().unwrap()).unwrap();
            while !s.load(Ordering::Relaxed) {
                emu.poll(Some(Duration::from_millis(5))).unwrap();
            }
        });
        EmuThread {
            addr: rx.recv().unwrap(),
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for EmuThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub type Block = Vec<(String, String)>;

/// A raw client: writes request text, reads blocks.
pub struct Raw {
    pub stream: TcpStream,
    pub buf: Vec<u8>,
    pub eof: bool,
    pub reads: usize,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Raw {
            stream,
            buf: Vec::new(),
            eof: false,
            reads: 0,
        }
    }

    pub fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).unwrap();
    }

    pub fn login(&mut self, user: &str, secret: &str, events: Option<&str>) -> Block {
        let mut req =
            format!("Action: Login\r\nActionID: login\r\nUsername: {user}\r\nSecret: {secret}\r\n");
        if let Some(e) = events {
            req.push_str(&format!("Events: {e}\r\n"));
        }
        req.push_str("\r\n");
        self.send(&req);
        self.until(|b| b.iter().any(|h| h.0 == "ActionID" && h.1 == "login"), 5)
            .pop()
            .unwrap()
    }

    /// Reads once (up to the read timeout); false at the end of the stream.
    pub fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.reads += 1;
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                true
            }
            Err(_) => {
                self.eof = true;
                false
            }
        }
    }

    /// Takes the next whole block (the greeting line counts as one).
    pub fn next_block(&mut self) -> Option<Block> {
        if self.buf.starts_with(b"Asterisk Call Manager/") {
            let end = self.buf.windows(2).position(|w| w == b"\r\n")?;
            let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            self.buf.drain(..end + 2);
            return Some(vec![("Greeting".into(), line)]);
        }
        let end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let text = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        Some(
            text.split("\r\n")
                .map(|l| {
                    let (k, v) = l.split_once(": ").unwrap_or((l, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
        )
    }

    /// Blocks up to and including the first one `done` accepts.
    pub fn until(&mut self, mut done: impl FnMut(&Block) -> bool, secs: u64) -> Vec<Block> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut got = Vec::new();
        loop {
            while let Some(b) = self.next_block() {
                let stop = done(&b);
                got.push(b);
                if stop {
                    return got;
                }
            }
            assert!(
                Instant::now() < deadline && !self.eof,
                "gave up waiting; got {got:#?}, eof {}, left {:?}",
                self.eof,
                String::from_utf8_lossy(&self.buf)
            );
            self.fill();
        }
    }

    /// Every block that arrives within `ms` milliseconds.
    pub fn drain(&mut self, ms: u64) -> Vec<Block> {
        let deadline = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < deadline && !self.eof {
            self.fill();
        }
        let mut got = Vec::new();
        while let Some(b) = self.next_block() {
            got.push(b);
        }
        got
    }

    /// Reads to the end of the stream (or `secs`); true when it ended.
    pub fn read_to_eof(&mut self, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.eof && Instant::now() < deadline {
            self.fill();
        }
        self.eof
    }

    pub fn shutdown(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

pub fn get<'a>(b: &'a Block, k: &str) -> Option<&'a str> {
    b.iter().find(|h| h.0 == k).map(|h| h.1.as_str())
}

pub fn is_event(b: &Block, name: &str) -> bool {
    b.first().is_some_and(|h| h.0 == "Event" && h.1 == name)
}

pub fn has_id(b: &Block, id: &str) -> bool {
    b.iter().any(|h| h.0 == "ActionID" && h.1 == id)
}

pub fn names(bs: &[Block]) -> Vec<String> {
    bs.iter()
        .filter(|b| b.first().is_some_and(|h| h.0 == "Event"))
        .map(|b| b[0].1.clone())
        .collect()
}
