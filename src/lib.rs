//! asterisk-io: a single-threaded, poll-driven toolkit for the Asterisk PBX.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agi;
pub mod ami;
pub mod config;
pub mod emu;
