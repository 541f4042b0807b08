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
//! The logic is in [`run`], so that `tests/ami_cli.rs` can call it. What
//! happens after the command line is read is shared with the `ami` binary
//! (`cargo install asterisk-io --features cli`), in `src/bin/ami/client.rs`.

use std::io::Write;
use std::time::Duration;

#[allow(dead_code)] // The `ami` binary uses all of it.
#[path = "../src/bin/ami/client.rs"]
mod client;

use client::{
    action_task, check_credentials, command_task, decode, execute, EventFormat, Opts, Task, TlsOpts,
};
#[allow(unused_imports)] // Some of the files that include this one use them.
pub use client::{FAILURE, OK, SERVER_ERROR};

const USAGE: &str = "usage: ami --addr HOST:PORT --user U --secret S [--md5] [--timeout SECS] \
[--tls [--ca FILE] [--server-name NAME] [--tls-insecure]] \
(action NAME [Key=Value ...] [--list] [--raw] | command \"CLI TEXT\" | \
events [NAME ...] [--count N] [--json] [--reconnect] [--keepalive SECS])\n       \
ami decode [--json] [FILE ...]";

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
    check_credentials(&user, &secret)?;
    let task = match rest.split_first() {
        Some((&"action", args)) => {
            let (name, kvs) = args.split_first().ok_or("action needs a NAME")?;
            action_task(name, kvs, list, raw)?
        }
        Some((&"command", [text])) => command_task(text)?,
        Some((&"command", _)) => return Err("command takes one argument: \"CLI TEXT\"".into()),
        Some((&"events", names)) => Task::Events {
            names: names.iter().map(|s| s.to_string()).collect(),
            count,
            format: if json {
                EventFormat::Json
            } else {
                EventFormat::Block
            },
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
        progress: false,
        task,
    })
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
    execute(opts, out, err)
}

#[allow(dead_code)] // `tests/ami_cli.rs` includes this file as a module.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = run(&args, &mut std::io::stdout().lock(), &mut std::io::stderr());
    std::process::exit(code);
}
