//! The run-time catalogue of every manager action Asterisk 22 documents:
//! look an action up by its wire name and learn its parameters and how its
//! result arrives, or check a [`RawAction`] before sending it.
//!
//! ```
//! use asterisk_io::ami::{catalogue, RawAction, ResultShape};
//!
//! let qs = catalogue::action("queuestatus").unwrap();
//! assert_eq!(qs.name(), "QueueStatus");
//! assert_eq!(qs.shape(), ResultShape::List);
//! assert_eq!(qs.list_end(), Some("QueueStatusComplete"));
//!
//! // A missing required parameter is an error before anything is sent ...
//! let err = catalogue::check(&RawAction::new("QueueAdd").field("Queue", "support")).unwrap_err();
//! assert_eq!(err.to_string(), "QueueAdd needs the parameter Interface");
//! // ... an unknown one a warning.
//! let ok = catalogue::check(&RawAction::new("Ping").field("Bogus", "1")).unwrap();
//! assert_eq!(ok.warnings().len(), 1);
//! ```
//!
//! The table is generated (by `tools/catalogue`) from Asterisk 22.10.1's
//! documentation, with result shapes and terminal events read from its C
//! sources. Every action here also has a typed struct in
//! [`actions`](super::actions), named by [`ActionInfo::rust_type`].

use std::fmt;

use super::action::{Action, RawAction, ResultShape};
use super::event_kind::EventKind;
use super::events::FieldSpec;

mod actions;
mod events;

/// One documented manager action.
#[derive(Debug)]
pub struct ActionInfo {
    name: &'static str,
    rust_type: &'static str,
    subject: &'static str,
    module: &'static str,
    since: &'static [&'static str],
    summary: &'static str,
    note: &'static str,
    shape: ResultShape,
    rule: ShapeRule,
    list_end: Option<&'static str>,
    list_items: &'static [&'static str],
    open: bool,
    params: &'static [ParamInfo],
}

/// When an action's result shape depends on a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShapeRule {
    /// Always [`ActionInfo::shape`].
    Fixed,
    /// A list when this parameter's value is a `/regex/` (`Hangup`).
    ListIfRegex(&'static str),
    /// [`ResultShape::AsyncOriginate`] when this parameter is true (`Originate`'s `Async`).
    AsyncIfTrue(&'static str),
}

/// Whether a parameter must, may, or may repeatedly be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Presence {
    /// Must be given.
    Required,
    /// May be given once.
    Optional,
    /// May be given several times (`Variable`), or is numbered (`UnitAmount(0)`, `Action-000000`).
    Repeatable,
}

/// What a parameter's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamKind {
    /// Free text.
    Text,
    /// An integer.
    Number,
    /// A boolean, read the way Asterisk's `ast_true` reads it (`yes`, `true`, `on`, `1` ...).
    Boolean,
    /// A duration in milliseconds.
    Milliseconds,
    /// A duration in seconds.
    Seconds,
    /// One of these values (ASCII case ignored).
    Enum(&'static [&'static str]),
    /// `name=value`.
    Pair,
}

/// One parameter of an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    name: &'static str,
    presence: Presence,
    kind: ParamKind,
}

impl ParamInfo {
    /// The header name, as documented (`UnitAmount(0)` and `Action-000000`
    /// stand for every number).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Required, optional or repeatable.
    pub fn presence(&self) -> Presence {
        self.presence
    }

    /// What the value is.
    pub fn kind(&self) -> ParamKind {
        self.kind
    }

    /// True if a header named `key` is this parameter (ASCII case ignored;
    /// a numbered parameter matches any number).
    pub fn matches(&self, key: &str) -> bool {
        if let Some(stem) = self.name.strip_suffix("(0)") {
            return key.len() > stem.len() + 2
                && key.is_char_boundary(stem.len())
                && key[..stem.len()].eq_ignore_ascii_case(stem)
                && key[stem.len()..].starts_with('(')
                && key.ends_with(')')
                && key[stem.len() + 1..key.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_digit());
        }
        if let Some(stem) = self.name.strip_suffix("-000000") {
            return key.len() == stem.len() + 7
                && key.is_char_boundary(stem.len())
                && key[..stem.len()].eq_ignore_ascii_case(stem)
                && key.as_bytes()[stem.len()] == b'-'
                && key[stem.len() + 1..].bytes().all(|b| b.is_ascii_digit());
        }
        self.name.eq_ignore_ascii_case(key)
    }

    /// Whether `value` looks right for this parameter (`None` if it does).
    fn complaint(&self, value: &str) -> Option<&'static str> {
        let v = value.trim();
        let ok = match self.kind {
            ParamKind::Text | ParamKind::Pair => true,
            ParamKind::Number | ParamKind::Milliseconds | ParamKind::Seconds => {
                let digits = v.strip_prefix('-').unwrap_or(v);
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            }
            ParamKind::Boolean => BOOL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(v)),
            ParamKind::Enum(values) => values.iter().any(|w| w.eq_ignore_ascii_case(v)),
        };
        if ok {
            return None;
        }
        Some(match self.kind {
            ParamKind::Boolean => "a boolean (yes/no, true/false, on/off, 1/0)",
            ParamKind::Enum(_) => "one of the documented values",
            _ => "a number",
        })
    }
}

/// The words Asterisk's `ast_true` and `ast_false` read.
const BOOL_WORDS: &[&str] = &[
    "yes", "true", "y", "t", "1", "on", "no", "false", "n", "f", "0", "off",
];

impl ActionInfo {
    /// The wire name (`QueueStatus`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The typed struct in [`actions`](super::actions) (`QueueStatus`, `Agi` for `AGI`).
    pub fn rust_type(&self) -> &'static str {
        self.rust_type
    }

    /// The module of [`actions`](super::actions) it is filed under (`queues`, `pjsip` ...).
    pub fn subject(&self) -> &'static str {
        self.subject
    }

    /// The Asterisk module that provides it (`app_queue`, `builtin` ...).
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// The Asterisk versions it appeared in, one per release branch (`["15.1.0", "14.7.0", "13.18.0"]`).
    pub fn since(&self) -> &'static [&'static str] {
        self.since
    }

    /// What it does, in one line.
    pub fn summary(&self) -> &'static str {
        self.summary
    }

    /// A quirk of its answer worth knowing, or `""`.
    pub fn note(&self) -> &'static str {
        self.note
    }

    /// How its result arrives (for an action whose shape depends on a
    /// parameter, see [`ActionInfo::rule`] and [`ActionInfo::shape_for`]).
    pub fn shape(&self) -> ResultShape {
        self.shape
    }

    /// When the shape depends on a parameter.
    pub fn rule(&self) -> ShapeRule {
        self.rule
    }

    /// The shape of the result for these fields.
    pub fn shape_for(&self, fields: &[(String, String)]) -> ResultShape {
        let value = |p: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(p))
                .map(|(_, v)| v.as_str())
        };
        match self.rule {
            ShapeRule::Fixed => self.shape,
            ShapeRule::ListIfRegex(p) => match value(p) {
                Some(v) if v.starts_with('/') => ResultShape::List,
                _ => self.shape,
            },
            ShapeRule::AsyncIfTrue(p) => match value(p) {
                Some(v)
                    if ["yes", "true", "y", "t", "1", "on"]
                        .iter()
                        .any(|w| w.eq_ignore_ascii_case(v.trim())) =>
                {
                    ResultShape::AsyncOriginate
                }
                _ => self.shape,
            },
        }
    }

    /// For a list, the event that ends it (`QueueStatusComplete`).
    pub fn list_end(&self) -> Option<&'static str> {
        self.list_end
    }

    /// For a list, the events its items arrive as (`QueueParams`, `QueueMember`, `QueueEntry`).
    pub fn list_items(&self) -> &'static [&'static str] {
        self.list_items
    }

    /// Its documented parameters, `ActionID` left out.
    pub fn params(&self) -> &'static [ParamInfo] {
        self.params
    }

    /// The parameter a header named `key` is (ASCII case ignored).
    pub fn param(&self, key: &str) -> Option<&'static ParamInfo> {
        self.params.iter().find(|p| p.matches(key))
    }

    /// True if it takes headers of any name (`UserEvent`).
    pub fn accepts_any_header(&self) -> bool {
        self.open
    }

    /// A [`RawAction`] named like this one, with its result shape.
    pub fn raw(&self) -> RawAction {
        RawAction::new(self.name).with_shape(self.shape)
    }

    /// Checks fields against this action's parameters: a missing required
    /// parameter is an error; an unknown parameter, or a value that does not
    /// look like what the parameter takes, is a warning.
    pub fn check_fields(&'static self, fields: &[(String, String)]) -> Result<Checked, CheckError> {
        for p in self
            .params
            .iter()
            .filter(|p| p.presence == Presence::Required)
        {
            let given = fields
                .iter()
                .any(|(k, v)| p.matches(k) && !v.trim().is_empty());
            if !given {
                return Err(CheckError::MissingParameter {
                    action: self.name,
                    param: p.name,
                });
            }
        }
        let mut warnings = Vec::new();
        for (k, v) in fields {
            if k.eq_ignore_ascii_case("ActionID") {
                continue;
            }
            match self.param(k) {
                Some(p) => {
                    if let Some(expected) = p.complaint(v) {
                        warnings.push(CheckWarning::UnexpectedValue {
                            param: p.name,
                            value: v.clone(),
                            expected,
                        });
                    }
                }
                None if self.open => {}
                None => warnings.push(CheckWarning::UnknownParameter {
                    action: self.name,
                    param: k.clone(),
                }),
            }
        }
        Ok(Checked {
            info: Some(self),
            shape: self.shape_for(fields),
            warnings,
        })
    }
}

/// One event the catalogue types.
#[derive(Debug)]
pub struct EventInfo {
    name: &'static str,
    kind: EventKind,
    rust_type: &'static str,
    subject: &'static str,
    documented: bool,
    fields: &'static [FieldSpec],
}

impl EventInfo {
    /// The name as Asterisk sends it (`Newexten`, `QueueMember`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its [`EventKind`].
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The marker type of its view in [`events`](super::events) (`QueueMember`, `AocD`).
    pub fn rust_type(&self) -> &'static str {
        self.rust_type
    }

    /// The module of [`events`](super::events) it is filed under.
    pub fn subject(&self) -> &'static str {
        self.subject
    }

    /// False for the events Asterisk sends without documenting them
    /// (most list items and list terminators).
    pub fn is_documented(&self) -> bool {
        self.documented
    }

    /// The headers its view covers, snapshots expanded (`DestChannel` ...).
    pub fn fields(&self) -> &'static [FieldSpec] {
        self.fields
    }

    /// The header a key names (ASCII case ignored; `ChanVariable(name)`
    /// is a `ChanVariable`). `ActionID` and `Privilege` (the classes of the
    /// event), which any event may carry, are covered by every event, as text.
    pub fn field(&self, key: &str) -> Option<&'static FieldSpec> {
        static COMMON: [FieldSpec; 2] = [
            FieldSpec {
                name: "ActionID",
                kind: super::events::FieldKind::Text,
            },
            FieldSpec {
                name: "Privilege",
                kind: super::events::FieldKind::Text,
            },
        ];
        if let Some(c) = COMMON.iter().find(|c| c.name.eq_ignore_ascii_case(key)) {
            return Some(c);
        }
        let key = match key.find('(') {
            Some(i) if key.ends_with(')') => &key[..i],
            _ => key,
        };
        self.fields
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(key))
    }
}

/// Every event the catalogue types, sorted by lower-case name.
pub fn events() -> &'static [EventInfo] {
    events::EVENTS
}

/// Looks an event up by name (ASCII case ignored).
pub fn event(name: &str) -> Option<&'static EventInfo> {
    events::EVENTS
        .binary_search_by(|e| cmp_ignore_case(e.name, name))
        .ok()
        .map(|i| &events::EVENTS[i])
}

/// Every documented action, sorted by lower-case name.
pub fn actions() -> &'static [ActionInfo] {
    actions::ACTIONS
}

/// Looks an action up by wire name (ASCII case ignored).
pub fn action(name: &str) -> Option<&'static ActionInfo> {
    actions::ACTIONS
        .binary_search_by(|a| cmp_ignore_case(a.name, name))
        .ok()
        .map(|i| &actions::ACTIONS[i])
}

fn cmp_ignore_case(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// Checks a [`RawAction`] against the catalogue (see [`ActionInfo::check_fields`]).
/// An action the catalogue does not know passes with a warning: a module of
/// your own may provide it.
pub fn check(raw: &RawAction) -> Result<Checked, CheckError> {
    match action(raw.name()) {
        Some(info) => info.check_fields(raw.fields()),
        None => Ok(Checked {
            info: None,
            shape: raw.shape(),
            warnings: vec![CheckWarning::UnknownAction {
                action: raw.name().to_owned(),
            }],
        }),
    }
}

/// What [`check`] found in an action that may be sent.
#[derive(Clone, Debug)]
pub struct Checked {
    info: Option<&'static ActionInfo>,
    shape: ResultShape,
    warnings: Vec<CheckWarning>,
}

impl Checked {
    /// The action's entry, if the catalogue knows it.
    pub fn info(&self) -> Option<&'static ActionInfo> {
        self.info
    }

    /// The result shape to expect for these fields.
    pub fn shape(&self) -> ResultShape {
        self.shape
    }

    /// What looked wrong without being fatal.
    pub fn warnings(&self) -> &[CheckWarning] {
        &self.warnings
    }
}

/// Something that looks wrong in an action, though Asterisk may accept it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckWarning {
    /// The catalogue does not know the action.
    UnknownAction {
        /// The name as given.
        action: String,
    },
    /// The action does not document this parameter.
    UnknownParameter {
        /// The action's name.
        action: &'static str,
        /// The parameter as given.
        param: String,
    },
    /// The value does not look like what the parameter takes.
    UnexpectedValue {
        /// The parameter's name.
        param: &'static str,
        /// The value as given.
        value: String,
        /// What the parameter takes.
        expected: &'static str,
    },
}

impl fmt::Display for CheckWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckWarning::UnknownAction { action } => {
                write!(f, "{action} is not an action Asterisk 22 documents")
            }
            CheckWarning::UnknownParameter { action, param } => {
                write!(f, "{action} does not document the parameter {param}")
            }
            CheckWarning::UnexpectedValue {
                param,
                value,
                expected,
            } => write!(f, "{param}: {value:?} is not {expected}"),
        }
    }
}

/// Why an action was refused before anything was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckError {
    /// A required parameter is missing (or empty).
    MissingParameter {
        /// The action's name.
        action: &'static str,
        /// The parameter's name.
        param: &'static str,
    },
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::MissingParameter { action, param } => {
                write!(f, "{action} needs the parameter {param}")
            }
        }
    }
}

impl std::error::Error for CheckError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(actions()
            .windows(2)
            .all(|w| cmp_ignore_case(w[0].name, w[1].name).is_lt()));
        for a in actions() {
            assert!(std::ptr::eq(action(a.name).unwrap(), a));
            assert!(std::ptr::eq(
                action(&a.name.to_ascii_uppercase()).unwrap(),
                a
            ));
        }
        assert!(action("NoSuchAction").is_none());
    }

    #[test]
    fn events_are_sorted_and_found() {
        assert!(events()
            .windows(2)
            .all(|w| cmp_ignore_case(w[0].name, w[1].name).is_lt()));
        for e in events() {
            assert!(std::ptr::eq(event(e.name).unwrap(), e));
            assert_eq!(EventKind::from_name(e.name.as_bytes()), e.kind);
        }
        let qm = event("queuemember").unwrap();
        assert!(!qm.is_documented());
        assert_eq!(
            qm.field("paused").unwrap().kind(),
            super::super::events::FieldKind::Bool
        );
        let dial = event("DialBegin").unwrap();
        assert!(dial.field("DestChanVariable(FOO)").is_some());
    }

    #[test]
    fn numbered_parameters_match_any_number() {
        let aoc = action("AOCMessage").unwrap();
        assert_eq!(aoc.param("unitamount(12)").unwrap().name(), "UnitAmount(0)");
        assert!(aoc.param("UnitAmount()").is_none());
        let upd = action("UpdateConfig").unwrap();
        assert_eq!(upd.param("Cat-000042").unwrap().name(), "Cat-000000");
        assert!(upd.param("Cat-42").is_none());
    }

    #[test]
    fn shapes_that_depend_on_a_parameter() {
        let h = action("Hangup").unwrap();
        let f = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(h.shape_for(&f("Channel", "PJSIP/1-1")), ResultShape::Single);
        assert_eq!(h.shape_for(&f("Channel", "/^PJSIP/")), ResultShape::List);
        let o = action("Originate").unwrap();
        assert_eq!(o.shape_for(&f("Async", "yes")), ResultShape::AsyncOriginate);
        assert_eq!(o.shape_for(&f("Async", "no")), ResultShape::Single);
    }

    #[test]
    fn check_reports_values_and_unknowns() {
        let r = RawAction::new("QueuePause")
            .field("Interface", "PJSIP/1")
            .field("Paused", "maybe")
            .field("Colour", "blue");
        let c = check(&r).unwrap();
        assert_eq!(c.warnings().len(), 2, "{:?}", c.warnings());
        let c = check(
            &RawAction::new("UserEvent")
                .field("UserEvent", "x")
                .field("Any", "1"),
        )
        .unwrap();
        assert!(c.warnings().is_empty());
        let c = check(&RawAction::new("MyModuleAction")).unwrap();
        assert!(matches!(
            c.warnings()[0],
            CheckWarning::UnknownAction { .. }
        ));
    }
}
