//! The header groups many events share, as one type each reached through
//! its prefix: the channel snapshot (`Channel`, `ChannelState` ...
//! `Linkedid`, or `DestChannel` ... `DestLinkedid` for the `Dest` prefix)
//! and the bridge snapshot (`BridgeUniqueid` ... `BridgeVideoSource`).

use super::values::{split_pair, ChannelState};
use crate::ami::event::Event;
use crate::ami::message::Value;

/// The header names of one channel snapshot, for one prefix.
#[derive(Debug)]
pub(crate) struct ChannelKeys {
    pub(crate) prefix: &'static str,
    pub(crate) channel: &'static str,
    pub(crate) channel_state: &'static str,
    pub(crate) channel_state_desc: &'static str,
    pub(crate) caller_id_num: &'static str,
    pub(crate) caller_id_name: &'static str,
    pub(crate) connected_line_num: &'static str,
    pub(crate) connected_line_name: &'static str,
    pub(crate) language: &'static str,
    pub(crate) account_code: &'static str,
    pub(crate) context: &'static str,
    pub(crate) exten: &'static str,
    pub(crate) priority: &'static str,
    pub(crate) uniqueid: &'static str,
    pub(crate) linkedid: &'static str,
    pub(crate) chan_variable: &'static str,
}

/// Declares the key table of a channel snapshot prefix.
macro_rules! channel_keys {
    ($vis:vis static $name:ident = $prefix:literal) => {
        $vis static $name: $crate::ami::events::snapshot::ChannelKeys =
            $crate::ami::events::snapshot::ChannelKeys {
                prefix: $prefix,
                channel: concat!($prefix, "Channel"),
                channel_state: concat!($prefix, "ChannelState"),
                channel_state_desc: concat!($prefix, "ChannelStateDesc"),
                caller_id_num: concat!($prefix, "CallerIDNum"),
                caller_id_name: concat!($prefix, "CallerIDName"),
                connected_line_num: concat!($prefix, "ConnectedLineNum"),
                connected_line_name: concat!($prefix, "ConnectedLineName"),
                language: concat!($prefix, "Language"),
                account_code: concat!($prefix, "AccountCode"),
                context: concat!($prefix, "Context"),
                exten: concat!($prefix, "Exten"),
                priority: concat!($prefix, "Priority"),
                uniqueid: concat!($prefix, "Uniqueid"),
                linkedid: concat!($prefix, "Linkedid"),
                chan_variable: concat!($prefix, "ChanVariable"),
            };
    };
}

/// The header names of one bridge snapshot, for one prefix.
#[derive(Debug)]
pub(crate) struct BridgeKeys {
    pub(crate) prefix: &'static str,
    pub(crate) bridge_uniqueid: &'static str,
    pub(crate) bridge_type: &'static str,
    pub(crate) bridge_technology: &'static str,
    pub(crate) bridge_creator: &'static str,
    pub(crate) bridge_name: &'static str,
    pub(crate) bridge_num_channels: &'static str,
    pub(crate) bridge_video_source_mode: &'static str,
    pub(crate) bridge_video_source: &'static str,
}

/// Declares the key table of a bridge snapshot prefix.
macro_rules! bridge_keys {
    ($vis:vis static $name:ident = $prefix:literal) => {
        $vis static $name: $crate::ami::events::snapshot::BridgeKeys =
            $crate::ami::events::snapshot::BridgeKeys {
                prefix: $prefix,
                bridge_uniqueid: concat!($prefix, "BridgeUniqueid"),
                bridge_type: concat!($prefix, "BridgeType"),
                bridge_technology: concat!($prefix, "BridgeTechnology"),
                bridge_creator: concat!($prefix, "BridgeCreator"),
                bridge_name: concat!($prefix, "BridgeName"),
                bridge_num_channels: concat!($prefix, "BridgeNumChannels"),
                bridge_video_source_mode: concat!($prefix, "BridgeVideoSourceMode"),
                bridge_video_source: concat!($prefix, "BridgeVideoSource"),
            };
    };
}

pub(crate) use {bridge_keys, channel_keys};

/// A channel's state as an event reports it: the same fourteen headers in
/// every channel event, under a prefix (none for the event's own channel,
/// `Dest` for a dialed one, `Transferer`, `Parkee` ...). Headers absent
/// from the event are `None`.
#[derive(Clone, Copy)]
pub struct ChannelSnapshot<'a> {
    ev: Event<'a>,
    keys: &'static ChannelKeys,
}

impl<'a> ChannelSnapshot<'a> {
    pub(crate) fn new(ev: Event<'a>, keys: &'static ChannelKeys) -> Self {
        ChannelSnapshot { ev, keys }
    }

    /// The prefix of its headers (`""`, `"Dest"` ...).
    pub fn prefix(&self) -> &'static str {
        self.keys.prefix
    }

    /// The whole event (every header, by name).
    pub fn event(&self) -> Event<'a> {
        self.ev
    }

    /// True if the event carries this snapshot (its channel or unique id).
    pub fn is_present(&self) -> bool {
        self.ev.get(self.keys.channel).is_some() || self.ev.get(self.keys.uniqueid).is_some()
    }

    /// The channel's name (`Channel`).
    pub fn channel(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.channel)
    }

    /// Its state (`ChannelState`, a number).
    pub fn channel_state(&self) -> Option<ChannelState> {
        self.ev
            .get(self.keys.channel_state)
            .and_then(ChannelState::from_value)
    }

    /// Its state in words (`ChannelStateDesc`: `Up`, `Ringing` ...).
    pub fn channel_state_desc(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.channel_state_desc)
    }

    /// Caller ID number (`CallerIDNum`).
    pub fn caller_id_num(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.caller_id_num)
    }

    /// Caller ID name (`CallerIDName`; often Latin-1: see [`Value::to_str_lossy`]).
    pub fn caller_id_name(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.caller_id_name)
    }

    /// Connected line number (`ConnectedLineNum`).
    pub fn connected_line_num(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.connected_line_num)
    }

    /// Connected line name (`ConnectedLineName`).
    pub fn connected_line_name(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.connected_line_name)
    }

    /// The channel's language (`Language`).
    pub fn language(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.language)
    }

    /// Account code (`AccountCode`).
    pub fn account_code(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.account_code)
    }

    /// Dialplan context (`Context`).
    pub fn context(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.context)
    }

    /// Dialplan extension (`Exten`). Asterisk 11 and older called it
    /// `Extension` in `Newexten` (and a few others): read under either name.
    pub fn exten(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.exten).or_else(|| {
            if self.keys.prefix.is_empty() {
                self.ev.get("Extension")
            } else {
                None
            }
        })
    }

    /// Dialplan priority (`Priority`).
    pub fn priority(&self) -> Option<u32> {
        self.ev.get(self.keys.priority).and_then(|v| v.parse())
    }

    /// The channel's unique id (`Uniqueid`).
    pub fn uniqueid(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.uniqueid)
    }

    /// The unique id of the oldest channel of the call (`Linkedid`).
    pub fn linkedid(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.linkedid)
    }

    /// The channel variables `manager.conf`'s `channelvars` adds, as
    /// `(name, value)` in order: both `ChanVariable: name=value` and the
    /// `ChanVariable(name): value` form are read.
    pub fn chan_variables(&self) -> impl Iterator<Item = (Value<'a>, Value<'a>)> + 'a {
        let key = self.keys.chan_variable.as_bytes();
        self.ev.message().iter().filter_map(move |(k, v)| {
            let k = k.as_bytes();
            if k.len() < key.len() || !k[..key.len()].eq_ignore_ascii_case(key) {
                return None;
            }
            let rest = &k[key.len()..];
            if rest.is_empty() {
                split_pair(v)
            } else if rest.len() > 2 && rest[0] == b'(' && rest[rest.len() - 1] == b')' {
                Some((Value::new(&rest[1..rest.len() - 1]), v))
            } else {
                None
            }
        })
    }
}

impl std::fmt::Debug for ChannelSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSnapshot")
            .field("prefix", &self.keys.prefix)
            .field("channel", &self.channel())
            .field("uniqueid", &self.uniqueid())
            .finish()
    }
}

/// A bridge's state as an event reports it (`BridgeUniqueid` ...
/// `BridgeVideoSource`), under a prefix (none, or `To`, `From`, `Orig`,
/// `Second`).
#[derive(Clone, Copy)]
pub struct BridgeSnapshot<'a> {
    ev: Event<'a>,
    keys: &'static BridgeKeys,
}

impl<'a> BridgeSnapshot<'a> {
    pub(crate) fn new(ev: Event<'a>, keys: &'static BridgeKeys) -> Self {
        BridgeSnapshot { ev, keys }
    }

    /// The prefix of its headers.
    pub fn prefix(&self) -> &'static str {
        self.keys.prefix
    }

    /// The whole event.
    pub fn event(&self) -> Event<'a> {
        self.ev
    }

    /// True if the event carries this snapshot (its unique id).
    pub fn is_present(&self) -> bool {
        self.ev.get(self.keys.bridge_uniqueid).is_some()
    }

    /// The bridge's unique id (`BridgeUniqueid`).
    pub fn bridge_uniqueid(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.bridge_uniqueid)
    }

    /// Its type (`BridgeType`: `basic`, `stasis` ...).
    pub fn bridge_type(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.bridge_type)
    }

    /// The technology mixing it (`BridgeTechnology`: `simple_bridge`, `softmix` ...).
    pub fn bridge_technology(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.bridge_technology)
    }

    /// What created it (`BridgeCreator`).
    pub fn bridge_creator(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.bridge_creator)
    }

    /// Its name (`BridgeName`).
    pub fn bridge_name(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.bridge_name)
    }

    /// How many channels are in it (`BridgeNumChannels`).
    pub fn bridge_num_channels(&self) -> Option<u32> {
        self.ev
            .get(self.keys.bridge_num_channels)
            .and_then(|v| v.parse())
    }

    /// How its video source is chosen (`BridgeVideoSourceMode`).
    pub fn bridge_video_source_mode(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.bridge_video_source_mode)
    }

    /// The channel whose video it shows (`BridgeVideoSource`).
    pub fn bridge_video_source(&self) -> Option<Value<'a>> {
        self.ev.get(self.keys.bridge_video_source)
    }
}

impl std::fmt::Debug for BridgeSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeSnapshot")
            .field("prefix", &self.keys.prefix)
            .field("bridge_uniqueid", &self.bridge_uniqueid())
            .finish()
    }
}
