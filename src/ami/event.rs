//! Events: unsolicited `Event:` blocks, borrowed from the read buffer.

use std::fmt;

use super::event_kind::EventKind;
use super::message::{Message, OwnedMessage, Value};

/// An event as handed to handlers: a view into the read buffer, valid for
/// the duration of the handler call. Use [`Event::to_owned`] to keep one.
#[derive(Clone, Copy)]
pub struct Event<'a> {
    msg: Message<'a>,
    name: Value<'a>,
}

impl<'a> Event<'a> {
    /// An event whose `Event:` header is `name` (already looked up).
    pub(crate) fn with_name(msg: Message<'a>, name: Value<'a>) -> Self {
        Event { msg, name }
    }

    /// Views a message as an event, if it has an `Event:` header.
    pub fn from_message(msg: Message<'a>) -> Option<Self> {
        let name = msg.leading("Event")?;
        Some(Event { msg, name })
    }

    /// The event's name as sent (`Newchannel`, `Hangup`, `UserEvent`, ...).
    pub fn name(&self) -> Value<'a> {
        self.name
    }

    /// The event's name as a known kind ([`EventKind::Other`] when unknown).
    pub fn kind(&self) -> EventKind {
        EventKind::from_name(self.name.as_bytes())
    }

    /// See [`Message::get`].
    #[inline]
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.msg.get(key)
    }

    /// See [`Message::get_str`].
    pub fn get_str(&self, key: &str) -> Option<&'a str> {
        self.msg.get_str(key)
    }

    /// See [`Message::get_all`].
    pub fn get_all<'k>(&self, key: &'k str) -> impl Iterator<Item = Value<'a>> + 'k
    where
        'a: 'k,
    {
        self.msg.get_all(key)
    }

    /// The whole message.
    pub fn message(&self) -> Message<'a> {
        self.msg
    }

    /// Copies the event out of the read buffer.
    pub fn to_owned(&self) -> OwnedMessage {
        self.msg.to_owned()
    }
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.msg, f)
    }
}
