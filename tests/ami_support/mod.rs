//! Helpers shared by the AMI test files: fixtures, a naive reference parser,
//! and a driver that replays a recording through a sans-IO `Connection`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use asterisk_io::ami::codec::{Frame, Framer, FramerConfig, Status};
use asterisk_io::ami::{
    Action, ActionId, ActionResult, Connection, Error, Input, Message, OwnedMessage, Skipped,
};
use asterisk_io::emu::{Emulator, EmulatorConfig};

/// A message as an ordered list of `(key, value)` byte strings.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The bytes of `tests/fixtures/ami/NAME`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/ami/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every recording of the server side used by the replay tests.
pub const RECORDINGS: &[&str] = &[
    "ami-agi-script-events",
    "ami-command-dialplan",
    "ami-command-misc",
    "ami-command-version",
    "ami-coresettings-corestatus",
    "ami-coreshowchannels",
    "ami-db",
    "ami-events-toggle",
    "ami-fastagi-events",
    "ami-framing-quirks",
    "ami-getconfig",
    "ami-getvar-setvar",
    "ami-hangup-action",
    "ami-listcommands",
    "ami-login",
    "ami-login-badpass",
    "ami-login-baduser",
    "ami-login-md5",
    "ami-login-md5-bad",
    "ami-logoff",
    "ami-originate-events",
    "ami-originate-exten-events",
    "ami-originate-failure-events",
    "ami-originate-sync",
    "ami-permission-denied",
    "ami-ping",
    "ami-status",
    "ami-unauthenticated",
    "ami-unknown-action",
    "ami-userevent",
];

pub const GREETING: &[u8] = b"Asterisk Call Manager/";

/// Splits a recording into sessions: each starts at a greeting line (a file
/// may hold several sessions; one recorded mid-stream has no greeting).
/// Returns `(greeting line or empty, body)` pairs.
pub fn sessions(bytes: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut starts = Vec::new();
    let mut at_line_start = true;
    for i in 0..bytes.len() {
        if at_line_start && bytes[i..].starts_with(GREETING) {
            starts.push(i);
        }
        at_line_start = bytes[i] == b'\n';
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let mut out = Vec::new();
    for (n, &s) in starts.iter().enumerate() {
        let e = starts.get(n + 1).copied().unwrap_or(bytes.len());
        let part = &bytes[s..e];
        if part.starts_with(GREETING) {
            let nl = part.iter().position(|&b| b == b'\n').unwrap() + 1;
            out.push((&part[..nl], &part[nl..]));
        } else {
            out.push((&part[..0], part));
        }
    }
    out
}

/// The naive reference: lines split on `\n` (a trailing `\r` dropped), a
/// blank line ends a non-empty message, blank lines between messages are
/// skipped, each line splits at its first colon and loses one space after it.
/// Lines without a colon make the message `None` (malformed).
pub fn reference_parse(bytes: &[u8]) -> Vec<Option<Pairs>> {
    let mut out = Vec::new();
    let mut cur: Pairs = Vec::new();
    let mut bad = false;
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // The piece after the last '\n' is an unterminated line: not a complete message.
    lines.pop();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if !cur.is_empty() || bad {
                out.push(if bad {
                    None
                } else {
                    Some(std::mem::take(&mut cur))
                });
                cur.clear();
                bad = false;
            }
            continue;
        }
        match line.iter().position(|&b| b == b':') {
            Some(c) => {
                let v = &line[c + 1..];
                let v = v.strip_prefix(b" ").unwrap_or(v);
                cur.push((line[..c].to_vec(), v.to_vec()));
            }
            None => bad = true,
        }
    }
    out
}

pub fn pairs_of(m: &Message<'_>) -> Pairs {
    m.iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

pub fn owned_pairs(m: &OwnedMessage) -> Pairs {
    pairs_of(&m.view())
}

/// Checks that `m` equals `want`, without allocating.
pub fn same(m: &Message<'_>, want: &Pairs) -> bool {
    m.len() == want.len()
        && m.iter()
            .zip(want)
            .all(|((k, v), (wk, wv))| k.as_bytes() == &wk[..] && v.as_bytes() == &wv[..])
}

/// Runs the framer over `chunks` fed one after another, checking each
/// message against `want` in order; returns how many matched (panics on a mismatch).
pub fn frame_chunks(chunks: &[&[u8]], want: &[Option<Pairs>], max: usize, what: &str) -> usize {
    let mut f = Framer::new(FramerConfig::default().max_message_size(max));
    let mut buf: Vec<u8> = Vec::new();
    let mut at = 0;
    let mut n = 0;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Status::Complete(frame) = f.advance(&buf[at..], false) {
            match frame {
                Frame::Message { len } => {
                    let m =
                        Message::new(&buf[at..at + len], f.headers()).expect("framer index fits");
                    match want.get(n) {
                        Some(Some(w)) if same(&m, w) => {}
                        other => panic!("{what}: message {n}: got {m:?}, want {other:?}"),
                    }
                    n += 1;
                    at += len;
                }
                Frame::Malformed { len, .. } => {
                    assert_eq!(want.get(n), Some(&None), "{what}: message {n} malformed");
                    n += 1;
                    at += len;
                }
                Frame::Skip { len } | Frame::Oversized { len } => at += len,
                Frame::LegacyCommand { .. } => panic!("{what}: legacy frame not asked for"),
            }
        }
    }
    n
}

/// What a connection handed out, detached from its buffer.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Got {
    Event(OwnedMessage),
    Done(ActionId, Result<ActionResult, Error>),
    Unmatched(OwnedMessage),
    Skipped(Skipped),
}

/// Drains every available input of `conn`.
pub fn drain(conn: &mut Connection, into: &mut Vec<Got>) {
    while let Some(input) = conn.next_input() {
        into.push(match input {
            Input::Event(e) => Got::Event(e.to_owned()),
            Input::Done(id, r) => Got::Done(id, r.map(|b| *b)),
            Input::Unmatched(m) => Got::Unmatched(m.to_owned()),
            Input::Skipped(e) => Got::Skipped(e),
        });
    }
}

/// Splits the server's bytes after the greeting into blocks, each ending
/// with its blank line (the recordings are clean CRLF).
pub fn blocks(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut s = 0;
    let mut i = 0;
    while i + 4 <= body.len() {
        if &body[i..i + 4] == b"\r\n\r\n" {
            out.push(&body[s..i + 4]);
            s = i + 4;
            i = s;
        } else {
            i += 1;
        }
    }
    if s < body.len() {
        out.push(&body[s..]);
    }
    out
}

/// The value of the first `key:` line of a block (ASCII case ignored).
pub fn header<'a>(block: &'a [u8], key: &str) -> Option<&'a [u8]> {
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(c) = line.iter().position(|&b| b == b':') {
            if line[..c].eq_ignore_ascii_case(key.as_bytes()) {
                let v = &line[c + 1..];
                return Some(v.strip_prefix(b" ").unwrap_or(v));
            }
        }
    }
    None
}

/// Which recorded ActionIDs are rewritten to the connection's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// Responses and events.
    All,
    /// Responses only: events keep their recorded ids (another session's).
    ResponsesOnly,
}

/// Replays one recorded session through a `Connection`, making the
/// connection's ActionIDs line up with the recording.
///
/// Each action the connection writes is matched with the next unmatched
/// recorded request of the same action name; the server's blocks are then
/// fed one at a time with `ActionID: lab-N` rewritten to the connection's id.
pub struct Replay {
    pub conn: Connection,
    /// Recorded requests: (action name, ActionID).
    tx: Vec<(String, String)>,
    tx_used: Vec<bool>,
    /// Recorded id -> the connection's id.
    pub map: HashMap<String, String>,
    /// Every request the connection wrote, as pairs.
    pub written: Vec<Pairs>,
    greeting: Vec<u8>,
    blocks: Vec<Vec<u8>>,
    next_block: usize,
    rewrite: Rewrite,
    pub got: Vec<Got>,
}

impl Replay {
    pub fn new(name: &str, rewrite: Rewrite) -> Replay {
        let rx = fixture(&format!("{name}.bin"));
        let tx = fixture(&format!("{name}.tx.bin"));
        let tx: Vec<(String, String)> = reference_parse(&tx)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let get = |k: &str| {
                    p.iter()
                        .find(|(pk, _)| pk.eq_ignore_ascii_case(k.as_bytes()))
                        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                };
                Some((get("Action")?, get("ActionID")?))
            })
            .collect();
        let s = sessions(&rx);
        assert_eq!(s.len(), 1, "{name}: one session per recording");
        let (greeting, body) = s[0];
        Replay {
            conn: Connection::default(),
            tx_used: vec![false; tx.len()],
            tx,
            map: HashMap::new(),
            written: Vec::new(),
            greeting: greeting.to_vec(),
            blocks: blocks(body).into_iter().map(<[u8]>::to_vec).collect(),
            next_block: 0,
            rewrite,
            got: Vec::new(),
        }
    }

    /// Reads what the connection wrote and lines its ids up with the recording.
    pub fn sync(&mut self) {
        let out = self.conn.pending_output().to_vec();
        self.conn.consume_output(out.len());
        for req in reference_parse(&out).into_iter().flatten() {
            let get = |k: &str| {
                req.iter()
                    .find(|(pk, _)| pk == k.as_bytes())
                    .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
                    .unwrap()
            };
            let (name, id) = (get("Action"), get("ActionID"));
            if let Some(i) = (0..self.tx.len()).find(|&i| !self.tx_used[i] && self.tx[i].0 == name)
            {
                self.tx_used[i] = true;
                self.map.insert(self.tx[i].1.clone(), id);
            }
            self.written.push(req);
        }
    }

    /// Marks a recorded request as one this replay does not send.
    pub fn skip(&mut self, lab_id: &str) {
        let i = self.tx.iter().position(|(_, id)| id == lab_id).unwrap();
        self.tx_used[i] = true;
    }

    pub fn send<A: Action + ?Sized>(&mut self, a: &A) -> ActionId {
        let id = self.conn.send(a).expect("action accepted");
        self.sync();
        id
    }

    pub fn login(&mut self, l: &asterisk_io::ami::actions::Login) -> ActionId {
        let id = self.conn.login(l).expect("login accepted");
        self.sync();
        id
    }

    fn rewrite_block(&self, block: &[u8]) -> Vec<u8> {
        let is_event = block.starts_with(b"Event:");
        if is_event && self.rewrite == Rewrite::ResponsesOnly {
            return block.to_vec();
        }
        let mut out = Vec::with_capacity(block.len() + 64);
        for line in block.split_inclusive(|&b| b == b'\n') {
            let body = line.strip_suffix(b"\r\n").unwrap_or(line);
            if let Some(v) = body.strip_prefix(b"ActionID: ") {
                if let Some(ours) = self.map.get(std::str::from_utf8(v).unwrap_or("")) {
                    out.extend_from_slice(b"ActionID: ");
                    out.extend_from_slice(ours.as_bytes());
                    out.extend_from_slice(&line[body.len()..]);
                    continue;
                }
            }
            out.extend_from_slice(line);
        }
        out
    }

    /// Feeds the greeting (once) and the next block; false when none is left.
    pub fn step(&mut self) -> bool {
        if !self.greeting.is_empty() {
            let g = std::mem::take(&mut self.greeting);
            self.conn.feed(&g);
            drain(&mut self.conn, &mut self.got);
        }
        let Some(block) = self.blocks.get(self.next_block) else {
            return false;
        };
        let bytes = self.rewrite_block(block);
        self.next_block += 1;
        self.conn.feed(&bytes);
        drain(&mut self.conn, &mut self.got);
        self.sync();
        true
    }

    /// Feeds blocks until `id` is done (panics if the recording ends first).
    pub fn until_done(&mut self, id: ActionId) {
        while !self
            .got
            .iter()
            .any(|g| matches!(g, Got::Done(d, _) if *d == id))
        {
            assert!(self.step(), "recording ended before {id} completed");
        }
    }

    /// Feeds the rest of the recording.
    pub fn run(&mut self) {
        while self.step() {}
    }

    /// Feeds the rest, then the server's close.
    pub fn run_to_eof(&mut self) {
        self.run();
        self.conn.feed_eof();
        drain(&mut self.conn, &mut self.got);
    }

    /// Takes the result of `id` (panics if it did not complete).
    pub fn result(&mut self, id: ActionId) -> Result<ActionResult, Error> {
        let i = self
            .got
            .iter()
            .position(|g| matches!(g, Got::Done(d, _) if *d == id))
            .unwrap_or_else(|| panic!("{id} did not complete: {:?}", self.got));
        match self.got.remove(i) {
            Got::Done(_, r) => r,
            _ => unreachable!(),
        }
    }

    pub fn events(&self) -> Vec<&OwnedMessage> {
        self.got
            .iter()
            .filter_map(|g| match g {
                Got::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    pub fn event_names(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e.get_str("Event").unwrap().to_owned())
            .collect()
    }

    pub fn errors(&self) -> Vec<&Skipped> {
        self.got
            .iter()
            .filter_map(|g| match g {
                Got::Skipped(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    pub fn unmatched(&self) -> Vec<&OwnedMessage> {
        self.got
            .iter()
            .filter_map(|g| match g {
                Got::Unmatched(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// The recorded request with ActionID `lab_id`, as pairs without `ActionID`.
    pub fn recorded_request(name: &str, lab_id: &str) -> Pairs {
        let tx = fixture(&format!("{name}.tx.bin"));
        reference_parse(&tx)
            .into_iter()
            .flatten()
            .find(|p| {
                p.iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(b"ActionID") && v == lab_id.as_bytes())
            })
            .map(|p| {
                p.into_iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case(b"ActionID"))
                    .collect()
            })
            .unwrap_or_else(|| panic!("{name}: no request {lab_id}"))
    }

    /// What the connection wrote for the request mapped from `lab_id`, without `ActionID`.
    pub fn written_request(&self, lab_id: &str) -> Pairs {
        let ours = &self.map[lab_id];
        self.written
            .iter()
            .find(|p| {
                p.iter()
                    .any(|(k, v)| k == b"ActionID" && v == ours.as_bytes())
            })
            .map(|p| {
                p.iter()
                    .filter(|(k, _)| k != b"ActionID")
                    .cloned()
                    .collect()
            })
            .unwrap()
    }
}

/// Two requests carry the same fields: distinct keys in any order, repeated
/// keys in the same relative order (what Asterisk cares about).
#[track_caller]
pub fn assert_same_request(a: &Pairs, b: &Pairs, what: impl std::fmt::Display) {
    let norm = |p: &Pairs| {
        let mut v: Vec<(String, String)> = p
            .iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).to_ascii_lowercase(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    assert_eq!(norm(a), norm(b), "{what}");
}

/// The `ActionID:` of the last action `c` queued for writing.
pub fn last_action_id(c: &Connection) -> String {
    String::from_utf8_lossy(c.pending_output())
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("ActionID: "))
        .expect("an action was queued")
        .to_owned()
}

/// An emulator on its own thread, stopped on drop.
pub struct EmuThread {
    /// Where the emulator listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl EmuThread {
    /// Starts an emulator with the user `admin` / `s3cret`.
    pub fn start() -> EmuThread {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = thread::spawn(move || {
            let config = EmulatorConfig::default().user("admin", "s3cret");
            let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
            tx.send(emu.local_addr().unwrap()).unwrap();
            while !s.load(Ordering::Relaxed) {
                emu.poll(Some(Duration::from_millis(10))).unwrap();
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

/// CPU time this thread has used so far (Linux).
pub fn thread_cpu() -> std::time::Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    std::time::Duration::from_millis(ticks * 10)
}
