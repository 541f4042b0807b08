//! How many events a second the emulator pushes to 1 and to 100 clients.
//!
//! ```text
//! cargo run --release --example emu_rate [EVENTS_PER_CLIENT]
//! ```
//!
//! The emulator runs on this thread; each client is a thread with a
//! blocking socket that counts the events it reads. A `Newchannel`-sized
//! event (about 450 bytes, 16 headers) is emitted in batches, with the
//! emulator's queued output kept under 1 MiB a client. Prints events/s
//! (every client's events counted) and MB/s.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use asterisk_io::emu::{Emulator, EmulatorConfig};

fn client(addr: std::net::SocketAddr, want: usize) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"Action: Login\r\nUsername: admin\r\nSecret: secret\r\nEvents: call\r\n\r\n")
            .unwrap();
        let finder = memchr::memmem::Finder::new(b"Event: Newchannel\r\n");
        let mut buf = vec![0u8; 256 * 1024];
        let mut carry: Vec<u8> = Vec::new();
        let mut seen = 0;
        while seen < want {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            // Count whole markers, keeping a tail that may hold a split one.
            carry.extend_from_slice(&buf[..n]);
            seen += finder.find_iter(&carry).count();
            let keep = carry.len().min(18);
            let tail = carry[carry.len() - keep..].to_vec();
            carry = tail;
        }
        seen
    })
}

fn run(clients: usize, per_client: usize) {
    let config = EmulatorConfig::default()
        .user("admin", "secret")
        .max_clients(clients + 8);
    let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let addr = emu.local_addr().unwrap();
    let handles: Vec<_> = (0..clients).map(|_| client(addr, per_client)).collect();
    while emu.session_count() < clients || emu.pending_output() > 0 {
        emu.poll(Some(Duration::from_millis(1))).unwrap();
    }
    // Let the logins land before timing.
    for _ in 0..50 {
        emu.poll(Some(Duration::from_millis(1))).unwrap();
    }
    let headers: &[(&str, &str)] = &[
        ("Channel", "PJSIP/1000-0000002a"),
        ("ChannelState", "0"),
        ("ChannelStateDesc", "Down"),
        ("CallerIDNum", "1000"),
        ("CallerIDName", "Alice"),
        ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"),
        ("Language", "en"),
        ("AccountCode", ""),
        ("Context", "from-internal"),
        ("Exten", "2000"),
        ("Priority", "1"),
        ("Uniqueid", "1795669103.42"),
        ("Linkedid", "1795669103.42"),
    ];
    let start = Instant::now();
    let mut sent = 0;
    let cap = clients << 20;
    while sent < per_client {
        let batch = 256.min(per_client - sent);
        for _ in 0..batch {
            emu.emit_event_as("call", "Newchannel", headers);
        }
        sent += batch;
        emu.poll(Some(Duration::ZERO)).unwrap();
        while emu.pending_output() > cap {
            emu.poll(Some(Duration::from_millis(1))).unwrap();
        }
    }
    while emu.pending_output() > 0 {
        emu.poll(Some(Duration::from_millis(1))).unwrap();
    }
    let mut total = 0;
    for h in handles {
        total += h.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = total as f64 * 450.0;
    println!(
        "{clients:>3} client(s): {total} events in {secs:.2} s = {:.0} events/s delivered ({:.0} per client/s, ~{:.0} MB/s)",
        total as f64 / secs,
        total as f64 / secs / clients as f64,
        bytes / secs / 1e6
    );
}

fn main() {
    let per_client: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    run(1, per_client);
    run(100, per_client / 20);
}
