//! The Asterisk Manager Interface (AMI): codec, actions, events and the
//! poll-driven [`Manager`].
//!
//! Layers, from bytes up:
//!
//! - [`codec`]: the framer (bytes to blocks and header indexes) and the greeting.
//! - [`Message`] / [`OwnedMessage`]: validated `Key: Value` blocks.
//! - [`Action`] and [`actions`]: typed requests that write themselves;
//!   [`catalogue`] describes every action at run time.
//! - [`Event`], [`Response`], [`ActionResult`]: what comes back.
//! - [`Connection`]: the protocol state machine, with no I/O.
//! - [`Manager`]: the mio shell that moves bytes and calls handlers.

pub mod action;
pub mod actions;
pub mod catalogue;
pub mod codec;
pub mod connection;
mod dispatch;
mod error;
mod event;
mod event_kind;
pub mod events;
#[cfg(feature = "serde")]
pub mod json;
mod link;
mod manager;
mod message;
mod response;
#[cfg(feature = "tls")]
mod tls;

pub use action::{
    Action, ActionId, FieldValue, FieldWriter, RawAction, ResultShape, SessionEffect,
};
pub use codec::{FramerConfig, Greeting};
pub use connection::{Connection, Input, ManagerConfig, State};
pub use dispatch::{Ctx, Flow, HandlerId, HandlerResult, ManagerStats, ResultStatus};
pub use error::{EncodeError, Error, Gone, ProtocolError, Skipped, TlsError};
pub use event::Event;
pub use event_kind::EventKind;
pub use events::EventType;
pub use link::{Keepalive, LinkDown, LinkEvent, LinkState, Reconnect};

pub use manager::Manager;
pub use message::{Message, OwnedMessage, Value};
pub use response::{
    ActionResult, CommandOutput, FromResult, ListResult, OriginateOutcome, OriginateResult,
    Response,
};
#[cfg(feature = "tls")]
pub use tls::TlsSettings;
