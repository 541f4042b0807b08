//! Record and replay: clients recorded through `emu::record::RecordingProxy`
//! against the emulator, then served the recording by
//! `emu::replay::ReplayServer`, see the same answers. Also: a real Asterisk
//! capture from `fixtures/` replayed to the library's `Manager`, mismatch
//! reports, and the transcript parser under proptest.

#[allow(dead_code)]
#[path = "../examples/ami.rs"]
mod ami;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Command, Login};
use asterisk_io::ami::{ActionResult, Manager, RawAction};
use asterisk_io::driver::{Driver, Handle};
use asterisk_io::emu::record::RecordingProxy;
use asterisk_io::emu::replay::{Mismatch, ReplayServer, Timing};
use asterisk_io::emu::transcript::{self, Direction, RecordKind, Transcript};
use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};
use proptest::prelude::*;

const T: Duration = Duration::from_secs(10);

fn lo() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn config() -> EmulatorConfig {
    EmulatorConfig::default().user("admin", "s3cret").script(
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
}

/// A result as text, without the ActionID lines (each client has its own).
fn text(r: &ActionResult) -> String {
    let mut all = r.response.message_block().as_bytes().to_vec();
    for e in r.events.iter().chain(r.completion.iter()) {
        all.extend_from_slice(e.as_bytes());
    }
    let mut s: String = String::from_utf8_lossy(&all)
        .lines()
        .filter(|l| !l.starts_with("ActionID:"))
        .map(|l| format!("{l}\n"))
        .collect();
    if let Some(o) = &r.output {
        s.push_str(&o.lines.join("\n"));
    }
    s
}

/// One client session: login, a few actions, logoff; the results as text.
fn session(driver: &mut Driver, addr: SocketAddr, md5: bool) -> Vec<String> {
    let mgr = driver.add(Manager::connect(addr).unwrap()).unwrap();
    let login = Login::new("admin", "s3cret");
    let login = if md5 { login.md5() } else { login };
    driver.login(mgr, &login, T).unwrap();
    let mut out = Vec::new();
    for action in [
        RawAction::new("Ping"),
        RawAction::new("Setvar")
            .field("Variable", "COLOR")
            .field("Value", "blue"),
        RawAction::new("Getvar").field("Variable", "COLOR"),
        RawAction::new("CoreShowChannels").list(),
        RawAction::new("NoSuchAction"),
    ] {
        out.push(text(&driver.call(mgr, &action, T).unwrap()));
    }
    let o = driver
        .call(mgr, &Command::new("core show version"), T)
        .unwrap();
    out.push(o.lines.join("\n"));
    driver.logoff(mgr, T).unwrap();
    driver.remove(mgr).unwrap();
    out
}

fn wait_idle<W: std::io::Write + 'static>(driver: &mut Driver, proxy: Handle<RecordingProxy<W>>) {
    assert!(driver.run_until(T, |d| d.get(proxy).active() == 0).unwrap());
}

#[test]
fn manager_sessions_round_trip_through_the_proxy() {
    let mut driver = Driver::new().unwrap();
    let emu = driver.add(Emulator::bind(lo(), config()).unwrap()).unwrap();
    let upstream = driver.get(emu).local_addr().unwrap();
    let proxy = driver
        .add(RecordingProxy::bind(lo(), upstream, Vec::new()).unwrap())
        .unwrap();
    let paddr = driver.get(proxy).local_addr().unwrap();
    let first = session(&mut driver, paddr, true);
    let second = session(&mut driver, paddr, false);
    wait_idle(&mut driver, proxy);
    assert_eq!(driver.get(proxy).connections(), 2);
    let file = driver.remove(proxy).unwrap().into_writer().unwrap();
    let file_text = String::from_utf8(file.clone()).unwrap();
    assert!(file_text.starts_with(transcript::HEADER), "{file_text}");
    assert!(!file_text.contains("s3cret"), "{file_text}");
    assert!(file_text.contains("Secret: ********\\r\\n"), "{file_text}");
    assert!(file_text.contains("Key: ********\\r\\n"), "{file_text}");
    // Sanity of the recording itself: the second session's Ping went through.
    assert!(first[0].contains("Ping: Pong"), "{first:?}");
    assert!(first[3].contains("PJSIP/200-00000002"), "{first:?}");
    assert!(first[4].contains("Invalid/unknown command"), "{first:?}");

    let t = Transcript::parse(&file).unwrap();
    assert_eq!(t.connections.len(), 2);
    // The file reads back to itself, connection by connection.
    assert_eq!(Transcript::parse(&t.to_text()).unwrap(), t);

    for timing in [Timing::Drop, Timing::Scaled(0.5)] {
        let replay = driver
            .add(ReplayServer::bind(lo(), t.clone(), timing).unwrap())
            .unwrap();
        let raddr = driver.get(replay).local_addr().unwrap();
        assert_eq!(session(&mut driver, raddr, true), first);
        assert_eq!(session(&mut driver, raddr, false), second);
        assert!(driver.run_until(T, |d| d.get(replay).is_done()).unwrap());
        let r = driver.remove(replay).unwrap();
        assert!(r.mismatches().is_empty(), "{:?}", r.mismatches());
        assert!(r.unplayed().is_empty(), "{:?}", r.unplayed());
        assert_eq!(r.served(), 2);
    }
}

#[test]
fn recorded_bytes_are_passed_and_replayed_unchanged() {
    // What the client read through the proxy is exactly what replay sends
    // for the same requests with the same ActionIDs.
    use std::io::{Read, Write};
    let (addr, stop, h) = in_background(|d| {
        let emu = d.add(Emulator::bind(lo(), config()).unwrap()).unwrap();
        let up = d.get(emu).local_addr().unwrap();
        let p = d
            .add(RecordingProxy::bind(lo(), up, Vec::new()).unwrap())
            .unwrap();
        (
            d.get(p).local_addr().unwrap(),
            Box::new(move |d: &mut Driver| d.remove(p).unwrap().into_writer().unwrap()),
        )
    });
    let requests = b"Action: Login\r\nActionID: a1\r\nUsername: admin\r\nSecret: s3cret\r\n\r\n\
        Action: Ping\r\nActionID: a2\r\n\r\nAction: CoreShowChannels\r\nActionID: a3\r\n\r\n\
        Action: Logoff\r\nActionID: a4\r\n\r\n";
    let talk = |addr| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        // One request at a time, each after its answer's last line.
        let mut got = Vec::new();
        let mut buf = [0; 4096];
        // Like many clients, wait for the greeting before the first request.
        while !got.ends_with(b"\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        for req in requests.split_inclusive(|&b| b == b'\n').fold(
            Vec::<Vec<u8>>::new(),
            |mut acc, line| {
                match acc.last_mut() {
                    Some(last) if !last.ends_with(b"\r\n\r\n") => last.extend_from_slice(line),
                    _ => acc.push(line.to_vec()),
                }
                acc
            },
        ) {
            let id = String::from_utf8_lossy(&req)
                .lines()
                .find_map(|l| l.strip_prefix("ActionID: ").map(str::to_owned))
                .unwrap();
            s.write_all(&req).unwrap();
            let want_end = if req.starts_with(b"Action: CoreShowChannels") {
                "EventList: Complete".to_owned()
            } else {
                format!("ActionID: {id}")
            };
            while !String::from_utf8_lossy(&got).contains(&want_end) || !got.ends_with(b"\r\n\r\n")
            {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
                got.extend_from_slice(&buf[..n]);
            }
        }
        // The server closes after Goodbye.
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("{e}"),
            }
        }
        got
    };
    let through_proxy = talk(addr);
    stop.store(true, Ordering::Relaxed);
    let file = h.join().unwrap();
    let t = Transcript::parse(&file).unwrap();
    let recorded: Vec<u8> = t.connections[0]
        .records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Data(Direction::FromServer, b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(recorded, through_proxy);
    let (addr, stop, h) = in_background(move |d| {
        let r = d
            .add(ReplayServer::bind(lo(), t, Timing::Drop).unwrap())
            .unwrap();
        (
            d.get(r).local_addr().unwrap(),
            Box::new(move |d: &mut Driver| d.remove(r).unwrap().mismatches()),
        )
    });
    let replayed = talk(addr);
    stop.store(true, Ordering::Relaxed);
    assert!(h.join().unwrap().is_empty());
    assert_eq!(replayed, through_proxy);
}

type Finish<T> = Box<dyn FnOnce(&mut Driver) -> T>;

/// A driver on a thread of its own, until `stop`; then `finish` runs.
fn in_background<T: Send + 'static>(
    setup: impl FnOnce(&mut Driver) -> (SocketAddr, Finish<T>) + Send + 'static,
) -> (SocketAddr, Arc<AtomicBool>, thread::JoinHandle<T>) {
    in_background_ticking(move |d| {
        let (addr, finish) = setup(d);
        (addr, Box::new(|_: &mut Driver| {}) as Tick, finish)
    })
}

type Tick = Box<dyn FnMut(&mut Driver)>;

/// Like `in_background`, calling `tick` every 20 ms turn.
fn in_background_ticking<T: Send + 'static>(
    setup: impl FnOnce(&mut Driver) -> (SocketAddr, Tick, Finish<T>) + Send + 'static,
) -> (SocketAddr, Arc<AtomicBool>, thread::JoinHandle<T>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = thread::spawn(move || {
        let mut d = Driver::new().unwrap();
        let (addr, mut tick, finish) = setup(&mut d);
        tx.send(addr).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut next = Instant::now();
        while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
            if Instant::now() >= next {
                tick(&mut d);
                next += Duration::from_millis(20);
            }
            d.poll(Some(Duration::from_millis(20))).unwrap();
        }
        // Let closes in flight finish.
        for _ in 0..5 {
            d.poll(Some(Duration::from_millis(10))).unwrap();
        }
        finish(&mut d)
    });
    (rx.recv().unwrap(), stop, h)
}

fn cli(addr: SocketAddr, rest: &[&str]) -> (i32, String) {
    let addr = addr.to_string();
    let mut args: Vec<String> = ["--addr", &addr, "--user", "admin", "--secret", "s3cret"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(rest.iter().map(|s| s.to_string()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ami::run(&args, &mut out, &mut err);
    let out: String = String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("ActionID:"))
        .map(|l| format!("{l}\n"))
        .collect();
    (code, out)
}

#[test]
fn ami_example_sessions_replay_with_the_same_output() {
    let runs: [&[&str]; 5] = [
        &["action", "Ping"],
        &["--md5", "command", "core show version"],
        &["action", "CoreShowChannels"],
        &["action", "NoSuchAction", "--raw"],
        // Unsolicited events, replayed with their recorded timing.
        &["events", "VarSet", "--count", "3"],
    ];
    let (addr, stop, h) = in_background_ticking(|d| {
        let emu = d.add(Emulator::bind(lo(), config()).unwrap()).unwrap();
        let up = d.get(emu).local_addr().unwrap();
        let p = d
            .add(RecordingProxy::bind(lo(), up, Vec::new()).unwrap())
            .unwrap();
        let mut n = 0u32;
        let tick: Tick = Box::new(move |d: &mut Driver| {
            n += 1;
            let seq = n.to_string();
            let name = if n % 2 == 0 { "Newchannel" } else { "VarSet" };
            d.get_mut(emu)
                .emit_event(name, &[("Channel", "PJSIP/100-00000001"), ("Seq", &seq)]);
        });
        (
            d.get(p).local_addr().unwrap(),
            tick,
            Box::new(move |d: &mut Driver| d.remove(p).unwrap().into_writer().unwrap()),
        )
    });
    let recorded: Vec<(i32, String)> = runs.iter().map(|r| cli(addr, r)).collect();
    stop.store(true, Ordering::Relaxed);
    let file = h.join().unwrap();
    assert_eq!(recorded[0].0, 0, "{recorded:?}");
    assert!(recorded[0].1.contains("Ping: Pong"), "{recorded:?}");
    assert!(recorded[2].1.contains("PJSIP/100-00000001"), "{recorded:?}");
    assert_eq!(recorded[3].0, 1, "{recorded:?}");
    assert_eq!(
        recorded[4].1.matches("Event: VarSet").count(),
        3,
        "{recorded:?}"
    );
    let t = Transcript::parse(&file).unwrap();
    assert_eq!(t.connections.len(), runs.len());

    let (addr, stop, h) = in_background(move |d| {
        let r = d
            .add(ReplayServer::bind(lo(), t, Timing::Keep).unwrap())
            .unwrap();
        (
            d.get(r).local_addr().unwrap(),
            Box::new(move |d: &mut Driver| {
                let r = d.remove(r).unwrap();
                (r.mismatches(), r.served())
            }),
        )
    });
    let replayed: Vec<(i32, String)> = runs.iter().map(|r| cli(addr, r)).collect();
    stop.store(true, Ordering::Relaxed);
    let (mismatches, served) = h.join().unwrap();
    assert!(mismatches.is_empty(), "{mismatches:?}");
    assert_eq!(served, runs.len());
    assert_eq!(replayed, recorded);
}

#[test]
fn a_request_the_recording_lacks_is_reported_with_both_requests() {
    let text = b"1 0 open\n\
        1 0 << Asterisk Call Manager/11.0.0\\r\\n\n\
        1 0.1 >> Action: Login\\r\\nActionID: x-1\\r\\nUsername: admin\\r\\nSecret: ********\\r\\n\\r\\n\n\
        1 0.1 << Response: Success\\r\\nActionID: x-1\\r\\nMessage: Authentication accepted\\r\\n\\r\\n\n\
        1 0.2 >> Action: Ping\\r\\nActionID: x-2\\r\\n\\r\\n\n\
        1 0.2 << Response: Success\\r\\nActionID: x-2\\r\\nPing: Pong\\r\\n\\r\\n\n";
    let t = Transcript::parse(text).unwrap();
    let mut driver = Driver::new().unwrap();
    let replay = driver
        .add(ReplayServer::bind(lo(), t, Timing::Drop).unwrap())
        .unwrap();
    let addr = driver.get(replay).local_addr().unwrap();
    let mgr = driver.add(Manager::connect(addr).unwrap()).unwrap();
    // Any secret is accepted: the recorded answer is served.
    driver
        .login(mgr, &Login::new("admin", "not-the-secret"), T)
        .unwrap();
    let r = driver
        .call(mgr, &RawAction::new("Status").field("Channel", "X"), T)
        .unwrap();
    assert!(!r.response.is_success());
    assert_eq!(
        r.response.message(),
        Some("Replay mismatch: got action Status, the recording expects Ping")
    );
    let m: Vec<Mismatch> = driver.get(replay).mismatches();
    assert_eq!(m.len(), 1);
    assert!(m[0].sent.starts_with("Action: Status\r\n"), "{}", m[0]);
    assert!(m[0].sent.contains("Channel: X"), "{}", m[0]);
    assert_eq!(
        m[0].expected.as_deref(),
        Some("Action: Ping\r\nActionID: x-2\r\n\r\n")
    );
    let shown = m[0].to_string();
    assert!(shown.contains("Action: Status") && shown.contains("Action: Ping"));
    assert_eq!(driver.get_mut(replay).take_mismatches(), m);
    assert!(driver.get(replay).mismatches().is_empty());
    // The recording goes on where it was.
    let pong = driver.call(mgr, &RawAction::new("Ping"), T).unwrap();
    assert_eq!(pong.response.get_str("Ping"), Some("Pong"));
}

#[test]
fn a_real_asterisk_capture_is_served_to_the_manager() {
    let t = Transcript::from_capture(include_str!("fixtures/emu/ami-db.txt")).unwrap();
    assert!(!String::from_utf8(t.to_text())
        .unwrap()
        .contains("labsecret"));
    let mut driver = Driver::new().unwrap();
    let replay = driver
        .add(ReplayServer::bind(lo(), t, Timing::Scaled(0.1)).unwrap())
        .unwrap();
    let addr = driver.get(replay).local_addr().unwrap();
    let mgr = driver.add(Manager::connect(addr).unwrap()).unwrap();
    driver
        .login(mgr, &Login::new("lab", "whatever"), T)
        .unwrap();
    let put = driver
        .call(
            mgr,
            &RawAction::new("DBPut")
                .field("Family", "lab/sub")
                .field("Key", "k2")
                .field("Val", "two"),
            T,
        )
        .unwrap();
    assert_eq!(
        put.response.message(),
        Some("Updated database successfully")
    );
    let get = driver
        .call(
            mgr,
            &RawAction::new("DBGet")
                .field("Family", "lab")
                .field("Key", "k1")
                .list_until("DBGetComplete"),
            T,
        )
        .unwrap();
    assert_eq!(get.events.len(), 1);
    assert_eq!(get.events[0].get_str("Val"), Some("hello world"));
    // The field picks the recorded DBGet of a missing key, not the next DBGet.
    let missing = driver
        .call(
            mgr,
            &RawAction::new("DBGet")
                .field("Family", "lab")
                .field("Key", "missing"),
            T,
        )
        .unwrap();
    assert_eq!(missing.response.message(), Some("Database entry not found"));
    driver.logoff(mgr, T).unwrap();
    assert!(driver.get(replay).mismatches().is_empty());
}

proptest! {
    #[test]
    fn the_parser_never_panics(text in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Transcript::parse(&text);
        let _ = transcript::unescape(&text);
    }

    #[test]
    fn records_round_trip(
        chunks in proptest::collection::vec(
            (1u32..4, 0u64..10_000_000, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..60)),
            0..12,
        )
    ) {
        let mut t = Transcript::default();
        for id in 1..4 {
            t.connections.push(transcript::Connection {
                id,
                opened: Duration::ZERO,
                records: Vec::new(),
            });
        }
        for (conn, us, up, data) in chunks {
            let dir = if up { Direction::ToServer } else { Direction::FromServer };
            t.connections[conn as usize - 1].records.push(transcript::Record {
                conn,
                at: Duration::from_micros(us),
                kind: RecordKind::Data(dir, data),
            });
        }
        let text = t.to_text();
        prop_assert!(std::str::from_utf8(&text).is_ok());
        prop_assert_eq!(text.iter().filter(|&&b| b == b'\n').count(), 1 + 3 + t.connections.iter().map(|c| c.records.len()).sum::<usize>());
        prop_assert_eq!(Transcript::parse(&text).unwrap(), t);
    }

    #[test]
    fn a_line_error_names_its_line(garbage in "[^\n#]{1,30}", before in 0usize..5) {
        let mut text = String::from("1 0 open\n");
        for _ in 0..before {
            text.push_str("1 0.5 >> ok\n");
        }
        let line = 2 + before;
        text.push_str(&garbage);
        text.push('\n');
        if let Err(e) = Transcript::parse(text.as_bytes()) {
            prop_assert_eq!(e.line, line);
        }
    }
}

#[test]
fn an_unreachable_upstream_closes_the_client_and_is_recorded() {
    use std::io::Read;
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind(lo())
        .unwrap()
        .local_addr()
        .unwrap();
    let mut driver = Driver::new().unwrap();
    let proxy = driver
        .add(RecordingProxy::bind(lo(), dead, Vec::new()).unwrap())
        .unwrap();
    let addr = driver.get(proxy).local_addr().unwrap();
    let mut client = std::net::TcpStream::connect(addr).unwrap();
    client.set_nonblocking(true).unwrap();
    let mut buf = [0; 64];
    let closed = driver
        .run_until(T, |_| match client.read(&mut buf) {
            Ok(0) => true,
            Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            Ok(_) => false,
        })
        .unwrap();
    assert!(closed);
    assert!(driver.run_until(T, |d| d.get(proxy).active() == 0).unwrap());
    let file = driver.remove(proxy).unwrap().into_writer().unwrap();
    let t = Transcript::parse(&file).unwrap();
    let kinds: Vec<RecordKind> = t.connections[0]
        .records
        .iter()
        .map(|r| r.kind.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            RecordKind::Eof(Direction::FromServer),
            RecordKind::Eof(Direction::ToServer)
        ]
    );
}

#[test]
fn a_captured_async_originate_completes_with_the_clients_action_id() {
    use asterisk_io::ami::actions::Originate;
    let t =
        Transcript::from_capture(include_str!("fixtures/emu/ami-originate-events.txt")).unwrap();
    let mut driver = Driver::new().unwrap();
    // The recorded call lasted 3.5 s: a tenth of that here.
    let replay = driver
        .add(ReplayServer::bind(lo(), t, Timing::Scaled(0.1)).unwrap())
        .unwrap();
    let addr = driver.get(replay).local_addr().unwrap();
    let mgr = driver.add(Manager::connect(addr).unwrap()).unwrap();
    driver.login(mgr, &Login::new("lab", "x"), T).unwrap();
    let events = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = events.clone();
    driver
        .get_mut(mgr)
        .on_any_event(move |e: &asterisk_io::ami::Event<'_>, _: &mut _| {
            seen.borrow_mut().push(e.name().to_str_lossy().into_owned());
        });
    let started = Instant::now();
    let r = driver
        .call(
            mgr,
            &Originate::to_application("Local/wait@lab", "Wait", "3")
                .caller_id("Lab Test <100>")
                .variable("LABORIG", "1")
                .run_async(),
            T,
        )
        .unwrap();
    let outcome = r
        .outcome
        .expect("the OriginateResponse, under our ActionID");
    assert!(outcome.is_success());
    assert_eq!(
        outcome.event.get_str("Channel"),
        Some("Local/wait@lab-00000000;1")
    );
    // The result came when the recording says, scaled (0.5 s recorded).
    assert!(started.elapsed() >= Duration::from_millis(40));
    // The rest of the call's events follow at their times; then Logoff.
    assert!(driver
        .run_until(T, |_| events
            .borrow()
            .iter()
            .filter(|n| *n == "Hangup")
            .count()
            == 2)
        .unwrap());
    driver.logoff(mgr, T).unwrap();
    assert!(driver.get(replay).mismatches().is_empty());
    let names = events.borrow();
    let first = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(first("Newchannel") < first("DialEnd") && first("DialEnd") < first("Hangup"));
}

#[test]
fn a_captured_md5_login_replays_for_any_key() {
    let t = Transcript::from_capture(include_str!("fixtures/emu/ami-login-md5.txt")).unwrap();
    let text = String::from_utf8(t.to_text()).unwrap();
    assert!(!text.contains("6a92af7bee070e4dba3cf37a38446e3b"), "{text}");
    let mut driver = Driver::new().unwrap();
    let replay = driver
        .add(ReplayServer::bind(lo(), t, Timing::Drop).unwrap())
        .unwrap();
    let addr = driver.get(replay).local_addr().unwrap();
    let mgr = driver.add(Manager::connect(addr).unwrap()).unwrap();
    driver
        .login(mgr, &Login::new("lab", "not-labsecret").md5(), T)
        .unwrap();
    let pong = driver.call(mgr, &RawAction::new("Ping"), T).unwrap();
    assert_eq!(
        pong.response.get_str("Timestamp"),
        Some("1795669117.180507")
    );
    driver.logoff(mgr, T).unwrap();
    assert!(driver.run_until(T, |d| d.get(replay).is_done()).unwrap());
    assert!(driver.get(replay).mismatches().is_empty());
}

#[test]
fn a_slow_client_backs_the_proxy_up_without_loss() {
    use std::io::{Read, Write};
    let mut driver = Driver::new().unwrap();
    let emu = driver.add(Emulator::bind(lo(), config()).unwrap()).unwrap();
    let up = driver.get(emu).local_addr().unwrap();
    let proxy = driver
        .add(RecordingProxy::bind(lo(), up, Vec::new()).unwrap())
        .unwrap();
    let addr = driver.get(proxy).local_addr().unwrap();
    // A receive buffer far smaller than the flood, so the backlog builds up
    // in the proxy; not tiny, or draining 8 MB takes thousands of round
    // trips, each a scheduling delay on a loaded machine.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(64 * 1024).unwrap();
    sock.connect(&addr.into()).unwrap();
    let mut client: std::net::TcpStream = sock.into();
    client
        .write_all(b"Action: Login\r\nActionID: 1\r\nUsername: admin\r\nSecret: s3cret\r\n\r\n")
        .unwrap();
    client.set_nonblocking(true).unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let mut read_some = |client: &mut std::net::TcpStream, got: &mut Vec<u8>| loop {
        match client.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => return,
        }
    };
    assert!(driver
        .run_until(T, |_| {
            read_some(&mut client, &mut got);
            String::from_utf8_lossy(&got).contains("FullyBooted")
        })
        .unwrap());
    // 8 MB of events while the client reads nothing: socket buffers fill,
    // then the proxy's own buffer, then it stops reading the emulator.
    const N: usize = 80_000;
    let pad = "x".repeat(60);
    for i in 0..N {
        driver
            .get_mut(emu)
            .emit_event("UserEvent", &[("Seq", &i.to_string()), ("Pad", &pad)]);
        if i % 500 == 0 {
            driver.poll(Some(Duration::ZERO)).unwrap();
        }
    }
    for _ in 0..20 {
        driver.poll(Some(Duration::from_millis(5))).unwrap();
    }
    let last = format!("Seq: {}\r\n", N - 1);
    assert!(driver
        .run_until(T, |_| {
            read_some(&mut client, &mut got);
            String::from_utf8_lossy(&got).contains(&last)
        })
        .unwrap());
    let text = String::from_utf8_lossy(&got);
    assert_eq!(text.matches("Event: UserEvent\r\n").count(), N);
    drop(client);
    assert!(driver.run_until(T, |d| d.get(proxy).active() == 0).unwrap());
    let file = driver.remove(proxy).unwrap().into_writer().unwrap();
    let t = Transcript::parse(&file).unwrap();
    let recorded: Vec<u8> = t.connections[0]
        .records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Data(Direction::FromServer, b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(recorded, got);
}
