//! Third-party clients against the emulator: panoramisk and pyst2 (PyPI)
//! scripts in `tests/peers/` log in, ping, run a command, use the AstDB and
//! originate a call, watching its events. Each is skipped (with a note)
//! when `python3` or the package is missing; nothing is installed here.
//!
//! The scripts talk to the `astemu` example binary when `cargo test` has
//! built it (`target/*/examples/astemu`), else to the same emulator run in
//! this process with astemu's defaults.

mod emu_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use asterisk_io::emu::EmulatorConfig;
use emu_support::EmuThread;

fn has_python_module(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn astemu_binary() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    ["debug", "release"]
        .iter()
        .map(|p| target.join(p).join("examples").join("astemu"))
        .find(|p| p.is_file())
}

enum Server {
    Binary(Child),
    /// Stops the emulator when dropped.
    InProcess(#[allow(dead_code)] EmuThread),
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Server::Binary(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start() -> (Server, u16) {
    if let Some(bin) = astemu_binary() {
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening 127.0.0.1:")
            .unwrap_or_else(|| panic!("astemu printed {line:?}"))
            .parse()
            .unwrap();
        return (Server::Binary(child), port);
    }
    let emu = EmuThread::start(|| EmulatorConfig::default().user("admin", "secret"));
    let port = emu.addr.port();
    (Server::InProcess(emu), port)
}

fn run_peer(module: &str, script: &str) {
    if !has_python_module(module) {
        eprintln!("python3 or {module} missing: {script} skipped");
        return;
    }
    let (server, port) = start();
    let kind = match server {
        Server::Binary(_) => "astemu binary",
        Server::InProcess(_) => "in-process emulator",
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script);
    let out = Command::new("python3")
        .arg(&path)
        .arg(port.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} against the {kind} failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{} (against the {kind})", stdout.trim());
    drop(server);
}

#[test]
fn panoramisk_works_against_the_emulator() {
    run_peer("panoramisk", "panoramisk_check.py");
}

#[test]
fn pyst2_works_against_the_emulator() {
    run_peer("asterisk.manager", "pyst_check.py");
}
