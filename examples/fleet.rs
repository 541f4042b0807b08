//! Many PBXs in one loop: logs in to every connection, counts the events of
//! each, and after N events in all prints one line
//! `connections=C events=N seconds=S rate=R/s min=… median=… max=…`, where
//! min/median/max are the per-connection rates (a connection's events over
//! the time from its login to its last event). The peak RSS goes to stderr.
//!
//! ```text
//! /tmp/fleet-flood/release/fleet-flood --count 20000      # prints: listening PORT
//! cargo run --release --example fleet -- --addr 127.0.0.1:PORT --connections 1000 \
//!     --user u --secret s --count 20000000
//! ```
//!
//! `--addr` may be repeated (one connection per address) or combined with
//! `--connections N` (N connections to each address). With `--idle SECS`
//! it logs in everywhere, stays idle for SECS and reports memory instead.
//!
//! Each manager handles at most `--budget N` messages a turn (default 1024),
//! so a flooding PBX cannot starve the others, and its socket's kernel
//! receive buffer is capped at `--recv-buffer BYTES` (default 131072; 0 lets
//! the system size it): uncapped, a thousand busy links queue gigabytes in
//! the kernel and are served in bursts rather than side by side.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::Login;
use asterisk_io::ami::{Manager, ManagerConfig, ResultStatus};
use asterisk_io::driver::Driver;

struct Options {
    addrs: Vec<SocketAddr>,
    connections: usize,
    user: String,
    secret: String,
    count: u64,
    idle: Option<Duration>,
    budget: usize,
    recv_buffer: Option<usize>,
}

fn usage(msg: &str) -> ! {
    eprintln!("fleet: {msg}");
    eprintln!(
        "usage: fleet --addr HOST:PORT [--addr ...] [--connections N] [--user U] [--secret S] \
         [--budget N] [--recv-buffer BYTES] (--count N | --idle SECS)"
    );
    std::process::exit(2);
}

fn options() -> Options {
    let mut o = Options {
        addrs: Vec::new(),
        connections: 1,
        user: "admin".into(),
        secret: "secret".into(),
        count: 1_000_000,
        idle: None,
        budget: 1024,
        recv_buffer: Some(128 << 10),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--addr" => o
                .addrs
                .push(val().parse().unwrap_or_else(|_| usage("bad --addr"))),
            "--connections" => o.connections = val().parse().unwrap_or_else(|_| usage("bad N")),
            "--user" => o.user = val(),
            "--secret" => o.secret = val(),
            "--count" => o.count = val().parse().unwrap_or_else(|_| usage("bad --count")),
            "--budget" => o.budget = val().parse().unwrap_or_else(|_| usage("bad --budget")),
            "--recv-buffer" => {
                let bytes: usize = val().parse().unwrap_or_else(|_| usage("bad --recv-buffer"));
                o.recv_buffer = (bytes > 0).then_some(bytes);
            }
            "--idle" => {
                let secs: f64 = val().parse().unwrap_or_else(|_| usage("bad --idle"));
                o.idle = Some(Duration::from_secs_f64(secs));
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if o.addrs.is_empty() {
        usage("at least one --addr");
    }
    o
}

/// Connections opened but not yet logged in, at most.
const CONNECTS_IN_FLIGHT: usize = 64;

/// What one connection saw.
#[derive(Default)]
struct Tally {
    events: Cell<u64>,
    logged_in: Cell<Option<Instant>>,
    last: Cell<Option<Instant>>,
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let o = options();
    let mut driver = Driver::new().unwrap_or_else(|e| usage(&e.to_string()));
    let total = Rc::new(Cell::new(0u64));
    let mut fleet = Vec::new();
    let login = Login::new(o.user.clone(), o.secret.clone());
    // Every connection to open, in order. They are opened a wave at a time:
    // a burst of a thousand connects to one address overflows its listen
    // queue (often 128 long), and each refused SYN is retried only after a
    // second or more.
    let mut to_open = o
        .addrs
        .iter()
        .flat_map(|a| std::iter::repeat(*a).take(o.connections));
    let n = o.addrs.len() * o.connections;
    let mut waiting: Vec<usize> = Vec::new();
    let start = Instant::now();
    while fleet.len() < n || !waiting.is_empty() {
        while waiting.len() < CONNECTS_IN_FLIGHT {
            let Some(addr) = to_open.next() else { break };
            // One budget per manager and turn: a flooding PBX cannot starve the others.
            let config = ManagerConfig::default()
                .max_messages_per_poll(o.budget)
                .socket_recv_buffer(o.recv_buffer);
            let mut mgr = Manager::connect_with(addr, config)
                .unwrap_or_else(|e| usage(&format!("connect {addr}: {e}")));
            let tally = Rc::new(Tally::default());
            let (t, all) = (tally.clone(), total.clone());
            mgr.on_any_event(move |_, ctx| {
                t.events.set(t.events.get() + 1);
                t.last.set(Some(ctx.now()));
                all.set(all.get() + 1);
            });
            let id = mgr
                .start_login(&login)
                .unwrap_or_else(|e| usage(&e.to_string()));
            let handle = driver.add(mgr).unwrap_or_else(|e| usage(&e.to_string()));
            waiting.push(fleet.len());
            fleet.push((handle, id, tally));
        }
        driver.poll(Some(Duration::from_millis(100))).unwrap();
        waiting.retain(|&i| {
            let (h, id, tally) = &fleet[i];
            match driver.get_mut(*h).take_result(*id) {
                ResultStatus::Pending => true,
                ResultStatus::Ready(Ok(_)) => {
                    tally.logged_in.set(Some(Instant::now()));
                    false
                }
                other => usage(&format!("login {i}: {other:?}")),
            }
        });
        if start.elapsed() > Duration::from_secs(120) {
            usage(&format!(
                "{} logins still pending",
                n - fleet.len() + waiting.len()
            ));
        }
    }
    if let Some(idle) = o.idle {
        let until = Instant::now() + idle;
        while Instant::now() < until {
            driver.poll(Some(Duration::from_millis(200))).unwrap();
        }
        println!(
            "connections={n} idle=1 rss_kib={} per_connection_kib={:.1}",
            peak_rss_kib(),
            peak_rss_kib() as f64 / n as f64
        );
        return;
    }
    let first = fleet
        .iter()
        .filter_map(|(_, _, t)| t.logged_in.get())
        .min()
        .expect("logged in");
    while total.get() < o.count {
        driver.poll(Some(Duration::from_secs(10))).unwrap();
        if fleet.iter().all(|(h, _, _)| driver.get(*h).is_closed()) {
            usage(&format!(
                "every connection closed after {} events",
                total.get()
            ));
        }
    }
    let last = fleet
        .iter()
        .filter_map(|(_, _, t)| t.last.get())
        .max()
        .expect("events seen");
    let secs = (last - first).as_secs_f64();
    let mut rates: Vec<f64> = fleet
        .iter()
        .map(|(_, _, t)| match (t.logged_in.get(), t.last.get()) {
            (Some(a), Some(b)) if b > a => t.events.get() as f64 / (b - a).as_secs_f64(),
            _ => 0.0,
        })
        .collect();
    rates.sort_by(|a, b| a.total_cmp(b));
    println!(
        "connections={n} events={} seconds={secs:.3} rate={:.0}/s min={:.0} median={:.0} max={:.0}",
        total.get(),
        total.get() as f64 / secs,
        rates[0],
        rates[n / 2],
        rates[n - 1]
    );
    eprintln!("peak_rss_kib={}", peak_rss_kib());
}
