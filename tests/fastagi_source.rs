//! The FastAGI `Server` as a `mio::event::Source` inside a host's own `Poll`:
//! deregistering keeps the calls, registering again (elsewhere, under another
//! token) resumes them, reregistering moves every connection, and the token
//! range is checked. Server and fake Asterisk share the test's thread: the
//! peers are non-blocking sockets read between two polls.

use asterisk_io::agi::commands::*;
use asterisk_io::agi::{Env, Script, Server};
use mio::{Events, Interest, Poll, Token};
use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

const RX: &[u8] = include_bytes!("fixtures/agi/fastagi-session.bin");

fn env_block() -> Vec<u8> {
    let end = RX.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    RX[..end].to_vec()
}

/// Three commands, then the server closes the socket.
fn script(_: &Env) -> Script<()> {
    let mut s = Script::new(());
    s.run(Answer).run(GetVariable::new("X")).run(Hangup::new());
    s
}

fn server() -> Server {
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    server.fallback(script);
    server
}

/// A fake Asterisk on a non-blocking socket.
struct Peer {
    sock: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Peer {
    fn connect(addr: SocketAddr) -> Peer {
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_nonblocking(true).unwrap();
        Peer {
            sock,
            buf: Vec::new(),
            eof: false,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.sock.set_nonblocking(false).unwrap();
        self.sock.write_all(bytes).unwrap();
        self.sock.set_nonblocking(true).unwrap();
    }

    /// Reads what is there; true if something arrived or the peer saw EOF.
    fn read(&mut self) {
        let mut chunk = [0u8; 4096];
        loop {
            match self.sock.read(&mut chunk) {
                Ok(0) => {
                    self.eof = true;
                    return;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A reset counts as the end too.
                Err(_) => {
                    self.eof = true;
                    return;
                }
            }
        }
    }

    fn line(&mut self) -> Option<String> {
        self.read();
        let end = self.buf.iter().position(|&b| b == b'\n')? + 1;
        let line: Vec<u8> = self.buf.drain(..end).collect();
        Some(String::from_utf8(line).unwrap())
    }
}

/// Polls `poll` and hands the server its events until `done`; every event
/// must carry a token the server owns (the host has no other source).
fn pump(poll: &mut Poll, server: &mut Server, mut done: impl FnMut(&mut Server) -> bool) {
    let mut events = Events::with_capacity(64);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done(server) {
        assert!(Instant::now() < deadline, "timed out: {:?}", server.stats());
        poll.poll(&mut events, Some(Duration::from_millis(10)))
            .unwrap();
        for ev in events.iter() {
            assert!(
                server.owns(ev.token()),
                "event for token {:?}, not one of the server's",
                ev.token()
            );
            server.handle_event(poll.registry(), ev);
        }
    }
}

/// Pumps until the peer has a whole line.
fn next_line(poll: &mut Poll, server: &mut Server, peer: &mut Peer) -> String {
    let mut got = None;
    pump(poll, server, |_| {
        got = peer.line();
        got.is_some()
    });
    got.unwrap()
}

#[test]
fn deregister_keeps_the_calls_and_register_resumes_them() {
    let mut poll = Poll::new().unwrap();
    let mut server = server();
    let addr = server.local_addr().unwrap();
    poll.registry()
        .register(&mut server, Token(10), Interest::READABLE)
        .unwrap();
    let mut peer = Peer::connect(addr);
    peer.send(&env_block());
    assert_eq!(next_line(&mut poll, &mut server, &mut peer), "ANSWER\n");

    poll.registry().deregister(&mut server).unwrap();
    // The call is still there, and its socket still open.
    assert_eq!(server.stats().active, 1);
    assert_eq!(server.stats().closed, 0);
    std::thread::sleep(Duration::from_millis(20));
    peer.read();
    assert!(!peer.eof, "deregister closed the connection");
    // Asterisk answers while the server is out of every registry; a second
    // caller connects meanwhile.
    peer.send(b"200 result=0\n");
    let mut late = Peer::connect(addr);
    late.send(&env_block());

    // Registered again with another Poll, under another token.
    let mut other = Poll::new().unwrap();
    other
        .registry()
        .register(&mut server, Token(1_000), Interest::READABLE)
        .unwrap();
    assert!(server.owns(Token(1_000)) && !server.owns(Token(10)));
    assert_eq!(
        next_line(&mut other, &mut server, &mut peer),
        "GET VARIABLE X\n"
    );
    assert_eq!(next_line(&mut other, &mut server, &mut late), "ANSWER\n");
    peer.send(b"200 result=1 (v)\n");
    assert_eq!(next_line(&mut other, &mut server, &mut peer), "HANGUP\n");
    peer.send(b"200 result=1\n");
    pump(&mut other, &mut server, |_| {
        peer.read();
        peer.eof
    });
    assert_eq!(server.stats().closed, 1);
    assert_eq!(server.stats().active, 1, "the late caller is still on");
}

#[test]
fn reregister_moves_every_live_connection() {
    let mut poll = Poll::new().unwrap();
    let mut server = server();
    let addr = server.local_addr().unwrap();
    poll.registry()
        .register(&mut server, Token(10), Interest::READABLE)
        .unwrap();
    let mut a = Peer::connect(addr);
    let mut b = Peer::connect(addr);
    a.send(&env_block());
    b.send(&env_block());
    assert_eq!(next_line(&mut poll, &mut server, &mut a), "ANSWER\n");
    assert_eq!(next_line(&mut poll, &mut server, &mut b), "ANSWER\n");

    poll.registry()
        .reregister(&mut server, Token(50_000), Interest::READABLE)
        .unwrap();
    assert!(!server.owns(Token(11)));
    // Replies now come in under the new tokens (`pump` checks each one).
    a.send(b"200 result=0\n");
    b.send(b"200 result=0\n");
    assert_eq!(
        next_line(&mut poll, &mut server, &mut a),
        "GET VARIABLE X\n"
    );
    assert_eq!(
        next_line(&mut poll, &mut server, &mut b),
        "GET VARIABLE X\n"
    );
    // So do new connections and the listener's.
    let mut c = Peer::connect(addr);
    c.send(&env_block());
    assert_eq!(next_line(&mut poll, &mut server, &mut c), "ANSWER\n");
    assert_eq!(server.stats().active, 3);
}

#[test]
fn a_token_range_past_usize_max_is_refused() {
    let mut poll = Poll::new().unwrap();
    let mut server = server();
    server.set_max_connections(10).unwrap();
    let err = poll
        .registry()
        .register(&mut server, Token(usize::MAX - 5), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // Nothing was registered: the same server registers fine elsewhere.
    poll.registry()
        .register(&mut server, Token(usize::MAX - 11), Interest::READABLE)
        .unwrap();
    let err = poll
        .registry()
        .reregister(&mut server, Token(usize::MAX), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // And it still serves under the base it had.
    let mut peer = Peer::connect(server.local_addr().unwrap());
    peer.send(&env_block());
    assert_eq!(next_line(&mut poll, &mut server, &mut peer), "ANSWER\n");
}

#[test]
fn the_default_token_range_is_small() {
    let poll = Poll::new().unwrap();
    let mut server = server();
    poll.registry()
        .register(&mut server, Token(0), Interest::READABLE)
        .unwrap();
    assert!(server.owns(Token(0)) && server.owns(Token(1)));
    assert!(
        !server.owns(Token(1 << 16)),
        "a host's tokens 65536 and up should be its own by default"
    );
    assert_eq!(
        server.tokens(),
        0..asterisk_io::agi::fastagi::DEFAULT_MAX_CONNECTIONS + 1
    );
}

#[test]
fn tokens_say_exactly_which_tokens_are_used() {
    let mut poll = Poll::new().unwrap();
    let mut server = server();
    server.set_max_connections(3).unwrap();
    poll.registry()
        .register(&mut server, Token(7), Interest::READABLE)
        .unwrap();
    assert_eq!(server.tokens(), 7..11);
    assert!(!server.owns(Token(6)) && server.owns(Token(7)));
    assert!(server.owns(Token(10)) && !server.owns(Token(11)));
    // The range cannot change under the registry's feet.
    let err = server.set_max_connections(100).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(server.tokens(), 7..11);

    let addr = server.local_addr().unwrap();
    let mut peers: Vec<Peer> = (0..3).map(|_| Peer::connect(addr)).collect();
    for p in peers.iter_mut() {
        p.send(&env_block());
    }
    for p in peers.iter_mut() {
        assert_eq!(next_line(&mut poll, &mut server, p), "ANSWER\n");
    }
    // A fourth call does not fit: closed at once.
    let mut extra = Peer::connect(addr);
    pump(&mut poll, &mut server, |s| s.stats().refused == 1);
    pump(&mut poll, &mut server, |_| {
        extra.read();
        extra.eof
    });

    // Deregistered, the range may change; the calls keep their sessions.
    poll.registry().deregister(&mut server).unwrap();
    assert_eq!(
        server.set_max_connections(2).unwrap_err().kind(),
        ErrorKind::InvalidInput,
        "three calls are in progress"
    );
    server.set_max_connections(5).unwrap();
    poll.registry()
        .register(&mut server, Token(100), Interest::READABLE)
        .unwrap();
    assert_eq!(server.tokens(), 100..106);
    for p in peers.iter_mut() {
        p.send(b"200 result=0\n");
        assert_eq!(next_line(&mut poll, &mut server, p), "GET VARIABLE X\n");
    }
}

#[test]
fn events_of_other_sources_are_ignored() {
    let mut poll = Poll::new().unwrap();
    let mut server = server();
    poll.registry()
        .register(&mut server, Token(10), Interest::READABLE)
        .unwrap();
    // The host's own listener, under a token below the server's base.
    let mut mine = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    poll.registry()
        .register(&mut mine, Token(3), Interest::READABLE)
        .unwrap();
    let _c = TcpStream::connect(mine.local_addr().unwrap()).unwrap();
    let mut events = Events::with_capacity(8);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = false;
    while !seen {
        assert!(Instant::now() < deadline);
        poll.poll(&mut events, Some(Duration::from_millis(10)))
            .unwrap();
        for ev in events.iter() {
            assert!(!server.owns(ev.token()));
            // A host that does not check `owns` must not crash the server.
            server.handle_event(poll.registry(), ev);
            seen = true;
        }
    }
    assert_eq!(server.stats(), Default::default());
}

/// A script whose `on_end` writes how the session ended into `log`.
fn logged(log: &Rc<RefCell<Vec<String>>>) -> impl FnMut(&Env) -> Script<()> + 'static {
    let log = log.clone();
    move |_: &Env| {
        let mut s = Script::new(());
        let log = log.clone();
        s.run(Answer).run(GetVariable::new("X"));
        s.on_end(move |_, e| log.borrow_mut().push(format!("{e:?}")));
        s
    }
}

#[test]
fn idle_timeout_closes_a_silent_call_when_its_time_comes() {
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let mut poll = Poll::new().unwrap();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    server.fallback(logged(&log));
    assert_eq!(server.poll_timeout(), None, "no call, nothing to time");
    server.set_env_timeout(None);
    server.set_idle_timeout(Some(Duration::from_secs(30)));
    poll.registry()
        .register(&mut server, Token(0), Interest::READABLE)
        .unwrap();
    let mut peer = Peer::connect(server.local_addr().unwrap());
    let sent = Instant::now();
    peer.send(&env_block());
    assert_eq!(next_line(&mut poll, &mut server, &mut peer), "ANSWER\n");
    // Asterisk (or the network) now says nothing: the call waits.
    let due = server.poll_timeout().expect("an idle deadline");
    assert!(due <= Instant::now() + Duration::from_secs(30), "{due:?}");
    assert!(due >= sent, "{due:?}");
    assert_eq!(server.handle_timeout(poll.registry(), Instant::now()), 0);
    assert_eq!(server.stats().active, 1);
    let later = Instant::now() + Duration::from_secs(31);
    assert_eq!(server.handle_timeout(poll.registry(), later), 1);
    assert_eq!(server.stats().active, 0);
    assert_eq!(server.poll_timeout(), None);
    pump(&mut poll, &mut server, |_| {
        peer.read();
        peer.eof
    });
    let log = log.borrow();
    assert_eq!(log.len(), 1);
    assert!(log[0].contains("TimedOut"), "{log:?}");
}

#[test]
fn input_moves_the_idle_deadline() {
    let mut poll = Poll::new().unwrap();
    let mut server = server();
    server.set_idle_timeout(Some(Duration::from_millis(300)));
    poll.registry()
        .register(&mut server, Token(0), Interest::READABLE)
        .unwrap();
    let mut peer = Peer::connect(server.local_addr().unwrap());
    peer.send(&env_block());
    assert_eq!(next_line(&mut poll, &mut server, &mut peer), "ANSWER\n");
    let first = server.poll_timeout().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    peer.send(b"200 result=0\n");
    assert_eq!(
        next_line(&mut poll, &mut server, &mut peer),
        "GET VARIABLE X\n"
    );
    // The early wakeup closes nothing and finds the later deadline.
    assert_eq!(server.handle_timeout(poll.registry(), first), 0);
    let second = server.poll_timeout().unwrap();
    assert!(second > first, "{first:?} {second:?}");
    assert_eq!(server.stats().active, 1);
}

#[test]
fn env_timeout_deadline_is_reported_and_applied() {
    let mut poll = Poll::new().unwrap();
    let mut server = server();
    poll.registry()
        .register(&mut server, Token(0), Interest::READABLE)
        .unwrap();
    let before = Instant::now();
    let mut peer = Peer::connect(server.local_addr().unwrap());
    peer.send(b"agi_network: yes\n");
    pump(&mut poll, &mut server, |s| s.stats().active == 1);
    let due = server.poll_timeout().expect("the env deadline");
    assert!(due >= before + Duration::from_secs(10), "{due:?}");
    assert!(due <= Instant::now() + Duration::from_secs(10), "{due:?}");
    assert_eq!(
        server.handle_timeout(poll.registry(), due - Duration::from_millis(1)),
        0
    );
    assert_eq!(server.handle_timeout(poll.registry(), due), 1);
    pump(&mut poll, &mut server, |_| {
        peer.read();
        peer.eof
    });
}

#[test]
fn close_all_ends_every_call() {
    let log: Rc<RefCell<Vec<String>>> = Rc::default();
    let mut poll = Poll::new().unwrap();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    server.fallback(logged(&log));
    poll.registry()
        .register(&mut server, Token(0), Interest::READABLE)
        .unwrap();
    let mut peer = Peer::connect(server.local_addr().unwrap());
    peer.send(&env_block());
    assert_eq!(next_line(&mut poll, &mut server, &mut peer), "ANSWER\n");
    assert_eq!(server.close_all(poll.registry()), 1);
    assert_eq!(server.stats().active, 0);
    assert_eq!(*log.borrow(), ["Some(Closed)"]);
    pump(&mut poll, &mut server, |_| {
        peer.read();
        peer.eof
    });
    // The listener stays.
    let mut next = Peer::connect(server.local_addr().unwrap());
    next.send(&env_block());
    assert_eq!(next_line(&mut poll, &mut server, &mut next), "ANSWER\n");
}
