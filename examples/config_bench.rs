//! Benchmark: parse a generated ~40 MB `extensions.conf` into the document
//! view and report throughput and heap use.
//!
//! ```text
//! cargo run --release --example config_bench [-- SIZE_MB]
//! ```
//!
//! The heap is measured with a counting global allocator (this example's
//! only `unsafe`: implementing `GlobalAlloc` requires it; it forwards to the
//! system allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use asterisk_io::config::Document;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call forwards to `System` with the caller's arguments; the
// counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A dialplan with a context every 200 extension lines, and comments.
fn generate(target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + 4096);
    out.extend_from_slice(b"; generated extensions.conf for the parser benchmark\n\n[general]\nstatic=yes\nwriteprotect=no\n\n[globals]\nTRUNK=PJSIP/trunk\n\n");
    let mut ctx = 0u32;
    while out.len() < target {
        ctx += 1;
        out.extend_from_slice(format!("; ---- context {ctx} ----\n[ctx-{ctx}]\n").as_bytes());
        let mut n = 0;
        let mut ext = 1000;
        while n < 200 {
            out.extend_from_slice(
                format!("exten => {ext},1,NoOp(Call to ${{EXTEN}} in ctx-{ctx}) ; entry\n")
                    .as_bytes(),
            );
            out.extend_from_slice(b" same => n,Set(CALLERID(name)=Office\\; main)\n");
            out.extend_from_slice(format!(" same => n,Dial(PJSIP/{ext},30,tT)\n").as_bytes());
            out.extend_from_slice(b"; voicemail if nobody answers\n");
            out.extend_from_slice(format!(" same => n,VoiceMail({ext}@default,u)\n").as_bytes());
            out.extend_from_slice(b" same => n,Hangup()\n");
            n += 6;
            ext += 1;
        }
        out.extend_from_slice(b"\n");
    }
    out
}

fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let input = generate(mb * 1_000_000);
    let size = input.len();
    let lines = memchr_count(&input);

    // Warm-up on a copy (not timed), then the timed runs.
    let _ = Document::from_slice(&input[..size.min(4_000_000)]).expect("parse");

    let mut best = f64::INFINITY;
    let mut heap = 0usize;
    for _ in 0..3 {
        let copy = input.clone();
        let before = CURRENT.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let t = Instant::now();
        let doc = Document::parse(copy).expect("parse");
        let dt = t.elapsed().as_secs_f64();
        let peak = PEAK.load(Ordering::Relaxed) - before + size;
        let held = CURRENT.load(Ordering::Relaxed) - before + size;
        assert_eq!(doc.len(), lines);
        best = best.min(dt);
        heap = heap.max(peak.max(held));
        drop(doc);
    }
    let mbs = size as f64 / 1e6 / best;
    println!("input:      {:.1} MB, {} lines", size as f64 / 1e6, lines);
    println!(
        "parse:      {:.1} ms (best of 3) = {:.0} MB/s",
        best * 1e3,
        mbs
    );
    println!(
        "memory:     peak {:.1} MB for the document (input buffer included) = {:.2}x the file",
        heap as f64 / 1e6,
        heap as f64 / size as f64
    );
    println!(
        "targets:    >= 300 MB/s {}, < 3x memory {}",
        if mbs >= 300.0 { "met" } else { "MISSED" },
        if (heap as f64) < 3.0 * size as f64 {
            "met"
        } else {
            "MISSED"
        }
    );
}

fn memchr_count(b: &[u8]) -> usize {
    let n = b.iter().filter(|&&c| c == b'\n').count();
    if b.last().is_some_and(|&c| c != b'\n') {
        n + 1
    } else {
        n
    }
}
