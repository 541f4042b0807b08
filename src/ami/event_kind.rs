//! Every event name Asterisk 22 documents, plus the list events it sends
//! without documenting them, as one enum. Generated from the project's
//! catalogue of Asterisk 22.10.1; names match ASCII-case-insensitively
//! (`Newexten` on the wire is `NewExten` in the documentation).

/// The name of an event, as a closed set of known names plus [`EventKind::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// `AgentCalled`.
    AgentCalled,
    /// `AgentComplete`.
    AgentComplete,
    /// `AgentConnect`.
    AgentConnect,
    /// `AgentDump`.
    AgentDump,
    /// `AgentLogin`.
    AgentLogin,
    /// `AgentLogoff`.
    AgentLogoff,
    /// `AgentRingNoAnswer`.
    AgentRingNoAnswer,
    /// `Agents`.
    Agents,
    /// `AgentsComplete`.
    AgentsComplete,
    /// `AGIExecEnd`.
    AGIExecEnd,
    /// `AGIExecStart`.
    AGIExecStart,
    /// `Alarm`.
    Alarm,
    /// `AlarmClear`.
    AlarmClear,
    /// `AOC-D`.
    AocD,
    /// `AOC-E`.
    AocE,
    /// `AOC-S`.
    AocS,
    /// `AorDetail`.
    AorDetail,
    /// `AorList`.
    AorList,
    /// `AorListComplete`.
    AorListComplete,
    /// `AsyncAGI`.
    AsyncAGI,
    /// `AsyncAGIEnd`.
    AsyncAGIEnd,
    /// `AsyncAGIExec`.
    AsyncAGIExec,
    /// `AsyncAGIStart`.
    AsyncAGIStart,
    /// `AttendedTransfer`.
    AttendedTransfer,
    /// `AuthDetail`.
    AuthDetail,
    /// `AuthList`.
    AuthList,
    /// `AuthListComplete`.
    AuthListComplete,
    /// `AuthMethodNotAllowed`.
    AuthMethodNotAllowed,
    /// `BlindTransfer`.
    BlindTransfer,
    /// `BridgeCreate`.
    BridgeCreate,
    /// `BridgeDestroy`.
    BridgeDestroy,
    /// `BridgeEnter`.
    BridgeEnter,
    /// `BridgeInfoChannel`.
    BridgeInfoChannel,
    /// `BridgeInfoComplete`.
    BridgeInfoComplete,
    /// `BridgeLeave`.
    BridgeLeave,
    /// `BridgeListComplete`.
    BridgeListComplete,
    /// `BridgeListItem`.
    BridgeListItem,
    /// `BridgeMerge`.
    BridgeMerge,
    /// `BridgeTechnologyListComplete`.
    BridgeTechnologyListComplete,
    /// `BridgeTechnologyListItem`.
    BridgeTechnologyListItem,
    /// `BridgeVideoSourceUpdate`.
    BridgeVideoSourceUpdate,
    /// `Cdr`.
    Cdr,
    /// `CEL`.
    CEL,
    /// `ChallengeResponseFailed`.
    ChallengeResponseFailed,
    /// `ChallengeSent`.
    ChallengeSent,
    /// `ChannelTalkingStart`.
    ChannelTalkingStart,
    /// `ChannelTalkingStop`.
    ChannelTalkingStop,
    /// `ChanSpyStart`.
    ChanSpyStart,
    /// `ChanSpyStop`.
    ChanSpyStop,
    /// `ConfbridgeEnd`.
    ConfbridgeEnd,
    /// `ConfbridgeJoin`.
    ConfbridgeJoin,
    /// `ConfbridgeLeave`.
    ConfbridgeLeave,
    /// `ConfbridgeList`.
    ConfbridgeList,
    /// `ConfbridgeListRooms`.
    ConfbridgeListRooms,
    /// `ConfbridgeMute`.
    ConfbridgeMute,
    /// `ConfbridgeRecord`.
    ConfbridgeRecord,
    /// `ConfbridgeStart`.
    ConfbridgeStart,
    /// `ConfbridgeStopRecord`.
    ConfbridgeStopRecord,
    /// `ConfbridgeTalking`.
    ConfbridgeTalking,
    /// `ConfbridgeUnmute`.
    ConfbridgeUnmute,
    /// `ContactList`.
    ContactList,
    /// `ContactListComplete`.
    ContactListComplete,
    /// `ContactStatus`.
    ContactStatus,
    /// `ContactStatusDetail`.
    ContactStatusDetail,
    /// `CoreShowChannel`.
    CoreShowChannel,
    /// `CoreShowChannelMapComplete`.
    CoreShowChannelMapComplete,
    /// `CoreShowChannelsComplete`.
    CoreShowChannelsComplete,
    /// `DAHDIChannel`.
    DAHDIChannel,
    /// `DBGetComplete`.
    DBGetComplete,
    /// `DBGetResponse`.
    DBGetResponse,
    /// `DBGetTreeComplete`.
    DBGetTreeComplete,
    /// `DBGetTreeResponse`.
    DBGetTreeResponse,
    /// `DeadlockStart`.
    DeadlockStart,
    /// `DeviceStateChange`.
    DeviceStateChange,
    /// `DeviceStateListComplete`.
    DeviceStateListComplete,
    /// `DialBegin`.
    DialBegin,
    /// `DialEnd`.
    DialEnd,
    /// `DialState`.
    DialState,
    /// `DNDState`.
    DNDState,
    /// `DTMFBegin`.
    DTMFBegin,
    /// `DTMFEnd`.
    DTMFEnd,
    /// `EndpointDetail`.
    EndpointDetail,
    /// `EndpointDetailComplete`.
    EndpointDetailComplete,
    /// `EndpointList`.
    EndpointList,
    /// `EndpointListComplete`.
    EndpointListComplete,
    /// `ExtensionStateListComplete`.
    ExtensionStateListComplete,
    /// `ExtensionStatus`.
    ExtensionStatus,
    /// `FailedACL`.
    FailedACL,
    /// `FAXSession`.
    FAXSession,
    /// `FAXSessionsComplete`.
    FAXSessionsComplete,
    /// `FAXSessionsEntry`.
    FAXSessionsEntry,
    /// `FAXStats`.
    FAXStats,
    /// `FAXStatus`.
    FAXStatus,
    /// `Flash`.
    Flash,
    /// `FullyBooted`.
    FullyBooted,
    /// `Hangup`.
    Hangup,
    /// `HangupHandlerPop`.
    HangupHandlerPop,
    /// `HangupHandlerPush`.
    HangupHandlerPush,
    /// `HangupHandlerRun`.
    HangupHandlerRun,
    /// `HangupRequest`.
    HangupRequest,
    /// `Hold`.
    Hold,
    /// `IdentifyDetail`.
    IdentifyDetail,
    /// `InboundRegistrationDetail`.
    InboundRegistrationDetail,
    /// `InboundSubscriptionDetail`.
    InboundSubscriptionDetail,
    /// `InvalidAccountID`.
    InvalidAccountID,
    /// `InvalidPassword`.
    InvalidPassword,
    /// `InvalidTransport`.
    InvalidTransport,
    /// `ListDialplan`.
    ListDialplan,
    /// `Load`.
    Load,
    /// `LoadAverageLimit`.
    LoadAverageLimit,
    /// `LocalBridge`.
    LocalBridge,
    /// `LocalOptimizationBegin`.
    LocalOptimizationBegin,
    /// `LocalOptimizationEnd`.
    LocalOptimizationEnd,
    /// `LogChannel`.
    LogChannel,
    /// `MCID`.
    MCID,
    /// `MeetmeEnd`.
    MeetmeEnd,
    /// `MeetmeJoin`.
    MeetmeJoin,
    /// `MeetmeLeave`.
    MeetmeLeave,
    /// `MeetmeList`.
    MeetmeList,
    /// `MeetmeListRooms`.
    MeetmeListRooms,
    /// `MeetmeMute`.
    MeetmeMute,
    /// `MeetmeTalking`.
    MeetmeTalking,
    /// `MeetmeTalkRequest`.
    MeetmeTalkRequest,
    /// `MemoryLimit`.
    MemoryLimit,
    /// `MessageWaiting`.
    MessageWaiting,
    /// `MiniVoiceMail`.
    MiniVoiceMail,
    /// `MixMonitorMute`.
    MixMonitorMute,
    /// `MixMonitorStart`.
    MixMonitorStart,
    /// `MixMonitorStop`.
    MixMonitorStop,
    /// `MusicOnHoldStart`.
    MusicOnHoldStart,
    /// `MusicOnHoldStop`.
    MusicOnHoldStop,
    /// `MWIGet`.
    MWIGet,
    /// `MWIGetComplete`.
    MWIGetComplete,
    /// `NewAccountCode`.
    NewAccountCode,
    /// `NewCallerid`.
    NewCallerid,
    /// `Newchannel`.
    Newchannel,
    /// `NewConnectedLine`.
    NewConnectedLine,
    /// `NewExten`.
    NewExten,
    /// `Newstate`.
    Newstate,
    /// `OriginateResponse`.
    OriginateResponse,
    /// `OutboundRegistrationDetail`.
    OutboundRegistrationDetail,
    /// `OutboundSubscriptionDetail`.
    OutboundSubscriptionDetail,
    /// `ParkedCall`.
    ParkedCall,
    /// `ParkedCallGiveUp`.
    ParkedCallGiveUp,
    /// `ParkedCallSwap`.
    ParkedCallSwap,
    /// `ParkedCallTimeOut`.
    ParkedCallTimeOut,
    /// `PeerStatus`.
    PeerStatus,
    /// `Pickup`.
    Pickup,
    /// `PJSIPMaintenanceStatus`.
    PJSIPMaintenanceStatus,
    /// `PresenceStateChange`.
    PresenceStateChange,
    /// `PresenceStateListComplete`.
    PresenceStateListComplete,
    /// `PresenceStatus`.
    PresenceStatus,
    /// `QueueCallerAbandon`.
    QueueCallerAbandon,
    /// `QueueCallerJoin`.
    QueueCallerJoin,
    /// `QueueCallerLeave`.
    QueueCallerLeave,
    /// `QueueEntry`.
    QueueEntry,
    /// `QueueMember`.
    QueueMember,
    /// `QueueMemberAdded`.
    QueueMemberAdded,
    /// `QueueMemberPause`.
    QueueMemberPause,
    /// `QueueMemberPenalty`.
    QueueMemberPenalty,
    /// `QueueMemberRemoved`.
    QueueMemberRemoved,
    /// `QueueMemberRinginuse`.
    QueueMemberRinginuse,
    /// `QueueMemberStatus`.
    QueueMemberStatus,
    /// `QueueParams`.
    QueueParams,
    /// `QueueStatusComplete`.
    QueueStatusComplete,
    /// `QueueSummary`.
    QueueSummary,
    /// `QueueSummaryComplete`.
    QueueSummaryComplete,
    /// `ReceiveFAX`.
    ReceiveFAX,
    /// `Registry`.
    Registry,
    /// `Reload`.
    Reload,
    /// `Rename`.
    Rename,
    /// `RequestBadFormat`.
    RequestBadFormat,
    /// `RequestNotAllowed`.
    RequestNotAllowed,
    /// `RequestNotSupported`.
    RequestNotSupported,
    /// `ResourceListDetail`.
    ResourceListDetail,
    /// `RTCPReceived`.
    RTCPReceived,
    /// `RTCPSent`.
    RTCPSent,
    /// `SendFAX`.
    SendFAX,
    /// `SessionLimit`.
    SessionLimit,
    /// `ShowDialPlanComplete`.
    ShowDialPlanComplete,
    /// `Shutdown`.
    Shutdown,
    /// `SoftHangupRequest`.
    SoftHangupRequest,
    /// `SpanAlarm`.
    SpanAlarm,
    /// `SpanAlarmClear`.
    SpanAlarmClear,
    /// `Status`.
    Status,
    /// `StatusComplete`.
    StatusComplete,
    /// `SuccessfulAuth`.
    SuccessfulAuth,
    /// `TransportDetail`.
    TransportDetail,
    /// `UnexpectedAddress`.
    UnexpectedAddress,
    /// `Unhold`.
    Unhold,
    /// `Unload`.
    Unload,
    /// `UnParkedCall`.
    UnParkedCall,
    /// `UserEvent`.
    UserEvent,
    /// `VarSet`.
    VarSet,
    /// `VoicemailPasswordChange`.
    VoicemailPasswordChange,
    /// `Wink`.
    Wink,
    /// A name this version of the crate does not know; read it with [`Event::name`](super::Event::name).
    Other,
}

/// Lower-case names, sorted, for binary search.
static NAMES: &[(&str, EventKind)] = &[
    ("agentcalled", EventKind::AgentCalled),
    ("agentcomplete", EventKind::AgentComplete),
    ("agentconnect", EventKind::AgentConnect),
    ("agentdump", EventKind::AgentDump),
    ("agentlogin", EventKind::AgentLogin),
    ("agentlogoff", EventKind::AgentLogoff),
    ("agentringnoanswer", EventKind::AgentRingNoAnswer),
    ("agents", EventKind::Agents),
    ("agentscomplete", EventKind::AgentsComplete),
    ("agiexecend", EventKind::AGIExecEnd),
    ("agiexecstart", EventKind::AGIExecStart),
    ("alarm", EventKind::Alarm),
    ("alarmclear", EventKind::AlarmClear),
    ("aoc-d", EventKind::AocD),
    ("aoc-e", EventKind::AocE),
    ("aoc-s", EventKind::AocS),
    ("aordetail", EventKind::AorDetail),
    ("aorlist", EventKind::AorList),
    ("aorlistcomplete", EventKind::AorListComplete),
    ("asyncagi", EventKind::AsyncAGI),
    ("asyncagiend", EventKind::AsyncAGIEnd),
    ("asyncagiexec", EventKind::AsyncAGIExec),
    ("asyncagistart", EventKind::AsyncAGIStart),
    ("attendedtransfer", EventKind::AttendedTransfer),
    ("authdetail", EventKind::AuthDetail),
    ("authlist", EventKind::AuthList),
    ("authlistcomplete", EventKind::AuthListComplete),
    ("authmethodnotallowed", EventKind::AuthMethodNotAllowed),
    ("blindtransfer", EventKind::BlindTransfer),
    ("bridgecreate", EventKind::BridgeCreate),
    ("bridgedestroy", EventKind::BridgeDestroy),
    ("bridgeenter", EventKind::BridgeEnter),
    ("bridgeinfochannel", EventKind::BridgeInfoChannel),
    ("bridgeinfocomplete", EventKind::BridgeInfoComplete),
    ("bridgeleave", EventKind::BridgeLeave),
    ("bridgelistcomplete", EventKind::BridgeListComplete),
    ("bridgelistitem", EventKind::BridgeListItem),
    ("bridgemerge", EventKind::BridgeMerge),
    (
        "bridgetechnologylistcomplete",
        EventKind::BridgeTechnologyListComplete,
    ),
    (
        "bridgetechnologylistitem",
        EventKind::BridgeTechnologyListItem,
    ),
    (
        "bridgevideosourceupdate",
        EventKind::BridgeVideoSourceUpdate,
    ),
    ("cdr", EventKind::Cdr),
    ("cel", EventKind::CEL),
    (
        "challengeresponsefailed",
        EventKind::ChallengeResponseFailed,
    ),
    ("challengesent", EventKind::ChallengeSent),
    ("channeltalkingstart", EventKind::ChannelTalkingStart),
    ("channeltalkingstop", EventKind::ChannelTalkingStop),
    ("chanspystart", EventKind::ChanSpyStart),
    ("chanspystop", EventKind::ChanSpyStop),
    ("confbridgeend", EventKind::ConfbridgeEnd),
    ("confbridgejoin", EventKind::ConfbridgeJoin),
    ("confbridgeleave", EventKind::ConfbridgeLeave),
    ("confbridgelist", EventKind::ConfbridgeList),
    ("confbridgelistrooms", EventKind::ConfbridgeListRooms),
    ("confbridgemute", EventKind::ConfbridgeMute),
    ("confbridgerecord", EventKind::ConfbridgeRecord),
    ("confbridgestart", EventKind::ConfbridgeStart),
    ("confbridgestoprecord", EventKind::ConfbridgeStopRecord),
    ("confbridgetalking", EventKind::ConfbridgeTalking),
    ("confbridgeunmute", EventKind::ConfbridgeUnmute),
    ("contactlist", EventKind::ContactList),
    ("contactlistcomplete", EventKind::ContactListComplete),
    ("contactstatus", EventKind::ContactStatus),
    ("contactstatusdetail", EventKind::ContactStatusDetail),
    ("coreshowchannel", EventKind::CoreShowChannel),
    (
        "coreshowchannelmapcomplete",
        EventKind::CoreShowChannelMapComplete,
    ),
    (
        "coreshowchannelscomplete",
        EventKind::CoreShowChannelsComplete,
    ),
    ("dahdichannel", EventKind::DAHDIChannel),
    ("dbgetcomplete", EventKind::DBGetComplete),
    ("dbgetresponse", EventKind::DBGetResponse),
    ("dbgettreecomplete", EventKind::DBGetTreeComplete),
    ("dbgettreeresponse", EventKind::DBGetTreeResponse),
    ("deadlockstart", EventKind::DeadlockStart),
    ("devicestatechange", EventKind::DeviceStateChange),
    (
        "devicestatelistcomplete",
        EventKind::DeviceStateListComplete,
    ),
    ("dialbegin", EventKind::DialBegin),
    ("dialend", EventKind::DialEnd),
    ("dialstate", EventKind::DialState),
    ("dndstate", EventKind::DNDState),
    ("dtmfbegin", EventKind::DTMFBegin),
    ("dtmfend", EventKind::DTMFEnd),
    ("endpointdetail", EventKind::EndpointDetail),
    ("endpointdetailcomplete", EventKind::EndpointDetailComplete),
    ("endpointlist", EventKind::EndpointList),
    ("endpointlistcomplete", EventKind::EndpointListComplete),
    (
        "extensionstatelistcomplete",
        EventKind::ExtensionStateListComplete,
    ),
    ("extensionstatus", EventKind::ExtensionStatus),
    ("failedacl", EventKind::FailedACL),
    ("faxsession", EventKind::FAXSession),
    ("faxsessionscomplete", EventKind::FAXSessionsComplete),
    ("faxsessionsentry", EventKind::FAXSessionsEntry),
    ("faxstats", EventKind::FAXStats),
    ("faxstatus", EventKind::FAXStatus),
    ("flash", EventKind::Flash),
    ("fullybooted", EventKind::FullyBooted),
    ("hangup", EventKind::Hangup),
    ("hanguphandlerpop", EventKind::HangupHandlerPop),
    ("hanguphandlerpush", EventKind::HangupHandlerPush),
    ("hanguphandlerrun", EventKind::HangupHandlerRun),
    ("hanguprequest", EventKind::HangupRequest),
    ("hold", EventKind::Hold),
    ("identifydetail", EventKind::IdentifyDetail),
    (
        "inboundregistrationdetail",
        EventKind::InboundRegistrationDetail,
    ),
    (
        "inboundsubscriptiondetail",
        EventKind::InboundSubscriptionDetail,
    ),
    ("invalidaccountid", EventKind::InvalidAccountID),
    ("invalidpassword", EventKind::InvalidPassword),
    ("invalidtransport", EventKind::InvalidTransport),
    ("listdialplan", EventKind::ListDialplan),
    ("load", EventKind::Load),
    ("loadaveragelimit", EventKind::LoadAverageLimit),
    ("localbridge", EventKind::LocalBridge),
    ("localoptimizationbegin", EventKind::LocalOptimizationBegin),
    ("localoptimizationend", EventKind::LocalOptimizationEnd),
    ("logchannel", EventKind::LogChannel),
    ("mcid", EventKind::MCID),
    ("meetmeend", EventKind::MeetmeEnd),
    ("meetmejoin", EventKind::MeetmeJoin),
    ("meetmeleave", EventKind::MeetmeLeave),
    ("meetmelist", EventKind::MeetmeList),
    ("meetmelistrooms", EventKind::MeetmeListRooms),
    ("meetmemute", EventKind::MeetmeMute),
    ("meetmetalking", EventKind::MeetmeTalking),
    ("meetmetalkrequest", EventKind::MeetmeTalkRequest),
    ("memorylimit", EventKind::MemoryLimit),
    ("messagewaiting", EventKind::MessageWaiting),
    ("minivoicemail", EventKind::MiniVoiceMail),
    ("mixmonitormute", EventKind::MixMonitorMute),
    ("mixmonitorstart", EventKind::MixMonitorStart),
    ("mixmonitorstop", EventKind::MixMonitorStop),
    ("musiconholdstart", EventKind::MusicOnHoldStart),
    ("musiconholdstop", EventKind::MusicOnHoldStop),
    ("mwiget", EventKind::MWIGet),
    ("mwigetcomplete", EventKind::MWIGetComplete),
    ("newaccountcode", EventKind::NewAccountCode),
    ("newcallerid", EventKind::NewCallerid),
    ("newchannel", EventKind::Newchannel),
    ("newconnectedline", EventKind::NewConnectedLine),
    ("newexten", EventKind::NewExten),
    ("newstate", EventKind::Newstate),
    ("originateresponse", EventKind::OriginateResponse),
    (
        "outboundregistrationdetail",
        EventKind::OutboundRegistrationDetail,
    ),
    (
        "outboundsubscriptiondetail",
        EventKind::OutboundSubscriptionDetail,
    ),
    ("parkedcall", EventKind::ParkedCall),
    ("parkedcallgiveup", EventKind::ParkedCallGiveUp),
    ("parkedcallswap", EventKind::ParkedCallSwap),
    ("parkedcalltimeout", EventKind::ParkedCallTimeOut),
    ("peerstatus", EventKind::PeerStatus),
    ("pickup", EventKind::Pickup),
    ("pjsipmaintenancestatus", EventKind::PJSIPMaintenanceStatus),
    ("presencestatechange", EventKind::PresenceStateChange),
    (
        "presencestatelistcomplete",
        EventKind::PresenceStateListComplete,
    ),
    ("presencestatus", EventKind::PresenceStatus),
    ("queuecallerabandon", EventKind::QueueCallerAbandon),
    ("queuecallerjoin", EventKind::QueueCallerJoin),
    ("queuecallerleave", EventKind::QueueCallerLeave),
    ("queueentry", EventKind::QueueEntry),
    ("queuemember", EventKind::QueueMember),
    ("queuememberadded", EventKind::QueueMemberAdded),
    ("queuememberpause", EventKind::QueueMemberPause),
    ("queuememberpenalty", EventKind::QueueMemberPenalty),
    ("queuememberremoved", EventKind::QueueMemberRemoved),
    ("queuememberringinuse", EventKind::QueueMemberRinginuse),
    ("queuememberstatus", EventKind::QueueMemberStatus),
    ("queueparams", EventKind::QueueParams),
    ("queuestatuscomplete", EventKind::QueueStatusComplete),
    ("queuesummary", EventKind::QueueSummary),
    ("queuesummarycomplete", EventKind::QueueSummaryComplete),
    ("receivefax", EventKind::ReceiveFAX),
    ("registry", EventKind::Registry),
    ("reload", EventKind::Reload),
    ("rename", EventKind::Rename),
    ("requestbadformat", EventKind::RequestBadFormat),
    ("requestnotallowed", EventKind::RequestNotAllowed),
    ("requestnotsupported", EventKind::RequestNotSupported),
    ("resourcelistdetail", EventKind::ResourceListDetail),
    ("rtcpreceived", EventKind::RTCPReceived),
    ("rtcpsent", EventKind::RTCPSent),
    ("sendfax", EventKind::SendFAX),
    ("sessionlimit", EventKind::SessionLimit),
    ("showdialplancomplete", EventKind::ShowDialPlanComplete),
    ("shutdown", EventKind::Shutdown),
    ("softhanguprequest", EventKind::SoftHangupRequest),
    ("spanalarm", EventKind::SpanAlarm),
    ("spanalarmclear", EventKind::SpanAlarmClear),
    ("status", EventKind::Status),
    ("statuscomplete", EventKind::StatusComplete),
    ("successfulauth", EventKind::SuccessfulAuth),
    ("transportdetail", EventKind::TransportDetail),
    ("unexpectedaddress", EventKind::UnexpectedAddress),
    ("unhold", EventKind::Unhold),
    ("unload", EventKind::Unload),
    ("unparkedcall", EventKind::UnParkedCall),
    ("userevent", EventKind::UserEvent),
    ("varset", EventKind::VarSet),
    (
        "voicemailpasswordchange",
        EventKind::VoicemailPasswordChange,
    ),
    ("wink", EventKind::Wink),
];

impl EventKind {
    /// How many kinds there are, [`EventKind::Other`] included (the last).
    pub(crate) const COUNT: usize = EventKind::Other as usize + 1;

    /// A dense index, `0..COUNT`, for tables keyed by kind.
    #[inline]
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Looks a name up, ASCII-case-insensitively.
    pub fn from_name(name: &[u8]) -> EventKind {
        let mut buf = [0u8; 48];
        if name.len() > buf.len() {
            return EventKind::Other;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        match NAMES.binary_search_by(|(n, _)| n.as_bytes().cmp(lower)) {
            Ok(i) => NAMES[i].1,
            Err(_) => EventKind::Other,
        }
    }

    /// The name as Asterisk documents it (`None` for [`EventKind::Other`]).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            EventKind::AgentCalled => Some("AgentCalled"),
            EventKind::AgentComplete => Some("AgentComplete"),
            EventKind::AgentConnect => Some("AgentConnect"),
            EventKind::AgentDump => Some("AgentDump"),
            EventKind::AgentLogin => Some("AgentLogin"),
            EventKind::AgentLogoff => Some("AgentLogoff"),
            EventKind::AgentRingNoAnswer => Some("AgentRingNoAnswer"),
            EventKind::Agents => Some("Agents"),
            EventKind::AgentsComplete => Some("AgentsComplete"),
            EventKind::AGIExecEnd => Some("AGIExecEnd"),
            EventKind::AGIExecStart => Some("AGIExecStart"),
            EventKind::Alarm => Some("Alarm"),
            EventKind::AlarmClear => Some("AlarmClear"),
            EventKind::AocD => Some("AOC-D"),
            EventKind::AocE => Some("AOC-E"),
            EventKind::AocS => Some("AOC-S"),
            EventKind::AorDetail => Some("AorDetail"),
            EventKind::AorList => Some("AorList"),
            EventKind::AorListComplete => Some("AorListComplete"),
            EventKind::AsyncAGI => Some("AsyncAGI"),
            EventKind::AsyncAGIEnd => Some("AsyncAGIEnd"),
            EventKind::AsyncAGIExec => Some("AsyncAGIExec"),
            EventKind::AsyncAGIStart => Some("AsyncAGIStart"),
            EventKind::AttendedTransfer => Some("AttendedTransfer"),
            EventKind::AuthDetail => Some("AuthDetail"),
            EventKind::AuthList => Some("AuthList"),
            EventKind::AuthListComplete => Some("AuthListComplete"),
            EventKind::AuthMethodNotAllowed => Some("AuthMethodNotAllowed"),
            EventKind::BlindTransfer => Some("BlindTransfer"),
            EventKind::BridgeCreate => Some("BridgeCreate"),
            EventKind::BridgeDestroy => Some("BridgeDestroy"),
            EventKind::BridgeEnter => Some("BridgeEnter"),
            EventKind::BridgeInfoChannel => Some("BridgeInfoChannel"),
            EventKind::BridgeInfoComplete => Some("BridgeInfoComplete"),
            EventKind::BridgeLeave => Some("BridgeLeave"),
            EventKind::BridgeListComplete => Some("BridgeListComplete"),
            EventKind::BridgeListItem => Some("BridgeListItem"),
            EventKind::BridgeMerge => Some("BridgeMerge"),
            EventKind::BridgeTechnologyListComplete => Some("BridgeTechnologyListComplete"),
            EventKind::BridgeTechnologyListItem => Some("BridgeTechnologyListItem"),
            EventKind::BridgeVideoSourceUpdate => Some("BridgeVideoSourceUpdate"),
            EventKind::Cdr => Some("Cdr"),
            EventKind::CEL => Some("CEL"),
            EventKind::ChallengeResponseFailed => Some("ChallengeResponseFailed"),
            EventKind::ChallengeSent => Some("ChallengeSent"),
            EventKind::ChannelTalkingStart => Some("ChannelTalkingStart"),
            EventKind::ChannelTalkingStop => Some("ChannelTalkingStop"),
            EventKind::ChanSpyStart => Some("ChanSpyStart"),
            EventKind::ChanSpyStop => Some("ChanSpyStop"),
            EventKind::ConfbridgeEnd => Some("ConfbridgeEnd"),
            EventKind::ConfbridgeJoin => Some("ConfbridgeJoin"),
            EventKind::ConfbridgeLeave => Some("ConfbridgeLeave"),
            EventKind::ConfbridgeList => Some("ConfbridgeList"),
            EventKind::ConfbridgeListRooms => Some("ConfbridgeListRooms"),
            EventKind::ConfbridgeMute => Some("ConfbridgeMute"),
            EventKind::ConfbridgeRecord => Some("ConfbridgeRecord"),
            EventKind::ConfbridgeStart => Some("ConfbridgeStart"),
            EventKind::ConfbridgeStopRecord => Some("ConfbridgeStopRecord"),
            EventKind::ConfbridgeTalking => Some("ConfbridgeTalking"),
            EventKind::ConfbridgeUnmute => Some("ConfbridgeUnmute"),
            EventKind::ContactList => Some("ContactList"),
            EventKind::ContactListComplete => Some("ContactListComplete"),
            EventKind::ContactStatus => Some("ContactStatus"),
            EventKind::ContactStatusDetail => Some("ContactStatusDetail"),
            EventKind::CoreShowChannel => Some("CoreShowChannel"),
            EventKind::CoreShowChannelMapComplete => Some("CoreShowChannelMapComplete"),
            EventKind::CoreShowChannelsComplete => Some("CoreShowChannelsComplete"),
            EventKind::DAHDIChannel => Some("DAHDIChannel"),
            EventKind::DBGetComplete => Some("DBGetComplete"),
            EventKind::DBGetResponse => Some("DBGetResponse"),
            EventKind::DBGetTreeComplete => Some("DBGetTreeComplete"),
            EventKind::DBGetTreeResponse => Some("DBGetTreeResponse"),
            EventKind::DeadlockStart => Some("DeadlockStart"),
            EventKind::DeviceStateChange => Some("DeviceStateChange"),
            EventKind::DeviceStateListComplete => Some("DeviceStateListComplete"),
            EventKind::DialBegin => Some("DialBegin"),
            EventKind::DialEnd => Some("DialEnd"),
            EventKind::DialState => Some("DialState"),
            EventKind::DNDState => Some("DNDState"),
            EventKind::DTMFBegin => Some("DTMFBegin"),
            EventKind::DTMFEnd => Some("DTMFEnd"),
            EventKind::EndpointDetail => Some("EndpointDetail"),
            EventKind::EndpointDetailComplete => Some("EndpointDetailComplete"),
            EventKind::EndpointList => Some("EndpointList"),
            EventKind::EndpointListComplete => Some("EndpointListComplete"),
            EventKind::ExtensionStateListComplete => Some("ExtensionStateListComplete"),
            EventKind::ExtensionStatus => Some("ExtensionStatus"),
            EventKind::FailedACL => Some("FailedACL"),
            EventKind::FAXSession => Some("FAXSession"),
            EventKind::FAXSessionsComplete => Some("FAXSessionsComplete"),
            EventKind::FAXSessionsEntry => Some("FAXSessionsEntry"),
            EventKind::FAXStats => Some("FAXStats"),
            EventKind::FAXStatus => Some("FAXStatus"),
            EventKind::Flash => Some("Flash"),
            EventKind::FullyBooted => Some("FullyBooted"),
            EventKind::Hangup => Some("Hangup"),
            EventKind::HangupHandlerPop => Some("HangupHandlerPop"),
            EventKind::HangupHandlerPush => Some("HangupHandlerPush"),
            EventKind::HangupHandlerRun => Some("HangupHandlerRun"),
            EventKind::HangupRequest => Some("HangupRequest"),
            EventKind::Hold => Some("Hold"),
            EventKind::IdentifyDetail => Some("IdentifyDetail"),
            EventKind::InboundRegistrationDetail => Some("InboundRegistrationDetail"),
            EventKind::InboundSubscriptionDetail => Some("InboundSubscriptionDetail"),
            EventKind::InvalidAccountID => Some("InvalidAccountID"),
            EventKind::InvalidPassword => Some("InvalidPassword"),
            EventKind::InvalidTransport => Some("InvalidTransport"),
            EventKind::ListDialplan => Some("ListDialplan"),
            EventKind::Load => Some("Load"),
            EventKind::LoadAverageLimit => Some("LoadAverageLimit"),
            EventKind::LocalBridge => Some("LocalBridge"),
            EventKind::LocalOptimizationBegin => Some("LocalOptimizationBegin"),
            EventKind::LocalOptimizationEnd => Some("LocalOptimizationEnd"),
            EventKind::LogChannel => Some("LogChannel"),
            EventKind::MCID => Some("MCID"),
            EventKind::MeetmeEnd => Some("MeetmeEnd"),
            EventKind::MeetmeJoin => Some("MeetmeJoin"),
            EventKind::MeetmeLeave => Some("MeetmeLeave"),
            EventKind::MeetmeList => Some("MeetmeList"),
            EventKind::MeetmeListRooms => Some("MeetmeListRooms"),
            EventKind::MeetmeMute => Some("MeetmeMute"),
            EventKind::MeetmeTalking => Some("MeetmeTalking"),
            EventKind::MeetmeTalkRequest => Some("MeetmeTalkRequest"),
            EventKind::MemoryLimit => Some("MemoryLimit"),
            EventKind::MessageWaiting => Some("MessageWaiting"),
            EventKind::MiniVoiceMail => Some("MiniVoiceMail"),
            EventKind::MixMonitorMute => Some("MixMonitorMute"),
            EventKind::MixMonitorStart => Some("MixMonitorStart"),
            EventKind::MixMonitorStop => Some("MixMonitorStop"),
            EventKind::MusicOnHoldStart => Some("MusicOnHoldStart"),
            EventKind::MusicOnHoldStop => Some("MusicOnHoldStop"),
            EventKind::MWIGet => Some("MWIGet"),
            EventKind::MWIGetComplete => Some("MWIGetComplete"),
            EventKind::NewAccountCode => Some("NewAccountCode"),
            EventKind::NewCallerid => Some("NewCallerid"),
            EventKind::Newchannel => Some("Newchannel"),
            EventKind::NewConnectedLine => Some("NewConnectedLine"),
            EventKind::NewExten => Some("NewExten"),
            EventKind::Newstate => Some("Newstate"),
            EventKind::OriginateResponse => Some("OriginateResponse"),
            EventKind::OutboundRegistrationDetail => Some("OutboundRegistrationDetail"),
            EventKind::OutboundSubscriptionDetail => Some("OutboundSubscriptionDetail"),
            EventKind::ParkedCall => Some("ParkedCall"),
            EventKind::ParkedCallGiveUp => Some("ParkedCallGiveUp"),
            EventKind::ParkedCallSwap => Some("ParkedCallSwap"),
            EventKind::ParkedCallTimeOut => Some("ParkedCallTimeOut"),
            EventKind::PeerStatus => Some("PeerStatus"),
            EventKind::Pickup => Some("Pickup"),
            EventKind::PJSIPMaintenanceStatus => Some("PJSIPMaintenanceStatus"),
            EventKind::PresenceStateChange => Some("PresenceStateChange"),
            EventKind::PresenceStateListComplete => Some("PresenceStateListComplete"),
            EventKind::PresenceStatus => Some("PresenceStatus"),
            EventKind::QueueCallerAbandon => Some("QueueCallerAbandon"),
            EventKind::QueueCallerJoin => Some("QueueCallerJoin"),
            EventKind::QueueCallerLeave => Some("QueueCallerLeave"),
            EventKind::QueueEntry => Some("QueueEntry"),
            EventKind::QueueMember => Some("QueueMember"),
            EventKind::QueueMemberAdded => Some("QueueMemberAdded"),
            EventKind::QueueMemberPause => Some("QueueMemberPause"),
            EventKind::QueueMemberPenalty => Some("QueueMemberPenalty"),
            EventKind::QueueMemberRemoved => Some("QueueMemberRemoved"),
            EventKind::QueueMemberRinginuse => Some("QueueMemberRinginuse"),
            EventKind::QueueMemberStatus => Some("QueueMemberStatus"),
            EventKind::QueueParams => Some("QueueParams"),
            EventKind::QueueStatusComplete => Some("QueueStatusComplete"),
            EventKind::QueueSummary => Some("QueueSummary"),
            EventKind::QueueSummaryComplete => Some("QueueSummaryComplete"),
            EventKind::ReceiveFAX => Some("ReceiveFAX"),
            EventKind::Registry => Some("Registry"),
            EventKind::Reload => Some("Reload"),
            EventKind::Rename => Some("Rename"),
            EventKind::RequestBadFormat => Some("RequestBadFormat"),
            EventKind::RequestNotAllowed => Some("RequestNotAllowed"),
            EventKind::RequestNotSupported => Some("RequestNotSupported"),
            EventKind::ResourceListDetail => Some("ResourceListDetail"),
            EventKind::RTCPReceived => Some("RTCPReceived"),
            EventKind::RTCPSent => Some("RTCPSent"),
            EventKind::SendFAX => Some("SendFAX"),
            EventKind::SessionLimit => Some("SessionLimit"),
            EventKind::ShowDialPlanComplete => Some("ShowDialPlanComplete"),
            EventKind::Shutdown => Some("Shutdown"),
            EventKind::SoftHangupRequest => Some("SoftHangupRequest"),
            EventKind::SpanAlarm => Some("SpanAlarm"),
            EventKind::SpanAlarmClear => Some("SpanAlarmClear"),
            EventKind::Status => Some("Status"),
            EventKind::StatusComplete => Some("StatusComplete"),
            EventKind::SuccessfulAuth => Some("SuccessfulAuth"),
            EventKind::TransportDetail => Some("TransportDetail"),
            EventKind::UnexpectedAddress => Some("UnexpectedAddress"),
            EventKind::Unhold => Some("Unhold"),
            EventKind::Unload => Some("Unload"),
            EventKind::UnParkedCall => Some("UnParkedCall"),
            EventKind::UserEvent => Some("UserEvent"),
            EventKind::VarSet => Some("VarSet"),
            EventKind::VoicemailPasswordChange => Some("VoicemailPasswordChange"),
            EventKind::Wink => Some("Wink"),
            EventKind::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_round_trips() {
        assert!(NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        for (n, k) in NAMES {
            assert_eq!(EventKind::from_name(n.as_bytes()), *k);
            assert_eq!(k.as_str().unwrap().to_ascii_lowercase(), *n);
        }
        assert_eq!(EventKind::from_name(b"NEWEXTEN"), EventKind::NewExten);
        assert_eq!(EventKind::from_name(b"NoSuchEvent"), EventKind::Other);
    }
}
