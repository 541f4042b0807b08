//! The Asterisk Manager Interface (AMI): codec, actions, events and the
//! poll-driven [`Manager`].
//!
//! Layers, from bytes up:
//!
//! - [`codec`]: the framer (bytes to blocks and header indexes) and the greeting.
//! - [`Message`] / [`OwnedMessage`]: validated `Key: Value` blocks.
//! - [`Action`] and [`actions`]: typed requests that write themselves.
//! - [`Event`], [`Response`], [`ActionResult`]: what comes back.
//! - [`Connection`]: the protocol state machine, with no I/O.
//! - [`Manager`]: the mio shell that moves bytes and calls handlers.

pub mod action;
pub mod actions;
pub mod codec;
pub mod connection;
mod error;
mod event;
mod event_kind;
pub mod events;
mod manager;
mod message;
mod response;

pub use action::{Action, ActionId, FieldValue, FieldWriter, RawAction, ResultShape};
pub use codec::{Frame, Framer, FramerConfig, Greeting};
pub use connection::{Completion, Connection, Input, ManagerConfig, Outbox, State, Step};
pub use error::{EncodeError, Error, ProtocolError};
pub use event::Event;
pub use event_kind::EventKind;
pub use events::EventType;

pub use manager::{Ctx, Flow, HandlerId, HandlerResult, Manager};
pub use message::{Header, Message, OwnedMessage, Span, Value};
pub use response::{
    ActionResult, CommandOutput, FromResult, ListResult, OriginateOutcome, OriginateResult,
    Response,
};
