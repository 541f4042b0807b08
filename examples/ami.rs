//! `ami`: a small manager command line.
//!
//! ```text
//! cargo run --example ami -- --addr HOST:PORT --user U --secret S [--md5] [--timeout SECS]
//!     [--tls [--ca FILE] [--server-name NAME] [--tls-insecure]] COMMAND
//!
//! COMMAND:
//!   action NAME [Key=Value ...] [--list] [--raw]
//!                                          send an action; repeat a key to repeat the field
//!   command "CLI TEXT"                     run a CLI command, print its output lines
//!   events [NAME ...] [--count N] [--json] [--reconnect] [--keepalive SECS]
//!                                          print events (all, or these names) as they come;
//!                                          --reconnect survives PBX restarts, printing each
//!                                          change of the link on stderr as `link: ...`
//!
//! cargo run --example ami -- decode [--json] [FILE ...]
//!                                          print every message of raw AMI bytes
//! ```
//!
//! `action` prints the response, then any list items (and the list's final
//! event), as `Key: Value` blocks separated by blank lines. The action is
//! first looked up in [`asterisk_io::ami::catalogue`]: a missing required
//! parameter is refused (exit status 2, naming it) before anything is sent,
//! and an undocumented parameter or an odd value is a warning on stderr.
//! The catalogue also says which actions answer with an event list
//! (`Status`, `CoreShowChannels`, `DBGet`, `QueueStatus`, ... and `Hangup`
//! of a `/regex/`); `--list` collects list items for any other action.
//! `--raw` skips the check, for the day the documentation is wrong.
//!
//! `decode` reads raw AMI bytes as received from Asterisk (files, or stdin;
//! the greeting line is optional) and prints every message, without
//! connecting anywhere. With `--json` (build with `--features serde`), it
//! and `events --json` print one JSON object per line (see
//! `asterisk_io::ami::json`): the event's name, the typed view used,
//! every header that view covers with its typed value, and the others.
//!
//! Exit status: 0 on success; 1 when the server answered `Response: Error`
//! (its `Message:` goes to stderr); 2 on a connection, protocol or
//! authentication failure, a timeout, or a refused argument (a missing
//! `=`, a CR or LF inside a value: that would be header injection, or a
//! required parameter missing; nothing is sent).
//!
//! `--tls` speaks AMI over TLS (Asterisk's `tlsenable=yes`, port 5039); it
//! needs the `tls` feature (`cargo run --features tls --example ami`), and
//! is a failure (2) without it. The server's certificate is checked against
//! the public roots, or the CAs in `--ca FILE`, for the host of `--addr`
//! (or `--server-name`); `--tls-insecure` accepts any certificate (a lab PBX).
//!
//! The logic is in [`run`], so that `tests/ami_cli.rs` can call it.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use asterisk_io::ami::actions::{Command, Login};
use asterisk_io::ami::{
    catalogue, Connection, Error, Input, Keepalive, Manager, ManagerConfig, Message, OwnedMessage,
    RawAction, Reconnect, ResultShape,
};

/// Actions whose answer is bare CLI text (see `ResultShape::Text`): `Queues`
/// of Asterisk 14 and older, which the Asterisk 22 catalogue does not know.
fn name_is_text(name: &str) -> bool {
    name.eq_ignore_ascii_case("Queues")
}

/// Exit status: success.
pub const OK: i32 = 0;
/// Exit status: the server answered `Response: Error`.
pub const SERVER_ERROR: i32 = 1;
/// Exit status: connection, protocol or authentication failure, timeout, or a refused argument.
pub const FAILURE: i32 = 2;

const USAGE: &str = "usage: ami --addr HOST:PORT --user U --secret S [--md5] [--timeout SECS] \
[--tls [--ca FILE] [--server-name NAME] [--tls-insecure]] \
(action NAME [Key=Value ...] [--list] [--raw] | command \"CLI TEXT\" | \
events [NAME ...] [--count N] [--json] [--reconnect] [--keepalive SECS])\n       \
ami decode [--json] [FILE ...]";

/// What to do once logged in.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    Action {
        name: String,
        fields: Vec<(String, String)>,
        list: bool,
        raw: bool,
    },
    Command(String),
    Events {
        names: Vec<String>,
        count: Option<u64>,
        json: bool,
    },
}

#[derive(Debug, PartialEq, Eq)]
struct Opts {
    addr: String,
    user: String,
    secret: String,
    md5: bool,
    timeout: Duration,
    /// Connect again after the link drops (printing `link: ...` lines).
    reconnect: bool,
    /// Ping after this much silence; the link is down when the answer is as late.
    keepalive: Option<Duration>,
    /// AMI over TLS.
    tls: Option<TlsOpts>,
    task: Task,
}

/// `--tls` and its options.
#[derive(Debug, Default, PartialEq, Eq)]
struct TlsOpts {
    ca: Option<String>,
    server_name: Option<String>,
    insecure: bool,
}

fn has_crlf(s: &str) -> bool {
    s.contains(['\r', '\n'])
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut addr = None;
    let mut user = None;
    let mut secret = None;
    let mut md5 = false;
    let mut timeout = Duration::from_secs(10);
    let mut count = None;
    let mut list = false;
    let mut reconnect = false;
    let mut keepalive = None;
    let mut raw = false;
    let mut tls_on = false;
    let mut tls = TlsOpts::default();
    let mut json = false;
    let mut rest: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .map(String::as_str)
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match a.as_str() {
            "--addr" => addr = Some(value("--addr")?.to_string()),
            "--user" => user = Some(value("--user")?.to_string()),
            "--secret" => secret = Some(value("--secret")?.to_string()),
            "--md5" => md5 = true,
            "--list" => list = true,
            "--raw" => raw = true,
            "--json" => json = true,
            "--timeout" => {
                let v = value("--timeout")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("bad --timeout {v:?}"))?;
                timeout = Duration::from_secs_f64(secs);
            }
            "--count" => {
                let v = value("--count")?;
                count = Some(v.parse().map_err(|_| format!("bad --count {v:?}"))?);
            }
            "--reconnect" => reconnect = true,
            "--tls" => tls_on = true,
            "--ca" => tls.ca = Some(value("--ca")?.to_string()),
            "--server-name" => tls.server_name = Some(value("--server-name")?.to_string()),
            "--tls-insecure" => tls.insecure = true,
            "--keepalive" => {
                let v = value("--keepalive")?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("bad --keepalive {v:?}"))?;
                keepalive = Some(Duration::from_secs_f64(secs));
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") && rest.is_empty() => {
                return Err(format!("unknown option {s}"))
            }
            s => rest.push(s),
        }
    }
    let addr = addr.ok_or("--addr is required")?;
    if !tls_on && tls != TlsOpts::default() {
        return Err("--ca, --server-name and --tls-insecure need --tls".into());
    }
    let user = user.ok_or("--user is required")?;
    let secret = secret.ok_or("--secret is required")?;
    for (what, v) in [("--user", &user), ("--secret", &secret)] {
        if has_crlf(v) {
            return Err(format!("{what} contains CR or LF"));
        }
    }
    let task = match rest.split_first() {
        Some((&"action", args)) => {
            let (name, kvs) = args.split_first().ok_or("action needs a NAME")?;
            if name.is_empty() || has_crlf(name) || name.contains(':') {
                return Err(format!("bad action name {name:?}"));
            }
            let mut fields = Vec::new();
            for kv in kvs {
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
            Task::Action {
                name: name.to_string(),
                fields,
                list,
                raw,
            }
        }
        Some((&"command", [text])) => {
            if has_crlf(text) {
                return Err("the CLI text contains CR or LF".into());
            }
            Task::Command(text.to_string())
        }
        Some((&"command", _)) => return Err("command takes one argument: \"CLI TEXT\"".into()),
        Some((&"events", names)) => Task::Events {
            names: names.iter().map(|s| s.to_string()).collect(),
            count,
            json,
        },
        Some((other, _)) => return Err(format!("unknown command {other:?}")),
        None => return Err("no command given".into()),
    };
    Ok(Opts {
        addr,
        user,
        secret,
        md5,
        timeout,
        reconnect,
        keepalive,
        tls: tls_on.then_some(tls),
        task,
    })
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

/// `decode [--json] [FILE ...]` anywhere after the connection options:
/// `Some((json, files))`.
fn decode_args(args: &[String]) -> Option<Result<(bool, Vec<String>), String>> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--addr" | "--user" | "--secret" | "--timeout" | "--count" => {
                it.next();
            }
            "decode" => {
                let mut json = false;
                let mut files = Vec::new();
                for a in it.by_ref() {
                    match a.as_str() {
                        "--json" => json = true,
                        s if s.starts_with("--") => {
                            return Some(Err(format!("decode: unknown option {s}")))
                        }
                        s => files.push(s.to_owned()),
                    }
                }
                return Some(Ok((json, files)));
            }
            s if s.starts_with("--") => {}
            _ => return None,
        }
    }
    None
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
fn decode(json: bool, files: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
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

/// Runs the command line `args` (without the program name), printing to
/// `out` and `err`; returns the exit status.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    match decode_args(args) {
        Some(Ok((json, files))) => return decode(json, &files, out, err),
        Some(Err(msg)) => {
            let _ = writeln!(err, "ami: {msg}\n{USAGE}");
            return FAILURE;
        }
        None => {}
    }
    let opts = match parse(args) {
        Ok(o) => o,
        Err(msg) => {
            if !msg.is_empty() {
                let _ = writeln!(err, "ami: {msg}");
            }
            let _ = writeln!(err, "{USAGE}");
            return FAILURE;
        }
    };
    if matches!(opts.task, Task::Events { json: true, .. }) && !cfg!(feature = "serde") {
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
            let mut action = RawAction::new(name);
            for (k, v) in fields {
                action = action.field(k, v);
            }
            action = if list {
                action.list()
            } else {
                action.with_shape(shape)
            };
            let text = shape.is_text();
            match mgr.call(&action, opts.timeout) {
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
        Task::Command(text) => match mgr.call(&Command::new(text), opts.timeout) {
            Ok(output) => {
                for line in &output.lines {
                    let _ = writeln!(out, "{line}");
                }
                OK
            }
            Err(e) => failure(err, &e),
        },
        Task::Events { names, count, json } => {
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
                let _ = print_message(&mut block, ev.message(), json);
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

#[allow(dead_code)] // `tests/ami_cli.rs` includes this file as a module.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = run(&args, &mut std::io::stdout().lock(), &mut std::io::stderr());
    std::process::exit(code);
}
