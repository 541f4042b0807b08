//! Typed values of event headers, parsed on access: channel state, hangup
//! cause (with its Q.850 meaning), dial status, device state, booleans and
//! numbers; and [`Typed`], one header's value as the catalogue types it.

use std::fmt;

use crate::ami::message::Value;

/// A channel's state (`ChannelState:`, a number; `ChannelStateDesc:` is its name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelState {
    /// 0: down and available.
    Down,
    /// 1: down, but reserved.
    Reserved,
    /// 2: off hook.
    OffHook,
    /// 3: digits have been dialed.
    Dialing,
    /// 4: the line is ringing (at the other end).
    Ring,
    /// 5: the channel's own line is ringing.
    Ringing,
    /// 6: up.
    Up,
    /// 7: busy.
    Busy,
    /// 8: digits dialed while off hook.
    DialingOffhook,
    /// 9: ringing is about to start.
    PreRing,
    /// 10: muted.
    Mute,
    /// A number this crate does not know.
    Other(u32),
}

impl ChannelState {
    /// The state numbered `n`.
    pub fn from_code(n: u32) -> Self {
        match n {
            0 => ChannelState::Down,
            1 => ChannelState::Reserved,
            2 => ChannelState::OffHook,
            3 => ChannelState::Dialing,
            4 => ChannelState::Ring,
            5 => ChannelState::Ringing,
            6 => ChannelState::Up,
            7 => ChannelState::Busy,
            8 => ChannelState::DialingOffhook,
            9 => ChannelState::PreRing,
            10 => ChannelState::Mute,
            other => ChannelState::Other(other),
        }
    }

    /// Its number on the wire.
    pub fn code(self) -> u32 {
        match self {
            ChannelState::Down => 0,
            ChannelState::Reserved => 1,
            ChannelState::OffHook => 2,
            ChannelState::Dialing => 3,
            ChannelState::Ring => 4,
            ChannelState::Ringing => 5,
            ChannelState::Up => 6,
            ChannelState::Busy => 7,
            ChannelState::DialingOffhook => 8,
            ChannelState::PreRing => 9,
            ChannelState::Mute => 10,
            ChannelState::Other(n) => n,
        }
    }

    /// Its name as `ChannelStateDesc:` gives it (`Up`, `Ringing` ...).
    pub fn name(self) -> &'static str {
        match self {
            ChannelState::Down => "Down",
            ChannelState::Reserved => "Rsrvd",
            ChannelState::OffHook => "OffHook",
            ChannelState::Dialing => "Dialing",
            ChannelState::Ring => "Ring",
            ChannelState::Ringing => "Ringing",
            ChannelState::Up => "Up",
            ChannelState::Busy => "Busy",
            ChannelState::DialingOffhook => "Dialing Offhook",
            ChannelState::PreRing => "Pre-ring",
            ChannelState::Mute => "Mute",
            ChannelState::Other(_) => "Unknown",
        }
    }

    /// Parses the number.
    pub fn from_value(v: Value<'_>) -> Option<Self> {
        v.parse::<u32>().map(ChannelState::from_code)
    }
}

/// A hangup cause: a Q.850 cause code, as `Cause:` gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HangupCause(pub u16);

impl HangupCause {
    /// 16: the call ended normally.
    pub const NORMAL_CLEARING: HangupCause = HangupCause(16);
    /// 17: the callee is busy.
    pub const USER_BUSY: HangupCause = HangupCause(17);
    /// 19: the callee did not answer.
    pub const NO_ANSWER: HangupCause = HangupCause(19);

    /// The code.
    pub fn code(self) -> u16 {
        self.0
    }

    /// What the code means (Q.850), or `"Unknown"`.
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0 => "Not defined",
            1 => "Unallocated (unassigned) number",
            2 => "No route to specified transit network",
            3 => "No route to destination",
            6 => "Channel unacceptable",
            7 => "Call awarded and being delivered in an established channel",
            16 => "Normal call clearing",
            17 => "User busy",
            18 => "No user responding",
            19 => "No answer from user (user alerted)",
            20 => "Subscriber absent",
            21 => "Call rejected",
            22 => "Number changed",
            23 => "Redirected to new destination",
            26 => "Non-selected user clearing",
            27 => "Destination out of order",
            28 => "Invalid number format",
            29 => "Facility rejected",
            30 => "Response to STATUS ENQUIRY",
            31 => "Normal, unspecified",
            34 => "No circuit/channel available",
            38 => "Network out of order",
            41 => "Temporary failure",
            42 => "Switching equipment congestion",
            43 => "Access information discarded",
            44 => "Requested circuit/channel not available",
            50 => "Requested facility not subscribed",
            52 => "Outgoing calls barred",
            54 => "Incoming calls barred",
            57 => "Bearer capability not authorized",
            58 => "Bearer capability not presently available",
            65 => "Bearer capability not implemented",
            66 => "Channel type not implemented",
            69 => "Requested facility not implemented",
            81 => "Invalid call reference value",
            88 => "Incompatible destination",
            95 => "Invalid message, unspecified",
            96 => "Mandatory information element is missing",
            97 => "Message type non-existent or not implemented",
            98 => "Message not compatible with call state",
            99 => "Information element non-existent or not implemented",
            100 => "Invalid information element contents",
            101 => "Message not compatible with call state",
            102 => "Recovery on timer expiry",
            103 => "Parameter non-existent or not implemented",
            111 => "Protocol error, unspecified",
            127 => "Interworking, unspecified",
            _ => "Unknown",
        }
    }

    /// Parses the code.
    pub fn from_value(v: Value<'_>) -> Option<Self> {
        v.parse::<u16>().map(HangupCause)
    }
}

impl fmt::Display for HangupCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.meaning())
    }
}

macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know (the header has it as sent).
            Other,
        }

        impl $name {
            /// The value as Asterisk writes it (`""` for `Other`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Other => "",
                }
            }

            /// The value written `s` (ASCII case ignored); `Other` when unknown.
            pub fn from_wire(s: &[u8]) -> Self {
                $( if s.eq_ignore_ascii_case($wire.as_bytes()) { return $name::$variant; } )*
                $name::Other
            }

            /// Reads a header's value.
            pub fn from_value(v: Value<'_>) -> Option<Self> {
                Some(Self::from_wire(v.as_bytes()))
            }
        }
    };
}

word_enum! {
    /// How a dial attempt ended (`DialStatus:` of `DialEnd`), or where it is (`DialState`).
    DialStatus {
        /// Answered.
        Answer = "ANSWER",
        /// The callee was busy.
        Busy = "BUSY",
        /// Nobody answered in time.
        NoAnswer = "NOANSWER",
        /// The caller gave up.
        Cancel = "CANCEL",
        /// The network was congested.
        Congestion = "CONGESTION",
        /// The channel could not be created.
        ChanUnavail = "CHANUNAVAIL",
        /// Privacy manager: the callee refused the call.
        DontCall = "DONTCALL",
        /// Privacy manager: the callee sent the caller to torture.
        Torture = "TORTURE",
        /// The dial string was bad.
        InvalidArgs = "INVALIDARGS",
        /// The callee is ringing.
        Ringing = "RINGING",
        /// The call is proceeding.
        Proceeding = "PROCEEDING",
        /// Progress (early media).
        Progress = "PROGRESS",
    }
}

word_enum! {
    /// A device's state (`State:` of `DeviceStateChange`).
    DeviceState {
        /// State unknown.
        Unknown = "UNKNOWN",
        /// Idle.
        NotInUse = "NOT_INUSE",
        /// In use.
        InUse = "INUSE",
        /// Busy.
        Busy = "BUSY",
        /// Not a valid device.
        Invalid = "INVALID",
        /// Not reachable.
        Unavailable = "UNAVAILABLE",
        /// Ringing.
        Ringing = "RINGING",
        /// In use and ringing.
        RingInUse = "RINGINUSE",
        /// On hold.
        OnHold = "ONHOLD",
    }
}

impl DeviceState {
    /// The state numbered `n`, as queue member events give it (`Status: 1`).
    pub fn from_code(n: u32) -> Self {
        match n {
            0 => DeviceState::Unknown,
            1 => DeviceState::NotInUse,
            2 => DeviceState::InUse,
            3 => DeviceState::Busy,
            4 => DeviceState::Invalid,
            5 => DeviceState::Unavailable,
            6 => DeviceState::Ringing,
            7 => DeviceState::RingInUse,
            8 => DeviceState::OnHold,
            _ => DeviceState::Other,
        }
    }

    /// Reads a numeric state (`Status: 1`).
    pub fn from_code_value(v: Value<'_>) -> Option<Self> {
        v.parse::<u32>().map(DeviceState::from_code)
    }
}

/// Reads a boolean the way Asterisk writes and reads them (`yes`/`no`,
/// `true`/`false`, `on`/`off`, `1`/`0` ...); `None` for anything else.
pub fn parse_bool(v: Value<'_>) -> Option<bool> {
    let b = v.as_bytes();
    let is = |words: &[&str]| words.iter().any(|w| b.eq_ignore_ascii_case(w.as_bytes()));
    if is(&["yes", "true", "y", "t", "1", "on"]) {
        Some(true)
    } else if is(&["no", "false", "n", "f", "0", "off"]) {
        Some(false)
    } else {
        None
    }
}

/// How the catalogue types one header (see [`Typed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// Text.
    Text,
    /// An unsigned number.
    Unsigned,
    /// A signed number.
    Signed,
    /// A decimal number (`12.5`).
    Decimal,
    /// A boolean.
    Bool,
    /// A [`ChannelState`] number.
    ChannelState,
    /// A [`HangupCause`] code.
    HangupCause,
    /// A [`DialStatus`] word.
    DialStatus,
    /// A [`DeviceState`] word.
    DeviceState,
    /// A [`DeviceState`] number.
    DeviceStateCode,
    /// `name=value`, repeated (`Variable`, `ChanVariable`).
    Pair,
}

/// One header's value, typed the way the catalogue types it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Typed<'a> {
    /// Text (not valid UTF-8 is still text: see [`Value::to_str_lossy`]).
    Text(Value<'a>),
    /// A number.
    Number(i64),
    /// A decimal number.
    Decimal(f64),
    /// A boolean.
    Bool(bool),
    /// An enum value, by its wire name (`ANSWER`, `Up` ...).
    Enum(&'static str),
    /// `name=value`.
    Pair(Value<'a>, Value<'a>),
    /// The value does not parse as the header's kind: the typed error,
    /// with the value as received.
    Bad(Value<'a>),
}

impl FieldKind {
    /// Types a value of this kind. Never panics: a value that does not
    /// parse is [`Typed::Bad`].
    pub fn type_value(self, v: Value<'_>) -> Typed<'_> {
        let t = match self {
            FieldKind::Text => Some(Typed::Text(v)),
            FieldKind::Unsigned => v
                .parse::<u64>()
                .and_then(|n| i64::try_from(n).ok())
                .map(Typed::Number),
            FieldKind::Signed => v.parse::<i64>().map(Typed::Number),
            FieldKind::Decimal => v
                .parse::<f64>()
                .filter(|f| f.is_finite())
                .map(Typed::Decimal),
            FieldKind::Bool => parse_bool(v).map(Typed::Bool),
            FieldKind::ChannelState => {
                ChannelState::from_value(v).map(|s| Typed::Number(s.code().into()))
            }
            FieldKind::HangupCause => HangupCause::from_value(v).map(|c| Typed::Number(c.0.into())),
            FieldKind::DialStatus => match DialStatus::from_wire(v.as_bytes()) {
                DialStatus::Other => None,
                s => Some(Typed::Enum(s.as_str())),
            },
            FieldKind::DeviceState => match DeviceState::from_wire(v.as_bytes()) {
                DeviceState::Other => None,
                s => Some(Typed::Enum(s.as_str())),
            },
            FieldKind::DeviceStateCode => v.parse::<u32>().map(|n| Typed::Number(n.into())),
            FieldKind::Pair => split_pair(v).map(|(a, b)| Typed::Pair(a, b)),
        };
        t.unwrap_or(Typed::Bad(v))
    }
}

/// Splits `name=value` at the first `=`.
pub(crate) fn split_pair(v: Value<'_>) -> Option<(Value<'_>, Value<'_>)> {
    let b = v.as_bytes();
    let i = memchr::memchr(b'=', b)?;
    Some((Value::new(&b[..i]), Value::new(&b[i + 1..])))
}

/// One header a typed view covers: its wire name and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    pub(crate) name: &'static str,
    pub(crate) kind: FieldKind,
}

impl FieldSpec {
    /// The header's name, spelled the way Asterisk sends it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How it is typed.
    pub fn kind(&self) -> FieldKind {
        self.kind
    }
}
