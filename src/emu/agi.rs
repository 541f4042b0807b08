//! The AGI side of the emulator: a fake Asterisk that runs a call against
//! an AGI program.
//!
//! [`FakeAgi`] is the sans-IO core: it sends an environment block (the
//! defaults of [`DEFAULT_ENV`] plus overrides), answers each command line
//! the program writes from [`AgiRules`] (the `agi_debug` rule format) or a
//! recorded session ([`AgiRecording`]), can hang up at any point (the
//! unsolicited `HANGUP` line; later commands get `511` as on a dead
//! channel), and keeps the conversation ([`Turn`]). [`FakeAgiClient`] is
//! its mio shell: it connects to a FastAGI server and is a [`Drive`] source,
//! so a test runs it in the same [`Driver`](crate::driver::Driver) as its
//! own [`agi::Server`](crate::agi::Server).
//!
//! ```no_run
//! use std::time::Duration;
//! use asterisk_io::driver::Driver;
//! use asterisk_io::emu::agi::{AgiCallConfig, AgiRules, FakeAgiClient};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server_addr: std::net::SocketAddr = "127.0.0.1:4573".parse()?;
//! let rules = AgiRules::parse("agi_callerid: 4105551234\n\nGET VARIABLE => 200 result=1 (blue)\n")?;
//! let config = AgiCallConfig::new().script("test").rules(rules).hangup_after(3);
//! let mut driver = Driver::new()?;
//! let call = driver.add(FakeAgiClient::connect(server_addr, config)?)?;
//! driver.run_until(Duration::from_secs(5), |d| d.get(call).is_finished())?;
//! print!("{}", driver.get(call).agi().conversation_text());
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::transcript::{Direction, RecordKind, Transcript};
use crate::driver::Drive;

/// The environment a fake call sends when nothing overrides it.
pub const DEFAULT_ENV: &[(&str, &str)] = &[
    ("agi_request", "agi_debug"),
    ("agi_channel", "Local/debug@lab-00000001;2"),
    ("agi_language", "en"),
    ("agi_type", "Local"),
    ("agi_uniqueid", "1700000000.1"),
    ("agi_version", "22.10.1"),
    ("agi_callerid", "4105551234"),
    ("agi_calleridname", "Debug"),
    ("agi_callingpres", "0"),
    ("agi_callingani2", "0"),
    ("agi_callington", "0"),
    ("agi_callingtns", "0"),
    ("agi_dnid", "unknown"),
    ("agi_rdnis", "unknown"),
    ("agi_context", "lab"),
    ("agi_extension", "debug"),
    ("agi_priority", "1"),
    ("agi_enhanced", "0.0"),
    ("agi_accountcode", ""),
    ("agi_threadid", "1"),
];

/// Asterisk's reply to a command on a channel that hung up.
pub const DEAD_CHANNEL_REPLY: &str =
    "511 Command Not Permitted on a dead channel or intercept routine";

/// The reply when no rule matches.
pub const DEFAULT_REPLY: &str = "200 result=0";

/// Longest command line the fake Asterisk reads (Asterisk's own buffer is smaller).
pub const MAX_LINE: usize = 16 * 1024;

/// The reply Asterisk gives `command` on a dead channel: `None` for the
/// commands that still work there (`GET VARIABLE`, `GET FULL VARIABLE`).
pub fn dead_channel_reply(command: &str) -> Option<&'static str> {
    let up = command.trim_start().to_ascii_uppercase();
    if up.starts_with("GET VARIABLE") || up.starts_with("GET FULL VARIABLE") {
        None
    } else {
        Some(DEAD_CHANNEL_REPLY)
    }
}

/// A rules file line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rules line {line}: {kind}")]
pub struct RulesError {
    /// The line's number, from 1.
    pub line: usize,
    /// What is wrong.
    pub kind: RulesErrorKind,
}

/// What is wrong with a rules line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RulesErrorKind {
    /// An environment line without `name: value`.
    #[error("an environment line needs `name: value`")]
    BadEnvLine,
    /// A rule line without `PREFIX => REPLY`.
    #[error("a rule needs `PREFIX => REPLY`")]
    MissingArrow,
    /// A rule with an empty prefix or reply.
    #[error("a rule needs a prefix and a reply")]
    EmptyRule,
}

/// One reply rule: commands starting with `prefix` (any case; `*`: every
/// command) get `reply` (lines separated by `\n`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Upper-cased command prefix, or `*`.
    pub prefix: String,
    /// The reply, without the final line end.
    pub reply: String,
}

/// The `agi_debug` script format: environment lines, an empty line, reply rules.
///
/// ```text
/// # comments start with '#'
/// agi_channel: SIP/100-0001
/// agi_callerid: 4105551234
///
/// GET VARIABLE => 200 result=1 (blue)
/// HANGUP => 200 result=1\nHANGUP
/// * => 200 result=0
/// ```
///
/// Environment lines override the [defaults](DEFAULT_ENV) (an empty
/// section keeps them). Rules match case-insensitively by prefix, in file
/// order (the first match wins); `\n` in a reply separates lines, so the
/// `HANGUP` rule above also sends the unsolicited `HANGUP` line. A command
/// no rule matches gets [`DEFAULT_REPLY`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgiRules {
    /// Environment overrides, in order.
    pub env: Vec<(String, String)>,
    /// Reply rules, in order.
    pub rules: Vec<Rule>,
}

impl AgiRules {
    /// Reads the format above; every bad line is reported (the first is
    /// the error's `line`, the others are in [`AgiRules::parse_all`]).
    pub fn parse(text: &str) -> Result<AgiRules, RulesError> {
        Self::parse_all(text).map_err(|mut e| e.remove(0))
    }

    /// Like [`parse`](Self::parse), with every error.
    pub fn parse_all(text: &str) -> Result<AgiRules, Vec<RulesError>> {
        let mut out = AgiRules::default();
        let mut errors = Vec::new();
        let mut in_env = true;
        for (n, line) in text.lines().enumerate() {
            let err = |kind| RulesError { line: n + 1, kind };
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with('#') {
                continue;
            }
            if in_env {
                if line.trim().is_empty() {
                    in_env = false;
                } else if let Some((k, v)) = line.split_once(':') {
                    let v = v.strip_prefix(' ').unwrap_or(v);
                    out.env.push((k.trim().to_owned(), v.to_owned()));
                } else {
                    errors.push(err(RulesErrorKind::BadEnvLine));
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            match line.split_once("=>") {
                Some((p, r)) if !p.trim().is_empty() && !r.trim().is_empty() => {
                    out.rules.push(Rule {
                        prefix: p.trim().to_ascii_uppercase(),
                        reply: r.trim().replace("\\n", "\n"),
                    })
                }
                Some(_) => errors.push(err(RulesErrorKind::EmptyRule)),
                None => errors.push(err(RulesErrorKind::MissingArrow)),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Reads a rules file.
    pub fn load(path: impl AsRef<std::path::Path>) -> io::Result<AgiRules> {
        let text = std::fs::read_to_string(path)?;
        Self::parse(&text).map_err(|e| io::Error::new(ErrorKind::InvalidData, e))
    }

    /// Adds a rule at the end.
    pub fn rule(mut self, prefix: &str, reply: &str) -> Self {
        self.rules.push(Rule {
            prefix: prefix.trim().to_ascii_uppercase(),
            reply: reply.to_owned(),
        });
        self
    }

    /// The reply of the first rule matching `command`, or [`DEFAULT_REPLY`].
    pub fn reply_for(&self, command: &str) -> &str {
        let up = command.trim_start().to_ascii_uppercase();
        self.rules
            .iter()
            .find(|r| r.prefix == "*" || up.starts_with(r.prefix.as_str()))
            .map_or(DEFAULT_REPLY, |r| r.reply.as_str())
    }
}

/// A recorded AGI session: the environment and each command with the
/// bytes Asterisk answered (reply lines, a `HANGUP` line, ... as recorded).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgiRecording {
    /// The environment, in order.
    pub env: Vec<(String, String)>,
    /// Command lines (without line end) and the bytes that followed each.
    pub steps: Vec<(String, Vec<u8>)>,
}

impl AgiRecording {
    /// From the first connection of a transcript; recorded times are not
    /// kept. The side that sent the environment block is Asterisk: `<<` in a
    /// capture of Asterisk's side (the fixtures), `>>` in a
    /// [`RecordingProxy`](super::record::RecordingProxy) put between
    /// Asterisk and a FastAGI server.
    pub fn from_transcript(t: &Transcript) -> AgiRecording {
        let mut rec = AgiRecording::default();
        let Some(conn) = t.connections.first() else {
            return rec;
        };
        let asterisk = conn
            .records
            .iter()
            .find_map(|r| match &r.kind {
                RecordKind::Data(d, b) if b.starts_with(b"agi_") => Some(*d),
                _ => None,
            })
            .unwrap_or(Direction::FromServer);
        let mut env_done = false;
        let mut env = Vec::new();
        let mut pending = Vec::new();
        for r in &conn.records {
            let RecordKind::Data(d, bytes) = &r.kind else {
                continue;
            };
            match (*d == asterisk, bytes) {
                (true, bytes) => {
                    let mut bytes = bytes.as_slice();
                    if !env_done {
                        env.extend_from_slice(bytes);
                        bytes = &[];
                        if let Some(end) = env.windows(2).position(|w| w == b"\n\n") {
                            env_done = true;
                            let rest = env.split_off(end + 2);
                            if let Some((_, reply)) = rec.steps.last_mut() {
                                reply.extend_from_slice(&rest);
                            }
                        }
                    }
                    if let Some((_, reply)) = rec.steps.last_mut() {
                        reply.extend_from_slice(bytes);
                    }
                }
                (false, bytes) => {
                    pending.extend_from_slice(bytes);
                    while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=i).collect();
                        let line = String::from_utf8_lossy(&line);
                        let line = line.trim_end_matches(['\n', '\r']).to_owned();
                        rec.steps.push((line, Vec::new()));
                    }
                }
            }
        }
        for line in String::from_utf8_lossy(&env).lines() {
            if let Some((k, v)) = line.split_once(':') {
                rec.env
                    .push((k.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned()));
            }
        }
        rec
    }
}

/// Where a fake call's replies come from.
#[derive(Clone, Debug)]
enum Responder {
    Rules(AgiRules),
    Recorded {
        recording: AgiRecording,
        used: Vec<bool>,
    },
}

/// What a fake call does: its environment, its replies, when it hangs up.
#[derive(Clone, Debug)]
pub struct AgiCallConfig {
    env: Vec<(String, String)>,
    responder: Responder,
    hangup_after: Option<usize>,
    script: Option<String>,
}

impl Default for AgiCallConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl AgiCallConfig {
    /// The [default environment](DEFAULT_ENV), [`DEFAULT_REPLY`] to every command.
    pub fn new() -> Self {
        AgiCallConfig {
            env: DEFAULT_ENV
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            responder: Responder::Rules(AgiRules::default()),
            hangup_after: None,
            script: None,
        }
    }

    /// Sets an environment variable (replacing it, or added at the end).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        match self.env.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_owned(),
            None => self.env.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Adds `agi_arg_N` for the next N.
    pub fn arg(self, value: &str) -> Self {
        let n = self
            .env
            .iter()
            .filter(|(k, _)| k.starts_with("agi_arg_"))
            .count()
            + 1;
        self.env(&format!("agi_arg_{n}"), value)
    }

    /// The FastAGI script (path and query, as in `agi://host/PATH?QUERY`):
    /// [`FakeAgiClient::connect`] sends `agi_network: yes`,
    /// `agi_network_script` and `agi_request` for it first.
    pub fn script(mut self, path: &str) -> Self {
        self.script = Some(path.to_owned());
        self
    }

    /// Answers from these rules; their environment lines override.
    pub fn rules(mut self, rules: AgiRules) -> Self {
        for (k, v) in &rules.env {
            self = self.env(k, v);
        }
        self.responder = Responder::Rules(rules);
        self
    }

    /// Answers from a recorded session, whose environment replaces the
    /// current one: each command gets the recorded reply of the first
    /// unused recorded command with the same text, else with the same first
    /// word; a command with neither is a [`Turn::Mismatch`] and gets `510`.
    pub fn recording(mut self, recording: AgiRecording) -> Self {
        self.env = recording.env.clone();
        self.responder = Responder::Recorded {
            used: vec![false; recording.steps.len()],
            recording,
        };
        self
    }

    /// After the `n`th reply, sends `HANGUP` (later commands get `511`).
    pub fn hangup_after(mut self, n: usize) -> Self {
        self.hangup_after = Some(n);
        self
    }
}

/// One step of a fake call's conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The environment block sent.
    Env(Vec<u8>),
    /// A command line from the program (without its line end).
    Command(String),
    /// Bytes sent in answer (reply lines, a `HANGUP` line).
    Reply(Vec<u8>),
    /// A `HANGUP` line sent on its own ([`FakeAgi::hang_up`], `hangup_after`).
    Hangup,
    /// A command a recording had no match for.
    Mismatch {
        /// The command.
        sent: String,
        /// The recording's next unused command.
        expected: Option<String>,
    },
    /// The program sent a line longer than [`MAX_LINE`]; the call ended.
    LineTooLong,
}

/// A fake Asterisk for one AGI call, with no I/O. See the [module docs](self).
#[derive(Debug)]
pub struct FakeAgi {
    config: AgiCallConfig,
    input: Vec<u8>,
    out: Vec<u8>,
    log: Vec<Turn>,
    replies: usize,
    dead: bool,
    closing: bool,
}

impl FakeAgi {
    /// A call whose environment block is queued in the output already.
    pub fn new(config: AgiCallConfig) -> FakeAgi {
        let mut env = Vec::new();
        for (k, v) in &config.env {
            // CR/LF inside a value would end the block early.
            let clean = |s: &str| s.replace(['\r', '\n'], " ");
            env.extend_from_slice(format!("{}: {}\n", clean(k), clean(v)).as_bytes());
        }
        env.push(b'\n');
        FakeAgi {
            config,
            out: env.clone(),
            input: Vec::new(),
            log: vec![Turn::Env(env)],
            replies: 0,
            dead: false,
            closing: false,
        }
    }

    /// Takes bytes from the program and answers every complete command.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        self.push_input(bytes);
        while let Some(cmd) = self.next_command() {
            let reply = self.reply_for(&cmd);
            self.answer(&cmd, &reply);
        }
    }

    /// Buffers bytes from the program without answering (see
    /// [`next_command`](Self::next_command)).
    pub fn push_input(&mut self, bytes: &[u8]) {
        if self.closing {
            return;
        }
        self.input.extend_from_slice(bytes);
        if self.input.len() > MAX_LINE && !self.input[..MAX_LINE].contains(&b'\n') {
            self.input.clear();
            self.log.push(Turn::LineTooLong);
            self.closing = true;
        }
    }

    /// The next complete command line, for a caller that answers itself.
    pub fn next_command(&mut self) -> Option<String> {
        let i = self.input.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.input.drain(..=i).collect();
        let line = String::from_utf8_lossy(&line);
        Some(line.trim_end_matches(['\n', '\r']).to_owned())
    }

    /// The bytes the call would answer `command` with (a recorded step is
    /// used up by this).
    pub fn reply_for(&mut self, command: &str) -> Vec<u8> {
        if self.dead {
            if let Some(r) = dead_channel_reply(command) {
                return format!("{r}\n").into_bytes();
            }
        }
        match &mut self.config.responder {
            Responder::Rules(rules) => format!("{}\n", rules.reply_for(command)).into_bytes(),
            Responder::Recorded { recording, used } => {
                let verb = |s: &str| {
                    s.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase()
                };
                let free = || (0..used.len()).filter(|&i| !used[i]);
                let found = free()
                    .find(|&i| recording.steps[i].0 == command)
                    .or_else(|| free().find(|&i| verb(&recording.steps[i].0) == verb(command)));
                match found {
                    Some(i) => {
                        used[i] = true;
                        recording.steps[i].1.clone()
                    }
                    None => {
                        let expected = free().next().map(|i| recording.steps[i].0.clone());
                        self.log.push(Turn::Mismatch {
                            sent: command.to_owned(),
                            expected,
                        });
                        b"510 Invalid or unknown command\n".to_vec()
                    }
                }
            }
        }
    }

    /// Sends `reply` (exact bytes, line ends included) as the answer to `command`.
    pub fn answer(&mut self, command: &str, reply: &[u8]) {
        if self.closing {
            return;
        }
        self.log.push(Turn::Command(command.to_owned()));
        self.out.extend_from_slice(reply);
        self.log.push(Turn::Reply(reply.to_vec()));
        if reply.split(|&b| b == b'\n').any(|l| l == b"HANGUP") {
            self.dead = true;
        }
        self.replies += 1;
        if self.config.hangup_after == Some(self.replies) && !self.dead {
            self.hang_up();
        }
    }

    /// Hangs the channel up now: the `HANGUP` line goes out, and later
    /// commands (but `GET VARIABLE`s) get `511`.
    pub fn hang_up(&mut self) {
        if self.dead || self.closing {
            return;
        }
        self.dead = true;
        self.out.extend_from_slice(b"HANGUP\n");
        self.log.push(Turn::Hangup);
    }

    /// The channel hung up.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The call ended on its side (a line too long): close once sent.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Bytes to send to the program.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Drops the first `n` bytes of the output (sent).
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Everything so far, in order.
    pub fn conversation(&self) -> &[Turn] {
        &self.log
    }

    /// The commands the program sent, in order.
    pub fn commands(&self) -> Vec<&str> {
        self.log
            .iter()
            .filter_map(|t| match t {
                Turn::Command(c) => Some(c.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Commands a recording had no match for.
    pub fn mismatches(&self) -> Vec<&Turn> {
        self.log
            .iter()
            .filter(|t| matches!(t, Turn::Mismatch { .. }))
            .collect()
    }

    /// The conversation as `agi_debug` prints it: `AST> ` lines (to the
    /// program) and `AGI> ` lines (from it).
    pub fn conversation_text(&self) -> String {
        let mut s = String::new();
        for t in &self.log {
            match t {
                Turn::Env(b) | Turn::Reply(b) => {
                    let text = String::from_utf8_lossy(b);
                    for l in text.strip_suffix('\n').unwrap_or(&text).split('\n') {
                        s.push_str("AST> ");
                        s.push_str(l);
                        s.push('\n');
                    }
                }
                Turn::Command(c) => {
                    s.push_str("AGI> ");
                    s.push_str(c);
                    s.push('\n');
                }
                Turn::Hangup => s.push_str("AST> HANGUP\n"),
                Turn::Mismatch { sent, expected } => {
                    s.push_str(&format!(
                        "--- not in the recording: {sent:?} (next recorded: {expected:?}) ---\n"
                    ));
                }
                Turn::LineTooLong => s.push_str("--- line too long: call ended ---\n"),
            }
        }
        s
    }
}

/// A fake Asterisk call to a FastAGI server over TCP: the [`FakeAgi`] core
/// under a mio socket, a [`Drive`] source with one token.
pub struct FakeAgiClient {
    stream: TcpStream,
    agi: FakeAgi,
    base: Token,
    connected: bool,
    blocked: bool,
    /// The server closed the connection (or it failed).
    finished: bool,
    error: Option<io::Error>,
    buf: Vec<u8>,
}

impl fmt::Debug for FakeAgiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeAgiClient")
            .field("finished", &self.finished)
            .field("agi", &self.agi)
            .finish_non_exhaustive()
    }
}

impl FakeAgiClient {
    /// Starts connecting to the FastAGI server at `addr`; the environment
    /// goes out once connected.
    pub fn connect(addr: SocketAddr, config: AgiCallConfig) -> io::Result<FakeAgiClient> {
        let mut config = config;
        if let Some(script) = config.script.clone() {
            let mut env = vec![
                ("agi_network".to_owned(), "yes".to_owned()),
                ("agi_network_script".to_owned(), script.clone()),
                ("agi_request".to_owned(), format!("agi://{addr}/{script}")),
            ];
            env.extend(config.env.drain(..).filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "agi_network" | "agi_network_script" | "agi_request"
                )
            }));
            config.env = env;
        }
        Ok(FakeAgiClient {
            stream: TcpStream::connect(addr)?,
            agi: FakeAgi::new(config),
            base: Token(0),
            connected: false,
            blocked: false,
            finished: false,
            error: None,
            buf: vec![0; 16 * 1024],
        })
    }

    /// The call's core: its conversation so far.
    pub fn agi(&self) -> &FakeAgi {
        &self.agi
    }

    /// The call's core, to hang up ([`FakeAgi::hang_up`]) at any point; the
    /// line goes out at the next turn of the loop.
    pub fn agi_mut(&mut self) -> &mut FakeAgi {
        &mut self.agi
    }

    /// The server closed the connection (the call is over), or it failed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Why the connection failed, if it did.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Closes the connection from Asterisk's side now.
    pub fn close(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.finished = true;
    }

    fn fail(&mut self, e: io::Error) {
        self.error = Some(e);
        self.finished = true;
    }

    fn pump(&mut self) {
        if self.finished {
            return;
        }
        if !self.connected {
            match self.stream.take_error() {
                Ok(Some(e)) | Err(e) => return self.fail(e),
                Ok(None) => {}
            }
            match self.stream.peer_addr() {
                Ok(_) => self.connected = true,
                Err(e) if e.kind() == ErrorKind::NotConnected => return,
                Err(e) => return self.fail(e),
            }
        }
        self.blocked = false;
        loop {
            match self.stream.read(&mut self.buf) {
                Ok(0) => {
                    // The server ended the call: Asterisk closes its side too.
                    let _ = self.stream.shutdown(std::net::Shutdown::Write);
                    self.finished = true;
                    break;
                }
                Ok(n) => self.agi.handle_input(&self.buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.fail(e),
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        while !self.agi.output().is_empty() {
            match self.stream.write(self.agi.output()) {
                Ok(n) => self.agi.consume_output(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.blocked = true;
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // The server may close right after its last command.
                    if !self.finished {
                        self.fail(e);
                    }
                    return;
                }
            }
        }
        if self.agi.is_closing() && !self.finished {
            self.close();
        }
    }
}

impl Drive for FakeAgiClient {
    fn token_count(&self) -> usize {
        1
    }

    fn attach(&mut self, registry: &Registry, base: Token) -> io::Result<()> {
        registry.register(
            &mut self.stream,
            base,
            Interest::READABLE.add(Interest::WRITABLE),
        )?;
        self.base = base;
        Ok(())
    }

    fn detach(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.stream)
    }

    fn ready(&mut self, _registry: &Registry, _event: &Event) {
        self.pump();
    }

    fn has_work(&self, _now: Instant) -> bool {
        self.connected && !self.finished && !self.blocked && !self.agi.output().is_empty()
    }

    fn work(&mut self, _registry: &Registry, _now: Instant) {
        self.flush();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_line_numbers() {
        let r = AgiRules::parse(
            "# c\nagi_channel: SIP/1\nagi_accountcode: \n\nget variable => 200 result=1 (x)\n\
             HANGUP => 200 result=1\\nHANGUP\n* => 200 result=7\n",
        )
        .unwrap();
        assert_eq!(r.env[1], ("agi_accountcode".into(), String::new()));
        assert_eq!(r.reply_for("GET VARIABLE FOO"), "200 result=1 (x)");
        assert_eq!(r.reply_for("HANGUP"), "200 result=1\nHANGUP");
        assert_eq!(r.reply_for("ANSWER"), "200 result=7");
        let e = AgiRules::parse_all("agi_x: 1\nnocolon\n\nANSWER 200\n => x\n").unwrap_err();
        assert_eq!(
            e.iter()
                .map(|e| (e.line, e.kind.clone()))
                .collect::<Vec<_>>(),
            vec![
                (2, RulesErrorKind::BadEnvLine),
                (4, RulesErrorKind::MissingArrow),
                (5, RulesErrorKind::EmptyRule)
            ]
        );
    }

    #[test]
    fn a_hangup_makes_later_commands_511() {
        let rules = AgiRules::default().rule("HANGUP", "200 result=1\nHANGUP");
        let mut a = FakeAgi::new(
            AgiCallConfig::new()
                .rules(rules)
                .env("agi_extension", "100"),
        );
        assert!(a.output().ends_with(b"agi_extension: 100\nagi_priority: 1\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 1\n\n"));
        a.consume_output(usize::MAX);
        a.handle_input(b"ANSWER\nHANG");
        assert_eq!(a.output(), b"200 result=0\n");
        a.handle_input(b"UP\nSTREAM FILE beep \"\"\nGET VARIABLE X\n");
        assert_eq!(
            String::from_utf8_lossy(a.output()),
            format!("200 result=0\n200 result=1\nHANGUP\n{DEAD_CHANNEL_REPLY}\n200 result=0\n")
        );
        assert_eq!(
            a.commands(),
            [
                "ANSWER",
                "HANGUP",
                "STREAM FILE beep \"\"",
                "GET VARIABLE X"
            ]
        );
        assert!(a
            .conversation_text()
            .contains("AGI> HANGUP\nAST> 200 result=1\nAST> HANGUP\n"));
    }

    #[test]
    fn hangup_after_n_replies() {
        let mut a = FakeAgi::new(AgiCallConfig::new().hangup_after(1));
        a.consume_output(usize::MAX);
        a.handle_input(b"ANSWER\nNOOP\n");
        assert_eq!(
            String::from_utf8_lossy(a.output()),
            format!("200 result=0\nHANGUP\n{DEAD_CHANNEL_REPLY}\n")
        );
    }

    #[test]
    fn long_lines_end_the_call() {
        let mut a = FakeAgi::new(AgiCallConfig::new());
        a.push_input(&vec![b'x'; MAX_LINE + 1]);
        assert!(a.is_closing());
        assert_eq!(a.conversation().last(), Some(&Turn::LineTooLong));
    }
}
