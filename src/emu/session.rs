//! One emulated manager session, with no I/O: request bytes in, reply bytes out.

use std::collections::HashMap;
use std::rc::Rc;

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
        self.response.push(("EventList".into(), "start".into()));
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

/// What the emulator knows: users, scripted actions and CLI commands.
///
/// Start from [`EmulatorConfig::default`] and add to it with the builder
/// methods. `Debug` shows user names, never their secrets.
#[derive(Clone)]
#[non_exhaustive]
pub struct EmulatorConfig {
    /// The AMI version in the greeting.
    pub ami_version: String,
    /// `username -> secret`.
    pub users: HashMap<String, String>,
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
        commands.insert(
            "core show uptime".to_owned(),
            vec![
                "System uptime: 1 second".to_owned(),
                "Last reload: 1 second".to_owned(),
            ],
        );
        EmulatorConfig {
            ami_version: "11.0.0".into(),
            users: HashMap::new(),
            scripts: HashMap::new(),
            commands,
            challenge: "894967376".into(),
            max_clients: 1024,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl EmulatorConfig {
    /// Adds a user.
    pub fn user(mut self, name: &str, secret: &str) -> Self {
        self.users.insert(name.into(), secret.into());
        self
    }

    /// Scripts the reply to an action (matched case-insensitively).
    pub fn script(mut self, action: &str, script: ScriptedReply) -> Self {
        self.scripts.insert(action.to_ascii_lowercase(), script);
        self
    }

    /// Sets [`EmulatorConfig::max_clients`].
    pub fn max_clients(mut self, n: usize) -> Self {
        self.max_clients = n;
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
}

/// Things a session asks the server to do for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send this event to every session with events on.
    Broadcast(Vec<(String, String)>),
}

/// The most unsent output a session holds (64 MiB). A client that stops
/// reading while events and replies pile up past it is disconnected, as
/// Asterisk disconnects a manager session whose writes time out, instead of
/// letting the emulator's memory grow without bound.
pub const MAX_OUTPUT: usize = 64 << 20;

/// One client's session inside the emulator.
#[derive(Debug)]
pub struct ClientSession {
    config: Rc<EmulatorConfig>,
    framer: Framer,
    input: Vec<u8>,
    out: Vec<u8>,
    user: Option<String>,
    events_on: bool,
    closing: bool,
    globals: HashMap<String, String>,
    /// Requests handled so far.
    pub requests: u64,
}

impl ClientSession {
    /// A session that has just sent its greeting.
    pub fn new(config: Rc<EmulatorConfig>) -> Self {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(b"Asterisk Call Manager/");
        out.extend_from_slice(config.ami_version.as_bytes());
        out.extend_from_slice(b"\r\n");
        ClientSession {
            config,
            framer: Framer::default(),
            input: Vec::new(),
            out,
            user: None,
            events_on: true,
            closing: false,
            globals: HashMap::new(),
            requests: 0,
        }
    }

    /// True once logged in.
    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
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

    /// Queues an event for this session if it is logged in with events on.
    pub fn push_event(&mut self, headers: &[(String, String)]) {
        if self.user.is_some() && self.events_on && !self.closing {
            write_block(&mut self.out, headers);
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

    /// Feeds request bytes; returns what the server must do for other sessions.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.closing {
            return effects;
        }
        self.input.extend_from_slice(bytes);
        let mut at = 0;
        loop {
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
                    self.handle(&req, &mut effects);
                    if self.closing {
                        break;
                    }
                }
                Frame::Skip { len }
                | Frame::Oversized { len }
                | Frame::LegacyCommand { len, .. } => {
                    // Asterisk answers every empty request block with an error.
                    let blank = &self.input[at..at + len];
                    if matches!(frame, Frame::Skip { .. }) && (blank == b"\r\n" || blank == b"\n") {
                        self.reply(&[], true, &[("Message", "Missing action in request")]);
                    }
                    at += len;
                }
            }
        }
        self.input.drain(..at);
        self.check_output();
        effects
    }

    fn reply(&mut self, req: &[(String, String)], error: bool, headers: &[(&str, &str)]) {
        let mut v: Vec<(String, String)> = vec![(
            "Response".into(),
            if error { "Error" } else { "Success" }.into(),
        )];
        if let Some(id) = get(req, "ActionID") {
            v.push(("ActionID".into(), id.to_owned()));
        }
        v.extend(pairs(headers));
        write_block(&mut self.out, &v);
    }

    fn handle(&mut self, req: &[(String, String)], effects: &mut Vec<Effect>) {
        let Some(action) = get(req, "Action").map(|a| a.to_ascii_lowercase()) else {
            self.reply(req, true, &[("Message", "Missing action in request")]);
            return;
        };
        match action.as_str() {
            "login" => return self.login(req),
            "challenge" => {
                if get(req, "AuthType").is_some_and(|t| t.eq_ignore_ascii_case("md5")) {
                    let ch = self.config.challenge.clone();
                    self.reply(req, false, &[("Challenge", &ch)]);
                } else {
                    self.reply(req, true, &[("Message", "Must specify AuthType")]);
                }
                return;
            }
            "logoff" => {
                let mut v = vec![("Response".to_owned(), "Goodbye".to_owned())];
                if let Some(id) = get(req, "ActionID") {
                    v.push(("ActionID".into(), id.to_owned()));
                }
                v.push(("Message".into(), "Thanks for all the fish.".into()));
                write_block(&mut self.out, &v);
                self.closing = true;
                return;
            }
            _ => {}
        }
        if self.user.is_none() {
            self.reply(req, true, &[("Message", "Permission denied")]);
            return;
        }
        match action.as_str() {
            "ping" => self.reply(req, false, &[("Ping", "Pong"), ("Timestamp", &timestamp())]),
            "events" => match get(req, "EventMask") {
                None => self.reply(req, true, &[("Message", "Invalid event mask")]),
                Some(mask) => {
                    self.events_on = !mask.eq_ignore_ascii_case("off")
                        && mask.split(',').all(|c| is_event_class(c.trim()));
                    let state = if self.events_on { "On" } else { "Off" };
                    self.reply(req, false, &[("Events", state)]);
                }
            },
            "command" => self.command(req),
            "setvar" => match (get(req, "Variable"), get(req, "Value")) {
                (Some(var), value) => {
                    self.globals
                        .insert(var.to_owned(), value.unwrap_or("").to_owned());
                    self.reply(req, false, &[("Message", "Variable Set")]);
                }
                (None, _) => self.reply(req, true, &[("Message", "No variable specified")]),
            },
            "getvar" => match get(req, "Variable") {
                Some(var) => {
                    let value = self.globals.get(var).cloned().unwrap_or_default();
                    self.reply(req, false, &[("Variable", var), ("Value", &value)]);
                }
                None => self.reply(req, true, &[("Message", "No variable specified")]),
            },
            "userevent" => {
                let Some(name) = get(req, "UserEvent") else {
                    self.reply(req, true, &[("Message", "UserEvent header missing")]);
                    return;
                };
                self.reply(req, false, &[]);
                let mut ev = vec![
                    ("Event".to_owned(), "UserEvent".to_owned()),
                    ("Privilege".to_owned(), "user,all".to_owned()),
                    ("UserEvent".to_owned(), name.to_owned()),
                ];
                ev.extend(
                    req.iter()
                        .filter(|(k, _)| {
                            !["action", "actionid", "userevent"]
                                .contains(&k.to_ascii_lowercase().as_str())
                        })
                        .cloned(),
                );
                if let Some(id) = get(req, "ActionID") {
                    ev.push(("ActionID".into(), id.to_owned()));
                }
                effects.push(Effect::Broadcast(ev));
            }
            name => match self.config.scripts.get(name).cloned() {
                Some(script) => self.run_script(req, &script, effects),
                None => {
                    let original = get(req, "Action").unwrap_or("");
                    let msg = format!(
                        "Invalid/unknown command: {original}. Use Action: ListCommands to show available commands."
                    );
                    self.reply(req, true, &[("Message", &msg)]);
                }
            },
        }
    }

    fn login(&mut self, req: &[(String, String)]) {
        let user = get(req, "Username").unwrap_or("");
        let ok = match self.config.users.get(user) {
            None => false,
            Some(secret) => {
                if get(req, "AuthType").is_some_and(|t| t.eq_ignore_ascii_case("md5")) {
                    let want = md5_key(self.config.challenge.as_bytes(), secret.as_bytes());
                    get(req, "Key").is_some_and(|k| k.eq_ignore_ascii_case(&want))
                } else {
                    get(req, "Secret") == Some(secret.as_str())
                }
            }
        };
        if !ok {
            self.reply(req, true, &[("Message", "Authentication failed")]);
            self.closing = true;
            return;
        }
        self.user = Some(user.to_owned());
        if let Some(mask) = get(req, "Events") {
            self.events_on = !mask.eq_ignore_ascii_case("off");
        }
        self.reply(req, false, &[("Message", "Authentication accepted")]);
        self.push_event(&pairs(&[
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Uptime", "1"),
            ("LastReload", "1"),
            ("Status", "Fully Booted"),
        ]));
    }

    fn command(&mut self, req: &[(String, String)]) {
        let Some(cli) = get(req, "Command") else {
            self.reply(req, true, &[("Message", "No command provided")]);
            return;
        };
        let (error, lines) = match self.config.commands.get(cli.trim()) {
            Some(lines) => (false, lines.clone()),
            None => (
                true,
                vec![format!(
                    "No such command '{cli}' (type 'core show help {cli}' for other possible commands)"
                )],
            ),
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

    fn run_script(
        &mut self,
        req: &[(String, String)],
        script: &ScriptedReply,
        effects: &mut Vec<Effect>,
    ) {
        let headers: Vec<(&str, &str)> = script
            .response
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.reply(req, script.error, &headers);
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
            effects.push(Effect::Broadcast(ev));
        }
    }
}

fn is_event_class(c: &str) -> bool {
    const CLASSES: &[&str] = &[
        "on",
        "all",
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    ];
    CLASSES.iter().any(|k| k.eq_ignore_ascii_case(c))
}

fn get<'a>(req: &'a [(String, String)], key: &str) -> Option<&'a str> {
    req.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

fn write_block(out: &mut Vec<u8>, headers: &[(String, String)]) {
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn timestamp() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
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
