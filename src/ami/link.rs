//! The life of a manager's link: the reconnect policy and its backoff, the
//! keepalive, and the states and events the host sees.
//!
//! A [`Manager`](super::Manager) with a [`Reconnect`] policy survives its
//! link: when the connection drops (the PBX restarts, a reset, a keepalive
//! that goes unanswered), every pending action fails (with
//! [`Error::OutcomeUnknown`] if it was sent, [`Error::NotSent`] if not;
//! nothing is ever re-sent), and the manager waits out a backoff, connects
//! again, replays its login and carries on with the same handlers. It does
//! all of that from `poll_events` (no thread, no sleep): `poll_timeout`
//! says when it next needs a call.

use std::fmt;
use std::time::{Duration, Instant};

use super::error::Error;

/// When and how often a manager connects again after its link drops.
///
/// The wait before attempt `n` (1, 2, ...) is `initial * multiplier^(n-1)`,
/// at most `max`, spread by up to `jitter` either way so that a fleet of
/// clients does not come back at the same instant.
///
/// ```
/// use std::time::Duration;
/// use asterisk_io::ami::{ManagerConfig, Reconnect};
/// let config = ManagerConfig::default().reconnect(Some(
///     Reconnect::default().initial(Duration::from_millis(200)).max_attempts(Some(50)),
/// ));
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Reconnect {
    /// The first wait (default 500 ms).
    pub initial: Duration,
    /// The longest wait (default 30 s).
    pub max: Duration,
    /// Growth of the wait from one attempt to the next (default 2).
    pub multiplier: f64,
    /// How far each wait is spread at random, as a fraction (default 0.2:
    /// ±20 %; 0 for exact waits).
    pub jitter: f64,
    /// Attempts in a row before giving up (`None`, the default: never).
    pub max_attempts: Option<u32>,
    /// Whether to go on after the PBX refused the login (default false: a
    /// wrong secret is not retried, the manager gives up and says why).
    pub retry_login_refused: bool,
    /// How long a replayed login may take (default 10 s).
    pub login_timeout: Duration,
    /// What becomes of actions never written to a link (default false).
    /// False: an action queued but not written when the link fails, or sent
    /// while the link is down, fails at once with
    /// [`Error::NotSent`](super::Error::NotSent). True: it waits, and is
    /// sent once the next login has succeeded, unless its own deadline
    /// passes first ([`Error::Timeout`](super::Error::Timeout)) or the
    /// manager gives up (`NotSent`). Either way an action that was written is
    /// never sent again: its outcome is unknown.
    pub hold_unsent: bool,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
            max_attempts: None,
            retry_login_refused: false,
            login_timeout: Duration::from_secs(10),
            hold_unsent: false,
        }
    }
}

impl Reconnect {
    /// Sets [`Reconnect::initial`].
    pub fn initial(mut self, wait: Duration) -> Self {
        self.initial = wait;
        self
    }

    /// Sets [`Reconnect::max`].
    pub fn max(mut self, wait: Duration) -> Self {
        self.max = wait;
        self
    }

    /// Sets [`Reconnect::multiplier`].
    pub fn multiplier(mut self, factor: f64) -> Self {
        self.multiplier = factor;
        self
    }

    /// Sets [`Reconnect::jitter`].
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// Sets [`Reconnect::max_attempts`].
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`Reconnect::hold_unsent`].
    pub fn hold_unsent(mut self, hold: bool) -> Self {
        self.hold_unsent = hold;
        self
    }

    /// Sets [`Reconnect::retry_login_refused`].
    pub fn retry_login_refused(mut self, retry: bool) -> Self {
        self.retry_login_refused = retry;
        self
    }

    /// Sets [`Reconnect::login_timeout`].
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = timeout;
        self
    }

    /// The wait before attempt `attempt` (counting from 1); `random` is a
    /// number in `0..1` that places it within the jitter.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let base = self.initial.as_secs_f64() * self.multiplier.max(1.0).powi(exponent);
        let base = base.min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        let spread = base * jitter * (2.0 * random.clamp(0.0, 1.0) - 1.0);
        Duration::from_secs_f64((base + spread).clamp(0.0, self.max.as_secs_f64()))
    }
}

/// An application-level keepalive: a `Ping` after `interval` without any
/// input, and the link taken for dead when its answer is `timeout` late.
/// A busy link (events keep arriving) sends no pings at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keepalive {
    /// Silence before a ping.
    pub interval: Duration,
    /// How long the ping's answer may take.
    pub timeout: Duration,
}

impl Keepalive {
    /// A ping after `interval` of silence, answered within `timeout`.
    pub const fn new(interval: Duration, timeout: Duration) -> Self {
        Keepalive { interval, timeout }
    }
}

/// Where the manager's link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkState {
    /// Connecting, reading the greeting, or logging in (attempt 0 is the
    /// first link).
    Connecting {
        /// Reconnect attempts in a row so far.
        attempt: u32,
    },
    /// Connected (and logged in, when the manager knows a login).
    Up,
    /// Down, waiting to connect again.
    Waiting {
        /// When the next attempt starts.
        until: Instant,
        /// The attempt it will be.
        attempt: u32,
    },
    /// Ended for good: closed, logged off, or given up.
    Closed,
}

/// Why a link went down.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkDown {
    /// The connection was refused (nothing listens, or a firewall says no).
    Refused,
    /// The connection was reset or broken.
    Reset,
    /// The PBX closed the connection.
    Eof,
    /// A keepalive ping went unanswered.
    KeepaliveTimeout,
    /// The PBX refused the login; its message.
    LoginRefused(String),
    /// Anything else, described.
    Other(String),
}

impl LinkDown {
    /// The reason an error that ended a link stands for.
    pub fn from_error(e: &Error) -> LinkDown {
        use std::io::ErrorKind;
        match e.root() {
            Error::Io(io) => match io.kind() {
                ErrorKind::ConnectionRefused => LinkDown::Refused,
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::NotConnected => LinkDown::Reset,
                ErrorKind::UnexpectedEof | ErrorKind::WriteZero => LinkDown::Eof,
                _ => LinkDown::Other(io.to_string()),
            },
            Error::Closed(_) => LinkDown::Eof,
            Error::KeepaliveTimeout(_) => LinkDown::KeepaliveTimeout,
            Error::AuthFailed { message } => LinkDown::LoginRefused(message.clone()),
            other => LinkDown::Other(other.to_string()),
        }
    }
}

impl fmt::Display for LinkDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkDown::Refused => f.write_str("refused"),
            LinkDown::Reset => f.write_str("reset"),
            LinkDown::Eof => f.write_str("closed by the server"),
            LinkDown::KeepaliveTimeout => f.write_str("keepalive timeout"),
            LinkDown::LoginRefused(m) => write!(f, "login refused: {m}"),
            LinkDown::Other(m) => f.write_str(m),
        }
    }
}

/// A change in the link's life, as the host hears of it
/// ([`Manager::on_link`](super::Manager::on_link)). `Display` gives one
/// short line: `up`, `down (keepalive timeout)`, `retry in 800 ms`,
/// `gave up (login refused: Authentication failed)`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkEvent {
    /// Connected and logged in (the login the manager knows replayed, after
    /// a reconnect). Resynchronise state from here: the events of the time
    /// the link was down are lost (ask `CoreShowChannels`, `QueueStatus` ...).
    Up {
        /// Reconnects so far (0 for the first link).
        reconnects: u64,
    },
    /// The link went down; pending actions have failed.
    Down(LinkDown),
    /// The next attempt starts after this wait.
    Retrying {
        /// The wait.
        after: Duration,
        /// The attempt it will be (1 for the first reconnect).
        attempt: u32,
    },
    /// No more attempts: the manager is closed.
    GaveUp(LinkDown),
}

impl fmt::Display for LinkEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkEvent::Up { .. } => f.write_str("up"),
            LinkEvent::Down(why) => write!(f, "down ({why})"),
            LinkEvent::Retrying { after, .. } => write!(f, "retry in {} ms", after.as_millis()),
            LinkEvent::GaveUp(why) => write!(f, "gave up ({why})"),
        }
    }
}

/// A small random source for the jitter (xorshift; no dependency, no
/// cryptography needed).
#[derive(Clone, Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Jitter((seed ^ nanos) | 1)
    }

    /// A number in `0..1`.
    pub(crate) fn next(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_within_the_jitter() {
        let r = Reconnect::default()
            .initial(Duration::from_millis(100))
            .max(Duration::from_secs(1))
            .jitter(0.0);
        let waits: Vec<u128> = (1..=6).map(|n| r.delay(n, 0.5).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        let r = r.jitter(0.2);
        assert_eq!(r.delay(3, 0.0).as_millis(), 320);
        assert_eq!(r.delay(3, 1.0).as_millis(), 480);
        assert!(r.delay(50, 1.0) <= Duration::from_secs(1));
        let mut j = Jitter::new(7);
        assert!((0..1000).map(|_| j.next()).all(|x| (0.0..1.0).contains(&x)));
    }

    #[test]
    fn link_lines_read_as_the_cli_prints_them() {
        assert_eq!(LinkEvent::Up { reconnects: 2 }.to_string(), "up");
        assert_eq!(
            LinkEvent::Down(LinkDown::KeepaliveTimeout).to_string(),
            "down (keepalive timeout)"
        );
        let retry = LinkEvent::Retrying {
            after: Duration::from_millis(800),
            attempt: 1,
        };
        assert_eq!(retry.to_string(), "retry in 800 ms");
    }
}
