//! A built-in AMI emulator for demos and for users' own tests.
//!
//! [`ClientSession`] is the sans-IO core (request bytes in, reply bytes out) and
//! [`Emulator`] a loopback listener that runs in the caller's loop. It
//! speaks what the recordings of a real Asterisk 22 show: the greeting,
//! plain and MD5 logins (a wrong secret is refused and the connection
//! closed), `Logoff`, `Ping`, `Events`, `Command` with `Output:` lines,
//! `Getvar`/`Setvar` on globals, `UserEvent`, and a table of scripted
//! replies ([`ScriptedReply`]) for any other action; events can be injected at any time.
//!
//! ```no_run
//! use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};
//! let config = EmulatorConfig::default()
//!     .user("admin", "secret")
//!     .script("CoreStatus", ScriptedReply::success(&[("CoreCurrentCalls", "0")]));
//! let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
//! emu.emit_event("PeerStatus", &[("Peer", "PJSIP/100"), ("PeerStatus", "Reachable")]);
//! emu.poll(Some(std::time::Duration::ZERO)).unwrap();
//! ```

mod server;
mod session;

pub use server::Emulator;
pub use session::{ClientSession, Effect, EmulatorConfig, ScriptedReply, MAX_OUTPUT};

pub mod agi;
pub mod record;
pub mod replay;
pub mod transcript;
