//! Codec throughput without a socket: feeds the benchmark's 594 real events
//! (from `../shared/bench/events.ami`, copied to `tests/fixtures/ami/`)
//! through a `Connection` in 64 KiB chunks and prints events per second.
//!
//! `cargo run --release --example ami_parse_bench [ROUNDS]`

use std::time::Instant;

use asterisk_io::ami::{Connection, Input};

fn main() {
    let corpus: &[u8] = include_bytes!("../tests/fixtures/ami/events.ami");
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let mut stream = Vec::with_capacity(corpus.len() * 16);
    for _ in 0..16 {
        stream.extend_from_slice(corpus);
        if !stream.ends_with(b"\r\n\r\n") {
            stream.extend_from_slice(b"\r\n\r\n");
        }
    }
    let mut conn = Connection::default();
    conn.feed(b"Asterisk Call Manager/11.0.0\r\n");
    let mut events = 0u64;
    let mut bytes = 0u64;
    let start = Instant::now();
    for _ in 0..rounds / 16 {
        for chunk in stream.chunks(64 * 1024) {
            conn.feed(chunk);
            bytes += chunk.len() as u64;
            while let Some(input) = conn.next_input() {
                if let Input::Event(ev) = input {
                    events += 1;
                    std::hint::black_box(ev.name());
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "events={events} seconds={secs:.3} rate={:.0}/s ns_per_event={:.1} MB/s={:.0}",
        events as f64 / secs,
        secs * 1e9 / events as f64,
        bytes as f64 / secs / 1e6
    );
}
