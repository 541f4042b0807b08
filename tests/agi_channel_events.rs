//! The bridge from AMI events to async AGI sessions (`ChannelEvents`,
//! `Call::event`, `Call::watch`, `Call::or_hangup`): over the sans-IO
//! `Session` first, then over loopback with the emulator, a `Manager` and a
//! FastAGI server (and an AsyncAGI server) in one `Driver`.

use asterisk_io::agi::call::{oneshot, Call, CallTask};
use asterisk_io::agi::channel_events::{ChannelEvents, EventFilter};
use asterisk_io::agi::commands::{Answer, Hangup, SayDigits, StreamFile};
use asterisk_io::agi::session::{Direction, Session};
use asterisk_io::agi::{AgiError, HangupSource, Limits, Server};
use asterisk_io::ami::actions::Login;
use asterisk_io::ami::{Event, Manager, OwnedMessage};
use asterisk_io::driver::Driver;
use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};
use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::rc::Rc;
use std::time::Duration;

type Log = Rc<RefCell<Vec<String>>>;

fn env(uid: &str) -> Vec<u8> {
    format!(
        "agi_network: yes\nagi_network_script: ivr\nagi_channel: PJSIP/100-{uid}\n\
         agi_uniqueid: {uid}\n\n"
    )
    .into_bytes()
}

struct Drv {
    session: Session<CallTask>,
    out: Vec<u8>,
}

impl Drv {
    fn start(uid: &str, task: CallTask) -> Drv {
        let mut d = Drv {
            session: Session::new(Limits::default()),
            out: Vec::new(),
        };
        let env = env(uid);
        let mut task = Some(task);
        let p = d
            .session
            .handle_input(&env, &mut d.out, |_| task.take(), &mut |_, _| {});
        assert_eq!(p.consumed, env.len());
        d
    }

    fn feed(&mut self, bytes: &[u8]) -> bool {
        let p = self.session.handle_input(
            bytes,
            &mut self.out,
            |_| None,
            &mut |_: Direction, _: &[u8]| {},
        );
        p.done
    }

    fn resume(&mut self) -> bool {
        self.session.resume(&mut self.out, &mut |_, _| {})
    }

    fn sent(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut self.out)).unwrap()
    }
}

fn event(hub: &ChannelEvents, pairs: &[(&str, &str)]) -> usize {
    let owned = OwnedMessage::from_pairs(pairs);
    let ev = Event::from_message(owned.view()).unwrap();
    hub.handle_event(&ev)
}

fn dtmf(hub: &ChannelEvents, uid: &str, digit: &str) -> usize {
    event(
        hub,
        &[
            ("Event", "DTMFEnd"),
            ("Channel", &format!("PJSIP/100-{uid}")),
            ("Uniqueid", uid),
            ("Digit", digit),
            ("Direction", "Received"),
        ],
    )
}

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

/// A session that answers, waits for a digit pressed on its channel (an AMI
/// event), says it back and hangs up.
fn digit_session(hub: ChannelEvents, log: Log) -> CallTask {
    CallTask::new(move |call: Call| async move {
        let r = async {
            call.run(Answer).await?;
            let ev = call
                .event(
                    &hub,
                    EventFilter::name("DTMFEnd").header("Direction", "Received"),
                )
                .await?;
            let digit = ev.get_str("Digit").unwrap_or("").to_owned();
            call.run(SayDigits::new(digit, "")).await?;
            call.run(Hangup::new()).await?;
            Ok::<(), AgiError>(())
        }
        .await;
        push(&log, format!("end {r:?}"));
        r
    })
}

#[test]
fn a_session_waits_for_an_event_of_its_own_channel() {
    let hub = ChannelEvents::new();
    let log = Log::default();
    let mut d = Drv::start("1700.1", digit_session(hub.clone(), log.clone()));
    assert_eq!(d.sent(), "ANSWER\n");
    d.feed(b"200 result=0\n");
    assert_eq!(d.sent(), "");
    assert_eq!(hub.stats().waiting, 1);
    // Another channel's digit, and a digit this channel sent: not taken.
    assert_eq!(dtmf(&hub, "1700.2", "9"), 0);
    assert_eq!(
        event(
            &hub,
            &[
                ("Event", "DTMFEnd"),
                ("Uniqueid", "1700.1"),
                ("Digit", "8"),
                ("Direction", "Sent")
            ]
        ),
        0
    );
    assert!(!d.resume());
    assert_eq!(d.sent(), "");
    assert_eq!(dtmf(&hub, "1700.1", "4"), 1);
    assert!(!d.resume());
    assert_eq!(
        hub.stats().waiting,
        0,
        "the wait left the hub with its future"
    );
    assert_eq!(d.sent(), "SAY DIGITS 4 \"\"\n");
    d.feed(b"200 result=0\n");
    assert_eq!(d.sent(), "HANGUP\n");
    assert!(d.feed(b"200 result=1\n"));
    assert_eq!(*log.borrow(), ["end Ok(())"]);
}

/// The wait starts when `call.event(..)` is called: an event that arrives
/// while a command runs is kept for the `.await` after it.
#[test]
fn an_event_during_a_command_is_kept_for_the_await_after_it() {
    let hub = ChannelEvents::new();
    let h = hub.clone();
    let log = Log::default();
    let l = log.clone();
    let mut d = Drv::start(
        "1700.3",
        CallTask::new(move |call: Call| async move {
            let pressed = call.event(&h, "DTMFEnd");
            call.run(StreamFile::new("menu", "")).await?;
            let ev = pressed.await?;
            push(&l, ev.get_str("Digit").unwrap_or("?"));
            Ok(())
        }),
    );
    assert_eq!(d.sent(), "STREAM FILE menu \"\"\n");
    assert_eq!(dtmf(&hub, "1700.3", "2"), 1);
    assert!(d.feed(b"200 result=0 endpos=100\n"));
    assert_eq!(*log.borrow(), ["2"]);
}

/// Hang-up wins over a pending event wait: the HANGUP line, and the end of
/// the connection, each end the wait with `HungUp` and run the cleanup; the
/// wait leaves the hub.
#[test]
fn hang_up_wins_over_an_event_wait() {
    for eof in [false, true] {
        let hub = ChannelEvents::new();
        let log = Log::default();
        let mut d = Drv::start("1700.4", digit_session(hub.clone(), log.clone()));
        d.feed(b"200 result=0\n");
        assert_eq!(hub.stats().waiting, 1);
        if eof {
            d.session.handle_eof();
            assert_eq!(*log.borrow(), ["end Err(HungUp(Eof))"]);
        } else {
            assert!(d.feed(b"HANGUP\n"));
            assert_eq!(*log.borrow(), ["end Err(HungUp(HangupLine))"]);
        }
        assert!(d.session.is_done());
        assert_eq!(hub.stats().waiting, 0);
        // Later events for the channel find nobody.
        assert_eq!(dtmf(&hub, "1700.4", "1"), 0);
    }
}

/// A `Watch` keeps every matching event from its creation; `or_hangup`
/// reads it and still loses to a hang-up.
#[test]
fn watch_collects_digits_until_hangup() {
    let hub = ChannelEvents::new();
    let h = hub.clone();
    let log = Log::default();
    let l = log.clone();
    let mut d = Drv::start(
        "1700.5",
        CallTask::new(move |call: Call| async move {
            let mut digits = call.watch(&h, "DTMFEnd");
            call.run(Answer).await?;
            let mut got = String::new();
            let r = loop {
                match call.or_hangup(digits.recv()).await {
                    Ok(ev) => got.push_str(ev.get_str("Digit").unwrap_or("")),
                    Err(e) => break e,
                }
            };
            push(&l, format!("{got} {r:?}"));
            Ok(())
        }),
    );
    // Pressed before ANSWER's reply: buffered.
    dtmf(&hub, "1700.5", "1");
    dtmf(&hub, "1700.5", "2");
    d.feed(b"200 result=0\n");
    dtmf(&hub, "1700.5", "3");
    assert!(!d.resume());
    assert!(d.feed(b"HANGUP\n"));
    assert_eq!(*log.borrow(), ["123 HungUp(HangupLine)"]);
    assert_eq!(hub.stats().waiting, 0);
}

/// `or_hangup` over a host-completed value.
#[test]
fn or_hangup_ends_a_wait_for_a_host_value() {
    let (tx, rx) = oneshot::<u32>();
    let log = Log::default();
    let l = log.clone();
    let mut d = Drv::start(
        "1700.6",
        CallTask::new(move |call: Call| async move {
            let r = call.or_hangup(rx).await;
            push(&l, format!("{r:?}"));
            Ok(())
        }),
    );
    assert!(d.feed(b"HANGUP\n"));
    assert_eq!(*log.borrow(), ["Err(HungUp(HangupLine))"]);
    assert!(tx.is_closed());
    let _ = HangupSource::Eof;
}

/// Thousands of sessions wait for their own channel's digit; the events
/// come in reverse order, each wakes its session only.
#[test]
fn thousands_of_sessions_each_get_their_own_event() {
    const N: usize = 3000;
    let hub = ChannelEvents::new();
    let log = Log::default();
    let mut drvs: Vec<Drv> = (0..N)
        .map(|i| Drv::start(&format!("9.{i}"), digit_session(hub.clone(), log.clone())))
        .collect();
    for d in &mut drvs {
        assert_eq!(d.sent(), "ANSWER\n");
        d.feed(b"200 result=0\n");
    }
    assert_eq!(hub.stats().waiting, N);
    for i in (0..N).rev() {
        assert_eq!(dtmf(&hub, &format!("9.{i}"), &(i % 10).to_string()), 1);
    }
    for (i, d) in drvs.iter_mut().enumerate() {
        assert!(!d.resume());
        assert_eq!(d.sent(), format!("SAY DIGITS {} \"\"\n", i % 10));
        d.feed(b"200 result=0\n");
        assert!(d.feed(b"200 result=1\n"));
    }
    assert_eq!(log.borrow().len(), N);
    let s = hub.stats();
    assert_eq!((s.waiting, s.delivered), (0, N as u64));
}

// ---------------------------------------------------------------------------
// Loopback: emulator + manager + FastAGI server in one Driver
// ---------------------------------------------------------------------------

/// Asterisk's FastAGI side of one call, non-blocking, read while the
/// driver turns.
struct Peer {
    s: std::net::TcpStream,
    buf: Vec<u8>,
}

impl Peer {
    fn call(addr: std::net::SocketAddr, uid: &str) -> Peer {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(&env(uid)).unwrap();
        s.set_nonblocking(true).unwrap();
        Peer { s, buf: Vec::new() }
    }

    /// The next line, turning the driver until it comes ("" at EOF).
    fn line(&mut self, driver: &mut Driver) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = self.buf.drain(..=i).collect();
                return String::from_utf8(l).unwrap();
            }
            let mut b = [0u8; 512];
            match self.s.read(&mut b) {
                Ok(0) => return String::new(),
                Ok(n) => self.buf.extend_from_slice(&b[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "no line in time");
                    driver.poll(Some(Duration::from_millis(5))).unwrap();
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    fn expect(&mut self, driver: &mut Driver, cmd: &str, reply: &str) {
        assert_eq!(self.line(driver), format!("{cmd}\n"));
        self.s.write_all(reply.as_bytes()).unwrap();
    }

    /// Turns the driver a few times without expecting a line.
    fn quiet(&mut self, driver: &mut Driver) {
        for _ in 0..5 {
            driver.poll(Some(Duration::from_millis(2))).unwrap();
        }
        let mut b = [0u8; 64];
        assert!(matches!(self.s.read(&mut b), Err(e) if e.kind() == ErrorKind::WouldBlock));
    }
}

fn emulator_and_manager(
    driver: &mut Driver,
) -> (
    asterisk_io::driver::Handle<Emulator>,
    asterisk_io::driver::Handle<Manager>,
) {
    let config = EmulatorConfig::default().user("admin", "s3cret").script(
        "AGI",
        ScriptedReply::success(&[("Message", "Added AGI command to queue")]),
    );
    let emu = driver
        .add(Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap())
        .unwrap();
    let addr = driver.get(emu).local_addr().unwrap();
    let mgr = driver.add(Manager::connect(addr).unwrap()).unwrap();
    driver
        .login(mgr, &Login::new("admin", "s3cret"), Duration::from_secs(5))
        .unwrap();
    (emu, mgr)
}

#[test]
fn fastagi_sessions_wake_on_manager_events_in_one_driver() {
    let mut driver = Driver::new().unwrap();
    let (emu, mgr) = emulator_and_manager(&mut driver);
    let hub = ChannelEvents::new();
    hub.attach(driver.get_mut(mgr));

    let log = Log::default();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (h, l) = (hub.clone(), log.clone());
    server.route_async("ivr", move |call| {
        let (hub, log) = (h.clone(), l.clone());
        async move {
            let r = async {
                call.run(Answer).await?;
                let ev = call.event(&hub, "DTMFEnd").await?;
                let digit = ev.get_str("Digit").unwrap_or("").to_owned();
                call.run(SayDigits::new(digit, "")).await?;
                Ok::<(), AgiError>(())
            }
            .await;
            push(
                &log,
                format!("{} {r:?}", call.env().unique_id().unwrap_or("")),
            );
            r
        }
    });
    let addr = server.local_addr().unwrap();
    driver.add(server).unwrap();

    let mut a = Peer::call(addr, "100.1");
    let mut b = Peer::call(addr, "100.2");
    let mut c = Peer::call(addr, "100.3");
    a.expect(&mut driver, "ANSWER", "200 result=0\n");
    b.expect(&mut driver, "ANSWER", "200 result=0\n");
    c.expect(&mut driver, "ANSWER", "200 result=0\n");
    a.quiet(&mut driver);
    while hub.stats().waiting < 3 {
        driver.poll(Some(Duration::from_millis(5))).unwrap();
    }

    // b's digit: only b goes on; a and c keep waiting.
    driver.get_mut(emu).emit_event(
        "DTMFEnd",
        &[
            ("Channel", "PJSIP/100-100.2"),
            ("Uniqueid", "100.2"),
            ("Digit", "7"),
        ],
    );
    b.expect(&mut driver, "SAY DIGITS 7 \"\"", "200 result=0\n");
    assert_eq!(b.line(&mut driver), "", "closed after the session");
    a.quiet(&mut driver);

    // c hangs up while waiting: hang-up wins.
    c.s.write_all(b"HANGUP\n").unwrap();
    assert_eq!(c.line(&mut driver), "");

    driver.get_mut(emu).emit_event(
        "DTMFEnd",
        &[
            ("Channel", "PJSIP/100-100.1"),
            ("Uniqueid", "100.1"),
            ("Digit", "3"),
        ],
    );
    a.expect(&mut driver, "SAY DIGITS 3 \"\"", "200 result=0\n");
    assert_eq!(a.line(&mut driver), "");

    let log = log.borrow();
    assert!(log.contains(&"100.2 Ok(())".to_string()), "{log:?}");
    assert!(
        log.contains(&"100.3 Err(HungUp(HangupLine))".to_string()),
        "{log:?}"
    );
    assert!(log.contains(&"100.1 Ok(())".to_string()), "{log:?}");
    assert_eq!(hub.stats().waiting, 0);
}

/// AsyncAGI: the hub attached before the server; a session woken by a
/// channel event goes on within the same dispatch, with no `resume_on`.
#[test]
fn asyncagi_sessions_wake_on_channel_events() {
    use asterisk_io::agi::AsyncAgiServer;
    const CHANNEL: &str = "PJSIP/100-0000002a";
    let mut driver = Driver::new().unwrap();
    let (emu, mgr) = emulator_and_manager(&mut driver);
    let hub = ChannelEvents::new();
    hub.attach(driver.get_mut(mgr));
    let agi = AsyncAgiServer::new();
    let log = Log::default();
    let (h, l) = (hub.clone(), log.clone());
    agi.route_async("ivr", move |call| {
        let (hub, log) = (h.clone(), l.clone());
        async move {
            call.run(Answer).await?;
            let ev = call.event(&hub, "DTMFEnd").await?;
            let digit = ev.get_str("Digit").unwrap_or("").to_owned();
            call.run(SayDigits::new(digit.clone(), "")).await?;
            push(&log, format!("digit {digit}"));
            Ok(())
        }
    });
    agi.attach(driver.get_mut(mgr));
    let env = "agi_request%3A%20async%0Aagi_channel%3A%20PJSIP%2F100-0000002a%0A\
               agi_uniqueid%3A%201700.7%0Aagi_arg_1%3A%20ivr%0A%0A";
    driver
        .get_mut(emu)
        .emit_event("AsyncAGIStart", &[("Channel", CHANNEL), ("Env", env)]);

    let mut answered = Vec::new();
    let mut pressed = false;
    let done = driver
        .run_until(Duration::from_secs(10), |driver| {
            if let Some(cmd) = agi.in_flight(CHANNEL) {
                if !answered.contains(&cmd.command_id) {
                    answered.push(cmd.command_id.clone());
                    driver.get_mut(emu).emit_event(
                        "AsyncAGIExec",
                        &[
                            ("Channel", CHANNEL),
                            ("CommandId", &cmd.command_id),
                            ("Result", "200%20result%3D0%0A"),
                        ],
                    );
                }
            } else if answered.len() == 1 && hub.stats().waiting == 1 && !pressed {
                // Waiting for the digit: press it.
                driver.get_mut(emu).emit_event(
                    "DTMFEnd",
                    &[("Channel", CHANNEL), ("Uniqueid", "1700.7"), ("Digit", "5")],
                );
                pressed = true;
            }
            !log.borrow().is_empty()
        })
        .unwrap();
    assert!(done, "answered {answered:?}, hub {:?}", hub.stats());
    assert_eq!(*log.borrow(), ["digit 5"]);
    assert_eq!(hub.stats().waiting, 0);
}

/// 500 FastAGI sessions wait at once for a digit of their own channel; the
/// emulator sends the 500 events in reverse order over the manager
/// connection; each session says its own digit back.
#[test]
fn five_hundred_fastagi_sessions_wait_for_their_channel_events() {
    const N: usize = 500;
    let mut driver = Driver::new().unwrap();
    let (emu, mgr) = emulator_and_manager(&mut driver);
    let hub = ChannelEvents::new();
    hub.attach(driver.get_mut(mgr));
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let h = hub.clone();
    server.route_async("ivr", move |call| {
        let hub = h.clone();
        async move {
            call.run(Answer).await?;
            let ev = call.event(&hub, "DTMFEnd").await?;
            let digit = ev.get_str("Digit").unwrap_or("").to_owned();
            call.run(SayDigits::new(digit, "")).await?;
            Ok(())
        }
    });
    let addr = server.local_addr().unwrap();
    driver.add(server).unwrap();

    let mut peers: Vec<Peer> = Vec::with_capacity(N);
    for i in 0..N {
        peers.push(Peer::call(addr, &format!("7.{i}")));
        if i % 100 == 99 {
            driver.poll(Some(Duration::ZERO)).unwrap();
        }
    }
    // Every peer answers its ANSWER; then all wait.
    let mut answered = vec![false; N];
    let mut said = vec![None; N];
    let mut closed = vec![false; N];
    let mut emitted = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while closed.iter().any(|c| !c) {
        assert!(
            std::time::Instant::now() < deadline,
            "answered {}, waiting {}, said {}, closed {}",
            answered.iter().filter(|a| **a).count(),
            hub.stats().waiting,
            said.iter().filter(|s| s.is_some()).count(),
            closed.iter().filter(|c| **c).count()
        );
        driver.poll(Some(Duration::from_millis(2))).unwrap();
        for (i, p) in peers.iter_mut().enumerate() {
            if closed[i] {
                continue;
            }
            let mut b = [0u8; 256];
            match p.s.read(&mut b) {
                Ok(0) => closed[i] = true,
                Ok(n) => p.buf.extend_from_slice(&b[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            while let Some(k) = p.buf.iter().position(|&c| c == b'\n') {
                let line: Vec<u8> = p.buf.drain(..=k).collect();
                let line = String::from_utf8(line).unwrap();
                if line == "ANSWER\n" {
                    answered[i] = true;
                } else {
                    said[i] = Some(line);
                }
                p.s.write_all(b"200 result=0\n").unwrap();
            }
        }
        if !emitted && hub.stats().waiting == N {
            for i in (0..N).rev() {
                driver.get_mut(emu).emit_event(
                    "DTMFEnd",
                    &[
                        ("Channel", &format!("PJSIP/100-7.{i}")),
                        ("Uniqueid", &format!("7.{i}")),
                        ("Digit", &(i % 10).to_string()),
                    ],
                );
            }
            emitted = true;
        }
    }
    for (i, s) in said.iter().enumerate() {
        assert_eq!(
            s.as_deref(),
            Some(format!("SAY DIGITS {} \"\"\n", i % 10).as_str())
        );
    }
    let s = hub.stats();
    assert_eq!((s.waiting, s.delivered), (0, N as u64));
}
