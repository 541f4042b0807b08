//! Replay: serve a recorded [`Transcript`] to clients, as the PBX did.
//!
//! [`ReplaySession`] is the sans-IO core for one connection (request bytes
//! and `now` in, recorded bytes out when they are due) and [`ReplayServer`]
//! the listener that gives successive client connections the successive
//! connections of the transcript, in the caller's loop (it is a [`Drive`]
//! source) or on its own ([`ReplayServer::run`]).
//!
//! Each request the client sends is matched with the first recorded request
//! not yet used that has the same `Action:` (ignoring case); when several
//! have, the first whose other fields are all the same (apart from
//! `ActionID`, `Secret` and `Key`) wins. What the server sent after that
//! recorded request (the response, list events, unsolicited events, its
//! close) is sent back, exactly as recorded except for `ActionID:` values:
//! those of a recorded request are replaced by the client's. A `Login` is
//! matched whatever its secret (the recording's is redacted anyway), and
//! gets the recorded answer. A request the recording has no match for is a
//! [`Mismatch`]: it is kept for the test to read, and the client gets
//! `Response: Error` with a `Message:` saying so.
//!
//! Requests are told apart by their empty line, so a recorded client that
//! pipelined several requests in one write gets the answers to all of them
//! after the last one.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};

use super::transcript::{self, Connection, Direction, RecordKind, Transcript};
use crate::driver::{Drive, Driver};

/// How recorded delays are kept.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Timing {
    /// As recorded: each chunk goes out as long after the client's request
    /// as it did in the recording.
    Keep,
    /// Recorded delays times this factor (0.5: twice as fast).
    Scaled(f64),
    /// No delays: everything is sent as soon as it is due by order.
    #[default]
    Drop,
}

impl Timing {
    fn delay(self, d: Duration) -> Duration {
        match self {
            Timing::Keep => d,
            Timing::Drop => Duration::ZERO,
            Timing::Scaled(f) => {
                Duration::try_from_secs_f64(d.as_secs_f64() * f).unwrap_or(if f > 0.0 {
                    Duration::MAX
                } else {
                    Duration::ZERO
                })
            }
        }
    }
}

/// `keep`, `drop`, or a factor for [`Timing::Scaled`] (`0.5`, `x0.5`), as a
/// command line would take it.
impl std::str::FromStr for Timing {
    type Err = String;
    fn from_str(s: &str) -> Result<Timing, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "keep" => Ok(Timing::Keep),
            "drop" | "none" => Ok(Timing::Drop),
            other => other
                .strip_prefix('x')
                .unwrap_or(other)
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(Timing::Scaled)
                .ok_or_else(|| format!("timing {s:?}: keep, drop, or a factor such as 0.5")),
        }
    }
}

/// A request the recording had no match for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The recorded connection being replayed (its number in the file).
    pub connection: u32,
    /// The request the client sent (secrets redacted).
    pub sent: String,
    /// The recording's next unused request, if any (secrets redacted).
    pub expected: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |s: &str| s.trim_end().replace("\r\n", "\n").replace('\n', "\n    ");
        write!(
            f,
            "replay of connection {}: the client sent\n    {}\n",
            self.connection,
            show(&self.sent)
        )?;
        match &self.expected {
            Some(e) => write!(f, "but the recording's next request is\n    {}", show(e)),
            None => write!(f, "but the recording has no request left"),
        }
    }
}

impl std::error::Error for Mismatch {}

/// One request: its bytes and headers.
#[derive(Clone, Debug)]
struct Request {
    /// The request's bytes up to and with its empty line.
    raw: Vec<u8>,
    /// Headers in order: lower-cased name, value (leading blanks dropped).
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Request {
    fn parse(raw: Vec<u8>) -> Request {
        let mut headers = Vec::new();
        for line in raw.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some((name, value)) = transcript::header(line) {
                headers.push((name.to_ascii_lowercase(), value.to_vec()));
            }
        }
        Request { raw, headers }
    }

    fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn action(&self) -> Vec<u8> {
        transcript::trim(self.get(b"action").unwrap_or_default()).to_ascii_lowercase()
    }

    fn action_id(&self) -> Option<&[u8]> {
        self.get(b"actionid")
    }

    /// The fields that tell two requests of one action apart.
    fn fields(&self) -> Vec<&(Vec<u8>, Vec<u8>)> {
        self.headers
            .iter()
            .filter(|(n, _)| !matches!(n.as_slice(), b"actionid" | b"secret" | b"key"))
            .collect()
    }

    fn shown(&self) -> String {
        String::from_utf8_lossy(&transcript::redact_request(&self.raw)).into_owned()
    }
}

/// Splits a client's byte stream into requests (each ends at an empty line).
#[derive(Default)]
struct RequestFramer {
    buf: Vec<u8>,
    /// Bytes of `buf` already scanned for the end.
    scanned: usize,
    /// Where the line being read starts.
    line_start: usize,
}

impl RequestFramer {
    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn next(&mut self) -> Option<Vec<u8>> {
        while let Some(i) = memchr::memchr(b'\n', &self.buf[self.scanned..]) {
            let end = self.scanned + i + 1;
            let line = &self.buf[self.line_start..end];
            let empty = line == b"\n" || line == b"\r\n";
            self.scanned = end;
            self.line_start = end;
            if empty {
                let req: Vec<u8> = self.buf.drain(..end).collect();
                self.scanned = 0;
                self.line_start = 0;
                return Some(req);
            }
        }
        self.scanned = self.buf.len();
        None
    }

    fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// What the server sent after one point, with delays from that point.
#[derive(Clone, Debug, Default)]
struct Block {
    items: Vec<(Duration, Item)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Data(Vec<u8>),
    Close,
}

/// A recorded connection, prepared: the greeting block, then each request
/// with the block that followed it.
#[derive(Clone, Debug)]
struct Script {
    id: u32,
    preamble: Block,
    steps: Vec<(Request, Block)>,
}

impl Script {
    fn new(conn: &Connection) -> Script {
        let mut script = Script {
            id: conn.id,
            preamble: Block::default(),
            steps: Vec::new(),
        };
        let mut framer = RequestFramer::default();
        let mut base = conn.opened;
        let mut greeted = false;
        for r in &conn.records {
            let block = match script.steps.last_mut() {
                Some((_, b)) => b,
                None => &mut script.preamble,
            };
            let after = r.at.saturating_sub(base);
            match &r.kind {
                RecordKind::Data(Direction::FromServer, bytes) if !greeted => {
                    greeted = true;
                    // The greeting is sent on connect, whether or not a
                    // (hasty) client's first request came before it.
                    let (greeting, rest) = split_greeting(bytes);
                    if !greeting.is_empty() {
                        let after = r.at.saturating_sub(conn.opened);
                        script
                            .preamble
                            .items
                            .push((after, Item::Data(greeting.to_vec())));
                    }
                    let block = match script.steps.last_mut() {
                        Some((_, b)) => b,
                        None => &mut script.preamble,
                    };
                    if !rest.is_empty() {
                        block.items.push((after, Item::Data(rest.to_vec())));
                    }
                }
                RecordKind::Data(Direction::FromServer, bytes) => {
                    block.items.push((after, Item::Data(bytes.clone())))
                }
                RecordKind::Eof(Direction::FromServer) => block.items.push((after, Item::Close)),
                RecordKind::Data(Direction::ToServer, bytes) => {
                    framer.push(bytes);
                    while let Some(req) = framer.next() {
                        base = r.at;
                        script.steps.push((Request::parse(req), Block::default()));
                    }
                }
                RecordKind::Eof(Direction::ToServer) | RecordKind::Open => {}
            }
        }
        script
    }
}

/// The greeting line at the start of `bytes` (`Asterisk Call Manager/...`), and the rest.
fn split_greeting(bytes: &[u8]) -> (&[u8], &[u8]) {
    let end = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1);
    let line = &bytes[..end];
    if line.windows(13).any(|w| w == b"Call Manager/") {
        (line, &bytes[end..])
    } else {
        (&[], bytes)
    }
}

/// Most bytes of one unfinished request a replay session keeps.
pub const MAX_REQUEST: usize = 64 * 1024;

/// Most mismatches one replay session keeps (later ones are answered, not kept).
pub const MAX_MISMATCHES: usize = 256;

/// Replays one recorded connection, with no I/O.
///
/// Feed the client's bytes to [`handle_input`](Self::handle_input), call
/// [`handle_timeout`](Self::handle_timeout) when
/// [`poll_timeout`](Self::poll_timeout) is reached, send
/// [`output`](Self::output) and [`consume_output`](Self::consume_output)
/// what was sent; close the connection once
/// [`is_closing`](Self::is_closing) and the output is empty.
#[derive(Debug)]
pub struct ReplaySession {
    script: Script,
    used: Vec<bool>,
    timing: Timing,
    framer_input: RequestFramer,
    queue: VecDeque<(Instant, Item)>,
    out: Vec<u8>,
    /// Recorded ActionID -> the client's (None: the client sent none).
    ids: HashMap<Vec<u8>, Option<Vec<u8>>>,
    mismatches: Vec<Mismatch>,
    closing: bool,
    matched: usize,
}

impl fmt::Debug for RequestFramer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes pending", self.pending())
    }
}

impl ReplaySession {
    /// A session replaying `conn`, opened at `now` (the greeting and
    /// anything sent before the first request are due from then).
    pub fn new(conn: &Connection, timing: Timing, now: Instant) -> ReplaySession {
        let script = Script::new(conn);
        let mut s = ReplaySession {
            used: vec![false; script.steps.len()],
            script,
            timing,
            framer_input: RequestFramer::default(),
            queue: VecDeque::new(),
            out: Vec::new(),
            ids: HashMap::new(),
            mismatches: Vec::new(),
            closing: false,
            matched: 0,
        };
        let pre = s.script.preamble.clone();
        s.schedule(&pre, None, now);
        s.handle_timeout(now);
        s
    }

    /// The recorded connection's number.
    pub fn connection(&self) -> u32 {
        self.script.id
    }

    /// Takes bytes the client sent, at `now`.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if self.closing {
            return;
        }
        self.framer_input.push(bytes);
        while let Some(req) = self.framer_input.next() {
            self.on_request(Request::parse(req), now);
        }
        if self.framer_input.pending() > MAX_REQUEST {
            let raw = std::mem::take(&mut self.framer_input.buf);
            self.framer_input = RequestFramer::default();
            let mut sent = String::from_utf8_lossy(&raw[..256.min(raw.len())]).into_owned();
            sent.push_str("... (a request longer than the replay's limit)");
            self.mismatches.push(Mismatch {
                connection: self.script.id,
                sent,
                expected: self.next_expected(),
            });
            self.queue_at(now, Item::Data(error_reply(None, "Request too long")));
            self.queue_at(now, Item::Close);
        }
        self.handle_timeout(now);
    }

    fn next_expected(&self) -> Option<String> {
        self.used
            .iter()
            .position(|u| !u)
            .map(|i| self.script.steps[i].0.shown())
    }

    fn on_request(&mut self, req: Request, now: Instant) {
        let action = req.action();
        let mut first = None;
        let mut exact = None;
        for (i, (rec, _)) in self.script.steps.iter().enumerate() {
            if self.used[i] || rec.action() != action {
                continue;
            }
            first.get_or_insert(i);
            if rec.fields() == req.fields() {
                exact = Some(i);
                break;
            }
        }
        let Some(i) = exact.or(first) else {
            let expected = self.next_expected();
            let message = format!(
                "Replay mismatch: got action {}, the recording expects {}",
                printable(&String::from_utf8_lossy(transcript::trim(
                    req.get(b"action").unwrap_or_default()
                ))),
                match self.used.iter().position(|u| !u) {
                    Some(i) => printable(&String::from_utf8_lossy(transcript::trim(
                        self.script.steps[i].0.get(b"action").unwrap_or_default()
                    ))),
                    None => "nothing more".to_owned(),
                }
            );
            if self.mismatches.len() < MAX_MISMATCHES {
                self.mismatches.push(Mismatch {
                    connection: self.script.id,
                    sent: req.shown(),
                    expected,
                });
            }
            self.queue_at(now, Item::Data(error_reply(req.action_id(), &message)));
            return;
        };
        self.used[i] = true;
        self.matched += 1;
        let recorded = self.script.steps[i].0.action_id().map(<[u8]>::to_vec);
        let client = req.action_id().map(<[u8]>::to_vec);
        let insert = match &recorded {
            Some(r) => {
                self.ids.insert(r.clone(), client);
                None
            }
            None => client,
        };
        let block = self.script.steps[i].1.clone();
        self.schedule(&block, insert, now);
    }

    fn queue_at(&mut self, at: Instant, item: Item) {
        let at = self.queue.back().map_or(at, |(last, _)| at.max(*last));
        self.queue.push_back((at, item));
    }

    /// Queues a block from `now`, its ActionIDs rewritten.
    fn schedule(&mut self, block: &Block, insert: Option<Vec<u8>>, now: Instant) {
        let data: Vec<&[u8]> = block
            .items
            .iter()
            .filter_map(|(_, i)| match i {
                Item::Data(d) => Some(d.as_slice()),
                Item::Close => None,
            })
            .collect();
        let mut rewritten = rewrite(&data, &self.ids, insert.as_deref()).into_iter();
        for (after, item) in &block.items {
            let at = now
                .checked_add(self.timing.delay(*after))
                .unwrap_or(now + Duration::from_secs(86_400 * 365));
            let item = match item {
                Item::Data(_) => Item::Data(rewritten.next().unwrap_or_default()),
                Item::Close => Item::Close,
            };
            self.queue_at(at, item);
        }
    }

    /// Moves what is due at `now` to the output.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, _)) = self.queue.front() {
            if *at > now || self.closing {
                break;
            }
            match self.queue.pop_front().map(|(_, i)| i) {
                Some(Item::Data(d)) => self.out.extend_from_slice(&d),
                Some(Item::Close) => self.closing = true,
                None => {}
            }
        }
    }

    /// When the next recorded bytes are due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closing {
            return None;
        }
        self.queue.front().map(|(at, _)| *at)
    }

    /// Bytes to send to the client.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Drops the first `n` bytes of the output (sent).
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// The recording closed the connection here: close once the output is sent.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Requests the recording had no match for, so far.
    pub fn mismatches(&self) -> &[Mismatch] {
        &self.mismatches
    }

    /// Takes the mismatches reported so far.
    pub fn take_mismatches(&mut self) -> Vec<Mismatch> {
        std::mem::take(&mut self.mismatches)
    }

    /// How many requests were matched.
    pub fn matched(&self) -> usize {
        self.matched
    }

    /// Recorded requests never matched so far (secrets redacted).
    pub fn unplayed(&self) -> Vec<String> {
        self.script
            .steps
            .iter()
            .zip(&self.used)
            .filter(|(_, u)| !**u)
            .map(|((r, _), _)| r.shown())
            .collect()
    }
}

fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn error_reply(action_id: Option<&[u8]>, message: &str) -> Vec<u8> {
    let mut out = b"Response: Error\r\n".to_vec();
    if let Some(id) = action_id {
        out.extend_from_slice(b"ActionID: ");
        out.extend_from_slice(id);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Message: ");
    out.extend_from_slice(message.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// Rewrites the `ActionID:` lines of a block's chunks (keeping the chunk
/// boundaries where they were, or at the end of a rewritten line), and
/// inserts `ActionID: insert` after the first line of its first `Response:`.
fn rewrite(
    chunks: &[&[u8]],
    ids: &HashMap<Vec<u8>, Option<Vec<u8>>>,
    insert: Option<&[u8]>,
) -> Vec<Vec<u8>> {
    let whole: Vec<u8> = chunks.concat();
    let mut ends = Vec::with_capacity(chunks.len());
    let mut n = 0;
    for c in chunks {
        n += c.len();
        ends.push(n);
    }
    let mut out = Vec::with_capacity(whole.len());
    let mut new_ends = Vec::with_capacity(ends.len());
    let mut next_end = 0;
    let mut insert = insert;
    let mut at_message_start = true;
    let mut pos = 0;
    while pos < whole.len() {
        let end = memchr::memchr(b'\n', &whole[pos..]).map_or(whole.len(), |i| pos + i + 1);
        let line = &whole[pos..end];
        let body = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        let eol = &line[body.len()..];
        let mut replaced: Option<Vec<u8>> = None;
        if let Some((name, value)) = transcript::header(body) {
            if name.eq_ignore_ascii_case(b"actionid") && !eol.is_empty() {
                if let Some(to) = ids.get(value) {
                    let mut l = Vec::new();
                    if let Some(to) = to {
                        l.extend_from_slice(&body[..body.len() - value.len()]);
                        l.extend_from_slice(to);
                        l.extend_from_slice(eol);
                    }
                    replaced = Some(l);
                }
            }
        }
        let mut extra = Vec::new();
        if at_message_start && !eol.is_empty() {
            if let Some(id) = insert {
                if body.len() >= 9 && body[..9].eq_ignore_ascii_case(b"response:") {
                    extra.extend_from_slice(b"ActionID: ");
                    extra.extend_from_slice(id);
                    extra.extend_from_slice(eol);
                    insert = None;
                }
            }
        }
        at_message_start = body.is_empty() && !eol.is_empty();
        let line_out_start = out.len();
        match &replaced {
            Some(l) => out.extend_from_slice(l),
            None => out.extend_from_slice(line),
        }
        out.extend_from_slice(&extra);
        // Chunk ends inside or at the end of this line.
        while next_end < ends.len() && ends[next_end] <= end {
            let e = ends[next_end];
            let mapped = if e == end || replaced.is_some() {
                out.len()
            } else {
                line_out_start + (e - pos)
            };
            new_ends.push(mapped);
            next_end += 1;
        }
        pos = end;
    }
    while new_ends.len() < chunks.len() {
        new_ends.push(out.len());
    }
    let mut result = Vec::with_capacity(chunks.len());
    let mut start = 0;
    for e in new_ends {
        let e = e.max(start);
        result.push(out[start..e].to_vec());
        start = e;
    }
    if let Some(last) = result.last_mut() {
        last.extend_from_slice(&out[start..]);
    }
    result
}

const INTEREST: Interest = Interest::READABLE.add(Interest::WRITABLE);

struct Client {
    stream: TcpStream,
    session: ReplaySession,
    blocked: bool,
    /// The client closed its side.
    eof: bool,
}

/// Serves a transcript: client connection `n` gets the transcript's
/// connection `n`. See the [module docs](self).
///
/// As a [`Drive`] source it uses the base token for the listener and
/// `base + 1 + i` for client `i`, at most [`ReplayServer::MAX_CLIENTS`] at once.
pub struct ReplayServer {
    listener: TcpListener,
    transcript: Transcript,
    timing: Timing,
    next: usize,
    clients: Vec<Option<Client>>,
    base: Token,
    buf: Vec<u8>,
    mismatches: Vec<Mismatch>,
    extra: usize,
    unplayed: Vec<(u32, Vec<String>)>,
}

impl fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayServer")
            .field("addr", &self.listener.local_addr().ok())
            .field("connections", &self.transcript.connections.len())
            .field("served", &self.next)
            .finish_non_exhaustive()
    }
}

impl ReplayServer {
    /// Most clients connected at once.
    pub const MAX_CLIENTS: usize = 64;

    /// Listens on `addr` (port 0: any free port) to serve `transcript`.
    pub fn bind(addr: SocketAddr, transcript: Transcript, timing: Timing) -> io::Result<Self> {
        Ok(ReplayServer {
            listener: TcpListener::bind(addr)?,
            transcript,
            timing,
            next: 0,
            clients: Vec::new(),
            base: Token(0),
            buf: vec![0; 64 * 1024],
            mismatches: Vec::new(),
            extra: 0,
            unplayed: Vec::new(),
        })
    }

    /// Reads the transcript file at `path` and listens on `addr`.
    pub fn open(
        addr: SocketAddr,
        path: impl AsRef<std::path::Path>,
        timing: Timing,
    ) -> io::Result<Self> {
        let text = std::fs::read(path)?;
        let t = Transcript::parse(&text).map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
        Self::bind(addr, t, timing)
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How many client connections were given a recorded connection.
    pub fn served(&self) -> usize {
        self.next
    }

    /// Client connections beyond the transcript's (closed at once).
    pub fn extra_connections(&self) -> usize {
        self.extra
    }

    /// Every recorded connection was served and has ended.
    pub fn is_done(&self) -> bool {
        self.next >= self.transcript.connections.len() && self.clients.iter().all(Option::is_none)
    }

    /// Requests the recording had no match for, in every connection so far.
    pub fn mismatches(&self) -> Vec<Mismatch> {
        let mut all = self.mismatches.clone();
        for c in self.clients.iter().flatten() {
            all.extend_from_slice(c.session.mismatches());
        }
        all
    }

    /// For each ended connection with recorded requests the client never
    /// sent: its number and those requests (secrets redacted).
    pub fn unplayed(&self) -> &[(u32, Vec<String>)] {
        &self.unplayed
    }

    /// Takes the mismatches reported so far (they are not kept after).
    pub fn take_mismatches(&mut self) -> Vec<Mismatch> {
        let mut all = std::mem::take(&mut self.mismatches);
        for c in self.clients.iter_mut().flatten() {
            all.extend(c.session.take_mismatches());
        }
        all
    }

    /// Serves clients forever in a loop of its own (for a command line:
    /// print [`local_addr`](Self::local_addr), then call this).
    pub fn run(self) -> io::Result<()> {
        self.run_with(|_| {})
    }

    /// Like [`run`](Self::run), calling `report` with each mismatch as it
    /// happens (a command line prints it on stderr).
    pub fn run_with(self, mut report: impl FnMut(&Mismatch)) -> io::Result<()> {
        let mut driver = Driver::new()?;
        let me = driver.add(self)?;
        loop {
            driver.poll(None)?;
            for m in driver.get_mut(me).take_mismatches() {
                report(&m);
            }
        }
    }

    fn accept(&mut self, registry: &Registry) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let Some(conn) = self.transcript.connections.get(self.next) else {
                        self.extra += 1;
                        continue;
                    };
                    let slot = match self.clients.iter().position(Option::is_none) {
                        Some(i) => i,
                        None if self.clients.len() < Self::MAX_CLIENTS => {
                            self.clients.push(None);
                            self.clients.len() - 1
                        }
                        None => continue,
                    };
                    if registry
                        .register(&mut stream, Token(self.base.0 + 1 + slot), INTEREST)
                        .is_err()
                    {
                        continue;
                    }
                    self.next += 1;
                    let session = ReplaySession::new(conn, self.timing, Instant::now());
                    self.clients[slot] = Some(Client {
                        stream,
                        session,
                        blocked: false,
                        eof: false,
                    });
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn serve(&mut self, slot: usize, registry: &Registry) {
        let now = Instant::now();
        let mut failed = false;
        if let Some(Some(c)) = self.clients.get_mut(slot) {
            c.blocked = false;
            while !c.eof {
                match c.stream.read(&mut self.buf) {
                    Ok(0) => c.eof = true,
                    Ok(n) => c.session.handle_input(&self.buf[..n], now),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
        }
        if failed {
            self.drop_client(slot, registry);
        } else {
            self.flush(slot, registry, now);
        }
    }

    fn drop_client(&mut self, slot: usize, registry: &Registry) {
        if let Some(mut c) = self.clients[slot].take() {
            let _ = registry.deregister(&mut c.stream);
            self.mismatches.extend(c.session.take_mismatches());
            let left = c.session.unplayed();
            if !left.is_empty() {
                self.unplayed.push((c.session.connection(), left));
            }
        }
    }

    fn flush(&mut self, slot: usize, registry: &Registry, now: Instant) {
        let Some(Some(c)) = self.clients.get_mut(slot) else {
            return;
        };
        c.session.handle_timeout(now);
        let mut failed = false;
        while !c.session.output().is_empty() {
            match c.stream.write(c.session.output()) {
                Ok(n) => c.session.consume_output(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    c.blocked = true;
                    break;
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let drained = c.session.output().is_empty();
        // A client that closed is done once what it asked for is sent
        // (nothing recorded for later can matter to it any more).
        let client_done = c.eof && c.session.poll_timeout().is_none();
        if failed || (drained && (c.session.is_closing() || client_done)) {
            self.drop_client(slot, registry);
        }
    }
}

impl Drive for ReplayServer {
    fn token_count(&self) -> usize {
        1 + Self::MAX_CLIENTS
    }

    fn attach(&mut self, registry: &Registry, base: Token) -> io::Result<()> {
        registry.register(&mut self.listener, base, Interest::READABLE)?;
        for (slot, c) in self.clients.iter_mut().enumerate() {
            if let Some(c) = c {
                registry.register(&mut c.stream, Token(base.0 + 1 + slot), INTEREST)?;
            }
        }
        self.base = base;
        Ok(())
    }

    fn detach(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.listener)?;
        for c in self.clients.iter_mut().flatten() {
            registry.deregister(&mut c.stream)?;
        }
        Ok(())
    }

    fn ready(&mut self, registry: &Registry, event: &Event) {
        match event.token().0.checked_sub(self.base.0) {
            Some(0) => self.accept(registry),
            Some(n) if n <= self.clients.len() => self.serve(n - 1, registry),
            _ => {}
        }
    }

    fn has_work(&self, now: Instant) -> bool {
        self.clients.iter().flatten().any(|c| {
            let due = c.session.poll_timeout().is_some_and(|t| t <= now);
            let unsent = !c.session.output().is_empty();
            let idle = c.session.poll_timeout().is_none();
            ((due || unsent) && !c.blocked)
                || (!unsent && (c.session.is_closing() || (c.eof && idle)))
        })
    }

    fn work(&mut self, registry: &Registry, now: Instant) {
        for slot in 0..self.clients.len() {
            if self.clients[slot].as_ref().is_some_and(|c| !c.blocked) {
                self.flush(slot, registry, now);
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.clients
            .iter()
            .flatten()
            .filter_map(|c| c.session.poll_timeout())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emu::transcript::Record;

    fn conn(records: &[(u64, Direction, &[u8])]) -> Connection {
        Connection {
            id: 1,
            opened: Duration::ZERO,
            records: records
                .iter()
                .map(|(ms, d, b)| Record {
                    conn: 1,
                    at: Duration::from_millis(*ms),
                    kind: RecordKind::Data(*d, b.to_vec()),
                })
                .collect(),
        }
    }

    use Direction::{FromServer as S, ToServer as C};

    #[test]
    fn answers_with_the_clients_action_id_and_keeps_timing() {
        let c = conn(&[
            (0, S, b"Asterisk Call Manager/11.0.0\r\n"),
            (10, C, b"Action: Ping\r\nActionID: rec-1\r\n\r\n"),
            (12, S, b"Response: Success\r\nActionID: rec-1\r\n"),
            (15, S, b"Ping: Pong\r\n\r\n"),
            (20, C, b"Action: Ping\r\n\r\n"),
            (20, S, b"Response: Success\r\nPing: Pong\r\n\r\n"),
        ]);
        let t0 = Instant::now();
        let mut s = ReplaySession::new(&c, Timing::Keep, t0);
        assert_eq!(s.output(), b"Asterisk Call Manager/11.0.0\r\n");
        s.consume_output(100);
        let t1 = t0 + Duration::from_secs(1);
        s.handle_input(b"action: ping\r\nActionID: mine\r\n\r\n", t1);
        assert!(s.output().is_empty());
        assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_millis(2)));
        s.handle_timeout(t1 + Duration::from_millis(2));
        assert_eq!(s.output(), b"Response: Success\r\nActionID: mine\r\n");
        s.handle_timeout(t1 + Duration::from_millis(5));
        s.consume_output(1000);
        s.handle_input(b"Action: Ping\r\nActionID: x\r\n\r\n", t1);
        s.handle_timeout(t1 + Duration::from_millis(5));
        assert_eq!(
            s.output(),
            b"Response: Success\r\nActionID: x\r\nPing: Pong\r\n\r\n"
        );
        assert!(s.mismatches().is_empty());
    }

    #[test]
    fn a_mismatch_is_reported_and_answered() {
        let c = conn(&[
            (10, C, b"Action: Login\r\nSecret: ********\r\n\r\n"),
            (12, S, b"Response: Success\r\n\r\n"),
            (20, C, b"Action: Ping\r\nActionID: 2\r\n\r\n"),
        ]);
        let now = Instant::now();
        let mut s = ReplaySession::new(&c, Timing::Drop, now);
        s.handle_input(b"Action: Login\r\nSecret: real\r\n\r\n", now);
        assert_eq!(s.output(), b"Response: Success\r\n\r\n");
        s.consume_output(100);
        s.handle_input(b"Action: Status\r\nActionID: 7\r\n\r\n", now);
        let out = String::from_utf8(s.output().to_vec()).unwrap();
        assert_eq!(
            out,
            "Response: Error\r\nActionID: 7\r\nMessage: Replay mismatch: got action Status, \
             the recording expects Ping\r\n\r\n"
        );
        let m = &s.mismatches()[0];
        assert!(m.sent.starts_with("Action: Status"));
        assert_eq!(
            m.expected.as_deref(),
            Some("Action: Ping\r\nActionID: 2\r\n\r\n")
        );
        assert!(m.to_string().contains("next request is"));
        assert_eq!(s.unplayed().len(), 1);
        // A second login has no match: its secret stays out of the report.
        s.handle_input(b"Action: Login\r\nUsername: a\r\nSecret: pw\r\n\r\n", now);
        let m = &s.mismatches()[1];
        assert_eq!(
            m.sent,
            "Action: Login\r\nUsername: a\r\nSecret: ********\r\n\r\n"
        );
        assert!(!m.to_string().contains("pw"));
    }

    #[test]
    fn fields_pick_among_requests_of_one_action() {
        let c = conn(&[
            (0, C, b"Action: DBGet\r\nActionID: a\r\nKey: one\r\n\r\n"),
            (0, S, b"Response: Success\r\nActionID: a\r\nVal: 1\r\n\r\n"),
            (0, C, b"Action: DBGet\r\nActionID: b\r\nKey: two\r\n\r\n"),
            (0, S, b"Response: Success\r\nActionID: b\r\nVal: 2\r\n\r\n"),
        ]);
        let now = Instant::now();
        let mut s = ReplaySession::new(&c, Timing::Drop, now);
        // Key is a field here (only Login's Key is a secret, but it is never compared).
        s.handle_input(b"Action: DBGet\r\nActionID: z\r\nKey: two\r\n\r\n", now);
        assert_eq!(
            s.output(),
            b"Response: Success\r\nActionID: z\r\nVal: 1\r\n\r\n"
        );
    }

    #[test]
    fn rewrite_keeps_chunk_ends() {
        let mut ids = HashMap::new();
        ids.insert(b"r1".to_vec(), Some(b"client-1".to_vec()));
        ids.insert(b"r2".to_vec(), None);
        let chunks: [&[u8]; 3] = [
            b"Event: X\r\nAction",
            b"ID: r1\r\n\r\nResponse: Success\r\n",
            b"ActionID: r2\r\n\r\n",
        ];
        let out = rewrite(&chunks, &ids, Some(b"new"));
        assert_eq!(
            out,
            vec![
                // The first chunk ended inside a rewritten line: now at its end.
                b"Event: X\r\nActionID: client-1\r\n".to_vec(),
                b"\r\nResponse: Success\r\nActionID: new\r\n".to_vec(),
                b"\r\n".to_vec()
            ]
        );
    }

    #[test]
    fn the_greeting_comes_first_even_after_a_hasty_request() {
        let c = conn(&[
            (1, C, b"Action: Ping\r\nActionID: r\r\n\r\n"),
            (2, S, b"Asterisk Call Manager/11.0.0\r\n"),
            (3, S, b"Response: Success\r\nActionID: r\r\n\r\n"),
        ]);
        let now = Instant::now();
        let mut s = ReplaySession::new(&c, Timing::Drop, now);
        assert_eq!(s.output(), b"Asterisk Call Manager/11.0.0\r\n");
        s.consume_output(100);
        s.handle_input(b"Action: Ping\r\nActionID: m\r\n\r\n", now);
        assert_eq!(s.output(), b"Response: Success\r\nActionID: m\r\n\r\n");
    }

    #[test]
    fn client_input_split_anywhere_gets_the_same_answers() {
        let c = conn(&[
            (0, S, b"Asterisk Call Manager/11.0.0\r\n"),
            (
                1,
                C,
                b"Action: Login\r\nActionID: 1\r\nSecret: ********\r\n\r\n",
            ),
            (1, S, b"Response: Success\r\nActionID: 1\r\n\r\n"),
            (2, C, b"Action: DBGet\r\nActionID: 2\r\nKey: a\r\n\r\n"),
            (2, S, b"Response: Error\r\nActionID: 2\r\n\r\n"),
            (3, C, b"\r\n"),
            (
                3,
                S,
                b"Response: Error\r\nMessage: Missing action in request\r\n\r\n",
            ),
        ]);
        let input: &[u8] = b"Action: Login\nActionID: L\nSecret: x\n\nAction: DBGet\r\nActionID: D\r\nKey: a\r\n\r\n\r\n";
        let now = Instant::now();
        let whole = {
            let mut s = ReplaySession::new(&c, Timing::Drop, now);
            s.handle_input(input, now);
            s.output().to_vec()
        };
        assert_eq!(
            String::from_utf8_lossy(&whole),
            "Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: L\r\n\r\n\
             Response: Error\r\nActionID: D\r\n\r\n\
             Response: Error\r\nMessage: Missing action in request\r\n\r\n"
        );
        for cut in 0..=input.len() {
            let mut s = ReplaySession::new(&c, Timing::Drop, now);
            s.handle_input(&input[..cut], now);
            s.handle_input(&input[cut..], now);
            assert_eq!(s.output(), &whole[..], "cut at {cut}");
            assert!(s.mismatches().is_empty());
        }
        let mut s = ReplaySession::new(&c, Timing::Drop, now);
        for b in input {
            s.handle_input(std::slice::from_ref(b), now);
        }
        assert_eq!(s.output(), &whole[..]);
    }

    #[test]
    fn timing_reads_from_a_command_line() {
        assert_eq!("keep".parse(), Ok(Timing::Keep));
        assert_eq!("Drop".parse(), Ok(Timing::Drop));
        assert_eq!("x0.5".parse(), Ok(Timing::Scaled(0.5)));
        assert_eq!("2".parse(), Ok(Timing::Scaled(2.0)));
        assert!("-1".parse::<Timing>().is_err());
        assert!("fast".parse::<Timing>().is_err());
        assert_eq!(
            Timing::Scaled(1e300).delay(Duration::from_secs(5)),
            Duration::MAX
        );
    }

    #[test]
    fn a_recorded_close_closes() {
        let mut c = conn(&[
            (0, C, b"Action: Logoff\r\n\r\n"),
            (1, S, b"Response: Goodbye\r\n\r\n"),
        ]);
        c.records.push(Record {
            conn: 1,
            at: Duration::from_millis(2),
            kind: RecordKind::Eof(S),
        });
        let now = Instant::now();
        let mut s = ReplaySession::new(&c, Timing::Scaled(0.0), now);
        s.handle_input(b"Action: Logoff\r\n\r\n", now);
        assert!(s.is_closing());
        assert_eq!(s.output(), b"Response: Goodbye\r\n\r\n");
    }
}
