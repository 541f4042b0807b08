//! Socket settings shared by the manager client and the FastAGI server.

use std::io;
use std::time::Duration;

use mio::net::TcpStream;

/// The default TCP keepalive of the manager and the FastAGI server: the first probe after 60 s
/// of silence, then one every 10 s. With Linux's default of 9 probes a
/// vanished peer is noticed about 150 s after it last sent anything.
pub const DEFAULT_KEEPALIVE: TcpKeepalive =
    TcpKeepalive::new(Duration::from_secs(60), Duration::from_secs(10));

/// TCP keepalive on a socket (the manager's
/// [`ManagerConfig::tcp_keepalive`](crate::ami::ManagerConfig::tcp_keepalive),
/// the FastAGI [`Server::set_tcp_keepalive`](crate::agi::Server::set_tcp_keepalive)). How many unanswered probes end the
/// connection is the system's setting (`net.ipv4.tcp_keepalive_probes` on
/// Linux, 9 by default).
///
/// Build one with [`TcpKeepalive::new`] or start from [`DEFAULT_KEEPALIVE`]
/// and change its fields (more may come).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpKeepalive {
    /// Silence before the first probe (`TCP_KEEPIDLE`).
    pub idle: Duration,
    /// Time between two probes (`TCP_KEEPINTVL`), where the platform lets a
    /// program set it; elsewhere the system's value applies.
    pub interval: Duration,
}

impl TcpKeepalive {
    /// The first probe after `idle` of silence, then one every `interval`.
    pub const fn new(idle: Duration, interval: Duration) -> Self {
        TcpKeepalive { idle, interval }
    }
}

impl Default for TcpKeepalive {
    fn default() -> Self {
        DEFAULT_KEEPALIVE
    }
}

pub(crate) fn set_keepalive(stream: &TcpStream, keepalive: &TcpKeepalive) -> io::Result<()> {
    let params = socket2::TcpKeepalive::new().with_time(keepalive.idle);
    #[cfg(any(
        target_os = "android",
        target_os = "dragonfly",
        target_os = "freebsd",
        target_os = "fuchsia",
        target_os = "illumos",
        target_os = "ios",
        target_os = "linux",
        target_os = "macos",
        target_os = "netbsd",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "windows",
    ))]
    let params = params.with_interval(keepalive.interval);
    socket2::SockRef::from(stream).set_tcp_keepalive(&params)
}
