//! The [`Command`] trait, the line writer, and the typed results shared by
//! several commands.

use super::codec::Reply;
use super::error::AgiError;

/// The longest command line every Asterisk reads as one command, in bytes
/// including the LF: the limit [`Command::encode`] applies.
///
/// `res_agi.c` (`run_agi`) reads each command with `fgets` into a buffer of
/// `AGI_BUF_LEN` bytes, so it takes at most `AGI_BUF_LEN - 1` bytes at a
/// time: a longer line is cut there and the rest is read and run as the
/// *next* command (a value holding `" EXEC System "...` past the cut would
/// run it). `AGI_BUF_LEN` was 2048 up to 20.15, 21.10 and 22.5, and is 8192
/// from 20.16.0, 21.11.0 and 22.6.0 on (and in 23); see
/// [`max_command_line`] for the limit of a given server and
/// [`MAX_COMMAND_LINE_8K`] for the newer one. A line over the limit is
/// refused with [`AgiError::CommandTooLong`].
pub const MAX_COMMAND_LINE: usize = 2047;

/// The longest command line of an Asterisk whose `AGI_BUF_LEN` is 8192
/// (20.16.0, 21.11.0, 22.6.0 and later, 23): 8191 bytes including the LF.
pub const MAX_COMMAND_LINE_8K: usize = 8191;

/// The longest command line (bytes, LF included) the Asterisk that sent
/// `agi_version` reads as one command.
///
/// [`MAX_COMMAND_LINE_8K`] for 20.16 and later 20.x, 21.11 and later 21.x,
/// 22.6 and later 22.x, and 23 or later (pre-releases of those count too:
/// `22.6.0-rc1` has the larger buffer); a leading `certified/` or
/// `certified-` is ignored, so a certified release counts by the release it
/// is built on. Anything else, including an absent or unparsable version
/// (`GIT-master-…` builds), gets the conservative [`MAX_COMMAND_LINE`]:
/// sending a too-long line to an old server would run its tail as a
/// command, while refusing a line that would have fitted only costs an
/// error.
pub fn max_command_line(agi_version: Option<&str>) -> usize {
    let Some(v) = agi_version else {
        return MAX_COMMAND_LINE;
    };
    let v = v.trim();
    let v = v
        .strip_prefix("certified/")
        .or_else(|| v.strip_prefix("certified-"))
        .unwrap_or(v);
    let Some((major, minor)) = major_minor(v) else {
        return MAX_COMMAND_LINE;
    };
    let large = match major {
        20 => minor >= 16,
        21 => minor >= 11,
        22 => minor >= 6,
        m => m >= 23,
    };
    if large {
        MAX_COMMAND_LINE_8K
    } else {
        MAX_COMMAND_LINE
    }
}

/// `MAJOR.MINOR` at the start of a version string (`22.6` of `22.6.0-rc1`).
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits(v);
    let major = v[..n].parse().ok()?;
    let rest = v[n..].strip_prefix('.')?;
    let minor = rest[..digits(rest)].parse().ok()?;
    Some((major, minor))
}

/// An AGI command: it writes itself as one line and knows how to read its
/// reply into a typed result.
///
/// All 47 commands of Asterisk 22 are in [`commands`](super::commands);
/// [`RawCommand`](super::commands::RawCommand) sends anything else.
pub trait Command {
    /// The typed result of a successful command.
    type Output;

    /// The command words, e.g. `"SET VARIABLE"`.
    fn name(&self) -> &'static str;

    /// Write the arguments (the writer already holds the command words).
    fn write_args(&self, w: &mut ArgWriter<'_>);

    /// Interpret the final reply. The default implementation of every
    /// command first applies [`Reply::check`] (510, 511, 520, 503 become
    /// errors).
    fn parse_reply(&self, reply: &Reply<'_>) -> Result<Self::Output, AgiError>;

    /// Append the command line (with its LF) to `out`. On error (CR, LF or
    /// NUL inside an argument, a line longer than [`MAX_COMMAND_LINE`]) `out` is
    /// left exactly as it was.
    ///
    /// This applies the limit of every Asterisk; use
    /// [`encode_limited`](Self::encode_limited) with
    /// [`Env::max_command_line`](super::Env::max_command_line) for the limit
    /// of the server at hand (the crate's transports do).
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), AgiError> {
        self.encode_limited(out, MAX_COMMAND_LINE)
    }

    /// Like [`encode`](Self::encode), refusing a line longer than `limit`
    /// bytes (LF included) with [`AgiError::CommandTooLong`].
    fn encode_limited(&self, out: &mut Vec<u8>, limit: usize) -> Result<(), AgiError> {
        let mut w = ArgWriter::with_limit(out, self.name(), limit);
        self.write_args(&mut w);
        w.finish()
    }

    /// The command line as a `String`, without the LF (for logs).
    fn to_line(&self) -> Result<String, AgiError> {
        let mut v = Vec::new();
        self.encode(&mut v)?;
        v.pop();
        Ok(String::from_utf8_lossy(&v).into_owned())
    }
}

impl<C: Command + ?Sized> Command for &C {
    type Output = C::Output;
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn write_args(&self, w: &mut ArgWriter<'_>) {
        (**self).write_args(w)
    }
    fn parse_reply(&self, reply: &Reply<'_>) -> Result<Self::Output, AgiError> {
        (**self).parse_reply(reply)
    }
    // Forwarded too: a command that writes its own line (`RawCommand`)
    // overrides these rather than `write_args`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), AgiError> {
        (**self).encode(out)
    }
    fn encode_limited(&self, out: &mut Vec<u8>, limit: usize) -> Result<(), AgiError> {
        (**self).encode_limited(out, limit)
    }
}

/// Writes the arguments of one command line into a buffer, quoting as
/// Asterisk's argument splitter expects: an argument that is empty or holds
/// a space, tab, `"` or `\` is wrapped in double quotes with `"` and `\`
/// escaped by a backslash. CR, LF or NUL is refused (a NUL ends the C
/// string Asterisk parses: over FastAGI it then waits for the rest of a line
/// that never comes), and so is a line longer than the limit
/// ([`MAX_COMMAND_LINE`] unless set with [`with_limit`](Self::with_limit)):
/// the whole line is rolled back by [`finish`](Self::finish).
#[derive(Debug)]
pub struct ArgWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    name: &'static str,
    index: usize,
    bad: Option<usize>,
    limit: usize,
}

impl<'a> ArgWriter<'a> {
    /// Start a line with the command words `name`, for a line of at most
    /// [`MAX_COMMAND_LINE`] bytes.
    pub fn new(out: &'a mut Vec<u8>, name: &'static str) -> Self {
        Self::with_limit(out, name, MAX_COMMAND_LINE)
    }

    /// Start a line with the command words `name`, for a line of at most
    /// `limit` bytes including the LF (see [`max_command_line`]).
    pub fn with_limit(out: &'a mut Vec<u8>, name: &'static str, limit: usize) -> Self {
        let start = out.len();
        out.extend_from_slice(name.as_bytes());
        ArgWriter {
            out,
            start,
            name,
            index: 0,
            bad: None,
            limit,
        }
    }

    fn check(&mut self, s: &str) -> bool {
        if self.bad.is_some() {
            return false;
        }
        if s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            self.bad = Some(self.index);
            return false;
        }
        true
    }

    /// An argument, quoted only if needed.
    pub fn arg(&mut self, s: &str) -> &mut Self {
        if self.check(s) {
            let needs = s.is_empty() || s.bytes().any(|b| matches!(b, b' ' | b'\t' | b'"' | b'\\'));
            self.out.push(b' ');
            if needs {
                self.push_quoted(s);
            } else {
                self.out.extend_from_slice(s.as_bytes());
            }
        }
        self.index += 1;
        self
    }

    /// An argument, always in double quotes (as Asterisk's own examples
    /// write escape digits and values: `""`, `"#"`, `"1"`).
    pub fn quoted(&mut self, s: &str) -> &mut Self {
        if self.check(s) {
            self.out.push(b' ');
            self.push_quoted(s);
        }
        self.index += 1;
        self
    }

    /// A number.
    pub fn int(&mut self, n: i64) -> &mut Self {
        if self.bad.is_none() {
            use std::io::Write as _;
            let _ = write!(self.out, " {n}");
        }
        self.index += 1;
        self
    }

    /// An optional argument: written only if `Some` (unquoted if possible).
    pub fn opt(&mut self, s: Option<&str>) -> &mut Self {
        if let Some(s) = s {
            self.arg(s);
        }
        self
    }

    /// An optional number.
    pub fn opt_int(&mut self, n: Option<i64>) -> &mut Self {
        if let Some(n) = n {
            self.int(n);
        }
        self
    }

    fn push_quoted(&mut self, s: &str) {
        self.out.push(b'"');
        for &b in s.as_bytes() {
            if b == b'"' || b == b'\\' {
                self.out.push(b'\\');
            }
            self.out.push(b);
        }
        self.out.push(b'"');
    }

    /// End the line: append LF, or roll back and report the bad argument
    /// or the overlong line.
    pub fn finish(self) -> Result<(), AgiError> {
        if let Some(index) = self.bad {
            self.out.truncate(self.start);
            return Err(AgiError::InvalidArgument {
                command: self.name,
                index,
            });
        }
        let len = self.out.len() - self.start + 1;
        if len > self.limit {
            self.out.truncate(self.start);
            return Err(AgiError::CommandTooLong {
                command: self.name,
                len,
                limit: self.limit,
            });
        }
        self.out.push(b'\n');
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Shared result types and helpers
// ---------------------------------------------------------------------------

/// The outcome of a playback that can be interrupted by a digit
/// (`STREAM FILE`, `CONTROL STREAM FILE`, `GET OPTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Playback {
    /// The digit that interrupted playback, if any.
    pub digit: Option<char>,
    /// Where playback stopped, in samples (`endpos=`), if reported.
    pub endpos: Option<i64>,
}

/// Digits collected by `GET DATA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitsInput {
    /// The digits entered (may be empty).
    pub digits: String,
    /// True if input ended because of the timeout (`(timeout)`).
    pub timed_out: bool,
}

/// State of a channel, as `CHANNEL STATUS` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelState {
    /// 0: down and available.
    Down,
    /// 1: down but reserved.
    Reserved,
    /// 2: off hook.
    OffHook,
    /// 3: digits (or equivalent) have been dialed.
    Dialing,
    /// 4: line is ringing.
    Ring,
    /// 5: remote end is ringing.
    Ringing,
    /// 6: line is up.
    Up,
    /// 7: line is busy.
    Busy,
    /// Any other value.
    Other(i64),
}

impl ChannelState {
    /// From the numeric code.
    pub fn from_code(n: i64) -> Self {
        match n {
            0 => Self::Down,
            1 => Self::Reserved,
            2 => Self::OffHook,
            3 => Self::Dialing,
            4 => Self::Ring,
            5 => Self::Ringing,
            6 => Self::Up,
            7 => Self::Busy,
            n => Self::Other(n),
        }
    }
}

/// How a `RECORD FILE` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordEnd {
    /// The maximum time or silence limit was reached (`(timeout)`).
    Timeout,
    /// A digit was pressed (`(dtmf)`).
    Digit(char),
    /// The caller hung up during the recording (`(hangup)`).
    Hangup,
    /// Asterisk reported a random error while reading frames.
    RandomError,
    /// Any other reason text.
    Other,
}

/// The result of `RECORD FILE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recording {
    /// Why recording stopped.
    pub ended_by: RecordEnd,
    /// The end position in samples.
    pub endpos: Option<i64>,
}

/// Why `SPEECH RECOGNIZE` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpeechOutcome {
    /// Speech was recognised; the matches follow.
    Speech(Vec<SpeechMatch>),
    /// A DTMF digit was pressed.
    Digit(char),
    /// Nothing was said before the timeout.
    Timeout,
    /// The caller hung up (`(hangup)`).
    Hangup,
    /// `result=0 endpos=N`: recognition ended without a reason.
    /// `res_agi.c` (`handle_speechrecognize`) has this reply but no path to
    /// it in any version checked (1.6.0 to 22); the bare `200 result=0`
    /// (no speech object, or no signed-linear input) is an error instead.
    Nothing,
}

/// One recognition result of `SPEECH RECOGNIZE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechMatch {
    /// Engine confidence score.
    pub score: i64,
    /// The recognised text, as the engine gave it: Asterisk prints it
    /// between double quotes without escaping anything, so a `"` or `\`
    /// in it arrives (and stays) as is.
    pub text: String,
    /// The grammar that matched.
    pub grammar: String,
}

/// The result of `SPEECH RECOGNIZE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechResult {
    /// What happened.
    pub outcome: SpeechOutcome,
    /// Prompt position in samples when recognition ended.
    pub endpos: Option<i64>,
}

/// What `DATABASE DELTREE` reports.
///
/// Asterisk answers `result=0` when it deleted at least one key and
/// `result=1` when it deleted none, the opposite of what its own command
/// documentation says: `res_agi.c` (`handle_dbdeltree`) prints `0` when
/// `ast_db_deltree` returned a count above zero (every version from 1.4 to
/// 23). This type names the outcome so that nobody has to remember which
/// digit is which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelTreeOutcome {
    /// `result=0`: at least one key was deleted.
    Deleted,
    /// `result=1`: nothing was deleted. Either no key matched, or the
    /// database could not be used; Asterisk tells the two apart only in its
    /// log (since 1.8.18, 10.10 and 11.0; before those a database error
    /// came back as `result=0`).
    NothingDeleted,
}

impl DelTreeOutcome {
    /// True for [`Deleted`](Self::Deleted).
    pub fn deleted(self) -> bool {
        self == DelTreeOutcome::Deleted
    }
}

pub(crate) fn result(reply: &Reply<'_>) -> Result<i64, AgiError> {
    reply.checked_result()
}

/// Result must be >= 0.
pub(crate) fn nonneg(reply: &Reply<'_>) -> Result<i64, AgiError> {
    let r = result(reply)?;
    if r < 0 {
        return Err(AgiError::failed(r, reply.line()));
    }
    Ok(r)
}

/// Result must be exactly 1 (0 or negative mean failure).
pub(crate) fn one(reply: &Reply<'_>) -> Result<(), AgiError> {
    match result(reply)? {
        1 => Ok(()),
        r => Err(AgiError::failed(r, reply.line())),
    }
}

/// 1 → true, 0 → false, negative → error.
pub(crate) fn flag(reply: &Reply<'_>) -> Result<bool, AgiError> {
    Ok(nonneg(reply)? != 0)
}

/// A digit as its ASCII code; 0 means none.
pub(crate) fn digit(reply: &Reply<'_>) -> Result<Option<char>, AgiError> {
    let r = nonneg(reply)?;
    Ok(code_char(r))
}

pub(crate) fn code_char(r: i64) -> Option<char> {
    if r <= 0 {
        None
    } else {
        u32::try_from(r).ok().and_then(char::from_u32)
    }
}

pub(crate) fn playback(reply: &Reply<'_>) -> Result<Playback, AgiError> {
    let digit = digit(reply)?;
    Ok(Playback {
        digit,
        endpos: reply.endpos,
    })
}

/// `result=1 (value)` → Some, `result=0` → None.
pub(crate) fn value(reply: &Reply<'_>) -> Result<Option<String>, AgiError> {
    match nonneg(reply)? {
        0 => Ok(None),
        _ => Ok(Some(
            reply
                .data
                .map(|d| String::from_utf8_lossy(d).into_owned())
                .unwrap_or_default(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_to_limit() {
        for (v, want) in [
            ("20.15.9", MAX_COMMAND_LINE),
            ("20.16.0", MAX_COMMAND_LINE_8K),
            ("21.10.0", MAX_COMMAND_LINE),
            ("21.11.2", MAX_COMMAND_LINE_8K),
            ("22.5.0", MAX_COMMAND_LINE),
            ("22.6.0", MAX_COMMAND_LINE_8K),
            ("23.0.0", MAX_COMMAND_LINE_8K),
            ("100.0.0", MAX_COMMAND_LINE_8K),
            ("19.8.1", MAX_COMMAND_LINE),
            (" 22.6.0 ", MAX_COMMAND_LINE_8K),
            ("certified-22.8-cert1", MAX_COMMAND_LINE_8K),
            ("99999999999.1", MAX_COMMAND_LINE),
            ("22.", MAX_COMMAND_LINE),
            (".6", MAX_COMMAND_LINE),
        ] {
            assert_eq!(max_command_line(Some(v)), want, "{v}");
        }
        assert_eq!(major_minor("22.6.0-rc1"), Some((22, 6)));
    }
}
