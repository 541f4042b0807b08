//! One emulated manager session, with no I/O: request bytes in, reply bytes out.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::classes::{action_authority, privilege_classes, Classes};
use super::pbx::{respond, Out, Pbx};
use crate::ami::codec::{Frame, Framer, Status};
use crate::ami::connection::md5_key;
use crate::ami::Message;

/// Headers of one block, in order.
pub type Block = Vec<(String, String)>;

/// A scripted reply to an action: a response, optional list items, and
/// events broadcast to every session afterwards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptedReply {
    /// Response headers after `Response:`/`ActionID:`, e.g. `[("Message", "Queued")]`.
    pub response: Vec<(String, String)>,
    /// `Response: Error` instead of `Success`.
    pub error: bool,
    /// List items: each is an event sent with the action's ActionID, after
    /// which a `<name>Complete` event with `EventList: Complete` ends the list.
    /// `None` means the action is not a list.
    pub list: Option<(String, Vec<Block>)>,
    /// Events sent to every session with events on, after the response.
    pub events: Vec<Vec<(String, String)>>,
}

impl ScriptedReply {
    /// A success response with these headers.
    pub fn success(headers: &[(&str, &str)]) -> Self {
        ScriptedReply {
            response: pairs(headers),
            ..Default::default()
        }
    }

    /// An error response with this message.
    pub fn error(message: &str) -> Self {
        ScriptedReply {
            response: pairs(&[("Message", message)]),
            error: true,
            ..Default::default()
        }
    }

    /// Makes the reply a list: `item_event` events with these headers, then
    /// `complete_event` with `EventList: Complete` and `ListItems:`.
    pub fn list(
        mut self,
        complete_event: &str,
        item_event: &str,
        items: &[&[(&str, &str)]],
    ) -> Self {
        self.response
            .insert(0, ("EventList".into(), "start".into()));
        let items = items
            .iter()
            .map(|h| {
                let mut v = vec![("Event".to_owned(), item_event.to_owned())];
                v.extend(pairs(h));
                v
            })
            .collect();
        self.list = Some((complete_event.to_owned(), items));
        self
    }

    /// Adds an event broadcast after the reply.
    pub fn then_event(mut self, name: &str, headers: &[(&str, &str)]) -> Self {
        let mut v = vec![("Event".to_owned(), name.to_owned())];
        v.extend(pairs(headers));
        self.events.push(v);
        self
    }
}

pub(crate) fn pairs(h: &[(&str, &str)]) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An event the emulator sends on a timer (from a script, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedEvent {
    /// Time from the emulator's start to the first sending.
    pub first: Duration,
    /// The period after that; `None` sends it once.
    pub every: Option<Duration>,
    /// The event's headers, `Event:` first (a `Privilege:` header sets its classes).
    pub event: Block,
}

/// What the emulator knows: users, scripted actions and CLI commands, and
/// how its PBX behaves.
///
/// Start from [`EmulatorConfig::default`] and add to it with the builder
/// methods. `Debug` shows user names, never their secrets.
#[derive(Clone)]
#[non_exhaustive]
pub struct EmulatorConfig {
    /// The AMI version in the greeting.
    pub ami_version: String,
    /// The Asterisk version (`CoreSettings`, `core show version`, AGI env).
    pub asterisk_version: String,
    /// `username -> secret`.
    pub users: HashMap<String, String>,
    /// `username -> (read, write)` permission classes; a user missing here
    /// has every class both ways.
    pub classes: HashMap<String, (Classes, Classes)>,
    /// Scripted actions by lower-case name.
    pub scripts: HashMap<String, ScriptedReply>,
    /// CLI command text -> output lines.
    pub commands: HashMap<String, Vec<String>>,
    /// The challenge handed out for MD5 logins.
    pub challenge: String,
    /// The most clients connected at once (default 1024); one more is
    /// accepted and closed at once. It also bounds the tokens the emulator
    /// uses in a host's poll.
    pub max_clients: usize,
    /// How long a refused login waits before its error and the close.
    /// Asterisk sleeps one second; the default here is zero, for fast tests.
    pub auth_failure_delay: Duration,
    /// How long an originated channel's application runs when it is not
    /// `Wait(N)` (N seconds) or `AGI(agi:async)` (until hung up). Default 3 s.
    pub app_duration: Duration,
    /// Dial strings (`Local/nosuch@lab`) whose `Originate` fails.
    pub unreachable: Vec<String>,
    /// AsyncAGI replies: the first whose command prefix (ASCII case ignored)
    /// starts the command answers it.
    pub agi_replies: Vec<(String, String)>,
    /// The AsyncAGI reply for commands nothing else answers (`200 result=0`).
    pub agi_default_reply: String,
    /// Global variables set at start.
    pub globals: Vec<(String, String)>,
    /// AstDB entries at start: `(family, key, value)`.
    pub db: Vec<(String, String, String)>,
    /// Events sent on timers.
    pub timers: Vec<TimedEvent>,
    /// Events broadcast after an action (lower-case name) is answered.
    pub after_action: Vec<(String, Block)>,
    /// Faults applied to every connection (see [`Fault`](super::Fault)).
    pub faults: Vec<super::faults::Fault>,
    /// The TLS server settings, when the emulator serves AMI over TLS
    /// (see [`EmulatorConfig::tls`]).
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut users: Vec<&str> = self.users.keys().map(String::as_str).collect();
        users.sort_unstable();
        f.debug_struct("EmulatorConfig")
            .field("ami_version", &self.ami_version)
            .field("users", &users)
            .field("scripts", &self.scripts.keys().collect::<Vec<_>>())
            .field("commands", &self.commands.keys().collect::<Vec<_>>())
            .field("max_clients", &self.max_clients)
            .field("auth_failure_delay", &self.auth_failure_delay)
            .field("faults", &self.faults)
            .field("tls", &self.serves_tls())
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        let mut commands = HashMap::new();
        commands.insert(
            "core show version".to_owned(),
            vec!["Asterisk 22.10.1 (asterisk-io emulator)".to_owned()],
        );
        EmulatorConfig {
            ami_version: "11.0.0".into(),
            asterisk_version: "22.10.1".into(),
            users: HashMap::new(),
            classes: HashMap::new(),
            scripts: HashMap::new(),
            commands,
            challenge: "894967376".into(),
            max_clients: 1024,
            auth_failure_delay: Duration::ZERO,
            app_duration: Duration::from_secs(3),
            unreachable: Vec::new(),
            agi_replies: Vec::new(),
            agi_default_reply: "200 result=0".into(),
            globals: Vec::new(),
            db: Vec::new(),
            timers: Vec::new(),
            after_action: Vec::new(),
            faults: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl EmulatorConfig {
    /// Adds a user with every permission class.
    pub fn user(mut self, name: &str, secret: &str) -> Self {
        self.users.insert(name.into(), secret.into());
        self.classes.remove(name);
        self
    }

    /// Adds a user with these `read` and `write` classes, written as in
    /// `manager.conf` (`call,reporting`, `all`, `none`).
    pub fn user_with_classes(mut self, name: &str, secret: &str, read: &str, write: &str) -> Self {
        self.users.insert(name.into(), secret.into());
        self.classes
            .insert(name.into(), (Classes::parse(read), Classes::parse(write)));
        self
    }

    /// Scripts the reply to an action (matched case-insensitively). A
    /// scripted reply replaces the emulator's own answer to that action.
    pub fn script(mut self, action: &str, script: ScriptedReply) -> Self {
        self.scripts.insert(action.to_ascii_lowercase(), script);
        self
    }

    /// Sets [`EmulatorConfig::max_clients`].
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n;
        self
    }

    /// Sets [`EmulatorConfig::auth_failure_delay`] (Asterisk: one second).
    pub fn auth_failure_delay(mut self, delay: Duration) -> Self {
        self.auth_failure_delay = delay;
        self
    }

    /// Sets [`EmulatorConfig::app_duration`].
    pub fn app_duration(mut self, d: Duration) -> Self {
        self.app_duration = d;
        self
    }

    /// Sets a global variable at start.
    pub fn global(mut self, name: &str, value: &str) -> Self {
        self.globals.push((name.into(), value.into()));
        self
    }

    /// Puts an AstDB entry in at start.
    pub fn db_entry(mut self, family: &str, key: &str, value: &str) -> Self {
        self.db.push((family.into(), key.into(), value.into()));
        self
    }

    /// Makes `Originate` to this dial string fail.
    pub fn unreachable(mut self, dial: &str) -> Self {
        self.unreachable.push(dial.into());
        self
    }

    /// Answers AsyncAGI commands starting with `prefix` with `reply`
    /// (`200 result=1 (value)`, without the newline).
    pub fn agi_reply(mut self, prefix: &str, reply: &str) -> Self {
        self.agi_replies.push((prefix.into(), reply.into()));
        self
    }

    /// Sends an event `first` after start, then every `every` if given.
    pub fn timer_event(
        mut self,
        first: Duration,
        every: Option<Duration>,
        name: &str,
        headers: &[(&str, &str)],
    ) -> Self {
        let mut event = vec![("Event".to_owned(), name.to_owned())];
        event.extend(pairs(headers));
        self.timers.push(TimedEvent {
            first,
            every,
            event,
        });
        self
    }

    /// Broadcasts an event each time `action` has been answered.
    pub fn after_action(mut self, action: &str, name: &str, headers: &[(&str, &str)]) -> Self {
        let mut event = vec![("Event".to_owned(), name.to_owned())];
        event.extend(pairs(headers));
        self.after_action.push((action.to_ascii_lowercase(), event));
        self
    }

    /// Adds a fault applied to every connection.
    pub fn fault(mut self, fault: super::faults::Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// True when the emulator serves AMI over TLS.
    pub fn serves_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Serves AMI over TLS (the `tls` feature), as Asterisk does with
    /// `tlsenable=yes`: `cert_chain_pem` is the server's certificate chain
    /// (its own certificate first) and `key_pem` its private key, both PEM
    /// text. Fails when either holds no usable PEM item.
    #[cfg(feature = "tls")]
    pub fn tls(self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, crate::ami::TlsError> {
        self.tls_config(cert_chain_pem, key_pem, None)
    }

    /// Like [`EmulatorConfig::tls`], and asks every client for a
    /// certificate signed by one of the CAs in `client_ca_pem`: a client
    /// without one fails its handshake (mutual TLS, as a server with
    /// `tlsverifyclient` would have it).
    #[cfg(feature = "tls")]
    pub fn tls_with_client_auth(
        self,
        cert_chain_pem: &[u8],
        key_pem: &[u8],
        client_ca_pem: &[u8],
    ) -> Result<Self, crate::ami::TlsError> {
        self.tls_config(cert_chain_pem, key_pem, Some(client_ca_pem))
    }

    #[cfg(feature = "tls")]
    fn tls_config(
        mut self,
        cert_chain_pem: &[u8],
        key_pem: &[u8],
        client_ca_pem: Option<&[u8]>,
    ) -> Result<Self, crate::ami::TlsError> {
        use crate::ami::TlsError;
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Settings(format!("certificate chain: {e}")))?;
        if chain.is_empty() {
            return Err(TlsError::Settings(
                "certificate chain: no certificate".into(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| TlsError::Settings(format!("private key: {e}")))?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Settings(e.to_string()))?;
        let builder = match client_ca_pem {
            None => builder.with_no_client_auth(),
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| TlsError::Settings(format!("client CA: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| TlsError::Settings(format!("client CA: {e}")))?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    std::sync::Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(|e| TlsError::Settings(format!("client CA: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Settings(format!("certificate and key: {e}")))?;
        self.tls = Some(std::sync::Arc::new(config));
        Ok(self)
    }

    /// Sets the output of a CLI command.
    pub fn command(mut self, cli: &str, lines: &[&str]) -> Self {
        self.commands
            .insert(cli.into(), lines.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    fn classes_of(&self, user: &str) -> (Classes, Classes) {
        self.classes
            .get(user)
            .copied()
            .unwrap_or((Classes::ALL, Classes::ALL))
    }
}

/// Things a session hands the server for other sessions (the PBX's
/// [`Out`]: events and deferred replies).
pub type Effect = Out;

/// The most unsent output a session holds (64 MiB). A client that stops
/// reading while events and replies pile up past it is disconnected, as
/// Asterisk disconnects a manager session whose writes time out, instead of
/// letting the emulator's memory grow without bound.
pub const MAX_OUTPUT: usize = 64 << 20;

/// One client's session inside the emulator. `Debug` shows its state, never
/// the bytes it holds (a half-received `Login` holds a secret).
pub struct ClientSession {
    config: Rc<EmulatorConfig>,
    framer: Framer,
    input: Vec<u8>,
    out: Vec<u8>,
    id: u64,
    user: Option<String>,
    read: Classes,
    write: Classes,
    send_events: Classes,
    closing: bool,
    /// A refused login's reply, held until this time.
    refused: Option<(Instant, Vec<u8>)>,
    /// The PBX of [`ClientSession::feed`], for a session used on its own.
    local: Option<Box<Pbx>>,
    /// `LocalAddress` and `RemoteAddress` of security events.
    addresses: (String, String),
    /// Requests handled so far.
    pub requests: u64,
}

impl ClientSession {
    /// A session that has just sent its greeting.
    pub fn new(config: Rc<EmulatorConfig>) -> Self {
        Self::with_id(config, 0)
    }

    /// A session with this id (what [`Out::Reply`] names).
    pub fn with_id(config: Rc<EmulatorConfig>, id: u64) -> Self {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(b"Asterisk Call Manager/");
        out.extend_from_slice(config.ami_version.as_bytes());
        out.extend_from_slice(b"\r\n");
        ClientSession {
            config,
            framer: Framer::default(),
            input: Vec::new(),
            out,
            id,
            user: None,
            read: Classes::NONE,
            write: Classes::NONE,
            send_events: Classes::NONE,
            closing: false,
            refused: None,
            local: None,
            addresses: (
                "IPV4/TCP/127.0.0.1/5038".into(),
                "IPV4/TCP/127.0.0.1/0".into(),
            ),
            requests: 0,
        }
    }

    /// Sets the addresses security events report (`SuccessfulAuth`'s
    /// `LocalAddress` and `RemoteAddress`).
    pub fn set_addresses(&mut self, local: std::net::SocketAddr, remote: std::net::SocketAddr) {
        let f = |a: std::net::SocketAddr| {
            let v = if a.is_ipv4() { "IPV4" } else { "IPV6" };
            format!("{v}/TCP/{}/{}", a.ip(), a.port())
        };
        self.addresses = (f(local), f(remote));
    }

    /// The session's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// True once logged in.
    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }

    /// The logged-in user's name.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The event classes this session receives (its read classes and
    /// its event mask).
    pub fn event_classes(&self) -> Classes {
        self.send_events
    }

    /// True when the session should be closed once its output is written.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// Takes no more requests or events; the server drops the session once
    /// its output is written (the client closed its side, say).
    pub fn close(&mut self) {
        self.closing = true;
    }

    /// Bytes to send to the client.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Marks `n` output bytes as sent.
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n);
    }

    /// Appends raw bytes to the output (a fault's garbage, say).
    pub fn push_raw(&mut self, bytes: &[u8]) {
        if !self.closing {
            self.out.extend_from_slice(bytes);
            self.check_output();
        }
    }

    /// True when an event of these classes is for this session (logged
    /// in, and its mask covers every class of the event; an event with no
    /// class goes to every session with events on).
    pub fn wants(&self, classes: Classes) -> bool {
        self.user.is_some()
            && !self.closing
            && if classes == Classes::NONE {
                self.send_events != Classes::NONE
            } else {
                self.send_events.contains(classes)
            }
    }

    /// Queues an event for this session if it wants it (see
    /// [`ClientSession::wants`]; the classes come from its `Privilege:` header).
    pub fn push_event(&mut self, headers: &[(String, String)]) {
        let classes = get(headers, "Privilege")
            .map(privilege_classes)
            .unwrap_or_default();
        if self.wants(classes) {
            write_block(&mut self.out, headers);
            self.check_output();
        }
    }

    /// Queues a formatted event block if the session wants its classes.
    pub fn push_event_bytes(&mut self, classes: Classes, bytes: &[u8]) {
        if self.wants(classes) {
            self.out.extend_from_slice(bytes);
            self.check_output();
        }
    }

    /// Disconnects a client that lets more than [`MAX_OUTPUT`] bytes pile up.
    fn check_output(&mut self) {
        if self.out.len() > MAX_OUTPUT {
            self.out = Vec::new();
            self.closing = true;
        }
    }

    /// When the session next needs [`ClientSession::tick`].
    pub fn next_deadline(&self) -> Option<Instant> {
        self.refused.as_ref().map(|(t, _)| *t)
    }

    /// Moves time on: a refused login's delayed reply goes out and the
    /// session closes.
    pub fn tick(&mut self, now: Instant) {
        if self.refused.as_ref().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, bytes)) = self.refused.take() {
                self.out.extend_from_slice(&bytes);
            }
            self.closing = true;
        }
    }

    /// Feeds request bytes to a session used on its own, with a PBX of its
    /// own; returns the events for other sessions (its own are queued
    /// already). A refused login is answered at once. The server uses
    /// [`ClientSession::feed_with`] instead.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Effect> {
        let mut pbx = self.local.take().unwrap_or_else(|| {
            Box::new(Pbx::new(
                self.config.clone(),
                Instant::now(),
                std::time::SystemTime::now(),
            ))
        });
        let now = Instant::now();
        let mut more = self.feed_with(bytes, &mut pbx, now);
        let mut effects = Vec::new();
        loop {
            for out in pbx.outbox.drain(..) {
                match &out {
                    Out::Event { classes, bytes } => self.push_event_bytes(*classes, bytes),
                    Out::Reply { bytes, .. } => self.push_raw(bytes),
                }
                if matches!(out, Out::Event { .. }) {
                    effects.push(out);
                }
            }
            if !more {
                break;
            }
            more = self.feed_with(&[], &mut pbx, now);
        }
        self.tick(now + self.config.auth_failure_delay);
        self.local = Some(pbx);
        effects
    }

    /// Feeds request bytes at time `now`, against the emulator's shared
    /// PBX. The session stops after a request that left something in the
    /// PBX's outbox, so that the server delivers it before the replies to
    /// later requests; it returns true when requests remain: deliver the
    /// outbox, then call again with no bytes.
    pub fn feed_with(&mut self, bytes: &[u8], pbx: &mut Pbx, now: Instant) -> bool {
        if self.closing || self.refused.is_some() {
            return false;
        }
        self.input.extend_from_slice(bytes);
        let mut at = 0;
        let mut more = false;
        loop {
            if !pbx.outbox.is_empty() {
                more = at < self.input.len();
                break;
            }
            let frame = match self.framer.advance(&self.input[at..], false) {
                Status::Partial => break,
                Status::Complete(f) => f,
            };
            match frame {
                Frame::Message { len } | Frame::Malformed { len, .. } => {
                    let msg = Message::from_index(&self.input[at..at + len], self.framer.headers());
                    let req: Vec<(String, String)> = msg
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.to_str_lossy().trim().to_owned(),
                                v.to_str_lossy().trim_start().to_owned(),
                            )
                        })
                        .collect();
                    at += len;
                    self.requests += 1;
                    self.handle(&req, pbx, now);
                    if self.closing || self.refused.is_some() {
                        break;
                    }
                }
                Frame::Skip { len }
                | Frame::Oversized { len }
                | Frame::LegacyCommand { len, .. } => {
                    // Asterisk answers every empty request block with an error.
                    let blank = &self.input[at..at + len];
                    if matches!(frame, Frame::Skip { .. }) && (blank == b"\r\n" || blank == b"\n") {
                        respond(
                            &mut self.out,
                            &[],
                            "Error",
                            &[("Message", "Missing action in request")],
                        );
                    }
                    at += len;
                }
            }
        }
        self.input.drain(..at);
        self.check_output();
        more && !self.closing
    }

    fn handle(&mut self, req: &[(String, String)], pbx: &mut Pbx, now: Instant) {
        let Some(action) = get(req, "Action")
            .filter(|a| !a.is_empty())
            .map(|a| a.to_ascii_lowercase())
        else {
            respond(
                &mut self.out,
                req,
                "Error",
                &[("Message", "Missing action in request")],
            );
            return;
        };
        match action.as_str() {
            "login" => return self.login(req, pbx, now),
            "challenge" => {
                if get(req, "AuthType").is_some_and(|t| t.eq_ignore_ascii_case("md5")) {
                    let ch = self.config.challenge.clone();
                    respond(&mut self.out, req, "Success", &[("Challenge", &ch)]);
                } else {
                    respond(
                        &mut self.out,
                        req,
                        "Error",
                        &[("Message", "Must specify AuthType")],
                    );
                }
                return;
            }
            "logoff" => {
                respond(
                    &mut self.out,
                    req,
                    "Goodbye",
                    &[("Message", "Thanks for all the fish.")],
                );
                self.closing = true;
                return;
            }
            _ => {}
        }
        if self.user.is_none() {
            respond(
                &mut self.out,
                req,
                "Error",
                &[("Message", "Permission denied")],
            );
            return;
        }
        let authority = action_authority(&action);
        if authority != Classes::NONE && !self.write.intersects(authority) {
            respond(
                &mut self.out,
                req,
                "Error",
                &[("Message", "Permission denied")],
            );
            return;
        }
        if let Some(script) = self.config.scripts.get(action.as_str()).cloned() {
            self.run_script(req, &script, pbx);
        } else {
            match action.as_str() {
                "ping" => {
                    let (s, us) = pbx.wall_at(now);
                    let ts = format!("{s}.{us:06}");
                    respond(
                        &mut self.out,
                        req,
                        "Success",
                        &[("Ping", "Pong"), ("Timestamp", &ts)],
                    );
                }
                "events" => match get(req, "EventMask").and_then(Classes::event_mask) {
                    None => respond(
                        &mut self.out,
                        req,
                        "Error",
                        &[("Message", "Invalid event mask")],
                    ),
                    Some(mask) => {
                        self.send_events = Classes(self.read.0 & mask.0);
                        let state = if mask != Classes::NONE { "On" } else { "Off" };
                        respond(&mut self.out, req, "Success", &[("Events", state)]);
                    }
                },
                "command" => self.command(req, pbx, now),
                "listcommands" => self.list_commands(req),
                "userevent" => {
                    let Some(name) = get(req, "UserEvent") else {
                        respond(
                            &mut self.out,
                            req,
                            "Error",
                            &[("Message", "UserEvent header missing")],
                        );
                        return;
                    };
                    let mut ev = vec![("UserEvent".to_owned(), name.to_owned())];
                    ev.extend(
                        req.iter()
                            .filter(|(k, _)| {
                                !k.eq_ignore_ascii_case("action")
                                    && !k.eq_ignore_ascii_case("userevent")
                            })
                            .cloned(),
                    );
                    respond(&mut self.out, req, "Success", &[("Message", "Event Sent")]);
                    pbx.event(Classes::USER, "UserEvent", &ev);
                }
                name => {
                    if !pbx.action(name, req, self.id, &mut self.out, now) {
                        let original = get(req, "Action").unwrap_or("");
                        let msg = format!(
                            "Invalid/unknown command: {original}. Use Action: ListCommands to show available commands."
                        );
                        respond(&mut self.out, req, "Error", &[("Message", &msg)]);
                        return;
                    }
                }
            }
        }
        for (name, ev) in &self.config.after_action {
            if *name == action {
                pbx.raw_event(ev);
            }
        }
    }

    fn login(&mut self, req: &[(String, String)], pbx: &mut Pbx, now: Instant) {
        if self.user.is_some() {
            respond(
                &mut self.out,
                req,
                "Success",
                &[("Message", "Already authenticated")],
            );
            return;
        }
        let user = get(req, "Username").unwrap_or("");
        let ok = !user.is_empty()
            && match self.config.users.get(user) {
                None => false,
                Some(secret) => {
                    if get(req, "AuthType").is_some_and(|t| t.eq_ignore_ascii_case("md5")) {
                        let want = md5_key(self.config.challenge.as_bytes(), secret.as_bytes());
                        get(req, "Key") == Some(want.as_str())
                    } else {
                        get(req, "Secret") == Some(secret.as_str())
                    }
                }
            };
        if !ok {
            let mut bytes = Vec::new();
            respond(
                &mut bytes,
                req,
                "Error",
                &[("Message", "Authentication failed")],
            );
            // Asterisk sleeps before answering, then closes the connection.
            self.refused = Some((now + self.config.auth_failure_delay, bytes));
            self.tick(now);
            return;
        }
        let (read, write) = self.config.classes_of(user);
        self.user = Some(user.to_owned());
        self.read = read;
        self.write = write;
        self.send_events = match get(req, "Events").filter(|e| !e.is_empty()) {
            Some(mask) => Classes(read.0 & Classes::event_mask(mask).unwrap_or_default().0),
            None => read,
        };
        respond(
            &mut self.out,
            req,
            "Success",
            &[("Message", "Authentication accepted")],
        );
        if self.send_events.intersects(Classes::SYSTEM) {
            let up = pbx.uptime(now).to_string();
            let mut ev = Vec::with_capacity(128);
            ev.extend_from_slice(b"Event: FullyBooted\r\nPrivilege: system,all\r\n");
            write_block(
                &mut ev,
                &pairs(&[
                    ("Uptime", &up),
                    ("LastReload", &up),
                    ("Status", "Fully Booted"),
                ]),
            );
            self.out.extend_from_slice(&ev);
        }
        let (s, us) = pbx.wall_at(now);
        let (d, t) = super::pbx::civil(s);
        let tv = format!("{d}T{t}.{:03}+0000", us / 1000);
        let sid = format!("0x{:012x}", 0x7f00_0000_0000u64 + self.id);
        pbx.event(
            Classes::SECURITY,
            "SuccessfulAuth",
            &pairs(&[
                ("EventTV", &tv),
                ("Severity", "Informational"),
                ("Service", "AMI"),
                ("EventVersion", "1"),
                ("AccountID", user),
                ("SessionID", &sid),
                ("LocalAddress", &self.addresses.0),
                ("RemoteAddress", &self.addresses.1),
                ("UsingPassword", "0"),
                ("SessionTV", &tv),
            ]),
        );
    }

    /// `ListCommands`: one `Name: Synopsis  (Priv: ...)` line per action
    /// this user may run, built-in and scripted, sorted by name.
    fn list_commands(&mut self, req: &[(String, String)]) {
        const BUILT_IN: &[&str] = &[
            "AGI",
            "Challenge",
            "Command",
            "CoreSettings",
            "CoreShowChannels",
            "CoreStatus",
            "DBDel",
            "DBDelTree",
            "DBGet",
            "DBGetTree",
            "DBPut",
            "Events",
            "Getvar",
            "Hangup",
            "ListCommands",
            "Login",
            "Logoff",
            "Originate",
            "Ping",
            "Setvar",
            "Status",
            "UserEvent",
        ];
        let mut names: Vec<String> = BUILT_IN.iter().map(|s| (*s).to_owned()).collect();
        for key in self.config.scripts.keys() {
            let name = crate::ami::catalogue::action(key)
                .map(|a| a.name().to_owned())
                .unwrap_or_else(|| key.clone());
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                names.push(name);
            }
        }
        names.sort_by_key(|n| n.to_ascii_lowercase());
        let mut lines = Vec::new();
        for name in names {
            let authority = action_authority(&name.to_ascii_lowercase());
            if authority != Classes::NONE && !self.write.intersects(authority) {
                continue;
            }
            let synopsis = crate::ami::catalogue::action(&name)
                .map(|a| a.summary())
                .unwrap_or("Scripted action.");
            lines.push((
                name,
                format!("{synopsis}  (Priv: {})", authority.privilege()),
            ));
        }
        let headers: Vec<(&str, &str)> = lines
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        respond(&mut self.out, req, "Success", &headers);
    }

    fn command(&mut self, req: &[(String, String)], pbx: &Pbx, now: Instant) {
        let Some(cli) = get(req, "Command").filter(|c| !c.is_empty()) else {
            respond(
                &mut self.out,
                req,
                "Error",
                &[("Message", "No command provided")],
            );
            return;
        };
        let key = cli.trim();
        let (error, lines) = match self.config.commands.get(key) {
            Some(lines) => (false, lines.clone()),
            None if key == "core show uptime" => {
                let up = uptime_text(pbx.uptime(now));
                (
                    false,
                    vec![format!("System uptime: {up}"), format!("Last reload: {up}")],
                )
            }
            None if key == "core show channels" => (false, pbx.show_channels()),
            None => {
                let first = cli.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                (
                    true,
                    vec![format!(
                        "No such command '{cli}' (type 'core show help {first}' for other possible commands)"
                    )],
                )
            }
        };
        let mut v = vec![(
            "Response".to_owned(),
            if error { "Error" } else { "Success" }.to_owned(),
        )];
        if let Some(id) = get(req, "ActionID") {
            v.push(("ActionID".into(), id.to_owned()));
        }
        v.push(("Message".into(), "Command output follows".into()));
        v.extend(lines.into_iter().map(|l| ("Output".to_owned(), l)));
        write_block(&mut self.out, &v);
    }

    fn run_script(&mut self, req: &[(String, String)], script: &ScriptedReply, pbx: &mut Pbx) {
        let headers: Vec<(&str, &str)> = script
            .response
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let kind = if script.error { "Error" } else { "Success" };
        respond(&mut self.out, req, kind, &headers);
        if let Some((complete, items)) = &script.list {
            let id = get(req, "ActionID").map(str::to_owned);
            for item in items {
                let mut v = item.clone();
                if let Some(id) = &id {
                    v.push(("ActionID".into(), id.clone()));
                }
                write_block(&mut self.out, &v);
            }
            let mut v = vec![("Event".to_owned(), complete.clone())];
            if let Some(id) = &id {
                v.push(("ActionID".into(), id.clone()));
            }
            v.push(("EventList".into(), "Complete".into()));
            v.push(("ListItems".into(), items.len().to_string()));
            write_block(&mut self.out, &v);
        }
        for ev in &script.events {
            let mut ev = ev.clone();
            if let Some(id) = get(req, "ActionID") {
                ev.push(("ActionID".into(), id.to_owned()));
            }
            pbx.raw_event(&ev);
        }
    }
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("id", &self.id)
            .field("user", &self.user)
            .field("send_events", &self.send_events)
            .field("closing", &self.closing)
            .field("unread_input", &self.input.len())
            .field("unsent_output", &self.out.len())
            .field("requests", &self.requests)
            .finish_non_exhaustive()
    }
}

/// Uptime as `core show uptime` words it (`1 minute, 5 seconds`).
fn uptime_text(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "day"),
        (secs / 3600 % 24, "hour"),
        (secs / 60 % 60, "minute"),
        (secs % 60, "second"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if words.is_empty() {
        "0 seconds".into()
    } else {
        words.join(", ")
    }
}

pub(crate) fn get<'a>(req: &'a [(String, String)], key: &str) -> Option<&'a str> {
    req.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

pub(crate) fn write_block(out: &mut Vec<u8>, headers: &[(String, String)]) {
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    fn session() -> ClientSession {
        ClientSession::new(Rc::new(EmulatorConfig::default().user("lab", "labsecret")))
    }

    fn text(s: &mut ClientSession) -> String {
        let t = String::from_utf8(s.output().to_vec()).unwrap();
        let n = s.output().len();
        s.consume_output(n);
        t
    }

    #[test]
    fn unauthenticated_actions_are_denied_and_blank_blocks_answered() {
        let mut s = session();
        text(&mut s);
        s.feed(b"Action: Ping\r\nActionID: 1\r\n\r\n\r\n");
        let t = text(&mut s);
        assert!(
            t.starts_with("Response: Error\r\nActionID: 1\r\nMessage: Permission denied\r\n\r\n"),
            "{t}"
        );
        assert!(
            t.ends_with("Response: Error\r\nMessage: Missing action in request\r\n\r\n"),
            "{t}"
        );
    }

    #[test]
    fn debug_never_shows_a_half_received_secret() {
        let mut s = session();
        s.feed(b"Action: Login\r\nUsername: lab\r\nSecret: hunter2\r\n");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn md5_login_is_checked() {
        let mut s = session();
        s.feed(b"Action: Challenge\r\nAuthType: MD5\r\n\r\n");
        let mut h = Md5::new();
        h.update(b"894967376labsecret");
        let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        s.feed(
            format!("Action: Login\r\nAuthType: MD5\r\nUsername: lab\r\nKey: {key}\r\n\r\n")
                .as_bytes(),
        );
        assert!(s.is_authenticated());
        assert!(text(&mut s).contains("Challenge: 894967376"));
    }
}
