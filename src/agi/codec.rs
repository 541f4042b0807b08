//! Sans-IO AGI codec: the environment block and the replies.
//!
//! Both parsers work over a caller-owned byte buffer that starts at the
//! beginning of the frame being parsed. They are incremental: a call returns
//! [`Parsed::Partial`] when more bytes are needed and remembers how far it
//! scanned, so feeding a growing buffer never rescans old bytes. Lines are
//! LF-terminated (a CR before the LF is tolerated); every line and block has a
//! byte limit so memory stays bounded whatever the peer sends.
//!
//! # Frames that span lines
//!
//! Most replies are one line. Three kinds are not, and the framer keeps each
//! of them in one frame so that every command gets exactly one reply:
//!
//! * **Usage blocks.** `520-Invalid command syntax.  Proper usage follows:`,
//!   the usage text, then `520 End of proper usage.` on a line of its own.
//!   Asterisk 1.6.2 to 13.16 and 14.0 to 14.5 wrote the usage text without a
//!   final line feed, so the terminator came glued to the end of the last
//!   usage line (`…text520 End of proper usage.`); `res_agi.c`
//!   (`agi_handle_command`) adds the line feed since 13.17.0, 14.6.0 and
//!   15.0.0. A block line that *ends* with the code and ` End of proper
//!   usage.` ends the block as well.
//! * **Values holding a line feed.** `GET VARIABLE`, `GET FULL VARIABLE`,
//!   `DATABASE GET` and `RECEIVE TEXT` answer `200 result=1 (VALUE)` with the
//!   value printed as is, so a value with a line feed spreads over several
//!   lines. A `200 result=1 (` line with no `)` after its `(` opens a value
//!   (a `)` on the line closes it there: `(value) endpos=…`, `(timeout)`);
//!   the following lines belong to it up to and including the first one
//!   that ends with `)`. A line that can only be a new frame — `HANGUP`,
//!   a status code followed by `result=`, or a `510`, `511` or `520` line —
//!   ends the value early (the reply then fails to parse, once, and the new
//!   frame is read normally), so a peer that never closes its parenthesis
//!   cannot swallow the replies that follow.
//! * The `HANGUP` line is always a frame of its own.

use super::error::{trim_nl, AgiError};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::ops::Range;

/// Outcome of an incremental parse step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<T> {
    /// A frame is complete; the value says what and how many bytes it used.
    Complete(T),
    /// More bytes are needed; nothing is consumed.
    Partial,
}

/// Size limits for the parsers. Build with [`Limits::new`] or from
/// [`Limits::default`] with the builder methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest single reply line in bytes (including the LF).
    pub max_line: usize,
    /// Largest multi-line `520` usage block, largest reply value spread
    /// over several lines, and largest environment block.
    pub max_block: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(16 * 1024, 64 * 1024)
    }
}

impl Limits {
    /// Limits of `max_line` bytes per reply line and `max_block` bytes per
    /// `520` block, multi-line value or environment block.
    pub const fn new(max_line: usize, max_block: usize) -> Self {
        Limits {
            max_line,
            max_block,
        }
    }

    /// Sets [`Limits::max_line`].
    pub const fn max_line(mut self, n: usize) -> Self {
        self.max_line = n;
        self
    }

    /// Sets [`Limits::max_block`].
    pub const fn max_block(mut self, n: usize) -> Self {
        self.max_block = n;
        self
    }
}

// ---------------------------------------------------------------------------
// Environment block
// ---------------------------------------------------------------------------

/// The `agi_*` variables Asterisk sends when a session starts.
///
/// Owns the raw block and an index of key/value ranges built once. Values are
/// bytes (caller names may be Latin-1); the `&str` accessors return `None`
/// for values that are not UTF-8, [`Env::get_lossy`] always works.
/// Keys may be given with or without the `agi_` prefix.
///
/// A line without a `key:` (what Asterisk writes when a value holds a line
/// feed, e.g. an `AGI()` argument with one: `agi_arg_1: first` then `second`)
/// does not stop the session: it is kept aside, in order, in
/// [`Env::skipped_lines`], and the other variables are read as usual. Only a
/// block that does not *start* with a variable is refused: that is not AGI.
#[derive(Clone, PartialEq, Eq)]
pub struct Env {
    raw: Vec<u8>,
    fields: SmallVec<[(Range<u32>, Range<u32>); 28]>,
    skipped: Vec<Range<u32>>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter_bytes() {
            m.entry(&String::from_utf8_lossy(k), &String::from_utf8_lossy(v));
        }
        for line in self.skipped_lines() {
            m.entry(&"(skipped line)", &String::from_utf8_lossy(line));
        }
        m.finish()
    }
}

impl Env {
    /// Parse a complete environment block (it must end with the empty line).
    pub fn parse(block: &[u8]) -> Result<Env, AgiError> {
        let mut p = EnvParser::new(Limits::new(usize::MAX, block.len().max(1)));
        match p.parse(block)? {
            Parsed::Complete(n) if n == block.len() => Ok(p.take(block)),
            Parsed::Complete(_) => Err(AgiError::protocol(
                "bytes after the environment block",
                block,
            )),
            Parsed::Partial => Err(AgiError::protocol(
                "environment block not terminated by an empty line",
                block,
            )),
        }
    }

    /// The raw block as received (including the final empty line).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True if the block had no variables at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The lines of the block after its first variable that are not
    /// `key: value` variables (no `:`, or nothing before it), in order,
    /// without their line end. (A block whose *first* line is not a
    /// variable is not an AGI environment and fails to parse.)
    ///
    /// Asterisk writes every value as is, so a value with a line feed (an
    /// `AGI()` argument, a caller name) ends its line early and the rest of
    /// it arrives as a line of its own; usually a skipped line continues the
    /// variable before it. Such lines are not an error: the session starts
    /// with the other variables, and this list says what was left out.
    pub fn skipped_lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.skipped.iter().map(move |r| self.slice(r))
    }

    /// True if some line of the block was not a variable (see
    /// [`skipped_lines`](Self::skipped_lines)).
    pub fn has_skipped_lines(&self) -> bool {
        !self.skipped.is_empty()
    }

    /// The longest command line, in bytes with its LF, that this Asterisk
    /// reads as one command, from `agi_version` (see
    /// [`max_command_line`](super::command::max_command_line)): 8191 from
    /// 20.16.0, 21.11.0, 22.6.0 and 23 on, 2047 for older and unknown
    /// versions.
    pub fn max_command_line(&self) -> usize {
        super::command::max_command_line(self.version())
    }

    fn slice(&self, r: &Range<u32>) -> &[u8] {
        &self.raw[r.start as usize..r.end as usize]
    }

    /// All variables in order, as bytes.
    pub fn iter_bytes(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.fields
            .iter()
            .map(move |(k, v)| (self.slice(k), self.slice(v)))
    }

    /// All variables in order, lossily decoded.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> + '_ {
        self.iter_bytes()
            .map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v)))
    }

    /// A variable's raw value. `key` may omit the `agi_` prefix.
    pub fn get_bytes(&self, key: &str) -> Option<&[u8]> {
        let key = key.as_bytes();
        self.iter_bytes().find_map(|(k, v)| {
            let short = k.strip_prefix(b"agi_").unwrap_or(k);
            (k.eq_ignore_ascii_case(key) || short.eq_ignore_ascii_case(key)).then_some(v)
        })
    }

    /// A variable's value if present and UTF-8.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_bytes(key)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// A variable's value, lossily decoded.
    pub fn get_lossy(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get_bytes(key).map(String::from_utf8_lossy)
    }

    /// `agi_request`: the script name or `agi://` URL.
    pub fn request(&self) -> Option<&str> {
        self.get("agi_request")
    }
    /// `agi_channel`: the channel name.
    pub fn channel(&self) -> Option<&str> {
        self.get("agi_channel")
    }
    /// `agi_language`.
    pub fn language(&self) -> Option<&str> {
        self.get("agi_language")
    }
    /// `agi_type`: the channel technology.
    pub fn channel_type(&self) -> Option<&str> {
        self.get("agi_type")
    }
    /// `agi_uniqueid`.
    pub fn unique_id(&self) -> Option<&str> {
        self.get("agi_uniqueid")
    }
    /// `agi_version`: the Asterisk version.
    pub fn version(&self) -> Option<&str> {
        self.get("agi_version")
    }
    /// `agi_callerid`: caller number (`unknown` when absent).
    pub fn caller_id(&self) -> Option<&str> {
        self.get("agi_callerid")
    }
    /// `agi_calleridname`: caller name, lossily decoded (may be Latin-1).
    pub fn caller_id_name(&self) -> Option<Cow<'_, str>> {
        self.get_lossy("agi_calleridname")
    }
    /// `agi_dnid`: dialed number.
    pub fn dnid(&self) -> Option<&str> {
        self.get("agi_dnid")
    }
    /// `agi_rdnis`: redirecting number.
    pub fn rdnis(&self) -> Option<&str> {
        self.get("agi_rdnis")
    }
    /// `agi_context`.
    pub fn context(&self) -> Option<&str> {
        self.get("agi_context")
    }
    /// `agi_extension`.
    pub fn extension(&self) -> Option<&str> {
        self.get("agi_extension")
    }
    /// `agi_priority` as a number.
    pub fn priority(&self) -> Option<i64> {
        self.get("agi_priority").and_then(|v| v.trim().parse().ok())
    }
    /// `agi_accountcode` (often empty).
    pub fn account_code(&self) -> Option<&str> {
        self.get("agi_accountcode")
    }
    /// `agi_enhanced`: `1.0` when the call came in through EAGI.
    pub fn enhanced(&self) -> bool {
        self.get("agi_enhanced")
            .is_some_and(|v| v.trim() != "0.0" && v.trim() != "0")
    }
    /// `agi_network: yes` (FastAGI).
    pub fn is_network(&self) -> bool {
        self.get("agi_network")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    }
    /// `agi_network_script` raw: path plus optional `?query`.
    pub fn network_script(&self) -> Option<&str> {
        self.get("agi_network_script")
    }
    /// The script path of `agi_network_script` without query string and
    /// without leading `/` (`"ivr/main"` for `agi://host/ivr/main?x=1`).
    /// Empty if there is no `agi_network_script`.
    pub fn script_path(&self) -> &str {
        let s = self.network_script().unwrap_or("");
        let path = s.split_once('?').map_or(s, |(p, _)| p);
        path.trim_start_matches('/')
    }
    /// The query string of `agi_network_script` (after `?`), if any.
    pub fn query_string(&self) -> Option<&str> {
        self.network_script()
            .and_then(|s| s.split_once('?'))
            .map(|(_, q)| q)
    }
    /// The query parameters, percent-decoded (`+` stays `+`), in order.
    pub fn query(&self) -> Vec<(String, String)> {
        let Some(q) = self.query_string() else {
            return Vec::new();
        };
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (
                    String::from_utf8_lossy(&percent_decode(k.as_bytes())).into_owned(),
                    String::from_utf8_lossy(&percent_decode(v.as_bytes())).into_owned(),
                )
            })
            .collect()
    }
    /// One query parameter by name (first occurrence), percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
    /// The script arguments `agi_arg_1..N`, in order, lossily decoded.
    pub fn args(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        for i in 1.. {
            match self.get_bytes(&format!("agi_arg_{i}")) {
                Some(v) => out.push(String::from_utf8_lossy(v)),
                None => break,
            }
        }
        out
    }
    /// Argument `n` (1-based), if present and UTF-8.
    pub fn arg(&self, n: usize) -> Option<&str> {
        self.get(&format!("agi_arg_{n}"))
    }
}

/// Percent-decode `%XX` escapes; malformed escapes are kept literally.
pub fn percent_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'%') {
        return Cow::Borrowed(input);
    }
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' && i + 2 < input.len() {
            if let (Some(h), Some(l)) = (hex(input[i + 1]), hex(input[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// Incremental parser for the environment block.
#[derive(Debug, Clone)]
pub struct EnvParser {
    limits: Limits,
    scanned: usize,
    fields: SmallVec<[(Range<u32>, Range<u32>); 28]>,
    skipped: Vec<Range<u32>>,
}

impl EnvParser {
    /// A parser with the given limits (`max_block` bounds the whole block,
    /// `max_line` each line).
    pub fn new(limits: Limits) -> Self {
        EnvParser {
            limits,
            scanned: 0,
            fields: SmallVec::new(),
            skipped: Vec::new(),
        }
    }

    /// Parse from the start of `buf` (which must hold at least the bytes of
    /// any previous call). `Complete(n)`: the block is `buf[..n]`; call
    /// [`take`](Self::take) to get the [`Env`].
    pub fn parse(&mut self, buf: &[u8]) -> Result<Parsed<usize>, AgiError> {
        loop {
            let start = self.scanned;
            let Some(off) = crate::scan::find_byte(&buf[start..], b'\n') else {
                let pending = buf.len() - start;
                if pending > self.limits.max_line || buf.len() > self.limits.max_block {
                    return Err(AgiError::LineTooLong {
                        limit: self.limits.max_line.min(self.limits.max_block),
                    });
                }
                return Ok(Parsed::Partial);
            };
            let end = start + off;
            if end + 1 > self.limits.max_block || off + 1 > self.limits.max_line {
                return Err(AgiError::LineTooLong {
                    limit: self.limits.max_line.min(self.limits.max_block),
                });
            }
            self.scanned = end + 1;
            let line_end = if end > start && buf[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let line = &buf[start..line_end];
            if line.is_empty() {
                return Ok(Parsed::Complete(end + 1));
            }
            let colon = match crate::scan::find_byte(line, b':') {
                Some(colon) if colon > 0 => colon,
                // No `key:` before any variable: this is not an AGI
                // environment (Asterisk always starts with a variable).
                _ if self.fields.is_empty() => {
                    return Err(AgiError::protocol(
                        "environment starts with a line that is not a variable",
                        line,
                    ));
                }
                // No `key:` after a variable: the tail of a value that held
                // a line feed. Keep it aside; the block goes on.
                _ => {
                    self.skipped.push(start as u32..line_end as u32);
                    continue;
                }
            };
            let key = start..start + colon;
            let mut vstart = start + colon + 1;
            if vstart < line_end && buf[vstart] == b' ' {
                vstart += 1;
            }
            self.fields.push((
                key.start as u32..key.end as u32,
                vstart as u32..line_end as u32,
            ));
        }
    }

    /// Build the [`Env`] from the completed block `buf[..n]` and reset.
    pub fn take(&mut self, buf: &[u8]) -> Env {
        let n = self.scanned.min(buf.len());
        self.scanned = 0;
        Env {
            raw: buf[..n].to_vec(),
            fields: std::mem::take(&mut self.fields),
            skipped: std::mem::take(&mut self.skipped),
        }
    }
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

/// A frame read from Asterisk after the environment block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// A reply line (or a complete multi-line `520` block, or a reply whose
    /// value spread over several lines).
    Reply(Reply<'a>),
    /// The unsolicited `HANGUP` line: the channel hung up; the reply to the
    /// command in flight (if any) still follows.
    Hangup,
}

/// A parsed reply, borrowing the receive buffer.
///
/// `200 result=1 (value) endpos=42 rest text` parses as code 200, result
/// `1`, data `value`, endpos 42, rest `rest text`. Parenthesised data is
/// opaque: `(hangup)` inside it is data, not a hangup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The three-digit status code (100, 200, 503, 510, 511, 520).
    pub code: u16,
    /// The raw frame including line ends (all lines for a 520 block or a
    /// value that holds line feeds).
    pub raw: &'a [u8],
    /// The text after `result=` up to the next space; `None` if the line has
    /// no `result=` (510, 511, 520).
    pub result: Option<&'a [u8]>,
    /// The text inside the parentheses after the result, if any. A value
    /// that spread over several lines (it held line feeds) is whole here,
    /// line feeds included.
    pub data: Option<&'a [u8]>,
    /// The `endpos=` attribute, if present (also kept in `rest`).
    pub endpos: Option<i64>,
    /// The remaining text after result and data (`key=value` attributes
    /// such as `endpos=`, and free text like `Gosub complete`), or for lines
    /// without `result=` the message after the code.
    pub rest: &'a [u8],
    /// For a multi-line 520: the usage text between the first line and the
    /// terminator (also when the terminator was glued to the last usage
    /// line, as before Asterisk 13.17.0 / 14.6.0).
    pub usage: Option<&'a [u8]>,
}

impl<'a> Reply<'a> {
    /// Parse one complete reply frame (a line, or a full 520 block).
    pub fn parse(frame: &'a [u8]) -> Result<Reply<'a>, AgiError> {
        let first_end = crate::scan::find_byte(frame, b'\n').unwrap_or(frame.len());
        let first = trim_nl(&frame[..first_end]);
        if first.len() >= 4 && first[3] == b'-' {
            // Multi-line 520 block: 520-first\n usage... \n520 End...\n
            let code = parse_code(first)?;
            let body = &frame[(first_end + 1).min(frame.len())..];
            let body_trim = trim_nl(body);
            let last_start = body_trim
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let last = &body_trim[last_start..];
            let usage = if last.len() >= 4 && last[..3] == first[..3] && last[3] == b' ' {
                trim_nl(&body_trim[..last_start])
            } else if let Some(glued) = glued_terminator(last, &first[..3]) {
                // Asterisk before 13.17.0 / 14.6.0: `…usage520 End of proper usage.`
                &body_trim[..last_start + glued]
            } else {
                return Err(AgiError::protocol("unterminated multi-line reply", frame));
            };
            return Ok(Reply {
                code,
                raw: frame,
                result: None,
                data: None,
                endpos: None,
                rest: &first[4..],
                usage: Some(usage),
            });
        }
        let code = parse_code(first)?;
        // A value that held line feeds: the reply is the whole frame.
        let whole = trim_nl(frame);
        let first = if whole.len() > first.len() && opens_value(first) {
            whole
        } else {
            first
        };
        let mut reply = Reply {
            code,
            raw: frame,
            result: None,
            data: None,
            endpos: None,
            rest: b"",
            usage: None,
        };
        let after = if first.len() > 3 {
            if first[3] != b' ' {
                return Err(AgiError::protocol("no space after status code", first));
            }
            &first[4..]
        } else {
            b""
        };
        let Some(tail) = after.strip_prefix(b"result=") else {
            reply.rest = after;
            return Ok(reply);
        };
        let rend = crate::scan::find_byte(tail, b' ').unwrap_or(tail.len());
        reply.result = Some(&tail[..rend]);
        let mut rest = trim_spaces(&tail[rend..]);
        if rest.first() == Some(&b'(') {
            // A value (`GET VARIABLE`, `DATABASE GET`, `RECEIVE TEXT`, ...)
            // ends the line and may hold parentheses itself: it runs to the
            // last `)`. A marker (`(timeout)`, `(dtmf)`, `(speech)`) is one
            // word followed by attributes, and those may hold `)` (the text
            // of a `SPEECH RECOGNIZE` match): it ends at the first `)`.
            let close = if rest.last() == Some(&b')') {
                Some(rest.len() - 1)
            } else {
                crate::scan::find_byte(rest, b')')
            };
            match close {
                Some(close) => {
                    reply.data = Some(&rest[1..close]);
                    rest = trim_spaces(&rest[close + 1..]);
                }
                None => return Err(AgiError::protocol("unbalanced '(' in reply", first)),
            }
        }
        reply.rest = rest;
        if let Some(v) = reply.attr("endpos") {
            reply.endpos =
                Some(parse_i64(v).ok_or_else(|| AgiError::protocol("bad endpos", first))?);
        }
        Ok(reply)
    }

    /// The result as an integer, if it is one.
    pub fn result_int(&self) -> Option<i64> {
        self.result.and_then(parse_i64)
    }

    /// The data as text (lossy).
    pub fn data_str(&self) -> Option<Cow<'a, str>> {
        self.data.map(String::from_utf8_lossy)
    }

    /// Look up a `key=value` token in [`rest`](Self::rest) (e.g. `results`).
    pub fn attr(&self, key: &str) -> Option<&'a [u8]> {
        self.rest.split(|&b| b == b' ').find_map(|tok| {
            let (k, v) = split_once(tok, b'=')?;
            (k == key.as_bytes()).then_some(v)
        })
    }

    /// The first line without its line end.
    pub fn line(&self) -> &'a [u8] {
        let end = crate::scan::find_byte(self.raw, b'\n').unwrap_or(self.raw.len());
        trim_nl(&self.raw[..end])
    }

    /// An owned copy.
    pub fn to_owned(&self) -> OwnedReply {
        OwnedReply {
            raw: self.raw.to_vec(),
        }
    }

    /// Turn protocol-level failures into errors: 200 passes; 510, 511, 520
    /// and 503 become the matching [`AgiError`]; anything else is a protocol
    /// error. The numeric result is *not* checked (that is per command).
    pub fn check(&self) -> Result<&Self, AgiError> {
        match self.code {
            200 => Ok(self),
            510 => Err(AgiError::InvalidCommand),
            511 => Err(AgiError::HungUp(super::error::HangupSource::DeadChannel)),
            520 => Err(AgiError::Usage {
                usage: String::from_utf8_lossy(self.usage.unwrap_or(self.rest)).into_owned(),
            }),
            503 => Err(AgiError::failed(
                self.result_int().unwrap_or(-2),
                self.line(),
            )),
            _ => Err(AgiError::protocol("unexpected status code", self.line())),
        }
    }

    /// Like [`check`](Self::check), and also require a numeric result.
    pub fn checked_result(&self) -> Result<i64, AgiError> {
        self.check()?;
        self.result_int()
            .ok_or_else(|| AgiError::protocol("missing or non-numeric result", self.line()))
    }
}

/// An owned reply (for keeping past the receive buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedReply {
    raw: Vec<u8>,
}

impl OwnedReply {
    /// Wrap a complete raw frame. Fails if it does not parse.
    pub fn new(raw: Vec<u8>) -> Result<OwnedReply, AgiError> {
        Reply::parse(&raw)?;
        Ok(OwnedReply { raw })
    }
    /// The parsed view.
    pub fn reply(&self) -> Reply<'_> {
        Reply::parse(&self.raw).expect("validated on construction")
    }
    /// The raw bytes.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
}

/// The text Asterisk ends a usage block with, after the status code.
const USAGE_END: &[u8] = b" End of proper usage.";

/// Where a usage-block terminator (`CODE End of proper usage.`) glued to the
/// end of a longer line starts, if the line ends with one.
fn glued_terminator(line: &[u8], code: &[u8]) -> Option<usize> {
    let n = 3 + USAGE_END.len();
    let start = line.len().checked_sub(n)?;
    (start > 0 && line.ends_with(USAGE_END) && &line[start..start + 3] == code).then_some(start)
}

/// True if `line` (without its line end) ends the usage block of `code`:
/// it starts with the code and a space, or has the terminator glued on.
fn ends_block(line: &[u8], code: &[u8]) -> bool {
    (line.len() >= 4 && &line[..3] == code && line[3] == b' ')
        || glued_terminator(line, code).is_some()
}

/// True if `line` (the first line of a reply, without its line end) starts
/// a `(` value and does not close it: the value went on past a line feed.
/// A `)` anywhere after the `(` closes it on this line (`(value) endpos=0`,
/// `(timeout) endpos=…`).
pub(crate) fn opens_value(line: &[u8]) -> bool {
    let Some(inner) = line.strip_prefix(b"200 result=1 (") else {
        return false;
    };
    memchr::memchr(b')', inner).is_none()
}

/// True if `line` (without its line end) can only be the start of a new
/// frame, never the continuation of a value: `HANGUP`, a status code and a
/// space followed by `result=`, or a `510`, `511` or `520` line. Only the
/// first 11 bytes matter, apart from the exact `HANGUP`.
fn starts_frame(line: &[u8]) -> bool {
    if line == b"HANGUP" {
        return true;
    }
    if line.len() < 4 || !line[..3].iter().all(u8::is_ascii_digit) {
        return false;
    }
    match line[3] {
        b'-' => matches!(&line[..3], b"520"),
        b' ' => matches!(&line[..3], b"510" | b"511" | b"520") || line[4..].starts_with(b"result="),
        _ => false,
    }
}

fn parse_code(line: &[u8]) -> Result<u16, AgiError> {
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(AgiError::protocol(
            "reply does not start with a status code",
            line,
        ));
    }
    if line.len() > 3 && !matches!(line[3], b' ' | b'-') {
        return Err(AgiError::protocol(
            "reply does not start with a status code",
            line,
        ));
    }
    Ok(line[..3]
        .iter()
        .fold(0u16, |a, &d| a * 10 + u16::from(d - b'0')))
}

pub(crate) fn parse_i64(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn trim_spaces(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

fn split_once(b: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let p = crate::scan::find_byte(b, sep)?;
    Some((&b[..p], &b[p + 1..]))
}

/// Incremental reply framer.
///
/// Call [`next_frame`](Self::next_frame) with a buffer that starts at the
/// current frame; it returns the frame length when a reply line, a full 520
/// block, a value that spread over several lines, or a `HANGUP` line is
/// complete (see the [module docs](self) for the multi-line rules). A line
/// longer than the limit gives [`AgiError::LineTooLong`]; the framer then
/// skips to the next LF ([`resync`](Self::resync)) so one bad line does not
/// kill the stream.
#[derive(Debug, Clone)]
pub struct ReplyFramer {
    limits: Limits,
    scanned: usize,
    line_start: usize,
    mode: Mode,
}

/// What the framer is inside of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// At the first line of a frame.
    Line,
    /// Inside a `520-` usage block.
    Block,
    /// Inside a `(` value that holds line feeds.
    Value,
}

impl Default for ReplyFramer {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ReplyFramer {
    /// A framer with the given limits.
    pub fn new(limits: Limits) -> Self {
        ReplyFramer {
            limits,
            scanned: 0,
            line_start: 0,
            mode: Mode::Line,
        }
    }

    /// Reset to the start of a frame.
    pub fn reset(&mut self) {
        self.scanned = 0;
        self.line_start = 0;
        self.mode = Mode::Line;
    }

    /// The error for a line or frame over its limit (the block limit while
    /// inside a `520-` block or a multi-line value), after which the framer
    /// starts afresh.
    fn too_long(&mut self) -> AgiError {
        // Read the mode before reset() clears it.
        let limit = if self.mode == Mode::Line {
            self.limits.max_line
        } else {
            self.limits.max_block
        };
        self.reset();
        AgiError::LineTooLong { limit }
    }

    /// Find the end of the next frame in `buf` (which starts at the frame).
    /// `Complete(n)`: `buf[..n]` is the frame; parse it with
    /// [`frame`](Self::frame). The framer resets itself on completion.
    pub fn next_frame(&mut self, buf: &[u8]) -> Result<Parsed<usize>, AgiError> {
        loop {
            let from = self.scanned.max(self.line_start);
            let Some(off) = crate::scan::find_byte(&buf[from.min(buf.len())..], b'\n') else {
                self.scanned = buf.len();
                if buf.len() - self.line_start > self.limits.max_line
                    || (self.mode != Mode::Line && buf.len() > self.limits.max_block)
                {
                    return Err(self.too_long());
                }
                return Ok(Parsed::Partial);
            };
            let nl = from + off;
            let len = nl + 1 - self.line_start;
            if len > self.limits.max_line || nl + 1 > self.limits.max_block {
                return Err(self.too_long());
            }
            let line = trim_nl(&buf[self.line_start..nl]);
            match self.mode {
                Mode::Line => {
                    if line.len() >= 4
                        && line[3] == b'-'
                        && line[..3].iter().all(u8::is_ascii_digit)
                    {
                        self.mode = Mode::Block;
                    } else if opens_value(line) {
                        self.mode = Mode::Value;
                    } else {
                        self.reset();
                        return Ok(Parsed::Complete(nl + 1));
                    }
                }
                // Inside a 520 block: the terminator repeats the code with a
                // space, on its own line or glued to the last usage line.
                Mode::Block => {
                    if ends_block(line, &buf[..3]) {
                        self.reset();
                        return Ok(Parsed::Complete(nl + 1));
                    }
                }
                // Inside a value: a line that can only be a new frame ends
                // the value before it; a line ending with `)` closes it.
                Mode::Value => {
                    if starts_frame(line) {
                        let end = self.line_start;
                        self.reset();
                        return Ok(Parsed::Complete(end));
                    }
                    if line.ends_with(b")") {
                        self.reset();
                        return Ok(Parsed::Complete(nl + 1));
                    }
                }
            }
            self.line_start = nl + 1;
            self.scanned = nl + 1;
        }
    }

    /// Interpret a complete frame.
    pub fn frame(frame: &[u8]) -> Result<Inbound<'_>, AgiError> {
        let line = trim_nl(frame);
        if line == b"HANGUP" {
            return Ok(Inbound::Hangup);
        }
        Reply::parse(frame).map(Inbound::Reply)
    }

    /// After an error, how many bytes of `buf` to drop to reach the next
    /// line start (`None`: no LF yet, drop everything and keep skipping).
    /// This drops one line only: the crate's own transports also drop the
    /// rest of a failed `520-` block or multi-line value, so that its
    /// remaining lines are not taken for the next replies.
    pub fn resync(buf: &[u8]) -> Option<usize> {
        crate::scan::find_byte(buf, b'\n').map(|p| p + 1)
    }
}

/// The last bytes of a line being dropped, enough to see how it ended
/// (a `)`, or a glued `520 End of proper usage.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tail {
    bytes: [u8; 32],
    len: u8,
}

impl Tail {
    fn push(&mut self, more: &[u8]) {
        const CAP: usize = 32;
        let len = self.len as usize;
        if more.len() >= CAP {
            self.bytes.copy_from_slice(&more[more.len() - CAP..]);
            self.len = CAP as u8;
            return;
        }
        let keep = len.min(CAP - more.len());
        self.bytes.copy_within(len - keep..len, 0);
        self.bytes[keep..keep + more.len()].copy_from_slice(more);
        self.len = (keep + more.len()) as u8;
    }

    /// The line's last bytes, without a CR before the LF.
    fn line(&self) -> &[u8] {
        trim_nl(&self.bytes[..self.len as usize])
    }
}

/// What to drop after [`ReplyFramer::next_frame`] failed, so that one bad
/// frame costs exactly one error: an oversized line is dropped through its
/// LF; an oversized multi-line block (`520-` … `520 End of proper usage.`)
/// through its terminator line (also a glued one); an oversized value that
/// holds line feeds through the line that closes it. Dropping only the first
/// line would hand each further line to the next commands as their replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Skip {
    /// Not skipping: frame normally.
    #[default]
    None,
    /// Drop through the next LF, then frame normally; but if `value` (the
    /// line began `200 result=1 (`) and the line does not end with `)`, go
    /// on as [`Skip::Value`].
    Line { value: bool, tail: Tail },
    /// Inside a block with this code: drop lines through the one that
    /// starts with the code and a space or ends with the glued terminator.
    /// `at_start`: at a line start.
    Block {
        code: [u8; 3],
        at_start: bool,
        tail: Tail,
    },
    /// Inside an open value: drop lines through the one that ends with `)`,
    /// but stop before a line that can only start a new frame.
    Value { at_start: bool, tail: Tail },
}

impl Skip {
    /// The skip to start after `next_frame` failed on `buf` (which starts
    /// at the failed frame).
    pub(crate) fn after_error(buf: &[u8]) -> Skip {
        match buf {
            [a, b, c, b'-', ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => Skip::Block {
                code: [*a, *b, *c],
                at_start: false,
                tail: Tail::default(),
            },
            _ => Skip::Line {
                value: buf.starts_with(b"200 result=1 ("),
                tail: Tail::default(),
            },
        }
    }

    /// Drop what must be dropped from the start of `buf`; returns how many
    /// bytes. If `self` is still not [`Skip::None`] afterwards, more input
    /// is needed (at most 11 bytes of a line start are left undropped).
    pub(crate) fn advance(&mut self, buf: &[u8]) -> usize {
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            match *self {
                Skip::None => return pos,
                Skip::Block {
                    code,
                    at_start: true,
                    ..
                } => {
                    if rest.len() < 4 && !rest.contains(&b'\n') {
                        return pos;
                    }
                    let end = rest.len() >= 4 && rest[..3] == code && rest[3] == b' ';
                    *self = if end {
                        Skip::Line {
                            value: false,
                            tail: Tail::default(),
                        }
                    } else {
                        Skip::Block {
                            code,
                            at_start: false,
                            tail: Tail::default(),
                        }
                    };
                }
                Skip::Value { at_start: true, .. } => {
                    let new_frame = match crate::scan::find_byte(rest, b'\n') {
                        Some(p) => starts_frame(trim_nl(&rest[..p])),
                        None if rest.len() >= 12 => starts_frame(rest),
                        None => return pos,
                    };
                    if new_frame {
                        *self = Skip::None;
                        return pos;
                    }
                    *self = Skip::Value {
                        at_start: false,
                        tail: Tail::default(),
                    };
                }
                Skip::Line { ref mut tail, .. }
                | Skip::Block { ref mut tail, .. }
                | Skip::Value { ref mut tail, .. } => {
                    let Some(p) = crate::scan::find_byte(rest, b'\n') else {
                        tail.push(rest);
                        return buf.len();
                    };
                    tail.push(&rest[..p]);
                    pos += p + 1;
                    let tail = *tail;
                    let line = tail.line();
                    let closed = line.ends_with(b")");
                    *self = match *self {
                        Skip::Line { value, .. } if value && !closed => Skip::Value {
                            at_start: true,
                            tail: Tail::default(),
                        },
                        Skip::Block { code, .. } if glued_terminator(line, &code).is_none() => {
                            Skip::Block {
                                code,
                                at_start: true,
                                tail: Tail::default(),
                            }
                        }
                        Skip::Value { .. } if !closed => Skip::Value {
                            at_start: true,
                            tail: Tail::default(),
                        },
                        _ => Skip::None,
                    };
                }
            }
        }
    }
}

/// Frames and parses everything in `buf`, for tests and tools: returns the
/// frames and the number of bytes consumed.
pub fn parse_all(buf: &[u8]) -> (Vec<Result<OwnedInbound, AgiError>>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut framer = ReplyFramer::default();
    while pos < buf.len() {
        match framer.next_frame(&buf[pos..]) {
            Ok(Parsed::Complete(n)) => {
                out.push(ReplyFramer::frame(&buf[pos..pos + n]).map(|f| match f {
                    Inbound::Hangup => OwnedInbound::Hangup,
                    Inbound::Reply(r) => OwnedInbound::Reply(r.to_owned()),
                }));
                pos += n;
            }
            Ok(Parsed::Partial) => break,
            Err(e) => {
                out.push(Err(e));
                let mut skip = Skip::after_error(&buf[pos..]);
                pos += skip.advance(&buf[pos..]);
                if skip != Skip::None {
                    pos = buf.len();
                }
            }
        }
    }
    (out, pos)
}

/// An owned [`Inbound`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedInbound {
    /// A reply.
    Reply(OwnedReply),
    /// The `HANGUP` line.
    Hangup,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_bytes_of_a_line() {
        let mut t = Tail::default();
        t.push(b"abc");
        t.push(b"def\r");
        assert_eq!(t.line(), b"abcdef");
        let long: Vec<u8> = (0..100u8).collect();
        let mut t = Tail::default();
        for chunk in long.chunks(7) {
            t.push(chunk);
        }
        assert_eq!(t.line(), &long[68..]);
        let mut t = Tail::default();
        t.push(&long);
        t.push(b"");
        assert_eq!(t.line(), &long[68..]);
    }

    #[test]
    fn line_classes() {
        assert_eq!(
            glued_terminator(b"text520 End of proper usage.", b"520"),
            Some(4)
        );
        assert_eq!(glued_terminator(b"520 End of proper usage.", b"520"), None);
        assert_eq!(
            glued_terminator(b"text510 End of proper usage.", b"520"),
            None
        );
        assert!(ends_block(b"520 End of proper usage.", b"520"));
        assert!(ends_block(b"x520 End of proper usage.", b"520"));
        assert!(!ends_block(b"usage", b"520"));

        assert!(opens_value(b"200 result=1 (a"));
        assert!(opens_value(b"200 result=1 (timeout"));
        // A `)` closes the value on its line; what follows is the reply's rest.
        assert!(!opens_value(b"200 result=1 (a) b"));
        assert!(!opens_value(b"200 result=1 () endpos=0"));
        assert!(!opens_value(b"200 result=1 (a)"));
        assert!(!opens_value(b"200 result=1 (timeout) endpos=5"));
        assert!(!opens_value(b"200 result=0 (a"));
        assert!(!opens_value(b"200 result=1 a"));

        assert!(starts_frame(b"HANGUP"));
        assert!(starts_frame(b"200 result=0"));
        assert!(starts_frame(b"100 result=0 Trying..."));
        assert!(starts_frame(b"510 Invalid or unknown command"));
        assert!(starts_frame(b"511 Command Not Permitted"));
        assert!(starts_frame(b"520 Invalid command syntax."));
        assert!(starts_frame(b"520-Invalid command syntax."));
        assert!(!starts_frame(b"123 Main St"));
        assert!(!starts_frame(b"555-1234"));
        assert!(!starts_frame(b"HANGUP now"));
        assert!(!starts_frame(b"200"));
    }

    /// Runs a skip over `wire` fed in pieces of `step` bytes (0: whole) and
    /// returns where it stopped.
    fn skip_end(wire: &[u8], step: usize) -> Option<usize> {
        let mut skip = Skip::after_error(wire);
        let mut pos = 0;
        let mut avail = if step == 0 { wire.len() } else { step };
        loop {
            pos += skip.advance(&wire[pos..avail.min(wire.len())]);
            if skip == Skip::None {
                return Some(pos);
            }
            if avail >= wire.len() {
                return None;
            }
            avail += step.max(1);
        }
    }

    #[test]
    fn skip_stops_at_the_same_place_whatever_the_pieces() {
        let rows: [(&[u8], Option<usize>); 6] = [
            (b"xxxxxxxx\n200 result=0\n", Some(9)),
            (
                b"520-a\nb\n520 End of proper usage.\n200 result=0\n",
                Some(33),
            ),
            (
                b"520-a\nb520 End of proper usage.\n200 result=0\n",
                Some(32),
            ),
            (b"200 result=1 (aaaa\nbbb\nc)\n200 result=0\n", Some(26)),
            (b"200 result=1 (aaaa\nbbb\nHANGUP\n", Some(23)),
            (b"200 result=1 (aaaa)\n200 result=1 (b\n", Some(20)),
        ];
        for (wire, want) in rows {
            for step in [0, 1, 2, 3, 5, 11, 12, 13] {
                assert_eq!(
                    skip_end(wire, step),
                    want,
                    "{:?} step {step}",
                    String::from_utf8_lossy(wire)
                );
            }
        }
        // Unfinished: more input needed.
        assert_eq!(skip_end(b"520-a\nb\nc", 1), None);
        assert_eq!(skip_end(b"200 result=1 (a\nb", 1), None);
    }
}
