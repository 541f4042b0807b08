//! Events and messages as JSON (the `serde` feature): one object per
//! message, its headers typed the way the [`catalogue`]
//! types them.
//!
//! ```text
//! {"kind":"event","name":"QueueMember","type":"QueueMember",
//!  "fields":{"Queue":"support","Paused":false,"Penalty":0,...},"other":{...}}
//! ```
//!
//! `name` is the event's name as received; `type` the typed view that
//! covers it (`null` when none does); `fields` every header that view
//! covers, by its name as received, with its typed value: a JSON number,
//! bool or string (enums as their wire word; a value that does not parse
//! as its kind as the string received), an array when the header repeats;
//! `other` the headers it does not cover (as strings). A response is
//! `{"kind":"response","name":<its Response: value>,"type":null,...}` with
//! `Response`, `ActionID` and `Message` in `fields`; any other block is
//! `"kind":"message"`. Text that is not UTF-8 is written lossily.
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use asterisk_io::ami::{json, Event, OwnedMessage};
//! let m = OwnedMessage::from_pairs(&[("Event", "Hangup"), ("Channel", "PJSIP/1-1"), ("Cause", "16"), ("Colour", "blue")]);
//! let line = json::to_line(m.view());
//! assert_eq!(line, r#"{"kind":"event","name":"Hangup","type":"Hangup","fields":{"Channel":"PJSIP/1-1","Cause":16},"other":{"Colour":"blue"}}"#);
//! let m = OwnedMessage::from_pairs(&[("Event", "ResourceListDetail"), ("ObjectName", "l1"), ("Event", "presence")]);
//! assert_eq!(json::to_line(m.view()), r#"{"kind":"event","name":"ResourceListDetail","type":"ResourceListDetail","fields":{"ObjectName":"l1","Event":"presence"},"other":{}}"#);
//! # }
//! ```

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::catalogue::{self, EventInfo};
use super::event::Event;
use super::events::{FieldKind, Typed};
use super::message::{Message, OwnedMessage, Value};

/// The JSON line of one message (no line end).
pub fn to_line(msg: Message<'_>) -> String {
    serde_json::to_string(&Decoded(msg)).expect("a map of strings, numbers and bools serializes")
}

/// Writes the JSON line of one message, and a line end.
pub fn write_line(out: &mut dyn std::io::Write, msg: Message<'_>) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &Decoded(msg)).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// A message that serializes as described in [this module](self).
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a>(pub Message<'a>);

impl Serialize for Event<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Decoded(self.message()).serialize(s)
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Decoded(*self).serialize(s)
    }
}

impl Serialize for OwnedMessage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Decoded(self.view()).serialize(s)
    }
}

struct Lossy<'a>(Value<'a>);

impl Serialize for Lossy<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_str_lossy())
    }
}

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Typed::Text(v) | Typed::Bad(v) => s.serialize_str(&v.to_str_lossy()),
            Typed::Number(n) => s.serialize_i64(n),
            Typed::Decimal(f) => s.serialize_f64(f),
            Typed::Bool(b) => s.serialize_bool(b),
            Typed::Enum(w) => s.serialize_str(w),
            Typed::Pair(k, v) => {
                s.serialize_str(&format!("{}={}", k.to_str_lossy(), v.to_str_lossy()))
            }
        }
    }
}

/// What a block is, and which of its headers are "fields".
enum Shape {
    Event(Option<&'static EventInfo>),
    Response,
    Message,
}

impl Shape {
    fn kind_of(&self, key: &str) -> Option<FieldKind> {
        match self {
            Shape::Event(Some(info)) => info.field(key).map(|f| f.kind()),
            Shape::Event(None) => None,
            Shape::Response => ["Response", "ActionID", "Message"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key))
                .then_some(FieldKind::Text),
            Shape::Message => None,
        }
    }
}

/// The headers of one group (fields or other), repeated keys as arrays.
struct Group<'m, 's> {
    msg: Message<'m>,
    shape: &'s Shape,
    fields: bool,
}

impl Serialize for Group<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        // The leading `Event:` header is the name; a later one (a PJSIP
        // resource list's event package) is a field like any other.
        let mut headers: Vec<(Value<'_>, Value<'_>)> = self.msg.iter().collect();
        if headers
            .first()
            .is_some_and(|(k, _)| k.eq_ignore_case("Event"))
        {
            headers.remove(0);
        }
        for (i, (k, _)) in headers.iter().enumerate() {
            // Each key once, at its first place, with all its values.
            if headers[..i]
                .iter()
                .any(|(p, _)| p.as_bytes().eq_ignore_ascii_case(k.as_bytes()))
            {
                continue;
            }
            let key = k.to_str_lossy();
            let kind = self.shape.kind_of(&key);
            if kind.is_some() != self.fields {
                continue;
            }
            let values: Vec<Value<'_>> = headers[i..]
                .iter()
                .filter(|(p, _)| p.as_bytes().eq_ignore_ascii_case(k.as_bytes()))
                .map(|(_, v)| *v)
                .collect();
            match (kind, values.as_slice()) {
                (Some(kind), [one]) if kind != FieldKind::Pair => {
                    map.serialize_entry(&key, &kind.type_value(*one))?
                }
                (Some(kind), many) => {
                    let typed: Vec<Typed<'_>> = many.iter().map(|v| kind.type_value(*v)).collect();
                    map.serialize_entry(&key, &typed)?
                }
                (None, [one]) => map.serialize_entry(&key, &Lossy(*one))?,
                (None, many) => {
                    let all: Vec<Lossy<'_>> = many.iter().map(|v| Lossy(*v)).collect();
                    map.serialize_entry(&key, &all)?
                }
            }
        }
        map.end()
    }
}

impl Serialize for Decoded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let msg = self.0;
        let (kind, name, shape) = if let Some(ev) = Event::from_message(msg) {
            let name = ev.name();
            let info = name.as_str().and_then(catalogue::event);
            ("event", Some(name), Shape::Event(info))
        } else if let Some(r) = msg.get("Response") {
            ("response", Some(r), Shape::Response)
        } else {
            ("message", None, Shape::Message)
        };
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("kind", kind)?;
        map.serialize_entry("name", &name.map(Lossy))?;
        let ty = match &shape {
            Shape::Event(Some(info)) => Some(info.rust_type()),
            _ => None,
        };
        map.serialize_entry("type", &ty)?;
        map.serialize_entry(
            "fields",
            &Group {
                msg,
                shape: &shape,
                fields: true,
            },
        )?;
        map.serialize_entry(
            "other",
            &Group {
                msg,
                shape: &shape,
                fields: false,
            },
        )?;
        map.end()
    }
}
