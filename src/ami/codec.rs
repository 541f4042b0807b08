//! The AMI framer: bytes in, message boundaries and header indexes out.
//!
//! AMI is a stream of blocks of `Key: Value` lines, each block ended by an
//! empty line, after a one-line greeting. [`Framer::advance`] is fed the
//! unconsumed bytes of the read buffer (starting at the current message) and
//! answers [`Status::Partial`] ("need more") or [`Status::Complete`] with a
//! [`Frame`] saying how many bytes to consume. It remembers where it stopped,
//! so a message arriving one byte at a time is scanned once, not once per byte.
//!
//! Tolerated on input, as Asterisk itself tolerates them: LF-only lines, stray
//! blank lines between blocks (skipped), empty values. A block larger than
//! [`FramerConfig::max_message_size`] becomes [`Frame::Oversized`] and its
//! remaining bytes are skipped up to the next blank line, so memory stays
//! bounded and the stream carries on.

use super::message::{Header, Span};
use crate::scan::{byte_mask, find_byte, BLOCK};
use memchr::{memchr, memmem};

/// Limits and quirk switches for the framer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FramerConfig {
    /// The largest block accepted, in bytes (default 1 MiB). Larger blocks are
    /// reported as skipped ([`ProtocolError::Oversized`](super::ProtocolError::Oversized)). Values below 64 bytes
    /// count as 64 and values above [`MAX_MESSAGE_SIZE_LIMIT`] (2 GiB, as
    /// header ranges are 32-bit) as that limit, so `usize::MAX` means "no
    /// practical limit".
    pub max_message_size: usize,
}

/// The largest effective [`FramerConfig::max_message_size`]: 2 GiB.
pub const MAX_MESSAGE_SIZE_LIMIT: usize = 1 << 31;

impl FramerConfig {
    /// Sets [`FramerConfig::max_message_size`].
    pub fn max_message_size(mut self, n: usize) -> Self {
        self.max_message_size = n;
        self
    }

    /// The limit the framer applies: `max_message_size` brought into
    /// `64..=MAX_MESSAGE_SIZE_LIMIT`.
    pub fn effective_max(&self) -> usize {
        self.max_message_size.clamp(64, MAX_MESSAGE_SIZE_LIMIT)
    }
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig {
            max_message_size: 1 << 20,
        }
    }
}

/// What [`Framer::advance`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum Status {
    /// A frame is complete; consume its `len` bytes before the next call.
    Complete(Frame),
    /// More bytes are needed. Call again with the same buffer start and more bytes after.
    Partial,
}

/// One unit of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum Frame {
    /// A block of headers; its index is [`Framer::headers`].
    Message {
        /// Bytes to consume, the terminating blank line included.
        len: usize,
    },
    /// A legacy (`Response: Follows`) command output block, recognised only
    /// when the caller asked for it. Headers before the output are indexed as usual.
    LegacyCommand {
        /// Bytes to consume.
        len: usize,
        /// The raw CLI text, up to (not including) `--END COMMAND--`.
        output: Span,
    },
    /// Bytes to drop silently: stray blank lines, or the rest of an oversized block.
    Skip {
        /// Bytes to consume.
        len: usize,
    },
    /// A block grew past the size limit. Its first `len` bytes are to be
    /// dropped; the framer drops the rest up to the next blank line by itself.
    Oversized {
        /// Bytes to consume now.
        len: usize,
    },
    /// A complete block with a line that has no colon.
    Malformed {
        /// Bytes to consume.
        len: usize,
        /// Offset of the first bad line within the block.
        line: usize,
    },
}

impl Frame {
    /// Bytes to consume for this frame.
    // Not a container: a frame with no bytes never exists, so no `is_empty`.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        match *self {
            Frame::Message { len }
            | Frame::LegacyCommand { len, .. }
            | Frame::Skip { len }
            | Frame::Oversized { len }
            | Frame::Malformed { len, .. } => len,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Headers,
    Legacy {
        body_start: usize,
        search_from: usize,
        /// The header lines (Privilege, ActionID) before the raw text are read.
        headers_done: bool,
    },
    Discard {
        at_line_start: bool,
    },
    /// The rest of an oversized legacy command output: skipped up to its
    /// `--END COMMAND--` line and blank line, not to the first blank line
    /// of the CLI text (which would frame the remaining text as messages).
    DiscardLegacy,
}

const END_COMMAND: &[u8] = b"--END COMMAND--";

/// Where a legacy command block ends, given where its `--END COMMAND--` line
/// ends: after the blank line that follows (CRLF or LF), or right there if
/// the next line is not blank; `None` until the next line can be judged.
fn legacy_block_end(buf: &[u8], line_end: usize) -> Option<usize> {
    let rest = &buf[line_end..];
    if rest.starts_with(b"\r\n") {
        Some(line_end + 2)
    } else if rest.starts_with(b"\n") {
        Some(line_end + 1)
    } else if rest.is_empty() || rest == b"\r" {
        None
    } else {
        Some(line_end)
    }
}

/// The header of the line `buf[start..end]` whose colon is at `start + colon`:
/// the key before the colon, the value after it and one optional space.
#[inline]
fn split_header(buf: &[u8], start: usize, colon: usize, end: usize) -> Header {
    let mut v = start + colon + 1;
    if v < end && buf[v] == b' ' {
        v += 1;
    }
    Header {
        key: Span::new(start, start + colon),
        value: Span::new(v, end),
    }
}

/// Incremental AMI block framer with a reusable header index.
#[derive(Debug)]
#[doc(hidden)]
pub struct Framer {
    max: usize,
    /// Start of the next unscanned line, relative to the message start.
    pos: usize,
    /// Where the search for `\n` resumes inside a partial line.
    scan_from: usize,
    mode: Mode,
    bad_line: Option<usize>,
    headers: Vec<Header>,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(FramerConfig::default())
    }
}

impl Framer {
    /// A framer with the given limits.
    pub fn new(config: FramerConfig) -> Self {
        Framer {
            max: config.effective_max(),
            pos: 0,
            scan_from: 0,
            mode: Mode::Headers,
            bad_line: None,
            headers: Vec::with_capacity(32),
        }
    }

    /// The header index of the last [`Frame::Message`] or [`Frame::LegacyCommand`].
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    fn reset(&mut self) {
        self.pos = 0;
        self.scan_from = 0;
        self.mode = Mode::Headers;
        self.bad_line = None;
    }

    /// Scans `buf`, which starts at the first unconsumed byte of the stream.
    ///
    /// `legacy_command` allows a block starting with `Response: Follows` to be
    /// read as legacy command output (pass it only while a `Command` action is
    /// pending and the legacy shape is enabled). Between calls that return
    /// `Partial`, the bytes already seen must stay in place at the start of `buf`.
    pub fn advance(&mut self, buf: &[u8], legacy_command: bool) -> Status {
        match self.mode {
            Mode::Discard { at_line_start } => return self.discard(buf, at_line_start),
            Mode::DiscardLegacy => return self.discard_legacy(buf),
            Mode::Legacy {
                body_start,
                search_from,
                headers_done,
            } => return self.legacy(buf, body_start, search_from, headers_done),
            Mode::Headers => {}
        }
        // The hot loop works on locals and writes the position back only when
        // it returns. It takes the stream 64 bytes at a time: one mask of the
        // block's line ends, then a turn per set bit. A line end found this
        // way costs no branch that depends on how long the line is; a search
        // line by line mispredicted its exit on almost every line.
        let mut start = self.pos;
        let mut base = self.scan_from.max(start);
        loop {
            let (mut line_ends, block_len) = match buf.get(base..base + BLOCK) {
                Some(block) => (byte_mask(block.try_into().expect("a block"), b'\n'), BLOCK),
                None => {
                    // The last bytes, fewer than a block: padded with zeros,
                    // which are not line ends.
                    let tail = &buf[base..];
                    let mut block = [0u8; BLOCK];
                    block[..tail.len()].copy_from_slice(tail);
                    (byte_mask(&block, b'\n'), tail.len())
                }
            };
            while line_ends != 0 {
                let nl = base + line_ends.trailing_zeros() as usize;
                line_ends &= line_ends - 1;
                let next = nl + 1;
                let line = &buf[start..nl];
                let line = match line {
                    [rest @ .., b'\r'] => rest,
                    _ => line,
                };
                if line.is_empty() {
                    // A blank line: the end of a block, or a stray one between blocks.
                    let frame = if start == 0 {
                        Frame::Skip { len: next }
                    } else {
                        match self.bad_line {
                            Some(line) => Frame::Malformed { len: next, line },
                            None => Frame::Message { len: next },
                        }
                    };
                    self.reset();
                    return Status::Complete(frame);
                }
                if start == 0 {
                    self.headers.clear();
                }
                match find_byte(line, b':') {
                    Some(c) => {
                        let h = split_header(buf, start, c, start + line.len());
                        self.headers.push(h);
                        if start == 0
                            && legacy_command
                            && h.key.of(buf).eq_ignore_ascii_case(b"Response")
                            && h.value.of(buf).eq_ignore_ascii_case(b"Follows")
                        {
                            self.pos = next;
                            self.scan_from = next;
                            self.mode = Mode::Legacy {
                                body_start: next,
                                search_from: next,
                                headers_done: false,
                            };
                            return self.legacy(buf, next, next, false);
                        }
                    }
                    None => {
                        if self.bad_line.is_none() {
                            self.bad_line = Some(start);
                        }
                    }
                }
                start = next;
                if next > self.max {
                    return self.oversized(next, true);
                }
            }
            base += block_len;
            if block_len < BLOCK {
                break;
            }
        }
        // Every byte is scanned and the last line has no end yet. A lone CR
        // may be the first half of the terminating blank line, which does not
        // count towards the size.
        let held = if &buf[start..] == b"\r" {
            start
        } else {
            buf.len()
        };
        if held > self.max {
            return self.oversized(buf.len(), false);
        }
        self.pos = start;
        self.scan_from = buf.len();
        Status::Partial
    }

    fn oversized(&mut self, len: usize, at_line_start: bool) -> Status {
        self.headers.clear();
        self.reset();
        self.mode = Mode::Discard { at_line_start };
        Status::Complete(Frame::Oversized { len })
    }

    /// An oversized legacy output: report `len` bytes as oversized and skip
    /// the rest up to the end of the output.
    fn oversized_legacy(&mut self, len: usize) -> Status {
        self.headers.clear();
        self.reset();
        self.mode = Mode::DiscardLegacy;
        Status::Complete(Frame::Oversized { len })
    }

    fn discard_legacy(&mut self, buf: &[u8]) -> Status {
        // Bytes a marker split by the end of `buf` may have begun with.
        let keep = END_COMMAND.len() - 1;
        let Some(m) = memmem::find(buf, END_COMMAND) else {
            if buf.len() > keep {
                return Status::Complete(Frame::Skip {
                    len: buf.len() - keep,
                });
            }
            return Status::Partial;
        };
        if m > 0 {
            return Status::Complete(Frame::Skip { len: m });
        }
        // The marker's own line end, then the blank line that ends the block.
        let Some(i) = memchr(b'\n', &buf[END_COMMAND.len()..]) else {
            if buf.len() > self.max {
                // A marker line without end: fall back to the next blank line.
                self.mode = Mode::Discard {
                    at_line_start: false,
                };
                return self.discard(buf, false);
            }
            return Status::Partial;
        };
        let Some(len) = legacy_block_end(buf, END_COMMAND.len() + i + 1) else {
            return Status::Partial;
        };
        self.reset();
        Status::Complete(Frame::Skip { len })
    }

    fn discard(&mut self, buf: &[u8], mut at_line_start: bool) -> Status {
        let mut pos = 0;
        while let Some(i) = memchr(b'\n', &buf[pos..]) {
            let nl = pos + i;
            let blank = at_line_start && (nl == pos || (nl == pos + 1 && buf[pos] == b'\r'));
            pos = nl + 1;
            if blank {
                self.reset();
                return Status::Complete(Frame::Skip { len: pos });
            }
            at_line_start = true;
        }
        if pos < buf.len() {
            // A lone CR at the start of a line may be half of the blank line
            // that ends the block: keep it for the next call.
            if !(at_line_start && &buf[pos..] == b"\r") {
                at_line_start = false;
                pos = buf.len();
            }
        }
        self.mode = Mode::Discard { at_line_start };
        if pos == 0 {
            Status::Partial
        } else {
            Status::Complete(Frame::Skip { len: pos })
        }
    }

    fn legacy(
        &mut self,
        buf: &[u8],
        mut body_start: usize,
        search_from: usize,
        mut headers_done: bool,
    ) -> Status {
        // Header lines (Privilege, ActionID) may still come before the raw
        // text. The first line that is not one ends them for good, and a
        // partial line is scanned once (`scan_from`), not once per call.
        while !headers_done {
            let from = self.scan_from.max(self.pos);
            let Some(i) = memchr(b'\n', &buf[from..]) else {
                self.scan_from = buf.len();
                break;
            };
            let start = self.pos;
            let nl = from + i;
            let end = if nl > start && buf[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            let line = &buf[start..end];
            let known = memchr(b':', line).filter(|&c| {
                let k = &line[..c];
                k.eq_ignore_ascii_case(b"Privilege") || k.eq_ignore_ascii_case(b"ActionID")
            });
            match known {
                Some(c) => {
                    self.headers.push(split_header(buf, start, c, end));
                    self.pos = nl + 1;
                    self.scan_from = self.pos;
                    body_start = self.pos;
                }
                None => headers_done = true,
            }
        }
        let from = search_from.max(body_start);
        let Some(m) = memmem::find(&buf[from..], END_COMMAND) else {
            if buf.len() > self.max {
                // Keep the bytes a marker split by the end of `buf` may
                // have begun with.
                let keep = (END_COMMAND.len() - 1).min(buf.len() - body_start);
                return self.oversized_legacy(buf.len() - keep);
            }
            let search_from = buf
                .len()
                .saturating_sub(END_COMMAND.len() - 1)
                .max(body_start);
            self.mode = Mode::Legacy {
                body_start,
                search_from,
                headers_done,
            };
            return Status::Partial;
        };
        let marker = from + m;
        let after = marker + END_COMMAND.len();
        // The marker's own line end, then the blank line that ends the block.
        let Some(i) = memchr(b'\n', &buf[after..]) else {
            if buf.len() > self.max {
                return self.oversized_legacy(marker);
            }
            self.mode = Mode::Legacy {
                body_start,
                search_from: marker,
                headers_done,
            };
            return Status::Partial;
        };
        let Some(len) = legacy_block_end(buf, after + i + 1) else {
            self.mode = Mode::Legacy {
                body_start,
                search_from: marker,
                headers_done,
            };
            return Status::Partial;
        };
        self.reset();
        if len > self.max {
            // Complete but too large: the same verdict as when it arrives in pieces.
            self.headers.clear();
            return Status::Complete(Frame::Oversized { len });
        }
        Status::Complete(Frame::LegacyCommand {
            len,
            output: Span::new(body_start, marker),
        })
    }
}

/// The line a manager sends first: `Asterisk Call Manager/11.0.0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// The product name before the slash (`Asterisk Call Manager`).
    pub product: String,
    /// The AMI protocol version after the slash (`11.0.0`; not Asterisk's own version).
    pub version: String,
}

impl Greeting {
    /// The version as numbers (`11.0.0` gives `[11, 0, 0]`); parts that are not numbers are skipped.
    pub fn version_numbers(&self) -> Vec<u32> {
        self.version
            .split('.')
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// The longest greeting line accepted.
pub const MAX_GREETING: usize = 1024;

/// Parses the greeting at the start of `buf`: `Ok(None)` if the line is not
/// complete yet, `Ok(Some((greeting, consumed)))` once it is, or `Err(reason)`
/// if the bytes cannot be a manager greeting.
pub fn parse_greeting(buf: &[u8]) -> Result<Option<(Greeting, usize)>, &'static str> {
    let Some(nl) = memchr(b'\n', buf) else {
        return if buf.len() > MAX_GREETING {
            Err("greeting line too long")
        } else {
            Ok(None)
        };
    };
    let line = &buf[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| "greeting is not text")?;
    let (product, version) = line
        .rsplit_once('/')
        .ok_or("greeting has no '/' before the version")?;
    // Any manager-compatible server: `Asterisk Call Manager/1.0` ... `11.0.0`,
    // `Asterisk Manager Proxy/1.0` (astmanproxy). The version is numbers and
    // dots, which also tells an HTTP status line (`HTTP/1.1 400 ...`) apart.
    let version = version.trim();
    let numeric = !version.is_empty()
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        return Err("greeting version is not numbers and dots");
    }
    if product.trim().is_empty() || product.chars().any(char::is_control) {
        return Err("greeting has no product name");
    }
    Ok(Some((
        Greeting {
            product: product.to_owned(),
            version: version.trim().to_owned(),
        },
        nl + 1,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::message::Message;

    fn frames(input: &[u8], legacy: bool) -> Vec<(Frame, Vec<(String, String)>)> {
        frames_in_pieces(&[input], legacy)
    }

    /// The frames of `pieces` fed one after another into one buffer, with
    /// each message's headers; skipped bytes are left out.
    fn frames_in_pieces(pieces: &[&[u8]], legacy: bool) -> Vec<(Frame, Vec<(String, String)>)> {
        let mut f = Framer::default();
        let (mut buf, mut at, mut out) = (Vec::new(), 0, Vec::new());
        for piece in pieces {
            buf.extend_from_slice(piece);
            while let Status::Complete(frame) = f.advance(&buf[at..], legacy) {
                let len = frame.len();
                if matches!(frame, Frame::Message { .. } | Frame::LegacyCommand { .. }) {
                    let hs = Message::new(&buf[at..at + len], f.headers())
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    out.push((frame, hs));
                } else if !matches!(frame, Frame::Skip { .. }) {
                    out.push((frame, Vec::new()));
                }
                at += len;
            }
        }
        out
    }

    #[test]
    fn splits_on_first_colon_and_one_space() {
        let f = frames(
            b"Event: X\r\nA:b\r\nB:  two\r\nC: \r\nD: x: y\r\n\r\n",
            false,
        );
        assert_eq!(f.len(), 1);
        let hs = &f[0].1;
        assert_eq!(hs[1], ("A".into(), "b".into()));
        assert_eq!(hs[2], ("B".into(), " two".into()));
        assert_eq!(hs[3], ("C".into(), "".into()));
        assert_eq!(hs[4], ("D".into(), "x: y".into()));
    }

    #[test]
    fn lf_only_and_stray_blank_lines() {
        let f = frames(b"\r\n\nEvent: A\nK: v\n\n\r\nEvent: B\r\n\r\n", false);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].1[1], ("K".into(), "v".into()));
    }

    #[test]
    fn line_ends_on_every_side_of_a_block_edge_frame_alike_whole_and_split() {
        // Padding moves the lines across the 64-byte blocks the framer masks,
        // so each line end, each CR and the blank line fall on and either
        // side of a block edge; every split point is tried as well.
        for pad in 0..80 {
            let value = "x".repeat(pad);
            let stream = format!("Event: A\r\nKey: {value}\r\nK2:{value}\n\r\nEvent: B\nC: d\n\n");
            let expected = vec![
                vec![
                    ("Event".to_string(), "A".to_string()),
                    ("Key".to_string(), value.clone()),
                    ("K2".to_string(), value.clone()),
                ],
                vec![("Event".into(), "B".into()), ("C".into(), "d".into())],
            ];
            let headers = |frames: Vec<(Frame, Vec<(String, String)>)>| {
                frames.into_iter().map(|(_, h)| h).collect::<Vec<_>>()
            };
            let bytes = stream.as_bytes();
            assert_eq!(headers(frames(bytes, false)), expected, "pad {pad}");
            for cut in 0..=bytes.len() {
                let got = headers(frames_in_pieces(&[&bytes[..cut], &bytes[cut..]], false));
                assert_eq!(got, expected, "pad {pad} cut {cut}");
            }
        }
    }

    #[test]
    fn line_without_colon_is_malformed_and_framing_resumes() {
        let f = frames(b"Event: A\r\ngarbage\r\n\r\nEvent: B\r\n\r\n", false);
        assert!(matches!(f[0].0, Frame::Malformed { line: 10, .. }));
        assert_eq!(f[1].1[0].1, "B");
    }

    #[test]
    fn oversized_block_is_skipped_to_next_boundary() {
        let mut f = Framer::new(FramerConfig {
            max_message_size: 100,
        });
        let mut input = b"Event: Big\r\n".to_vec();
        for _ in 0..50 {
            input.extend_from_slice(b"Line: xxxxxxxxxxxxxxxx\r\n");
        }
        input.extend_from_slice(b"\r\nEvent: Small\r\n\r\n");
        let mut at = 0;
        let mut seen = Vec::new();
        while let Status::Complete(frame) = f.advance(&input[at..], false) {
            let len = match frame {
                Frame::Message { len } => {
                    seen.push(
                        Message::new(&input[at..at + len], f.headers())
                            .unwrap()
                            .get_str("Event")
                            .unwrap()
                            .to_owned(),
                    );
                    len
                }
                Frame::Oversized { len } => {
                    seen.push("oversized".into());
                    len
                }
                Frame::Skip { len } => len,
                other => panic!("{other:?}"),
            };
            at += len;
        }
        assert_eq!(seen, ["oversized", "Small"]);
        assert_eq!(at, input.len());
    }

    #[test]
    fn legacy_command_output_only_when_asked() {
        let input = b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nUptime: 5\nLine two\n\r\nmore\n--END COMMAND--\r\n\r\nEvent: After\r\n\r\n";
        let f = frames(input, true);
        match f[0].0 {
            Frame::LegacyCommand { output, .. } => {
                assert_eq!(output.of(input), b"Uptime: 5\nLine two\n\r\nmore\n")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(f[0].1[2].1, "7");
        assert_eq!(f[1].1[0].1, "After");
        // Without the switch the raw text is not AMI: the block is malformed.
        let f = frames(input, false);
        assert!(matches!(f[0].0, Frame::Malformed { .. }));
    }

    #[test]
    fn greeting() {
        assert_eq!(parse_greeting(b"Asterisk Call Manager/11.0"), Ok(None));
        let (g, n) = parse_greeting(b"Asterisk Call Manager/11.0.0\r\nResponse")
            .unwrap()
            .unwrap();
        assert_eq!(n, 30);
        assert_eq!(g.version_numbers(), [11, 0, 0]);
        assert!(parse_greeting(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
