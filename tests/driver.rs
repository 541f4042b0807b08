//! The `Driver`: one `Poll` for managers and emulators together, its
//! blocking helpers, and sources moving in and out of it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::{Error, Manager, ManagerConfig};
use asterisk_io::driver::{Driver, Handle};
use asterisk_io::emu::{Emulator, EmulatorConfig};

const T: Duration = Duration::from_secs(5);

fn emulator(driver: &mut Driver) -> Handle<Emulator> {
    let config = EmulatorConfig::default().user("admin", "s3cret");
    let emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    driver.add(emu).unwrap()
}

fn manager(driver: &mut Driver, emu: Handle<Emulator>) -> Handle<Manager> {
    let addr = driver.get(emu).local_addr().unwrap();
    driver.add(Manager::connect(addr).unwrap()).unwrap()
}

/// A client and the emulator used to need alternating 1 ms polls of two
/// `Poll`s to share a thread; in one driver they share one `Poll`.
#[test]
fn a_manager_and_the_emulator_share_one_loop() {
    let mut driver = Driver::new().unwrap();
    let emu = emulator(&mut driver);
    let mgr = manager(&mut driver, emu);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    driver.get_mut(mgr).on_event("Poke", move |ev, _| {
        s.borrow_mut().push(ev.get_str("N").unwrap().to_owned())
    });
    driver
        .login(mgr, &Login::new("admin", "s3cret").md5(), T)
        .unwrap();
    let pong = driver.call(mgr, &Ping, T).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
    for n in ["1", "2", "3"] {
        driver.get_mut(emu).emit_event("Poke", &[("N", n)]);
    }
    assert!(driver.run_until(T, |_| seen.borrow().len() == 3).unwrap());
    assert_eq!(*seen.borrow(), ["1", "2", "3"]);
    driver.logoff(mgr, T).unwrap();
    assert!(driver.get(mgr).is_closed());
}

#[test]
fn many_managers_in_one_driver() {
    let mut driver = Driver::new().unwrap();
    let emu = emulator(&mut driver);
    let managers: Vec<_> = (0..50).map(|_| manager(&mut driver, emu)).collect();
    for &m in &managers {
        driver
            .get_mut(m)
            .start_login(&Login::new("admin", "s3cret"))
            .unwrap();
    }
    let ids: Vec<_> = managers
        .iter()
        .map(|&m| driver.get_mut(m).send(&Ping).unwrap())
        .collect();
    for (&m, &id) in managers.iter().zip(&ids) {
        let r = driver.wait_for(m, id, T).unwrap();
        assert_eq!(r.response.get_str("Ping"), Some("Pong"));
    }
    assert_eq!(driver.get(emu).session_count(), 50);
}

/// `Driver::poll(None)` wakes for the earliest action deadline of any
/// manager, with nothing arriving.
#[test]
fn the_driver_wakes_for_an_action_deadline() {
    let mut driver = Driver::new().unwrap();
    let emu_config = EmulatorConfig::default().user("admin", "s3cret");
    // The emulator is not in the driver: nobody answers.
    let emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), emu_config).unwrap();
    let config = ManagerConfig::default().action_timeout(Some(Duration::from_millis(100)));
    let mgr = driver
        .add(Manager::connect_with(emu.local_addr().unwrap(), config).unwrap())
        .unwrap();
    let failed = Rc::new(RefCell::new(None));
    let f = failed.clone();
    driver
        .get_mut(mgr)
        .send_with(&Ping, move |r, _| *f.borrow_mut() = Some(r.map(|_| ())))
        .unwrap();
    assert!(driver.poll_timeout().is_some());
    let start = Instant::now();
    while failed.borrow().is_none() {
        driver.poll(None).unwrap();
        assert!(start.elapsed() < Duration::from_secs(2));
    }
    assert!(matches!(*failed.borrow(), Some(Err(Error::Timeout(_)))));
    drop(emu);
}

#[test]
fn a_source_taken_out_of_the_driver_works_on_its_own() {
    let mut driver = Driver::new().unwrap();
    let emu = emulator(&mut driver);
    assert_eq!(
        driver
            .get_mut(emu)
            .poll(Some(Duration::ZERO))
            .unwrap_err()
            .kind(),
        std::io::ErrorKind::Unsupported,
        "the driver polls what it holds"
    );
    let mgr = manager(&mut driver, emu);
    driver
        .login(mgr, &Login::new("admin", "s3cret"), T)
        .unwrap();
    // Out of the driver, the manager waits on its own poll; the emulator
    // stays in the driver, and this loop turns both by hand.
    let mut mgr = driver.remove(mgr).unwrap();
    let id = mgr.send(&Ping).unwrap();
    let deadline = Instant::now() + T;
    let r = loop {
        driver.poll(Some(Duration::from_millis(1))).unwrap();
        mgr.poll_events(Some(Duration::from_millis(1))).unwrap();
        if let Some(r) = mgr.take_result(id).ready() {
            break r;
        }
        assert!(Instant::now() < deadline);
    };
    assert_eq!(r.unwrap().response.get_str("Ping"), Some("Pong"));
    // The emulator kept its session while leaving the driver and coming back.
    let emu_back = driver.remove(emu).unwrap();
    assert_eq!(emu_back.session_count(), 1);
    let emu = driver.add(emu_back).unwrap();
    let mgr = driver.add(mgr).unwrap();
    let pong = driver.call(mgr, &Ping, T).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
    assert_eq!(driver.get(emu).session_count(), 1);
}

#[test]
#[should_panic(expected = "handle of another driver")]
fn a_handle_of_another_driver_is_refused() {
    let mut a = Driver::new().unwrap();
    let b = Driver::new().unwrap();
    let emu = emulator(&mut a);
    let _ = b.get(emu);
}

/// A manager, the emulator and a FastAGI server, each with its own range
/// of tokens in one `Poll`, all served by one thread.
#[test]
fn one_driver_runs_a_manager_an_emulator_and_a_fastagi_server() {
    use asterisk_io::agi::commands::Answer;
    use asterisk_io::agi::{Env, Script, Server};
    use std::io::{Read, Write};

    let mut driver = Driver::new().unwrap();
    let emu = emulator(&mut driver);
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    server.route("hello", |_: &Env| {
        let mut s = Script::new(());
        s.run(Answer);
        s
    });
    let agi = driver.add(server).unwrap();
    let mgr = manager(&mut driver, emu);
    driver
        .login(mgr, &Login::new("admin", "s3cret"), T)
        .unwrap();

    // Play Asterisk's side of a FastAGI call from this same thread.
    let mut call = std::net::TcpStream::connect(driver.get(agi).local_addr().unwrap()).unwrap();
    call.set_nonblocking(true).unwrap();
    call.write_all(b"agi_network: yes\nagi_network_script: hello\nagi_request: agi://x/hello\n\n")
        .unwrap();
    let mut got = Vec::new();
    let read = |call: &mut std::net::TcpStream, got: &mut Vec<u8>| {
        let mut buf = [0u8; 256];
        match call.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                false
            }
            Err(_) => false,
        }
    };
    assert!(driver
        .run_until(T, |_| {
            read(&mut call, &mut got);
            got.ends_with(b"ANSWER\n")
        })
        .unwrap());
    // Meanwhile the manager works in the same loop.
    let pong = driver.call(mgr, &Ping, T).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
    call.write_all(b"200 result=0\n").unwrap();
    // The script is done: the server hangs up.
    assert!(driver.run_until(T, |_| read(&mut call, &mut got)).unwrap());
    assert_eq!(driver.get(agi).stats().active, 0);
}

/// One PBX floods its manager while another answers a `Ping`: each manager
/// has its own budget per turn, so the ping's answer is not stuck behind
/// the flood. Prints the latency it saw.
#[test]
fn a_flood_on_one_manager_does_not_hold_up_another() {
    let mut driver = Driver::new().unwrap();
    let flooding = emulator(&mut driver);
    let quiet = emulator(&mut driver);
    let config = ManagerConfig::default().max_messages_per_poll(256);
    let a_addr = driver.get(flooding).local_addr().unwrap();
    let a = driver
        .add(Manager::connect_with(a_addr, config.clone()).unwrap())
        .unwrap();
    let b_addr = driver.get(quiet).local_addr().unwrap();
    let b = driver
        .add(Manager::connect_with(b_addr, config).unwrap())
        .unwrap();
    let seen = Rc::new(std::cell::Cell::new(0u64));
    let s = seen.clone();
    driver
        .get_mut(a)
        .on_any_event(move |_, _| s.set(s.get() + 1));
    driver.login(a, &Login::new("admin", "s3cret"), T).unwrap();
    driver.login(b, &Login::new("admin", "s3cret"), T).unwrap();
    for n in 0..100_000 {
        driver.get_mut(flooding).emit_event(
            "Flood",
            &[
                ("Seq", &n.to_string()),
                ("Pad", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            ],
        );
    }
    // Let the flood start arriving.
    driver.run_until(T, |_| seen.get() > 1_000).unwrap();
    let start = Instant::now();
    let pong = driver.call(b, &Ping, T).unwrap();
    let latency = start.elapsed();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
    let behind = 100_000 - seen.get().min(100_000);
    eprintln!("ping latency during a flood: {latency:?} ({behind} flood events still to come)");
    assert!(
        behind > 0,
        "the flood was over before the ping: nothing measured"
    );
    assert!(latency < Duration::from_millis(500), "{latency:?}");
}
