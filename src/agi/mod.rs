//! The Asterisk Gateway Interface (AGI): typed commands and replies, a
//! sans-IO protocol core, stdio AGI, a poll-driven FastAGI server, the
//! sans-IO part of AsyncAGI and its wiring to the AMI `Manager`, and
//! debugging aids.
//!
//! ```text
//!            bytes in                       bytes out
//!  Asterisk ─────────▶ codec (Env, Reply) ◀───────── Command::encode
//!                          │        ▲
//!                          ▼        │
//!        Session core / Script / CallTask (async sessions) (sans-IO)
//!                          │
//!        ┌─────────────────┼─────────────────────┐
//!      stdio::StdioAgi     fastagi::Server (mio)   asyncagi + over_ami (AMI events)
//! ```
//!
//! See `docs/agi.md` for the session model and the debugging facilities.

pub mod codec;
pub mod command;
pub mod commands;
pub mod error;

pub use codec::{Env, Inbound, Limits, OwnedReply, Parsed, Reply, ReplyFramer};
pub use command::{
    max_command_line, ChannelState, Command, DelTreeOutcome, DigitsInput, Playback, RecordEnd,
    Recording, MAX_COMMAND_LINE, MAX_COMMAND_LINE_8K,
};
pub use error::{AgiError, HangupSource};
pub mod call;
pub mod channel_events;
pub mod session;
pub use call::{oneshot, Call, CallTask};
pub use channel_events::{ChannelEvents, EventFilter};
pub use session::{Handler, Script, Session};
pub mod stdio;
pub mod trace;
pub use stdio::StdioAgi;
pub use trace::{TraceSwitch, WireTrace};
pub mod fastagi;
pub use fastagi::{
    Server, TcpKeepalive, DEFAULT_BACKLOG, DEFAULT_ENV_TIMEOUT, DEFAULT_KEEPALIVE,
    DEFAULT_MAX_CONNECTIONS,
};
pub mod asyncagi;
pub mod over_ami;
pub use over_ami::AsyncAgiServer;
pub mod debug;
