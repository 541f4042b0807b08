//! Async FastAGI sessions over loopback TCP. The server runs on its own
//! thread in a host loop of the test's own (mio `Poll`, the server's
//! `poll_timeout`/`handle_timeout`), which also completes one-shot values
//! the sessions wait for ("database lookups") when the test says so.

use asterisk_io::agi::call::{oneshot, Call, Sender};
use asterisk_io::agi::commands::*;
use asterisk_io::agi::{AgiError, Env, Script, Server};
use mio::{Events, Interest, Poll, Token};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

type Lookups = Rc<RefCell<VecDeque<Sender<String>>>>;

struct Host {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
    /// Completes the oldest pending lookup with this value.
    answer: mpsc::Sender<String>,
    /// What the sessions report (cleanup lines, ...).
    log: mpsc::Receiver<String>,
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn env_block(script: &str) -> Vec<u8> {
    format!(
        "agi_network: yes\nagi_network_script: {script}\nagi_request: agi://127.0.0.1/{script}\n\
         agi_channel: SIP/100-00000001\nagi_version: 20.5.0\n\n"
    )
    .into_bytes()
}

/// The IVR of issue 14: play the menu, read a digit; a wrong digit is said
/// to be wrong and the menu comes again; three tries, then the operator.
/// Digit 1 looks the caller up (a value the host delivers later) and
/// greets them by the result.
async fn ivr(call: Call, lookups: Lookups, log: mpsc::Sender<String>) -> Result<(), AgiError> {
    let r: Result<(), AgiError> = async {
        call.run(Answer).await?;
        for _ in 0..3 {
            let d = call
                .run(GetData::new("menu").timeout_ms(5000).max_digits(1))
                .await?;
            if d.digits == "1" {
                let (tx, rx) = oneshot();
                lookups.borrow_mut().push_back(tx);
                let name = rx.await.unwrap_or_else(|_| "unknown".into());
                call.run(StreamFile::new(format!("hello-{name}"), ""))
                    .await?;
                call.run(Hangup::new()).await?;
                return Ok(());
            }
            call.run(StreamFile::new("invalid", "")).await?;
        }
        call.run(Exec::new("Transfer", "SIP/operator")).await?;
        Ok(())
    }
    .await;
    let _ = log.send(format!("cleanup {r:?}"));
    r
}

fn start() -> Host {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr_tx, addr_rx) = mpsc::channel();
    let (answer, answers) = mpsc::channel::<String>();
    let (log_tx, log) = mpsc::channel::<String>();
    let flag = stop.clone();
    let thread = thread::spawn(move || {
        let lookups: Lookups = Rc::default();
        let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let (l, lt) = (lookups.clone(), log_tx.clone());
        server.route_async("ivr", move |call| ivr(call, l.clone(), lt.clone()));
        let lt = log_tx.clone();
        server.route_async("sleepy", move |call: Call| {
            let lt = lt.clone();
            // The environment is there before the future runs.
            let channel = call.env().channel().unwrap_or("").to_string();
            assert_eq!(channel, "SIP/100-00000001");
            async move {
                call.run(Answer).await?;
                let t = Instant::now();
                call.sleep(Duration::from_millis(200)).await?;
                let _ = lt.send(format!("slept {}", t.elapsed().as_millis()));
                call.run(Verbose::new("slept", 1)).await?;
                Ok(())
            }
        });
        server.route("script", |_: &Env| {
            let mut s = Script::new(());
            s.run(Answer).run(Hangup::new());
            s
        });
        addr_tx.send(server.local_addr().unwrap()).unwrap();
        let mut poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut server, Token(0), Interest::READABLE)
            .unwrap();
        let mut events = Events::with_capacity(256);
        while !flag.load(Ordering::Relaxed) {
            let now = Instant::now();
            let mut wait = Duration::from_millis(5);
            if let Some(t) = server.poll_timeout() {
                wait = wait.min(t.saturating_duration_since(now));
            }
            poll.poll(&mut events, Some(wait)).unwrap();
            for ev in events.iter() {
                server.handle_event(poll.registry(), ev);
            }
            // The host's own work: lookups the test answered.
            while let Ok(v) = answers.try_recv() {
                let tx = lookups.borrow_mut().pop_front().expect("a pending lookup");
                let _ = tx.send(v);
            }
            server.handle_timeout(poll.registry(), Instant::now());
        }
    });
    Host {
        addr: addr_rx.recv().unwrap(),
        stop,
        thread: Some(thread),
        answer,
        log,
    }
}

/// The fake Asterisk end of one call.
struct Peer {
    r: BufReader<TcpStream>,
}

impl Peer {
    fn call(addr: SocketAddr, script: &str) -> Peer {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(&env_block(script)).unwrap();
        Peer {
            r: BufReader::new(c),
        }
    }

    /// The next command line the session sent.
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l
    }

    fn expect(&mut self, cmd: &str, reply: &str) {
        assert_eq!(self.line(), format!("{cmd}\n"));
        self.r.get_mut().write_all(reply.as_bytes()).unwrap();
    }

    fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        self.r.read_to_end(&mut rest).unwrap();
        assert_eq!(String::from_utf8_lossy(&rest), "");
    }
}

const MENU: &str = "GET DATA menu 5000 1";

#[test]
fn ivr_three_wrong_digits_then_the_operator() {
    let host = start();
    let mut p = Peer::call(host.addr, "ivr");
    p.expect("ANSWER", "200 result=0\n");
    for d in ["7", "", "9"] {
        p.expect(MENU, &format!("200 result={d}\n"));
        p.expect("STREAM FILE invalid \"\"", "200 result=0 endpos=100\n");
    }
    p.expect("EXEC Transfer SIP/operator", "200 result=0\n");
    p.expect_closed();
    assert_eq!(host.log.recv().unwrap(), "cleanup Ok(())");
}

/// One call waits for its lookup while others run to the end; the lookup
/// answered by the test (through the host loop) resumes it.
#[test]
fn a_call_waiting_for_a_host_value_does_not_hold_up_others() {
    let host = start();
    let mut waiting = Peer::call(host.addr, "ivr");
    waiting.expect("ANSWER", "200 result=0\n");
    waiting.expect(MENU, "200 result=1\n");
    // Meanwhile other calls, async and Script, go all the way.
    for _ in 0..5 {
        let mut s = Peer::call(host.addr, "script");
        s.expect("ANSWER", "200 result=0\n");
        s.expect("HANGUP", "200 result=1\n");
        s.expect_closed();
        let mut o = Peer::call(host.addr, "ivr");
        o.expect("ANSWER", "200 result=0\n");
        for _ in 0..3 {
            o.expect(MENU, "200 result=5\n");
            o.expect("STREAM FILE invalid \"\"", "200 result=0\n");
        }
        o.expect("EXEC Transfer SIP/operator", "200 result=0\n");
        o.expect_closed();
        assert_eq!(host.log.recv().unwrap(), "cleanup Ok(())");
    }
    host.answer.send("alice".into()).unwrap();
    waiting.expect("STREAM FILE hello-alice \"\"", "200 result=0\n");
    waiting.expect("HANGUP", "200 result=1\nHANGUP\n");
    waiting.expect_closed();
    assert_eq!(host.log.recv().unwrap(), "cleanup Ok(())");
}

/// Asterisk goes away in the middle of the menu: the code after `?` (the
/// cleanup) runs with the hang-up error, and the server closes the call.
#[test]
fn hang_up_mid_session_runs_the_cleanup() {
    let host = start();
    let mut p = Peer::call(host.addr, "ivr");
    p.expect("ANSWER", "200 result=0\n");
    assert_eq!(p.line(), format!("{MENU}\n"));
    drop(p);
    assert_eq!(
        host.log.recv_timeout(Duration::from_secs(10)).unwrap(),
        "cleanup Err(HungUp(Eof))"
    );
    // Also while waiting for the lookup: the future is dropped, the
    // cleanup does not run (it is after the await), the lookup's sender
    // learns that no one waits.
    let mut p = Peer::call(host.addr, "ivr");
    p.expect("ANSWER", "200 result=0\n");
    p.expect(MENU, "200 result=1\n");
    drop(p);
    thread::sleep(Duration::from_millis(100));
    host.answer.send("bob".into()).unwrap();
    let mut q = Peer::call(host.addr, "script");
    q.expect("ANSWER", "200 result=0\n");
    q.expect("HANGUP", "200 result=1\n");
    q.expect_closed();
    assert!(host.log.try_recv().is_err());
}

#[test]
fn a_timer_fires_from_the_host_loop() {
    let host = start();
    let mut p = Peer::call(host.addr, "sleepy");
    p.expect("ANSWER", "200 result=0\n");
    let t = Instant::now();
    p.expect("VERBOSE \"slept\" 1", "200 result=1\n");
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(190), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    p.expect_closed();
    let slept = host.log.recv().unwrap();
    assert!(slept.starts_with("slept "), "{slept}");
}

#[test]
fn many_concurrent_async_sessions() {
    let host = start();
    const N: usize = 200;
    let mut peers: Vec<Peer> = (0..N).map(|_| Peer::call(host.addr, "ivr")).collect();
    for p in &mut peers {
        p.expect("ANSWER", "200 result=0\n");
    }
    for _ in 0..3 {
        for p in &mut peers {
            p.expect(MENU, "200 result=4\n");
        }
        for p in &mut peers {
            p.expect("STREAM FILE invalid \"\"", "200 result=0\n");
        }
    }
    for p in &mut peers {
        p.expect("EXEC Transfer SIP/operator", "200 result=0\n");
    }
    for p in &mut peers {
        p.expect_closed();
    }
    for _ in 0..N {
        assert_eq!(host.log.recv().unwrap(), "cleanup Ok(())");
    }
}

/// `HANGUP` from Asterisk while the IVR reads a digit: the next command
/// gets 511, the cleanup runs with `HungUp(DeadChannel)`, the server closes.
#[test]
fn hangup_line_then_511_ends_the_ivr_with_cleanup() {
    let host = start();
    let mut p = Peer::call(host.addr, "ivr");
    p.expect("ANSWER", "200 result=0\n");
    p.expect(MENU, "HANGUP\n200 result=-1\n");
    // GET DATA's -1 is a failure: the IVR's `?` ends it.
    p.expect_closed();
    let line = host.log.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(line.starts_with("cleanup Err(Failed"), "{line}");

    let mut p = Peer::call(host.addr, "ivr");
    p.expect("ANSWER", "200 result=0\n");
    p.expect(MENU, "HANGUP\n200 result=3\n");
    p.expect(
        "STREAM FILE invalid \"\"",
        "511 Command Not Permitted on a dead channel or intercept routine\n",
    );
    p.expect_closed();
    assert_eq!(
        host.log.recv_timeout(Duration::from_secs(10)).unwrap(),
        "cleanup Err(HungUp(DeadChannel))"
    );
}
