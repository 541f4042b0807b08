//! A built-in AMI emulator: a fake Asterisk 22 for demos, for the
//! library's own tests and for users' tests of their code.
//!
//! [`ClientSession`] is the sans-IO core of one connection (request bytes
//! in, reply bytes out, time passed in), [`Pbx`] the small PBX all sessions
//! share (AstDB, variables, fake channels made by `Originate`, AsyncAGI),
//! [`Shaper`] a connection's [`Fault`]s, and [`Emulator`] the loopback
//! listener that runs them in the caller's loop (or a
//! [`Driver`](crate::driver::Driver)). It answers as the recordings of a
//! real Asterisk 22.10.1 show: the greeting, plain and MD5 logins (a
//! refused login answered after [`EmulatorConfig::auth_failure_delay`],
//! then closed), users with read/write permission [`Classes`],
//! `Permission denied`, the `Events` action and Login's `Events:` mask,
//! `Privilege:` headers, `Ping`, `Command`, `DBPut`/`DBGet`/`DBGetTree`/
//! `DBDel`/`DBDelTree`, `Getvar`/`Setvar`, `Originate` (sync and async) with
//! the `Local` channel event sequence, `Hangup`, `Status`,
//! `CoreShowChannels`, `CoreSettings`, `CoreStatus`, `UserEvent`, `AGI`,
//! and a table of scripted replies ([`ScriptedReply`]) for any other
//! action; events can be injected at any time. See `docs/emulator.md`.
//!
//! ```no_run
//! use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};
//! let config = EmulatorConfig::default()
//!     .user("admin", "secret")
//!     .script("QueueStatus", ScriptedReply::success(&[("Message", "Queue status will follow")]));
//! let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
//! emu.emit_event("PeerStatus", &[("Peer", "PJSIP/100"), ("PeerStatus", "Reachable")]);
//! emu.poll(Some(std::time::Duration::ZERO)).unwrap();
//! ```

mod classes;
mod faults;
mod pbx;
pub mod script;
mod server;
mod session;

pub use classes::{action_authority, Classes};
pub use faults::{Cut, Fault, FaultSpecError, Shaper, Then, Trigger};
pub use pbx::{Out, Pbx, MAX_ENTRIES};
pub use server::Emulator;
pub use session::{
    Block, ClientSession, Effect, EmulatorConfig, ScriptedReply, TimedEvent, MAX_OUTPUT,
};

pub mod agi;
pub mod record;
pub mod replay;
pub mod transcript;
