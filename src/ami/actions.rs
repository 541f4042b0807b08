//! Typed manager actions: the classic set (pyst's, and the everyday ones).
//!
//! Each struct writes exactly the fields Asterisk 22 documents for its
//! action; optional fields are `Option`s and are left out when `None`.
//! Anything not here can be sent with [`RawAction`](super::RawAction) or
//! declared in a few lines with [`ami_action!`](crate::ami_action).

use std::fmt;

use super::action::{Action, FieldWriter, ResultShape, SessionEffect};
use super::error::EncodeError;
use super::response::{CommandOutput, OriginateResult, Response};

/// A login secret. Its `Debug` output never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for writing it on the wire or hashing it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How [`Login`] proves the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// The secret is sent as is.
    Plain,
    /// `Challenge` first, then `Key = md5hex(challenge + secret)`; the secret never crosses the wire.
    Md5,
}

/// `Login`. Send it with [`Manager::login`](super::Manager::login), which
/// also performs the MD5 challenge when asked to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// The `[user]` of `manager.conf`.
    pub username: String,
    /// The user's secret.
    pub secret: Secret,
    /// Plain or MD5 challenge.
    pub auth: AuthType,
    /// The `Events:` field sent with the login (`on`, `off`, or classes such
    /// as `system,call`). `None` leaves Asterisk's default (on).
    pub events: Option<String>,
}

impl Login {
    /// A plain-text login.
    pub fn new(username: impl Into<String>, secret: impl Into<String>) -> Self {
        Login {
            username: username.into(),
            secret: Secret::new(secret),
            auth: AuthType::Plain,
            events: None,
        }
    }

    /// Uses the MD5 challenge instead of sending the secret.
    pub fn md5(mut self) -> Self {
        self.auth = AuthType::Md5;
        self
    }

    /// Sets the event mask sent with the login (`"on"`, `"off"`, `"system,call"`, ...).
    pub fn events(mut self, mask: impl Into<String>) -> Self {
        self.events = Some(mask.into());
        self
    }
}

/// Writes the plain login. The MD5 login is written by the connection after
/// its challenge; sending an MD5 `Login` as an ordinary action is refused with
/// [`EncodeError::Md5LoginNeedsChallenge`] rather than sending the secret.
impl Action for Login {
    type Output = Response;
    fn name(&self) -> &str {
        "Login"
    }
    fn write_fields(&self, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        if self.auth == AuthType::Md5 {
            return Err(EncodeError::Md5LoginNeedsChallenge);
        }
        w.field("Username", &self.username)?;
        w.field("Secret", self.secret.expose())?;
        w.field("Events", &self.events)
    }
    fn effect(&self) -> SessionEffect {
        SessionEffect::Login
    }
}

/// `Command`: runs a CLI command and returns its output lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The CLI text, e.g. `core show channels`.
    pub command: String,
}

impl Command {
    /// A command action for `cli`.
    pub fn new(cli: impl Into<String>) -> Self {
        Command {
            command: cli.into(),
        }
    }
}

impl Action for Command {
    type Output = CommandOutput;
    fn name(&self) -> &str {
        "Command"
    }
    fn write_fields(&self, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.field("Command", &self.command)
    }
    fn shape(&self) -> ResultShape {
        ResultShape::Command
    }
}

/// `Originate`: places a call from `channel` to an extension or an application.
///
/// With [`Originate::run_async`] the action returns at once and its result
/// includes the later `OriginateResponse` event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Originate {
    /// The channel to call (`PJSIP/100`, `Local/s@ctx`).
    pub channel: String,
    /// Extension to connect to.
    pub exten: Option<String>,
    /// Context of `exten`.
    pub context: Option<String>,
    /// Priority of `exten`.
    pub priority: Option<String>,
    /// Application to run instead of an extension.
    pub application: Option<String>,
    /// The application's arguments.
    pub data: Option<String>,
    /// How long to wait for the call to be answered, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Caller ID to set on the outgoing channel.
    pub caller_id: Option<String>,
    /// Channel variables, written as one `Variable: name=value` line each.
    pub variables: Vec<(String, String)>,
    /// Account code.
    pub account: Option<String>,
    /// Connect early media.
    pub early_media: Option<bool>,
    /// `Async: true`.
    pub run_async: bool,
    /// Codecs, comma-separated.
    pub codecs: Option<String>,
    /// Unique id to give the channel.
    pub channel_id: Option<String>,
    /// Unique id to give the second (local) channel.
    pub other_channel_id: Option<String>,
    /// A Gosub to run on the channel before dialing.
    pub pre_dial_gosub: Option<String>,
}

impl Originate {
    /// Calls `channel` and connects it to `context,exten,priority`.
    pub fn to_extension(
        channel: impl Into<String>,
        context: impl Into<String>,
        exten: impl Into<String>,
        priority: impl Into<String>,
    ) -> Self {
        Originate {
            channel: channel.into(),
            context: Some(context.into()),
            exten: Some(exten.into()),
            priority: Some(priority.into()),
            ..Default::default()
        }
    }

    /// Calls `channel` and runs `application(data)` on it.
    pub fn to_application(
        channel: impl Into<String>,
        application: impl Into<String>,
        data: impl Into<String>,
    ) -> Self {
        Originate {
            channel: channel.into(),
            application: Some(application.into()),
            data: Some(data.into()),
            ..Default::default()
        }
    }

    /// Sets `Async: true`: the result then waits for `OriginateResponse`.
    pub fn run_async(mut self) -> Self {
        self.run_async = true;
        self
    }

    /// Adds a channel variable.
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }

    /// Sets the caller ID.
    pub fn caller_id(mut self, cid: impl Into<String>) -> Self {
        self.caller_id = Some(cid.into());
        self
    }

    /// Sets the answer timeout in milliseconds.
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = Some(ms);
        self
    }
}

impl Action for Originate {
    type Output = OriginateResult;
    fn name(&self) -> &str {
        "Originate"
    }
    fn write_fields(&self, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.field("Channel", &self.channel)?;
        w.field("Exten", &self.exten)?;
        w.field("Context", &self.context)?;
        w.field("Priority", &self.priority)?;
        w.field("Application", &self.application)?;
        w.field("Data", &self.data)?;
        w.field("Timeout", &self.timeout_ms)?;
        w.field("CallerID", &self.caller_id)?;
        w.field("Variable", &self.variables)?;
        w.field("Account", &self.account)?;
        w.field("EarlyMedia", &self.early_media)?;
        if self.run_async {
            w.field("Async", "true")?;
        }
        w.field("Codecs", &self.codecs)?;
        w.field("ChannelId", &self.channel_id)?;
        w.field("OtherChannelId", &self.other_channel_id)?;
        w.field("PreDialGoSub", &self.pre_dial_gosub)
    }
    fn shape(&self) -> ResultShape {
        if self.run_async {
            ResultShape::AsyncOriginate
        } else {
            ResultShape::Single
        }
    }
}

/// `UserEvent`: broadcasts an event `UserEvent` with custom headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserEvent {
    /// The user event's name (`UserEvent:` field).
    pub user_event: String,
    /// Extra headers, written as `Key: Value` lines in order.
    pub headers: Vec<(String, String)>,
}

impl UserEvent {
    /// A user event with no extra headers.
    pub fn new(name: impl Into<String>) -> Self {
        UserEvent {
            user_event: name.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }
}

impl Action for UserEvent {
    type Output = Response;
    fn name(&self) -> &str {
        "UserEvent"
    }
    fn write_fields(&self, w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        w.field("UserEvent", &self.user_event)?;
        self.headers.iter().try_for_each(|(k, v)| w.field(k, v))
    }
}

/// `Queues`: every queue, its members and callers, as the CLI's `queue show`
/// prints them (Asterisk 14 and older). The answer is raw text with no
/// `Response:` or `ActionID:` ([`ResultShape::Text`]); the lines are the
/// output. Asterisk 15 removed it; later versions answer
/// `Invalid/unknown command`, an [`Error::Server`](super::Error::Server):
/// use `QueueSummary` or `QueueStatus` there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Queues;

impl Action for Queues {
    type Output = CommandOutput;
    fn name(&self) -> &str {
        "Queues"
    }
    fn write_fields(&self, _w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        Ok(())
    }
    fn shape(&self) -> ResultShape {
        ResultShape::Text
    }
}

/// `Logoff`: ends the session; Asterisk answers `Goodbye` and closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Logoff;

impl Action for Logoff {
    type Output = Response;
    fn name(&self) -> &str {
        "Logoff"
    }
    fn write_fields(&self, _w: &mut FieldWriter<'_>) -> Result<(), EncodeError> {
        Ok(())
    }
    fn effect(&self) -> SessionEffect {
        SessionEffect::Logoff
    }
}

crate::ami_action! {
    /// `Ping`: answered by `Ping: Pong` and a timestamp.
    pub struct Ping => "Ping", single {}
}

crate::ami_action! {
    /// `Events`: changes which event classes this session receives.
    pub struct Events => "Events", single {
        /// `on`, `off`, or comma-separated classes (`system,call`).
        pub event_mask: String => "EventMask",
    }
}

impl Events {
    /// An `Events` action with the given mask.
    pub fn mask(mask: impl Into<String>) -> Self {
        Events {
            event_mask: mask.into(),
        }
    }
}

crate::ami_action! {
    /// `Hangup`: hangs up a channel.
    pub struct Hangup => "Hangup", single {
        /// Channel name (or a `/regex/`).
        pub channel: String => "Channel",
        /// Hangup cause code (16 is normal clearing).
        pub cause: Option<u32> => "Cause",
    }
}

crate::ami_action! {
    /// `Redirect`: sends a channel (and optionally a second one) elsewhere in the dialplan.
    pub struct Redirect => "Redirect", single {
        /// Channel to move.
        pub channel: String => "Channel",
        /// A second channel to move.
        pub extra_channel: Option<String> => "ExtraChannel",
        /// Target extension.
        pub exten: String => "Exten",
        /// Target extension of the second channel.
        pub extra_exten: Option<String> => "ExtraExten",
        /// Target context.
        pub context: String => "Context",
        /// Target context of the second channel.
        pub extra_context: Option<String> => "ExtraContext",
        /// Target priority.
        pub priority: String => "Priority",
        /// Target priority of the second channel.
        pub extra_priority: Option<String> => "ExtraPriority",
    }
}

crate::ami_action! {
    /// `Status`: one `Status` event per channel (or for one channel).
    pub struct Status => "Status", list("StatusComplete") {
        /// Limit to this channel.
        pub channel: Option<String> => "Channel",
        /// Comma-separated variables to include in each event.
        pub variables: Option<String> => "Variables",
        /// Include every channel variable.
        pub all_variables: Option<bool> => "AllVariables",
    }
}

crate::ami_action! {
    /// `Getvar`: reads a global or channel variable or a dialplan function.
    pub struct Getvar => "Getvar", single {
        /// Channel to read from (global if `None`).
        pub channel: Option<String> => "Channel",
        /// Variable or function, e.g. `CALLERID(num)`.
        pub variable: String => "Variable",
    }
}

crate::ami_action! {
    /// `Setvar`: sets a global or channel variable or a dialplan function.
    pub struct Setvar => "Setvar", single {
        /// Channel to set on (global if `None`).
        pub channel: Option<String> => "Channel",
        /// Variable or function name.
        pub variable: String => "Variable",
        /// The new value.
        pub value: String => "Value",
    }
}

crate::ami_action! {
    /// `CoreShowChannels`: one `CoreShowChannel` event per active channel.
    pub struct CoreShowChannels => "CoreShowChannels", list("CoreShowChannelsComplete") {}
}

crate::ami_action! {
    /// `CoreSettings`: versions and core settings in one response.
    pub struct CoreSettings => "CoreSettings", single {}
}

crate::ami_action! {
    /// `CoreStatus`: uptime, reload time and call count in one response.
    pub struct CoreStatus => "CoreStatus", single {}
}

crate::ami_action! {
    /// `DBPut`: stores a value in the Asterisk database.
    pub struct DBPut => "DBPut", single {
        /// Family (the key's prefix).
        pub family: String => "Family",
        /// Key.
        pub key: String => "Key",
        /// Value.
        pub val: Option<String> => "Val",
    }
}

crate::ami_action! {
    /// `DBGet`: reads one value; it arrives as a `DBGetResponse` list item.
    pub struct DBGet => "DBGet", list("DBGetComplete") {
        /// Family.
        pub family: String => "Family",
        /// Key.
        pub key: String => "Key",
    }
}

crate::ami_action! {
    /// `DBGetTree`: reads every key under a family (and key prefix).
    pub struct DBGetTree => "DBGetTree", list("DBGetTreeComplete") {
        /// Family.
        pub family: Option<String> => "Family",
        /// Key prefix.
        pub key: Option<String> => "Key",
    }
}

crate::ami_action! {
    /// `DBDel`: deletes one key.
    pub struct DBDel => "DBDel", single {
        /// Family.
        pub family: String => "Family",
        /// Key.
        pub key: String => "Key",
    }
}

crate::ami_action! {
    /// `DBDelTree`: deletes a family or a subtree.
    pub struct DBDelTree => "DBDelTree", single {
        /// Family.
        pub family: String => "Family",
        /// Key prefix within the family.
        pub key: Option<String> => "Key",
    }
}

crate::ami_action! {
    /// `PlayDTMF`: plays a DTMF digit on a channel.
    pub struct PlayDTMF => "PlayDTMF", single {
        /// Channel.
        pub channel: String => "Channel",
        /// The digit.
        pub digit: String => "Digit",
        /// Duration in milliseconds.
        pub duration: Option<u32> => "Duration",
        /// Emulate receiving the digit instead of sending it.
        pub receive: Option<bool> => "Receive",
    }
}

crate::ami_action! {
    /// `AbsoluteTimeout`: hangs a channel up after a number of seconds.
    pub struct AbsoluteTimeout => "AbsoluteTimeout", single {
        /// Channel.
        pub channel: String => "Channel",
        /// Seconds from now (0 cancels).
        pub timeout: u32 => "Timeout",
    }
}

crate::ami_action! {
    /// `MailboxStatus`: whether a mailbox has waiting messages.
    pub struct MailboxStatus => "MailboxStatus", single {
        /// `box@context`.
        pub mailbox: String => "Mailbox",
    }
}

crate::ami_action! {
    /// `MailboxCount`: new, old and urgent message counts of a mailbox.
    pub struct MailboxCount => "MailboxCount", single {
        /// `box@context`.
        pub mailbox: String => "Mailbox",
    }
}

crate::ami_action! {
    /// `ExtensionState`: the hint state of an extension.
    pub struct ExtensionState => "ExtensionState", single {
        /// Extension.
        pub exten: String => "Exten",
        /// Context.
        pub context: String => "Context",
    }
}

crate::ami_action! {
    /// `ListCommands`: every action the session may use, one header each.
    pub struct ListCommands => "ListCommands", single {}
}

crate::ami_action! {
    /// `Challenge`: asks for an MD5 challenge (used by [`Login::md5`]).
    pub struct Challenge => "Challenge", single {
        /// `MD5`.
        pub auth_type: String => "AuthType",
    }
}

crate::ami_action! {
    /// `AGI`: queues an AGI command on a channel running `AGI(agi:async)`.
    pub struct Agi => "AGI", single {
        /// The channel in AsyncAGI.
        pub channel: String => "Channel",
        /// The AGI command line.
        pub command: String => "Command",
        /// An id echoed in the matching `AsyncAGIExec` event.
        pub command_id: Option<String> => "CommandID",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write<A: Action>(a: &A) -> String {
        let mut out = Vec::new();
        a.write_fields(&mut FieldWriter::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn originate_writes_repeated_variables_and_async() {
        let o = Originate::to_application("Local/wait@lab", "Wait", "3")
            .variable("A", "1")
            .variable("B", "two words")
            .run_async();
        assert_eq!(o.shape(), ResultShape::AsyncOriginate);
        assert_eq!(
            write(&o),
            "Channel: Local/wait@lab\r\nApplication: Wait\r\nData: 3\r\nVariable: A=1\r\nVariable: B=two words\r\nAsync: true\r\n"
        );
    }

    #[test]
    fn secret_is_redacted_in_debug() {
        let l = Login::new("lab", "labsecret");
        let dbg = format!("{l:?}");
        assert!(!dbg.contains("labsecret"), "{dbg}");
    }
}
