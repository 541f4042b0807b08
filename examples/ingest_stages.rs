//! Where AMI ingest time goes, stage by stage, in one run: nanoseconds per
//! event for each layer of the path, from touching the bytes to calling a
//! handler, over the benchmark's 594 real events (362 bytes on average).
//!
//! In memory (no socket; input fed in `--chunk` byte pieces, 64 KiB by
//! default, as a busy socket read brings them):
//! - `scan`: count blank lines with `memchr::memmem`: touching the bytes.
//! - `framer`: the framer alone: message boundaries and the header index,
//!   one pass.
//! - `connection`: `Connection::feed` + `next_input`: the framer plus
//!   buffer handling and routing (the ActionID check, lists, responses).
//! - `connection + event kind`: the same, and each event's `EventKind`
//!   looked up as typed dispatch does first.
//!
//! Over loopback TCP, from a server thread that writes the same stream:
//! - `socket floor`: read into a 64 KiB buffer and count blank lines.
//! - `manager catch-all`: a `Manager` polled in a loop, one catch-all
//!   handler that counts.
//! - `manager typed`: the same with 20 typed handlers for the 20 most
//!   frequent events (`Manager::on(Newexten, ..)` ...), the catch-all for
//!   the rest.
//!
//! In-memory stages are timed by the thread's CPU time, the socket stages
//! by the wall clock (the server thread shares the machine, as a PBX's
//! kernel work would). Each stage runs `--runs` times (default 5),
//! alternating, and the median is printed. The differences between lines are the cost of each layer.
//!
//! `cargo run --release --example ingest_stages [-- --events N] [--runs R] [--chunk BYTES] [--only STAGE]`
//! (`--only typed` runs one stage, for `perf record`).

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::codec::{Framer, FramerConfig, Status};
#[path = "shared/top20.rs"]
mod top20;

use asterisk_io::ami::{Connection, EventKind, Input, Manager};

const GREETING: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

struct Settings {
    events: u64,
    runs: usize,
    chunk: usize,
    /// Run only the stages whose name contains this (for `perf record`).
    only: Option<String>,
}

fn main() {
    let mut s = Settings {
        events: 1_000_000,
        runs: 5,
        chunk: 64 * 1024,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{a} takes a number")))
        };
        match a.as_str() {
            "--events" => s.events = number(),
            "--runs" => s.runs = number() as usize,
            "--chunk" => s.chunk = number() as usize,
            "--only" => s.only = args.next(),
            "--help" | "-h" => usage(""),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    let (stream, per_stream) = corpus_stream();
    let rounds = s.events.div_ceil(per_stream);
    let total = rounds * per_stream;
    let stages: [(&str, &dyn Fn() -> Timing); 7] = [
        ("scan (memchr, in memory)", &|| {
            scan(&stream, rounds, s.chunk)
        }),
        ("framer (frame + index)", &|| {
            frame(&stream, rounds, s.chunk)
        }),
        ("connection (+ routing)", &|| {
            connection(&stream, rounds, s.chunk, false)
        }),
        ("connection + event kind", &|| {
            connection(&stream, rounds, s.chunk, true)
        }),
        ("socket floor (read + scan)", &|| {
            over_socket(&stream, rounds, |addr| socket_floor(addr, total))
        }),
        ("manager catch-all", &|| {
            over_socket(&stream, rounds, |addr| manager(addr, total, false))
        }),
        ("manager typed (20 + catch-all)", &|| {
            over_socket(&stream, rounds, |addr| manager(addr, total, true))
        }),
    ];
    let mut times: Vec<Vec<Timing>> = vec![Vec::new(); stages.len()];
    for _ in 0..s.runs.max(1) {
        for (i, (name, run)) in stages.iter().enumerate() {
            if s.only.as_ref().map_or(true, |o| name.contains(o.as_str())) {
                times[i].push(run());
            }
        }
    }
    println!(
        "{total} events of {} bytes on average, {} runs, chunk {} bytes (medians)",
        stream.len() as u64 / per_stream,
        s.runs,
        s.chunk
    );
    println!(
        "{:<32} {:>9} {:>12} {:>9}",
        "stage", "ns/event", "M events/s", "cpu ns"
    );
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for ((name, _), t) in stages.iter().zip(&mut times) {
        let per_event = |d: Duration| d.as_nanos() as f64 / total as f64;
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        let w = per_event(median(t.iter().map(|t| t.wall).collect()));
        let c = per_event(median(t.iter().map(|t| t.cpu).collect()));
        wall.push(w);
        cpu.push(c);
        println!("{name:<32} {w:>9.1} {:>12.2} {c:>9.1}", 1e3 / w);
    }
    println!(
        "manager catch-all / socket floor: {:.2} of the floor's rate",
        wall[4] / wall[5]
    );
    println!(
        "typed / catch-all: {:.2} of the catch-all's rate ({:.2} in client CPU per event)",
        wall[5] / wall[6],
        cpu[5] / cpu[6]
    );
}

/// A stage's time: the wall clock, and the CPU time of the thread that ran
/// it (the client's, for the socket stages).
#[derive(Clone, Copy, Default)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

impl Timing {
    /// In-memory work: the thread's CPU time is the figure (a busy
    /// machine's other work does not count).
    fn cpu_only(cpu: Duration) -> Timing {
        Timing { wall: cpu, cpu }
    }
}

/// Starts timing at the first input of a socket stage.
struct Clock(Option<(Instant, Duration)>);

impl Clock {
    fn start(&mut self) {
        self.0.get_or_insert_with(|| (Instant::now(), thread_cpu()));
    }

    fn stop(self) -> Timing {
        self.0.map_or(Timing::default(), |(wall, cpu)| Timing {
            wall: wall.elapsed(),
            cpu: thread_cpu() - cpu,
        })
    }
}

/// The corpus repeated to about 4 MiB, ending on a message boundary, and
/// the number of events in it.
fn corpus_stream() -> (Vec<u8>, u64) {
    let corpus: &[u8] = include_bytes!("../tests/fixtures/ami/events.ami");
    let mut one = corpus.to_vec();
    if !one.ends_with(b"\r\n\r\n") {
        one.extend_from_slice(b"\r\n\r\n");
    }
    let per = memchr::memmem::find_iter(&one, b"\r\n\r\n").count() as u64;
    let copies = (4 << 20) / one.len() + 1;
    (one.repeat(copies), per * copies as u64)
}

fn scan(stream: &[u8], rounds: u64, chunk: usize) -> Timing {
    let finder = memchr::memmem::Finder::new(b"\r\n\r\n");
    let start = thread_cpu();
    let mut n = 0u64;
    for _ in 0..rounds {
        // Whole blocks per chunk would miss a boundary across pieces; the
        // stream is scanned piece by piece with the carry a reader keeps.
        let mut at = 0;
        while at < stream.len() {
            let end = (at + chunk).min(stream.len());
            let from = at.saturating_sub(3);
            n += finder.find_iter(&stream[from..end]).count() as u64;
            at = end;
        }
    }
    std::hint::black_box(n);
    Timing::cpu_only(thread_cpu() - start)
}

fn frame(stream: &[u8], rounds: u64, chunk: usize) -> Timing {
    let start = thread_cpu();
    let mut n = 0u64;
    for _ in 0..rounds {
        let mut framer = Framer::new(FramerConfig::default());
        // The framer sees what a reader has buffered so far: up to `end`.
        let (mut begin, mut end) = (0, 0);
        while end < stream.len() {
            end = (end + chunk).min(stream.len());
            while let Status::Complete(f) = framer.advance(&stream[begin..end], false) {
                n += std::hint::black_box(framer.headers().len()).min(1) as u64;
                begin += f.len();
            }
        }
    }
    std::hint::black_box(n);
    Timing::cpu_only(thread_cpu() - start)
}

fn connection(stream: &[u8], rounds: u64, chunk: usize, kind: bool) -> Timing {
    let mut conn = Connection::default();
    conn.feed(GREETING);
    let start = thread_cpu();
    let mut n = 0u64;
    for _ in 0..rounds {
        for piece in stream.chunks(chunk) {
            conn.feed(piece);
            while let Some(input) = conn.next_input() {
                if let Input::Event(e) = input {
                    n += if kind {
                        // What typed dispatch looks up first.
                        (std::hint::black_box(e.kind()) != EventKind::Other) as u64
                    } else {
                        std::hint::black_box(e.name().as_bytes().len()) as u64
                    };
                }
            }
        }
    }
    std::hint::black_box(n);
    Timing::cpu_only(thread_cpu() - start)
}

/// CPU time this thread has run (`/proc/thread-self/schedstat`, in ns):
/// the in-memory stages are timed by it, so a busy machine's other work
/// does not count; on systems without it, wall time.
fn thread_cpu() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| START.get_or_init(Instant::now).elapsed())
}

/// Runs `client` against a server thread that writes the greeting, then
/// the stream `rounds` times; returns the client's time.
fn over_socket(
    stream: &[u8],
    rounds: u64,
    client: impl FnOnce(std::net::SocketAddr) -> Timing,
) -> Timing {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let (mut peer, _) = listener.accept().expect("accept");
            let _ = peer.write_all(GREETING);
            for _ in 0..rounds {
                if peer.write_all(stream).is_err() {
                    return;
                }
            }
            // Let the client read everything before the close.
            let _ = peer.shutdown(std::net::Shutdown::Write);
            let _ = peer.read(&mut [0u8; 1]);
        });
        client(addr)
    })
}

fn socket_floor(addr: std::net::SocketAddr, total: u64) -> Timing {
    let mut sock = TcpStream::connect(addr).expect("connect");
    let finder = memchr::memmem::Finder::new(b"\r\n\r\n");
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry = 0;
    let mut n = 0u64;
    let mut clock = Clock(None);
    while n < total {
        let got = sock.read(&mut buf[carry..]).expect("read");
        assert!(got > 0, "the server closed after {n} events");
        clock.start();
        let end = carry + got;
        n += finder.find_iter(&buf[..end]).count() as u64;
        // Keep the last three bytes: a boundary may straddle two reads.
        let keep = end.min(3);
        buf.copy_within(end - keep..end, 0);
        carry = keep;
    }
    clock.stop()
}

fn manager(addr: std::net::SocketAddr, total: u64, typed: bool) -> Timing {
    let mut mgr = Manager::connect(addr).expect("connect");
    let seen = Rc::new(Cell::new(0u64));
    let counter = seen.clone();
    let tick: Rc<dyn Fn()> = Rc::new(move || counter.set(counter.get() + 1));
    if typed {
        top20::count_top20(&mut mgr, &tick);
    }
    mgr.on_any_event(move |_ev, _ctx| tick());
    let mut clock = Clock(None);
    while seen.get() < total {
        mgr.poll_events(Some(Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("after {} events: {e}", seen.get()));
        if seen.get() > 0 {
            clock.start();
        }
    }
    clock.stop()
}

fn usage(msg: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("{msg}");
    }
    eprintln!("usage: ingest_stages [--events N] [--runs R] [--chunk BYTES] [--only STAGE]");
    std::process::exit(2)
}
