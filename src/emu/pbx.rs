//! The emulator's small PBX, shared by every session: an AstDB, global and
//! channel variables, fake channels made by `Originate`, and AsyncAGI on
//! them. Sans-IO: time comes in as `now`, events go out through an outbox
//! the server delivers to the sessions whose read classes allow them.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::classes::Classes;
use super::session::{get, write_block, Block, EmulatorConfig};

/// Something the PBX has for the sessions, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// An event (its bytes, `Event:` line to the blank line) for every
    /// session whose event mask covers `classes` (an empty set: every
    /// session with events on).
    Event {
        /// The event's classes (its `Privilege:` header).
        classes: Classes,
        /// The whole block, CRLF line endings and blank line included.
        bytes: Vec<u8>,
    },
    /// Bytes for one session only (a synchronous `Originate`'s response,
    /// which Asterisk writes after the call's first events).
    Reply {
        /// The session's id.
        session: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// The most live calls, AstDB entries and variables the PBX keeps, so
/// that clients cannot grow its memory without bound.
pub const MAX_ENTRIES: usize = 100_000;

/// One fake channel.
#[derive(Clone, Debug)]
struct Channel {
    name: String,
    uniqueid: String,
    linkedid: String,
    state: u8,
    context: String,
    exten: String,
    priority: u32,
    cid_num: String,
    cid_name: String,
    conn_num: String,
    conn_name: String,
    app: String,
    data: String,
    vars: HashMap<String, String>,
    created: Instant,
}

impl Channel {
    fn state_desc(&self) -> &'static str {
        match self.state {
            0 => "Down",
            4 => "Ring",
            5 => "Ringing",
            6 => "Up",
            _ => "Unknown",
        }
    }

    /// The channel snapshot headers Asterisk puts in channel events.
    fn snapshot(&self, prefix: &str, b: &mut Block) {
        let mut h = |k: &str, v: &str| b.push((format!("{prefix}{k}"), v.to_owned()));
        h("Channel", &self.name);
        h("ChannelState", &self.state.to_string());
        h("ChannelStateDesc", self.state_desc());
        h("CallerIDNum", &self.cid_num);
        h("CallerIDName", &self.cid_name);
        h("ConnectedLineNum", &self.conn_num);
        h("ConnectedLineName", &self.conn_name);
        h("Language", "en");
        h("AccountCode", "");
        h("Context", &self.context);
        h("Exten", &self.exten);
        h("Priority", &self.priority.to_string());
        h("Uniqueid", &self.uniqueid);
        h("Linkedid", &self.linkedid);
    }
}

/// One originated call: a `Local` pair (`;1` runs the application, `;2`
/// the emulated dialplan) or a single channel of another technology.
#[derive(Clone, Debug)]
struct Call {
    channels: Vec<Channel>,
    device: String,
    answered: Instant,
    ends_at: Option<Instant>,
    async_agi: bool,
}

/// The PBX behind every session of one emulator.
#[derive(Debug)]
pub struct Pbx {
    config: Rc<EmulatorConfig>,
    started: Instant,
    wall: SystemTime,
    db: BTreeMap<String, BTreeMap<String, String>>,
    globals: HashMap<String, String>,
    calls: Vec<Call>,
    next_local: u32,
    next_uid: u64,
    next_command: u32,
    processed: u64,
    timers: Vec<Option<Instant>>,
    /// What sessions are to receive, in order; the server drains it.
    pub outbox: Vec<Out>,
}

impl Pbx {
    /// A PBX started at `now`, when the wall clock read `wall`.
    pub fn new(config: Rc<EmulatorConfig>, now: Instant, wall: SystemTime) -> Pbx {
        let timers = config.timers.iter().map(|t| Some(now + t.first)).collect();
        let db = config.db.iter().fold(
            BTreeMap::new(),
            |mut db: BTreeMap<String, BTreeMap<String, String>>, (f, k, v)| {
                db.entry(f.clone())
                    .or_default()
                    .insert(k.clone(), v.clone());
                db
            },
        );
        Pbx {
            db,
            config: config.clone(),
            started: now,
            wall,
            globals: config.globals.iter().cloned().collect(),
            calls: Vec::new(),
            next_local: 0,
            next_uid: 0,
            next_command: 385_623_728,
            processed: 0,
            timers,
            outbox: Vec::new(),
        }
    }

    /// The wall-clock time at `now` (seconds, microseconds since 1970).
    pub fn wall_at(&self, now: Instant) -> (u64, u32) {
        let t = self.wall + now.saturating_duration_since(self.started);
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        (d.as_secs(), d.subsec_micros())
    }

    /// Seconds since the PBX started.
    pub fn uptime(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs()
    }

    /// Number of live channels.
    pub fn channel_count(&self) -> usize {
        self.calls.iter().map(|c| c.channels.len()).sum()
    }

    /// The names of the live channels, oldest first.
    pub fn channel_names(&self) -> Vec<String> {
        self.calls
            .iter()
            .flat_map(|c| c.channels.iter().map(|ch| ch.name.clone()))
            .collect()
    }

    /// The value of a global variable.
    pub fn global(&self, name: &str) -> Option<&str> {
        self.globals.get(name).map(String::as_str)
    }

    /// The value in the AstDB at `family`/`key`.
    pub fn db_get(&self, family: &str, key: &str) -> Option<&str> {
        self.db.get(family)?.get(key).map(String::as_str)
    }

    /// Queues an event: `Event: name`, `Privilege:` from `classes`, then `headers`.
    pub fn event(&mut self, classes: Classes, name: &str, headers: &[(String, String)]) {
        let mut bytes = event_head(classes, name, headers.len());
        write_block(&mut bytes, headers);
        self.outbox.push(Out::Event { classes, bytes });
    }

    /// [`Pbx::event`] with borrowed headers (no copies before formatting).
    pub fn event_fields(&mut self, classes: Classes, name: &str, headers: &[(&str, &str)]) {
        let mut bytes = event_head(classes, name, headers.len());
        for (k, v) in headers {
            bytes.extend_from_slice(k.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(v.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        self.outbox.push(Out::Event { classes, bytes });
    }

    /// Queues a ready-made event block (its classes from its `Privilege:`
    /// header, none when it has none).
    pub fn raw_event(&mut self, headers: &[(String, String)]) {
        let classes = get(headers, "Privilege")
            .map(super::classes::privilege_classes)
            .unwrap_or_default();
        let mut bytes = Vec::with_capacity(256);
        write_block(&mut bytes, headers);
        self.outbox.push(Out::Event { classes, bytes });
    }

    /// [`Pbx::raw_event`] for `Event: name` plus borrowed headers.
    pub fn raw_event_fields(&mut self, name: &str, headers: &[(&str, &str)]) {
        let classes = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Privilege"))
            .map(|(_, v)| super::classes::privilege_classes(v))
            .unwrap_or_default();
        let mut bytes = Vec::with_capacity(32 + 32 * headers.len());
        bytes.extend_from_slice(b"Event: ");
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        for (k, v) in headers {
            bytes.extend_from_slice(k.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(v.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        self.outbox.push(Out::Event { classes, bytes });
    }

    /// The next time something happens without a client's request.
    pub fn next_deadline(&self) -> Option<Instant> {
        let calls = self.calls.iter().filter_map(|c| c.ends_at);
        let timers = self.timers.iter().flatten().copied();
        calls.chain(timers).min()
    }

    /// Ends the calls whose application finished and fires timers due at `now`.
    pub fn tick(&mut self, now: Instant) {
        for i in 0..self.timers.len() {
            while let Some(at) = self.timers[i] {
                if at > now {
                    break;
                }
                let t = self.config.timers[i].clone();
                self.timers[i] = t.every.map(|e| at + e.max(Duration::from_millis(1)));
                self.raw_event(&t.event);
            }
        }
        while let Some(i) = self
            .calls
            .iter()
            .position(|c| c.ends_at.is_some_and(|t| t <= now))
        {
            self.end_call(i, 0, false);
        }
    }

    fn uid(&mut self) -> String {
        let (secs, _) = self.wall_at(self.started);
        let n = self.next_uid;
        self.next_uid += 1;
        format!("{secs}.{n}")
    }

    fn find(&self, name: &str) -> Option<(usize, usize)> {
        self.calls.iter().enumerate().find_map(|(i, c)| {
            c.channels
                .iter()
                .position(|ch| ch.name == name)
                .map(|j| (i, j))
        })
    }

    fn chan_event(
        &mut self,
        classes: Classes,
        name: &str,
        call: usize,
        side: usize,
        extra: &[(&str, &str)],
    ) {
        let mut b = Block::new();
        self.calls[call].channels[side].snapshot("", &mut b);
        b.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.event(classes, name, &b);
    }

    // ---- actions ----

    /// Runs a PBX action for session `sid`, writing its response to `out`.
    /// False when the action is not one the PBX knows.
    pub fn action(
        &mut self,
        action: &str,
        req: &[(String, String)],
        sid: u64,
        out: &mut Vec<u8>,
        now: Instant,
    ) -> bool {
        match action {
            "dbput" => self.db_put(req, out),
            "dbget" => self.db_get_action(req, out),
            "dbgettree" => self.db_get_tree(req, out),
            "dbdel" => self.db_del(req, out),
            "dbdeltree" => self.db_del_tree(req, out),
            "getvar" => self.getvar(req, out),
            "setvar" => self.setvar(req, out),
            "originate" => self.originate(req, sid, out, now),
            "hangup" => self.hangup_action(req, out),
            "coreshowchannels" => self.core_show_channels(req, out, now),
            "status" => self.status(req, out, now),
            "coresettings" => {
                let v = self.config.asterisk_version.clone();
                let ami = self.config.ami_version.clone();
                respond(
                    out,
                    req,
                    "Success",
                    &[
                        ("AMIversion", &ami),
                        ("AsteriskVersion", &v),
                        ("SystemName", ""),
                        ("CoreMaxCalls", "0"),
                        ("CoreMaxLoadAvg", "0.000000"),
                        ("CoreRunUser", ""),
                        ("CoreRunGroup", ""),
                        ("CoreMaxFilehandles", "0"),
                        ("CoreRealTimeEnabled", "No"),
                        ("CoreCDRenabled", "Yes"),
                        ("CoreHTTPenabled", "No"),
                        ("SoundsSearchCustomDir", "No"),
                    ],
                );
            }
            "corestatus" => {
                let (secs, _) = self.wall_at(self.started);
                let (date, time) = civil(secs);
                let calls = self.calls.len().to_string();
                let processed = self.processed.to_string();
                respond(
                    out,
                    req,
                    "Success",
                    &[
                        ("CoreStartupDate", &date),
                        ("CoreStartupTime", &time),
                        ("CoreReloadDate", &date),
                        ("CoreReloadTime", &time),
                        ("CoreCurrentCalls", &calls),
                        ("CoreProcessedCalls", &processed),
                    ],
                );
            }
            "agi" => self.agi(req, out),
            _ => return false,
        }
        true
    }

    fn db_put(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let (Some(family), Some(key)) = (nonempty(req, "Family"), nonempty(req, "Key")) else {
            let msg = if nonempty(req, "Family").is_none() {
                "No family specified"
            } else {
                "No key specified"
            };
            return respond(out, req, "Error", &[("Message", msg)]);
        };
        let val = get(req, "Val").unwrap_or("").to_owned();
        let size: usize = self.db.values().map(BTreeMap::len).sum();
        if size >= MAX_ENTRIES && self.db_get(family, key).is_none() {
            return respond(out, req, "Error", &[("Message", "Failed to update entry")]);
        }
        self.db
            .entry(family.to_owned())
            .or_default()
            .insert(key.to_owned(), val);
        respond(
            out,
            req,
            "Success",
            &[("Message", "Updated database successfully")],
        );
    }

    fn db_get_action(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let Some(family) = nonempty(req, "Family") else {
            return respond(out, req, "Error", &[("Message", "No family specified.")]);
        };
        let Some(key) = nonempty(req, "Key") else {
            return respond(out, req, "Error", &[("Message", "No key specified.")]);
        };
        let Some(val) = self.db_get(family, key).map(str::to_owned) else {
            return respond(
                out,
                req,
                "Error",
                &[("Message", "Database entry not found")],
            );
        };
        respond(
            out,
            req,
            "Success",
            &[("EventList", "start"), ("Message", "Result will follow")],
        );
        let mut item = vec![
            ("Event".to_owned(), "DBGetResponse".to_owned()),
            ("Family".to_owned(), family.to_owned()),
            ("Key".to_owned(), key.to_owned()),
            ("Val".to_owned(), val),
        ];
        push_id(&mut item, req);
        write_block(out, &item);
        list_complete(out, req, "DBGetComplete", 1, false);
    }

    fn db_get_tree(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let family = get(req, "Family").unwrap_or("");
        let key = get(req, "Key").unwrap_or("");
        let prefix = match (family.is_empty(), key.is_empty()) {
            (true, _) => String::new(),
            (false, true) => format!("/{family}"),
            (false, false) => format!("/{family}/{key}"),
        };
        let mut items = Vec::new();
        for (fam, keys) in &self.db {
            for (k, v) in keys {
                let path = format!("/{fam}/{k}");
                let under =
                    prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"));
                if under {
                    items.push((path, v.clone()));
                }
            }
        }
        respond(
            out,
            req,
            "Success",
            &[("EventList", "start"), ("Message", "Result will follow")],
        );
        let n = items.len();
        for (path, val) in items {
            let mut item = vec![
                ("Event".to_owned(), "DBGetTreeResponse".to_owned()),
                ("Key".to_owned(), path),
                ("Val".to_owned(), val),
            ];
            push_id(&mut item, req);
            write_block(out, &item);
        }
        list_complete(out, req, "DBGetTreeComplete", n, false);
    }

    fn db_del(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let Some(family) = nonempty(req, "Family") else {
            return respond(out, req, "Error", &[("Message", "No family specified.")]);
        };
        let Some(key) = nonempty(req, "Key") else {
            return respond(out, req, "Error", &[("Message", "No key specified.")]);
        };
        let removed = self
            .db
            .get_mut(family)
            .and_then(|m| m.remove(key))
            .is_some();
        if self.db.get(family).is_some_and(BTreeMap::is_empty) {
            self.db.remove(family);
        }
        if removed {
            respond(
                out,
                req,
                "Success",
                &[("Message", "Key deleted successfully")],
            );
        } else {
            respond(
                out,
                req,
                "Error",
                &[("Message", "Database entry could not be deleted")],
            );
        }
    }

    fn db_del_tree(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let Some(family) = nonempty(req, "Family") else {
            return respond(out, req, "Error", &[("Message", "No family specified.")]);
        };
        let key = nonempty(req, "Key");
        // A family's tree holds its sub-families ("lab" holds "lab/sub").
        let sub = format!("{family}/");
        let before: usize = self.db.values().map(BTreeMap::len).sum();
        match key {
            Some(key) => {
                let tree = format!("{family}/{key}");
                let tree_sub = format!("{tree}/");
                if let Some(m) = self.db.get_mut(family) {
                    m.remove(key);
                }
                self.db
                    .retain(|f, _| f != &tree && !f.starts_with(&tree_sub));
            }
            None => self.db.retain(|f, _| f != family && !f.starts_with(&sub)),
        }
        self.db.retain(|_, m| !m.is_empty());
        let after: usize = self.db.values().map(BTreeMap::len).sum();
        if after < before {
            respond(
                out,
                req,
                "Success",
                &[("Message", "Key tree deleted successfully")],
            );
        } else {
            respond(
                out,
                req,
                "Error",
                &[("Message", "Database entry not found")],
            );
        }
    }

    fn getvar(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let Some(var) = nonempty(req, "Variable") else {
            return respond(out, req, "Error", &[("Message", "No variable specified")]);
        };
        let value = match nonempty(req, "Channel") {
            Some(name) => {
                let Some((c, s)) = self.find(name) else {
                    return respond(out, req, "Error", &[("Message", "No such channel")]);
                };
                let ch = &self.calls[c].channels[s];
                match var {
                    "CHANNEL(state)" => ch.state_desc().to_owned(),
                    "CHANNEL(name)" | "CHANNEL" => ch.name.clone(),
                    "UNIQUEID" | "CHANNEL(uniqueid)" => ch.uniqueid.clone(),
                    "CALLERID(num)" => ch.cid_num.clone(),
                    "CALLERID(name)" => ch.cid_name.clone(),
                    "CALLERID(all)" => callerid_all(ch),
                    _ => ch
                        .vars
                        .get(var)
                        .or_else(|| self.globals.get(var))
                        .cloned()
                        .unwrap_or_default(),
                }
            }
            None => self.globals.get(var).cloned().unwrap_or_default(),
        };
        respond(out, req, "Success", &[("Variable", var), ("Value", &value)]);
    }

    fn setvar(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let Some(var) = nonempty(req, "Variable") else {
            return respond(out, req, "Error", &[("Message", "No variable specified")]);
        };
        let value = get(req, "Value").unwrap_or("").to_owned();
        match nonempty(req, "Channel") {
            Some(name) => {
                let Some((c, s)) = self.find(name) else {
                    return respond(out, req, "Error", &[("Message", "No such channel")]);
                };
                let vars = &self.calls[c].channels[s].vars;
                if vars.len() >= MAX_ENTRIES && !vars.contains_key(var) {
                    return respond(out, req, "Error", &[("Message", "Variable not set")]);
                }
                self.calls[c].channels[s]
                    .vars
                    .insert(var.to_owned(), value.clone());
                let extra = [("Variable", var), ("Value", value.as_str())];
                self.chan_event(Classes::DIALPLAN, "VarSet", c, s, &extra);
            }
            None => {
                if self.globals.len() >= MAX_ENTRIES && !self.globals.contains_key(var) {
                    return respond(out, req, "Error", &[("Message", "Variable not set")]);
                }
                self.globals.insert(var.to_owned(), value);
            }
        }
        respond(out, req, "Success", &[("Message", "Variable Set")]);
    }

    fn originate(&mut self, req: &[(String, String)], sid: u64, out: &mut Vec<u8>, now: Instant) {
        let Some(dial) = nonempty(req, "Channel") else {
            return respond(out, req, "Error", &[("Message", "Channel not specified")]);
        };
        let Some((tech, resource)) = dial
            .split_once('/')
            .filter(|(t, r)| !t.is_empty() && !r.is_empty())
        else {
            return respond(out, req, "Error", &[("Message", "Invalid channel")]);
        };
        if nonempty(req, "Exten").is_some() && nonempty(req, "Context").is_none() {
            return respond(
                out,
                req,
                "Error",
                &[(
                    "Message",
                    "Originate with 'Exten' requires 'Context' and 'Priority'",
                )],
            );
        }
        let is_async = get(req, "Async").is_some_and(is_true);
        let fails = self.calls.len() >= MAX_ENTRIES
            || self
                .config
                .unreachable
                .iter()
                .any(|u| u.eq_ignore_ascii_case(dial));
        if fails && !is_async {
            return respond(out, req, "Error", &[("Message", "Originate failed")]);
        }
        if is_async {
            respond(
                out,
                req,
                "Success",
                &[("Message", "Originate successfully queued")],
            );
        }
        let app = get(req, "Application").unwrap_or("").to_owned();
        let data = get(req, "Data").unwrap_or("").to_owned();
        let (cid_name, cid_num) = parse_callerid(get(req, "CallerID").unwrap_or(""));
        let vars: Vec<(String, String)> = req
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Variable"))
            .flat_map(|(_, v)| v.split(','))
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
            .collect();
        let local = tech.eq_ignore_ascii_case("Local");
        let (exten, context) = if local {
            let dest = resource.split('/').next().unwrap_or(resource);
            match dest.split_once('@') {
                Some((e, c)) => (e.to_owned(), c.to_owned()),
                None => (dest.to_owned(), "default".to_owned()),
            }
        } else {
            (
                get(req, "Exten").unwrap_or("s").to_owned(),
                get(req, "Context").unwrap_or("default").to_owned(),
            )
        };
        let seq = self.next_local;
        self.next_local += 1;
        let base_name = if local {
            format!("Local/{exten}@{context}-{seq:08x}")
        } else {
            format!("{dial}-{seq:08x}")
        };
        let id = match nonempty(req, "ChannelId") {
            Some(id) => id.to_owned(),
            None => self.uid(),
        };
        let unknown = "<unknown>".to_owned();
        let mut one = Channel {
            name: if local {
                format!("{base_name};1")
            } else {
                base_name.clone()
            },
            uniqueid: id.clone(),
            linkedid: id.clone(),
            state: 0,
            context: context.clone(),
            exten: exten.clone(),
            priority: 1,
            cid_num: unknown.clone(),
            cid_name: unknown.clone(),
            conn_num: unknown.clone(),
            conn_name: unknown.clone(),
            app: app.clone(),
            data: data.clone(),
            vars: HashMap::new(),
            created: now,
        };
        if app.is_empty() {
            // Originate to Context/Exten: ;1 runs the dialplan there.
            one.app = "AppDial2".into();
            one.data = "(Outgoing Line)".into();
        }
        let mut channels = vec![one.clone()];
        if local {
            let mut two = one.clone();
            two.name = format!("{base_name};2");
            two.uniqueid = match nonempty(req, "OtherChannelId") {
                Some(id) => id.to_owned(),
                None => self.uid(),
            };
            two.state = 4;
            two.app = "Answer".into();
            two.data = String::new();
            channels.push(two);
        }
        let device = if local {
            format!("Local/{exten}@{context}")
        } else {
            dial.to_owned()
        };
        let ci = self.calls.len();
        self.calls.push(Call {
            channels,
            device: device.clone(),
            answered: now,
            ends_at: None,
            async_agi: false,
        });
        let sides = self.calls[ci].channels.len();
        for s in 0..sides {
            self.chan_event(Classes::CALL, "Newchannel", ci, s, &[]);
        }
        if local {
            self.chan_event(
                Classes::DIALPLAN,
                "Newexten",
                ci,
                0,
                &[
                    ("Extension", &exten),
                    ("Application", "AppDial2"),
                    ("AppData", "(Outgoing Line)"),
                ],
            );
        }
        for s in 0..sides {
            for (k, v) in &vars {
                self.calls[ci].channels[s].vars.insert(k.clone(), v.clone());
                self.chan_event(
                    Classes::DIALPLAN,
                    "VarSet",
                    ci,
                    s,
                    &[("Variable", k), ("Value", v)],
                );
            }
            if !cid_num.is_empty() || !cid_name.is_empty() {
                {
                    let ch = &mut self.calls[ci].channels[s];
                    ch.cid_num = if cid_num.is_empty() {
                        unknown.clone()
                    } else {
                        cid_num.clone()
                    };
                    ch.cid_name = if cid_name.is_empty() {
                        unknown.clone()
                    } else {
                        cid_name.clone()
                    };
                }
                self.chan_event(
                    Classes::CALL,
                    "NewCallerid",
                    ci,
                    s,
                    &[("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
                );
                {
                    let ch = &mut self.calls[ci].channels[s];
                    ch.conn_num = ch.cid_num.clone();
                    ch.conn_name = ch.cid_name.clone();
                }
                self.chan_event(Classes::CALL, "NewConnectedLine", ci, s, &[]);
            }
        }
        if local {
            let mut b = Block::new();
            self.calls[ci].channels[0].snapshot("LocalOne", &mut b);
            self.calls[ci].channels[1].snapshot("LocalTwo", &mut b);
            b.push(("Context".into(), context.clone()));
            b.push(("Exten".into(), exten.clone()));
            b.push(("LocalOptimization".into(), "Yes".into()));
            self.event(Classes::CALL, "LocalBridge", &b);
        }
        let dial_string = resource.to_owned();
        let mut b = Block::new();
        self.calls[ci].channels[0].snapshot("Dest", &mut b);
        b.push(("DialString".into(), dial_string));
        self.event(Classes::CALL, "DialBegin", &b);
        let action_id = get(req, "ActionID").map(str::to_owned);
        if fails {
            // The dial string leads nowhere: the pair is torn down unanswered.
            self.processed += 1;
            let mut resp = Block::new();
            if let Some(id) = &action_id {
                resp.push(("ActionID".into(), id.clone()));
            }
            for (k, v) in [
                ("Response", "Failure"),
                ("Channel", dial),
                ("Application", &app),
                ("Data", &data),
                ("Reason", "0"),
                ("Uniqueid", "<unknown>"),
                ("CallerIDNum", &unknown),
                ("CallerIDName", &unknown),
            ] {
                resp.push((k.into(), v.into()));
            }
            let mut b = Block::new();
            self.calls[ci].channels[0].snapshot("Dest", &mut b);
            b.push(("DialStatus".into(), "CHANUNAVAIL".into()));
            self.event(Classes::CALL, "DialEnd", &b);
            if sides == 2 {
                self.chan_event(
                    Classes::CALL,
                    "Hangup",
                    ci,
                    1,
                    &[("Cause", "0"), ("Cause-txt", "Unknown")],
                );
            }
            let dev = [
                ("Device".to_owned(), device.clone()),
                ("State".to_owned(), "INVALID".to_owned()),
            ];
            self.event(Classes::CALL, "DeviceStateChange", &dev);
            self.event(Classes::CALL, "OriginateResponse", &resp);
            self.chan_event(
                Classes::CALL,
                "Hangup",
                ci,
                0,
                &[("Cause", "0"), ("Cause-txt", "Unknown")],
            );
            self.event(Classes::CALL, "DeviceStateChange", &dev);
            self.calls.remove(ci);
            return;
        }
        if local {
            self.chan_event(
                Classes::DIALPLAN,
                "Newexten",
                ci,
                1,
                &[
                    ("Extension", &exten),
                    ("Application", "Answer"),
                    ("AppData", ""),
                ],
            );
        }
        for s in (0..sides).rev() {
            self.calls[ci].channels[s].state = 6;
            self.chan_event(Classes::CALL, "Newstate", ci, s, &[]);
        }
        let mut b = Block::new();
        self.calls[ci].channels[0].snapshot("Dest", &mut b);
        b.push(("DialStatus".into(), "ANSWER".into()));
        self.event(Classes::CALL, "DialEnd", &b);
        let mut resp = Block::new();
        if let Some(id) = &action_id {
            resp.push(("ActionID".into(), id.clone()));
        }
        let first = self.calls[ci].channels[0].clone();
        for (k, v) in [
            ("Response", "Success"),
            ("Channel", first.name.as_str()),
            ("Context", get(req, "Context").unwrap_or(&context)),
            ("Exten", get(req, "Exten").unwrap_or(&exten)),
            ("Application", &app),
            ("Data", &data),
            ("Reason", "4"),
            ("Uniqueid", &first.uniqueid),
            ("CallerIDNum", &first.cid_num),
            ("CallerIDName", &first.cid_name),
        ] {
            let app_given = !app.is_empty();
            let skip = match k {
                "Context" | "Exten" => app_given,
                "Application" | "Data" => !app_given,
                _ => false,
            };
            if !skip {
                resp.push((k.into(), v.into()));
            }
        }
        self.event(Classes::CALL, "OriginateResponse", &resp);
        let dev = [
            ("Device".to_owned(), device.clone()),
            ("State".to_owned(), "INUSE".to_owned()),
        ];
        self.event(Classes::CALL, "DeviceStateChange", &dev);
        if local {
            self.event(Classes::CALL, "DeviceStateChange", &dev);
        }
        // How long the application runs.
        let is_agi =
            app.eq_ignore_ascii_case("AGI") && data.trim().eq_ignore_ascii_case("agi:async");
        let ends = if is_agi {
            None
        } else if app.eq_ignore_ascii_case("Wait") {
            let secs: f64 = data.trim().parse().unwrap_or(0.0);
            let secs = if secs.is_finite() {
                secs.clamp(0.0, 1e7)
            } else {
                0.0
            };
            Some(Duration::from_secs_f64(secs))
        } else {
            Some(self.config.app_duration)
        };
        self.calls[ci].answered = now;
        self.calls[ci].ends_at = ends.and_then(|d| now.checked_add(d));
        if is_agi {
            self.calls[ci].async_agi = true;
            let env = self.agi_env(ci);
            self.chan_event(Classes::AGI, "AsyncAGIStart", ci, 0, &[("Env", &env)]);
        }
        if !is_async {
            let mut bytes = Vec::new();
            respond(
                &mut bytes,
                req,
                "Success",
                &[("Message", "Originate successfully queued")],
            );
            self.outbox.push(Out::Reply {
                session: sid,
                bytes,
            });
        }
    }

    fn agi_env(&self, ci: usize) -> String {
        let ch = &self.calls[ci].channels[0];
        let tech = ch.name.split('/').next().unwrap_or("");
        let mut env = String::new();
        for (k, v) in [
            ("agi_request", "async"),
            ("agi_channel", &ch.name),
            ("agi_language", "en"),
            ("agi_type", tech),
            ("agi_uniqueid", &ch.uniqueid),
            ("agi_version", &self.config.asterisk_version),
            ("agi_callerid", &ch.cid_num),
            ("agi_calleridname", &ch.cid_name),
            ("agi_callingpres", "0"),
            ("agi_callingani2", "0"),
            ("agi_callington", "0"),
            ("agi_callingtns", "0"),
            ("agi_dnid", "unknown"),
            ("agi_rdnis", "unknown"),
            ("agi_context", &ch.context),
            ("agi_extension", &ch.exten),
            ("agi_priority", &ch.priority.to_string()),
            ("agi_enhanced", "0.0"),
            ("agi_accountcode", ""),
            ("agi_threadid", "1"),
        ] {
            env.push_str(k);
            env.push_str(": ");
            env.push_str(v);
            env.push('\n');
        }
        env.push('\n');
        uri_encode(&env)
    }

    fn agi(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let (Some(name), Some(command)) = (nonempty(req, "Channel"), nonempty(req, "Command"))
        else {
            return respond(
                out,
                req,
                "Error",
                &[("Message", "Both, Channel and Command are *required*")],
            );
        };
        let Some((c, s)) = self.find(name) else {
            let msg = format!("Channel {name} does not exist.");
            return respond(out, req, "Error", &[("Message", &msg)]);
        };
        if !self.calls[c].async_agi || s != 0 {
            let msg = format!("Failed to add AGI command to channel {name} queue");
            return respond(out, req, "Error", &[("Message", &msg)]);
        }
        respond(
            out,
            req,
            "Success",
            &[("Message", "Added AGI command to queue")],
        );
        let command = command.to_owned();
        let cmd_id = get(req, "CommandID").map(str::to_owned);
        let serial = self.next_command.to_string();
        self.next_command = self.next_command.wrapping_mul(7).wrapping_add(13) % 2_000_000_000;
        self.chan_event(
            Classes::AGI,
            "AGIExecStart",
            c,
            s,
            &[("CommandId", &serial), ("Command", &command)],
        );
        let upper = command.to_ascii_uppercase();
        let words: Vec<&str> = command.split_whitespace().collect();
        let scripted = self
            .config
            .agi_replies
            .iter()
            .find(|(p, _)| upper.starts_with(&p.to_ascii_uppercase()))
            .map(|(_, r)| r.clone());
        let mut end = false;
        let reply = if let Some(r) = scripted {
            r
        } else if upper.starts_with("ASYNCAGI BREAK") {
            end = true;
            "200 result=0".to_owned()
        } else if upper.starts_with("HANGUP") {
            end = true;
            "200 result=1".to_owned()
        } else if upper.starts_with("GET VARIABLE") && words.len() >= 3 {
            let var = words[2].trim_matches('"');
            let ch = &self.calls[c].channels[s];
            let v = if var == "CHANNEL" {
                Some(ch.name.clone())
            } else {
                ch.vars.get(var).or_else(|| self.globals.get(var)).cloned()
            };
            match v {
                Some(v) => format!("200 result=1 ({v})"),
                None => "200 result=0".to_owned(),
            }
        } else if upper.starts_with("SET VARIABLE") && words.len() >= 4 {
            let var = words[2].trim_matches('"').to_owned();
            let rest = command
                .splitn(4, ' ')
                .nth(3)
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_owned();
            let vars = &mut self.calls[c].channels[s].vars;
            if vars.len() < MAX_ENTRIES || vars.contains_key(&var) {
                vars.insert(var.clone(), rest.clone());
            }
            self.chan_event(
                Classes::DIALPLAN,
                "VarSet",
                c,
                s,
                &[("Variable", &var), ("Value", &rest)],
            );
            "200 result=1".to_owned()
        } else if upper.starts_with("CHANNEL STATUS") {
            "200 result=6".to_owned()
        } else {
            self.config.agi_default_reply.clone()
        };
        let code = reply.get(..3).unwrap_or("200").to_owned();
        let text = match code.as_str() {
            "200" => "Success",
            "510" => "Invalid or unknown command",
            "520" => "Usage",
            "511" => "Command Not Permitted on a dead channel or intercept routine",
            _ => "Failure",
        };
        self.chan_event(
            Classes::AGI,
            "AGIExecEnd",
            c,
            s,
            &[
                ("CommandId", &serial),
                ("Command", &command),
                ("ResultCode", &code),
                ("Result", text),
            ],
        );
        let encoded = uri_encode(&format!("{reply}\n"));
        let mut extra: Vec<(&str, &str)> = vec![("Result", &encoded)];
        if let Some(id) = &cmd_id {
            extra.push(("CommandId", id));
        }
        self.chan_event(Classes::AGI, "AsyncAGIExec", c, s, &extra);
        if end {
            self.end_call(c, 16, upper.starts_with("HANGUP"));
        }
    }

    fn hangup_action(&mut self, req: &[(String, String)], out: &mut Vec<u8>) {
        let Some(name) = nonempty(req, "Channel") else {
            return respond(out, req, "Error", &[("Message", "No channel specified")]);
        };
        let cause: u32 = get(req, "Cause")
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(16);
        if name.starts_with('/') && name.ends_with('/') && name.len() >= 2 {
            let pat = &name[1..name.len() - 1];
            let hits: Vec<usize> = self
                .calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.channels.iter().any(|ch| ch.name.contains(pat)))
                .map(|(i, _)| i)
                .collect();
            respond(
                out,
                req,
                "Success",
                &[
                    ("EventList", "start"),
                    ("Message", "Channels hung up will follow"),
                ],
            );
            let mut n = 0;
            for &i in &hits {
                for ch in &self.calls[i].channels {
                    if ch.name.contains(pat) {
                        let mut b = vec![
                            ("Event".to_owned(), "ChannelHungup".to_owned()),
                            ("Channel".to_owned(), ch.name.clone()),
                        ];
                        push_id(&mut b, req);
                        write_block(out, &b);
                        n += 1;
                    }
                }
            }
            list_complete(out, req, "ChannelsHungupListComplete", n, false);
            for i in hits.into_iter().rev() {
                self.end_call(i, cause, true);
            }
            return;
        }
        let Some((c, _)) = self.find(name) else {
            return respond(out, req, "Error", &[("Message", "No such channel")]);
        };
        respond(out, req, "Success", &[("Message", "Channel Hungup")]);
        self.end_call(c, cause, true);
    }

    /// Hangs up call `i`: the events Asterisk sends when its application
    /// finishes (`requested` false, cause 0) or a hangup is asked for.
    fn end_call(&mut self, i: usize, cause: u32, requested: bool) {
        let cause_s = cause.to_string();
        let txt = cause_text(cause);
        let sides = self.calls[i].channels.len();
        let last = sides - 1;
        if self.calls[i].async_agi {
            self.calls[i].async_agi = false;
            self.chan_event(Classes::AGI, "AsyncAGIEnd", i, 0, &[]);
        }
        let (soft_cause, hang_cause, hang_txt) = if requested {
            (cause_s.clone(), cause_s.clone(), txt)
        } else {
            ("16".to_owned(), "0".to_owned(), "Unknown")
        };
        self.chan_event(
            Classes::CALL,
            "HangupRequest",
            i,
            last,
            &[("Cause", &cause_s)],
        );
        let cdr0 = self.cdr(i, 0);
        self.event(Classes::CDR, "Cdr", &cdr0);
        self.chan_event(
            Classes::CALL,
            "Hangup",
            i,
            0,
            &[("Cause", &hang_cause), ("Cause-txt", hang_txt)],
        );
        if sides == 2 {
            self.chan_event(
                Classes::CALL,
                "SoftHangupRequest",
                i,
                1,
                &[("Cause", &soft_cause)],
            );
            self.chan_event(
                Classes::CALL,
                "Hangup",
                i,
                1,
                &[("Cause", &hang_cause), ("Cause-txt", hang_txt)],
            );
        }
        let dev = [
            ("Device".to_owned(), self.calls[i].device.clone()),
            ("State".to_owned(), "NOT_INUSE".to_owned()),
        ];
        self.event(Classes::CALL, "DeviceStateChange", &dev);
        if sides == 2 {
            let cdr1 = self.cdr(i, 1);
            self.event(Classes::CDR, "Cdr", &cdr1);
            self.event(Classes::CALL, "DeviceStateChange", &dev);
        }
        self.processed += 1;
        self.calls.remove(i);
    }

    fn cdr(&self, i: usize, side: usize) -> Block {
        let call = &self.calls[i];
        let ch = &call.channels[side];
        let (start, _) = self.wall_at(ch.created);
        let (ans, _) = self.wall_at(call.answered);
        let end_instant = call.ends_at.unwrap_or(call.answered).max(call.answered);
        let (end, _) = self.wall_at(end_instant);
        let fmt = |s: u64| {
            let (d, t) = civil(s);
            format!("{d} {t}")
        };
        let src = if ch.cid_num == "<unknown>" {
            ""
        } else {
            ch.cid_num.as_str()
        };
        let name = if ch.cid_name == "<unknown>" {
            ""
        } else {
            ch.cid_name.as_str()
        };
        let dur = end.saturating_sub(start).to_string();
        let bill = end.saturating_sub(ans).to_string();
        [
            ("AccountCode", ""),
            ("Source", src),
            ("Destination", &ch.exten),
            ("DestinationContext", &ch.context),
            ("CallerID", &format!("\"{name}\" <{src}>")),
            ("Channel", &ch.name),
            ("DestinationChannel", ""),
            ("LastApplication", &ch.app),
            ("LastData", &ch.data),
            ("StartTime", &fmt(start)),
            ("AnswerTime", &fmt(ans)),
            ("EndTime", &fmt(end)),
            ("Duration", &dur),
            ("BillableSeconds", &bill),
            ("Disposition", "ANSWERED"),
            ("AMAFlags", "DOCUMENTATION"),
            ("UniqueID", &ch.uniqueid),
            ("UserField", ""),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    fn core_show_channels(&mut self, req: &[(String, String)], out: &mut Vec<u8>, now: Instant) {
        respond(
            out,
            req,
            "Success",
            &[("EventList", "start"), ("Message", "Channels will follow")],
        );
        let mut n = 0;
        for call in &self.calls {
            for ch in &call.channels {
                let mut b = vec![("Event".to_owned(), "CoreShowChannel".to_owned())];
                push_id(&mut b, req);
                ch.snapshot("", &mut b);
                b.push(("Application".into(), ch.app.clone()));
                b.push(("ApplicationData".into(), ch.data.clone()));
                b.push((
                    "Duration".into(),
                    hms(now.saturating_duration_since(ch.created).as_secs()),
                ));
                b.push(("BridgeId".into(), String::new()));
                write_block(out, &b);
                n += 1;
            }
        }
        list_complete(out, req, "CoreShowChannelsComplete", n, false);
    }

    fn status(&mut self, req: &[(String, String)], out: &mut Vec<u8>, now: Instant) {
        let only = nonempty(req, "Channel");
        if let Some(name) = only {
            if self.find(name).is_none() {
                return respond(out, req, "Error", &[("Message", "No such channel")]);
            }
        }
        let wanted: Vec<&str> = get(req, "Variables")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        respond(
            out,
            req,
            "Success",
            &[
                ("EventList", "start"),
                ("Message", "Channel status will follow"),
            ],
        );
        let mut n = 0;
        for call in &self.calls {
            for ch in &call.channels {
                if only.is_some_and(|o| o != ch.name) {
                    continue;
                }
                let mut b = vec![
                    ("Event".to_owned(), "Status".to_owned()),
                    ("Privilege".to_owned(), "Call".to_owned()),
                ];
                ch.snapshot("", &mut b);
                let tech = ch.name.split('/').next().unwrap_or("").to_owned();
                for (k, v) in [
                    ("Type", tech.as_str()),
                    ("DNID", ""),
                    ("EffectiveConnectedLineNum", &ch.conn_num),
                    ("EffectiveConnectedLineName", &ch.conn_name),
                    ("TimeToHangup", "0"),
                    ("BridgeID", ""),
                    ("Application", &ch.app),
                    ("Data", &ch.data),
                    ("Nativeformats", "(slin)"),
                    ("Readformat", "slin"),
                    ("Readtrans", ""),
                    ("Writeformat", "slin"),
                    ("Writetrans", ""),
                    ("Callgroup", "0"),
                    ("Pickupgroup", "0"),
                    (
                        "Seconds",
                        &now.saturating_duration_since(ch.created)
                            .as_secs()
                            .to_string(),
                    ),
                ] {
                    b.push((k.into(), v.into()));
                }
                for var in &wanted {
                    let v = if *var == "CHANNEL(state)" {
                        Some(ch.state_desc().to_owned())
                    } else {
                        ch.vars.get(*var).cloned()
                    };
                    b.push((
                        "Variable".into(),
                        format!("{var}={}", v.unwrap_or_else(|| "(null)".into())),
                    ));
                }
                push_id(&mut b, req);
                write_block(out, &b);
                n += 1;
            }
        }
        list_complete(out, req, "StatusComplete", n, true);
    }

    /// The output of `core show channels` (Asterisk's columns and counts).
    pub fn show_channels(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "{:<20.20} {:<20.20} {:<7.7} {:<30.30}",
            "Channel", "Location", "State", "Application(Data)"
        )];
        for call in &self.calls {
            for ch in &call.channels {
                let loc = format!("{}@{}:{}", ch.exten, ch.context, ch.priority);
                let app = format!("{}({})", ch.app, ch.data);
                lines.push(format!(
                    "{:<20.20} {:<20.20} {:<7.7} {:<30.30}",
                    ch.name,
                    loc,
                    ch.state_desc(),
                    app
                ));
            }
        }
        let n = self.channel_count();
        let calls = self.calls.len();
        lines.push(format!(
            "{n} active channel{}",
            if n == 1 { "" } else { "s" }
        ));
        lines.push(format!(
            "{calls} active call{}",
            if calls == 1 { "" } else { "s" }
        ));
        lines.push(format!(
            "{} call{} processed",
            self.processed,
            if self.processed == 1 { "" } else { "s" }
        ));
        lines
    }
}

fn event_head(classes: Classes, name: &str, headers: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64 + 32 * headers);
    bytes.extend_from_slice(b"Event: ");
    bytes.extend_from_slice(name.as_bytes());
    bytes.extend_from_slice(b"\r\nPrivilege: ");
    bytes.extend_from_slice(classes.privilege().as_bytes());
    bytes.extend_from_slice(b"\r\n");
    bytes
}

/// Writes a response block: `Response: kind`, the request's ActionID, `headers`.
pub(crate) fn respond(
    out: &mut Vec<u8>,
    req: &[(String, String)],
    kind: &str,
    headers: &[(&str, &str)],
) {
    out.extend_from_slice(b"Response: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(id) = get(req, "ActionID") {
        out.extend_from_slice(b"ActionID: ");
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (k, v) in headers {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn push_id(b: &mut Block, req: &[(String, String)]) {
    if let Some(id) = get(req, "ActionID") {
        b.push(("ActionID".into(), id.to_owned()));
    }
}

fn list_complete(out: &mut Vec<u8>, req: &[(String, String)], name: &str, n: usize, items: bool) {
    let mut b = vec![("Event".to_owned(), name.to_owned())];
    push_id(&mut b, req);
    b.push(("EventList".into(), "Complete".into()));
    b.push(("ListItems".into(), n.to_string()));
    if items {
        b.push(("Items".into(), n.to_string()));
    }
    write_block(out, &b);
}

fn nonempty<'a>(req: &'a [(String, String)], key: &str) -> Option<&'a str> {
    get(req, key).filter(|v| !v.is_empty())
}

/// Asterisk's `ast_true`.
pub(crate) fn is_true(v: &str) -> bool {
    ["yes", "true", "y", "t", "1", "on"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(v.trim()))
}

fn parse_callerid(cid: &str) -> (String, String) {
    let cid = cid.trim();
    if let (Some(l), Some(r)) = (cid.find('<'), cid.rfind('>')) {
        if l < r {
            let name = cid[..l].trim().trim_matches('"').to_owned();
            return (name, cid[l + 1..r].trim().to_owned());
        }
    }
    if !cid.is_empty() && cid.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
        return (String::new(), cid.to_owned());
    }
    (cid.to_owned(), String::new())
}

fn callerid_all(ch: &Channel) -> String {
    let clean = |s: &str| {
        if s == "<unknown>" {
            String::new()
        } else {
            s.to_owned()
        }
    };
    format!("\"{}\" <{}>", clean(&ch.cid_name), clean(&ch.cid_num))
}

fn cause_text(cause: u32) -> &'static str {
    match cause {
        1 => "Unallocated (unassigned) number",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        34 => "Circuit/channel congestion",
        _ => "Unknown",
    }
}

/// Percent-encodes as Asterisk encodes AsyncAGI's `Env` and `Result`.
pub(crate) fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hms(secs: u64) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// UTC date and time of a Unix time, as `YYYY-MM-DD` and `HH:MM:SS`.
pub(crate) fn civil(secs: u64) -> (String, String) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_lists_end_as_the_catalogue_declares() {
        use crate::ami::catalogue;
        for (action, end) in [
            ("DBGet", "DBGetComplete"),
            ("DBGetTree", "DBGetTreeComplete"),
            ("CoreShowChannels", "CoreShowChannelsComplete"),
            ("Status", "StatusComplete"),
            ("Hangup", "ChannelsHungupListComplete"),
        ] {
            assert_eq!(
                catalogue::action(action).unwrap().list_end(),
                Some(end),
                "{action}"
            );
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), ("1970-01-01".into(), "00:00:00".into()));
        assert_eq!(civil(1_795_669_103).0, "2026-11-26");
    }

    #[test]
    fn encoding_matches_asterisk() {
        assert_eq!(
            uri_encode("200 result=1 (a b&c=d%e)\n"),
            "200%20result%3D1%20(a%20b%26c%3Dd%25e)%0A"
        );
    }
}
