//! FastAGI over real loopback TCP: the server runs on one thread (the test's
//! helper thread owns it); a test-side fake Asterisk drives many concurrent
//! sessions on plain blocking sockets.

use asterisk_io::agi::commands::*;
use asterisk_io::agi::{Env, Script, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

const RX: &[u8] = include_bytes!("fixtures/agi/fastagi-session.bin");

fn env_block(script: &str) -> Vec<u8> {
    let end = RX.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    let env = String::from_utf8(RX[..end].to_vec()).unwrap();
    env.replace(
        "agi_network_script: test\n",
        &format!("agi_network_script: {script}\n"),
    )
    .into_bytes()
}

/// Start a server on its own thread; returns its address and a stop flag.
fn start(
    setup: impl FnOnce(&mut Server) + Send + 'static,
) -> (SocketAddr, Arc<AtomicBool>, thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let flag = stop.clone();
    let h = thread::spawn(move || {
        let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        setup(&mut server);
        tx.send(server.local_addr().unwrap()).unwrap();
        server.run_until(|_| flag.load(Ordering::Relaxed)).unwrap();
    });
    (rx.recv().unwrap(), stop, h)
}

/// Asterisk's answer to a command line.
fn answer(line: &str) -> &'static [u8] {
    if line.starts_with("ANSWER") {
        b"200 result=0\n"
    } else if line.starts_with("GET VARIABLE") {
        b"200 result=1 (4105551234)\n"
    } else if line.starts_with("STREAM FILE") {
        b"200 result=0 endpos=8000\n"
    } else if line.starts_with("HANGUP") {
        b"200 result=1\nHANGUP\n"
    } else {
        b"200 result=1\n"
    }
}

fn bench_script(_: &Env) -> Script<()> {
    let mut s = Script::new(());
    s.run(Answer)
        .run(GetVariable::new("CALLERID(num)"))
        .run(SetVariable::new("BENCH", "1"))
        .run(StreamFile::new("beep", ""))
        .run(Hangup::new());
    s
}

#[test]
fn many_concurrent_sessions_run_the_script_and_get_closed() {
    let (addr, stop, h) = start(|s| {
        s.route("bench", bench_script);
    });
    const N: usize = 300;
    // Open all N sessions first so they are all in flight at once.
    let mut conns: Vec<BufReader<TcpStream>> = (0..N)
        .map(|_| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c.write_all(&env_block("bench?x=1")).unwrap();
            BufReader::new(c)
        })
        .collect();
    let expected = [
        "ANSWER\n",
        "GET VARIABLE CALLERID(num)\n",
        "SET VARIABLE BENCH \"1\"\n",
        "STREAM FILE beep \"\"\n",
        "HANGUP\n",
    ];
    for want in expected {
        for c in conns.iter_mut() {
            let mut line = String::new();
            c.read_line(&mut line).unwrap();
            assert_eq!(line, want);
            c.get_mut().write_all(answer(&line)).unwrap();
        }
    }
    for c in conns.iter_mut() {
        let mut rest = Vec::new();
        // The server closes the socket after the script: EOF, nothing more
        // (a reset is acceptable too: our HANGUP line may arrive after close).
        let _ = c.read_to_end(&mut rest);
        assert!(rest.is_empty());
    }
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
}

#[test]
fn routing_by_script_path_with_query_and_typed_callbacks() {
    let log: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let l2 = log.clone();
    let (addr, stop, h) = start(move |s| {
        let la = l2.clone();
        s.route("/ivr/main", move |env: &Env| {
            let la = la.clone();
            let lang = env.query_param("lang").unwrap_or_default();
            let mut sc = Script::new(lang);
            sc.then(GetVariable::new("CALLERID(num)"), move |s, r| {
                la.lock()
                    .unwrap()
                    .push(format!("ivr {} {:?}", s.state, r.unwrap()));
                s.run(SayDigits::new("4105551234", ""));
            });
            sc.run(Hangup::new());
            sc
        });
        let lb = l2.clone();
        s.fallback(move |env: &Env| {
            lb.lock()
                .unwrap()
                .push(format!("fallback {}", env.script_path()));
            let mut sc = Script::new(());
            sc.run(Noop::new());
            sc
        });
    });
    let talk = |script: &str| -> Vec<String> {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(&env_block(script)).unwrap();
        let mut r = BufReader::new(c);
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            r.get_mut().write_all(answer(&line)).unwrap();
            lines.push(line);
        }
        lines
    };
    assert_eq!(
        talk("ivr/main?lang=fr"),
        vec![
            "GET VARIABLE CALLERID(num)\n",
            "SAY DIGITS 4105551234 \"\"\n",
            "HANGUP\n"
        ]
    );
    assert_eq!(talk("other"), vec!["NOOP\n"]);
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "ivr fr Some(\"4105551234\")".to_string(),
            "fallback other".to_string()
        ]
    );
}

#[test]
fn dead_channel_stops_a_fire_and_forget_script() {
    let (addr, stop, h) = start(|s| {
        s.fallback(|_: &Env| {
            let mut sc = Script::new(());
            sc.run(Answer)
                .run(StreamFile::new("beep", ""))
                .run(Noop::new());
            sc
        });
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(&env_block("x")).unwrap();
    let mut r = BufReader::new(c);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "ANSWER\n");
    r.get_mut()
        .write_all(b"HANGUP\n511 Command Not Permitted on a dead channel or intercept routine\n")
        .unwrap();
    let mut rest = String::new();
    let _ = r.read_to_string(&mut rest);
    assert_eq!(rest, "", "no further command after 511");
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
}

#[test]
fn peer_closing_mid_session_and_garbage_do_not_hurt_the_server() {
    let (addr, stop, h) = start(|s| {
        s.fallback(bench_script);
    });
    // Close inside the environment block.
    {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"agi_network: yes\nagi_chan").unwrap();
    }
    // Garbage environment.
    {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"this is not agi\n\n").unwrap();
        let mut v = Vec::new();
        let _ = c.read_to_end(&mut v);
        assert!(v.is_empty());
    }
    // Close while a command is in flight.
    {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(&env_block("x")).unwrap();
        let mut r = BufReader::new(c);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "ANSWER\n");
    }
    // The server still serves a normal session.
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(&env_block("x")).unwrap();
    let mut r = BufReader::new(c);
    let mut n = 0;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        n += 1;
        r.get_mut().write_all(answer(&line)).unwrap();
    }
    assert_eq!(n, 5);
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
}

#[test]
fn silent_connection_is_closed_after_env_timeout() {
    let (addr, stop, h) = start(|s| {
        s.set_env_timeout(Some(Duration::from_millis(200)));
        s.fallback(bench_script);
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"agi_network: yes\n").unwrap();
    let t = std::time::Instant::now();
    let mut v = Vec::new();
    let _ = c.read_to_end(&mut v);
    assert!(v.is_empty());
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
}

#[test]
fn silent_call_is_closed_after_idle_timeout() {
    let (addr, stop, h) = start(|s| {
        s.set_idle_timeout(Some(Duration::from_millis(300)));
        s.fallback(bench_script);
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(&env_block("x")).unwrap();
    let mut r = BufReader::new(c);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "ANSWER\n");
    // Asterisk says nothing more: the server gives up on the call.
    let t = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    assert!(rest.is_empty());
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
}
