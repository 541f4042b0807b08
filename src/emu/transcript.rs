//! The transcript format: every connection a recording proxy saw, one
//! record per chunk of bytes, in a text file a person (or `grep`) can read.
//!
//! ```text
//! # asterisk-io transcript 1
//! 1 0.000000 open
//! 1 0.000412 << Asterisk Call Manager/11.0.0\r\n
//! 1 0.001020 >> Action: Login\r\nActionID: 1\r\nUsername: admin\r\nSecret: ********\r\n\r\n
//! 1 0.001384 << Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n
//! 1 0.002001 eof>>
//! 1 0.002230 eof<<
//! ```
//!
//! Each line is `CONN TIME KIND [DATA]`, separated by single spaces:
//!
//! - `CONN`: the connection's number (1, 2, ... in the order they were opened);
//! - `TIME`: seconds since the recording started (written with six
//!   decimals, or nine when the time is not a whole microsecond; read with
//!   up to nine);
//! - `KIND`: `open` (a client connected), `>>` (bytes the client sent to
//!   Asterisk), `<<` (bytes Asterisk sent to the client), `eof>>` (the client
//!   closed its side), `eof<<` (Asterisk closed its side);
//! - `DATA` (only after `>>` and `<<`): the chunk's bytes exactly as one
//!   `read` returned them, with `\r`, `\n`, `\t`, `\\` escaped, any other
//!   control byte and any byte that is not UTF-8 written `\xHH`, and a
//!   trailing space written `\x20` (so editors that trim lines do no harm).
//!
//! Lines starting with `#` and empty lines are comments. A raw CR at the
//! end of a line is ignored (a file saved with CRLF line ends still reads).
//! Connections interleave in the file in the order things happened.
//!
//! The values of `Secret:` (in any request) and of `Key:` in `Login`
//! requests are replaced by [`REDACTED`]. To find them the recorder holds
//! back a client chunk that ends inside a line (or has a `Key:` line before
//! its request's `Action:`) until that is resolved, so such a chunk's line
//! may come after lines of other connections or of the server with later
//! times.

use std::fmt;
use std::time::Duration;

/// The first line a [`Recorder`] writes.
pub const HEADER: &str = "# asterisk-io transcript 1";

/// What replaces a `Login`'s `Secret:` or `Key:` value in a transcript.
pub const REDACTED: &str = "********";

/// Which way a chunk went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to Asterisk (`>>`).
    ToServer,
    /// From Asterisk to the client (`<<`).
    FromServer,
}

impl Direction {
    fn arrows(self) -> &'static str {
        match self {
            Direction::ToServer => ">>",
            Direction::FromServer => "<<",
        }
    }
}

/// What one record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A client connected.
    Open,
    /// A chunk of bytes went one way.
    Data(Direction, Vec<u8>),
    /// One side closed (its stream ended).
    Eof(Direction),
}

/// One line of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The connection's number (from 1).
    pub conn: u32,
    /// Time since the recording started.
    pub at: Duration,
    /// What happened.
    pub kind: RecordKind,
}

/// Appends `record` as one transcript line (with its `\n`) to `out`.
pub fn write_record(record: &Record, out: &mut Vec<u8>) {
    let nanos = record.at.subsec_nanos();
    let head = if nanos % 1000 == 0 {
        format!(
            "{} {}.{:06}",
            record.conn,
            record.at.as_secs(),
            nanos / 1000
        )
    } else {
        format!("{} {}.{:09}", record.conn, record.at.as_secs(), nanos)
    };
    out.extend_from_slice(head.as_bytes());
    match &record.kind {
        RecordKind::Open => out.extend_from_slice(b" open"),
        RecordKind::Eof(d) => {
            out.extend_from_slice(b" eof");
            out.extend_from_slice(d.arrows().as_bytes());
        }
        RecordKind::Data(d, data) => {
            out.push(b' ');
            out.extend_from_slice(d.arrows().as_bytes());
            out.push(b' ');
            escape_into(data, out);
        }
    }
    out.push(b'\n');
}

/// Appends `data` escaped as in a transcript's `DATA` field.
pub fn escape_into(data: &[u8], out: &mut Vec<u8>) {
    let mut rest = data;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => {
                let s = std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default();
                (s, e.error_len().unwrap_or(rest.len() - e.valid_up_to()))
            }
        };
        for c in valid.chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if c.is_control() => {
                    let mut b = [0; 4];
                    for byte in c.encode_utf8(&mut b).bytes() {
                        hex(byte, out);
                    }
                }
                c => {
                    let mut b = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        let skip = valid.len();
        for &byte in &rest[skip..skip + bad] {
            hex(byte, out);
        }
        rest = &rest[skip + bad..];
    }
    if out.last() == Some(&b' ') && !data.is_empty() {
        out.pop();
        out.extend_from_slice(b"\\x20");
    }
}

fn hex(byte: u8, out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'x',
        DIGITS[usize::from(byte >> 4)],
        DIGITS[usize::from(byte & 15)],
    ]);
}

/// A transcript line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("transcript line {line}: {kind}")]
pub struct ParseError {
    /// The line's number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub kind: ParseErrorKind,
}

/// What is wrong with a transcript line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The connection number is missing or not a number from 1.
    #[error("bad connection number")]
    BadConnection,
    /// The time is missing or not `SECONDS[.FRACTION]`.
    #[error("bad time")]
    BadTime,
    /// The kind is not `open`, `>>`, `<<`, `eof>>` or `eof<<`.
    #[error("unknown record kind {0:?}")]
    BadKind(String),
    /// An escape other than `\r`, `\n`, `\t`, `\\`, `\xHH`, at this column (from 1).
    #[error("bad escape at column {0}")]
    BadEscape(usize),
    /// Data after `open` or `eof`.
    #[error("data after a record kind that takes none")]
    UnexpectedData,
    /// A connection opened twice.
    #[error("connection {0} opened twice")]
    Reopened(u32),
    /// A record for a connection with no `open` before it.
    #[error("connection {0} used before its open")]
    NotOpen(u32),
}

/// Reads one transcript line (without its `\n`); `Ok(None)` for a comment
/// or an empty line. Checks the line alone (not that its connection is open).
pub fn parse_line(line: &[u8], number: usize) -> Result<Option<Record>, ParseError> {
    let err = |kind| ParseError { line: number, kind };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() || line[0] == b'#' {
        return Ok(None);
    }
    let mut fields = line.splitn(4, |&b| b == b' ');
    let conn = fields
        .next()
        .and_then(|f| std::str::from_utf8(f).ok())
        .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|f| f.parse::<u32>().ok())
        .filter(|&n| n > 0)
        .ok_or(err(ParseErrorKind::BadConnection))?;
    let at = fields
        .next()
        .and_then(parse_time)
        .ok_or(err(ParseErrorKind::BadTime))?;
    let kind = fields.next().unwrap_or_default();
    let data = fields.next();
    let data_start = line.len() - data.map_or(0, <[u8]>::len);
    let kind = match kind {
        b"open" | b"eof>>" | b"eof<<" if data.is_some() => {
            return Err(err(ParseErrorKind::UnexpectedData))
        }
        b"open" => RecordKind::Open,
        b"eof>>" => RecordKind::Eof(Direction::ToServer),
        b"eof<<" => RecordKind::Eof(Direction::FromServer),
        b">>" | b"<<" => {
            let dir = if kind == b">>" {
                Direction::ToServer
            } else {
                Direction::FromServer
            };
            let bytes = unescape(data.unwrap_or_default())
                .map_err(|col| err(ParseErrorKind::BadEscape(data_start + col + 1)))?;
            RecordKind::Data(dir, bytes)
        }
        other => {
            return Err(err(ParseErrorKind::BadKind(
                String::from_utf8_lossy(other).into_owned(),
            )))
        }
    };
    Ok(Some(Record { conn, at, kind }))
}

fn parse_time(f: &[u8]) -> Option<Duration> {
    let s = std::str::from_utf8(f).ok()?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if secs.is_empty() || !digits(secs) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u32>().ok()? * 10u32.pow(9 - frac.len() as u32)
    };
    Some(Duration::new(secs, nanos))
}

/// Undoes [`escape_into`]; on a bad escape, the offset of its backslash.
pub fn unescape(data: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let (byte, len) = match data.get(i + 1) {
            Some(b'r') => (b'\r', 2),
            Some(b'n') => (b'\n', 2),
            Some(b't') => (b'\t', 2),
            Some(b'\\') => (b'\\', 2),
            Some(b'x') => {
                let h = data.get(i + 2..i + 4).ok_or(i)?;
                let h = std::str::from_utf8(h).map_err(|_| i)?;
                if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(i);
                }
                (u8::from_str_radix(h, 16).map_err(|_| i)?, 4)
            }
            _ => return Err(i),
        };
        out.push(byte);
        i += len;
    }
    Ok(out)
}

/// One connection of a transcript, its records in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Connection {
    /// The connection's number in the file.
    pub id: u32,
    /// When it opened.
    pub opened: Duration,
    /// Its data and end records (not the `open`).
    pub records: Vec<Record>,
}

/// A whole transcript, its connections in the order they opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    /// The connections.
    pub connections: Vec<Connection>,
}

impl Transcript {
    /// Reads a transcript; the first bad line is the error.
    pub fn parse(text: &[u8]) -> Result<Transcript, ParseError> {
        let mut t = Transcript::default();
        let mut index = std::collections::HashMap::new();
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            let Some(record) = parse_line(line, n + 1)? else {
                continue;
            };
            let err = |kind| ParseError { line: n + 1, kind };
            match record.kind {
                RecordKind::Open => {
                    if index.contains_key(&record.conn) {
                        return Err(err(ParseErrorKind::Reopened(record.conn)));
                    }
                    index.insert(record.conn, t.connections.len());
                    t.connections.push(Connection {
                        id: record.conn,
                        opened: record.at,
                        records: Vec::new(),
                    });
                }
                _ => {
                    let i = *index
                        .get(&record.conn)
                        .ok_or(err(ParseErrorKind::NotOpen(record.conn)))?;
                    t.connections[i].records.push(record);
                }
            }
        }
        Ok(t)
    }

    /// Writes the transcript back in the file format (records grouped by
    /// connection; a recorder's file interleaves them by time instead).
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(HEADER.as_bytes());
        out.push(b'\n');
        for c in &self.connections {
            write_record(
                &Record {
                    conn: c.id,
                    at: c.opened,
                    kind: RecordKind::Open,
                },
                &mut out,
            );
            for r in &c.records {
                write_record(r, &mut out);
            }
        }
        out
    }

    /// Reads a capture in the `../shared/fixtures` style (one connection:
    /// `SECONDS << b'...'` / `SECONDS >> b'...'` lines with Python bytes
    /// literals, `<< b''` for the server's close, `#` comments) as a
    /// one-connection transcript. `Login` secrets are redacted as a
    /// [`Recorder`] would.
    pub fn from_capture(text: &str) -> Result<Transcript, ParseError> {
        let mut rec = Recorder::new();
        let conn = rec.open(Duration::ZERO);
        for (n, line) in text.lines().enumerate() {
            let err = |kind| ParseError { line: n + 1, kind };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut f = line.splitn(3, ' ');
            let at = f
                .next()
                .and_then(|t| parse_time(t.as_bytes()))
                .ok_or(err(ParseErrorKind::BadTime))?;
            let dir = match f.next() {
                Some(">>") => Direction::ToServer,
                Some("<<") => Direction::FromServer,
                other => {
                    return Err(err(ParseErrorKind::BadKind(
                        other.unwrap_or_default().to_owned(),
                    )))
                }
            };
            let lit = f.next().unwrap_or_default();
            let bytes = python_bytes(lit)
                .map_err(|col| err(ParseErrorKind::BadEscape(line.len() - lit.len() + col + 1)))?;
            if bytes.is_empty() {
                rec.eof(conn, dir, at);
            } else {
                rec.data(conn, dir, at, &bytes);
            }
        }
        rec.finish();
        Transcript::parse(rec.output())
    }
}

/// A Python `b'...'` / `b"..."` literal's bytes; on error an offset.
fn python_bytes(lit: &str) -> Result<Vec<u8>, usize> {
    let b = lit.as_bytes();
    if b.len() < 3 || b[0] != b'b' || (b[1] != b'\'' && b[1] != b'"') || b[b.len() - 1] != b[1] {
        return Err(0);
    }
    let body = &b[2..b.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            out.push(body[i]);
            i += 1;
            continue;
        }
        let (byte, len) = match body.get(i + 1) {
            Some(b'r') => (b'\r', 2),
            Some(b'n') => (b'\n', 2),
            Some(b't') => (b'\t', 2),
            Some(b'0') => (0, 2),
            Some(&c @ (b'\\' | b'\'' | b'"')) => (c, 2),
            Some(b'x') => {
                let h = body.get(i + 2..i + 4).ok_or(i + 2)?;
                let h = std::str::from_utf8(h).map_err(|_| i + 2)?;
                (u8::from_str_radix(h, 16).map_err(|_| i + 2)?, 4)
            }
            _ => return Err(i + 2),
        };
        out.push(byte);
        i += len;
    }
    Ok(out)
}

/// Most bytes of one unfinished client request the recorder holds back
/// (to find a `Login`'s secret); past this it writes them as they are, with
/// the `Secret:` lines it can see redacted.
const MAX_HELD: usize = 64 * 1024;

#[derive(Default)]
struct ConnState {
    /// Client chunks held back: time and bytes.
    held: Vec<(Duration, Vec<u8>)>,
    held_len: usize,
    /// The client's request written so far.
    msg: MsgState,
}

/// The sans-IO transcript writer: told about connections and chunks, it
/// appends lines to its output, redacting `Login` secrets.
///
/// ```
/// use std::time::Duration;
/// use asterisk_io::emu::transcript::{Direction, Recorder};
/// let mut rec = Recorder::new();
/// let c = rec.open(Duration::ZERO);
/// rec.data(c, Direction::ToServer, Duration::from_millis(1),
///     b"Action: Login\r\nUsername: admin\r\nSecret: s3cret\r\n\r\n");
/// let text = String::from_utf8(rec.take_output()).unwrap();
/// assert!(text.contains("Secret: ********\\r\\n"));
/// assert!(!text.contains("s3cret"));
/// ```
pub struct Recorder {
    out: Vec<u8>,
    next: u32,
    conns: Vec<(u32, ConnState)>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("connections", &self.conns.len())
            .field("unwritten", &self.out.len())
            .finish()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// A recorder whose output starts with the [`HEADER`] line.
    pub fn new() -> Recorder {
        let mut out = HEADER.as_bytes().to_vec();
        out.push(b'\n');
        Recorder {
            out,
            next: 1,
            conns: Vec::new(),
        }
    }

    /// Records a new connection; returns its number.
    pub fn open(&mut self, at: Duration) -> u32 {
        let conn = self.next;
        self.next += 1;
        self.conns.push((conn, ConnState::default()));
        self.push(conn, at, RecordKind::Open);
        conn
    }

    fn push(&mut self, conn: u32, at: Duration, kind: RecordKind) {
        write_record(&Record { conn, at, kind }, &mut self.out);
    }

    fn state(&mut self, conn: u32) -> Option<&mut ConnState> {
        self.conns
            .iter_mut()
            .find(|(c, _)| *c == conn)
            .map(|(_, s)| s)
    }

    /// Records a chunk; client chunks inside a request wait for its end.
    pub fn data(&mut self, conn: u32, dir: Direction, at: Duration, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if dir == Direction::FromServer {
            self.push(conn, at, RecordKind::Data(dir, bytes.to_vec()));
            return;
        }
        let Some(st) = self.state(conn) else {
            // Not opened through this recorder: written as it is.
            self.push(conn, at, RecordKind::Data(dir, bytes.to_vec()));
            return;
        };
        st.held.push((at, bytes.to_vec()));
        st.held_len += bytes.len();
        let whole: Vec<u8> = st
            .held
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect();
        let (_, unresolved) = redactions(&whole, &mut st.msg.clone(), false);
        let force = st.held_len > MAX_HELD;
        // Whole lines go out at once, unless a `Key:` line waits to learn
        // whether its request is a `Login`.
        if (whole.ends_with(b"\n") && !unresolved) || force {
            self.release(conn, force);
        }
    }

    /// Writes the held client chunks of `conn`, redacted.
    fn release(&mut self, conn: u32, force: bool) {
        let Some(st) = self.state(conn) else { return };
        let held = std::mem::take(&mut st.held);
        st.held_len = 0;
        if held.is_empty() {
            return;
        }
        let whole: Vec<u8> = held.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        let (cuts, _) = redactions(&whole, &mut st.msg, force);
        let mut start = 0;
        for (at, chunk) in held {
            let end = start + chunk.len();
            let mut bytes = Vec::with_capacity(chunk.len());
            let mut i = start;
            while i < end {
                match cuts.iter().find(|r| r.start <= i && i < r.end) {
                    Some(r) => {
                        if r.start == i {
                            bytes.extend_from_slice(REDACTED.as_bytes());
                        }
                        i = r.end.min(end);
                    }
                    None => {
                        bytes.push(whole[i]);
                        i += 1;
                    }
                }
            }
            start = end;
            self.push(conn, at, RecordKind::Data(Direction::ToServer, bytes));
        }
    }

    /// Records that one side of `conn` closed (held chunks are written first).
    pub fn eof(&mut self, conn: u32, dir: Direction, at: Duration) {
        self.release(conn, true);
        self.push(conn, at, RecordKind::Eof(dir));
    }

    /// Forgets `conn` (after both sides closed), writing what it held.
    pub fn close(&mut self, conn: u32) {
        self.release(conn, true);
        self.conns.retain(|(c, _)| *c != conn);
    }

    /// Writes everything held back (before the file is closed).
    pub fn finish(&mut self) {
        let ids: Vec<u32> = self.conns.iter().map(|(c, _)| *c).collect();
        for c in ids {
            self.release(c, true);
        }
    }

    /// Lines not yet taken.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Drops the first `n` bytes of the output (written by the caller).
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Takes all of the output.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// Lines of `bytes` without their `\r\n` / `\n`, each with whether it ended.
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Lines { bytes, pos: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (&'a [u8], bool);
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                self.pos += i + 1;
                let line = &rest[..i];
                Some((line.strip_suffix(b"\r").unwrap_or(line), true))
            }
            None => {
                self.pos = self.bytes.len();
                Some((rest, false))
            }
        }
    }
}

/// A request's `Name: value` split, name trimmed, value's leading spaces dropped.
pub(crate) fn header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = memchr::memchr(b':', line)?;
    let name = trim(&line[..colon]);
    let mut value = &line[colon + 1..];
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    Some((name, value))
}

/// `bytes` (requests to Asterisk) with `Login` secrets redacted.
pub(crate) fn redact_request(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    for r in redactions(bytes, &mut MsgState::default(), true).0 {
        out.extend_from_slice(&bytes[pos..r.start]);
        out.extend_from_slice(REDACTED.as_bytes());
        pos = r.end;
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// `b` without leading and trailing ASCII white space.
pub(crate) fn trim(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if !first.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !last.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    b
}

/// What the recorder knows of a client's unfinished request.
#[derive(Clone, Copy, Debug, Default)]
struct MsgState {
    /// Its `Action:` is known: `true` for a `Login`.
    action: Option<bool>,
}

/// Byte ranges of `Secret:` values, and of `Key:` values in `Login`
/// requests, in `bytes` (which start at a line start; `state` says what came
/// before in the request). The flag says a `Key:` line waits for its
/// request's `Action:` (with `force`, such a key is redacted anyway).
fn redactions(
    bytes: &[u8],
    state: &mut MsgState,
    force: bool,
) -> (Vec<std::ops::Range<usize>>, bool) {
    let mut out = Vec::new();
    let mut pending = Vec::new();
    let mut pos = 0;
    for (line, ended) in Lines::new(bytes) {
        let start = pos;
        pos += line.len();
        if ended {
            pos = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
        }
        if line.is_empty() && ended {
            pending.clear();
            state.action = None;
            continue;
        }
        let Some((name, value)) = header(line) else {
            continue;
        };
        if name.eq_ignore_ascii_case(b"action") && state.action.is_none() {
            let login = trim(value).eq_ignore_ascii_case(b"login");
            state.action = Some(login);
            if login {
                out.append(&mut pending);
            }
            pending.clear();
        }
        if value.is_empty() {
            continue;
        }
        let range = start + (line.len() - value.len())..start + line.len();
        if name.eq_ignore_ascii_case(b"secret") {
            // A secret is redacted in any request.
            out.push(range);
        } else if name.eq_ignore_ascii_case(b"key") {
            match state.action {
                Some(true) => out.push(range),
                Some(false) => {}
                None => pending.push(range),
            }
        }
    }
    let unresolved = !pending.is_empty();
    if force {
        out.append(&mut pending);
    }
    out.sort_by_key(|r| r.start);
    (out, unresolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trips_every_byte() {
        let data: Vec<u8> = (0..=255u8).chain(*b"caf\xc3\xa9 ").collect();
        let mut line = Vec::new();
        escape_into(&data, &mut line);
        assert!(!line.contains(&b'\n') && !line.contains(&b'\r'));
        assert!(line.ends_with(b"\\x20"));
        assert!(std::str::from_utf8(&line).is_ok());
        assert_eq!(unescape(&line).unwrap(), data);
    }

    #[test]
    fn a_record_reads_back() {
        let r = Record {
            conn: 3,
            at: Duration::new(12, 345_678_000),
            kind: RecordKind::Data(Direction::FromServer, b"Response: Success\r\n\r\n".to_vec()),
        };
        let mut out = Vec::new();
        write_record(&r, &mut out);
        assert_eq!(out, b"3 12.345678 << Response: Success\\r\\n\\r\\n\n");
        assert_eq!(parse_line(&out[..out.len() - 1], 1).unwrap(), Some(r));
    }

    #[test]
    fn errors_name_the_line() {
        let text = b"# c\n1 0.0 open\n1 0.5 >> ok\n1 x <<\n";
        let e = Transcript::parse(text).unwrap_err();
        assert_eq!(e.line, 4);
        assert_eq!(e.kind, ParseErrorKind::BadTime);
        let e = Transcript::parse(b"1 0 open\n1 0 >> a\\qb\n").unwrap_err();
        assert_eq!((e.line, e.kind), (2, ParseErrorKind::BadEscape(9)));
        let e = Transcript::parse(b"2 0 << x\n").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::NotOpen(2));
        let e = Transcript::parse(b"1 0 open\n1 0 open\n").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Reopened(1));
        let e = Transcript::parse(b"1 0 open x\n").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::UnexpectedData);
        let e = Transcript::parse(b"0 0 open\n").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BadConnection);
        let e = Transcript::parse(b"1 0 <>\n").unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BadKind("<>".into()));
    }

    #[test]
    fn login_secrets_are_redacted_across_chunks() {
        let mut rec = Recorder::new();
        let c = rec.open(Duration::ZERO);
        let t = Duration::from_millis(1);
        rec.data(
            c,
            Direction::ToServer,
            t,
            b"Action: DBPut\r\nKey: k1\r\n\r\nKey: ab",
        );
        rec.data(c, Direction::FromServer, t, b"Response: Success\r\n\r\n");
        rec.data(c, Direction::ToServer, t, b"cd\r\nAction: login\r\nSecr");
        rec.data(c, Direction::ToServer, t, b"et: pw\r\n\r\n");
        let text = String::from_utf8(rec.take_output()).unwrap();
        assert!(text.contains("Key: k1"), "{text}");
        assert!(!text.contains("abcd") && !text.contains("ab\\r") && !text.contains("pw"));
        let t = Transcript::parse(text.as_bytes()).unwrap();
        let sent: Vec<u8> = t.connections[0]
            .records
            .iter()
            .filter_map(|r| match &r.kind {
                RecordKind::Data(Direction::ToServer, b) => Some(b.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(
            sent,
            b"Action: DBPut\r\nKey: k1\r\n\r\nKey: ********\r\nAction: login\r\nSecret: ********\r\n\r\n"
        );
    }

    #[test]
    fn whole_lines_are_written_at_once_unless_a_key_waits() {
        let mut rec = Recorder::new();
        let c = rec.open(Duration::ZERO);
        rec.take_output();
        let t = Duration::ZERO;
        rec.data(c, Direction::ToServer, t, b"ANSWER\n");
        assert!(rec.output().ends_with(b">> ANSWER\\n\n"));
        rec.take_output();
        rec.data(c, Direction::ToServer, t, b"AuthType: MD5\r\nKey: 0123\r\n");
        assert!(rec.output().is_empty());
        rec.data(c, Direction::ToServer, t, b"Action: Login\r\n");
        let text = String::from_utf8(rec.take_output()).unwrap();
        assert!(
            text.contains("Key: ********") && !text.contains("0123"),
            "{text}"
        );
        // The request's action is known now: its later lines go at once.
        rec.data(c, Direction::ToServer, t, b"Username: a\r\n");
        assert!(!rec.output().is_empty());
        rec.take_output();
        rec.data(
            c,
            Direction::ToServer,
            t,
            b"\r\nAction: DBGet\r\nKey: k\r\n\r\n",
        );
        let text = String::from_utf8(rec.take_output()).unwrap();
        assert!(text.contains("Key: k\\r\\n"), "{text}");
    }

    #[test]
    fn redaction_holds_at_every_split_point() {
        let req: &[u8] = b"Action: Challenge\r\nAuthType: MD5\r\n\r\n\
            AuthType: MD5\r\nKey: 0a1b2c\r\nAction: Login\r\nUsername: u\r\n\r\n\
            Action: DBPut\r\nKey: visible\r\n\r\nAction: Login\r\nSecret: s3cr3t\r\n\r\n";
        let want = String::from_utf8_lossy(&redact_request(req)).into_owned();
        assert!(!want.contains("0a1b2c") && !want.contains("s3cr3t") && want.contains("visible"));
        for a in 0..req.len() {
            for b in a..req.len() {
                let mut rec = Recorder::new();
                let c = rec.open(Duration::ZERO);
                for part in [&req[..a], &req[a..b], &req[b..]] {
                    rec.data(c, Direction::ToServer, Duration::ZERO, part);
                }
                rec.eof(c, Direction::ToServer, Duration::ZERO);
                let t = Transcript::parse(rec.output()).unwrap();
                let sent: Vec<u8> = t.connections[0]
                    .records
                    .iter()
                    .filter_map(|r| match &r.kind {
                        RecordKind::Data(_, b) => Some(b.clone()),
                        _ => None,
                    })
                    .flatten()
                    .collect();
                assert_eq!(String::from_utf8_lossy(&sent), want, "split {a} {b}");
            }
        }
    }

    #[test]
    fn python_captures_convert() {
        let text = "# x\n   0.000 << b'Asterisk Call Manager/11.0.0\\r\\n'\n   \
                    0.010 >> b'Action: Login\\r\\nSecret: labsecret\\r\\n\\r\\n'\n   \
                    0.020 << b''\n";
        let t = Transcript::from_capture(text).unwrap();
        let c = &t.connections[0];
        assert_eq!(c.records.len(), 3);
        assert_eq!(
            c.records[1].kind,
            RecordKind::Data(
                Direction::ToServer,
                b"Action: Login\r\nSecret: ********\r\n\r\n".to_vec()
            )
        );
        assert_eq!(c.records[2].kind, RecordKind::Eof(Direction::FromServer));
        assert_eq!(c.records[1].at, Duration::from_millis(10));
    }
}
