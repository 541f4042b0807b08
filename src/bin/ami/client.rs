//! What the `ami` tool does once its command line is read: shared by the
//! `ami` binary (feature `cli`, clap) and `examples/ami.rs` (hand-written
//! parsing, no extra dependencies), which includes this file as a module.

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use asterisk_io::ami::actions::{Command, Login};
use asterisk_io::ami::{
    catalogue, Action, Connection, Error, FromResult, Input, Keepalive, Manager, ManagerConfig,
    Message, OwnedMessage, RawAction, Reconnect, ResultShape, ResultStatus,
};

/// Exit status: success.
pub const OK: i32 = 0;
/// Exit status: the server answered `Response: Error`.
pub const SERVER_ERROR: i32 = 1;
/// Exit status: connection, protocol or authentication failure, timeout, or a refused argument.
pub const FAILURE: i32 = 2;

/// Actions whose answer is bare CLI text (see `ResultShape::Text`): `Queues`
/// of Asterisk 14 and older, which the Asterisk 22 catalogue does not know.
fn name_is_text(name: &str) -> bool {
    name.eq_ignore_ascii_case("Queues")
}

/// How `events` prints each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFormat {
    /// `Key: Value` lines and a blank line (the format scripts read).
    Block,
    /// One JSON object per line (`asterisk_io::ami::json`).
    Json,
    /// One line: time, name, channel and the headers that matter for it.
    Line,
}

/// What to do once logged in.
#[derive(Debug, PartialEq, Eq)]
pub enum Task {
    /// Send one action and print its result.
    Action {
        /// Wire name.
        name: String,
        /// Fields in order; a key may repeat.
        fields: Vec<(String, String)>,
        /// Collect list items whatever the catalogue says.
        list: bool,
        /// Skip the catalogue check.
        raw: bool,
    },
    /// Run one CLI command.
    Command(String),
    /// Print events as they come.
    Events {
        /// Only these (ASCII case ignored); all when empty.
        names: Vec<String>,
        /// Stop after this many.
        count: Option<u64>,
        /// How to print them.
        format: EventFormat,
    },
}

/// A command line, read.
#[derive(Debug, PartialEq, Eq)]
pub struct Opts {
    /// `HOST:PORT`.
    pub addr: String,
    /// Manager user.
    pub user: String,
    /// Its secret (never printed).
    pub secret: String,
    /// Log in with the MD5 challenge.
    pub md5: bool,
    /// Deadline of the login and of each action.
    pub timeout: Duration,
    /// Connect again after the link drops (printing `link: ...` lines).
    pub reconnect: bool,
    /// Ping after this much silence; the link is down when the answer is as late.
    pub keepalive: Option<Duration>,
    /// AMI over TLS.
    pub tls: Option<TlsOpts>,
    /// Show how long a slow answer has been awaited, on stderr.
    pub progress: bool,
    /// What to do.
    pub task: Task,
}

/// `--tls` and its options.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TlsOpts {
    /// CA bundle instead of the public roots.
    pub ca: Option<String>,
    /// Name the certificate must carry, instead of the host of the address.
    pub server_name: Option<String>,
    /// Accept any certificate.
    pub insecure: bool,
}

/// True when `s` holds CR or LF (header injection).
pub fn has_crlf(s: &str) -> bool {
    s.contains(['\r', '\n'])
}

/// Checks the user and secret; the secret itself is never part of a message.
pub fn check_credentials(user: &str, secret: &str) -> Result<(), String> {
    for (what, v) in [("--user", user), ("--secret", secret)] {
        if has_crlf(v) {
            return Err(format!("{what} contains CR or LF"));
        }
    }
    Ok(())
}

/// `action NAME Key=Value ...` read into a [`Task::Action`].
pub fn action_task<S: AsRef<str>>(
    name: &str,
    kvs: &[S],
    list: bool,
    raw: bool,
) -> Result<Task, String> {
    if name.is_empty() || has_crlf(name) || name.contains(':') {
        return Err(format!("bad action name {name:?}"));
    }
    let mut fields = Vec::new();
    for kv in kvs {
        let kv = kv.as_ref();
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("{kv:?} is not Key=Value"))?;
        if k.is_empty() || k.contains(':') || has_crlf(k) {
            return Err(format!("bad field name {k:?}"));
        }
        if has_crlf(v) {
            return Err(format!("the value of {k} contains CR or LF"));
        }
        fields.push((k.to_string(), v.to_string()));
    }
    Ok(Task::Action {
        name: name.to_string(),
        fields,
        list,
        raw,
    })
}

/// `command "CLI TEXT"` read into a [`Task::Command`].
pub fn command_task(text: &str) -> Result<Task, String> {
    if has_crlf(text) {
        return Err("the CLI text contains CR or LF".into());
    }
    Ok(Task::Command(text.to_string()))
}

fn print_block(out: &mut dyn Write, msg: &OwnedMessage) -> std::io::Result<()> {
    for (k, v) in msg.iter() {
        writeln!(out, "{}: {}", k.to_str_lossy(), v.to_str_lossy())?;
    }
    writeln!(out)
}

/// What went wrong, as an exit status and a message for stderr.
fn failure(err: &mut dyn Write, e: &Error) -> i32 {
    match e {
        Error::Server { message, .. } => {
            let _ = writeln!(err, "error: {message}");
            SERVER_ERROR
        }
        other => {
            let _ = writeln!(err, "ami: {other}");
            FAILURE
        }
    }
}

/// Without the `serde` feature there is no JSON.
fn json_unavailable(err: &mut dyn Write) -> i32 {
    let _ = writeln!(
        err,
        "ami: --json needs the serde feature (cargo run --features serde --example ami)"
    );
    FAILURE
}

/// Prints one message as a block, or as a JSON line.
fn print_message(out: &mut dyn Write, msg: Message<'_>, json: bool) -> std::io::Result<()> {
    #[cfg(feature = "serde")]
    if json {
        return asterisk_io::ami::json::write_line(out, msg);
    }
    let _ = json;
    for (k, v) in msg.iter() {
        writeln!(out, "{}: {}", k.to_str_lossy(), v.to_str_lossy())?;
    }
    writeln!(out)
}

/// `decode`: every message of raw AMI bytes (files, or stdin).
pub fn decode(json: bool, files: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    if json && !cfg!(feature = "serde") {
        return json_unavailable(err);
    }
    let mut inputs = Vec::new();
    if files.is_empty() {
        let mut bytes = Vec::new();
        if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes) {
            let _ = writeln!(err, "ami: stdin: {e}");
            return FAILURE;
        }
        inputs.push(("stdin".to_owned(), bytes));
    }
    for f in files {
        match std::fs::read(f) {
            Ok(b) => inputs.push((f.clone(), b)),
            Err(e) => {
                let _ = writeln!(err, "ami: {f}: {e}");
                return FAILURE;
            }
        }
    }
    let mut code = OK;
    for (name, bytes) in inputs {
        let mut conn = Connection::default();
        // The greeting line is optional: a made-up one stands in for it.
        let first = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
        if !first.windows(12).any(|w| w == b"Call Manager") {
            conn.feed(b"Asterisk Call Manager/0.0.0\r\n");
        }
        for chunk in bytes.chunks(64 * 1024) {
            conn.feed(chunk);
            while let Some(input) = conn.next_input() {
                let printed = match input {
                    Input::Event(ev) => print_message(out, ev.message(), json),
                    Input::Unmatched(msg) => print_message(out, msg, json),
                    Input::Skipped(s) => {
                        let _ =
                            writeln!(err, "ami: {name}: skipped at byte {}: {}", s.offset, s.kind);
                        Ok(())
                    }
                    Input::Done(..) => Ok(()),
                };
                if printed.is_err() {
                    return FAILURE;
                }
            }
        }
        if let Some(e) = conn.fatal_error() {
            let _ = writeln!(err, "ami: {name}: {e}");
            code = FAILURE;
        }
    }
    let _ = out.flush();
    code
}

/// The headers worth a place on an event's one-line view, by event name;
/// other events show their first few headers beyond the channel snapshot.
const LINE_HEADERS: &[(&str, &[&str])] = &[
    ("AgentCalled", &["Queue", "Interface"]),
    ("AgentComplete", &["Queue", "Interface", "Reason"]),
    ("AgentConnect", &["Queue", "Interface", "HoldTime"]),
    ("AsyncAGIEnd", &[]),
    ("AsyncAGIExec", &["CommandId", "Result"]),
    ("AsyncAGIStart", &[]),
    ("BridgeCreate", &["BridgeUniqueid", "BridgeType"]),
    ("BridgeDestroy", &["BridgeUniqueid"]),
    ("BridgeEnter", &["BridgeUniqueid", "BridgeNumChannels"]),
    ("BridgeLeave", &["BridgeUniqueid", "BridgeNumChannels"]),
    ("Cdr", &["Source", "Destination", "Disposition", "Duration"]),
    ("ChallengeResponseFailed", &["AccountID", "RemoteAddress"]),
    ("ContactStatus", &["AOR", "URI", "ContactStatus"]),
    ("DTMFBegin", &["Digit", "Direction"]),
    ("DTMFEnd", &["Digit", "Direction", "DurationMs"]),
    ("DeviceStateChange", &["Device", "State"]),
    ("DialBegin", &["DestChannel", "DialString"]),
    ("DialEnd", &["DestChannel", "DialStatus"]),
    ("DialState", &["DestChannel", "DialStatus"]),
    ("ExtensionStatus", &["Exten", "Context", "StatusText"]),
    ("FailedACL", &["AccountID", "RemoteAddress"]),
    ("FullyBooted", &["Status", "Uptime"]),
    ("Hangup", &["Cause", "Cause-txt"]),
    ("HangupRequest", &["Cause"]),
    ("Hold", &["MusicClass"]),
    ("InvalidAccountID", &["AccountID", "RemoteAddress"]),
    ("InvalidPassword", &["AccountID", "RemoteAddress"]),
    (
        "LocalBridge",
        &["LocalOneChannel", "LocalTwoChannel", "Context"],
    ),
    ("MessageWaiting", &["Mailbox", "Waiting", "New"]),
    ("NewCallerid", &["CallerIDNum", "CallerIDName"]),
    ("Newchannel", &["CallerIDNum", "Context", "Exten"]),
    ("Newexten", &["Context", "Extension", "Application"]),
    ("Newstate", &["ChannelStateDesc", "ConnectedLineNum"]),
    ("OriginateResponse", &["Response", "Reason", "Exten"]),
    ("PeerStatus", &["Peer", "PeerStatus", "Cause"]),
    ("QueueCallerAbandon", &["Queue", "Position", "HoldTime"]),
    ("QueueCallerJoin", &["Queue", "Position", "Count"]),
    ("QueueCallerLeave", &["Queue", "Position", "Count"]),
    ("QueueMemberStatus", &["Queue", "Interface", "Status"]),
    ("Registry", &["Domain", "Username", "Status"]),
    ("Reload", &["Module", "Status"]),
    ("Shutdown", &["Shutdown", "Restart"]),
    ("SoftHangupRequest", &["Cause"]),
    ("SuccessfulAuth", &["AccountID", "RemoteAddress", "Service"]),
    ("UserEvent", &["UserEvent"]),
    ("VarSet", &["Variable", "Value"]),
];

/// Headers the one-line view never picks by itself: the envelope, and the
/// channel and bridge snapshots (with any prefix: `DestChannel`, ...).
const LINE_SKIP: &[&str] = &["Event", "Privilege", "SystemName", "Timestamp", "ActionID"];
const LINE_SKIP_SUFFIX: &[&str] = &[
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
    "BridgeType",
    "BridgeTechnology",
    "BridgeCreator",
    "BridgeName",
    "BridgeNumChannels",
    "BridgeVideoSourceMode",
    "EventTV",
    "EventVersion",
    "Severity",
];

/// Whether the one-line view leaves header `key` out unless asked for.
fn line_skips(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    LINE_SKIP.iter().any(|s| s.eq_ignore_ascii_case(key))
        || LINE_SKIP_SUFFIX
            .iter()
            .any(|s| lower.ends_with(&s.to_ascii_lowercase()))
}

/// The time of day (UTC) as `HH:MM:SS.mmm`.
fn time_of_day(now: SystemTime) -> String {
    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let s = d.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_millis()
    )
}

/// One event on one line: time, name, channel, and two or three headers.
fn print_line(out: &mut dyn Write, msg: Message<'_>, now: SystemTime) -> std::io::Result<()> {
    let name = msg
        .get("Event")
        .map(|v| v.to_str_lossy())
        .unwrap_or_default();
    let channel = msg
        .get("Channel")
        .map(|v| v.to_str_lossy())
        .unwrap_or_else(|| "-".into());
    let mut line = format!("{} {name:<20} {channel:<28}", time_of_day(now));
    let mut add = |k: &str, v: &str| {
        if v.is_empty() || v.contains(char::is_whitespace) {
            line.push_str(&format!(" {k}={v:?}"));
        } else {
            line.push_str(&format!(" {k}={v}"));
        }
    };
    match LINE_HEADERS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&name))
    {
        Some((_, keys)) => {
            for k in *keys {
                if let Some(v) = msg.get(k) {
                    add(k, &v.to_str_lossy());
                }
            }
        }
        None => {
            let picked = msg.iter().filter(|(k, _)| !line_skips(&k.to_str_lossy()));
            for (k, v) in picked.take(3) {
                add(&k.to_str_lossy(), &v.to_str_lossy());
            }
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// `call`, showing on stderr how long the answer has been awaited once that
/// passes a second (only when `progress` is on: a terminal).
fn call<A: Action + ?Sized>(
    mgr: &mut Manager,
    action: &A,
    timeout: Duration,
    progress: bool,
    what: &str,
    err: &mut dyn Write,
) -> Result<A::Output, Error> {
    if !progress {
        return mgr.call(action, timeout);
    }
    let start = Instant::now();
    let id = mgr.send_with_timeout(action, timeout)?;
    // Seconds last shown (0: nothing shown yet).
    let mut shown = 0;
    let result = loop {
        match mgr.take_result(id) {
            ResultStatus::Ready(r) => break r,
            ResultStatus::Gone(why) => break Err(Error::Gone(why)),
            ResultStatus::Pending => {}
        }
        if let Err(e) = mgr.poll_events(Some(Duration::from_millis(250))) {
            break match mgr.take_result(id) {
                ResultStatus::Ready(r) => r,
                _ => Err(e),
            };
        }
        let waited = start.elapsed().as_secs();
        if waited > shown {
            let _ = write!(err, "\rami: waiting for {what}: {waited} s ");
            let _ = err.flush();
            shown = waited;
        }
    };
    if shown > 0 {
        // Erase the progress line.
        let _ = write!(err, "\r\x1b[K");
    }
    result.and_then(A::Output::from_result)
}

/// Connects, logs in, does `opts.task`, logs off; returns the exit status.
pub fn execute(opts: Opts, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    if matches!(
        opts.task,
        Task::Events {
            format: EventFormat::Json,
            ..
        }
    ) && !cfg!(feature = "serde")
    {
        return json_unavailable(err);
    }
    // The catalogue's verdict comes before any connection: a refused action
    // sends nothing.
    let mut shape = ResultShape::Single;
    if let Task::Action {
        name, fields, raw, ..
    } = &opts.task
    {
        if name_is_text(name) {
            shape = ResultShape::Text;
        } else {
            let action = fields
                .iter()
                .fold(RawAction::new(name.as_str()), |a, (k, v)| {
                    a.field(k.as_str(), v.as_str())
                });
            match catalogue::check(&action) {
                Ok(checked) => {
                    shape = checked.shape();
                    if !raw {
                        for w in checked.warnings() {
                            let _ = writeln!(err, "ami: warning: {w}");
                        }
                    }
                }
                Err(e) if !raw => {
                    let _ = writeln!(err, "ami: {e} (--raw sends it anyway)");
                    return FAILURE;
                }
                Err(_) => {
                    shape = catalogue::action(name)
                        .map(|info| info.shape_for(fields))
                        .unwrap_or(ResultShape::Single);
                }
            }
        }
    }
    let mut config = ManagerConfig::default();
    if opts.reconnect {
        // A PBX back within 30 s is reached again within a few seconds.
        config = config.reconnect(Some(Reconnect::default().max(Duration::from_secs(4))));
    }
    if let Some(every) = opts.keepalive {
        config = config.keepalive(Some(Keepalive::new(every, every)));
    }
    if let Some(tls) = &opts.tls {
        config = match with_tls(config, tls, &opts.addr) {
            Ok(c) => c,
            Err(msg) => {
                let _ = writeln!(err, "ami: {msg}");
                return FAILURE;
            }
        };
    }
    let mut mgr = match Manager::connect_with(opts.addr.as_str(), config) {
        Ok(m) => m,
        Err(e) => return failure(err, &e),
    };
    // Every change of the link's state: one `link: ...` line on stderr.
    let links: Rc<RefCell<Vec<String>>> = Rc::default();
    if opts.reconnect || opts.keepalive.is_some() {
        let queue = links.clone();
        mgr.on_link(move |event, _| queue.borrow_mut().push(format!("link: {event}")));
    }
    let print_links = |err: &mut dyn Write| {
        for line in links.borrow_mut().drain(..) {
            let _ = writeln!(err, "{line}");
        }
    };
    let mut login = Login::new(opts.user.as_str(), opts.secret.as_str());
    if opts.md5 {
        login = login.md5();
    }
    if !matches!(opts.task, Task::Events { .. }) {
        login = login.events("off");
    }
    if let Err(e) = mgr.login(&login, opts.timeout) {
        // A refused login is a failure (2), not a server answer to our action.
        print_links(err);
        let _ = writeln!(err, "ami: {e}");
        return FAILURE;
    }
    print_links(err);
    let code = match opts.task {
        Task::Action {
            name, fields, list, ..
        } => {
            let mut action = RawAction::new(name.as_str());
            for (k, v) in fields {
                action = action.field(k, v);
            }
            action = if list {
                action.list()
            } else {
                action.with_shape(shape)
            };
            let text = shape.is_text();
            match call(&mut mgr, &action, opts.timeout, opts.progress, &name, err) {
                Ok(r) if text && r.response.is_success() => {
                    for line in r.output.iter().flat_map(|o| &o.lines) {
                        let _ = writeln!(out, "{line}");
                    }
                    OK
                }
                Ok(r) => {
                    let _ = print_block(out, r.response.message_block());
                    for item in r.events.iter().chain(r.completion.as_ref()) {
                        let _ = print_block(out, item);
                    }
                    // Success, Goodbye, Follows ...: anything but Error.
                    if !r
                        .response
                        .status()
                        .is_some_and(|s| s.eq_ignore_case("Error"))
                    {
                        OK
                    } else {
                        let msg = r.response.message().unwrap_or("Response: Error");
                        let _ = writeln!(err, "error: {msg}");
                        SERVER_ERROR
                    }
                }
                Err(e) => failure(err, &e),
            }
        }
        Task::Command(text) => {
            let progress = opts.progress;
            match call(
                &mut mgr,
                &Command::new(text),
                opts.timeout,
                progress,
                "Command",
                err,
            ) {
                Ok(output) => {
                    for line in &output.lines {
                        let _ = writeln!(out, "{line}");
                    }
                    OK
                }
                Err(e) => failure(err, &e),
            }
        }
        Task::Events {
            names,
            count,
            format,
        } => {
            // The handler is 'static, so it queues the blocks and this loop prints them.
            let blocks: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
            let seen = Rc::new(Cell::new(0u64));
            let (queue, printed) = (blocks.clone(), seen.clone());
            mgr.on_any_event(move |ev, _| {
                let name = ev.name();
                if !names.is_empty() && !names.iter().any(|n| name.eq_ignore_case(n)) {
                    return;
                }
                if count.is_some_and(|c| printed.get() >= c) {
                    return;
                }
                printed.set(printed.get() + 1);
                let mut block = Vec::new();
                let _ = match format {
                    EventFormat::Line => print_line(&mut block, ev.message(), SystemTime::now()),
                    _ => print_message(&mut block, ev.message(), format == EventFormat::Json),
                };
                queue.borrow_mut().push(block);
            });
            loop {
                let r = mgr.poll_events(Some(Duration::from_millis(500)));
                for block in blocks.borrow_mut().drain(..) {
                    let _ = out.write_all(&block);
                }
                let _ = out.flush();
                print_links(err);
                if let Err(e) = r {
                    if e.is_fatal() {
                        break failure(err, &e);
                    }
                    let _ = writeln!(err, "ami: {e}");
                }
                if count.is_some_and(|c| seen.get() >= c) {
                    break OK;
                }
            }
        }
    };
    if !mgr.is_closed() {
        let _ = mgr.logoff(Duration::from_secs(2).min(opts.timeout));
    }
    let _ = out.flush();
    code
}

/// True when stderr is a terminal (progress is shown there, never in pipes).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// `config` speaking TLS as `--tls` and its options say. The certificate
/// must carry the host of `--addr` unless `--server-name` names another.
#[cfg(feature = "tls")]
fn with_tls(config: ManagerConfig, tls: &TlsOpts, addr: &str) -> Result<ManagerConfig, String> {
    let mut settings = asterisk_io::ami::TlsSettings::new();
    let host = addr.rsplit_once(':').map_or(addr, |(host, _port)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match &tls.server_name {
        Some(name) => settings = settings.server_name(name.as_str()),
        // An IP address is checked as the address connected to.
        None if host.parse::<std::net::IpAddr>().is_err() => settings = settings.server_name(host),
        None => {}
    }
    if let Some(ca) = &tls.ca {
        settings = settings.ca_file(ca);
    }
    if tls.insecure {
        settings = settings.danger_accept_any_certificate();
    }
    Ok(config.tls(Some(settings)))
}

#[cfg(not(feature = "tls"))]
fn with_tls(_: ManagerConfig, _: &TlsOpts, _: &str) -> Result<ManagerConfig, String> {
    Err("--tls needs TLS support: build with `--features tls`".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_is_utc_hours_minutes_seconds_millis() {
        let t = UNIX_EPOCH + Duration::from_millis(86_400_000 * 3 + 13 * 3_600_000 + 61_005);
        assert_eq!(time_of_day(t), "13:01:01.005");
    }

    #[test]
    fn one_line_view_picks_the_headers_of_the_event() {
        let mut conn = Connection::default();
        conn.feed(b"Asterisk Call Manager/9.0.0\r\n");
        conn.feed(b"Event: Hangup\r\nChannel: PJSIP/100-1\r\nUniqueid: 1.1\r\nCause: 16\r\nCause-txt: Normal Clearing\r\n\r\n");
        conn.feed(b"Event: Mystery\r\nPrivilege: call,all\r\nChannel: X/1\r\nA: 1\r\nDestChannel: Y/2\r\nDestUniqueid: 2.2\r\nB: \r\nC: 3\r\nD: 4\r\n\r\n");
        let mut lines = Vec::new();
        while let Some(input) = conn.next_input() {
            if let Input::Event(ev) = input {
                let mut out = Vec::new();
                print_line(&mut out, ev.message(), UNIX_EPOCH).unwrap();
                lines.push(String::from_utf8(out).unwrap());
            }
        }
        assert_eq!(
            lines,
            [
                "00:00:00.000 Hangup               PJSIP/100-1                  Cause=16 Cause-txt=\"Normal Clearing\"\n",
                "00:00:00.000 Mystery              X/1                          A=1 B=\"\" C=3\n",
            ]
        );
    }
}
