//! All 47 AGI commands of Asterisk 22, as typed values.
//!
//! Where Asterisk's behaviour differs from its own documentation, the types
//! follow the behaviour (`res_agi.c`), and the command's doc says how:
//! [`DatabaseDelTree`], [`ReceiveChar`], [`SpeechRecognize`].
//!
//! Each struct writes one command line and parses its reply into a typed
//! [`Command::Output`]. Required parameters are constructor arguments;
//! optional ones have builder methods. Where a later optional parameter is
//! set and an earlier one is not, the earlier one is written with Asterisk's
//! default so positions stay right.

use super::codec::{OwnedReply, Reply};
use super::command::{
    digit, flag, nonneg, one, playback, result, value, ArgWriter, ChannelState, Command,
    DelTreeOutcome, DigitsInput, Playback, RecordEnd, Recording, SpeechMatch, SpeechOutcome,
    SpeechResult,
};
use super::error::AgiError;
use std::time::Duration;

macro_rules! command {
    ($ty:ty, $name:literal, $out:ty,
     |$s:ident, $w:ident| $write:block,
     |$s2:ident, $r:ident| $parse:expr) => {
        impl Command for $ty {
            type Output = $out;
            fn name(&self) -> &'static str {
                $name
            }
            #[allow(unused_variables)]
            fn write_args(&self, $w: &mut ArgWriter<'_>) {
                let $s = self;
                $write
            }
            #[allow(unused_variables)]
            fn parse_reply(&self, $r: &Reply<'_>) -> Result<$out, AgiError> {
                let $s2 = self;
                $parse
            }
        }
    };
}

// --- ANSWER -----------------------------------------------------------------

/// `ANSWER`: answer the channel if it is not up yet.
///
/// Result: `()`; a failure to answer is [`AgiError::Failed`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answer;
command!(Answer, "ANSWER", (), |s, w| {}, |s, r| nonneg(r).map(drop));

// --- ASYNCAGI BREAK -----------------------------------------------------------

/// `ASYNCAGI BREAK`: leave AsyncAGI; the dialplan continues after `AGI()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsyncAgiBreak;
command!(AsyncAgiBreak, "ASYNCAGI BREAK", (), |s, w| {}, |s, r| {
    nonneg(r).map(drop)
});

// --- CHANNEL STATUS -----------------------------------------------------------

/// `CHANNEL STATUS [CHANNELNAME]`: state of this channel or another one.
///
/// Result: the [`ChannelState`], or `None` if the named channel does not exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelStatus {
    /// Another channel to ask about (default: the AGI channel).
    pub channel: Option<String>,
}
impl ChannelStatus {
    /// Status of the AGI channel.
    pub fn new() -> Self {
        Self::default()
    }
    /// Status of the named channel.
    pub fn of(channel: impl Into<String>) -> Self {
        Self {
            channel: Some(channel.into()),
        }
    }
}
command!(
    ChannelStatus,
    "CHANNEL STATUS",
    Option<ChannelState>,
    |s, w| {
        w.opt(s.channel.as_deref());
    },
    |s, r| match result(r)? {
        -1 => Ok(None),
        n if n >= 0 => Ok(Some(ChannelState::from_code(n))),
        n => Err(AgiError::failed(n, r.line())),
    }
);

// --- CONTROL STREAM FILE -------------------------------------------------------

/// `CONTROL STREAM FILE FILENAME ESCAPE_DIGITS [SKIPMS] [FFCHAR] [REWCHR]
/// [PAUSECHR] [OFFSETMS]`: play a file the caller can fast-forward, rewind
/// and pause with DTMF.
///
/// Result: the digit that stopped playback (if any) and the end position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlStreamFile {
    /// Sound file, without extension.
    pub file: String,
    /// Digits that stop playback.
    pub escape_digits: String,
    /// Milliseconds to skip on fast-forward/rewind (Asterisk default 3000).
    pub skip_ms: Option<i64>,
    /// Fast-forward digit (default `#`).
    pub ff_char: Option<String>,
    /// Rewind digit (default `*`).
    pub rew_char: Option<String>,
    /// Pause digit (default none).
    pub pause_char: Option<String>,
    /// Start offset in milliseconds.
    pub offset_ms: Option<i64>,
}
impl ControlStreamFile {
    /// Play `file`, stoppable by `escape_digits`.
    pub fn new(file: impl Into<String>, escape_digits: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            escape_digits: escape_digits.into(),
            ..Self::default()
        }
    }
    /// Skip step in milliseconds.
    pub fn skip_ms(mut self, ms: i64) -> Self {
        self.skip_ms = Some(ms);
        self
    }
    /// Fast-forward, rewind and pause digits.
    pub fn controls(mut self, ff: &str, rew: &str, pause: &str) -> Self {
        self.ff_char = Some(ff.into());
        self.rew_char = Some(rew.into());
        self.pause_char = Some(pause.into());
        self
    }
    /// Start offset in milliseconds.
    pub fn offset_ms(mut self, ms: i64) -> Self {
        self.offset_ms = Some(ms);
        self
    }
}
command!(
    ControlStreamFile,
    "CONTROL STREAM FILE",
    Playback,
    |s, w| {
        w.arg(&s.file).quoted(&s.escape_digits);
        let last = [
            s.skip_ms.is_some(),
            s.ff_char.is_some(),
            s.rew_char.is_some(),
            s.pause_char.is_some(),
            s.offset_ms.is_some(),
        ]
        .iter()
        .rposition(|&b| b)
        .map_or(0, |i| i + 1);
        if last >= 1 {
            w.int(s.skip_ms.unwrap_or(3000));
        }
        if last >= 2 {
            w.quoted(s.ff_char.as_deref().unwrap_or("#"));
        }
        if last >= 3 {
            w.quoted(s.rew_char.as_deref().unwrap_or("*"));
        }
        if last >= 4 {
            w.quoted(s.pause_char.as_deref().unwrap_or(""));
        }
        if last >= 5 {
            w.int(s.offset_ms.unwrap_or(0));
        }
    },
    |s, r| playback(r)
);

// --- DATABASE ------------------------------------------------------------------

/// `DATABASE DEL FAMILY KEY`: delete one AstDB key.
///
/// Result: `true` if the delete ran (`result=1`), `false` if the database
/// refused it (`result=0`). A key that did not exist still gives `true`:
/// `ast_db_del` (`main/db.c`, the SQLite store of Asterisk 10 and later)
/// fails only when the statement fails, not when it matched no row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseDel {
    /// Family.
    pub family: String,
    /// Key.
    pub key: String,
}
impl DatabaseDel {
    /// Delete `family/key`.
    pub fn new(family: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            family: family.into(),
            key: key.into(),
        }
    }
}
command!(
    DatabaseDel,
    "DATABASE DEL",
    bool,
    |s, w| {
        w.arg(&s.family).arg(&s.key);
    },
    |s, r| flag(r)
);

/// `DATABASE DELTREE FAMILY [KEYTREE]`: delete a family or a subtree of it.
///
/// Result: a [`DelTreeOutcome`]. On the wire `result=0` means keys *were*
/// deleted and `result=1` that none were (`res_agi.c`,
/// `handle_dbdeltree`; Asterisk's own documentation says the opposite).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseDelTree {
    /// Family.
    pub family: String,
    /// Subtree inside the family (default: the whole family).
    pub keytree: Option<String>,
}
impl DatabaseDelTree {
    /// Delete all of `family`.
    pub fn new(family: impl Into<String>) -> Self {
        Self {
            family: family.into(),
            keytree: None,
        }
    }
    /// Only the subtree `keytree`.
    pub fn keytree(mut self, keytree: impl Into<String>) -> Self {
        self.keytree = Some(keytree.into());
        self
    }
}
command!(
    DatabaseDelTree,
    "DATABASE DELTREE",
    DelTreeOutcome,
    |s, w| {
        w.arg(&s.family).opt(s.keytree.as_deref());
    },
    |s, r| match result(r)? {
        0 => Ok(DelTreeOutcome::Deleted),
        1 => Ok(DelTreeOutcome::NothingDeleted),
        n => Err(AgiError::failed(n, r.line())),
    }
);

/// `DATABASE GET FAMILY KEY`: read an AstDB value.
///
/// Result: the value, or `None` if the key does not exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseGet {
    /// Family.
    pub family: String,
    /// Key.
    pub key: String,
}
impl DatabaseGet {
    /// Read `family/key`.
    pub fn new(family: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            family: family.into(),
            key: key.into(),
        }
    }
}
command!(
    DatabaseGet,
    "DATABASE GET",
    Option<String>,
    |s, w| {
        w.arg(&s.family).arg(&s.key);
    },
    |s, r| value(r)
);

/// `DATABASE PUT FAMILY KEY VALUE`: store an AstDB value.
///
/// Result: `true` if stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabasePut {
    /// Family.
    pub family: String,
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}
impl DatabasePut {
    /// Store `value` at `family/key`.
    pub fn new(
        family: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            family: family.into(),
            key: key.into(),
            value: value.into(),
        }
    }
}
command!(
    DatabasePut,
    "DATABASE PUT",
    bool,
    |s, w| {
        w.arg(&s.family).arg(&s.key).arg(&s.value);
    },
    |s, r| flag(r)
);

// --- EXEC ------------------------------------------------------------------------

/// `EXEC APPLICATION OPTIONS`: run a dialplan application.
///
/// Result: the application's return value (often 0; -1 usually means the
/// channel hung up). An unknown application (`result=-2`) is
/// [`AgiError::Failed`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exec {
    /// Application name, e.g. `Dial`.
    pub application: String,
    /// Its argument string, comma-separated as in the dialplan.
    pub options: String,
}
impl Exec {
    /// Run `application(options)`.
    pub fn new(application: impl Into<String>, options: impl Into<String>) -> Self {
        Self {
            application: application.into(),
            options: options.into(),
        }
    }
}
command!(
    Exec,
    "EXEC",
    i64,
    |s, w| {
        w.arg(&s.application).arg(&s.options);
    },
    |s, r| match result(r)? {
        -2 => Err(AgiError::failed(-2, r.line())),
        n => Ok(n),
    }
);

// --- GET DATA / GET OPTION ---------------------------------------------------------

/// `GET DATA FILE [TIMEOUT] [MAXDIGITS]`: play a prompt and collect digits.
///
/// Result: the digits and whether the timeout ended input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetData {
    /// Prompt file.
    pub file: String,
    /// Timeout in milliseconds (0 or absent: Asterisk's default).
    pub timeout_ms: Option<i64>,
    /// Maximum number of digits.
    pub max_digits: Option<i64>,
}
impl GetData {
    /// Prompt with `file`.
    pub fn new(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            ..Self::default()
        }
    }
    /// Timeout in milliseconds.
    pub fn timeout_ms(mut self, ms: i64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
    /// Maximum digits.
    pub fn max_digits(mut self, n: i64) -> Self {
        self.max_digits = Some(n);
        self
    }
}
command!(
    GetData,
    "GET DATA",
    DigitsInput,
    |s, w| {
        w.arg(&s.file);
        if s.timeout_ms.is_some() || s.max_digits.is_some() {
            w.int(s.timeout_ms.unwrap_or(0));
        }
        w.opt_int(s.max_digits);
    },
    |s, r| {
        r.check()?;
        let res = r.result.unwrap_or(b"");
        if res.first() == Some(&b'-') {
            return Err(AgiError::failed(
                super::codec::parse_i64(res).unwrap_or(-1),
                r.line(),
            ));
        }
        Ok(DigitsInput {
            digits: String::from_utf8_lossy(res).into_owned(),
            timed_out: r.data == Some(b"timeout"),
        })
    }
);

/// `GET OPTION FILENAME ESCAPE_DIGITS [TIMEOUT]`: like `STREAM FILE`, then
/// wait up to the timeout (in milliseconds) for a digit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOption {
    /// Sound file.
    pub file: String,
    /// Digits that stop playback.
    pub escape_digits: String,
    /// Milliseconds to wait for a digit after playback.
    pub timeout_ms: Option<i64>,
}
impl GetOption {
    /// Play `file` and wait for one of `escape_digits`.
    pub fn new(file: impl Into<String>, escape_digits: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            escape_digits: escape_digits.into(),
            timeout_ms: None,
        }
    }
    /// Wait this long after playback.
    pub fn timeout_ms(mut self, ms: i64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
}
command!(
    GetOption,
    "GET OPTION",
    Playback,
    |s, w| {
        w.arg(&s.file)
            .quoted(&s.escape_digits)
            .opt_int(s.timeout_ms);
    },
    |s, r| playback(r)
);

// --- Variables ------------------------------------------------------------------

/// `GET FULL VARIABLE EXPRESSION [CHANNELNAME]`: evaluate an expression
/// such as `${CALLERID(all)}` with full dialplan substitution.
///
/// Result: the value, or `None` if it could not be evaluated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetFullVariable {
    /// The expression, with `${...}`.
    pub expression: String,
    /// Evaluate on another channel.
    pub channel: Option<String>,
}
impl GetFullVariable {
    /// Evaluate `expression`.
    pub fn new(expression: impl Into<String>) -> Self {
        Self {
            expression: expression.into(),
            channel: None,
        }
    }
    /// On channel `channel`.
    pub fn on(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }
}
command!(
    GetFullVariable,
    "GET FULL VARIABLE",
    Option<String>,
    |s, w| {
        w.quoted(&s.expression).opt(s.channel.as_deref());
    },
    |s, r| value(r)
);

/// `GET VARIABLE VARIABLENAME`: read a channel variable or function.
///
/// Result: the value, or `None` if the variable is not set. Works on a dead
/// channel too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetVariable {
    /// Variable or function, e.g. `CALLERID(num)`.
    pub name: String,
}
impl GetVariable {
    /// Read `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}
command!(
    GetVariable,
    "GET VARIABLE",
    Option<String>,
    |s, w| {
        w.arg(&s.name);
    },
    |s, r| value(r)
);

/// `SET VARIABLE VARIABLENAME VALUE`: set a channel variable or function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetVariable {
    /// Variable name.
    pub name: String,
    /// New value (always sent in quotes).
    pub value: String,
}
impl SetVariable {
    /// Set `name` to `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}
command!(
    SetVariable,
    "SET VARIABLE",
    (),
    |s, w| {
        w.arg(&s.name).quoted(&s.value);
    },
    |s, r| nonneg(r).map(drop)
);

// --- GOSUB ---------------------------------------------------------------------------

/// `GOSUB CONTEXT EXTENSION PRIORITY [OPTIONAL-ARGUMENT]`: run a dialplan
/// subroutine and come back. Asterisk first answers `100 result=0 Trying...`
/// (skipped by the transports), then the final reply when it returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gosub {
    /// Context.
    pub context: String,
    /// Extension.
    pub extension: String,
    /// Priority (number or label).
    pub priority: String,
    /// Argument string passed to the subroutine (`ARG1,ARG2,...`).
    pub argument: Option<String>,
}
impl Gosub {
    /// Call `context,extension,priority`.
    pub fn new(
        context: impl Into<String>,
        extension: impl Into<String>,
        priority: impl Into<String>,
    ) -> Self {
        Self {
            context: context.into(),
            extension: extension.into(),
            priority: priority.into(),
            argument: None,
        }
    }
    /// With arguments.
    pub fn argument(mut self, a: impl Into<String>) -> Self {
        self.argument = Some(a.into());
        self
    }
}
command!(
    Gosub,
    "GOSUB",
    (),
    |s, w| {
        w.arg(&s.context)
            .arg(&s.extension)
            .arg(&s.priority)
            .opt(s.argument.as_deref());
    },
    |s, r| match result(r)? {
        0 => Ok(()),
        n => Err(AgiError::failed(n, r.line())),
    }
);

// --- HANGUP / NOOP ----------------------------------------------------------------------

/// `HANGUP [CHANNELNAME]`: hang up this channel or a named one.
///
/// Asterisk replies `200 result=1` and then (for this channel) sends the
/// `HANGUP` line; the session is over after that.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hangup {
    /// Another channel to hang up.
    pub channel: Option<String>,
}
impl Hangup {
    /// Hang up the AGI channel.
    pub fn new() -> Self {
        Self::default()
    }
    /// Hang up `channel`.
    pub fn channel(channel: impl Into<String>) -> Self {
        Self {
            channel: Some(channel.into()),
        }
    }
}
command!(
    Hangup,
    "HANGUP",
    (),
    |s, w| {
        w.opt(s.channel.as_deref());
    },
    |s, r| one(r)
);

/// `NOOP [TEXT]`: does nothing (the text shows up in Asterisk's debug log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Noop {
    /// Optional text.
    pub text: Option<String>,
}
impl Noop {
    /// A bare `NOOP`.
    pub fn new() -> Self {
        Self::default()
    }
    /// `NOOP "text"`.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
        }
    }
}
command!(
    Noop,
    "NOOP",
    (),
    |s, w| {
        if let Some(t) = &s.text {
            w.quoted(t);
        }
    },
    |s, r| result(r).map(drop)
);

// --- RECEIVE ----------------------------------------------------------------------------

/// `RECEIVE CHAR TIMEOUT`: wait for one character of text (channels that
/// support text only).
///
/// Result: the first byte of the text frame that arrived (as a Latin-1
/// `char`), or `None` when no character came. Asterisk cannot say why none
/// came: `ast_recvchar` (`main/channel.c`) returns -1 alike for a timeout,
/// a hangup and a failed wait, and `res_agi.c` (`handle_recvchar`) prints
/// every -1 as `200 result=-1 (hangup)`, so that reply is `None`, not a
/// hangup error (every version from 1.4 to 23). `200 result=0 (timeout)`
/// (an empty text frame) is `None` as well. If the channel did hang up, the
/// next command says so (`511`, or the `HANGUP` line over FastAGI).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiveChar {
    /// Milliseconds to wait; a negative value waits without limit, and 0
    /// returns at once (Asterisk's documentation says 0 waits forever, but
    /// `ast_recvtext` stops as soon as the time left is 0).
    pub timeout_ms: i64,
}
impl ReceiveChar {
    /// Wait up to `timeout_ms`.
    pub fn new(timeout_ms: i64) -> Self {
        Self { timeout_ms }
    }
}
command!(
    ReceiveChar,
    "RECEIVE CHAR",
    Option<char>,
    |s, w| {
        w.int(s.timeout_ms);
    },
    |s, r| match result(r)? {
        -1 => Ok(None),
        _ => digit(r),
    }
);

/// `RECEIVE TEXT TIMEOUT`: wait for a text message.
///
/// Result: the text, which may hold line feeds (Asterisk prints it as is;
/// the framer keeps such a reply whole). No message (timeout, hangup or a
/// failed wait, which Asterisk reports alike as `result=-1`) is
/// [`AgiError::Failed`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiveText {
    /// Milliseconds to wait; a negative value waits without limit, and 0
    /// returns at once (as for [`ReceiveChar`]).
    pub timeout_ms: i64,
}
impl ReceiveText {
    /// Wait up to `timeout_ms`.
    pub fn new(timeout_ms: i64) -> Self {
        Self { timeout_ms }
    }
}
command!(
    ReceiveText,
    "RECEIVE TEXT",
    String,
    |s, w| {
        w.int(s.timeout_ms);
    },
    |s, r| {
        one(r)?;
        Ok(r.data_str().map(|d| d.into_owned()).unwrap_or_default())
    }
);

// --- RECORD FILE ---------------------------------------------------------------------------

/// `RECORD FILE FILENAME FORMAT ESCAPE_DIGITS TIMEOUT [OFFSET_SAMPLES]
/// [BEEP] [S=SILENCE]`: record the caller to a file.
///
/// Result: why it stopped and the end position. A hangup during recording is
/// reported as [`RecordEnd::Hangup`] (the file is kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFile {
    /// File name without extension.
    pub file: String,
    /// Format, e.g. `wav`.
    pub format: String,
    /// Digits that stop recording.
    pub escape_digits: String,
    /// Maximum duration in milliseconds (-1: none).
    pub timeout_ms: i64,
    /// Seek this many samples into an existing file first.
    pub offset_samples: Option<i64>,
    /// Play a beep first.
    pub beep: bool,
    /// Stop after this many seconds of silence.
    pub silence_s: Option<i64>,
}
impl RecordFile {
    /// Record to `file.format`, up to `timeout_ms`.
    pub fn new(
        file: impl Into<String>,
        format: impl Into<String>,
        escape_digits: impl Into<String>,
        timeout_ms: i64,
    ) -> Self {
        Self {
            file: file.into(),
            format: format.into(),
            escape_digits: escape_digits.into(),
            timeout_ms,
            ..Self::default()
        }
    }
    /// Beep before recording.
    pub fn beep(mut self) -> Self {
        self.beep = true;
        self
    }
    /// Stop on `s` seconds of silence.
    pub fn silence(mut self, s: i64) -> Self {
        self.silence_s = Some(s);
        self
    }
    /// Start offset in samples.
    pub fn offset_samples(mut self, n: i64) -> Self {
        self.offset_samples = Some(n);
        self
    }
}
command!(
    RecordFile,
    "RECORD FILE",
    Recording,
    |s, w| {
        w.arg(&s.file)
            .arg(&s.format)
            .quoted(&s.escape_digits)
            .int(s.timeout_ms);
        if s.offset_samples.is_some() || s.beep || s.silence_s.is_some() {
            w.int(s.offset_samples.unwrap_or(0));
        }
        if s.beep {
            w.arg("BEEP");
        }
        if let Some(sil) = s.silence_s {
            w.arg(&format!("s={sil}"));
        }
    },
    |s, r| {
        let n = result(r)?;
        let ended_by = match r.data {
            Some(b"timeout") => RecordEnd::Timeout,
            Some(b"dtmf") => RecordEnd::Digit(super::command::code_char(n).unwrap_or('?')),
            Some(b"hangup") => RecordEnd::Hangup,
            Some(b"randomerror") => RecordEnd::RandomError,
            _ if n < 0 => return Err(AgiError::failed(n, r.line())),
            _ => RecordEnd::Other,
        };
        Ok(Recording {
            ended_by,
            endpos: r.endpos,
        })
    }
);

// --- SAY -------------------------------------------------------------------------------------

macro_rules! say {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $field:ident : $fty:ty, $write:ident) => {
        $(#[$doc])*
        ///
        /// Result: the escape digit pressed, or `None` if playback completed.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $ty {
            /// What to say.
            pub $field: $fty,
            /// Digits that interrupt.
            pub escape_digits: String,
        }
        impl $ty {
            /// Say `value`, interruptible by `escape_digits`.
            pub fn new(value: impl Into<$fty>, escape_digits: impl Into<String>) -> Self {
                Self {
                    $field: value.into(),
                    escape_digits: escape_digits.into(),
                }
            }
        }
        command!($ty, $name, Option<char>,
            |s, w| { say!(@w w, s.$field, $write); w.quoted(&s.escape_digits); },
            |s, r| digit(r));
    };
    (@w $w:ident, $v:expr, arg) => { $w.arg(&$v) };
    (@w $w:ident, $v:expr, int) => { $w.int($v) };
}

say!(
    /// `SAY ALPHA NUMBER ESCAPE_DIGITS`: spell out a string character by character.
    SayAlpha, "SAY ALPHA", text: String, arg);
say!(
    /// `SAY DATE DATE ESCAPE_DIGITS`: say a date given as Unix seconds.
    SayDate, "SAY DATE", time: i64, int);
say!(
    /// `SAY DIGITS NUMBER ESCAPE_DIGITS`: say a digit string digit by digit.
    SayDigits, "SAY DIGITS", digits: String, arg);
say!(
    /// `SAY PHONETIC STRING ESCAPE_DIGITS`: spell out a string with the
    /// phonetic alphabet.
    SayPhonetic, "SAY PHONETIC", text: String, arg);
say!(
    /// `SAY TIME TIME ESCAPE_DIGITS`: say the time of day of Unix seconds.
    SayTime, "SAY TIME", time: i64, int);

/// `SAY NUMBER NUMBER ESCAPE_DIGITS [GENDER]`: say a whole number.
///
/// Result: the escape digit pressed, or `None` if playback completed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SayNumber {
    /// The number.
    pub number: i64,
    /// Digits that interrupt.
    pub escape_digits: String,
    /// Grammatical gender for languages that need it (`m`, `f`, `n`, `c`).
    pub gender: Option<String>,
}
impl SayNumber {
    /// Say `number`.
    pub fn new(number: i64, escape_digits: impl Into<String>) -> Self {
        Self {
            number,
            escape_digits: escape_digits.into(),
            gender: None,
        }
    }
    /// With a gender.
    pub fn gender(mut self, g: impl Into<String>) -> Self {
        self.gender = Some(g.into());
        self
    }
}
command!(
    SayNumber,
    "SAY NUMBER",
    Option<char>,
    |s, w| {
        w.int(s.number)
            .quoted(&s.escape_digits)
            .opt(s.gender.as_deref());
    },
    |s, r| digit(r)
);

/// `SAY DATETIME TIME ESCAPE_DIGITS [FORMAT] [TIMEZONE]`: say a moment in a
/// format like `SayUnixTime`'s (default `ABdY 'digits/at' IMp`).
///
/// Result: the escape digit pressed, or `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SayDateTime {
    /// Unix seconds.
    pub time: i64,
    /// Digits that interrupt.
    pub escape_digits: String,
    /// Format string.
    pub format: Option<String>,
    /// Time zone name, e.g. `Europe/Paris`.
    pub timezone: Option<String>,
}
impl SayDateTime {
    /// Say `time`.
    pub fn new(time: i64, escape_digits: impl Into<String>) -> Self {
        Self {
            time,
            escape_digits: escape_digits.into(),
            ..Self::default()
        }
    }
    /// Format.
    pub fn format(mut self, f: impl Into<String>) -> Self {
        self.format = Some(f.into());
        self
    }
    /// Time zone.
    pub fn timezone(mut self, tz: impl Into<String>) -> Self {
        self.timezone = Some(tz.into());
        self
    }
}
command!(
    SayDateTime,
    "SAY DATETIME",
    Option<char>,
    |s, w| {
        w.int(s.time).quoted(&s.escape_digits);
        if s.format.is_some() || s.timezone.is_some() {
            w.quoted(s.format.as_deref().unwrap_or("ABdY 'digits/at' IMp"));
        }
        w.opt(s.timezone.as_deref());
    },
    |s, r| digit(r)
);

// --- SEND -----------------------------------------------------------------------------------

/// `SEND IMAGE IMAGE`: send an image (channels that support images only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendImage {
    /// Image file name.
    pub image: String,
}
impl SendImage {
    /// Send `image`.
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            image: image.into(),
        }
    }
}
command!(
    SendImage,
    "SEND IMAGE",
    (),
    |s, w| {
        w.arg(&s.image);
    },
    |s, r| nonneg(r).map(drop)
);

/// `SEND TEXT TEXT`: send a text message (channels that support text only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendText {
    /// The text (always sent quoted).
    pub text: String,
}
impl SendText {
    /// Send `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }
}
command!(
    SendText,
    "SEND TEXT",
    (),
    |s, w| {
        w.quoted(&s.text);
    },
    |s, r| nonneg(r).map(drop)
);

// --- SET ------------------------------------------------------------------------------------

/// `SET AUTOHANGUP TIME`: hang the channel up after `seconds` (0 cancels).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetAutoHangup {
    /// Seconds from now.
    pub seconds: i64,
}
impl SetAutoHangup {
    /// Hang up after `seconds`.
    pub fn new(seconds: i64) -> Self {
        Self { seconds }
    }
}
command!(
    SetAutoHangup,
    "SET AUTOHANGUP",
    (),
    |s, w| {
        w.int(s.seconds);
    },
    |s, r| nonneg(r).map(drop)
);

/// `SET CALLERID NUMBER`: set the caller ID (`"Name" <number>` or a number).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetCallerId {
    /// The new caller ID.
    pub caller_id: String,
}
impl SetCallerId {
    /// Set to `caller_id`.
    pub fn new(caller_id: impl Into<String>) -> Self {
        Self {
            caller_id: caller_id.into(),
        }
    }
}
command!(
    SetCallerId,
    "SET CALLERID",
    (),
    |s, w| {
        w.arg(&s.caller_id);
    },
    |s, r| nonneg(r).map(drop)
);

/// `SET CONTEXT DESIRED_CONTEXT`: where the dialplan continues after AGI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetContext {
    /// Context name.
    pub context: String,
}
impl SetContext {
    /// Continue in `context`.
    pub fn new(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
        }
    }
}
command!(
    SetContext,
    "SET CONTEXT",
    (),
    |s, w| {
        w.arg(&s.context);
    },
    |s, r| nonneg(r).map(drop)
);

/// `SET EXTENSION NEW_EXTENSION`: the extension the dialplan continues at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetExtension {
    /// Extension.
    pub extension: String,
}
impl SetExtension {
    /// Continue at `extension`.
    pub fn new(extension: impl Into<String>) -> Self {
        Self {
            extension: extension.into(),
        }
    }
}
command!(
    SetExtension,
    "SET EXTENSION",
    (),
    |s, w| {
        w.arg(&s.extension);
    },
    |s, r| nonneg(r).map(drop)
);

/// `SET MUSIC BOOLEAN CLASS`: start or stop music on hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetMusic {
    /// `true`: on, `false`: off.
    pub on: bool,
    /// Music class (default class if `None`).
    pub class: Option<String>,
}
impl SetMusic {
    /// Music on (`on == true`) or off.
    pub fn new(on: bool) -> Self {
        Self { on, class: None }
    }
    /// With a class.
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(class.into());
        self
    }
}
command!(
    SetMusic,
    "SET MUSIC",
    (),
    |s, w| {
        w.arg(if s.on { "on" } else { "off" })
            .opt(s.class.as_deref());
    },
    |s, r| nonneg(r).map(drop)
);

/// `SET PRIORITY PRIORITY`: the priority (number or label) the dialplan
/// continues at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetPriority {
    /// Priority or label.
    pub priority: String,
}
impl SetPriority {
    /// Continue at `priority`.
    pub fn new(priority: impl Into<String>) -> Self {
        Self {
            priority: priority.into(),
        }
    }
}
command!(
    SetPriority,
    "SET PRIORITY",
    (),
    |s, w| {
        w.arg(&s.priority);
    },
    |s, r| nonneg(r).map(drop)
);

// --- SPEECH ---------------------------------------------------------------------------------

macro_rules! speech1 {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $field:ident) => {
        $(#[$doc])*
        ///
        /// Result: `()`; a refusal (`result=0`) is [`AgiError::Failed`].
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $ty {
            /// The argument.
            pub $field: String,
        }
        impl $ty {
            /// With the given argument.
            pub fn new(v: impl Into<String>) -> Self {
                Self { $field: v.into() }
            }
        }
        command!($ty, $name, (), |s, w| { w.arg(&s.$field); }, |s, r| one(r));
    };
}

speech1!(
    /// `SPEECH ACTIVATE GRAMMAR NAME`: enable a loaded grammar.
    SpeechActivateGrammar, "SPEECH ACTIVATE GRAMMAR", grammar);
speech1!(
    /// `SPEECH CREATE ENGINE`: create the channel's speech object.
    SpeechCreate, "SPEECH CREATE", engine);
speech1!(
    /// `SPEECH DEACTIVATE GRAMMAR NAME`: disable a grammar.
    SpeechDeactivateGrammar, "SPEECH DEACTIVATE GRAMMAR", grammar);
speech1!(
    /// `SPEECH UNLOAD GRAMMAR NAME`: unload a grammar.
    SpeechUnloadGrammar, "SPEECH UNLOAD GRAMMAR", grammar);

/// `SPEECH DESTROY`: destroy the channel's speech object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpeechDestroy;
command!(SpeechDestroy, "SPEECH DESTROY", (), |s, w| {}, |s, r| one(
    r
));

/// `SPEECH LOAD GRAMMAR NAME PATH`: load a grammar file under a name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpeechLoadGrammar {
    /// Grammar name.
    pub grammar: String,
    /// Path to the grammar file.
    pub path: String,
}
impl SpeechLoadGrammar {
    /// Load `path` as `grammar`.
    pub fn new(grammar: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            grammar: grammar.into(),
            path: path.into(),
        }
    }
}
command!(
    SpeechLoadGrammar,
    "SPEECH LOAD GRAMMAR",
    (),
    |s, w| {
        w.arg(&s.grammar).arg(&s.path);
    },
    |s, r| one(r)
);

/// `SPEECH SET NAME VALUE`: set an engine setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpeechSet {
    /// Setting name.
    pub name: String,
    /// Value.
    pub value: String,
}
impl SpeechSet {
    /// Set `name` to `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}
command!(
    SpeechSet,
    "SPEECH SET",
    (),
    |s, w| {
        w.arg(&s.name).arg(&s.value);
    },
    |s, r| one(r)
);

/// `SPEECH RECOGNIZE PROMPT TIMEOUT [OFFSET]`: play a prompt and recognise
/// speech with the active grammars.
///
/// The timeout is in **seconds**: `res_agi.c` (`handle_speechrecognize`,
/// every version from 1.6.0 to 23) compares it with the difference of two
/// `time()` readings, and starts counting only once the prompt has finished
/// playing. 0 means no timeout. The offset is in samples, as for
/// `STREAM FILE`.
///
/// Result: a [`SpeechResult`] (matches, a digit, timeout or hangup). A bare
/// `200 result=0` means the command could not start — no speech object on
/// the channel (`SPEECH CREATE` not run or failed) or the channel could not
/// deliver signed-linear audio — and is [`AgiError::Failed`] with result 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpeechRecognize {
    /// Prompt sound file.
    pub prompt: String,
    /// How long to wait for speech after the prompt ended, sent in whole
    /// seconds (rounded up; zero: no timeout).
    pub timeout: Duration,
    /// Start offset into the prompt, in samples.
    pub offset: Option<i64>,
}
impl SpeechRecognize {
    /// Recognise after `prompt`, waiting up to `timeout` after it (sent in
    /// whole seconds, rounded up; [`Duration::ZERO`] waits without limit).
    pub fn new(prompt: impl Into<String>, timeout: Duration) -> Self {
        Self {
            prompt: prompt.into(),
            timeout,
            offset: None,
        }
    }
    /// Start the prompt at `offset` samples.
    pub fn offset(mut self, offset: i64) -> Self {
        self.offset = Some(offset);
        self
    }
    /// The timeout as Asterisk receives it: whole seconds, rounded up, at
    /// most `i32::MAX` (Asterisk reads it with `atoi`).
    pub fn timeout_secs(&self) -> i64 {
        let s = self
            .timeout
            .as_secs()
            .saturating_add(u64::from(self.timeout.subsec_nanos() > 0));
        s.min(i32::MAX as u64) as i64
    }
}
command!(
    SpeechRecognize,
    "SPEECH RECOGNIZE",
    SpeechResult,
    |s, w| {
        w.arg(&s.prompt).int(s.timeout_secs()).opt_int(s.offset);
    },
    |s, r| parse_speech(r)
);

/// Reads the reply of `SPEECH RECOGNIZE` from its line, which
/// `handle_speechrecognize` writes in one of these shapes:
///
/// * `200 result=0` — could not start (no speech object or no slin input);
/// * `200 result=1 (speech) endpos=N results=K score0=S text0="T" grammar0=G …`;
/// * `200 result=1 (digit) digit=D endpos=N`;
/// * `200 result=1 (timeout) endpos=N` or `(hangup)`;
/// * `200 result=0 endpos=N` (no reason).
///
/// The text is printed raw, so the line is read by position, not by
/// tokens: it may hold spaces, `"`, `\`, `(` and `)`.
fn parse_speech(r: &Reply<'_>) -> Result<SpeechResult, AgiError> {
    let n = result(r)?;
    let line = r.line();
    let after_result = line
        .windows(7)
        .position(|w| w == b"result=")
        .map_or(&line[line.len()..], |p| &line[p + 7..]);
    let after_result = &after_result[after_result
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(after_result.len())..];
    let after_result = trim_start(after_result);
    let (reason, attrs) = match after_result.strip_prefix(b"(") {
        Some(inner) => match inner.iter().position(|&b| b == b')') {
            Some(p) => (Some(&inner[..p]), trim_start(&inner[p + 1..])),
            None => return Err(AgiError::protocol("unbalanced '(' in reply", line)),
        },
        None => (None, after_result),
    };
    let endpos = attr(attrs, b"endpos").and_then(super::codec::parse_i64);
    let outcome = match (n, reason) {
        (0, None) if endpos.is_none() => return Err(AgiError::failed(0, line)),
        (0, None) => SpeechOutcome::Nothing,
        (n, _) if n < 0 => return Err(AgiError::failed(n, line)),
        (_, Some(b"timeout")) => SpeechOutcome::Timeout,
        (_, Some(b"hangup")) => SpeechOutcome::Hangup,
        (_, Some(b"digit")) | (_, Some(b"dtmf")) => {
            let d = attr(attrs, b"digit")
                .and_then(|d| d.first().copied())
                .ok_or_else(|| AgiError::protocol("speech digit without digit=", line))?;
            SpeechOutcome::Digit(char::from(d))
        }
        (_, Some(b"speech")) => SpeechOutcome::Speech(parse_matches(attrs)),
        _ => return Err(AgiError::protocol("unknown SPEECH RECOGNIZE reply", line)),
    };
    Ok(SpeechResult { outcome, endpos })
}

fn trim_start(mut b: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = b {
        b = rest;
    }
    b
}

/// The value of a `key=value` token among space-separated `attrs`, looking
/// only at the tokens before the first match text (they never hold one).
fn attr<'a>(attrs: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    attrs
        .split(|&b| b == b' ')
        .take_while(|t| !t.starts_with(b"score"))
        .find_map(|t| t.strip_prefix(key)?.strip_prefix(b"="))
}

/// Position of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Reads the matches `score0=S text0="T" grammar0=G score1=…` after
/// `results=K`. Each piece is found by the fixed text Asterisk puts around
/// it (`" grammarN=` ends text N, ` scoreN+1=` ends grammar N, the line end
/// ends the last grammar), so raw quotes and backslashes in the text stay
/// as they are. A match cut short (Asterisk builds the list in a 4 KiB
/// buffer and truncates it) is left out.
fn parse_matches(attrs: &[u8]) -> Vec<SpeechMatch> {
    let Some(count) = attr(attrs, b"results").and_then(super::codec::parse_i64) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut pos = 0;
    for i in 0..count.clamp(0, 1024) {
        let score_key = format!("score{i}=");
        let Some(s) = find(attrs, score_key.as_bytes(), pos) else {
            break;
        };
        let score_start = s + score_key.len();
        let text_key = format!(" text{i}=\"");
        let Some(t) = find(attrs, text_key.as_bytes(), score_start) else {
            break;
        };
        let Some(score) = super::codec::parse_i64(&attrs[score_start..t]) else {
            break;
        };
        let text_start = t + text_key.len();
        let grammar_key = format!("\" grammar{i}=");
        let Some(g) = find(attrs, grammar_key.as_bytes(), text_start) else {
            break;
        };
        let grammar_start = g + grammar_key.len();
        let next_key = format!(" score{}=", i + 1);
        let grammar_end = if i + 1 < count {
            find(attrs, next_key.as_bytes(), grammar_start).unwrap_or(attrs.len())
        } else {
            attrs.len()
        };
        out.push(SpeechMatch {
            score,
            text: String::from_utf8_lossy(&attrs[text_start..g]).into_owned(),
            grammar: String::from_utf8_lossy(trim_end(&attrs[grammar_start..grammar_end]))
                .into_owned(),
        });
        pos = grammar_end;
    }
    out
}

fn trim_end(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b' '] = b {
        b = rest;
    }
    b
}

// --- STREAM FILE / TDD / VERBOSE / WAIT FOR DIGIT ----------------------------------------------

/// `STREAM FILE FILENAME ESCAPE_DIGITS [SAMPLE OFFSET]`: play a sound file,
/// interruptible by the escape digits.
///
/// Result: the digit pressed (if any) and the end position. A missing file
/// (`result=-1 endpos=0`) is [`AgiError::Failed`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamFile {
    /// File name without extension.
    pub file: String,
    /// Digits that interrupt (always sent quoted, `""` for none).
    pub escape_digits: String,
    /// Start offset in samples.
    pub offset: Option<i64>,
}
impl StreamFile {
    /// Play `file`.
    pub fn new(file: impl Into<String>, escape_digits: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            escape_digits: escape_digits.into(),
            offset: None,
        }
    }
    /// Start at `samples`.
    pub fn offset(mut self, samples: i64) -> Self {
        self.offset = Some(samples);
        self
    }
}
command!(
    StreamFile,
    "STREAM FILE",
    Playback,
    |s, w| {
        w.arg(&s.file).quoted(&s.escape_digits).opt_int(s.offset);
    },
    |s, r| playback(r)
);

/// `TDD MODE on|off`: enable or disable TDD (deaf telephony) on the channel.
///
/// Result: `true` if set, `false` if the channel is not TDD-capable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TddMode {
    /// On or off.
    pub on: bool,
}
impl TddMode {
    /// `TDD MODE on` if `on`.
    pub fn new(on: bool) -> Self {
        Self { on }
    }
}
command!(
    TddMode,
    "TDD MODE",
    bool,
    |s, w| {
        w.arg(if s.on { "on" } else { "off" });
    },
    |s, r| flag(r)
);

/// `VERBOSE MESSAGE LEVEL`: log a message on the Asterisk console at a
/// verbosity level (1-4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verbose {
    /// The message (always sent quoted).
    pub message: String,
    /// Verbosity level.
    pub level: i64,
}
impl Verbose {
    /// Log `message` at `level`.
    pub fn new(message: impl Into<String>, level: i64) -> Self {
        Self {
            message: message.into(),
            level,
        }
    }
}
command!(
    Verbose,
    "VERBOSE",
    (),
    |s, w| {
        w.quoted(&s.message).int(s.level);
    },
    |s, r| nonneg(r).map(drop)
);

/// `WAIT FOR DIGIT TIMEOUT`: wait for one DTMF digit (-1: forever).
///
/// Result: the digit, or `None` on timeout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitForDigit {
    /// Milliseconds; -1 waits forever.
    pub timeout_ms: i64,
}
impl WaitForDigit {
    /// Wait up to `timeout_ms`.
    pub fn new(timeout_ms: i64) -> Self {
        Self { timeout_ms }
    }
}
command!(
    WaitForDigit,
    "WAIT FOR DIGIT",
    Option<char>,
    |s, w| {
        w.int(s.timeout_ms);
    },
    |s, r| digit(r)
);

// --- Raw -------------------------------------------------------------------------------------

/// Any command line, sent as is (for commands from newer Asterisk versions
/// or experiments). The line is checked for CR, LF and NUL and for the
/// command-line limit ([`MAX_COMMAND_LINE`](super::command::MAX_COMMAND_LINE)
/// with [`Command::encode`]).
///
/// Result: the reply, after [`Reply::check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawCommand {
    /// The whole command line without LF.
    pub line: String,
}
impl RawCommand {
    /// Send `line`.
    pub fn new(line: impl Into<String>) -> Self {
        Self { line: line.into() }
    }
}
impl Command for RawCommand {
    type Output = OwnedReply;
    fn name(&self) -> &'static str {
        "RAW"
    }
    fn write_args(&self, _w: &mut ArgWriter<'_>) {}
    fn encode_limited(&self, out: &mut Vec<u8>, limit: usize) -> Result<(), AgiError> {
        if self.line.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(AgiError::InvalidArgument {
                command: "RAW",
                index: 0,
            });
        }
        if self.line.len() + 1 > limit {
            return Err(AgiError::CommandTooLong {
                command: "RAW",
                len: self.line.len() + 1,
                limit,
            });
        }
        out.extend_from_slice(self.line.as_bytes());
        out.push(b'\n');
        Ok(())
    }
    fn parse_reply(&self, reply: &Reply<'_>) -> Result<OwnedReply, AgiError> {
        reply.check()?;
        Ok(reply.to_owned())
    }
}

/// The command words of all 47 commands, as Asterisk 22 lists them.
pub const ALL_COMMANDS: [&str; 47] = [
    "ANSWER",
    "ASYNCAGI BREAK",
    "CHANNEL STATUS",
    "CONTROL STREAM FILE",
    "DATABASE DEL",
    "DATABASE DELTREE",
    "DATABASE GET",
    "DATABASE PUT",
    "EXEC",
    "GET DATA",
    "GET FULL VARIABLE",
    "GET OPTION",
    "GET VARIABLE",
    "GOSUB",
    "HANGUP",
    "NOOP",
    "RECEIVE CHAR",
    "RECEIVE TEXT",
    "RECORD FILE",
    "SAY ALPHA",
    "SAY DATE",
    "SAY DATETIME",
    "SAY DIGITS",
    "SAY NUMBER",
    "SAY PHONETIC",
    "SAY TIME",
    "SEND IMAGE",
    "SEND TEXT",
    "SET AUTOHANGUP",
    "SET CALLERID",
    "SET CONTEXT",
    "SET EXTENSION",
    "SET MUSIC",
    "SET PRIORITY",
    "SET VARIABLE",
    "SPEECH ACTIVATE GRAMMAR",
    "SPEECH CREATE",
    "SPEECH DEACTIVATE GRAMMAR",
    "SPEECH DESTROY",
    "SPEECH LOAD GRAMMAR",
    "SPEECH RECOGNIZE",
    "SPEECH SET",
    "SPEECH UNLOAD GRAMMAR",
    "STREAM FILE",
    "TDD MODE",
    "VERBOSE",
    "WAIT FOR DIGIT",
];
