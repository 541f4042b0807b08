//! The mio `Manager` over real sockets: waiting inside and outside a host's
//! `Poll`, message budgets, login, fatal errors, malformed input and the
//! result store. Each test names the hole it closes.

mod ami_support;
use ami_support::{thread_cpu, EmuThread};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::{
    Connection, EncodeError, Error, Gone, Manager, ManagerConfig, ProtocolError, ResultStatus,
};
use asterisk_io::driver::Driver;

/// A server that accepts, greets, and then says nothing (keeping the socket open).
fn silent_server() -> (SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"Asterisk Call Manager/11.0.0\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let until = Instant::now() + Duration::from_millis(1500);
        let mut buf = [0u8; 4096];
        while Instant::now() < until {
            match s.read(&mut buf) {
                Ok(0) => return,
                _ => continue,
            }
        }
    });
    (addr, h)
}

/// After the host deregisters the manager from its `Poll`, `poll_events`
/// must still wait for input instead of returning at once (which turned
/// `call`, `wait_for` and host loops into busy loops).
#[test]
fn poll_events_waits_after_the_host_deregisters() {
    use mio::{Interest, Poll, Token};
    let (addr, server) = silent_server();
    let poll = Poll::new().unwrap();
    let mut mgr = Manager::connect(addr).unwrap();
    poll.registry()
        .register(&mut mgr, Token(7), Interest::READABLE)
        .unwrap();
    poll.registry().deregister(&mut mgr).unwrap();
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed() < Duration::from_millis(300) {
        mgr.poll_events(Some(Duration::from_millis(100))).unwrap();
        calls += 1;
    }
    assert!(calls < 20, "poll_events returned {calls} times in 300 ms");
    // A blocking call waits too, and times out as it should.
    assert!(matches!(
        mgr.call(&Ping, Duration::from_millis(200)),
        Err(asterisk_io::ami::Error::Timeout(_))
    ));
    mgr.close();
    server.join().unwrap();
}

/// `logoff` waits for the server to close after its `Goodbye`. When the
/// manager was registered in a host's `Poll`, that wait spun on
/// `poll_events` (which never blocks then) until the server closed or the
/// timeout passed.
#[test]
fn logoff_while_registered_in_a_host_poll_does_not_spin() {
    use mio::{Interest, Poll, Token};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"Asterisk Call Manager/11.0.0\r\n").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8(got).unwrap();
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("ActionID: "))
            .unwrap()
            .to_owned();
        write!(
            s,
            "Response: Goodbye\r\nActionID: {id}\r\nMessage: Thanks for all the fish.\r\n\r\n"
        )
        .unwrap();
        // Keep the connection open well past the client's timeout.
        s.set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
        let _ = s.read(&mut buf);
    });
    let poll = Poll::new().unwrap();
    let mut mgr = Manager::connect(addr).unwrap();
    poll.registry()
        .register(&mut mgr, Token(3), Interest::READABLE)
        .unwrap();
    // In a host's poll the manager cannot wait by itself (it used to spin,
    // then to move its socket between polls): it says so and sends nothing.
    assert!(matches!(
        mgr.logoff(Duration::from_millis(600)),
        Err(Error::Registered)
    ));
    assert!(!mgr.connection().wants_write());
    poll.registry().deregister(&mut mgr).unwrap();
    // The driver's blocking logoff waits on its one poll without spinning.
    let mut driver = Driver::new().unwrap();
    let mgr = driver.add(mgr).unwrap();
    let cpu = thread_cpu();
    let start = Instant::now();
    driver.logoff(mgr, Duration::from_millis(600)).unwrap();
    let wall = start.elapsed();
    let used = thread_cpu() - cpu;
    assert!(wall >= Duration::from_millis(500), "{wall:?}");
    assert!(
        used < Duration::from_millis(250),
        "logoff used {used:?} of CPU in {wall:?}"
    );
    assert!(driver.get(mgr).is_closed());
    server.join().unwrap();
}

/// A budget of zero messages per poll made every `poll_events` return at
/// once without handling anything: `login` spun until its timeout.
#[test]
fn a_zero_message_budget_still_makes_progress() {
    let emu = EmuThread::start();
    let mut mgr =
        Manager::connect_with(emu.addr, ManagerConfig::default().max_messages_per_poll(0)).unwrap();
    mgr.login(&Login::new("admin", "s3cret"), Duration::from_secs(5))
        .unwrap();
    let pong = mgr.call(&Ping, Duration::from_secs(5)).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
}

/// `socket_recv_buffer` caps the kernel's receive buffer (Linux reports
/// twice the size asked for, its bookkeeping included) and the link works.
#[test]
#[cfg(target_os = "linux")]
fn socket_recv_buffer_sets_the_kernel_receive_buffer() {
    let emu = EmuThread::start();
    let config = ManagerConfig::default().socket_recv_buffer(Some(48 << 10));
    let mut mgr = Manager::connect_with(emu.addr, config).unwrap();
    let size = socket2::SockRef::from(&mgr).recv_buffer_size().unwrap();
    assert_eq!(size, 96 << 10);
    mgr.login(&Login::new("admin", "s3cret"), Duration::from_secs(5))
        .unwrap();
    let pong = mgr.call(&Ping, Duration::from_secs(5)).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
}

/// `Login::new(..).md5()` promises that the secret never crosses the wire,
/// but sent as an ordinary action (`send`, `call`) it wrote `Secret:` in
/// the clear. It is refused now; `login` still performs the challenge.
#[test]
fn an_md5_login_sent_as_an_action_does_not_leak_the_secret() {
    let mut c = Connection::default();
    let e = c.send(&Login::new("admin", "s3cret").md5()).unwrap_err();
    assert!(
        matches!(
            e,
            asterisk_io::ami::Error::Encode(EncodeError::Md5LoginNeedsChallenge)
        ),
        "{e:?}"
    );
    assert!(c.pending_output().is_empty());
    assert_eq!(c.pending_count(), 0);
    c.login(&Login::new("admin", "s3cret").md5()).unwrap();
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    assert!(out.starts_with("Action: Challenge\r\n"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");

    let emu = EmuThread::start();
    let mut mgr = Manager::connect(emu.addr).unwrap();
    let e = mgr
        .call(&Login::new("admin", "s3cret").md5(), Duration::from_secs(5))
        .unwrap_err();
    assert!(matches!(e, asterisk_io::ami::Error::Encode(_)), "{e:?}");
    mgr.login(&Login::new("admin", "s3cret").md5(), Duration::from_secs(5))
        .unwrap();
}

/// Connection refused and a server that hangs up before its greeting
/// end in a fatal error promptly, every pending action failing with it.
#[test]
fn connect_refused_and_early_close_are_prompt_fatal_errors() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut mgr = Manager::connect(addr).unwrap();
    let start = Instant::now();
    let e = mgr
        .login(&Login::new("a", "b"), Duration::from_secs(5))
        .unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    // The same error keeps coming back.
    let again = mgr.poll_events(Some(Duration::from_secs(1))).unwrap_err();
    assert_eq!(again.to_string(), e.root().to_string());

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        thread::sleep(Duration::from_millis(100));
        drop(s);
    });
    let mut mgr = Manager::connect(addr).unwrap();
    let start = Instant::now();
    let e = mgr
        .login(&Login::new("a", "b"), Duration::from_secs(5))
        .unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(!mgr.has_buffered_input());
    h.join().unwrap();
}

/// A malformed message used to end `poll_events` with an `Err` (so the
/// README's `poll_events(..)?` ended the program on one garbage line), and
/// what handlers queued before it stayed unwritten until the next call. It is
/// now skipped, reported to `on_skipped`, counted, and the output is written.
#[test]
fn a_malformed_message_is_reported_not_returned_and_output_is_written() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"Asterisk Call Manager/11.0.0\r\nEvent: Poke\r\n\r\nno colon here\r\n\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        tx.send(String::from_utf8_lossy(&got).into_owned()).unwrap();
    });
    let mut mgr = Manager::connect(addr).unwrap();
    mgr.on_event("Poke", |_, ctx| {
        ctx.send(&Ping).unwrap();
    });
    let skipped = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = skipped.clone();
    mgr.on_skipped(move |s, _ctx| log.borrow_mut().push(s.clone()));
    // Let everything the server sends arrive before the first read.
    thread::sleep(Duration::from_millis(200));
    let deadline = Instant::now() + Duration::from_secs(5);
    while mgr.stats().skipped == 0 {
        assert!(Instant::now() < deadline);
        mgr.poll_events(Some(Duration::from_millis(100))).unwrap();
    }
    assert_eq!(skipped.borrow().len(), 1);
    assert_eq!(skipped.borrow()[0].kind, ProtocolError::MalformedLine);
    assert!(!mgr.is_closed());
    assert!(!mgr.connection().wants_write());
    let sent = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(sent.starts_with("Action: Ping\r\n"), "{sent}");
    server.join().unwrap();
}

/// Uncollected results used to be capped by dropping the oldest, so a
/// result could vanish before anyone asked for it (and a
/// `loop { poll; take_result }` never ended). Now none is ever dropped: a
/// full store refuses new `send`s with a typed error instead.
#[test]
fn results_are_never_evicted_a_full_store_refuses_sends() {
    let emu = EmuThread::start();
    let mut mgr =
        Manager::connect_with(emu.addr, ManagerConfig::default().max_stored_results(4)).unwrap();
    mgr.login(&Login::new("admin", "s3cret"), Duration::from_secs(5))
        .unwrap();
    let ids: Vec<_> = (0..4).map(|_| mgr.send(&Ping).unwrap()).collect();
    assert!(matches!(
        mgr.send(&Ping),
        Err(Error::ResultStoreFull { max: 4 })
    ));
    // Fire-and-forget and callbacks keep nothing, so they are not refused.
    mgr.send_and_forget(&Ping).unwrap();
    mgr.send_with(&Ping, |_, _| {}).unwrap();
    // Let every answer arrive in the socket before the wait reads them.
    thread::sleep(Duration::from_millis(200));
    for id in ids.iter().rev() {
        let r = mgr.wait_for(*id, Duration::from_secs(2)).unwrap();
        assert_eq!(r.response.get_str("Ping"), Some("Pong"));
    }
    // Taken once: then it is gone, and says why.
    assert!(matches!(
        mgr.take_result(ids[0]),
        ResultStatus::Gone(Gone::Delivered)
    ));
    mgr.send(&Ping).unwrap();
}

/// Busy managers on one thread take turns with one warm read buffer. Three
/// of them in one driver (two with a tiny budget, so turns end with input
/// left over, often mid-message) each receive every event of a flood
/// exactly once and in order.
#[test]
fn busy_managers_sharing_the_warm_read_buffer_lose_and_repeat_nothing() {
    use asterisk_io::emu::{Emulator, EmulatorConfig};
    use std::cell::Cell;
    use std::rc::Rc;

    const EVENTS: u64 = 30_000;
    let t = Duration::from_secs(10);
    let mut driver = Driver::new().unwrap();
    let emu = driver
        .add(
            Emulator::bind(
                "127.0.0.1:0".parse().unwrap(),
                EmulatorConfig::default().user("admin", "secret"),
            )
            .unwrap(),
        )
        .unwrap();
    let addr = driver.get(emu).local_addr().unwrap();
    let mut seen = Vec::new();
    for budget in [7, 8192, 7] {
        let config = ManagerConfig::default().max_messages_per_poll(budget);
        let mgr = driver
            .add(Manager::connect_with(addr, config).unwrap())
            .unwrap();
        driver
            .login(mgr, &Login::new("admin", "secret"), t)
            .unwrap();
        let next = Rc::new(Cell::new(0u64));
        let broken = Rc::new(Cell::new(false));
        let (n, b) = (next.clone(), broken.clone());
        driver.get_mut(mgr).on_event("UserEvent", move |ev, _| {
            match ev.get("Seq").and_then(|v| v.parse::<u64>()) {
                Some(s) if s == n.get() => n.set(s + 1),
                _ => b.set(true),
            }
        });
        seen.push((next, broken));
    }
    let padding = "x".repeat(200);
    let mut emitted = 0u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    // A break in order stops the flood at once: the assertions below say which.
    while seen.iter().all(|(_, b)| !b.get()) && seen.iter().any(|(n, _)| n.get() < EVENTS) {
        assert!(Instant::now() < deadline, "flood did not arrive in time");
        let slowest = seen.iter().map(|(n, _)| n.get()).min().unwrap();
        // Keep at most a few thousand events in flight.
        while emitted < EVENTS && emitted - slowest < 4_000 {
            let seq = emitted.to_string();
            driver.get_mut(emu).emit_event(
                "UserEvent",
                &[("UserEvent", "Flood"), ("Seq", &seq), ("Padding", &padding)],
            );
            emitted += 1;
        }
        driver.poll(Some(Duration::from_millis(10))).unwrap();
    }
    for (i, (next, broken)) in seen.iter().enumerate() {
        assert!(!broken.get(), "manager {i} saw an event out of order");
        assert_eq!(next.get(), EVENTS, "manager {i}");
    }
}
