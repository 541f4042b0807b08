//! Typed views of common events.
//!
//! Each event type is a marker (`Hangup`) implementing [`EventType`], whose
//! view (`HangupView<'a>`) is a borrowed [`Event`] with one accessor per
//! documented header: text as [`Value`](super::Value), numbers parsed. Views cost nothing
//! to make and copy nothing. Register a typed handler with
//! [`Manager::on`](super::Manager::on) (`mgr.on(Hangup, |h, _ctx| ...)`), or view any event with
//! [`Event::parse`]. Declare more with [`ami_event!`](crate::ami_event).
//!
//! ```
//! use asterisk_io::ami::{Event, Message, OwnedMessage, events::Hangup};
//!
//! let msg = OwnedMessage::from_pairs(&[("Event", "Hangup"), ("Channel", "PJSIP/100-01"), ("Cause", "16")]);
//! let ev = Event::from_message(msg.view()).unwrap();
//! let hangup = ev.parse::<Hangup>().unwrap();
//! assert_eq!(hangup.channel().unwrap(), "PJSIP/100-01");
//! assert_eq!(hangup.cause(), Some(16));
//! ```

use super::event::Event;
use super::event_kind::EventKind;

/// A kind of event with a typed view.
pub trait EventType {
    /// The event's name on the wire (matched ASCII-case-insensitively).
    const NAME: &'static str;
    /// The typed view of one such event.
    type View<'a>: Copy;
    /// Wraps an event already known to be named [`EventType::NAME`].
    fn view(ev: Event<'_>) -> Self::View<'_>;

    /// The event's [`EventKind`] ([`EventKind::Other`] for a name the
    /// catalogue does not know, such as a user's own event). Handlers
    /// registered for a known kind are found by index, not by name.
    fn kind() -> EventKind {
        EventKind::from_name(Self::NAME.as_bytes())
    }
}

impl<'a> Event<'a> {
    /// A typed view of this event if its name is `T::NAME`.
    pub fn parse<T: EventType>(&self) -> Option<T::View<'a>> {
        self.name().eq_ignore_case(T::NAME).then(|| T::view(*self))
    }
}

/// Declares a typed event: a marker type, its view, and one accessor per header.
///
/// A field `name: "Header"` returns `Option<Value>`; `name: "Header" as T`
/// parses the value as `T`. Writing `snapshot` before the braces adds the
/// channel snapshot Asterisk puts in channel events (`channel`, `uniqueid`,
/// `linkedid`, `caller_id_num`, ...).
///
/// ```
/// asterisk_io::ami_event! {
///     /// A queue caller gave up.
///     pub struct QueueCallerAbandon / QueueCallerAbandonView => "QueueCallerAbandon" snapshot {
///         /// The queue.
///         queue: "Queue",
///         /// Seconds the caller waited.
///         hold_time: "HoldTime" as u64,
///     }
/// }
/// ```
#[macro_export]
macro_rules! ami_event {
    (@ret) => { ::std::option::Option<$crate::ami::Value<'a>> };
    (@ret $ty:ty) => { ::std::option::Option<$ty> };
    (@get $ev:expr, $key:literal) => { $ev.get($key) };
    (@get $ev:expr, $key:literal, $ty:ty) => { $ev.get($key).and_then(|v| v.parse::<$ty>()) };
    (@snapshot $view:ident) => {
        impl<'a> $view<'a> {
            /// Channel name.
            pub fn channel(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("Channel") }
            /// Channel state number.
            pub fn channel_state(&self) -> Option<u32> { self.0.get("ChannelState").and_then(|v| v.parse()) }
            /// Channel state, in words (`Up`, `Ring`, ...).
            pub fn channel_state_desc(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("ChannelStateDesc") }
            /// Caller ID number.
            pub fn caller_id_num(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("CallerIDNum") }
            /// Caller ID name (often Latin-1: use `to_str_lossy`).
            pub fn caller_id_name(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("CallerIDName") }
            /// Connected line number.
            pub fn connected_line_num(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("ConnectedLineNum") }
            /// Connected line name.
            pub fn connected_line_name(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("ConnectedLineName") }
            /// Account code.
            pub fn account_code(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("AccountCode") }
            /// Dialplan context.
            pub fn context(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("Context") }
            /// Dialplan extension.
            pub fn exten(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("Exten") }
            /// Dialplan priority.
            pub fn priority(&self) -> Option<u32> { self.0.get("Priority").and_then(|v| v.parse()) }
            /// The channel's unique id.
            pub fn uniqueid(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("Uniqueid") }
            /// The unique id of the call's oldest channel.
            pub fn linkedid(&self) -> Option<$crate::ami::Value<'a>> { self.0.get("Linkedid") }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident / $view:ident => $wire:literal $($snap:ident)? {
            $( $(#[$fmeta:meta])* $field:ident : $key:literal $(as $ty:ty)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis struct $name;

        #[doc = concat!("A borrowed `", $wire, "` event.")]
        #[derive(Clone, Copy, Debug)]
        $vis struct $view<'a>(pub $crate::ami::Event<'a>);

        impl<'a> $view<'a> {
            $(
                $(#[$fmeta])*
                pub fn $field(&self) -> $crate::ami_event!(@ret $($ty)?) {
                    $crate::ami_event!(@get self.0, $key $(, $ty)?)
                }
            )*

            /// The underlying event (every header, by name).
            pub fn event(&self) -> $crate::ami::Event<'a> {
                self.0
            }
        }

        $( $crate::ami_event!(@$snap $view); )?

        impl $crate::ami::EventType for $name {
            const NAME: &'static str = $wire;
            type View<'a> = $view<'a>;
            fn view(ev: $crate::ami::Event<'_>) -> $view<'_> {
                $view(ev)
            }
        }
    };
}

crate::ami_event! {
    /// Asterisk finished booting (sent right after a login with events on).
    pub struct FullyBooted / FullyBootedView => "FullyBooted" {
        /// `Fully Booted`.
        status: "Status",
        /// Seconds since start.
        uptime: "Uptime" as u64,
        /// Seconds since the last reload.
        last_reload: "LastReload" as u64,
    }
}

crate::ami_event! {
    /// A channel was created.
    pub struct Newchannel / NewchannelView => "Newchannel" snapshot {}
}

crate::ami_event! {
    /// A channel changed state (ringing, up, ...).
    pub struct Newstate / NewstateView => "Newstate" snapshot {}
}

crate::ami_event! {
    /// A channel entered a new dialplan step.
    pub struct Newexten / NewextenView => "Newexten" snapshot {
        /// The application run at this step.
        application: "Application",
        /// Its arguments.
        app_data: "AppData",
    }
}

crate::ami_event! {
    /// A channel was hung up.
    pub struct Hangup / HangupView => "Hangup" snapshot {
        /// Q.850 cause code (16 = normal clearing).
        cause: "Cause" as u32,
        /// The cause in words.
        cause_txt: "Cause-txt",
    }
}

crate::ami_event! {
    /// A hangup was requested on a channel.
    pub struct HangupRequest / HangupRequestView => "HangupRequest" snapshot {
        /// Cause code, if one was given.
        cause: "Cause" as u32,
    }
}

crate::ami_event! {
    /// A dial attempt started.
    pub struct DialBegin / DialBeginView => "DialBegin" snapshot {
        /// The channel being dialed.
        dest_channel: "DestChannel",
        /// Its unique id.
        dest_uniqueid: "DestUniqueid",
        /// The dial string.
        dial_string: "DialString",
    }
}

crate::ami_event! {
    /// A dial attempt ended.
    pub struct DialEnd / DialEndView => "DialEnd" snapshot {
        /// The channel that was dialed.
        dest_channel: "DestChannel",
        /// Its unique id.
        dest_uniqueid: "DestUniqueid",
        /// `ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`, ...
        dial_status: "DialStatus",
    }
}

crate::ami_event! {
    /// A channel variable was set.
    pub struct VarSet / VarSetView => "VarSet" snapshot {
        /// The variable's name.
        variable: "Variable",
        /// Its new value.
        value: "Value",
    }
}

crate::ami_event! {
    /// A user event (from `UserEvent()` in the dialplan or the `UserEvent` action).
    pub struct UserEvent / UserEventView => "UserEvent" snapshot {
        /// The user event's own name.
        user_event: "UserEvent",
    }
}

crate::ami_event! {
    /// The outcome of an asynchronous Originate.
    pub struct OriginateResponse / OriginateResponseView => "OriginateResponse" {
        /// `Success` or `Failure`.
        response: "Response",
        /// The channel (on failure, the dial string).
        channel: "Channel",
        /// 4 = answered, 5 = busy, 8 = congestion, 0 = failed, ...
        reason: "Reason" as u32,
        /// The channel's unique id (`<unknown>` on failure).
        uniqueid: "Uniqueid",
        /// The ActionID of the Originate (possibly another session's).
        action_id: "ActionID",
    }
}

crate::ami_event! {
    /// A device's state changed.
    pub struct DeviceStateChange / DeviceStateChangeView => "DeviceStateChange" {
        /// The device (`PJSIP/100`).
        device: "Device",
        /// `NOT_INUSE`, `INUSE`, `RINGING`, `UNAVAILABLE`, ...
        state: "State",
    }
}

crate::ami_event! {
    /// A peer's registration or reachability changed.
    pub struct PeerStatus / PeerStatusView => "PeerStatus" {
        /// Channel technology (`PJSIP`, `SIP`, `IAX2`).
        channel_type: "ChannelType",
        /// The peer (`PJSIP/100`).
        peer: "Peer",
        /// `Registered`, `Unregistered`, `Reachable`, `Unreachable`, ...
        peer_status: "PeerStatus",
    }
}

crate::ami_event! {
    /// A PJSIP contact's status changed.
    pub struct ContactStatus / ContactStatusView => "ContactStatus" {
        /// The contact URI.
        uri: "URI",
        /// `Reachable`, `Unreachable`, `Created`, `Removed`, ...
        contact_status: "ContactStatus",
        /// The AOR.
        aor: "AOR",
        /// The endpoint.
        endpoint_name: "EndpointName",
        /// Round-trip time in microseconds.
        roundtrip_usec: "RoundtripUsec" as u64,
    }
}

crate::ami_event! {
    /// A channel joined a bridge.
    pub struct BridgeEnter / BridgeEnterView => "BridgeEnter" snapshot {
        /// The bridge's unique id.
        bridge_uniqueid: "BridgeUniqueid",
        /// Number of channels now in the bridge.
        bridge_num_channels: "BridgeNumChannels" as u32,
    }
}

crate::ami_event! {
    /// A channel left a bridge.
    pub struct BridgeLeave / BridgeLeaveView => "BridgeLeave" snapshot {
        /// The bridge's unique id.
        bridge_uniqueid: "BridgeUniqueid",
        /// Number of channels left in the bridge.
        bridge_num_channels: "BridgeNumChannels" as u32,
    }
}

crate::ami_event! {
    /// A DTMF digit ended.
    pub struct DTMFEnd / DTMFEndView => "DTMFEnd" snapshot {
        /// The digit.
        digit: "Digit",
        /// How long it lasted, in milliseconds.
        duration_ms: "DurationMs" as u32,
        /// `Received` or `Sent`.
        direction: "Direction",
    }
}

crate::ami_event! {
    /// A channel entered AsyncAGI.
    pub struct AsyncAGIStart / AsyncAGIStartView => "AsyncAGIStart" snapshot {
        /// The AGI environment, percent-encoded.
        env: "Env",
    }
}

crate::ami_event! {
    /// An AsyncAGI command finished.
    pub struct AsyncAGIExec / AsyncAGIExecView => "AsyncAGIExec" snapshot {
        /// The id given with the `AGI` action (sent as `CommandId`).
        command_id: "CommandId",
        /// The AGI reply, percent-encoded.
        result: "Result",
    }
}

crate::ami_event! {
    /// A channel left AsyncAGI.
    pub struct AsyncAGIEnd / AsyncAGIEndView => "AsyncAGIEnd" snapshot {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::OwnedMessage;

    #[test]
    fn views_read_typed_fields_and_the_snapshot() {
        let m = OwnedMessage::from_pairs(&[
            ("Event", "DialEnd"),
            ("Channel", "PJSIP/100-1"),
            ("Priority", "3"),
            ("CallerIDName", "Jos\u{e9}"),
            ("DialStatus", "ANSWER"),
        ]);
        let ev = Event::from_message(m.view()).unwrap();
        assert!(ev.parse::<Hangup>().is_none());
        let d = ev.parse::<DialEnd>().unwrap();
        assert_eq!(d.channel().unwrap(), "PJSIP/100-1");
        assert_eq!(d.priority(), Some(3));
        assert_eq!(d.caller_id_name().unwrap(), "Jos\u{e9}");
        assert_eq!(d.dial_status().unwrap(), "ANSWER");
        assert!(d.dest_channel().is_none());
    }
}
