//! What `astemu` runs once its command line is read: the emulator, the
//! recording proxy, or a replay. Shared by the `astemu` binary (feature
//! `cli`) and `examples/astemu.rs`, which includes this file.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use asterisk_io::emu::record::RecordingProxy;
use asterisk_io::emu::replay::{ReplayServer, Timing};
use asterisk_io::emu::{script, Emulator, EmulatorConfig, Fault};

/// `--user NAME:SECRET[:READ:WRITE]`.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub secret: String,
    /// Read and write permission classes (all of them when absent).
    pub classes: Option<(String, String)>,
}

impl std::str::FromStr for User {
    type Err = String;

    fn from_str(v: &str) -> Result<User, String> {
        let parts: Vec<&str> = v.splitn(4, ':').collect();
        let user = |name: &str, secret: &str, classes| User {
            name: name.into(),
            secret: secret.into(),
            classes,
        };
        match parts[..] {
            [name, secret] if !name.is_empty() => Ok(user(name, secret, None)),
            [name, secret, read, write] if !name.is_empty() => {
                Ok(user(name, secret, Some((read.into(), write.into()))))
            }
            _ => Err(format!("--user wants NAME:SECRET[:READ:WRITE], got {v}")),
        }
    }
}

/// How the emulator is set up.
#[derive(Debug, Default)]
pub struct Serve {
    pub listen: Option<SocketAddr>,
    pub users: Vec<User>,
    pub script: Option<PathBuf>,
    pub faults: Vec<Fault>,
    pub auth_delay: Option<Duration>,
    pub app_duration: Option<Duration>,
}

/// A number of seconds (`0.5`, `2`).
pub fn secs(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("not a number of seconds: {v}"))
}

/// `HOST:PORT`, resolved.
pub fn address(v: &str) -> Result<SocketAddr, String> {
    v.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("bad address {v}"))
}

fn config(serve: &Serve) -> Result<EmulatorConfig, String> {
    let mut config = EmulatorConfig::default();
    if serve.users.is_empty() {
        config = config.user("admin", "secret");
    }
    for u in &serve.users {
        config = match &u.classes {
            Some((read, write)) => config.user_with_classes(&u.name, &u.secret, read, write),
            None => config.user(&u.name, &u.secret),
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

/// Prints `listening ADDR` on stdout, flushed: scripts read it.
fn announce(addr: SocketAddr) -> Result<(), String> {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {addr}").map_err(|e| e.to_string())?;
    stdout.flush().map_err(|e| e.to_string())
}

fn required(listen: Option<SocketAddr>) -> Result<SocketAddr, String> {
    listen.ok_or_else(|| "--listen ADDR is required".to_owned())
}

/// Serves the emulator until killed.
pub fn serve(serve: Serve) -> Result<(), String> {
    let listen = required(serve.listen)?;
    let config = config(&serve)?;
    let mut emu = Emulator::bind(listen, config).map_err(|e| format!("listen on {listen}: {e}"))?;
    announce(emu.local_addr().map_err(|e| e.to_string())?)?;
    loop {
        emu.poll(None).map_err(|e| e.to_string())?;
    }
}

/// The recording proxy: passes every connection to `upstream` and writes
/// them all to the transcript `out`, until killed.
pub fn record(listen: Option<SocketAddr>, upstream: SocketAddr, out: &Path) -> Result<(), String> {
    let listen = required(listen)?;
    let proxy = RecordingProxy::create(listen, upstream, out)
        .map_err(|e| format!("record on {listen} to {}: {e}", out.display()))?;
    announce(proxy.local_addr().map_err(|e| e.to_string())?)?;
    proxy.run().map_err(|e| e.to_string())
}

/// Serves the transcript `file` to successive client connections; each
/// request the recording does not have is reported on stderr.
pub fn replay(listen: Option<SocketAddr>, file: &Path, timing: Timing) -> Result<(), String> {
    let listen = required(listen)?;
    let server = ReplayServer::open(listen, file, timing)
        .map_err(|e| format!("replay {}: {e}", file.display()))?;
    announce(server.local_addr().map_err(|e| e.to_string())?)?;
    server
        .run_with(|m| eprintln!("astemu: {m}"))
        .map_err(|e| e.to_string())
}
