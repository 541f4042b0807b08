//! Async AGI sessions end well wherever they stand: a hang-up (the `HANGUP`
//! line or the end of the connection) at every kind of await point, a
//! session dropped mid-command, and thousands of sessions at once over
//! loopback in one `Driver`, with timers and host-completed values.

use asterisk_io::agi::call::{oneshot, Call, CallTask, Sender};
use asterisk_io::agi::channel_events::ChannelEvents;
use asterisk_io::agi::commands::{Answer, Hangup, StreamFile};
use asterisk_io::agi::session::Session;
use asterisk_io::agi::{AgiError, Limits, Server};
use asterisk_io::ami::{Event, OwnedMessage};
use asterisk_io::driver::Driver;
use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

const ENV: &[u8] = b"agi_network: yes\nagi_network_script: all\nagi_channel: PJSIP/1-1\n\
                     agi_uniqueid: 1700.1\n\n";

type Log = Rc<RefCell<Vec<String>>>;

/// Sets its flag when dropped: shows a future's locals were dropped.
struct Guard(Rc<Cell<bool>>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

struct Fixture {
    session: Session<CallTask>,
    out: Vec<u8>,
    hub: ChannelEvents,
    tx: Option<Sender<u32>>,
    log: Log,
    dropped: Rc<Cell<bool>>,
    t0: Instant,
}

/// A session with one await point of each kind, in this order:
/// 0 a command, 1 a timer, 2 a host value, 3 a channel event, 4 a watched
/// event, 5 a command. Its cleanup logs how it ended.
fn fixture() -> Fixture {
    let hub = ChannelEvents::new();
    let (tx, rx) = oneshot::<u32>();
    let log = Log::default();
    let dropped = Rc::new(Cell::new(false));
    let (h, l, g) = (hub.clone(), log.clone(), Guard(dropped.clone()));
    let task = CallTask::new(move |call: Call| async move {
        let _guard = g;
        let r = async {
            call.run(Answer).await?;
            call.sleep(Duration::from_secs(1)).await?;
            let _v = call.or_hangup(rx).await?;
            call.event(&h, "DTMFEnd").await?;
            let mut w = call.watch(&h, "DTMFEnd");
            call.or_hangup(w.recv()).await?;
            call.run(Hangup::new()).await?;
            Ok::<(), AgiError>(())
        }
        .await;
        l.borrow_mut().push(format!("cleanup {r:?}"));
        r
    });
    let t0 = Instant::now();
    let mut f = Fixture {
        session: Session::new(Limits::default()),
        out: Vec::new(),
        hub,
        tx: Some(tx),
        log,
        dropped,
        t0,
    };
    let mut task = Some(task);
    f.session
        .handle_input(ENV, &mut f.out, |_| task.take(), &mut |_, _| {});
    f.session.handle_time(t0, &mut f.out, &mut |_, _| {});
    f
}

impl Fixture {
    fn feed(&mut self, b: &[u8]) {
        self.session
            .handle_input(b, &mut self.out, |_| None, &mut |_, _| {});
    }

    fn dtmf(&mut self) {
        let owned = OwnedMessage::from_pairs(&[
            ("Event", "DTMFEnd"),
            ("Uniqueid", "1700.1"),
            ("Digit", "1"),
        ]);
        self.hub
            .handle_event(&Event::from_message(owned.view()).unwrap());
        self.session.resume(&mut self.out, &mut |_, _| {});
    }

    /// Moves the session from await point `k` to `k + 1`.
    fn step(&mut self, k: usize) {
        match k {
            0 => self.feed(b"200 result=0\n"),
            1 => {
                let t = self.t0 + Duration::from_secs(1);
                self.session.handle_time(t, &mut self.out, &mut |_, _| {});
            }
            2 => {
                self.tx.take().unwrap().send(7).unwrap();
                self.session.resume(&mut self.out, &mut |_, _| {});
            }
            3 | 4 => self.dtmf(),
            _ => self.feed(b"200 result=1\n"),
        }
    }

    /// Nothing of the session is left behind.
    fn assert_clean(&self, what: &str) {
        assert!(self.session.is_done(), "{what}: session not done");
        assert_eq!(
            self.hub.stats().waiting,
            0,
            "{what}: a wait left in the hub"
        );
        assert!(
            self.tx.as_ref().map_or(true, |t| t.is_closed()),
            "{what}: receiver alive"
        );
        assert_eq!(self.session.poll_timeout(), None, "{what}: a timer left");
        assert!(self.dropped.get(), "{what}: the future was not dropped");
    }
}

#[test]
fn the_fixture_runs_to_the_end() {
    let mut f = fixture();
    for k in 0..6 {
        f.step(k);
    }
    assert_eq!(*f.log.borrow(), ["cleanup Ok(())"]);
    f.assert_clean("end");
}

#[test]
fn hangup_line_at_every_await_point() {
    for k in 0..6 {
        let mut f = fixture();
        for i in 0..k {
            f.step(i);
        }
        f.feed(b"HANGUP\n");
        if f.session.awaiting_reply() {
            // A command in flight: Asterisk answers it as on a dead channel.
            f.feed(b"511 Command Not Permitted on a dead channel or intercept routine\n");
        }
        let log = f.log.borrow().clone();
        assert_eq!(log.len(), 1, "point {k}: {log:?}");
        assert!(
            log[0].starts_with("cleanup Err(HungUp("),
            "point {k}: {log:?}"
        );
        f.assert_clean(&format!("HANGUP at point {k}"));
    }
}

#[test]
fn end_of_connection_at_every_await_point() {
    for k in 0..6 {
        let mut f = fixture();
        for i in 0..k {
            f.step(i);
        }
        f.session.handle_eof();
        assert_eq!(
            *f.log.borrow(),
            ["cleanup Err(HungUp(Eof))"],
            "EOF at point {k}"
        );
        f.assert_clean(&format!("EOF at point {k}"));
    }
}

/// The session itself dropped (the host drops it mid-command, or while it
/// waits): the future and everything it holds are dropped with it, its
/// waits leave the hub, its receiver closes. No cleanup code runs, since
/// the future is not polled again.
#[test]
fn session_dropped_at_every_await_point() {
    for k in 0..6 {
        let mut f = fixture();
        for i in 0..k {
            f.step(i);
        }
        let Fixture {
            session,
            hub,
            tx,
            log,
            dropped,
            ..
        } = f;
        assert!(!dropped.get());
        drop(session);
        assert!(dropped.get(), "point {k}");
        assert!(log.borrow().is_empty(), "point {k}");
        assert_eq!(hub.stats().waiting, 0, "point {k}");
        if let Some(tx) = tx {
            assert!(tx.is_closed(), "point {k}");
        }
    }
}

// ---------------------------------------------------------------------------
// Loopback
// ---------------------------------------------------------------------------

/// Asterisk's side of one call, non-blocking, served while the driver turns.
struct Peer {
    s: TcpStream,
    buf: Vec<u8>,
    lines: Vec<String>,
    closed: bool,
}

impl Peer {
    fn connect(addr: std::net::SocketAddr, script: &str, uid: usize) -> Peer {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "agi_network: yes\nagi_network_script: {script}\nagi_channel: PJSIP/x-{uid}\n\
             agi_uniqueid: {uid}\n\n"
        )
        .unwrap();
        s.set_nonblocking(true).unwrap();
        Peer {
            s,
            buf: Vec::new(),
            lines: Vec::new(),
            closed: false,
        }
    }

    /// Reads what came and answers every command line; true if it read.
    fn serve(&mut self) -> bool {
        if self.closed {
            return false;
        }
        let mut got = false;
        let mut b = [0u8; 1024];
        loop {
            match self.s.read(&mut b) {
                Ok(0) => {
                    self.closed = true;
                    return true;
                }
                Ok(n) => {
                    got = true;
                    self.buf.extend_from_slice(&b[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        while let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let line = String::from_utf8(line).unwrap();
            let reply: &[u8] = if line.starts_with("HANGUP") {
                b"200 result=1\n"
            } else {
                b"200 result=0\n"
            };
            self.s.write_all(reply).unwrap();
            self.lines.push(line);
        }
        got
    }
}

/// Runs the driver and serves the peers until all are closed; false if
/// that takes more than 60 s.
fn pump(driver: &mut Driver, peers: &mut [Peer], mut between: impl FnMut()) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while peers.iter().any(|p| !p.closed) {
        if Instant::now() > deadline {
            return false;
        }
        driver.poll(Some(Duration::from_millis(2))).unwrap();
        for p in peers.iter_mut() {
            p.serve();
        }
        between();
    }
    true
}

/// 2,000 sessions at once on one server in one loop: every one answers and
/// sleeps 20 ms (a timer each); every odd one also waits for a value the
/// host delivers only once all even ones have finished, which they do
/// meanwhile; then each plays a file and hangs up.
#[test]
fn two_thousand_concurrent_sessions_over_loopback() {
    const N: usize = 2000;
    type Pending = Rc<RefCell<Vec<(usize, Sender<usize>)>>>;
    let pending: Pending = Rc::default();
    let finished: Rc<RefCell<Vec<usize>>> = Rc::default();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (p, fin) = (pending.clone(), finished.clone());
    server.route_async("load", move |call: Call| {
        let (pending, finished) = (p.clone(), fin.clone());
        let uid: usize = call.env().unique_id().unwrap().parse().unwrap();
        async move {
            call.run(Answer).await?;
            if uid % 2 == 1 {
                let (tx, rx) = oneshot();
                pending.borrow_mut().push((uid, tx));
                let v = call.or_hangup(rx).await?.unwrap();
                assert_eq!(v, uid);
            }
            call.sleep(Duration::from_millis(20)).await?;
            call.run(StreamFile::new(format!("n-{uid}"), "")).await?;
            call.run(Hangup::new()).await?;
            finished.borrow_mut().push(uid);
            Ok(())
        }
    });
    let addr = server.local_addr().unwrap();
    let mut driver = Driver::new().unwrap();
    let srv = driver.add(server).unwrap();

    let mut peers = Vec::with_capacity(N);
    for uid in 0..N {
        peers.push(Peer::connect(addr, "load", uid));
        if uid % 100 == 99 {
            // Let the server accept a batch before the next.
            driver.poll(Some(Duration::ZERO)).unwrap();
        }
    }
    let mut released = false;
    let all_closed = pump(&mut driver, &mut peers, || {
        if !released && finished.borrow().len() == N / 2 && pending.borrow().len() == N / 2 {
            for (uid, tx) in std::mem::take(&mut *pending.borrow_mut()) {
                tx.send(uid).unwrap();
            }
            released = true;
        }
    });
    let finished = finished.borrow();
    let open = peers.iter().filter(|p| !p.closed).count();
    assert!(
        released && all_closed,
        "released {released}, finished {}, pending {}, open {open}; peer 0: {:?}",
        finished.len(),
        pending.borrow().len(),
        peers[0].lines,
    );
    assert_eq!(finished.len(), N);
    assert!(
        finished[..N / 2].iter().all(|u| u % 2 == 0),
        "evens went first"
    );
    for (uid, p) in peers.iter().enumerate() {
        assert_eq!(
            p.lines,
            [
                "ANSWER\n".to_string(),
                format!("STREAM FILE n-{uid} \"\"\n"),
                "HANGUP\n".to_string()
            ]
        );
    }
    let stats = driver.get(srv).stats();
    assert_eq!(
        (stats.accepted, stats.closed, stats.active),
        (N as u64, N as u64, 0)
    );
}

/// The server ends every call while commands are in flight (`close_all`):
/// each session's command fails with `Closed`, its cleanup runs, and
/// Asterisk's side sees the connection close.
#[test]
fn sessions_closed_by_the_server_mid_command() {
    let log = Log::default();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let l = log.clone();
    server.route_async("load", move |call: Call| {
        let l = l.clone();
        async move {
            let r = call.run(StreamFile::new("long", "")).await;
            l.borrow_mut().push(format!("{r:?}"));
            r.map(drop)
        }
    });
    let addr = server.local_addr().unwrap();
    let mut driver = Driver::new().unwrap();
    let srv = driver.add(server).unwrap();
    let mut peers: Vec<Peer> = (0..3).map(|u| Peer::connect(addr, "load", u)).collect();
    // Hold the replies back: read the commands without answering.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = 0;
    while seen < 3 {
        assert!(Instant::now() < deadline);
        driver.poll(Some(Duration::from_millis(2))).unwrap();
        for p in &mut peers {
            let mut b = [0u8; 256];
            if let Ok(n) = p.s.read(&mut b) {
                assert_eq!(&b[..n], b"STREAM FILE long \"\"\n");
                seen += 1;
            }
        }
    }
    let mut server = driver.remove(srv).unwrap();
    let poll = mio::Poll::new().unwrap();
    assert_eq!(server.close_all(poll.registry()), 3);
    assert_eq!(*log.borrow(), ["Err(Closed)"; 3]);
    for p in &mut peers {
        p.s.set_nonblocking(false).unwrap();
        let mut rest = Vec::new();
        p.s.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}
