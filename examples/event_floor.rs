//! The floor for `event_rate`: the same socket and login, but no parsing at
//! all, only counting blank lines with `memchr::memmem`. It shows what
//! reading the socket costs on this machine, so `event_rate` figures can be
//! read as a ratio of it.
//!
//! `cargo run --release --example event_floor -- --addr 127.0.0.1:PORT --count N`

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn main() {
    let mut addr = "127.0.0.1:5038".to_owned();
    let mut count: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--addr", Some(v)) => addr = v,
            ("--count", Some(v)) => count = v.parse().expect("--count takes a number"),
            ("--user" | "--secret", Some(_)) => {}
            _ => {
                eprintln!("usage: event_floor --addr HOST:PORT --count N");
                std::process::exit(2);
            }
        }
    }
    let mut s = TcpStream::connect(&addr).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    s.write_all(b"Action: Login\r\nUsername: u\r\nSecret: s\r\n\r\n")
        .expect("write login");
    let finder = memchr::memmem::Finder::new(b"\r\n\r\n");
    let mut buf = vec![0u8; 64 * 1024];
    let (mut blocks, mut carry) = (0u64, 0usize);
    let mut start = None;
    // Blocks: the login response, then events; the clock starts at the first event.
    while blocks < count + 1 {
        let n = s.read(&mut buf[carry..]).expect("read");
        if n == 0 {
            break;
        }
        let end = carry + n;
        let mut at = 0;
        for i in finder.find_iter(&buf[..end]) {
            blocks += 1;
            at = i + 4;
            if blocks == 1 {
                start = Some(Instant::now());
            }
        }
        // Keep the tail that may hold half a terminator.
        let keep = (end - at).min(3);
        buf.copy_within(end - keep..end, 0);
        carry = keep;
    }
    let secs = start.expect("events came").elapsed().as_secs_f64();
    let events = blocks - 1;
    println!(
        "events={events} seconds={secs:.3} rate={:.0}/s",
        events as f64 / secs
    );
}
