//! The hand-kept part of the catalogue: what Asterisk's XML documentation
//! does not say, read from Asterisk 22.10.1's C sources.
//!
//! - Result shapes: a list is an action whose handler calls
//!   `astman_send_listack` and ends with `astman_send_list_complete_start`
//!   (or the static `astman_send_list_complete`) naming the terminal event;
//!   the item events are the `Event:` lines it appends in between.
//! - Parameter types: how the handler reads the header (`ast_true`,
//!   `sscanf("%30d")`, `strcasecmp(x, "yes")` ...). Unlisted parameters are text.
//! - The subject each action is filed under (the module it lands in).
//! - One-line docs, in our words.

/// The file (module of `asterisk_io::ami::actions`) an action is written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Calls,
    Queues,
    Bridges,
    Pjsip,
    Db,
    Dialplan,
    System,
    Config,
    Conference,
    Voicemail,
    Dahdi,
    Parking,
    Fax,
    Messaging,
    Iax,
}

impl Group {
    pub const ALL: &'static [Group] = &[
        Group::Calls,
        Group::Queues,
        Group::Bridges,
        Group::Pjsip,
        Group::Db,
        Group::Dialplan,
        Group::System,
        Group::Config,
        Group::Conference,
        Group::Voicemail,
        Group::Dahdi,
        Group::Parking,
        Group::Fax,
        Group::Messaging,
        Group::Iax,
    ];

    pub fn module(self) -> &'static str {
        match self {
            Group::Calls => "calls",
            Group::Queues => "queues",
            Group::Bridges => "bridges",
            Group::Pjsip => "pjsip",
            Group::Db => "db",
            Group::Dialplan => "dialplan",
            Group::System => "system",
            Group::Config => "config",
            Group::Conference => "conference",
            Group::Voicemail => "voicemail",
            Group::Dahdi => "dahdi",
            Group::Parking => "parking",
            Group::Fax => "fax",
            Group::Messaging => "messaging",
            Group::Iax => "iax",
        }
    }

    pub fn doc(self) -> &'static str {
        match self {
            Group::Calls => "Actions on channels and calls: hang up, redirect, transfer, variables, DTMF, recording.",
            Group::Queues => "Call queues (`app_queue`) and agents (`app_agent_pool`).",
            Group::Bridges => "Bridges and bridge technologies.",
            Group::Pjsip => "PJSIP endpoints, contacts, registrations and subscriptions.",
            Group::Db => "The Asterisk database (AstDB).",
            Group::Dialplan => "The dialplan, extension hints, device and presence state.",
            Group::System => "The manager session and the core: ping, events, modules, reloads, settings.",
            Group::Config => "Reading and writing configuration files.",
            Group::Conference => "Conferences: ConfBridge and MeetMe.",
            Group::Voicemail => "Voicemail boxes and message-waiting indication.",
            Group::Dahdi => "DAHDI channels and PRI spans.",
            Group::Parking => "Call parking.",
            Group::Fax => "Fax sessions (`res_fax`).",
            Group::Messaging => "Out-of-call messages and XMPP.",
            Group::Iax => "IAX2 peers and registrations.",
        }
    }
}

/// How a parameter's value is typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// Free text: `String`.
    Text,
    /// An unsigned number.
    U32,
    /// A signed number.
    I32,
    /// A boolean read with `ast_true`: written `true` / `false`.
    Bool,
    /// A boolean compared with `"yes"`: written `yes` / `no`.
    YesNo,
    /// A boolean compared with `"on"`: written `on` / `off`.
    OnOff,
    /// A `Duration` written in whole milliseconds.
    Millis,
    /// A `Duration` written in whole seconds.
    Secs,
    /// One of the enums below.
    Enum(&'static str),
    /// Repeated `Variable: name=value` lines.
    Vars,
    /// A hand-written type of `actions/support.rs` that writes itself.
    Custom(&'static str),
    /// Written by a `Custom` sibling: no field of its own.
    Skip,
}

/// A typed parameter (every parameter not listed is `Text`).
pub struct Param {
    pub wire: &'static str,
    pub ty: Ty,
    /// The field's name, when the wire name does not make a good one.
    pub field: Option<&'static str>,
}

pub const fn p(wire: &'static str, ty: Ty) -> Param {
    Param {
        wire,
        ty,
        field: None,
    }
}

pub const fn pf(wire: &'static str, ty: Ty, field: &'static str) -> Param {
    Param {
        wire,
        ty,
        field: Some(field),
    }
}

/// How the result arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Single,
    /// `(terminal event, item events)`.
    List(&'static str, &'static [&'static str]),
    /// A list when `param` is a `/regex/`, else one response.
    ListIfRegex(&'static str, &'static str, &'static [&'static str]),
    /// CLI output.
    Command,
    /// The `OriginateResponse` event follows when `Async` is true.
    AsyncOriginate,
    /// Bare CLI text in one block, no `Response:`.
    TextBlock,
    /// One response, then this event with the action's ActionID.
    ThenEvent(&'static str),
}

pub struct Action {
    pub name: &'static str,
    pub group: Group,
    pub shape: Shape,
    /// The struct is hand-written in `src/ami/actions.rs`.
    pub hand: bool,
    /// The Rust type name, when it differs from the wire name.
    pub rust: Option<&'static str>,
    pub doc: &'static str,
    /// A quirk worth a second doc line (and shown by the catalogue).
    pub note: &'static str,
    pub params: &'static [Param],
    /// Accepts headers of any name (`UserEvent`).
    pub open: bool,
    /// A typed answer of `actions/answers.rs` instead of `Response`.
    pub output: Option<&'static str>,
}

const fn a(name: &'static str, group: Group, shape: Shape, doc: &'static str) -> Action {
    Action {
        name,
        group,
        shape,
        hand: false,
        rust: None,
        doc,
        note: "",
        params: &[],
        open: false,
        output: None,
    }
}

impl Action {
    const fn params(mut self, params: &'static [Param]) -> Self {
        self.params = params;
        self
    }
    const fn note(mut self, note: &'static str) -> Self {
        self.note = note;
        self
    }
    const fn hand(mut self) -> Self {
        self.hand = true;
        self
    }
    const fn rust(mut self, rust: &'static str) -> Self {
        self.rust = Some(rust);
        self
    }
    const fn output(mut self, output: &'static str) -> Self {
        self.output = Some(output);
        self
    }
    const fn open(mut self) -> Self {
        self.open = true;
        self
    }
}

/// An enum of the values Asterisk accepts for a parameter.
pub struct Enum {
    pub name: &'static str,
    pub doc: &'static str,
    /// `(variant, wire value, doc)`.
    pub variants: &'static [(&'static str, &'static str, &'static str)],
}

use Group::*;
use Shape::*;
use Ty::*;

#[rustfmt::skip]
pub static ENUMS: &[Enum] = &[
    Enum {
        name: "AocMessageType",
        doc: "Which advice-of-charge message `AOCMessage` sends.",
        variants: &[
            ("S", "S", "AOC-S: the charging rates."),
            ("D", "D", "AOC-D: charges during the call."),
            ("E", "E", "AOC-E: charges at the end of the call."),
        ],
    },
    Enum {
        name: "AocChargeType",
        doc: "What an AOC-D or AOC-E message charges.",
        variants: &[
            ("NotAvailable", "NA", "No charge information."),
            ("Free", "FREE", "The call is free."),
            ("Currency", "Currency", "Charged in a currency."),
            ("Unit", "Unit", "Charged in units."),
        ],
    },
    Enum {
        name: "AocCurrencyMultiplier",
        doc: "The multiplier applied to an AOC currency amount.",
        variants: &[
            ("OneThousandth", "OneThousandth", "1/1000."),
            ("OneHundredth", "OneHundredth", "1/100."),
            ("OneTenth", "OneTenth", "1/10."),
            ("One", "One", "1."),
            ("Ten", "Ten", "10."),
            ("Hundred", "Hundred", "100."),
            ("Thousand", "Thousand", "1000."),
        ],
    },
    Enum {
        name: "AocTotalType",
        doc: "Whether an AOC-D charge is a running total or a subtotal.",
        variants: &[
            ("Total", "Total", "The total so far (the default)."),
            ("SubTotal", "SubTotal", "A subtotal."),
        ],
    },
    Enum {
        name: "AocBillingId",
        doc: "Why an AOC charge is billed the way it is.",
        variants: &[
            ("Normal", "Normal", "Ordinary charging."),
            ("ReverseCharge", "ReverseCharge", "Reverse charging."),
            ("CreditCard", "CreditCard", "Charged to a credit card."),
            ("CallFwdUnconditional", "CallFwdUnconditional", "Unconditional call forwarding."),
            ("CallFwdBusy", "CallFwdBusy", "Call forwarding on busy."),
            ("CallFwdNoReply", "CallFwdNoReply", "Call forwarding on no reply."),
            ("CallDeflection", "CallDeflection", "Call deflection."),
            ("CallTransfer", "CallTransfer", "Call transfer."),
        ],
    },
    Enum {
        name: "AocChargedItem",
        doc: "What an AOC-S rate applies to.",
        variants: &[
            ("NotAvailable", "NA", "Not given."),
            ("SpecialArrangement", "SpecialArrangement", "A special arrangement."),
            ("BasicCommunication", "BasicCommunication", "The basic call."),
            ("CallAttempt", "CallAttempt", "Each call attempt."),
            ("CallSetup", "CallSetup", "Call setup."),
            ("UserUserInfo", "UserUserInfo", "User-to-user information."),
            ("SupplementaryService", "SupplementaryService", "A supplementary service."),
        ],
    },
    Enum {
        name: "AocRateType",
        doc: "How an AOC-S rate is charged.",
        variants: &[
            ("NotAvailable", "NA", "Not given."),
            ("Free", "Free", "Free."),
            ("FreeFromBeginning", "FreeFromBeginning", "Free from the beginning."),
            ("Duration", "Duration", "By duration."),
            ("Flat", "Flat", "A flat rate."),
            ("Volume", "Volume", "By volume."),
            ("SpecialCode", "SpecialCode", "A special charging code."),
        ],
    },
    Enum {
        name: "AocTimeScale",
        doc: "The unit of an AOC time or granularity.",
        variants: &[
            ("OneHundredthSecond", "OneHundredthSecond", "1/100 s."),
            ("OneTenthSecond", "OneTenthSecond", "1/10 s."),
            ("Second", "Second", "Seconds."),
            ("TenSeconds", "TenSeconds", "Tens of seconds."),
            ("Minute", "Minute", "Minutes."),
            ("Hour", "Hour", "Hours."),
            ("Day", "Day", "Days."),
        ],
    },
    Enum {
        name: "AocChargingType",
        doc: "Whether an AOC duration rate charges continuously or in steps.",
        variants: &[
            ("ContinuousCharging", "ContinuousCharging", "Continuously."),
            ("StepFunction", "StepFunction", "In steps."),
        ],
    },
    Enum {
        name: "AocVolumeUnit",
        doc: "The unit of an AOC volume rate.",
        variants: &[
            ("Octet", "Octet", "Octets."),
            ("Segment", "Segment", "Segments."),
            ("Message", "Message", "Messages."),
        ],
    },
    Enum {
        name: "BridgeTone",
        doc: "Which channels of a `Bridge` action hear a courtesy tone.",
        variants: &[
            ("No", "no", "Neither."),
            ("Channel1", "Channel1", "The first channel."),
            ("Channel2", "Channel2", "The second channel."),
            ("Both", "Both", "Both channels."),
        ],
    },
    Enum {
        name: "PlaybackControl",
        doc: "What `ControlPlayback` does to the playback running on a channel.",
        variants: &[
            ("Stop", "stop", "Stops it."),
            ("Forward", "forward", "Skips forward."),
            ("Reverse", "reverse", "Skips back."),
            ("Pause", "pause", "Pauses or resumes it."),
            ("Restart", "restart", "Starts it over."),
        ],
    },
    Enum {
        name: "ModuleLoadType",
        doc: "What `ModuleLoad` does.",
        variants: &[
            ("Load", "load", "Loads the module."),
            ("Unload", "unload", "Unloads the module."),
            ("Reload", "reload", "Reloads the module (every module when none is named)."),
            ("Refresh", "refresh", "Unloads and loads the module again."),
        ],
    },
    Enum {
        name: "MuteDirection",
        doc: "Which audio of a channel `MuteAudio` mutes.",
        variants: &[
            ("In", "in", "What the channel receives."),
            ("Out", "out", "What the channel sends."),
            ("All", "all", "Both."),
        ],
    },
    Enum {
        name: "MixMonitorDirection",
        doc: "Which audio of a recording `MixMonitorMute` mutes.",
        variants: &[
            ("Read", "read", "What the channel receives."),
            ("Write", "write", "What the channel sends."),
            ("Both", "both", "Both."),
        ],
    },
    Enum {
        name: "PriDebugLevel",
        doc: "How much `PRIDebugSet` logs.",
        variants: &[
            ("Off", "off", "Nothing."),
            ("On", "on", "The basics."),
            ("Hex", "hex", "With hex dumps."),
            ("Intense", "intense", "Everything."),
        ],
    },
    Enum {
        name: "FilterOperation",
        doc: "What `Filter` does with its filter.",
        variants: &[("Add", "Add", "Adds it to the session's filters.")],
    },
];

#[rustfmt::skip]
pub static ACTIONS: &[Action] = &[
    // ---- calls
    a("AbsoluteTimeout", Calls, Single, "Hangs a channel up after a delay.")
        .params(&[p("Timeout", Secs)]),
    a("AGI", Calls, Single, "Queues an AGI command on a channel that runs `AGI(agi:async)`.")
        .rust("Agi"),
    a("AOCMessage", Calls, Single, "Sends an advice-of-charge message on a channel.").params(&[
        p("MsgType", Enum("AocMessageType")),
        p("ChargeType", Enum("AocChargeType")),
        pf("UnitAmount(0)", Custom("AocUnits"), "units"),
        p("UnitType(0)", Skip),
        p("CurrencyMultiplier", Enum("AocCurrencyMultiplier")),
        p("TotalType", Enum("AocTotalType")),
        p("AOCBillingId", Enum("AocBillingId")),
        p("ChargedItem", Enum("AocChargedItem")),
        p("RateType", Enum("AocRateType")),
        p("TimeScale", Enum("AocTimeScale")),
        p("GranularityTimeScale", Enum("AocTimeScale")),
        p("ChargingType", Enum("AocChargingType")),
        p("VolumeUnit", Enum("AocVolumeUnit")),
        p("Time", U32),
        p("Granularity", U32),
        p("CurrencyAmount", U32),
        p("Code", U32),
        p("ChargingAssociationPlan", U32),
    ]),
    a("Atxfer", Calls, Single, "Starts an attended transfer of a channel to an extension."),
    a("BlindTransfer", Calls, Single, "Blind-transfers a channel to an extension."),
    a("CancelAtxfer", Calls, Single, "Cancels an attended transfer in progress."),
    a("ControlPlayback", Calls, Single, "Stops, pauses or skips the playback running on a channel.")
        .params(&[p("Control", Enum("PlaybackControl"))]),
    a("CoreShowChannelMap", Calls, List("CoreShowChannelMapComplete", &["CoreShowChannelMap"]),
        "Lists the channels connected to a channel, one `CoreShowChannelMap` event each."),
    a("CoreShowChannels", Calls, List("CoreShowChannelsComplete", &["CoreShowChannel"]),
        "Lists the active channels, one `CoreShowChannel` event each."),
    a("Getvar", Calls, Single, "Reads a channel or global variable, or a dialplan function.")
        .output("GetvarResponse"),
    a("Hangup", Calls, ListIfRegex("Channel", "ChannelsHungupListComplete", &["ChannelHungup"]),
        "Hangs up a channel, or every channel whose name matches a `/regex/`.")
        .params(&[p("Cause", U32)])
        .note("With a `/regex/` channel the answer is a list: a `ChannelHungup` event per channel, then `ChannelsHungupListComplete`."),
    a("LocalOptimizeAway", Calls, Single, "Lets a Local channel pair optimize itself out of the call."),
    a("MixMonitor", Calls, Single, "Starts recording a channel."),
    a("MixMonitorMute", Calls, Single, "Mutes or unmutes one direction of a recording.")
        .params(&[p("Direction", Enum("MixMonitorDirection")), p("State", Bool)]),
    a("MuteAudio", Calls, Single, "Mutes or unmutes the audio of a channel.")
        .params(&[p("Direction", Enum("MuteDirection")), p("State", OnOff)]),
    a("Originate", Calls, AsyncOriginate, "Places a call.").hand(),
    a("PlayDTMF", Calls, Single, "Plays one DTMF digit on a channel.")
        .params(&[p("Duration", Millis), p("Receive", Bool)]),
    a("PlayMF", Calls, Single, "Plays one MF digit on a channel.")
        .params(&[p("Duration", Millis)]),
    a("Redirect", Calls, Single, "Sends a channel (and optionally a second one) elsewhere in the dialplan."),
    a("SendFlash", Calls, Single, "Sends a hook flash on a channel.")
        .params(&[p("Receive", Bool)]),
    a("SendText", Calls, Single, "Sends a text message to a channel."),
    a("Setvar", Calls, Single, "Sets a channel or global variable, or a dialplan function."),
    a("Status", Calls, List("StatusComplete", &["Status"]),
        "Lists channels with their state, one `Status` event each.")
        .params(&[p("AllVariables", Bool)]),
    a("StopMixMonitor", Calls, Single, "Stops a recording started by `MixMonitor`."),
    // ---- queues and agents
    a("AgentLogoff", Queues, Single, "Logs an agent off.").params(&[p("Soft", Bool)]),
    a("Agents", Queues, List("AgentsComplete", &["Agents"]), "Lists the agents, one `Agents` event each."),
    a("QueueAdd", Queues, Single, "Adds a member to a queue.")
        .params(&[p("Penalty", U32), p("Paused", Bool)]),
    a("QueueChangePriorityCaller", Queues, Single, "Changes the priority of a caller waiting in a queue.")
        .params(&[p("Priority", I32), p("Immediate", Bool)]),
    a("QueueLog", Queues, Single, "Writes a custom line to the queue log."),
    a("QueueMemberRingInUse", Queues, Single, "Sets whether a queue member is rung while in use.")
        .params(&[p("RingInUse", Bool)]),
    a("QueuePause", Queues, Single, "Pauses or unpauses a member in one queue or all.")
        .params(&[p("Paused", Bool)]),
    a("QueuePenalty", Queues, Single, "Sets a member's penalty in one queue or all.")
        .params(&[p("Penalty", U32)]),
    a("QueueReload", Queues, Single, "Reloads queues, their members, rules or parameters.")
        .params(&[p("Members", YesNo), p("Rules", YesNo), p("Parameters", YesNo)]),
    a("QueueRemove", Queues, Single, "Removes a member from a queue."),
    a("QueueReset", Queues, Single, "Resets the statistics of one queue or all."),
    a("QueueRule", Queues, Single, "Shows the queue rules, as `RuleList` and `Rule` headers of the response."),
    a("QueueStatus", Queues, List("QueueStatusComplete", &["QueueParams", "QueueMember", "QueueEntry"]),
        "Lists queues with their members and waiting callers."),
    a("QueueSummary", Queues, List("QueueSummaryComplete", &["QueueSummary"]),
        "Summarizes queues, one `QueueSummary` event each."),
    a("QueueWithdrawCaller", Queues, Single, "Asks a caller to leave a queue."),
    // ---- bridges
    a("Bridge", Bridges, Single, "Bridges two channels already in the system.")
        .params(&[p("Tone", Enum("BridgeTone"))]),
    a("BridgeDestroy", Bridges, Single, "Destroys a bridge, ejecting its channels."),
    a("BridgeInfo", Bridges, List("BridgeInfoComplete", &["BridgeInfoChannel"]),
        "Describes a bridge, one `BridgeInfoChannel` event per channel in it."),
    a("BridgeKick", Bridges, Single, "Removes a channel from a bridge."),
    a("BridgeList", Bridges, List("BridgeListComplete", &["BridgeListItem"]),
        "Lists the bridges, one `BridgeListItem` event each."),
    a("BridgeTechnologyList", Bridges, List("BridgeTechnologyListComplete", &["BridgeTechnologyListItem"]),
        "Lists the bridging technologies, one `BridgeTechnologyListItem` event each."),
    a("BridgeTechnologySuspend", Bridges, Single, "Stops a bridging technology from being chosen."),
    a("BridgeTechnologyUnsuspend", Bridges, Single, "Lets a suspended bridging technology be chosen again."),
    // ---- pjsip
    a("PJSIPHangup", Pjsip, ListIfRegex("Channel", "ChannelsHungupListComplete", &["ChannelHungup"]),
        "Hangs up a PJSIP channel with a SIP response code or name.")
        .note("With a `/regex/` channel the answer is a list: a `ChannelHungup` event per channel, then `ChannelsHungupListComplete`."),
    a("PJSIPNotify", Pjsip, Single, "Sends a SIP NOTIFY to an endpoint, a URI or a channel's peer.")
        .params(&[pf("Variable", Vars, "variables")])
        .note("Give one of `Endpoint`, `URI` or `channel`, and either `Option` or `Variable` lines."),
    a("PJSIPQualify", Pjsip, Single, "Sends an OPTIONS request to qualify an endpoint's contacts."),
    a("PJSIPRegister", Pjsip, Single, "Sends an outbound registration now (`*all` for every one)."),
    a("PJSIPSetMaintenance", Pjsip, Single, "Puts an endpoint (or `all`) in or out of maintenance.")
        .params(&[p("State", OnOff)]),
    a("PJSIPShowAors", Pjsip, List("AorListComplete", &["AorList"]), "Lists the AORs, one `AorList` event each."),
    a("PJSIPShowAuths", Pjsip, List("AuthListComplete", &["AuthList"]), "Lists the auths, one `AuthList` event each."),
    a("PJSIPShowContacts", Pjsip, List("ContactListComplete", &["ContactList"]),
        "Lists the contacts, one `ContactList` event each."),
    a("PJSIPShowEndpoint", Pjsip, List("EndpointDetailComplete", &["EndpointDetail", "AorDetail", "AuthDetail", "TransportDetail", "IdentifyDetail", "ContactStatusDetail"]),
        "Describes one endpoint and every object attached to it."),
    a("PJSIPShowEndpoints", Pjsip, List("EndpointListComplete", &["EndpointList"]),
        "Lists the endpoints, one `EndpointList` event each."),
    a("PJSIPShowMaintenance", Pjsip, List("PJSIPMaintenanceStatusComplete", &["PJSIPMaintenanceStatus"]),
        "Lists endpoints in maintenance, one `PJSIPMaintenanceStatus` event each."),
    a("PJSIPShowRegistrationInboundContactStatuses", Pjsip, List("ContactStatusDetailComplete", &["ContactStatusDetail"]),
        "Lists the status of contacts registered inbound."),
    a("PJSIPShowRegistrationsInbound", Pjsip, List("InboundRegistrationDetailComplete", &["InboundRegistrationDetail"]),
        "Lists inbound registrations (AORs with contacts)."),
    a("PJSIPShowRegistrationsOutbound", Pjsip, List("OutboundRegistrationDetailComplete", &["OutboundRegistrationDetail"]),
        "Lists outbound registrations and their state."),
    a("PJSIPShowResourceLists", Pjsip, List("ResourceListDetailComplete", &["ResourceListDetail"]),
        "Lists the configured resource lists."),
    a("PJSIPShowSubscriptionsInbound", Pjsip, List("InboundSubscriptionDetailComplete", &["InboundSubscriptionDetail"]),
        "Lists the subscriptions received."),
    a("PJSIPShowSubscriptionsOutbound", Pjsip, List("OutboundSubscriptionDetailComplete", &["OutboundSubscriptionDetail"]),
        "Lists the subscriptions sent."),
    a("PJSIPUnregister", Pjsip, Single, "Unregisters an outbound registration (`*all` for every one)."),
    // ---- db
    a("DBDel", Db, Single, "Deletes one key."),
    a("DBDelTree", Db, Single, "Deletes a family, or the keys under a prefix in it."),
    a("DBGet", Db, List("DBGetComplete", &["DBGetResponse"]), "Reads one key; the value arrives as a `DBGetResponse` event."),
    a("DBGetTree", Db, List("DBGetTreeComplete", &["DBGetTreeResponse"]),
        "Reads every key under a family (and prefix), one `DBGetTreeResponse` event each."),
    a("DBPut", Db, Single, "Stores a value."),
    // ---- dialplan and state
    a("DeviceStateList", Dialplan, List("DeviceStateListComplete", &["DeviceStateChange"]),
        "Lists every known device state, one `DeviceStateChange` event each."),
    a("DialplanExtensionAdd", Dialplan, Single, "Adds an extension (one priority) to the dialplan.")
        .params(&[p("Replace", Bool)]),
    a("DialplanExtensionRemove", Dialplan, Single, "Removes an extension, or one of its priorities, from the dialplan."),
    a("ExtensionState", Dialplan, Single, "Reads the hint state of an extension.")
        .output("ExtensionStateResponse"),
    a("ExtensionStateList", Dialplan, List("ExtensionStateListComplete", &["ExtensionStatus"]),
        "Lists every hint and its state, one `ExtensionStatus` event each."),
    a("PresenceState", Dialplan, Single, "Reads the presence state of a provider.")
        .output("PresenceStateResponse"),
    a("PresenceStateList", Dialplan, List("PresenceStateListComplete", &["PresenceStateChange"]),
        "Lists every known presence state, one `PresenceStateChange` event each."),
    a("ShowDialPlan", Dialplan, List("ShowDialPlanComplete", &["ListDialplan"]),
        "Lists the dialplan, one `ListDialplan` event per priority."),
    // ---- system
    a("Challenge", System, Single, "Asks for a challenge to log in with MD5.")
        .params(&[p("AuthType", Custom("AuthType"))]),
    a("Command", System, Command, "Runs a CLI command and returns its output.").hand(),
    a("CoreSettings", System, Single, "Reads versions and core settings.")
        .output("CoreSettingsResponse"),
    a("CoreStatus", System, Single, "Reads uptime, last reload and the number of calls.")
        .output("CoreStatusResponse"),
    a("Events", System, Single, "Changes which classes of events this session receives.")
        .params(&[p("EventMask", Custom("EventMask"))]),
    a("Filter", System, Single, "Adds an event filter to this session.")
        .params(&[p("Operation", Enum("FilterOperation"))]),
    a("ListCommands", System, Single, "Lists the actions this session may use, one header each."),
    a("LoggerRotate", System, Single, "Rotates the log files."),
    a("Login", System, Single, "Logs the session in.").hand(),
    a("Logoff", System, Single, "Ends the session.").hand(),
    a("ModuleCheck", System, Single, "Tells whether a module is loaded."),
    a("ModuleLoad", System, Single, "Loads, unloads or reloads a module.")
        .params(&[p("LoadType", Enum("ModuleLoadType")), p("Recursive", Bool)]),
    a("Ping", System, Single, "Keeps the session alive; answered with `Ping: Pong`."),
    a("Reload", System, Single, "Reloads a module, or the whole configuration."),
    a("SorceryMemoryCacheExpire", System, Single, "Expires every object of a sorcery memory cache."),
    a("SorceryMemoryCacheExpireObject", System, Single, "Expires one object of a sorcery memory cache."),
    a("SorceryMemoryCachePopulate", System, Single, "Fills a sorcery memory cache from its backend."),
    a("SorceryMemoryCacheStale", System, Single, "Marks every object of a sorcery memory cache stale."),
    a("SorceryMemoryCacheStaleObject", System, Single, "Marks one object of a sorcery memory cache stale.")
        .params(&[p("Reload", Bool)]),
    a("UserEvent", System, Single, "Sends a `UserEvent` event with headers of your own.").hand().open(),
    a("WaitEvent", System, ThenEvent("WaitEventComplete"), "Waits for events on this session.")
        .params(&[p("Timeout", Secs)])
        .note("The waiting events come between the response and `WaitEventComplete`, and reach handlers as usual."),
    // ---- config
    a("CreateConfig", Config, Single, "Creates an empty configuration file."),
    a("GetConfig", Config, Single, "Reads a configuration file as numbered `Category-`/`Line-` headers."),
    a("GetConfigJSON", Config, Single, "Reads a configuration file as one JSON header."),
    a("ListCategories", Config, Single, "Lists the categories of a configuration file."),
    a("UpdateConfig", Config, Single, "Edits a configuration file.").params(&[
        p("Reload", Text),
        p("PreserveEffectiveContext", Bool),
        pf("Action-000000", Custom("ConfigChanges"), "changes"),
        p("Cat-000000", Skip),
        p("Var-000000", Skip),
        p("Value-000000", Skip),
        p("Match-000000", Skip),
        p("Line-000000", Skip),
        p("Options-000000", Skip),
    ]).note("`Reload` is `yes`, `no` or the name of a module to reload."),
    // ---- conference
    a("ConfbridgeKick", Conference, Single, "Kicks a participant (or `all`) out of a conference."),
    a("ConfbridgeList", Conference, List("ConfbridgeListComplete", &["ConfbridgeList"]),
        "Lists the participants of a conference, one `ConfbridgeList` event each."),
    a("ConfbridgeListRooms", Conference, List("ConfbridgeListRoomsComplete", &["ConfbridgeListRooms"]),
        "Lists the active conferences, one `ConfbridgeListRooms` event each."),
    a("ConfbridgeLock", Conference, Single, "Locks a conference."),
    a("ConfbridgeMute", Conference, Single, "Mutes a participant of a conference."),
    a("ConfbridgeSetSingleVideoSrc", Conference, Single, "Makes one participant the video source of a conference."),
    a("ConfbridgeStartRecord", Conference, Single, "Starts recording a conference."),
    a("ConfbridgeStopRecord", Conference, Single, "Stops recording a conference."),
    a("ConfbridgeUnlock", Conference, Single, "Unlocks a conference."),
    a("ConfbridgeUnmute", Conference, Single, "Unmutes a participant of a conference."),
    a("MeetmeList", Conference, List("MeetmeListComplete", &["MeetmeList"]),
        "Lists the users of MeetMe conferences, one `MeetmeList` event each."),
    a("MeetmeListRooms", Conference, List("MeetmeListRoomsComplete", &["MeetmeListRooms"]),
        "Lists the active MeetMe conferences, one `MeetmeListRooms` event each."),
    a("MeetmeMute", Conference, Single, "Mutes a MeetMe user."),
    a("MeetmeUnmute", Conference, Single, "Unmutes a MeetMe user."),
    // ---- voicemail
    a("MailboxCount", Voicemail, Single, "Counts the urgent, new and old messages of a mailbox.")
        .output("MailboxCountResponse"),
    a("MailboxStatus", Voicemail, Single, "Tells whether a mailbox has messages waiting.")
        .output("MailboxStatusResponse"),
    a("MWIDelete", Voicemail, Single, "Deletes an externally managed mailbox."),
    a("MWIGet", Voicemail, List("MWIGetComplete", &["MWIGet"]), "Reads externally managed mailboxes, one `MWIGet` event each."),
    a("MWIUpdate", Voicemail, Single, "Sets the message counts of an externally managed mailbox.")
        .params(&[p("OldMessages", U32), p("NewMessages", U32)]),
    a("VoicemailBoxSummary", Voicemail, List("VoicemailBoxDetailComplete", &["VoicemailBoxDetail"]),
        "Lists the messages of a mailbox, one `VoicemailBoxDetail` event each.")
        .note("For a mailbox that does not exist the answer is one success response and no list."),
    a("VoicemailForward", Voicemail, Single, "Copies a message to another mailbox."),
    a("VoicemailMove", Voicemail, Single, "Moves a message to another folder."),
    a("VoicemailRefresh", Voicemail, Single, "Tells Asterisk to re-read mailboxes from storage."),
    a("VoicemailRemove", Voicemail, Single, "Deletes a message."),
    a("VoicemailUsersList", Voicemail, List("VoicemailUserEntryComplete", &["VoicemailUserEntry"]),
        "Lists voicemail users, one `VoicemailUserEntry` event each."),
    a("VoicemailUserStatus", Voicemail, List("VoicemailUserDetailComplete", &["VoicemailUserDetail"]),
        "Describes one voicemail user in a `VoicemailUserDetail` event.")
        .note("For a user that does not exist the answer is one success response and no list."),
    // ---- dahdi
    a("DAHDIDialOffhook", Dahdi, Single, "Dials a number on an off-hook DAHDI channel."),
    a("DAHDIDNDoff", Dahdi, Single, "Turns do-not-disturb off on a DAHDI channel."),
    a("DAHDIDNDon", Dahdi, Single, "Turns do-not-disturb on on a DAHDI channel."),
    a("DAHDIHangup", Dahdi, Single, "Hangs up a DAHDI channel."),
    a("DAHDIRestart", Dahdi, Single, "Restarts the DAHDI channels, dropping their calls."),
    a("DAHDIShowChannels", Dahdi, List("DAHDIShowChannelsComplete", &["DAHDIShowChannels"]),
        "Lists DAHDI channels, one `DAHDIShowChannels` event each.")
        .params(&[p("DAHDIChannel", U32)]),
    a("DAHDIShowStatus", Dahdi, List("DAHDIShowStatusComplete", &["DAHDIShowStatus"]),
        "Lists the status of DAHDI spans, one `DAHDIShowStatus` event each."),
    a("DAHDITransfer", Dahdi, Single, "Transfers a DAHDI channel."),
    a("PRIDebugFileSet", Dahdi, Single, "Sends PRI debug output to a file."),
    a("PRIDebugFileUnset", Dahdi, Single, "Stops sending PRI debug output to a file."),
    a("PRIDebugSet", Dahdi, Single, "Sets the PRI debug level of a span.")
        .params(&[p("Span", U32), p("Level", Enum("PriDebugLevel"))]),
    a("PRIShowSpans", Dahdi, List("PRIShowSpansComplete", &["PRIShowSpans"]),
        "Lists PRI spans, one `PRIShowSpans` event each.")
        .params(&[p("Span", U32)]),
    // ---- parking
    a("Park", Parking, Single, "Parks a channel.")
        .params(&[p("Timeout", Millis), p("ParkingSpace", Text)]),
    a("ParkedCalls", Parking, List("ParkedCallsComplete", &["ParkedCall"]),
        "Lists parked calls, one `ParkedCall` event each."),
    a("Parkinglots", Parking, List("ParkinglotsComplete", &["Parkinglot"]),
        "Lists parking lots, one `Parkinglot` event each."),
    // ---- fax
    a("FAXSession", Fax, ThenEvent("FAXSession"), "Describes one fax session.")
        .params(&[p("SessionNumber", U32)])
        .note("An unknown session is an error response with no event."),
    a("FAXSessions", Fax, List("FAXSessionsComplete", &["FAXSessionsEntry"]),
        "Lists fax sessions, one `FAXSessionsEntry` event each."),
    a("FAXStats", Fax, ThenEvent("FAXStats"), "Reads fax statistics."),
    // ---- messaging
    a("JabberSend", Messaging, Single, "Sends an XMPP message."),
    a("MessageSend", Messaging, Single, "Sends an out-of-call message.")
        .params(&[pf("Variable", Vars, "variables")]),
    // ---- iax
    a("IAXnetstats", Iax, TextBlock, "Shows IAX2 network statistics.")
        .note("The lines are the result's `output`; with no calls it is empty."),
    a("IAXpeerlist", Iax, List("PeerlistComplete", &["PeerEntry"]), "Lists IAX2 peers, one `PeerEntry` event each."),
    a("IAXpeers", Iax, List("PeerlistComplete", &["PeerEntry"]), "Lists IAX2 peers, one `PeerEntry` event each."),
    a("IAXregistry", Iax, List("RegistrationsComplete", &["RegistryEntry"]),
        "Lists IAX2 registrations, one `RegistryEntry` event each."),
];

/// One-line docs of common parameters, by wire name (any action).
/// A key `Action.Param` applies to one action only.
#[rustfmt::skip]
pub static PARAM_DOCS: &[(&str, &str)] = &[
    ("AOCMessage.UnitAmount(0)", "The unit entries, numbered in order"),
    ("UpdateConfig.Action-000000", "The changes, numbered in order"),
    ("Agent", "The agent's id."),
    ("AnnounceChannel", "A channel to announce the parking space to."),
    ("AuthType", "How to authenticate (`MD5`)."),
    ("Base64Body", "The message body, base64-encoded."),
    ("BridgeTechnology", "The bridging technology's name."),
    ("BridgeType", "Only bridges of this type."),
    ("ChannelPrefix", "Send to the first channel whose name starts with this."),
    ("Channel1", "The first channel."),
    ("Channel2", "The second channel."),
    ("ChargeType", "What is charged."),
    ("ChargedItem", "What the rate applies to."),
    ("ChargingAssociationId", "The charging association's id."),
    ("ChargingAssociationNumber", "The charging association's number."),
    ("ChargingAssociationPlan", "The numbering plan of the association number."),
    ("ChargingType", "Continuous or stepped charging."),
    ("Code", "The special charging code."),
    ("AGI.Command", "The AGI command line."),
    ("AGI.CommandID", "An id echoed back in the matching `AsyncAGIExec` event."),
    ("MixMonitor.Command", "A shell command to run when the recording ends."),
    ("Content-Type", "The MIME type of the text."),
    ("Control", "What to do."),
    ("CurrencyAmount", "The amount, in the currency's smallest unit times the multiplier."),
    ("CurrencyMultiplier", "The multiplier of the amount."),
    ("CurrencyName", "The currency's name."),
    ("Destination", "Where to send the message (a technology URI)."),
    ("DstFilename", "The file to write."),
    ("QueueLog.Event", "The event name written in the log."),
    ("EventMask", "Which events to receive."),
    ("ExtraChannel", "A second channel to move."),
    ("ExtraContext", "The second channel's context."),
    ("ExtraExten", "The second channel's extension."),
    ("ExtraPriority", "The second channel's priority."),
    ("From", "The sender."),
    ("Granularity", "The charging granularity."),
    ("GranularityTimeScale", "The unit of the granularity."),
    ("Immediate", "Apply the new priority to the caller's position at once."),
    ("JID", "The recipient's XMPP address."),
    ("Jabber", "The client or component (from `xmpp.conf`) to send from."),
    ("Level", "The debug level."),
    ("LoadType", "What to do with the module."),
    ("MatchCriteria", "How the filter matches events."),
    ("Meetme", "The MeetMe conference number."),
    ("Member", "Only this member (interface or name)."),
    ("Members", "Reload the members."),
    ("MixMonitorID", "The recording's id (from `MIXMONITOR_ID`)."),
    ("MsgType", "The kind of AOC message."),
    ("NewMessages", "The number of new messages."),
    ("Number", "The number to dial."),
    ("OldMessages", "The number of old messages."),
    ("Operation", "What to do with the filter."),
    ("Option", "The `pjsip_notify.conf` section to send."),
    ("MixMonitor.Options", "MixMonitor's option letters."),
    ("Parameters", "Reload the queue parameters."),
    ("ParkingLot", "Only this parking lot."),
    ("Parkinglot", "The parking lot to use."),
    ("ParkingSpace", "The parking space to use."),
    ("PreserveEffectiveContext", "Keep the context's effective content when templates change."),
    ("Provider", "The presence provider (`CustomPresence:me`)."),
    ("RateType", "How the rate is charged."),
    ("RecordFile", "The file to record to."),
    ("Recursive", "Also reload the modules that depend on it."),
    ("UpdateConfig.Reload", "Reload afterwards (`yes`, `no`, or a module's name)."),
    ("SorceryMemoryCacheStaleObject.Reload", "Refresh the object from its backend now."),
    ("Replace", "Replace an existing priority."),
    ("RingInUse", "Ring the member while in use."),
    ("Rule", "Only this rule."),
    ("Rules", "Reload the rules."),
    ("SessionNumber", "The fax session's number."),
    ("Soft", "Wait for the agent's current call to end."),
    ("Span", "The span's number."),
    ("SrcFilename", "The file to read."),
    ("Time", "The time a rate applies for."),
    ("TimeScale", "The unit of the time."),
    ("TimeoutChannel", "The channel to send back to when the parking times out."),
    ("ToContext", "The destination mailbox's context."),
    ("ToFolder", "The destination folder."),
    ("ToMailbox", "The destination mailbox."),
    ("Tone", "Who hears a courtesy tone."),
    ("TotalType", "Total or subtotal."),
    ("URI", "The URI to send to."),
    ("PJSIPNotify.channel", "The channel whose peer to send to."),
    ("Usernum", "The user's number in the conference."),
    ("VolumeUnit", "The unit of the volume."),
    ("WithdrawInfo", "Information passed to the caller's dialplan."),
    ("AOCBillingId", "The billing id."),
    ("Filter.Filter", "The filter expression."),
    ("PJSIPNotify.Variable", "Headers to add to the NOTIFY, as `name=value`."),
    ("MessageSend.Variable", "Variables to set on the message, as `name=value`."),
    ("Account", "The account code."),
    ("AllVariables", "Include every channel variable."),
    ("Application", "The dialplan application."),
    ("ApplicationData", "The application's arguments."),
    ("Body", "The message body."),
    ("BridgeUniqueid", "The bridge's unique id."),
    ("Cache", "The name of the cache."),
    ("Caller", "The caller's channel name."),
    ("Category", "Only this category."),
    ("Cause", "The hangup cause (a Q.850 code)."),
    ("Channel", "The channel's name."),
    ("Conference", "The conference's name."),
    ("Context", "The dialplan context."),
    ("DAHDIChannel", "The DAHDI channel number."),
    ("Digit", "The digit to play."),
    ("Direction", "Which direction of audio."),
    ("Duration", "How long the digit lasts."),
    ("Endpoint", "The endpoint's name."),
    ("Exten", "The extension."),
    ("Extension", "The extension."),
    ("Family", "The database family (the key's prefix)."),
    ("File", "The file name."),
    ("Filename", "The configuration file's name."),
    ("Filter", "A filter on the results."),
    ("Folder", "The mailbox folder."),
    ("ID", "The message's id."),
    ("Interface", "The member's interface (`PJSIP/100`)."),
    ("Key", "The database key."),
    ("Mailbox", "The mailbox (`box@context` where a context is not given apart)."),
    ("MemberName", "The member's display name."),
    ("Message", "The message text."),
    ("Module", "The module's name (`res_pjsip.so`)."),
    ("Object", "The object's id."),
    ("Paused", "Paused (true) or not."),
    ("Penalty", "The member's penalty."),
    ("Priority", "The dialplan priority."),
    ("Queue", "The queue's name."),
    ("Reason", "A reason, free text."),
    ("Receive", "Act as if the channel received it instead of sending it."),
    ("Registration", "The registration's name."),
    ("State", "The new state."),
    ("StateInterface", "The interface whose device state is used for this member."),
    ("Timeout", "How long to wait."),
    ("To", "The destination URI."),
    ("Uniqueid", "The channel's unique id."),
    ("Val", "The value."),
    ("Value", "The value."),
    ("Variable", "The variable's name."),
    ("Variables", "Channel variables to include, comma-separated."),
];
