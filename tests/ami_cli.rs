//! The `ami` example's command line against the emulator: output and exit
//! status. The CLI logic (`run`) is included from `examples/ami.rs`; the
//! emulator runs on a test thread. The built binary is also run once if
//! `cargo test` built it (it does, with examples), to check real exit codes.

#[allow(dead_code)]
#[path = "../examples/ami.rs"]
mod ami;

use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

struct Emu {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Emu {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An emulator on its own thread; `events` are emitted every 20 ms.
fn emulator(events: bool) -> Emu {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let config = EmulatorConfig::default()
            .user("admin", "s3cret")
            .script(
                "CoreShowChannels",
                ScriptedReply::success(&[("Message", "Channels will follow")]).list(
                    "CoreShowChannelsComplete",
                    "CoreShowChannel",
                    &[
                        &[("Channel", "PJSIP/100-00000001"), ("Application", "Dial")],
                        &[("Channel", "PJSIP/200-00000002"), ("Application", "Queue")],
                    ],
                ),
            )
            .script(
                "Setvar",
                ScriptedReply::success(&[("Message", "Variable Set")]),
            )
            .script(
                "QueueAdd",
                ScriptedReply::error("Unable to add interface: Already there"),
            );
        let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
        tx.send(emu.local_addr().unwrap()).unwrap();
        let mut n = 0u32;
        while !flag.load(Ordering::Relaxed) {
            emu.poll(Some(Duration::from_millis(20))).unwrap();
            if events {
                n += 1;
                let seq = n.to_string();
                let name = if n % 2 == 0 { "Newchannel" } else { "VarSet" };
                emu.emit_event(name, &[("Channel", "PJSIP/100-00000001"), ("Seq", &seq)]);
            }
        }
    });
    let addr = rx.recv().unwrap();
    Emu {
        addr,
        stop,
        thread: Some(thread),
    }
}

fn cli(emu: &Emu, rest: &[&str]) -> (i32, String, String) {
    cli_as(emu, "s3cret", rest)
}

fn cli_as(emu: &Emu, secret: &str, rest: &[&str]) -> (i32, String, String) {
    cli_with(emu.addr, secret, rest)
}

/// Runs the command line against `addr` as `admin` with `secret`.
fn cli_with(addr: SocketAddr, secret: &str, rest: &[&str]) -> (i32, String, String) {
    let addr = addr.to_string();
    let mut args: Vec<String> = ["--addr", &addr, "--user", "admin", "--secret", secret]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(rest.iter().map(|s| s.to_string()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ami::run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn action_success_prints_the_response() {
    let emu = emulator(false);
    let (code, out, err) = cli(&emu, &["action", "Ping"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Response: Success\n"), "{out}");
    assert!(out.contains("Ping: Pong"), "{out}");
    assert!(out.ends_with("\n\n"), "{out:?}");
}

#[test]
fn list_action_prints_items_as_blocks() {
    let emu = emulator(false);
    let (code, out, err) = cli(&emu, &["--md5", "action", "coreshowchannels"]);
    assert_eq!(code, 0, "{err}");
    let blocks: Vec<&str> = out.trim_end().split("\n\n").collect();
    assert_eq!(blocks.len(), 4, "{out}");
    assert!(blocks[0].contains("EventList: start"), "{out}");
    assert!(blocks[1].contains("Event: CoreShowChannel\n"), "{out}");
    assert!(blocks[1].contains("Channel: PJSIP/100-00000001"), "{out}");
    assert!(blocks[2].contains("Channel: PJSIP/200-00000002"), "{out}");
    assert!(blocks[3].contains("CoreShowChannelsComplete"), "{out}");
}

#[test]
fn fields_and_errors() {
    let emu = emulator(false);
    let (code, out, _) = cli(
        &emu,
        &[
            "action",
            "Setvar",
            "Variable=FOO",
            "Value=a=b c",
            "Channel=X",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("Message: Variable Set"), "{out}");
    // Response: Error -> 1 and its Message on stderr.
    let (code, out, err) = cli(
        &emu,
        &["action", "QueueAdd", "Queue=support", "Interface=PJSIP/100"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(err.trim(), "error: Unable to add interface: Already there");
    assert!(out.contains("Response: Error"), "{out}");
    // Refused arguments -> 2, nothing sent.
    for bad in [
        &["action", "Setvar", "Variable=A\r\nAction: Logoff"][..],
        &["action", "Setvar", "Value=x\ny"][..],
        &["action", "Setvar", "NoEquals"][..],
        &["command", "core show\r\nversion"][..],
        &["bogus"][..],
        &[][..],
    ] {
        let (code, out, err) = cli(&emu, bad);
        assert_eq!(code, 2, "{bad:?}: {out}{err}");
        assert!(out.is_empty());
    }
}

#[test]
fn catalogue_refuses_a_missing_parameter_before_connecting() {
    // Nobody listens here: a refusal that names the parameter (and not a
    // connection error) shows that nothing was even connected.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let run = |rest: &[&str]| {
        let mut args: Vec<String> = ["--addr", &addr, "--user", "a", "--secret", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(rest.iter().map(|s| s.to_string()));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = ami::run(&args, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    let (code, out, err) = run(&["action", "queueadd", "Queue=support"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(
        err.trim(),
        "ami: QueueAdd needs the parameter Interface (--raw sends it anyway)"
    );
    // --raw goes on to connect (and fails to, here).
    let (code, _, err) = run(&["action", "QueueAdd", "Queue=support", "--raw"]);
    assert_eq!(code, 2);
    assert!(!err.contains("needs the parameter"), "{err}");
}

#[test]
fn catalogue_warnings_and_shapes() {
    let emu = emulator(false);
    // An undocumented parameter is a warning; the action is still sent.
    let (code, out, err) = cli(&emu, &["action", "Ping", "Colour=blue"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Ping: Pong"), "{out}");
    assert_eq!(
        err.trim(),
        "ami: warning: Ping does not document the parameter Colour"
    );
}

#[test]
fn auth_and_connection_failures_are_2() {
    let emu = emulator(false);
    let (code, _, err) = cli_as(&emu, "wrong", &["action", "Ping"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("authentication"), "{err}");
    let (code, _, err) = cli_as(&emu, "wrong", &["--md5", "action", "Ping"]);
    assert_eq!(code, 2, "{err}");
    // Nobody listens here any more.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let args: Vec<String> = [
        "--addr",
        &addr,
        "--user",
        "a",
        "--secret",
        "b",
        "--timeout",
        "2",
        "action",
        "Ping",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(ami::run(&args, &mut out, &mut err), 2);
}

#[test]
fn command_prints_output_lines() {
    let emu = emulator(false);
    let (code, out, err) = cli(&emu, &["command", "core show version"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Asterisk 22.10.1 (asterisk-io emulator)\n");
}

#[test]
fn events_until_count() {
    let emu = emulator(true);
    let (code, out, err) = cli(&emu, &["events", "newchannel", "--count", "3"]);
    assert_eq!(code, 0, "{err}");
    let blocks: Vec<&str> = out.trim_end().split("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{out}");
    assert!(
        blocks.iter().all(|b| b.starts_with("Event: Newchannel\n")),
        "{out}"
    );
    let (code, out, _) = cli(&emu, &["events", "--count", "2"]);
    assert_eq!(code, 0);
    assert_eq!(out.matches("Event: ").count(), 2, "{out}");
}

/// The built example binary, if `cargo test` built it: real exit codes.
#[test]
fn binary_exit_codes() {
    let target = option_env!("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
    let bin = target.join("debug/examples/ami");
    if !bin.exists() {
        eprintln!("skipped: {} not built", bin.display());
        return;
    }
    let emu = emulator(false);
    let addr = emu.addr.to_string();
    let run = |rest: &[&str]| {
        std::process::Command::new(&bin)
            .args(["--addr", &addr, "--user", "admin", "--secret", "s3cret"])
            .args(rest)
            .output()
            .unwrap()
    };
    let ok = run(&["action", "Ping"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Ping: Pong"));
    // A required parameter missing: refused before sending, unless --raw.
    let missing = run(&["action", "QueueAdd"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("Queue"));
    assert_eq!(run(&["action", "QueueAdd", "--raw"]).status.code(), Some(1));
    assert_eq!(
        run(&["action", "Setvar", "Value=a\rb"]).status.code(),
        Some(2)
    );
}

/// A server that speaks like an old Asterisk: answers the login, then each
/// further request with the next canned reply (`@ID` is its ActionID).
fn old_asterisk(greeting: &'static str, replies: Vec<&'static str>) -> SocketAddr {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut w = stream.try_clone().unwrap();
        w.write_all(greeting.as_bytes()).unwrap();
        let mut r = BufReader::new(stream);
        let mut replies = replies.into_iter();
        let mut first = true;
        loop {
            // One request: lines up to a blank one.
            let mut id = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("ActionID: ") {
                    id = v.to_owned();
                }
            }
            let reply = if std::mem::take(&mut first) {
                "Response: Success\r\nActionID: @ID\r\nMessage: Authentication accepted\r\n\r\n"
            } else {
                match replies.next() {
                    Some(reply) => reply,
                    None => return,
                }
            };
            w.write_all(reply.replace("@ID", &id).as_bytes()).unwrap();
        }
    });
    addr
}

fn cli_at(addr: SocketAddr, rest: &[&str]) -> (i32, String, String) {
    cli_with(addr, "x", rest)
}

/// Asterisk 11 answers `QueueStatus` with no `EventList` headers: every
/// item still comes out, then the terminator.
#[test]
fn queue_status_against_asterisk_11_prints_every_item() {
    let addr = old_asterisk(
        "Asterisk Call Manager/1.3\r\n",
        vec![
            "Response: Success\r\nActionID: @ID\r\nMessage: Queue status will follow\r\n\r\n\
             Event: QueueParams\r\nQueue: support\r\nActionID: @ID\r\n\r\n\
             Event: QueueMember\r\nQueue: support\r\nName: SIP/100\r\nActionID: @ID\r\n\r\n\
             Event: QueueStatusComplete\r\nActionID: @ID\r\n\r\n",
        ],
    );
    let (code, out, err) = cli_at(addr, &["action", "QueueStatus", "--list"]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "Event: QueueParams",
        "Name: SIP/100",
        "Event: QueueStatusComplete",
    ] {
        assert!(out.contains(want), "{want} missing from {out}");
    }
}

/// Asterisk 13's `Queues` answers with bare CLI text: printed as it is.
#[test]
fn action_queues_prints_the_raw_text() {
    let addr = old_asterisk(
        "Asterisk Call Manager/2.10.6\r\n",
        vec!["support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0, SL:0.0% within 0s\r\n   No Members\r\n   No Callers\r\n\r\n\r\n\r\n"],
    );
    let (code, out, err) = cli_at(addr, &["action", "Queues"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("support has 0 calls"), "{out}");
    assert!(out.contains("   No Members\n   No Callers\n"), "{out}");
}

/// `ami events --reconnect` keeps printing events across a PBX restart, and
/// prints each change of the link on stderr as `link: ...`. The emulator
/// thread closes every connection once, after a few events.
#[test]
fn events_with_reconnect_survive_a_restart_and_print_link_lines() {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let config = EmulatorConfig::default().user("admin", "s3cret");
        let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
        tx.send(emu.local_addr().unwrap()).unwrap();
        let mut n = 0u32;
        let mut dropped = false;
        while !flag.load(Ordering::Relaxed) {
            emu.poll(Some(Duration::from_millis(20))).unwrap();
            if emu.session_count() == 0 {
                continue;
            }
            n += 1;
            emu.emit_event("Tick", &[("Seq", &n.to_string())]);
            if n == 5 && !dropped {
                // The "PBX" restarts: every connection closes.
                emu.poll(Some(Duration::ZERO)).unwrap();
                emu.drop_clients();
                dropped = true;
            }
        }
    });
    let emu = Emu {
        addr: rx.recv().unwrap(),
        stop,
        thread: Some(thread),
    };
    let (code, out, err) = cli(&emu, &["events", "--reconnect", "--count", "12"]);
    assert_eq!(code, 0, "{err}");
    // Every event printed counts, across the restart (FullyBooted included).
    let printed = out.lines().filter(|l| l.starts_with("Event: ")).count();
    assert_eq!(printed, 12, "{out}");
    let last_seq: u32 = out
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("Seq: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(last_seq > 5, "events after the restart: {out}");
    let links: Vec<&str> = err.lines().filter(|l| l.starts_with("link: ")).collect();
    assert_eq!(links.first(), Some(&"link: up"), "{err}");
    assert!(
        links.contains(&"link: down (closed by the server)"),
        "{err}"
    );
    assert!(
        links.iter().any(|l| l.starts_with("link: retry in ")),
        "{err}"
    );
    assert_eq!(
        links.iter().filter(|l| **l == "link: up").count(),
        2,
        "{err}"
    );
}

fn run_args(rest: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ami::run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

const DB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ami/ami-db.bin");

#[test]
fn decode_prints_every_message_without_connecting() {
    let (code, out, err) = run_args(&["decode", DB]);
    assert_eq!(code, 0, "{err}");
    let blocks: Vec<&str> = out.trim_end().split("\n\n").collect();
    assert!(blocks.len() > 10, "{out}");
    assert!(blocks[0].starts_with("Response: Success\n"), "{out}");
    assert!(
        blocks
            .iter()
            .any(|b| b.starts_with("Event: DBGetResponse\n")),
        "{out}"
    );
    // Connection options before the command are allowed and ignored.
    let (code, again, _) = run_args(&["--addr", "nowhere:1", "decode", DB]);
    assert_eq!(code, 0);
    assert_eq!(again, out);
    // A missing file is a failure.
    let (code, _, err) = run_args(&["decode", "/nonexistent/x.bin"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/x.bin"), "{err}");
}

#[cfg(not(feature = "serde"))]
#[test]
fn json_needs_the_serde_feature() {
    let (code, out, err) = run_args(&["decode", "--json", DB]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("serde feature"), "{err}");
}

#[cfg(feature = "serde")]
#[test]
fn decode_json_types_every_header_it_knows() {
    let (code, out, err) = run_args(&["decode", "--json", DB]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let item = lines
        .iter()
        .find(|v| v["name"] == "DBGetTreeComplete")
        .expect("the list's end");
    assert_eq!(item["kind"], "event");
    assert_eq!(item["type"], "DBGetTreeComplete");
    assert_eq!(item["fields"]["ListItems"], 2);
    assert_eq!(item["fields"]["EventList"], "Complete");
    assert!(item["other"].as_object().unwrap().is_empty());
    let first = &lines[0];
    assert_eq!(first["kind"], "response");
    assert_eq!(first["type"], serde_json::Value::Null);
}
