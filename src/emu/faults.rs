//! Deterministic faults: what the emulator does to a connection's bytes
//! (split writes, delays, stalls, cuts, half-closes, garbage, oversized
//! blocks, slow reading, bursts of events). Sans-IO: a [`Shaper`] per
//! connection tells the server how many bytes it may write or read now and
//! when to close; randomness comes from a seed.

use std::fmt;
use std::time::{Duration, Instant};

use super::session::ClientSession;

/// When a fault that happens once takes effect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger {
    /// Once the client has logged in (the default): the bytes queued by
    /// then, the login's reply included, go out intact first.
    Login,
    /// This long after the connection was accepted.
    After(Duration),
}

/// Where a disconnect cuts the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Halfway through the next message of any kind.
    MidMessage,
    /// Halfway through the first item of the next list.
    MidList,
    /// Halfway through the next response.
    MidResponse,
}

/// One fault. Build them directly or parse the `--fault` syntax with
/// [`Fault::parse`] (documented in `docs/emulator.md`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Every write is one byte.
    SplitEveryByte,
    /// Writes cut at points drawn from `seed`: chunks of 1 to `max` bytes.
    SplitRandom {
        /// The seed.
        seed: u64,
        /// The largest chunk.
        max: usize,
    },
    /// A pause before each write.
    Delay(Duration),
    /// Random splits plus random pauses up to 10 ms, from a seed.
    Chaos(u64),
    /// No writes for this long once triggered (requests still read and answered later).
    Stall(Duration, Trigger),
    /// The connection is closed in the middle of the stream.
    Disconnect(Cut, Trigger),
    /// The emulator shuts its sending side down (the client reads the end of
    /// the stream) but keeps reading.
    HalfClose(Trigger),
    /// `n` bytes of garbage (drawn from the seed) are sent.
    Garbage {
        /// How many bytes.
        len: usize,
        /// The seed.
        seed: u64,
        /// When.
        at: Trigger,
    },
    /// One block of this many bytes is sent (an `Event: Oversized` with one
    /// long header), to test a client's size limit.
    Oversized(usize, Trigger),
    /// The emulator reads at most this many bytes a second of what the
    /// client sends, so the client's own output backs up.
    SlowRead(usize),
    /// `n` events (`Event: Burst`, user class) at once.
    Burst(usize, Trigger),
}

/// A `--fault` string that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpecError(pub String);

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad fault spec: {}", self.0)
    }
}

impl std::error::Error for FaultSpecError {}

impl Fault {
    /// Reads `KIND[=ARG][@WHEN]`: `split=1`, `split=random:SEED[:MAX]`,
    /// `delay=MS`, `chaos=SEED`, `stall=SECS`, `disconnect=mid-message|mid-list|mid-response`,
    /// `half-close`, `garbage=N[:SEED]`, `oversized=BYTES`, `slow-read=BYTES_PER_SEC`,
    /// `burst=N`; `WHEN` is `login` (the default) or seconds after connecting.
    pub fn parse(spec: &str) -> Result<Fault, FaultSpecError> {
        let bad = || FaultSpecError(spec.to_owned());
        let (body, when) = match spec.trim().split_once('@') {
            Some((b, w)) => (b, Some(w)),
            None => (spec.trim(), None),
        };
        let at = match when {
            None | Some("login") => Trigger::Login,
            Some(s) => Trigger::After(secs(s).ok_or_else(bad)?),
        };
        let (kind, arg) = match body.split_once('=') {
            Some((k, a)) => (k, Some(a)),
            None => (body, None),
        };
        let num = |a: Option<&str>| -> Result<u64, FaultSpecError> {
            a.and_then(|a| a.parse().ok()).ok_or_else(bad)
        };
        Ok(match kind {
            "split" => match arg {
                Some("1") | Some("every-byte") => Fault::SplitEveryByte,
                Some(a) if a.starts_with("random") => {
                    let mut it = a.split(':').skip(1);
                    let seed = it
                        .next()
                        .map(|s| s.parse().map_err(|_| bad()))
                        .transpose()?
                        .unwrap_or(1);
                    let max = it
                        .next()
                        .map(|s| s.parse().map_err(|_| bad()))
                        .transpose()?
                        .unwrap_or(32);
                    Fault::SplitRandom {
                        seed,
                        max: max.max(1),
                    }
                }
                _ => return Err(bad()),
            },
            "delay" => Fault::Delay(Duration::from_millis(num(arg)?)),
            "chaos" => Fault::Chaos(num(arg)?),
            "stall" => Fault::Stall(secs(arg.ok_or_else(bad)?).ok_or_else(bad)?, at),
            "disconnect" => {
                let cut = match arg {
                    Some("mid-message") | None => Cut::MidMessage,
                    Some("mid-list") => Cut::MidList,
                    Some("mid-response") => Cut::MidResponse,
                    _ => return Err(bad()),
                };
                Fault::Disconnect(cut, at)
            }
            "half-close" => Fault::HalfClose(at),
            "garbage" => {
                let a = arg.ok_or_else(bad)?;
                let (n, seed) = match a.split_once(':') {
                    Some((n, s)) => (n, s.parse().map_err(|_| bad())?),
                    None => (a, 1),
                };
                Fault::Garbage {
                    len: n.parse().map_err(|_| bad())?,
                    seed,
                    at,
                }
            }
            "oversized" => Fault::Oversized(num(arg)? as usize, at),
            "slow-read" => Fault::SlowRead(num(arg)?.max(1) as usize),
            "burst" => Fault::Burst(num(arg)? as usize, at),
            _ => return Err(bad()),
        })
    }
}

fn secs(s: &str) -> Option<Duration> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

/// A small deterministic generator (xorshift64*).
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the server does after writing what [`Shaper::allowance`] allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Nothing.
    Continue,
    /// Close the connection at once (a disconnect fault).
    Close,
    /// Shut the sending side down and write nothing more.
    HalfClose,
}

#[derive(Clone, Debug)]
struct Armed {
    fault: Fault,
    done: bool,
}

/// One connection's faults, applied to its output.
#[derive(Clone, Debug)]
pub struct Shaper {
    faults: Vec<Armed>,
    connected: Instant,
    rng: Rng,
    split: Option<(Rng, usize)>,
    every_byte: bool,
    delay: Option<Duration>,
    chaos: Option<Rng>,
    write_at: Option<Instant>,
    stalled_until: Option<Instant>,
    /// An armed cut: the kind, where scanning stands in the output, and
    /// whether a list start was seen.
    cut: Option<(Cut, usize, bool)>,
    /// Bytes still to write before the cut.
    cut_at: Option<usize>,
    /// Bytes still to write before shutting down the sending side.
    half_close_at: Option<usize>,
    half_closed: bool,
    slow_read: Option<usize>,
    /// Reading stopped with bytes possibly left in the socket.
    pub(crate) read_pending: bool,
    read_budget: f64,
    read_checked: Instant,
}

impl Shaper {
    /// The faults for a connection accepted at `now`.
    pub fn new(faults: &[Fault], now: Instant) -> Shaper {
        let mut s = Shaper {
            faults: faults
                .iter()
                .map(|f| Armed {
                    fault: f.clone(),
                    done: false,
                })
                .collect(),
            connected: now,
            rng: Rng::new(7),
            split: None,
            every_byte: false,
            delay: None,
            chaos: None,
            write_at: None,
            stalled_until: None,
            cut: None,
            cut_at: None,
            half_close_at: None,
            half_closed: false,
            slow_read: None,
            read_pending: false,
            read_budget: 0.0,
            read_checked: now,
        };
        for f in faults {
            match f {
                Fault::SplitEveryByte => s.every_byte = true,
                Fault::SplitRandom { seed, max } => s.split = Some((Rng::new(*seed), *max)),
                Fault::Delay(d) => s.delay = Some(*d),
                Fault::Chaos(seed) => s.chaos = Some(Rng::new(*seed)),
                Fault::SlowRead(rate) => {
                    s.slow_read = Some(*rate);
                    s.read_budget = (*rate as f64 / 10.0).max(1.0);
                }
                _ => {}
            }
        }
        s
    }

    /// Adds a fault to a live connection (a `Login` trigger fires at once
    /// when the client is logged in already).
    pub fn add(&mut self, fault: Fault) {
        match &fault {
            Fault::SplitEveryByte => self.every_byte = true,
            Fault::SplitRandom { seed, max } => self.split = Some((Rng::new(*seed), *max)),
            Fault::Delay(d) => self.delay = Some(*d),
            Fault::Chaos(seed) => self.chaos = Some(Rng::new(*seed)),
            Fault::SlowRead(rate) => {
                self.slow_read = Some(*rate);
                self.read_budget = (*rate as f64 / 10.0).max(1.0);
            }
            _ => {}
        }
        self.faults.push(Armed { fault, done: false });
    }

    /// True when the connection has no faults at all.
    pub fn is_idle(&self) -> bool {
        self.faults.is_empty()
    }

    /// True once the sending side is shut.
    pub fn half_closed(&self) -> bool {
        self.half_closed
    }

    /// Forgets pauses that are over.
    pub fn expire(&mut self, now: Instant) {
        if self.stalled_until.is_some_and(|t| t <= now) {
            self.stalled_until = None;
        }
        if self.write_at.is_some_and(|t| t <= now) {
            self.write_at = None;
        }
    }

    /// Fires the faults whose trigger has come (garbage, oversized blocks
    /// and bursts go into the session's output; stalls, cuts and half-closes are armed).
    pub fn before_write(&mut self, session: &mut ClientSession, now: Instant) {
        let queued = session.output().len();
        for i in 0..self.faults.len() {
            if self.faults[i].done {
                continue;
            }
            let at = match &self.faults[i].fault {
                Fault::Stall(_, t)
                | Fault::Disconnect(_, t)
                | Fault::HalfClose(t)
                | Fault::Garbage { at: t, .. }
                | Fault::Oversized(_, t)
                | Fault::Burst(_, t) => *t,
                _ => continue,
            };
            let due = match at {
                Trigger::Login => session.is_authenticated(),
                Trigger::After(d) => now >= self.connected + d,
            };
            if !due {
                continue;
            }
            self.faults[i].done = true;
            match self.faults[i].fault.clone() {
                Fault::Stall(d, _) => self.stalled_until = Some(now + d),
                Fault::Disconnect(cut, _) => self.cut = Some((cut, queued, false)),
                Fault::HalfClose(_) => self.half_close_at = Some(queued),
                Fault::Garbage { len, seed, .. } => {
                    let len = len.min(super::MAX_OUTPUT);
                    let mut rng = Rng::new(seed);
                    let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                    session.push_raw(&bytes);
                }
                Fault::Oversized(len, _) => {
                    let len = len.min(super::MAX_OUTPUT);
                    let mut b = b"Event: Oversized\r\nData: ".to_vec();
                    b.resize(b.len() + len.saturating_sub(b.len() + 4), b'x');
                    b.extend_from_slice(b"\r\n\r\n");
                    session.push_raw(&b);
                }
                Fault::Burst(n, _) => {
                    let classes = super::Classes::USER;
                    for k in 0..n {
                        if session.is_closing() {
                            break;
                        }
                        let b = format!("Event: Burst\r\nPrivilege: user,all\r\nSeq: {k}\r\n\r\n");
                        session.push_event_bytes(classes, b.as_bytes());
                    }
                }
                _ => {}
            }
        }
    }

    /// True when nothing may be written at `now` (a stall or a pause, or
    /// the sending side is shut).
    pub fn paused(&self, now: Instant) -> bool {
        self.half_closed
            || self.stalled_until.is_some_and(|t| now < t)
            || self.write_at.is_some_and(|t| now < t)
    }

    /// How many of the session's output bytes may be written now, and
    /// what to do once they are.
    pub fn allowance(&mut self, out: &[u8], now: Instant) -> (usize, Then) {
        if self.paused(now) {
            return (0, Then::Continue);
        }
        self.stalled_until = None;
        self.write_at = None;
        self.find_cut(out);
        let mut n = out.len();
        let mut then = Then::Continue;
        if let Some(c) = self.cut_at {
            if c <= n {
                n = c;
                then = Then::Close;
            }
        } else if let Some((_, scanned, _)) = self.cut {
            // Only blocks known not to be the target go out.
            n = n.min(scanned);
        }
        if let Some(h) = self.half_close_at {
            if h <= n && then == Then::Continue {
                n = h;
                then = Then::HalfClose;
            }
        }
        let mut chunk = usize::MAX;
        if self.every_byte {
            chunk = 1;
        }
        if let Some((rng, max)) = &mut self.split {
            chunk = chunk.min(1 + rng.below(*max as u64) as usize);
        }
        if let Some(rng) = &mut self.chaos {
            chunk = chunk.min(1 + rng.below(48) as usize);
        }
        if chunk < n {
            n = chunk;
            then = Then::Continue;
        }
        (n, then)
    }

    fn find_cut(&mut self, out: &[u8]) {
        let Some((cut, mut scan, mut seen_start)) = self.cut else {
            return;
        };
        if self.cut_at.is_some() {
            return;
        }
        while let Some(end) = memchr::memmem::find(&out[scan..], b"\r\n\r\n").map(|e| scan + e + 4)
        {
            let block = &out[scan..end];
            let target = match cut {
                Cut::MidMessage => true,
                Cut::MidResponse => block.starts_with(b"Response:"),
                Cut::MidList => {
                    if seen_start {
                        true
                    } else {
                        seen_start = memchr::memmem::find(block, b"EventList: start").is_some();
                        false
                    }
                }
            };
            if target {
                self.cut_at = Some(scan + (end - scan) / 2);
                break;
            }
            scan = end;
        }
        self.cut = Some((cut, scan, seen_start));
    }

    /// Records that `n` bytes were written at `now`.
    pub fn wrote(&mut self, n: usize, now: Instant) {
        if let Some((_, scan, _)) = &mut self.cut {
            *scan = scan.saturating_sub(n);
        }
        if let Some(c) = &mut self.cut_at {
            *c = c.saturating_sub(n);
        }
        if let Some(h) = &mut self.half_close_at {
            *h = h.saturating_sub(n);
        }
        let mut pause = self.delay;
        if let Some(rng) = &mut self.chaos {
            let ms = self.rng.below(11).wrapping_add(rng.below(1));
            pause = Some(pause.unwrap_or_default() + Duration::from_millis(ms));
        }
        self.write_at = pause.filter(|p| !p.is_zero()).map(|p| now + p);
    }

    /// True when a half-close is due with nothing left to write before it.
    pub fn half_close_due(&self) -> bool {
        !self.half_closed && self.half_close_at == Some(0)
    }

    /// Records that the sending side is now shut.
    pub fn mark_half_closed(&mut self) {
        self.half_closed = true;
        self.half_close_at = None;
    }

    /// How many bytes the emulator may read from the client now.
    pub fn read_allowance(&mut self, now: Instant) -> usize {
        let Some(rate) = self.slow_read else {
            return usize::MAX;
        };
        let dt = now
            .saturating_duration_since(self.read_checked)
            .as_secs_f64();
        self.read_checked = now;
        // At most a tenth of a second's worth at once.
        let burst = (rate as f64 / 10.0).max(1.0);
        self.read_budget = (self.read_budget + dt * rate as f64).min(burst);
        self.read_budget.max(0.0) as usize
    }

    /// Records that `n` bytes were read.
    pub fn read(&mut self, n: usize) {
        if self.slow_read.is_some() {
            self.read_budget -= n as f64;
        }
    }

    /// True when reading is throttled (the server must come back later
    /// rather than wait for the socket's next readiness).
    pub fn throttles_reads(&self) -> bool {
        self.slow_read.is_some()
    }

    /// The next time the shaper lets something happen: a pause or stall
    /// ending, a timed trigger, the read budget refilling.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut add = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        if let Some(t) = self.stalled_until {
            add(t);
        }
        if let Some(t) = self.write_at {
            add(t);
        }
        for f in &self.faults {
            if f.done {
                continue;
            }
            if let Fault::Stall(_, Trigger::After(d))
            | Fault::Disconnect(_, Trigger::After(d))
            | Fault::HalfClose(Trigger::After(d))
            | Fault::Garbage {
                at: Trigger::After(d),
                ..
            }
            | Fault::Oversized(_, Trigger::After(d))
            | Fault::Burst(_, Trigger::After(d)) = f.fault
            {
                add(self.connected + d);
            }
        }
        if let Some(rate) = self.slow_read {
            if self.read_pending {
                let wait = (1.0 - self.read_budget).max(0.0) / rate as f64;
                add(self.read_checked + Duration::from_secs_f64(wait.max(0.001)));
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(Fault::parse("split=1"), Ok(Fault::SplitEveryByte));
        assert_eq!(
            Fault::parse("split=random:42:8"),
            Ok(Fault::SplitRandom { seed: 42, max: 8 })
        );
        assert_eq!(
            Fault::parse("stall=2.5@1"),
            Ok(Fault::Stall(
                Duration::from_millis(2500),
                Trigger::After(Duration::from_secs(1))
            ))
        );
        assert_eq!(
            Fault::parse("disconnect=mid-list"),
            Ok(Fault::Disconnect(Cut::MidList, Trigger::Login))
        );
        assert!(Fault::parse("nonsense").is_err());
        assert!(Fault::parse("delay=x").is_err());
    }

    #[test]
    fn cut_lands_inside_the_first_list_item() {
        let now = Instant::now();
        let mut s = Shaper::new(&[Fault::Disconnect(Cut::MidList, Trigger::Login)], now);
        s.cut = Some((Cut::MidList, 0, false));
        let out = b"Response: Success\r\nEventList: start\r\n\r\nEvent: Item\r\nA: 1\r\n\r\nEvent: Done\r\n\r\n";
        let (n, then) = s.allowance(out, now);
        assert_eq!(then, Then::Close);
        let first = b"Response: Success\r\nEventList: start\r\n\r\n".len();
        assert!(
            n > first && n < first + b"Event: Item\r\nA: 1\r\n\r\n".len(),
            "{n}"
        );
    }

    #[test]
    fn random_splits_are_deterministic() {
        let now = Instant::now();
        let f = [Fault::SplitRandom { seed: 9, max: 5 }];
        let mut a = Shaper::new(&f, now);
        let mut b = Shaper::new(&f, now);
        let out = [0u8; 100];
        for _ in 0..20 {
            let x = a.allowance(&out, now);
            assert_eq!(x, b.allowance(&out, now));
            assert!(x.0 >= 1 && x.0 <= 5);
        }
    }
}
