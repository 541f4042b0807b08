//! Regression tests from a review of the AMI client: each test names the
//! hole it closes.

mod ami_support;
use ami_support::thread_cpu;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::{
    Connection, EncodeError, Error, Gone, Input, Manager, ManagerConfig, ProtocolError,
    ResultStatus,
};
use asterisk_io::driver::Driver;
use asterisk_io::emu::{Emulator, EmulatorConfig};

/// A source that always has more events to give, cut wherever the
/// caller's buffer ends.
struct EndlessEvents {
    at: usize,
}

impl Read for EndlessEvents {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        const GREETING: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";
        const EVENT: &[u8] = b"Event: Tick\r\n\r\n";
        for b in buf.iter_mut() {
            *b = match GREETING.get(self.at) {
                Some(&g) => g,
                None => EVENT[(self.at - GREETING.len()) % EVENT.len()],
            };
            self.at += 1;
        }
        Ok(buf.len())
    }
}

/// Draining readiness (reading until the source would block, before
/// parsing) used to fill the input buffer and then hand `read` an empty
/// slice: its `Ok(0)` was taken for the end of input and closed the connection.
#[test]
fn read_from_with_a_full_buffer_is_not_end_of_input() {
    for max in [100, 1 << 20] {
        let mut c = Connection::new(ManagerConfig::default().max_message_size(max));
        let mut src = EndlessEvents { at: 0 };
        let mut full = false;
        for _ in 0..1000 {
            match c.read_from(&mut src) {
                Ok(n) => assert!(n > 0, "a full buffer reported end of input (max {max})"),
                Err(_) => {
                    full = true;
                    break;
                }
            }
        }
        assert!(full, "the input buffer never filled (max {max})");
        let mut events = 0;
        while let Some(input) = c.next_input() {
            match input {
                Input::Event(_) => events += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(events > 1000);
        assert!(c.fatal_error().is_none(), "{:?}", c.fatal_error());
        // Room again once the buffered input is handled.
        assert!(c.read_from(&mut src).unwrap() > 0);
        assert!(c.next_input().is_some());
    }
}

/// A writer that could not take more (`Ok(0)`) used to leave the bytes it
/// had already taken queued, so they were written a second time.
#[test]
fn write_zero_does_not_send_written_bytes_twice() {
    let mut c = Connection::default();
    c.send(&Ping).unwrap();
    let all = c.pending_output().to_vec();
    let mut first = [0u8; 10];
    let mut w: &mut [u8] = &mut first;
    let e = c.write_to(&mut w).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WriteZero);
    assert_eq!(first, all[..10]);
    assert_eq!(c.pending_output(), &all[10..]);
}

/// Once the connection is closed nothing more comes out of `next_input`, so
/// `has_buffered_input` must say so: hosts loop on it.
#[test]
fn nothing_is_buffered_once_closed() {
    let mut c = Connection::default();
    c.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: A\r\n\r\nEvent: B\r\n\r\n");
    assert!(c.has_buffered_input());
    c.close();
    assert!(c.next_input().is_none());
    assert!(!c.has_buffered_input());

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut mgr = Manager::connect(listener.local_addr().unwrap()).unwrap();
    mgr.close();
    assert!(mgr.poll_events(Some(Duration::ZERO)).is_err());
    assert!(!mgr.has_buffered_input());
}

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

/// An emulator on its own thread, stopped on drop.
struct EmuThread {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl EmuThread {
    fn start() -> EmuThread {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = thread::spawn(move || {
            let config = EmulatorConfig::default().user("admin", "s3cret");
            let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
            tx.send(emu.local_addr().unwrap()).unwrap();
            while !s.load(Ordering::Relaxed) {
                emu.poll(Some(Duration::from_millis(10))).unwrap();
            }
        });
        EmuThread {
            addr: rx.recv().unwrap(),
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for EmuThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
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

/// A client that stops reading made the emulator queue every event for it,
/// without limit. It is disconnected once its unsent output passes
/// `MAX_OUTPUT`, as Asterisk drops a session whose writes time out.
#[test]
fn the_emulator_drops_a_client_that_stops_reading() {
    use asterisk_io::emu::{ClientSession, MAX_OUTPUT};
    use std::rc::Rc;
    let mut s = ClientSession::new(Rc::new(EmulatorConfig::default().user("u", "p")));
    s.feed(b"Action: Login\r\nUsername: u\r\nSecret: p\r\n\r\n");
    assert!(s.is_authenticated());
    let ev = vec![
        ("Event".to_owned(), "Newchannel".to_owned()),
        ("Channel".to_owned(), "PJSIP/100-00000001".to_owned()),
        ("Uniqueid".to_owned(), "1700000000.1".to_owned()),
    ];
    let block = 74; // the bytes of one such event
    for _ in 0..(MAX_OUTPUT / block + 1000) {
        s.push_event(&ev);
        assert!(s.output().len() <= MAX_OUTPUT);
    }
    assert!(s.is_closing());
    // A closing session takes no more requests either.
    s.feed(b"Action: Ping\r\n\r\n");
    assert!(s.output().is_empty());
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

/// `max_message_size: usize::MAX` ("no limit") overflowed the buffer limit
/// computation in `read_from` (a panic in debug builds, a 32 KiB limit in
/// release ones) as soon as the read buffer needed to grow.
#[test]
fn an_unlimited_message_size_does_not_overflow() {
    let mut c = Connection::new(ManagerConfig::default().max_message_size(usize::MAX));
    let mut input = b"Asterisk Call Manager/11.0.0\r\nEvent: Big\r\n".to_vec();
    for i in 0..20_000 {
        input.extend_from_slice(format!("Line{i}: xxxxxxxxxxxxxxxx\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\n");
    let mut src = &input[..];
    let mut lines = None;
    while lines.is_none() {
        assert!(c.read_from(&mut src).unwrap() > 0);
        while let Some(input) = c.next_input() {
            match input {
                Input::Event(e) => lines = Some(e.message().len()),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(lines, Some(20_001));
    assert!(c.fatal_error().is_none());
}

/// A list that outgrows `max_list_bytes` fails its action and "its
/// remaining items are then dispatched as ordinary events"; the item that
/// did not fit was neither kept nor dispatched, and silently lost.
#[test]
fn the_list_item_that_overflows_reaches_handlers() {
    use asterisk_io::ami::actions::CoreShowChannels;
    let mut c = Connection::new(ManagerConfig::default().max_list_bytes(1000));
    c.feed(b"Asterisk Call Manager/11.0.0\r\n");
    let id = c.send(&CoreShowChannels).unwrap();
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    let aid = out
        .lines()
        .find_map(|l| l.strip_prefix("ActionID: "))
        .unwrap()
        .to_owned();
    c.feed(format!("Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n\r\n").as_bytes());
    let total = 100;
    for n in 0..total {
        c.feed(
            format!("Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: X-{n:03}\r\n\r\n")
                .as_bytes(),
        );
    }
    let item_len =
        format!("Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: X-000\r\n\r\n").len();
    let fitting = 1000 / item_len;
    let mut failed = false;
    let mut dispatched = Vec::new();
    while let Some(input) = c.next_input() {
        match input {
            Input::Done(got, Err(_)) => {
                assert_eq!(got, id);
                assert!(dispatched.is_empty(), "the failure comes first");
                failed = true;
            }
            Input::Event(e) => dispatched.push(e.get_str("Channel").unwrap().to_owned()),
            other => panic!("{other:?}"),
        }
    }
    assert!(failed);
    assert_eq!(
        dispatched.first().map(String::as_str),
        Some(format!("X-{fitting:03}").as_str())
    );
    assert_eq!(dispatched.len(), total - fitting);
}

/// Legacy (`Response: Follows`) command output: the framer re-read the first
/// line of raw text from its start on every call, before and after it was
/// complete, so output trickling in cost time quadratic in that line's
/// length (about 7 s for a 300 KB line in 64-byte pieces in a debug build).
#[test]
fn legacy_command_output_is_not_rescanned() {
    use asterisk_io::ami::actions::Command;
    let mut c = Connection::default();
    c.feed(b"Asterisk Call Manager/1.3\r\n");
    let id = c.send(&Command::new("core show x")).unwrap();
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    let aid = out
        .lines()
        .find_map(|l| l.strip_prefix("ActionID: "))
        .unwrap()
        .to_owned();
    c.feed(b"Response: Follows\r\nPri");
    assert!(c.next_input().is_none());
    c.feed(format!("vilege: Command\r\nActionID: {aid}\r\n").as_bytes());
    let line = vec![b'a'; 300_000];
    let start = Instant::now();
    for part in [&line[..], b"\n", &line[..], b"\n--END COMMAND--\r\n\r\n"] {
        for chunk in part.chunks(64) {
            c.feed(chunk);
            if let Some(input) = c.next_input() {
                match input {
                    Input::Done(got, Ok(r)) => {
                        assert_eq!(got, id);
                        assert_eq!(r.response.get_str("Privilege"), Some("Command"));
                        let lines = r.output.unwrap().lines;
                        assert_eq!(lines.len(), 2);
                        assert!(lines.iter().all(|l| l.len() == 300_000));
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }
    let took = start.elapsed();
    assert!(c.pending_count() == 0);
    assert!(took < Duration::from_millis(1500), "{took:?}");
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

fn legacy_conn(max: usize) -> (Connection, String) {
    use asterisk_io::ami::actions::Command;
    let mut c = Connection::new(ManagerConfig::default().max_message_size(max));
    c.feed(b"Asterisk Call Manager/1.3\r\n");
    c.send(&Command::new("core show x")).unwrap();
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    let aid = out
        .lines()
        .find_map(|l| l.strip_prefix("ActionID: "))
        .unwrap()
        .to_owned();
    (c, aid)
}

fn summary(c: &mut Connection) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(input) = c.next_input() {
        seen.push(match input {
            Input::Event(e) => format!("event {}", e.name()),
            Input::Skipped(e) => format!("error {e}"),
            Input::Done(id, r) => format!("done {id} {}", r.is_ok()),
            Input::Unmatched(_) => "unmatched".into(),
        });
    }
    seen
}

/// An oversized legacy command output that arrived in pieces was skipped
/// only up to the first blank line of its CLI text: the rest of the text
/// was then framed as messages, one spurious error per blank line, where
/// the same bytes arriving at once gave one `Oversized` error.
#[test]
fn an_oversized_legacy_output_is_skipped_whole_at_every_split() {
    let (_, aid) = legacy_conn(1000);
    let mut body = String::new();
    for i in 0..200 {
        body.push_str(&format!("line {i}: some text\n"));
        if i % 10 == 0 {
            body.push('\n');
        }
    }
    let input = format!(
        "Response: Follows\r\nPrivilege: Command\r\nActionID: {aid}\r\n{body}--END COMMAND--\r\n\r\nEvent: After\r\n\r\n"
    );
    for chunk in [input.len(), 1000, 100, 7, 1] {
        let (mut c, aid2) = legacy_conn(1000);
        let input = input.replace(&aid, &aid2);
        let mut seen = Vec::new();
        for piece in input.as_bytes().chunks(chunk) {
            c.feed(piece);
            seen.extend(summary(&mut c));
        }
        assert_eq!(
            seen,
            [
                "error skipped message at byte 27: message larger than 1000 bytes",
                "event After"
            ],
            "pieces of {chunk}"
        );
    }
}

/// After `--END COMMAND--` the framer waited for the marker's line end
/// without a size check: a marker line that never ended grew the buffer
/// until the read buffer was full.
#[test]
fn an_endless_legacy_marker_line_is_bounded() {
    let (mut c, aid) = legacy_conn(1000);
    let mut input = format!(
        "Response: Follows\r\nPrivilege: Command\r\nActionID: {aid}\r\ntext\n--END COMMAND--"
    )
    .into_bytes();
    input.extend(std::iter::repeat_n(b'x', 500_000));
    input.extend_from_slice(b"\r\n\r\nEvent: After\r\n\r\n");
    let mut src = &input[..];
    let mut seen = Vec::new();
    while !src.is_empty() {
        c.read_from(&mut src).unwrap();
        seen.extend(summary(&mut c));
    }
    assert_eq!(
        seen,
        [
            "error skipped message at byte 27: message larger than 1000 bytes",
            "event After"
        ]
    );
}

/// A client that sends its last request and then closes its side (as
/// `printf 'Action: Logoff...' | nc` does) got no reply: the emulator
/// dropped the session on end of input with the reply still unwritten.
#[test]
fn the_emulator_answers_a_client_that_half_closes() {
    let emu = EmuThread::start();
    let mut s = std::net::TcpStream::connect(emu.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"Action: Logoff\r\nActionID: 9\r\n\r\n")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert!(got.starts_with("Asterisk Call Manager/"), "{got}");
    assert!(
        got.contains("Response: Goodbye\r\nActionID: 9\r\n"),
        "{got:?}"
    );
}
