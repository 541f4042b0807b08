//! The emulator's deterministic faults, seen by a raw client and by the
//! library's own `Manager`.

mod emu_support;

use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::Manager;
use asterisk_io::emu::{EmulatorConfig, Fault};
use emu_support::{get, has_id, is_event, EmuThread, Raw};

fn with(faults: &[&str]) -> EmuThread {
    let faults: Vec<Fault> = faults.iter().map(|f| Fault::parse(f).unwrap()).collect();
    EmuThread::start(move || {
        faults
            .into_iter()
            .fold(EmulatorConfig::default().user("admin", "secret"), |c, f| {
                c.fault(f)
            })
    })
}

#[test]
fn writes_split_at_every_byte_still_frame() {
    // A pause after each one-byte write, so the client sees them apart.
    let emu = with(&["split=1", "delay=1"]);
    let mut c = Raw::connect(emu.addr);
    let login = c.login("admin", "secret", Some("off"));
    assert_eq!(get(&login, "Message"), Some("Authentication accepted"));
    // Many reads for few bytes: the bytes came one per write.
    assert!(c.reads > 20, "{} reads", c.reads);
}

#[test]
fn random_splits_and_chaos_leave_the_manager_working() {
    for spec in ["split=random:42:7", "chaos=3", "delay=2"] {
        let emu = with(&[spec]);
        let mut mgr = Manager::connect(emu.addr).unwrap();
        mgr.login(&Login::new("admin", "secret"), Duration::from_secs(10))
            .unwrap();
        for _ in 0..3 {
            mgr.call(&Ping, Duration::from_secs(10)).unwrap();
        }
    }
}

#[test]
fn disconnect_mid_list_cuts_inside_the_first_item() {
    let emu = with(&["disconnect=mid-list"]);
    let mut c = Raw::connect(emu.addr);
    c.login("admin", "secret", Some("off"));
    c.send("Action: DBPut\r\nActionID: p\r\nFamily: f\r\nKey: k\r\nVal: v\r\n\r\n");
    c.until(|b| has_id(b, "p"), 5);
    c.send("Action: DBGet\r\nActionID: g\r\nFamily: f\r\nKey: k\r\n\r\n");
    assert!(c.read_to_eof(5));
    let text = String::from_utf8_lossy(&c.buf).into_owned();
    // The list's response came whole, then half of its first item.
    assert!(
        text.starts_with("Response: Success\r\nActionID: g\r\nEventList: start"),
        "{text:?}"
    );
    assert!(text.contains("Event: DBGet"), "{text:?}");
    assert!(!text.contains("DBGetComplete"), "{text:?}");
}

#[test]
fn disconnect_mid_response_and_mid_message() {
    for spec in ["disconnect=mid-response", "disconnect=mid-message"] {
        let emu = with(&[spec]);
        let mut c = Raw::connect(emu.addr);
        c.login("admin", "secret", Some("off"));
        c.send("Action: Ping\r\nActionID: p\r\n\r\n");
        assert!(c.read_to_eof(5), "{spec}");
        let text = String::from_utf8_lossy(&c.buf).into_owned();
        assert!(text.starts_with("Response: Su"), "{spec}: {text:?}");
        assert!(!text.ends_with("\r\n\r\n"), "{spec}: {text:?}");
    }
}

#[test]
fn half_close_ends_the_stream_but_keeps_reading() {
    let emu = with(&["half-close"]);
    let mut c = Raw::connect(emu.addr);
    c.login("admin", "secret", Some("off"));
    assert!(c.read_to_eof(5));
    // The emulator still reads: writing does not fail.
    c.send("Action: Ping\r\n\r\n");
    std::thread::sleep(Duration::from_millis(50));
    c.send("Action: Ping\r\n\r\n");
}

#[test]
fn a_timed_half_close_needs_no_output_to_happen() {
    let emu = with(&["half-close@0.2"]);
    let mut c = Raw::connect(emu.addr);
    assert!(c.read_to_eof(5));
    assert_eq!(c.buf, b"Asterisk Call Manager/11.0.0\r\n");
}

#[test]
fn garbage_oversized_blocks_and_bursts() {
    let emu = with(&["garbage=64:5", "oversized=200000", "burst=500"]);
    let mut c = Raw::connect(emu.addr);
    c.send("Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: secret\r\n\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && c.buf.windows(8).filter(|w| w == b"Seq: 499").count() == 0 {
        c.fill();
    }
    let n = c.buf.len();
    assert!(n > 200_000, "{n}");
    let text = String::from_utf8_lossy(&c.buf);
    assert!(text.contains("Event: Oversized\r\nData: xxxx"));
    assert_eq!(text.matches("Event: Burst\r\n").count(), 500);
}

#[test]
fn a_stall_holds_replies_back() {
    let emu = with(&["stall=0.5"]);
    let mut c = Raw::connect(emu.addr);
    let start = Instant::now();
    c.send(
        "Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: secret\r\nEvents: off\r\n\r\n",
    );
    c.until(|b| has_id(b, "l"), 5);
    c.send("Action: Ping\r\nActionID: p\r\n\r\n");
    c.until(|b| has_id(b, "p"), 5);
    assert!(start.elapsed() >= Duration::from_millis(450));
}

#[test]
fn a_slow_reader_throttles_what_the_client_sends() {
    // 2000 bytes a second: 40 pings of ~30 bytes take about half a second.
    let emu = with(&["slow-read=2000"]);
    let mut c = Raw::connect(emu.addr);
    c.login("admin", "secret", Some("off"));
    let start = Instant::now();
    let pings: String = (0..40)
        .map(|i| format!("Action: Ping\r\nActionID: {i}\r\n\r\n"))
        .collect();
    c.send(&pings);
    c.until(|b| has_id(b, "39"), 10);
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn faults_injected_into_live_connections() {
    use asterisk_io::emu::Emulator;
    let mut emu = Emulator::bind(
        "127.0.0.1:0".parse().unwrap(),
        EmulatorConfig::default().user("admin", "secret"),
    )
    .unwrap();
    let mut c = Raw::connect(emu.local_addr().unwrap());
    c.send("Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: secret\r\n\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !c.buf.windows(11).any(|w| w == b"ActionID: l") {
        emu.poll(Some(Duration::from_millis(5))).unwrap();
        c.fill();
    }
    emu.inject(Fault::Burst(10, asterisk_io::emu::Trigger::Login));
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while Instant::now() < deadline && got.iter().filter(|b| is_event(b, "Burst")).count() < 10 {
        emu.poll(Some(Duration::from_millis(5))).unwrap();
        c.fill();
        while let Some(b) = c.next_block() {
            got.push(b);
        }
    }
    assert_eq!(got.iter().filter(|b| is_event(b, "Burst")).count(), 10);
}

/// The library's own client under a fault: a connection cut in the middle
/// of a list fails that action promptly (no timeout), the manager
/// reconnects and replays its login, and the next action works.
#[test]
fn the_manager_survives_a_cut_mid_list() {
    use asterisk_io::ami::actions::CoreShowChannels;
    use asterisk_io::ami::{ManagerConfig, Reconnect};
    use asterisk_io::driver::Driver;
    use asterisk_io::emu::{Cut, Emulator, Trigger};

    let mut driver = Driver::new().unwrap();
    let config = EmulatorConfig::default().user("admin", "secret");
    let emu = driver
        .add(Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap())
        .unwrap();
    let addr = driver.get(emu).local_addr().unwrap();
    let policy = Reconnect::default()
        .initial(Duration::from_millis(20))
        .max(Duration::from_millis(100))
        .jitter(0.0);
    let mgr = driver
        .add(Manager::connect_with(addr, ManagerConfig::default().reconnect(Some(policy))).unwrap())
        .unwrap();
    let t = Duration::from_secs(5);
    driver
        .login(mgr, &Login::new("admin", "secret"), t)
        .unwrap();
    // No channels: the cut lands inside the list's terminal event.
    driver
        .get_mut(emu)
        .inject(Fault::Disconnect(Cut::MidList, Trigger::Login));
    let start = Instant::now();
    let err = driver.call(mgr, &CoreShowChannels, t);
    assert!(err.is_err(), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(4));
    let deadline = Instant::now() + t;
    while driver.get(mgr).stats().reconnects == 0 {
        assert!(Instant::now() < deadline, "no reconnect");
        driver.poll(Some(Duration::from_millis(10))).unwrap();
    }
    // The new connection has no fault: lists and pings work again.
    let deadline = Instant::now() + t;
    loop {
        match driver.call(mgr, &Ping, Duration::from_millis(500)) {
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "{e:?}"),
        }
    }
    driver.call(mgr, &CoreShowChannels, t).unwrap();
}
