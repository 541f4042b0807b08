//! The [`Action`] trait, the field writer every action writes itself with,
//! and [`RawAction`] for anything without a typed struct.
//!
//! An action knows three things: its wire name, how to write its fields, and
//! the shape of its result ([`ResultShape`]). The shape is declared, never
//! guessed from the reply's text. Writing is done into the connection's
//! output buffer through a [`FieldWriter`], which refuses a CR or LF in any
//! key or value: on refusal nothing of the action is left in the buffer.

use std::fmt;

use super::error::EncodeError;
use super::response::FromResult;

/// How the result of an action arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultShape {
    /// One `Response:` block.
    Single,
    /// A response with `EventList: start`, then events carrying the action's
    /// ActionID, ended by the event with `EventList: Complete`.
    List,
    /// `Command` output: `Output:` lines in the response (Asterisk 14+), or the
    /// legacy `Response: Follows` raw text ended by `--END COMMAND--`.
    Command,
    /// An `Async: true` Originate: the response, then the `OriginateResponse`
    /// event with the same ActionID that tells how the call went.
    AsyncOriginate,
    /// Raw CLI text with no `Response:` and no `ActionID:`, in blocks ended
    /// by blank lines, then an empty block (the `Queues` action of Asterisk
    /// 14 and older). While such an action is pending, blocks that are
    /// neither response nor event are its text, and the empty block ends it;
    /// its result has the text as [`output`](super::ActionResult::output)
    /// and a made-up `Response: Success`. A server that refuses the action
    /// answers with an ordinary `Response: Error`, which ends it as usual.
    Text,
    /// Raw CLI text with no `Response:` in a single block ended by a blank
    /// line; a blank line alone is empty output (`IAXnetstats`). Its result
    /// looks like a [`Text`](Self::Text) one.
    TextBlock,
    /// One response, then one event carrying the action's ActionID that
    /// completes it: `FAXStats`, `FAXSession`, `WaitEvent` (its
    /// `WaitEventComplete`). The event is the result's
    /// [`completion`](super::ActionResult::completion); an error response
    /// ends the action alone.
    ThenEvent(&'static str),
}

impl ResultShape {
    /// The event that completes an action of this shape after its response:
    /// `OriginateResponse` for [`AsyncOriginate`](Self::AsyncOriginate), the
    /// named one for [`ThenEvent`](Self::ThenEvent).
    pub fn completion_event(self) -> Option<&'static str> {
        match self {
            ResultShape::AsyncOriginate => Some("OriginateResponse"),
            ResultShape::ThenEvent(name) => Some(name),
            _ => None,
        }
    }

    /// True for the shapes whose answer is bare text with no `Response:`.
    pub fn is_text(self) -> bool {
        matches!(self, ResultShape::Text | ResultShape::TextBlock)
    }
}

/// A manager action: a typed request with a declared result shape.
///
/// Implement it by hand or with [`ami_action!`](crate::ami_action):
///
/// ```
/// use asterisk_io::ami::{Action, FieldWriter, EncodeError, Response};
///
/// /// `QueuePause` for one interface.
/// struct PauseMember { interface: String, paused: bool }
///
/// impl Action for PauseMember {
///     type Output = Response;
///     fn name(&self) -> &str { "QueuePause" }
///     fn write_fields(&self, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
///         w.field("Interface", &self.interface)?;
///         w.field("Paused", &self.paused)
///     }
/// }
/// ```
pub trait Action {
    /// What [`Manager::call`](super::Manager::call) returns for this action.
    type Output: FromResult;

    /// The wire name written after `Action:`.
    fn name(&self) -> &str;

    /// Writes the action's fields (not `Action:` or `ActionID:`, which the
    /// connection writes).
    fn write_fields(&self, w: &mut FieldWriter<'_>) -> Result<(), EncodeError>;

    /// How the result arrives. Defaults to one response.
    fn shape(&self) -> ResultShape {
        ResultShape::Single
    }

    /// For a [`ResultShape::List`] action: the event that ends its list
    /// (`QueueStatusComplete`, `DBGetComplete` ...). Asterisk 12 and later
    /// mark the end with `EventList: Complete`; older versions, and some
    /// modules still, send the terminal event with no `EventList` header at
    /// all, so the connection also ends the list when this event arrives.
    /// `None` (the default) ends it at `EventList: Complete`, or else at the
    /// first event whose name ends in `Complete`.
    fn list_end(&self) -> Option<&str> {
        None
    }

    /// What the action does to the manager session itself. Defaults to
    /// nothing; [`Login`](super::actions::Login) and
    /// [`Logoff`](super::actions::Logoff) say so, and the connection acts on
    /// it (a refused login is [`Error::AuthFailed`](super::Error::AuthFailed)
    /// and ends the connection; after a logoff, the server's close is expected).
    fn effect(&self) -> SessionEffect {
        SessionEffect::None
    }
}

/// What an action does to the manager session (see [`Action::effect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEffect {
    /// An ordinary action.
    None,
    /// Authenticates the session: a refusal ends the connection.
    Login,
    /// Ends the session: Asterisk answers `Goodbye` and closes.
    Logoff,
}

/// Identifies one action sent on one connection.
///
/// An id is scoped: it names the connection that issued it (a number unique
/// in the process) and the link generation (a connection that replaces
/// another after a reconnect keeps the scope and takes the next
/// generation), so an id can never be taken for an action of another
/// connection, or of an earlier link of the same one. Ids are only made by
/// connections.
///
/// On the wire, each connection writes a prefix unique to the process and
/// its start time (process id, clock, scope, generation) before the
/// sequence number, so a broadcast event carrying another client's
/// ActionID is never taken for one of ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId {
    pub(crate) scope: u64,
    pub(crate) generation: u32,
    pub(crate) seq: u64,
}

impl ActionId {
    /// The sequence number of this action within its connection (1 for the first).
    pub fn seq(self) -> u64 {
        self.seq
    }

    /// The link generation that issued it (0 for a connection's first link).
    pub fn generation(self) -> u32 {
        self.generation
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.generation == 0 {
            write!(f, "#{}", self.seq)
        } else {
            write!(f, "#{}.{}", self.generation, self.seq)
        }
    }
}

/// Appends `Key: Value\r\n` lines to an output buffer, refusing line breaks.
pub struct FieldWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> FieldWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        FieldWriter { out }
    }

    /// Writes one field from anything that implements [`FieldValue`]
    /// (`Option` writes nothing when `None`; lists write one line per item).
    pub fn field<V: FieldValue + ?Sized>(
        &mut self,
        key: &str,
        value: &V,
    ) -> Result<(), EncodeError> {
        value.write_field(key, self)
    }

    /// Writes one `key: value` line from raw bytes.
    pub fn raw(&mut self, key: &str, value: &[u8]) -> Result<(), EncodeError> {
        check_key(key)?;
        if memchr::memchr2(b'\r', b'\n', value).is_some() {
            return Err(EncodeError::LineBreakInValue {
                key: key.to_owned(),
            });
        }
        check_length(key, value.len())?;
        self.out.reserve(key.len() + value.len() + 4);
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b": ");
        self.out.extend_from_slice(value);
        self.out.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Writes one line whose value is formatted (numbers, for example).
    pub fn display(&mut self, key: &str, value: &dyn fmt::Display) -> Result<(), EncodeError> {
        use std::io::Write;
        check_key(key)?;
        let start = self.out.len();
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b": ");
        let vstart = self.out.len();
        let _ = write!(self.out, "{value}");
        if memchr::memchr2(b'\r', b'\n', &self.out[vstart..]).is_some() {
            self.out.truncate(start);
            return Err(EncodeError::LineBreakInValue {
                key: key.to_owned(),
            });
        }
        if let Err(e) = check_length(key, self.out.len() - vstart) {
            self.out.truncate(start);
            return Err(e);
        }
        self.out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// The longest request line Asterisk's manager reads, without its CRLF.
///
/// `manager.c` reads request lines into a 1025-byte buffer and throws away a
/// line that fills it before its line end, so the rest of the line would
/// arrive as garbage headers. Longer fields are refused instead.
pub const MAX_FIELD_LINE: usize = 1022;

fn check_length(key: &str, value_len: usize) -> Result<(), EncodeError> {
    let len = key.len() + 2 + value_len;
    if len > MAX_FIELD_LINE {
        return Err(EncodeError::FieldTooLong {
            key: key.to_owned(),
            len,
        });
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), EncodeError> {
    if key.is_empty() || key.bytes().any(|b| b == b'\r' || b == b'\n' || b == b':') {
        return Err(EncodeError::InvalidKey {
            key: key.to_owned(),
        });
    }
    Ok(())
}

/// A value that can be written as one or more action fields.
pub trait FieldValue {
    /// Writes `key: self` (or nothing, or several lines) to `w`.
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError>;
}

impl FieldValue for str {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.raw(key, self.as_bytes())
    }
}

impl FieldValue for String {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.raw(key, self.as_bytes())
    }
}

impl FieldValue for [u8] {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.raw(key, self)
    }
}

impl<T: FieldValue + ?Sized> FieldValue for &T {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        (**self).write_field(key, w)
    }
}

impl FieldValue for bool {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.raw(key, if *self { b"true" } else { b"false" })
    }
}

macro_rules! display_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
                w.display(key, self)
            }
        }
    )*};
}
display_field!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T: FieldValue> FieldValue for Option<T> {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        match self {
            Some(v) => v.write_field(key, w),
            None => Ok(()),
        }
    }
}

/// A list writes one line per item, in order (`Variable: a=1`, `Variable: b=2`).
impl<T: FieldValue> FieldValue for Vec<T> {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        self.iter().try_for_each(|v| v.write_field(key, w))
    }
}

/// A `(name, value)` pair writes `key: name=value` (channel variables).
impl<A: AsRef<str>, B: AsRef<str>> FieldValue for (A, B) {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        let (a, b) = (self.0.as_ref(), self.1.as_ref());
        if a.contains('=') {
            return Err(EncodeError::InvalidVariableName { name: a.to_owned() });
        }
        let mut v = Vec::with_capacity(a.len() + b.len() + 1);
        v.extend_from_slice(a.as_bytes());
        v.push(b'=');
        v.extend_from_slice(b.as_bytes());
        w.raw(key, &v)
    }
}

/// Any action by name, with fields in order. Repeat a key to repeat the field.
///
/// ```
/// use asterisk_io::ami::RawAction;
/// let a = RawAction::new("QueueStatus").field("Queue", "support").list();
/// # let _ = a;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawAction {
    name: String,
    fields: Vec<(String, String)>,
    shape: ResultShape,
    list_end: Option<String>,
}

impl RawAction {
    /// An action with no fields and a single-response result.
    pub fn new(name: impl Into<String>) -> Self {
        RawAction {
            name: name.into(),
            fields: Vec::new(),
            shape: ResultShape::Single,
            list_end: None,
        }
    }

    /// Adds a field (repeat the key to repeat the field).
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// Declares that the result is an event list.
    pub fn list(mut self) -> Self {
        self.shape = ResultShape::List;
        self
    }

    /// Declares that the result is an event list ended by the event `end`
    /// (see [`Action::list_end`]), for servers that send no `EventList` header.
    pub fn list_until(mut self, end: impl Into<String>) -> Self {
        self.shape = ResultShape::List;
        self.list_end = Some(end.into());
        self
    }

    /// Declares the result shape explicitly.
    pub fn with_shape(mut self, shape: ResultShape) -> Self {
        self.shape = shape;
        self
    }

    /// The fields in order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

impl Action for RawAction {
    type Output = super::response::ActionResult;
    fn name(&self) -> &str {
        &self.name
    }
    fn write_fields(&self, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        self.fields.iter().try_for_each(|(k, v)| w.field(k, v))
    }
    fn shape(&self) -> ResultShape {
        self.shape
    }
    fn list_end(&self) -> Option<&str> {
        self.list_end.as_deref()
    }
    /// A raw action knows only its name: `Login` and `Logoff` (in any case)
    /// have their effect on the session, every other name none.
    fn effect(&self) -> SessionEffect {
        if self.name.eq_ignore_ascii_case("Logoff") {
            SessionEffect::Logoff
        } else if self.name.eq_ignore_ascii_case("Login") {
            SessionEffect::Login
        } else {
            SessionEffect::None
        }
    }
}

/// Declares a typed manager action: a struct, its wire name, its result and its fields.
///
/// Each field is `name: Type => "WireKey"`; any type implementing
/// [`FieldValue`](crate::ami::FieldValue) works (`String`, numbers, `bool`,
/// `Option<_>` for optional fields, `Vec<_>` for repeated ones, `(String,
/// String)` pairs for `Variable: name=value`). The result is `single`
/// ([`Response`](crate::ami::Response)), `list`
/// ([`ListResult`](crate::ami::ListResult)), or any `FromResult` type given
/// with `-> Type`. A list may name its terminal event, `list("QueueStatusComplete")`
/// (see [`Action::list_end`](crate::ami::Action::list_end)).
///
/// ```
/// asterisk_io::ami_action! {
///     /// Lists the members of one queue.
///     pub struct QueueStatus => "QueueStatus", list("QueueStatusComplete") {
///         /// Limit to this queue.
///         pub queue: Option<String> => "Queue",
///         /// Limit to this member.
///         pub member: Option<String> => "Member",
///     }
/// }
/// let a = QueueStatus { queue: Some("support".into()), member: None };
/// # let _ = a;
/// ```
#[macro_export]
macro_rules! ami_action {
    (@output single) => { $crate::ami::Response };
    (@output list) => { $crate::ami::ListResult };
    (@shape single) => { $crate::ami::ResultShape::Single };
    (@shape list) => { $crate::ami::ResultShape::List };
    (@end) => { ::std::option::Option::None };
    (@end $end:literal) => { ::std::option::Option::Some($end) };
    (@impl $name:ident, $wire:literal, $kind:ident, [$($end:literal)?], $( $field:ident => $key:literal ),*) => {
        impl $crate::ami::Action for $name {
            type Output = $crate::ami_action!(@output $kind);
            fn name(&self) -> &str {
                $wire
            }
            #[allow(unused_variables)]
            fn write_fields(
                &self,
                w: &mut $crate::ami::FieldWriter<'_>,
            ) -> ::std::result::Result<(), $crate::ami::EncodeError> {
                $( w.field($key, &self.$field)?; )*
                Ok(())
            }
            fn shape(&self) -> $crate::ami::ResultShape {
                $crate::ami_action!(@shape $kind)
            }
            fn list_end(&self) -> ::std::option::Option<&str> {
                $crate::ami_action!(@end $($end)?)
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident => $wire:literal, $kind:ident $(($end:literal))? {}
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        $vis struct $name;
        $crate::ami_action!(@impl $name, $wire, $kind, [$($end)?],);
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident => $wire:literal, $kind:ident $(($end:literal))? {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $fty:ty => $key:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $fty, )*
        }
        $crate::ami_action!(@impl $name, $wire, $kind, [$($end)?], $( $field => $key ),*);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write<A: Action>(a: &A) -> Result<String, EncodeError> {
        let mut out = Vec::new();
        a.write_fields(&mut FieldWriter::new(&mut out))?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn raw_action_repeats_fields_in_order() {
        let a = RawAction::new("Originate")
            .field("Variable", "a=1")
            .field("Variable", "b=2");
        assert_eq!(write(&a).unwrap(), "Variable: a=1\r\nVariable: b=2\r\n");
    }

    #[test]
    fn lines_longer_than_asterisk_reads_are_refused() {
        let fits = "x".repeat(MAX_FIELD_LINE - "Value: ".len());
        assert!(write(&RawAction::new("Setvar").field("Value", fits.as_str())).is_ok());
        let long = format!("{fits}y");
        assert!(matches!(
            write(&RawAction::new("Setvar").field("Value", long.as_str())),
            Err(EncodeError::FieldTooLong { len: 1023, .. })
        ));
    }

    #[test]
    fn line_breaks_are_refused() {
        let a = RawAction::new("Setvar").field("Value", "x\r\nAction: Hangup");
        assert!(matches!(
            write(&a),
            Err(EncodeError::LineBreakInValue { .. })
        ));
        let a = RawAction::new("Setvar").field("Va\nlue", "x");
        assert!(matches!(write(&a), Err(EncodeError::InvalidKey { .. })));
    }

    crate::ami_action! {
        /// Test action.
        pub struct Sample => "Sample", single {
            /// A.
            pub a: String => "A",
            /// B.
            pub b: Option<u32> => "B",
            /// Vars.
            pub vars: Vec<(String, String)> => "Variable",
        }
    }

    #[test]
    fn macro_declares_a_working_action() {
        let s = Sample {
            a: "x".into(),
            b: None,
            vars: vec![("K".into(), "v w".into())],
        };
        assert_eq!(s.name(), "Sample");
        assert_eq!(write(&s).unwrap(), "A: x\r\nVariable: K=v w\r\n");
    }
}
