//! `astemu`: a fake Asterisk 22 manager interface any client, in any
//! language, can be tested against.
//!
//! ```text
//! astemu --listen 127.0.0.1:PORT [--user NAME:SECRET[:READ:WRITE]]...
//!        [--script FILE] [--fault SPEC]... [--auth-delay SECS] [--app-duration SECS]
//! astemu record --upstream HOST:PORT --listen ADDR --out FILE   (not available yet)
//! astemu --replay FILE ...                                       (not available yet)
//! ```
//!
//! Without `--user` there is one user, `admin`/`secret`, with every
//! permission. Once listening it prints `listening ADDR` on stdout (port 0
//! picks a free port), so a test can start it and read the address. See
//! `docs/emulator.md` for the script format and the fault syntax.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use asterisk_io::emu::{script, Emulator, EmulatorConfig, Fault};

const USAGE: &str = "usage: astemu --listen ADDR [--user NAME:SECRET[:READ:WRITE]]... \
[--script FILE] [--fault SPEC]... [--auth-delay SECS] [--app-duration SECS]
       astemu record --upstream HOST:PORT --listen ADDR --out FILE
       astemu --replay FILE --listen ADDR";

/// What the command line asks for.
#[derive(Debug)]
enum Mode {
    /// Serve the emulator.
    Serve(Serve),
    /// The recording proxy: the arguments after `record`.
    Record(Vec<String>),
    /// Serve a recorded transcript.
    Replay { file: PathBuf, serve: Serve },
}

/// `--user NAME:SECRET[:READ:WRITE]`.
type User = (String, String, Option<(String, String)>);

#[derive(Debug, Default)]
struct Serve {
    listen: Option<SocketAddr>,
    users: Vec<User>,
    script: Option<PathBuf>,
    faults: Vec<Fault>,
    auth_delay: Option<Duration>,
    app_duration: Option<Duration>,
}

fn parse_args(args: &[String]) -> Result<Mode, String> {
    if args.first().map(String::as_str) == Some("record") {
        return Ok(Mode::Record(args[1..].to_vec()));
    }
    let mut serve = Serve::default();
    let mut replay = None;
    let mut it = args.iter();
    let secs = |v: &str| -> Result<Duration, String> {
        v.parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("not a number of seconds: {v}"))
    };
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--listen" => {
                let v = value()?;
                serve.listen = Some(v.parse().map_err(|_| format!("bad address {v}"))?);
            }
            "--user" => {
                let v = value()?;
                let parts: Vec<&str> = v.splitn(4, ':').collect();
                match parts[..] {
                    [name, secret] if !name.is_empty() => {
                        serve.users.push((name.into(), secret.into(), None))
                    }
                    [name, secret, read, write] if !name.is_empty() => serve.users.push((
                        name.into(),
                        secret.into(),
                        Some((read.into(), write.into())),
                    )),
                    _ => return Err(format!("--user wants NAME:SECRET[:READ:WRITE], got {v}")),
                }
            }
            "--script" => serve.script = Some(PathBuf::from(value()?)),
            "--fault" => {
                let v = value()?;
                serve
                    .faults
                    .push(Fault::parse(&v).map_err(|e| e.to_string())?);
            }
            "--auth-delay" => serve.auth_delay = Some(secs(&value()?)?),
            "--app-duration" => serve.app_duration = Some(secs(&value()?)?),
            "--replay" => replay = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(match replay {
        Some(file) => Mode::Replay { file, serve },
        None => Mode::Serve(serve),
    })
}

fn config(serve: &Serve) -> Result<EmulatorConfig, String> {
    let mut config = EmulatorConfig::default();
    if serve.users.is_empty() {
        config = config.user("admin", "secret");
    }
    for (name, secret, classes) in &serve.users {
        config = match classes {
            Some((read, write)) => config.user_with_classes(name, secret, read, write),
            None => config.user(name, secret),
        };
    }
    if let Some(path) = &serve.script {
        config = script::load(path, config).map_err(|e| e.to_string())?;
    }
    for f in &serve.faults {
        config = config.fault(f.clone());
    }
    if let Some(d) = serve.auth_delay {
        config = config.auth_failure_delay(d);
    }
    if let Some(d) = serve.app_duration {
        config = config.app_duration(d);
    }
    Ok(config)
}

fn run(serve: Serve) -> Result<(), String> {
    let listen = serve
        .listen
        .ok_or_else(|| "--listen ADDR is required".to_owned())?;
    let config = config(&serve)?;
    let mut emu = Emulator::bind(listen, config).map_err(|e| format!("listen on {listen}: {e}"))?;
    let addr = emu.local_addr().map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {addr}").map_err(|e| e.to_string())?;
    stdout.flush().map_err(|e| e.to_string())?;
    loop {
        emu.poll(None).map_err(|e| e.to_string())?;
    }
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
    match mode {
        Mode::Serve(serve) => match run(serve) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("astemu: {e}");
                ExitCode::from(1)
            }
        },
        // The recording proxy and replay come with the record/replay
        // library API; the parser already sorts their arguments out.
        Mode::Record(args) => not_yet("record", &args.join(" ")),
        Mode::Replay { file, serve } => {
            let _ = serve;
            not_yet("--replay", &file.display().to_string())
        }
    }
}

fn not_yet(what: &str, detail: &str) -> ExitCode {
    eprintln!("astemu: {what} is not available yet ({detail})");
    println!("not available yet");
    ExitCode::from(2)
}
