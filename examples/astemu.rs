//! `astemu`: a fake Asterisk 22 manager interface any client, in any
//! language, can be tested against; also the recording proxy and replay.
//!
//! ```text
//! astemu --listen 127.0.0.1:PORT [--user NAME:SECRET[:READ:WRITE]]...
//!        [--script FILE] [--fault SPEC]... [--auth-delay SECS] [--app-duration SECS]
//! astemu record --upstream HOST:PORT --listen ADDR --out FILE
//! astemu --replay FILE --listen ADDR [--timing keep|drop|FACTOR]
//! ```
//!
//! Without `--user` there is one user, `admin`/`secret`, with every
//! permission. Once listening it prints `listening ADDR` on stdout (port 0
//! picks a free port), so a test can start it and read the address. See
//! `docs/emulator.md` for the script format, the fault syntax and the
//! transcript format. The same tool is installed as a binary with
//! `cargo install asterisk-io --features cli`.

#[path = "../src/bin/astemu/serve.rs"]
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use asterisk_io::emu::replay::Timing;
use asterisk_io::emu::Fault;
use serve::Serve;

const USAGE: &str = "usage: astemu --listen ADDR [--user NAME:SECRET[:READ:WRITE]]... \
[--script FILE] [--fault SPEC]... [--auth-delay SECS] [--app-duration SECS]
       astemu record --upstream HOST:PORT --listen ADDR --out FILE
       astemu --replay FILE --listen ADDR [--timing keep|drop|FACTOR]  (default keep)";

/// What the command line asks for.
enum Mode {
    Serve(Serve),
    Record {
        serve: Serve,
        upstream: std::net::SocketAddr,
        out: PathBuf,
    },
    Replay {
        serve: Serve,
        file: PathBuf,
        timing: Timing,
    },
}

fn parse_args(args: &[String]) -> Result<Mode, String> {
    let recording = args.first().map(String::as_str) == Some("record");
    let args = if recording { &args[1..] } else { args };
    let mut s = Serve::default();
    let (mut replay, mut upstream, mut out, mut timing) = (None, None, None, Timing::Keep);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--listen" => s.listen = Some(serve::address(&value()?)?),
            "--user" => s.users.push(value()?.parse()?),
            "--script" => s.script = Some(PathBuf::from(value()?)),
            "--fault" => s
                .faults
                .push(Fault::parse(&value()?).map_err(|e| e.to_string())?),
            "--auth-delay" => s.auth_delay = Some(serve::secs(&value()?)?),
            "--app-duration" => s.app_duration = Some(serve::secs(&value()?)?),
            "--replay" => replay = Some(PathBuf::from(value()?)),
            "--timing" => timing = value()?.parse()?,
            "--upstream" if recording => upstream = Some(serve::address(&value()?)?),
            "--out" if recording => out = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if recording {
        let upstream = upstream.ok_or("record needs --upstream HOST:PORT")?;
        let out = out.ok_or("record needs --out FILE")?;
        return Ok(Mode::Record {
            serve: s,
            upstream,
            out,
        });
    }
    Ok(match replay {
        Some(file) => Mode::Replay {
            serve: s,
            file,
            timing,
        },
        None => Mode::Serve(s),
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match parse_args(&args) {
        Ok(m) => m,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("astemu: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let done = match mode {
        Mode::Serve(s) => serve::serve(s),
        Mode::Record {
            serve: s,
            upstream,
            out,
        } => serve::record(s.listen, upstream, &out),
        Mode::Replay {
            serve: s,
            file,
            timing,
        } => serve::replay(s.listen, &file, timing),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("astemu: {e}");
            ExitCode::from(1)
        }
    }
}
