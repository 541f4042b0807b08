//! `ami`: talk to an Asterisk manager from the shell.
//!
//! Installed with `cargo install asterisk-io --features cli` (add `tls` for
//! `--tls`). `ami --help` and `ami SUBCOMMAND --help` say how to use it.
//!
//! Exit status: 0 success; 1 the PBX answered `Response: Error`; 2 a
//! connection, protocol or authentication failure, a timeout, or bad usage.
//!
//! Credentials, each of address, user and secret taken from the first that
//! has it: (1) the command line (`--addr`, `--user`, `--secret-file`, or
//! `--secret`, which other users can see in `ps`); (2) the profile named with
//! `--profile NAME`; (3) the environment (`AMI_ADDR`, `AMI_USER`,
//! `AMI_SECRET`); (4) the default profile of the profile file (see
//! `profile.rs`). The secret is never printed.

mod client;
mod profile;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use client::{EventFormat, Opts, Task, TlsOpts, FAILURE};

const AFTER_HELP: &str = "\
Credentials (first found wins, for each of address, user and secret):
  1. --addr, --user, --secret-file (or --secret, visible in ps)
  2. the profile named with --profile NAME
  3. the environment: AMI_ADDR, AMI_USER, AMI_SECRET
  4. the default profile of ~/.config/asterisk-io/ami.toml
     ($XDG_CONFIG_HOME/asterisk-io/ami.toml when that is set)

Exit status: 0 success, 1 the PBX answered Response: Error,
2 connection, protocol or authentication failure, timeout, or bad usage.";

/// Talk to an Asterisk manager (AMI): send actions, run CLI commands, watch events.
#[derive(Parser, Debug)]
#[command(name = "ami", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(flatten, next_help_heading = "Connection")]
    conn: Connect,
    #[command(subcommand)]
    command: Sub,
}

/// How to reach and log in to the PBX.
#[derive(Args, Debug)]
struct Connect {
    /// The manager's HOST:PORT (Asterisk listens on 5038, 5039 for TLS).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// The manager user (a section of manager.conf).
    #[arg(long, global = true)]
    user: Option<String>,
    /// Read the secret from the first line of FILE.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "secret")]
    secret_file: Option<PathBuf>,
    /// The secret itself: other users can see it in `ps`; prefer --secret-file.
    #[arg(long, global = true)]
    secret: Option<String>,
    /// A named PBX of ~/.config/asterisk-io/ami.toml.
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    /// Log in with the MD5 challenge instead of the plain secret.
    #[arg(long, global = true)]
    md5: bool,
    /// Seconds to wait for the login and for each answer.
    #[arg(long, global = true, value_name = "SECS", default_value = "10", value_parser = seconds)]
    timeout: Duration,
    /// AMI over TLS (Asterisk's tlsenable=yes); needs the `tls` feature.
    #[arg(long, global = true)]
    tls: bool,
    /// With --tls: trust the CAs in this PEM file instead of the public roots.
    #[arg(long, global = true, value_name = "FILE")]
    ca: Option<String>,
    /// With --tls: the name the certificate must carry (default: the host of --addr).
    #[arg(long, global = true, value_name = "NAME")]
    server_name: Option<String>,
    /// With --tls: accept any certificate (a lab PBX only).
    #[arg(long, global = true)]
    tls_insecure: bool,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// Send an action; print the response, then any list items, as Key: Value blocks.
    ///
    /// The action is checked against the catalogue of Asterisk 22 first: a missing
    /// required parameter is refused (nothing is sent), an unknown one is a warning.
    Action {
        /// The action's name (Ping, Originate, QueueStatus, ...).
        name: String,
        /// Its fields; repeat a key to repeat the field (Variable=a=1 Variable=b=2).
        #[arg(value_name = "KEY=VALUE")]
        fields: Vec<String>,
        /// Collect list items even if the catalogue does not call it a list action.
        #[arg(long)]
        list: bool,
        /// Skip the catalogue check (for the day the documentation is wrong).
        #[arg(long)]
        raw: bool,
    },
    /// Run a CLI command ("core show channels") and print its output.
    Command {
        /// The CLI text, as typed at the Asterisk console.
        text: String,
    },
    /// Print events as they come: one line each on a terminal, blocks in a pipe.
    Events {
        /// Only events of these names (case ignored); all when none.
        names: Vec<String>,
        /// Stop after N events.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// One JSON object per event.
        #[arg(long, conflicts_with = "full")]
        json: bool,
        /// Full Key: Value blocks, also on a terminal.
        #[arg(long)]
        full: bool,
        /// Survive PBX restarts: connect again, printing `link: ...` on stderr.
        #[arg(long)]
        reconnect: bool,
        /// Ping after SECS of silence; the link is down if the answer takes as long.
        #[arg(long, value_name = "SECS", value_parser = seconds)]
        keepalive: Option<Duration>,
    },
    /// Print every message of raw AMI bytes (files, or stdin), connecting nowhere.
    Decode {
        /// One JSON object per message.
        #[arg(long)]
        json: bool,
        /// Files of bytes as Asterisk sent them (the greeting line is optional).
        files: Vec<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// A positive number of seconds.
fn seconds(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{v:?} is not a positive number of seconds"))
}

/// Address, user and secret from the command line, the environment and the
/// profile file, in the documented order.
fn credentials(c: &Connect) -> Result<(String, String, String, profile::Profile), String> {
    let path = profile::default_path();
    let profiles = match &path {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let dir = p.parent().unwrap_or(p);
            let parsed = profile::parse(&text, dir).map_err(|e| format!("{}: {e}", p.display()))?;
            if parsed.holds_secret {
                profile::warn_if_shared(p, "secrets");
            }
            Some(parsed)
        }
        _ => None,
    };
    let named = match &c.profile {
        Some(name) => {
            let where_ = path
                .as_ref()
                .map_or("the profile file".into(), |p| p.display().to_string());
            let found = profiles.as_ref().and_then(|ps| ps.by_name.get(name));
            Some(
                found
                    .cloned()
                    .ok_or_else(|| format!("no profile {name:?} in {where_}"))?,
            )
        }
        None => None,
    };
    let default = match (&c.profile, &profiles) {
        (None, Some(ps)) => ps.default_profile().cloned(),
        _ => None,
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let from_profile_secret = |p: &profile::Profile| -> Option<Result<String, String>> {
        match (&p.secret, &p.secret_file) {
            (Some(s), _) => Some(Ok(s.clone())),
            (None, Some(f)) => Some(profile::read_secret(f)),
            (None, None) => None,
        }
    };
    let addr = c
        .addr
        .clone()
        .or_else(|| named.as_ref().and_then(|p| p.addr.clone()))
        .or_else(|| env("AMI_ADDR"))
        .or_else(|| default.as_ref().and_then(|p| p.addr.clone()))
        .ok_or("no address: give --addr, a --profile, or AMI_ADDR")?;
    let user = c
        .user
        .clone()
        .or_else(|| named.as_ref().and_then(|p| p.user.clone()))
        .or_else(|| env("AMI_USER"))
        .or_else(|| default.as_ref().and_then(|p| p.user.clone()))
        .ok_or("no user: give --user, a --profile, or AMI_USER")?;
    let secret = match (&c.secret, &c.secret_file) {
        (Some(s), _) => Ok(s.clone()),
        (None, Some(f)) => profile::read_secret(f),
        (None, None) => named
            .as_ref()
            .and_then(from_profile_secret)
            .or_else(|| env("AMI_SECRET").map(Ok))
            .or_else(|| default.as_ref().and_then(from_profile_secret))
            .unwrap_or_else(|| {
                Err("no secret: give --secret-file, a --profile, or AMI_SECRET".to_string())
            }),
    }?;
    client::check_credentials(&user, &secret)?;
    Ok((addr, user, secret, named.or(default).unwrap_or_default()))
}

fn run(cli: Cli) -> i32 {
    let (out, err) = (&mut std::io::stdout().lock(), &mut std::io::stderr());
    let (list, raw) = match &cli.command {
        Sub::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "ami", out);
            return client::OK;
        }
        Sub::Decode { json, files } => return client::decode(*json, files, out, err),
        Sub::Action { list, raw, .. } => (*list, *raw),
        _ => (false, false),
    };
    let fail = |err: &mut dyn Write, msg: String| {
        let _ = writeln!(err, "ami: {msg}");
        FAILURE
    };
    let c = &cli.conn;
    let (addr, user, secret, prof) = match credentials(c) {
        Ok(v) => v,
        Err(msg) => return fail(err, msg),
    };
    let tls_on = c.tls || prof.tls == Some(true);
    let tls = TlsOpts {
        ca: c.ca.clone().or(prof.ca),
        server_name: c.server_name.clone().or(prof.server_name),
        insecure: c.tls_insecure || prof.tls_insecure == Some(true),
    };
    if !tls_on && tls != TlsOpts::default() {
        return fail(
            err,
            "--ca, --server-name and --tls-insecure need --tls".into(),
        );
    }
    let (mut reconnect, mut keepalive) = (false, None);
    let task = match cli.command {
        Sub::Action { name, fields, .. } => client::action_task(&name, &fields, list, raw),
        Sub::Command { text } => client::command_task(&text),
        Sub::Events {
            names,
            count,
            json,
            full,
            reconnect: r,
            keepalive: k,
        } => {
            (reconnect, keepalive) = (r, k);
            let format = if json {
                EventFormat::Json
            } else if full || !std::io::stdout().is_terminal() {
                EventFormat::Block
            } else {
                EventFormat::Line
            };
            Ok(Task::Events {
                names,
                count,
                format,
            })
        }
        Sub::Decode { .. } | Sub::Completions { .. } => unreachable!("handled above"),
    };
    let task = match task {
        Ok(t) => t,
        Err(msg) => return fail(err, msg),
    };
    let opts = Opts {
        addr,
        user,
        secret,
        md5: c.md5 || prof.md5 == Some(true),
        timeout: c.timeout,
        reconnect,
        keepalive,
        tls: tls_on.then_some(tls),
        progress: client::stderr_is_terminal(),
        task,
    };
    client::execute(opts, out, err)
}

fn main() -> ExitCode {
    let code = run(Cli::parse());
    ExitCode::from(code as u8)
}
