//! Hand-written value types the generated actions use: the `Events` mask,
//! AOC unit entries, `UpdateConfig` changes, and the small writers that put
//! booleans and durations on the wire the way each action reads them.

use std::fmt;
use std::time::Duration;

use crate::ami::action::{FieldValue, FieldWriter};
use crate::ami::error::EncodeError;

/// `yes` / `no`, for parameters Asterisk compares with `"yes"`.
pub(crate) fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `on` / `off`, for parameters Asterisk compares with `"on"`.
pub(crate) fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// Whole milliseconds (saturating).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whole seconds (a fraction is dropped).
pub(crate) fn secs(d: Duration) -> u64 {
    d.as_secs()
}

/// True for a `/regex/` channel name, which `Hangup` treats as a pattern.
pub(crate) fn is_regex(s: &str) -> bool {
    s.starts_with('/')
}

/// How [`Login`](super::Login) proves the secret (and the `AuthType` of `Challenge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// The secret is sent as is.
    Plain,
    /// `Challenge` first, then `Key = md5hex(challenge + secret)`; the secret never crosses the wire.
    Md5,
}

impl AuthType {
    /// The name on the wire (`plain`, `MD5`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Plain => "plain",
            AuthType::Md5 => "MD5",
        }
    }
}

impl FieldValue for AuthType {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.raw(key, self.as_str().as_bytes())
    }
}

/// A class of events, as `manager.conf`'s `read=` and the `Events` action name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventClass {
    /// `system`.
    System,
    /// `call`.
    Call,
    /// `log`.
    Log,
    /// `verbose`.
    Verbose,
    /// `command`.
    Command,
    /// `agent`.
    Agent,
    /// `user`.
    User,
    /// `config`.
    Config,
    /// `dtmf`.
    Dtmf,
    /// `reporting`.
    Reporting,
    /// `cdr`.
    Cdr,
    /// `dialplan`.
    Dialplan,
    /// `originate`.
    Originate,
    /// `agi`.
    Agi,
    /// `cc`.
    Cc,
    /// `aoc`.
    Aoc,
    /// `test`.
    Test,
    /// `security`.
    Security,
    /// `message`.
    Message,
    /// `all`.
    All,
}

impl EventClass {
    const ALL: [EventClass; 20] = [
        EventClass::System,
        EventClass::Call,
        EventClass::Log,
        EventClass::Verbose,
        EventClass::Command,
        EventClass::Agent,
        EventClass::User,
        EventClass::Config,
        EventClass::Dtmf,
        EventClass::Reporting,
        EventClass::Cdr,
        EventClass::Dialplan,
        EventClass::Originate,
        EventClass::Agi,
        EventClass::Cc,
        EventClass::Aoc,
        EventClass::Test,
        EventClass::Security,
        EventClass::Message,
        EventClass::All,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventClass::System => "system",
            EventClass::Call => "call",
            EventClass::Log => "log",
            EventClass::Verbose => "verbose",
            EventClass::Command => "command",
            EventClass::Agent => "agent",
            EventClass::User => "user",
            EventClass::Config => "config",
            EventClass::Dtmf => "dtmf",
            EventClass::Reporting => "reporting",
            EventClass::Cdr => "cdr",
            EventClass::Dialplan => "dialplan",
            EventClass::Originate => "originate",
            EventClass::Agi => "agi",
            EventClass::Cc => "cc",
            EventClass::Aoc => "aoc",
            EventClass::Test => "test",
            EventClass::Security => "security",
            EventClass::Message => "message",
            EventClass::All => "all",
        }
    }

    /// The class named `s` (ASCII case ignored).
    pub fn from_name(s: &str) -> Option<EventClass> {
        EventClass::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Which events a session receives: the `EventMask` of `Events` (and the
/// `Events` header of a login).
///
/// Converts from text: `"on"` and `"off"` (and the other words Asterisk's
/// `ast_true`/`ast_false` read), a comma-separated list of class names, or
/// anything else (a number, which Asterisk reads as a bit mask), which is
/// sent as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum EventMask {
    /// Every class this user may read.
    #[default]
    On,
    /// No events.
    Off,
    /// These classes only.
    Classes(Vec<EventClass>),
    /// Written as given.
    Raw(String),
}

impl EventMask {
    /// The value written on the wire.
    pub fn to_wire(&self) -> String {
        match self {
            EventMask::On => "on".into(),
            EventMask::Off => "off".into(),
            EventMask::Classes(c) => c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
            EventMask::Raw(s) => s.clone(),
        }
    }
}

impl From<&str> for EventMask {
    fn from(s: &str) -> Self {
        let t = s.trim();
        // Asterisk reads an all-digit mask as a number (`1` is the system
        // class alone), before the on/off words.
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return EventMask::Raw(t.to_owned());
        }
        let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(t));
        if is(&["on", "yes", "true", "y", "t"]) {
            return EventMask::On;
        }
        if is(&["off", "no", "false", "n", "f"]) {
            return EventMask::Off;
        }
        let classes: Option<Vec<EventClass>> = t.split(',').map(EventClass::from_name).collect();
        match classes {
            Some(c) if !t.is_empty() => EventMask::Classes(c),
            _ => EventMask::Raw(s.to_owned()),
        }
    }
}

impl From<String> for EventMask {
    fn from(s: String) -> Self {
        EventMask::from(s.as_str())
    }
}

impl From<Vec<EventClass>> for EventMask {
    fn from(c: Vec<EventClass>) -> Self {
        EventMask::Classes(c)
    }
}

impl fmt::Display for EventMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_wire())
    }
}

impl FieldValue for EventMask {
    fn write_field(&self, key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.raw(key, self.to_wire().as_bytes())
    }
}

/// One unit entry of an AOC-D or AOC-E message: an amount and an optional type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AocUnit {
    /// The number of units.
    pub amount: u32,
    /// The type of unit (1 to 16), if any.
    pub unit_type: Option<u32>,
}

/// The unit entries of an `AOCMessage`, written as `UnitAmount(0)`,
/// `UnitType(0)`, `UnitAmount(1)` ... in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AocUnits(pub Vec<AocUnit>);

impl From<Vec<AocUnit>> for AocUnits {
    fn from(v: Vec<AocUnit>) -> Self {
        AocUnits(v)
    }
}

impl FieldValue for AocUnits {
    fn write_field(&self, _key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        for (i, u) in self.0.iter().enumerate() {
            w.field(&format!("UnitAmount({i})"), &u.amount)?;
            w.field(&format!("UnitType({i})"), &u.unit_type)?;
        }
        Ok(())
    }
}

/// What one `UpdateConfig` change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigOp {
    /// Creates a category.
    NewCat,
    /// Renames a category (the new name in `value`).
    RenameCat,
    /// Deletes a category.
    DelCat,
    /// Empties a category.
    EmptyCat,
    /// Changes a variable's value.
    Update,
    /// Deletes a variable.
    Delete,
    /// Appends a variable to a category.
    Append,
    /// Inserts a variable at a line of a category.
    Insert,
}

impl ConfigOp {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigOp::NewCat => "NewCat",
            ConfigOp::RenameCat => "RenameCat",
            ConfigOp::DelCat => "DelCat",
            ConfigOp::EmptyCat => "EmptyCat",
            ConfigOp::Update => "Update",
            ConfigOp::Delete => "Delete",
            ConfigOp::Append => "Append",
            ConfigOp::Insert => "Insert",
        }
    }
}

/// One change of an `UpdateConfig`: written as the numbered `Action-NNNNNN`,
/// `Cat-NNNNNN`, `Var-NNNNNN` ... headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigChange {
    /// What to do.
    pub op: ConfigOp,
    /// The category it applies to.
    pub category: String,
    /// The variable, for variable operations.
    pub var: Option<String>,
    /// The value (or the new name of a renamed category).
    pub value: Option<String>,
    /// Only change a variable whose value is this.
    pub match_value: Option<String>,
    /// The line, for `Insert`.
    pub line: Option<u32>,
    /// Comma-separated options (`allowdups`, `template`, `inherit=` ...).
    pub options: Option<String>,
}

impl ConfigChange {
    /// A change with only its operation and category.
    pub fn new(op: ConfigOp, category: impl Into<String>) -> Self {
        ConfigChange {
            op,
            category: category.into(),
            var: None,
            value: None,
            match_value: None,
            line: None,
            options: None,
        }
    }

    /// Sets the variable.
    pub fn var(mut self, var: impl Into<String>) -> Self {
        self.var = Some(var.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

/// The changes of an `UpdateConfig`, numbered from 0 in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigChanges(pub Vec<ConfigChange>);

impl From<Vec<ConfigChange>> for ConfigChanges {
    fn from(v: Vec<ConfigChange>) -> Self {
        ConfigChanges(v)
    }
}

impl FieldValue for ConfigChanges {
    fn write_field(&self, _key: &str, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        for (i, c) in self.0.iter().enumerate() {
            w.field(&format!("Action-{i:06}"), c.op.as_str())?;
            w.field(&format!("Cat-{i:06}"), &c.category)?;
            w.field(&format!("Var-{i:06}"), &c.var)?;
            w.field(&format!("Value-{i:06}"), &c.value)?;
            w.field(&format!("Match-{i:06}"), &c.match_value)?;
            w.field(&format!("Line-{i:06}"), &c.line)?;
            w.field(&format!("Options-{i:06}"), &c.options)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_masks_read_like_asterisk_reads_them() {
        assert_eq!(EventMask::from("ON"), EventMask::On);
        assert_eq!(EventMask::from("no"), EventMask::Off);
        assert_eq!(
            EventMask::from("system, call"),
            EventMask::Classes(vec![EventClass::System, EventClass::Call])
        );
        assert_eq!(EventMask::from("system,call").to_wire(), "system,call");
        // Digits are a bit mask to Asterisk: `1` is the system class, not "on".
        assert_eq!(EventMask::from("1"), EventMask::Raw("1".into()));
        assert_eq!(
            EventMask::from("bogus,call"),
            EventMask::Raw("bogus,call".into())
        );
    }
}
