//! AsyncAGI, sans-IO: sessions carried over the manager connection.
//!
//! A channel that runs `AGI(agi:async)` raises `AsyncAGIStart` (with the
//! environment block percent-encoded in `Env`). Commands are queued with the
//! AMI action `Action: AGI` (`Channel`, `Command`, `CommandID`); each result
//! comes back as an `AsyncAGIExec` event (percent-encoded `Result`, the id in
//! a header spelled `CommandId`), and `AsyncAGIEnd` closes the session.
//! Asterisk 11 and older send one `Event: AsyncAGI` with
//! `SubEvent: Start|Exec|End` instead; both shapes are accepted.
//!
//! [`AsyncAgi`] knows nothing about AMI types: feed it each event's name and
//! a header lookup function, and send the [`AgiAction`]s it gives you as
//! `Action: AGI` messages with your manager connection. Typed results come
//! back through the callback given to [`AsyncAgi::send`], untyped ones as
//! [`AsyncEvent::Reply`].
//!
//! To run whole [`Script`](super::Script) / [`Handler`](super::Handler)
//! sessions over a [`Manager`](crate::ami::Manager) instead, use
//! [`AsyncAgiServer`](super::over_ami::AsyncAgiServer).

use super::codec::{percent_decode, Env, OwnedReply, Reply};
use super::command::Command;
use super::error::{AgiError, HangupSource};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

/// Instances that made a `CommandID` prefix so far, in this process.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// A `CommandID` prefix of its own for one AsyncAGI instance:
/// `agi-{pid}-{start}-{n}-` (hexadecimal), from the process id, the time in
/// nanoseconds and a per-process counter of instances. The counter keeps two
/// instances of one process apart (even when the clock says the same), the
/// pid and the time keep processes apart, which matters because every
/// manager session sees every `AsyncAGIExec`.
pub(crate) fn unique_id_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
    format!("agi-{:x}-{:x}-{:x}-", std::process::id(), nanos, n)
}

/// The fields of one `Action: AGI` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgiAction {
    /// `Channel:` the AsyncAGI channel.
    pub channel: String,
    /// `Command:` the encoded command line (without LF).
    pub command: String,
    /// `CommandID:` the id echoed in `AsyncAGIExec` (absent if `None`).
    pub command_id: Option<String>,
}

impl AgiAction {
    /// The action's header fields in order (`Action: AGI` itself excluded).
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            ("Channel", self.channel.as_str()),
            ("Command", self.command.as_str()),
        ];
        if let Some(id) = &self.command_id {
            v.push(("CommandID", id.as_str()));
        }
        v
    }
}

/// What an AsyncAGI event meant.
#[derive(Debug)]
#[non_exhaustive]
pub enum AsyncEvent {
    /// A channel entered AsyncAGI.
    Started {
        /// Channel name.
        channel: String,
        /// Its decoded environment.
        env: Box<Env>,
    },
    /// A result for a command sent without a callback (or by someone else).
    Reply {
        /// Channel name.
        channel: String,
        /// The `CommandId` header, if any.
        command_id: Option<String>,
        /// The decoded reply.
        reply: Result<OwnedReply, AgiError>,
    },
    /// A result was delivered to the callback given to [`AsyncAgi::send`].
    Delivered {
        /// Channel name.
        channel: String,
        /// The command id.
        command_id: Option<String>,
    },
    /// The channel left AsyncAGI (`ASYNCAGI BREAK` or hangup). Commands
    /// still pending got [`AgiError::HungUp`].
    Ended {
        /// Channel name.
        channel: String,
    },
}

type Deliver = Box<dyn FnOnce(Result<&Reply<'_>, AgiError>)>;

struct Pending {
    id: Option<String>,
    deliver: Option<Deliver>,
}

struct Chan {
    pending: VecDeque<Pending>,
}

/// Per-channel AsyncAGI session state. See the [module docs](self).
pub struct AsyncAgi {
    chans: HashMap<String, Chan>,
    next_id: u64,
    prefix: String,
}

impl std::fmt::Debug for AsyncAgi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncAgi")
            .field("channels", &self.chans.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for AsyncAgi {
    fn default() -> Self {
        Self::new()
    }
}

impl AsyncAgi {
    /// No sessions yet. Generated command ids are a prefix no other
    /// instance uses, in this process or (with the process id and the start
    /// time in it) another one, and a counter from 1:
    /// `agi-{pid}-{start}-{instance}-1`, `...-2`, ... (hexadecimal fields).
    pub fn new() -> Self {
        Self::with_id_prefix(unique_id_prefix())
    }

    /// Use `prefix` for generated command ids (`{prefix}1`, `{prefix}2`,
    /// ...). Keeping them apart from other instances' ids is then yours to
    /// do.
    pub fn with_id_prefix(prefix: impl Into<String>) -> Self {
        AsyncAgi {
            chans: HashMap::new(),
            next_id: 0,
            prefix: prefix.into(),
        }
    }

    /// Channels currently in AsyncAGI.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.chans.keys().map(String::as_str)
    }

    /// True if `channel` is in AsyncAGI.
    pub fn is_active(&self, channel: &str) -> bool {
        self.chans.contains_key(channel)
    }

    /// Commands awaiting their `AsyncAGIExec` on `channel`.
    pub fn pending(&self, channel: &str) -> usize {
        self.chans.get(channel).map_or(0, |c| c.pending.len())
    }

    fn queue(
        &mut self,
        channel: &str,
        line: String,
        id: Option<String>,
        deliver: Option<Deliver>,
    ) -> Result<AgiAction, AgiError> {
        let chan = self
            .chans
            .get_mut(channel)
            .ok_or(AgiError::HungUp(HangupSource::SessionEnded))?;
        chan.pending.push_back(Pending {
            id: id.clone(),
            deliver,
        });
        Ok(AgiAction {
            channel: channel.to_string(),
            command: line,
            command_id: id,
        })
    }

    fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("{}{}", self.prefix, self.next_id)
    }

    /// Queue a typed command for `channel`; `on_result` gets its typed
    /// result when the `AsyncAGIExec` arrives (or an error if the session
    /// ends first). Returns the action to send. Fails without queuing if the
    /// channel is not in AsyncAGI or an argument holds CR/LF.
    pub fn send<C, F>(&mut self, channel: &str, cmd: C, on_result: F) -> Result<AgiAction, AgiError>
    where
        C: Command + 'static,
        F: FnOnce(Result<C::Output, AgiError>) + 'static,
    {
        let line = cmd.to_line()?;
        let id = self.fresh_id();
        let deliver: Deliver = Box::new(move |r| on_result(r.and_then(|rep| cmd.parse_reply(rep))));
        self.queue(channel, line, Some(id), Some(deliver))
    }

    /// Queue a command whose reply comes back as [`AsyncEvent::Reply`].
    /// `command_id`: `Some` to choose the id, `None` to send none (the
    /// result is then matched in order).
    pub fn send_untyped<C: Command>(
        &mut self,
        channel: &str,
        cmd: &C,
        command_id: Option<String>,
    ) -> Result<AgiAction, AgiError> {
        let line = cmd.to_line()?;
        self.queue(channel, line, command_id, None)
    }

    /// Like [`send`](Self::send) with a chosen id.
    pub fn send_with_id<C, F>(
        &mut self,
        channel: &str,
        cmd: C,
        command_id: impl Into<String>,
        on_result: F,
    ) -> Result<AgiAction, AgiError>
    where
        C: Command + 'static,
        F: FnOnce(Result<C::Output, AgiError>) + 'static,
    {
        let line = cmd.to_line()?;
        let deliver: Deliver = Box::new(move |r| on_result(r.and_then(|rep| cmd.parse_reply(rep))));
        self.queue(channel, line, Some(command_id.into()), Some(deliver))
    }

    /// The manager refused an `Action: AGI` (`Response: Error`): drop the
    /// pending command with that id and hand `error` to its callback.
    pub fn action_failed(&mut self, channel: &str, command_id: &str, error: AgiError) {
        if let Some(chan) = self.chans.get_mut(channel) {
            if let Some(i) = chan
                .pending
                .iter()
                .position(|p| p.id.as_deref() == Some(command_id))
            {
                if let Some(p) = chan.pending.remove(i) {
                    if let Some(d) = p.deliver {
                        d(Err(error));
                    }
                }
            }
        }
    }

    /// Feed one AMI event: its name (`Event:` value) and a header lookup
    /// (ASCII case-insensitive, as AMI header names are). Returns `None` for
    /// events that are not AsyncAGI ones.
    pub fn handle_event<'h, G>(&mut self, event: &str, get: G) -> Option<AsyncEvent>
    where
        G: Fn(&str) -> Option<&'h str>,
    {
        let kind = if event.eq_ignore_ascii_case("AsyncAGIStart") {
            "start"
        } else if event.eq_ignore_ascii_case("AsyncAGIExec") {
            "exec"
        } else if event.eq_ignore_ascii_case("AsyncAGIEnd") {
            "end"
        } else if event.eq_ignore_ascii_case("AsyncAGI") {
            match get("SubEvent") {
                Some(s) if s.eq_ignore_ascii_case("Start") => "start",
                Some(s) if s.eq_ignore_ascii_case("Exec") => "exec",
                Some(s) if s.eq_ignore_ascii_case("End") => "end",
                _ => return None,
            }
        } else {
            return None;
        };
        let channel = get("Channel")?.to_string();
        match kind {
            "start" => {
                let raw = percent_decode(get("Env").unwrap_or("").as_bytes()).into_owned();
                let env = match Env::parse(&raw) {
                    Ok(e) => e,
                    // Tolerate a missing final blank line.
                    Err(_) => {
                        let mut fixed = raw.clone();
                        while fixed.last() == Some(&b'\n') {
                            fixed.pop();
                        }
                        fixed.extend_from_slice(b"\n\n");
                        Env::parse(&fixed).unwrap_or_else(|_| Env::parse(b"\n").expect("empty"))
                    }
                };
                // A restart on the same channel ends the old session.
                if let Some(old) = self.chans.remove(&channel) {
                    fail_all(old);
                }
                self.chans.insert(
                    channel.clone(),
                    Chan {
                        pending: VecDeque::new(),
                    },
                );
                Some(AsyncEvent::Started {
                    channel,
                    env: Box::new(env),
                })
            }
            "exec" => {
                let id = get("CommandId")
                    .or_else(|| get("CommandID"))
                    .map(str::to_string);
                let raw = percent_decode(get("Result").unwrap_or("").as_bytes()).into_owned();
                let pending = self.chans.get_mut(&channel).and_then(|c| {
                    let i = c.pending.iter().position(|p| p.id == id)?;
                    c.pending.remove(i)
                });
                let parsed = Reply::parse(&raw);
                match pending.and_then(|p| p.deliver) {
                    Some(deliver) => {
                        match &parsed {
                            Ok(r) => deliver(Ok(r)),
                            Err(e) => deliver(Err(e.duplicate())),
                        }
                        Some(AsyncEvent::Delivered {
                            channel,
                            command_id: id,
                        })
                    }
                    None => {
                        let reply = parsed.map(|r| r.to_owned());
                        Some(AsyncEvent::Reply {
                            channel,
                            command_id: id,
                            reply,
                        })
                    }
                }
            }
            _ => {
                if let Some(old) = self.chans.remove(&channel) {
                    fail_all(old);
                }
                Some(AsyncEvent::Ended { channel })
            }
        }
    }
}

fn fail_all(chan: Chan) {
    for p in chan.pending {
        if let Some(d) = p.deliver {
            d(Err(AgiError::HungUp(HangupSource::SessionEnded)));
        }
    }
}
