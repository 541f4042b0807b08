//! Soak benchmark (not run in CI): a manager receives events for a long
//! time while the process's resident memory is sampled; at the end every
//! event must have arrived exactly once, in order, and the memory curve
//! should be flat.
//!
//! ```text
//! cargo run --release --example soak                          # 30 minutes against the built-in emulator
//! cargo run --release --example soak -- --seconds 180 --rate 20000
//! python3 ../shared/bench/flood_server.py --port 0 --count 5000000 --once   # prints: listening PORT
//! cargo run --release --example soak -- --flood 127.0.0.1:PORT --count 5000000
//! ```
//!
//! Emulator mode (the default): the emulator and the manager share one
//! `Driver` on this thread. Each turn the emulator emits a batch of channel
//! events numbered by a `Seq` header (`--rate` events per second, default
//! 50,000) and a `Ping` goes out every second; a handler checks that the
//! numbers follow each other. The RSS is read from `/proc/self/status` every
//! `--sample` seconds (default 10) and the curve printed at the end with
//! its minimum and maximum, over the whole run and after the first minute.
//!
//! Flood mode (`--flood ADDR --count N`): the manager logs in to
//! `flood_server.py` (which streams N recorded events between a
//! `FullyBooted` and a `BenchEnd`) and counts them; the run ends at
//! `BenchEnd` or when `--seconds` pass.
//!
//! Exit status 1 when an event was lost, duplicated or out of order, or a
//! ping failed.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::{Manager, ResultStatus};
use asterisk_io::driver::Driver;
use asterisk_io::emu::{Emulator, EmulatorConfig};

struct Args {
    seconds: u64,
    rate: u64,
    sample: u64,
    flood: Option<String>,
    count: u64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 30 * 60,
        rate: 50_000,
        sample: 10,
        flood: None,
        count: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next()
                .ok_or(format!("{name} needs a value"))?
                .parse()
                .map_err(|e| format!("{name}: {e}"))
        };
        match flag.as_str() {
            "--seconds" => a.seconds = num("--seconds")?,
            "--minutes" => a.seconds = num("--minutes")? * 60,
            "--rate" => a.rate = num("--rate")?.max(1),
            "--sample" => a.sample = num("--sample")?.max(1),
            "--count" => a.count = num("--count")?,
            "--flood" => a.flood = Some(it.next().ok_or("--flood needs an address")?),
            _ => {
                return Err(
                    "usage: soak [--seconds N | --minutes N] [--rate EVENTS_PER_S] [--sample S] \
                            [--flood HOST:PORT --count N]"
                        .into(),
                )
            }
        }
    }
    if a.flood.is_some() && a.count == 0 {
        return Err("--flood needs --count (the flood server's --count)".into());
    }
    Ok(a)
}

/// Resident set size in KiB (`VmRSS` of `/proc/self/status`).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

struct Curve {
    samples: Vec<(u64, u64, u64)>, // (seconds, rss KiB, events so far)
}

impl Curve {
    fn sample(&mut self, start: Instant, events: u64) {
        let t = start.elapsed().as_secs();
        let rss = rss_kib();
        let rate = match self.samples.last() {
            Some(&(t0, _, e0)) if t > t0 => (events - e0) / (t - t0),
            _ => 0,
        };
        println!("t={t:>5}s rss={rss:>7} KiB events={events:>11} ({rate}/s)");
        self.samples.push((t, rss, events));
    }

    fn report(&self) {
        let span = |from: u64| {
            let v: Vec<u64> = self
                .samples
                .iter()
                .filter(|s| s.0 >= from)
                .map(|s| s.1)
                .collect();
            (v.iter().min().copied(), v.iter().max().copied())
        };
        let (min, max) = span(0);
        println!(
            "RSS over the run: min {} KiB, max {} KiB ({} samples)",
            min.unwrap_or(0),
            max.unwrap_or(0),
            self.samples.len()
        );
        if let (Some(min), Some(max)) = span(60) {
            println!(
                "RSS after the first minute: min {min} KiB, max {max} KiB (growth {:+} KiB)",
                max as i64 - min as i64
            );
        }
    }
}

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let ok = match &args.flood {
        Some(addr) => flood(&args, addr),
        None => emulated(&args),
    };
    match ok {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    }
}

fn emulated(args: &Args) -> Result<bool, Box<dyn std::error::Error>> {
    let t = Duration::from_secs(5);
    let mut driver = Driver::new()?;
    let emu = driver.add(Emulator::bind(
        "127.0.0.1:0".parse()?,
        EmulatorConfig::default().user("soak", "soak"),
    )?)?;
    let mgr = driver.add(Manager::connect(driver.get(emu).local_addr()?)?)?;
    driver.login(mgr, &Login::new("soak", "soak").md5(), t)?;

    // What the handler saw: the next Seq it expects, and any break in order.
    let next = Rc::new(Cell::new(0u64));
    let broken = Rc::new(Cell::new(None::<(u64, u64)>));
    let (n, b) = (next.clone(), broken.clone());
    driver.get_mut(mgr).on_event("Newchannel", move |ev, _ctx| {
        let seq = ev.get("Seq").and_then(|v| v.parse::<u64>());
        match seq {
            Some(s) if s == n.get() => n.set(s + 1),
            other => {
                if b.get().is_none() {
                    b.set(Some((n.get(), other.unwrap_or(u64::MAX))));
                }
                n.set(other.map_or(n.get() + 1, |s| s + 1));
            }
        }
    });

    let start = Instant::now();
    let end = start + Duration::from_secs(args.seconds);
    let mut curve = Curve {
        samples: Vec::new(),
    };
    curve.sample(start, 0);
    let mut next_sample = start + Duration::from_secs(args.sample);
    let mut emitted = 0u64;
    let mut ping = None;
    let mut pings = (0u64, 0u64); // (answered, failed)
    let mut next_ping = start;
    let batch = (args.rate / 100).max(1); // a batch every 10 ms
    let mut next_batch = start;
    let mut seq_text = String::new();
    while Instant::now() < end {
        let now = Instant::now();
        if now >= next_batch {
            // Do not run ahead of the client by more than a few batches:
            // the emulator would (rightly) drop a reader that lags 64 MiB.
            if emitted - next.get() < batch * 20 {
                let e = driver.get_mut(emu);
                for _ in 0..batch {
                    seq_text.clear();
                    use std::fmt::Write as _;
                    let _ = write!(seq_text, "{emitted}");
                    e.emit_event(
                        "Newchannel",
                        &[
                            ("Channel", "PJSIP/100-0000002a"),
                            ("ChannelState", "0"),
                            ("ChannelStateDesc", "Down"),
                            ("CallerIDNum", "100"),
                            ("Context", "from-internal"),
                            ("Exten", "200"),
                            ("Uniqueid", "1700000000.42"),
                            ("Seq", &seq_text),
                        ],
                    );
                    emitted += 1;
                }
            }
            next_batch += Duration::from_millis(10);
            if next_batch < now {
                next_batch = now; // behind: do not try to catch up in a burst
            }
        }
        if now >= next_ping && ping.is_none() {
            ping = Some(driver.get_mut(mgr).send(&Ping)?);
            next_ping = now + Duration::from_secs(1);
        }
        driver.poll(Some(next_batch.saturating_duration_since(Instant::now())))?;
        if let Some(id) = ping {
            match driver.get_mut(mgr).take_result(id) {
                ResultStatus::Ready(Ok(_)) => {
                    pings.0 += 1;
                    ping = None;
                }
                ResultStatus::Ready(Err(_)) | ResultStatus::Gone(_) => {
                    pings.1 += 1;
                    ping = None;
                }
                _ => {}
            }
        }
        if Instant::now() >= next_sample {
            curve.sample(start, next.get());
            next_sample += Duration::from_secs(args.sample);
        }
    }
    // Let the last events arrive.
    let drained = driver.run_until(Duration::from_secs(10), |_| next.get() >= emitted)?;
    curve.sample(start, next.get());
    curve.report();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "events: emitted {emitted}, received {} ({:.0}/s); pings answered {}, failed {}",
        next.get(),
        next.get() as f64 / secs,
        pings.0,
        pings.1
    );
    let exact = drained && next.get() == emitted && broken.get().is_none();
    match broken.get() {
        Some((want, got)) => println!("first break in order: expected Seq {want}, got {got}"),
        None => println!("order: every Seq in turn"),
    }
    println!("exact: {}", if exact { "yes" } else { "NO" });
    Ok(exact && pings.1 == 0)
}

fn flood(args: &Args, addr: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let mut driver = Driver::new()?;
    let mgr = driver.add(Manager::connect(addr)?)?;
    // The handler goes in before the login: the flood starts right behind
    // the login's response, and the login call handles what arrives with it.
    // The server brackets its N events with FullyBooted and BenchEnd.
    let count = Rc::new(Cell::new(0u64));
    let ended = Rc::new(Cell::new(false));
    let (c, e) = (count.clone(), ended.clone());
    driver.get_mut(mgr).on_any_event(move |ev, _| {
        if ev.name().eq_ignore_case("BenchEnd") {
            e.set(true);
        } else if !ev.name().eq_ignore_case("FullyBooted") {
            c.set(c.get() + 1);
        }
    });
    driver.login(mgr, &Login::new("soak", "soak"), Duration::from_secs(5))?;
    let start = Instant::now();
    let end = start + Duration::from_secs(args.seconds);
    let mut curve = Curve {
        samples: Vec::new(),
    };
    curve.sample(start, 0);
    let mut next_sample = start + Duration::from_secs(args.sample);
    while !ended.get() && Instant::now() < end && !driver.get(mgr).is_closed() {
        driver.poll(Some(Duration::from_millis(100)))?;
        if Instant::now() >= next_sample {
            curve.sample(start, count.get());
            next_sample += Duration::from_secs(args.sample);
        }
    }
    curve.sample(start, count.get());
    curve.report();
    let exact = ended.get() && count.get() == args.count;
    println!(
        "events: expected {}, received {} ({:.0}/s); exact: {}",
        args.count,
        count.get(),
        count.get() as f64 / start.elapsed().as_secs_f64(),
        if exact { "yes" } else { "NO" }
    );
    Ok(exact)
}
