//! # asterisk-io
//!
//! A single-threaded, poll-driven toolkit for the Asterisk PBX:
//!
//! - [`ami`]: the Manager Interface. One typed struct per action, one
//!   [`Manager::send`](ami::Manager::send) for all of them, events dispatched
//!   to handlers from the host's own loop.
//! - [`agi`]: the Gateway Interface. All AGI commands typed, over stdio, a
//!   poll-driven FastAGI server, and AsyncAGI; debugging aids.
//! - [`config`]: Asterisk's `.conf` files, read the way Asterisk reads them
//!   and written back byte for byte.
//! - [`emu`]: an AMI emulator for demos and for your own unit tests.
//!
//! The library spawns no thread. Every protocol is a sans-IO core (bytes in,
//! bytes and typed values out) under a thin [`mio`] shell, so handlers need not
//! be `Send` and the host decides when work happens.
//!
//! ```text
//!  host loop ──poll_events()──▶ Manager (mio socket, interest, budget)
//!                                  │  read_from / write_to
//!                                  ▼
//!                              Connection (sans-IO)
//!                     Framer ─▶ Message (bytes + header index)
//!                                  │
//!            ┌─────────────────────┼──────────────────────┐
//!   Event ─▶ handlers   Response/list ─▶ ActionResult   Unmatched / Skipped
//!   (by EventKind)      (by ActionID)  ─▶ callback / take_result / call ─▶ hooks
//!
//!   time: the shell reads the clock; the core takes `now` and answers
//!   `poll_timeout()` (the next action deadline)
//! ```
//!
//! # A host loop
//!
//! ```no_run
//! use std::time::Duration;
//! use asterisk_io::ami::{Manager, actions::{Login, Originate, Ping}};
//!
//! # fn main() -> Result<(), asterisk_io::ami::Error> {
//! let mut mgr = Manager::connect("127.0.0.1:5038")?;
//! mgr.on_event("Hangup", |ev, _ctx| {
//!     println!("hangup of {}", ev.get("Channel").map(|v| v.to_string()).unwrap_or_default());
//! });
//! mgr.login(&Login::new("admin", "secret").md5(), Duration::from_secs(5))?;
//!
//! // Fire an async originate; its OriginateResponse completes the callback later.
//! let call = Originate::to_extension("PJSIP/100", "default", "200", "1").run_async();
//! mgr.send_with(&call, |result, _ctx| match result {
//!     Ok(r) => println!("originate: {:?}", r.outcome.map(|o| o.reason())),
//!     Err(e) => eprintln!("originate failed: {e}"),
//! })?;
//!
//! // Or block on one action while events keep flowing to handlers.
//! let pong = mgr.call(&Ping, Duration::from_secs(5))?;
//! println!("{:?}", pong.get_str("Ping"));
//!
//! // A malformed message is skipped and reported here; the connection goes on.
//! mgr.on_skipped(|skipped, _ctx| eprintln!("{skipped}"));
//!
//! loop {
//!     // `Err` only when the connection has ended; it repeats from then on.
//!     mgr.poll_events(Some(Duration::from_millis(100)))?;
//!     // ... the host's own work ...
//! #   break;
//! }
//! mgr.logoff(Duration::from_secs(5))?;
//! # Ok(())
//! # }
//! ```
//!
//! # Panics
//!
//! Nothing that arrives from the network panics the library: bad input
//! becomes a typed error with its byte offset, and the stream carries on
//! where it can. Buffers are bounded by configurable limits.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod agi;
pub mod ami;
pub mod config;
pub mod driver;
pub mod emu;
pub mod net;
mod scan;
mod transport;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/migrating-from-pyst.md")]
struct MigratingFromPystDoctests;
