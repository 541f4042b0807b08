//! Writes the event half of the catalogue: typed views under
//! `src/ami/events/` (by subject), the snapshot key tables, `EventKind`,
//! and the run-time event table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::events_table::{self as t, FTy};
use super::json::Json;
use super::{snake, HEADER};

/// The fourteen headers of a channel snapshot, without prefix.
pub const CHANNEL_SNAPSHOT: &[&str] = &[
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
];

/// The eight headers of a bridge snapshot, without prefix.
pub const BRIDGE_SNAPSHOT: &[&str] = &[
    "BridgeUniqueid",
    "BridgeType",
    "BridgeTechnology",
    "BridgeCreator",
    "BridgeName",
    "BridgeNumChannels",
    "BridgeVideoSourceMode",
    "BridgeVideoSource",
];

pub struct Ev {
    /// As documented (`NewExten`, `AOC-D`).
    pub doc_name: String,
    /// As sent (`Newexten`).
    pub wire: String,
    /// The marker type (`Newexten`, `AocD`).
    pub rust: String,
    /// The `EventKind` variant (`NewExten`, `AocD`).
    pub variant: String,
    pub documented: bool,
    pub doc: String,
    pub class: String,
    pub since: String,
    pub group: &'static str,
    pub channel_prefixes: Vec<String>,
    pub bridge_prefixes: Vec<String>,
    /// Headers of its own: `(wire header, type)`.
    pub own: Vec<(String, FTy)>,
}

fn rust_name(doc_name: &str) -> String {
    if !doc_name.contains('-') {
        return doc_name.to_owned();
    }
    doc_name
        .split('-')
        .map(|p| {
            if p.chars().all(|c| c.is_ascii_uppercase()) && p.len() > 1 {
                let mut s = p[..1].to_owned();
                s.push_str(&p[1..].to_ascii_lowercase());
                s
            } else {
                p.to_owned()
            }
        })
        .collect()
}

fn header_type(event: &str, header: &str) -> FTy {
    let scoped = format!("{event}.{header}");
    t::HEADER_TYPES
        .iter()
        .find(|(k, _)| *k == scoped)
        .or_else(|| t::HEADER_TYPES.iter().find(|(k, _)| *k == header))
        .map(|(_, ty)| *ty)
        .unwrap_or(FTy::Text)
}

/// Every event: documented ones from the spec, then the undocumented.
pub fn events(spec: &Json) -> Result<Vec<Ev>, String> {
    let mut raw: Vec<(String, bool, String, String, String, Vec<String>)> = Vec::new();
    for e in spec.get("events").map(Json::items).unwrap_or(&[]) {
        let name = e
            .get("name")
            .and_then(Json::as_str)
            .ok_or("event without name")?;
        let inst = e.get("instances").map(Json::items).unwrap_or(&[]);
        let first = inst.first();
        let class = first
            .and_then(|i| i.get("class"))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        let since = first
            .and_then(|i| i.get("since"))
            .map(Json::strings)
            .unwrap_or_default()
            .join(", ");
        let mut fields = e.get("fields").map(Json::strings).unwrap_or_default();
        for i in inst {
            for f in i.get("fields").map(Json::strings).unwrap_or_default() {
                if !fields.contains(&f) {
                    fields.push(f);
                }
            }
        }
        let doc = t::EVENT_DOCS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| (*d).to_owned())
            .unwrap_or_default();
        raw.push((name.to_owned(), true, doc, class, since, fields));
    }
    for (name, doc, fields) in t::UNDOCUMENTED {
        if raw.iter().any(|r| r.0 == *name) {
            return Err(format!(
                "{name} is documented now: drop it from UNDOCUMENTED"
            ));
        }
        raw.push((
            (*name).to_owned(),
            false,
            (*doc).to_owned(),
            String::new(),
            String::new(),
            fields.iter().map(|f| (*f).to_owned()).collect(),
        ));
    }
    let mut out = Vec::new();
    for (name, documented, doc, class, since, mut fields) in raw {
        if let Some((_, extra)) = t::EXTRA_HEADERS.iter().find(|(n, _)| *n == name) {
            for f in *extra {
                if !fields.iter().any(|x| x == f) {
                    fields.push((*f).to_owned());
                }
            }
        }
        let wire = t::WIRE_EVENT_NAMES
            .iter()
            .find(|(d, _)| *d == name)
            .map(|(_, w)| (*w).to_owned())
            .unwrap_or_else(|| name.clone());
        let has = |h: &str| fields.iter().any(|f| f == h);
        let mut channel_prefixes: Vec<String> = fields
            .iter()
            .filter_map(|f| f.strip_suffix("ChannelStateDesc"))
            .map(str::to_owned)
            .collect();
        channel_prefixes.sort();
        channel_prefixes.dedup();
        let mut bridge_prefixes: Vec<String> = fields
            .iter()
            .filter_map(|f| f.strip_suffix("BridgeUniqueid"))
            .filter(|p| has(&format!("{p}BridgeType")))
            .map(str::to_owned)
            .collect();
        bridge_prefixes.sort();
        bridge_prefixes.dedup();
        let mut covered: BTreeSet<String> = BTreeSet::new();
        for p in &channel_prefixes {
            for s in CHANNEL_SNAPSHOT {
                covered.insert(format!("{p}{s}").to_ascii_lowercase());
            }
        }
        for p in &bridge_prefixes {
            for s in BRIDGE_SNAPSHOT {
                covered.insert(format!("{p}{s}").to_ascii_lowercase());
            }
        }
        covered.insert("actionid".into());
        let mut own: Vec<(String, FTy)> = Vec::new();
        for f in &fields {
            if !covered.insert(f.to_ascii_lowercase()) {
                continue;
            }
            let ty = header_type(&name, f);
            let spelled = t::WIRE_HEADERS
                .iter()
                .find(|(k, _)| *k == format!("{name}.{f}"))
                .map(|(_, w)| (*w).to_owned())
                .unwrap_or_else(|| f.clone());
            own.push((spelled, ty));
        }
        let rust = rust_name(&wire);
        let variant = rust_name(&name);
        let security = class == "EVENT_FLAG_SECURITY";
        out.push(Ev {
            group: t::group(&name, security),
            doc_name: name,
            wire,
            rust,
            variant,
            documented,
            doc,
            class,
            since,
            channel_prefixes,
            bridge_prefixes,
            own,
        });
    }
    out.sort_by_key(|e| e.wire.to_ascii_lowercase());
    Ok(out)
}

fn keys_static(prefix: &str, bridge: bool) -> String {
    let base = if bridge { "BR" } else { "CH" };
    if prefix.is_empty() {
        base.to_owned()
    } else {
        format!("{base}_{}", snake(prefix).to_ascii_uppercase())
    }
}

fn snapshot_method(prefix: &str, bridge: bool) -> String {
    match (prefix.is_empty(), bridge) {
        (true, true) => "bridge".into(),
        (false, true) => format!("{}_bridge", snake(prefix)),
        (_, false) => snake(prefix),
    }
}

fn accessor(header: &str, ty: FTy) -> String {
    let n = snake(header);
    if ty == FTy::Pair {
        format!("{}s", n.trim_end_matches('_'))
    } else {
        n
    }
}

fn kind_of(ty: FTy) -> &'static str {
    match ty {
        FTy::Text => "Text",
        FTy::U32 | FTy::U64 => "Unsigned",
        FTy::I64 => "Signed",
        FTy::F64 => "Decimal",
        FTy::Bool => "Bool",
        FTy::HangupCause => "HangupCause",
        FTy::DialStatus => "DialStatus",
        FTy::DeviceState => "DeviceState",
        FTy::DeviceStateCode => "DeviceStateCode",
        FTy::Pair => "Pair",
    }
}

/// Files: the views by subject, `prefixes.rs`, `event_kind.rs`, and the
/// run-time table.
pub fn files(evs: &[Ev]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut groups: BTreeMap<&str, Vec<&Ev>> = BTreeMap::new();
    for e in evs {
        groups.entry(e.group).or_default().push(e);
    }
    for (g, members) in &groups {
        out.push((format!("src/ami/events/{g}.rs"), view_file(g, members)?));
    }
    out.push(("src/ami/events/prefixes.rs".into(), prefixes_file(evs)));
    out.push(("src/ami/event_kind.rs".into(), kind_file(evs)));
    out.push(("src/ami/catalogue/events.rs".into(), table_file(evs)));
    Ok(out)
}

/// The modules `view_file` writes, for `events.rs` to declare.
pub fn group_names(evs: &[Ev]) -> BTreeSet<&'static str> {
    evs.iter().map(|e| e.group).collect()
}

fn prefixes_file(evs: &[Ev]) -> String {
    let mut ch = BTreeSet::new();
    let mut br = BTreeSet::new();
    for e in evs {
        ch.extend(e.channel_prefixes.iter().cloned());
        br.extend(e.bridge_prefixes.iter().cloned());
    }
    let mut s = String::from(HEADER);
    s.push_str("\n//! The header names of every snapshot prefix events use.\n\n");
    s.push_str("use super::snapshot::{bridge_keys, channel_keys};\n\n");
    for p in &ch {
        let _ = writeln!(
            s,
            "channel_keys!(pub(crate) static {} = \"{p}\");",
            keys_static(p, false)
        );
    }
    for p in &br {
        let _ = writeln!(
            s,
            "bridge_keys!(pub(crate) static {} = \"{p}\");",
            keys_static(p, true)
        );
    }
    s
}

fn view_file(g: &str, evs: &[&Ev]) -> Result<String, String> {
    let mut s = String::from(HEADER);
    let _ = writeln!(s, "\n//! {}\n", t::group_doc(g));
    let mut uses: BTreeSet<String> = BTreeSet::new();
    uses.insert("crate::ami::event::Event".into());
    uses.insert("crate::ami::event_kind::EventKind".into());
    uses.insert("super::EventType".into());
    let mut body = String::new();
    for e in evs {
        body.push_str(&view_code(e, &mut uses)?);
    }
    for u in &uses {
        let _ = writeln!(s, "use {u};");
    }
    s.push('\n');
    s.push_str(&body);
    Ok(s)
}

fn view_code(e: &Ev, uses: &mut BTreeSet<String>) -> Result<String, String> {
    let mut s = String::new();
    let r = &e.rust;
    let view = format!("{r}View");
    let first = if e.doc.is_empty() {
        format!("The `{}` event.", e.wire)
    } else {
        e.doc.clone()
    };
    let _ = writeln!(s, "/// `{}`: {}", e.wire, lower_first(&first));
    let _ = writeln!(s, "///");
    if e.documented {
        let class = e
            .class
            .trim_start_matches("EVENT_FLAG_")
            .to_ascii_lowercase();
        let _ = writeln!(
            s,
            "/// Documented by Asterisk 22 (class `{class}`, since {}).",
            if e.since.is_empty() { "?" } else { &e.since }
        );
    } else {
        let _ = writeln!(
            s,
            "/// Not in Asterisk's documentation: its headers are read from the code that sends it."
        );
    }
    if e.wire != e.doc_name {
        let _ = writeln!(
            s,
            "/// Documented as `{}`; Asterisk sends `{}` (names match ignoring case).",
            e.doc_name, e.wire
        );
    }
    let deref_channel = e.channel_prefixes.iter().any(|p| p.is_empty());
    let deref_bridge = !deref_channel && e.bridge_prefixes.iter().any(|p| p.is_empty());
    if deref_channel {
        let _ = writeln!(s, "///\n/// Its channel's snapshot (`channel()`, `uniqueid()` ...) is reached through `Deref`.");
    } else if deref_bridge {
        let _ = writeln!(
            s,
            "///\n/// Its bridge's snapshot (`bridge_uniqueid()` ...) is reached through `Deref`."
        );
    }
    let _ = writeln!(s, "#[derive(Clone, Copy, Debug, PartialEq, Eq)]");
    let _ = writeln!(s, "pub struct {r};\n");
    let _ = writeln!(s, "/// A borrowed `{}` event.", e.wire);
    let _ = writeln!(s, "#[derive(Clone, Copy)]");
    let (inner, ev_expr, make) = if deref_channel {
        uses.insert("super::snapshot::ChannelSnapshot".into());
        uses.insert("super::prefixes::CH".into());
        (
            "snap: ChannelSnapshot<'a>",
            "self.snap.event()",
            "snap: ChannelSnapshot::new(ev, &CH)",
        )
    } else if deref_bridge {
        uses.insert("super::snapshot::BridgeSnapshot".into());
        uses.insert("super::prefixes::BR".into());
        (
            "snap: BridgeSnapshot<'a>",
            "self.snap.event()",
            "snap: BridgeSnapshot::new(ev, &BR)",
        )
    } else {
        ("ev: Event<'a>", "self.ev", "ev")
    };
    let _ = writeln!(s, "pub struct {view}<'a> {{ {inner} }}\n");
    let _ = writeln!(s, "impl<'a> {view}<'a> {{");
    let _ = writeln!(
        s,
        "    /// The event itself: every header, by name, including any this view does not cover."
    );
    let _ = writeln!(s, "    pub fn event(&self) -> Event<'a> {{ {ev_expr} }}");
    let _ = writeln!(s, "\n    /// The ActionID of the action this event answers (list items, `OriginateResponse` ...), if any.");
    let _ = writeln!(
        s,
        "    pub fn action_id(&self) -> Option<Value<'a>> {{ self.event().get(\"ActionID\") }}"
    );
    uses.insert("crate::ami::message::Value".into());
    let mut names: BTreeSet<String> = ["event".to_owned(), "action_id".to_owned()]
        .into_iter()
        .collect();
    if deref_channel {
        for m in [
            "channel",
            "channel_state",
            "channel_state_desc",
            "caller_id_num",
            "caller_id_name",
            "connected_line_num",
            "connected_line_name",
            "language",
            "account_code",
            "context",
            "exten",
            "priority",
            "uniqueid",
            "linkedid",
            "chan_variables",
            "prefix",
            "is_present",
        ] {
            names.insert(m.to_owned());
        }
    }
    for p in &e.channel_prefixes {
        if p.is_empty() && deref_channel {
            continue;
        }
        let m = snapshot_method(p, false);
        if !names.insert(m.clone()) {
            return Err(format!("{}: two accessors named {m}", e.wire));
        }
        let k = keys_static(p, false);
        uses.insert("super::snapshot::ChannelSnapshot".into());
        uses.insert(format!("super::prefixes::{k}"));
        let what = if p.is_empty() {
            "The channel's snapshot".to_owned()
        } else {
            format!("The `{p}` channel's snapshot (`{p}Channel` ... `{p}Linkedid`)")
        };
        let _ = writeln!(
            s,
            "\n    /// {what}.\n    pub fn {m}(&self) -> ChannelSnapshot<'a> {{ ChannelSnapshot::new(self.event(), &{k}) }}"
        );
    }
    for p in &e.bridge_prefixes {
        if p.is_empty() && deref_bridge {
            continue;
        }
        let m = snapshot_method(p, true);
        if !names.insert(m.clone()) {
            return Err(format!("{}: two accessors named {m}", e.wire));
        }
        let k = keys_static(p, true);
        uses.insert("super::snapshot::BridgeSnapshot".into());
        uses.insert(format!("super::prefixes::{k}"));
        let what = if p.is_empty() {
            "The bridge's snapshot".to_owned()
        } else {
            format!("The `{p}` bridge's snapshot (`{p}BridgeUniqueid` ...)")
        };
        let _ = writeln!(
            s,
            "\n    /// {what}.\n    pub fn {m}(&self) -> BridgeSnapshot<'a> {{ BridgeSnapshot::new(self.event(), &{k}) }}"
        );
    }
    for (h, ty) in &e.own {
        let scoped = format!("{}.{h}", e.doc_name);
        let m = t::ACCESSOR_NAMES
            .iter()
            .find(|(k, _)| *k == scoped)
            .map(|(_, n)| (*n).to_owned())
            .unwrap_or_else(|| accessor(h, *ty));
        if !names.insert(m.clone()) {
            return Err(format!("{}: two accessors named {m}", e.wire));
        }
        let (ret, expr, note) = match ty {
            // A second `Event:` header (the event package of a PJSIP resource list).
            FTy::Text if h == "Event" => (
                "Option<Value<'a>>".to_owned(),
                "self.event().get_all(\"Event\").nth(1)".to_owned(),
                ", the second `Event:` header",
            ),
            FTy::Text => (
                "Option<Value<'a>>".to_owned(),
                format!("self.event().get(\"{h}\")"),
                "",
            ),
            FTy::U32 => (
                "Option<u32>".into(),
                format!("self.event().get(\"{h}\").and_then(|v| v.parse())"),
                ", a number",
            ),
            FTy::U64 => (
                "Option<u64>".into(),
                format!("self.event().get(\"{h}\").and_then(|v| v.parse())"),
                ", a number",
            ),
            FTy::I64 => (
                "Option<i64>".into(),
                format!("self.event().get(\"{h}\").and_then(|v| v.parse())"),
                ", a number",
            ),
            FTy::F64 => (
                "Option<f64>".into(),
                format!("self.event().get(\"{h}\").and_then(|v| v.parse())"),
                ", a decimal number",
            ),
            FTy::Bool => {
                uses.insert("super::values::parse_bool".into());
                (
                    "Option<bool>".into(),
                    format!("self.event().get(\"{h}\").and_then(parse_bool)"),
                    ", a boolean",
                )
            }
            FTy::HangupCause => {
                uses.insert("super::values::HangupCause".into());
                (
                    "Option<HangupCause>".into(),
                    format!("self.event().get(\"{h}\").and_then(HangupCause::from_value)"),
                    ", a Q.850 cause",
                )
            }
            FTy::DialStatus => {
                uses.insert("super::values::DialStatus".into());
                (
                    "Option<DialStatus>".into(),
                    format!("self.event().get(\"{h}\").and_then(DialStatus::from_value)"),
                    "",
                )
            }
            FTy::DeviceState => {
                uses.insert("super::values::DeviceState".into());
                (
                    "Option<DeviceState>".into(),
                    format!("self.event().get(\"{h}\").and_then(DeviceState::from_value)"),
                    "",
                )
            }
            FTy::DeviceStateCode => {
                uses.insert("super::values::DeviceState".into());
                (
                    "Option<DeviceState>".into(),
                    format!("self.event().get(\"{h}\").and_then(DeviceState::from_code_value)"),
                    ", a device state number",
                )
            }
            FTy::Pair => {
                uses.insert("super::values::split_pair".into());
                (
                    "impl Iterator<Item = (Value<'a>, Value<'a>)> + 'a".into(),
                    format!("self.event().get_all(\"{h}\").filter_map(split_pair)"),
                    ", repeated `name=value`",
                )
            }
        };
        if ret.contains("Value") {
            uses.insert("crate::ami::message::Value".into());
        }
        let known = super::table::PARAM_DOCS
            .iter()
            .find(|(k, _)| *k == &h[..])
            .map(|(_, d)| d.trim_end_matches('.'));
        let doc = match known {
            Some(d) => format!("{d} (`{h}`{note})."),
            None => format!("`{h}`{note}."),
        };
        let _ = writeln!(
            s,
            "\n    /// {doc}\n    pub fn {m}(&self) -> {ret} {{ {expr} }}"
        );
    }
    let _ = writeln!(s, "}}\n");
    if deref_channel || deref_bridge {
        let target = if deref_channel {
            "ChannelSnapshot"
        } else {
            "BridgeSnapshot"
        };
        let _ = writeln!(
            s,
            "impl<'a> std::ops::Deref for {view}<'a> {{\n    type Target = {target}<'a>;\n    fn deref(&self) -> &{target}<'a> {{ &self.snap }}\n}}\n"
        );
    }
    let _ = writeln!(
        s,
        "impl std::fmt::Debug for {view}<'_> {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{ f.debug_tuple(\"{view}\").field(&self.event()).finish() }}\n}}\n"
    );
    let _ = writeln!(s, "impl EventType for {r} {{");
    let _ = writeln!(s, "    const NAME: &'static str = \"{}\";", e.wire);
    let _ = writeln!(s, "    type View<'a> = {view}<'a>;");
    let _ = writeln!(
        s,
        "    fn view(ev: Event<'_>) -> {view}<'_> {{ {view} {{ {make} }} }}"
    );
    let _ = writeln!(
        s,
        "    fn kind() -> EventKind {{ EventKind::{} }}",
        e.variant
    );
    let _ = writeln!(s, "}}\n");
    Ok(s)
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if !s.chars().nth(1).is_some_and(|c| c.is_ascii_uppercase()) => {
            f.to_lowercase().collect::<String>() + c.as_str()
        }
        Some(f) => f.to_string() + c.as_str(),
        None => String::new(),
    }
}

fn kind_file(evs: &[Ev]) -> String {
    let mut s = String::from(HEADER);
    s.push_str(
        "\n//! Every event name Asterisk 22 documents, plus the events it sends\n//! without documenting them, as one enum. Names match\n//! ASCII-case-insensitively (`Newexten` on the wire is `NewExten` in the\n//! documentation).\n\n",
    );
    let mut by_variant: Vec<&Ev> = evs.iter().collect();
    by_variant.sort_by_key(|e| e.variant.to_ascii_lowercase());
    s.push_str(
        "/// The name of an event, as a closed set of known names plus [`EventKind::Other`].\n",
    );
    s.push_str("#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n#[non_exhaustive]\npub enum EventKind {\n");
    for e in &by_variant {
        let _ = writeln!(s, "    /// `{}`.\n    {},", e.doc_name, e.variant);
    }
    s.push_str("    /// A name this version of the crate does not know; read it with [`Event::name`](super::Event::name).\n    Other,\n}\n\n");
    s.push_str("/// Lower-case names, sorted, for binary search.\nstatic NAMES: &[(&str, EventKind)] = &[\n");
    let mut by_lower: Vec<(String, &Ev)> = evs
        .iter()
        .map(|e| (e.doc_name.to_ascii_lowercase(), e))
        .collect();
    by_lower.sort_by(|a, b| a.0.cmp(&b.0));
    for (l, e) in &by_lower {
        let _ = writeln!(s, "    (\"{l}\", EventKind::{}),", e.variant);
    }
    s.push_str("];\n\n");
    s.push_str(
        "/// Per name of [`NAMES`], what [`EventKind::from_name`] compares: its\n\
         /// length, the [`words`] of its lower-case spelling, and masks of the\n\
         /// bits that may differ there (0x20 of each letter: its case).\n",
    );
    s.push_str("static KEYS: &[Key] = &[\n");
    for (l, _) in &by_lower {
        let _ = writeln!(s, "    Key::of(\"{l}\"),");
    }
    s.push_str("];\n\n");
    // An open-addressing table over NAMES, filled here with the same hash
    // the lookup computes.
    let size = (by_lower.len() * 4).next_power_of_two();
    assert!(by_lower.len() < 255, "slot indexes are u8");
    let mut slots = vec![255u8; size];
    for (i, (l, _)) in by_lower.iter().enumerate() {
        let mut at = name_hash(l.as_bytes()) as usize & (size - 1);
        while slots[at] != 255 {
            at = (at + 1) & (size - 1);
        }
        slots[at] = i as u8;
    }
    let mut longest = 0;
    for (l, _) in &by_lower {
        let mut at = name_hash(l.as_bytes()) as usize & (size - 1);
        let mut probes = 1;
        while by_lower[usize::from(slots[at])].0 != *l {
            at = (at + 1) & (size - 1);
            probes += 1;
        }
        longest = longest.max(probes);
    }
    let _ = writeln!(
        s,
        "// {} names in {size} slots; the longest probe is {longest}.\n",
        by_lower.len()
    );
    s.push_str("/// A free slot of [`SLOTS`].\nconst EMPTY: u8 = 255;\n\n");
    s.push_str("/// Indexes into [`NAMES`] by [`hash`] of the name, linearly probed.\n");
    let _ = writeln!(s, "static SLOTS: [u8; {size}] = [");
    for chunk in slots.chunks(16) {
        let _ = writeln!(
            s,
            "    {},",
            chunk
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s.push_str("];\n\n");
    s.push_str(
        r#"/// A hash of the name's length and its first and last eight bytes, with
/// ASCII case folded (`| 0x20` folds letters and leaves digits and `-`
/// alone; other bytes only change the hash, never a match).
#[inline]
fn hash(n: usize, head: u64, tail: u64) -> u32 {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let x = (head | FOLD) ^ (tail | FOLD).rotate_left(29) ^ (n as u64);
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

/// A name's first and last eight bytes as words (for a name under eight
/// bytes, its bytes in the first word and 0).
#[inline]
fn words(name: &[u8]) -> (u64, u64) {
    let n = name.len();
    if n >= 8 {
        (
            u64::from_le_bytes([name[0], name[1], name[2], name[3], name[4], name[5], name[6], name[7]]),
            u64::from_le_bytes([
                name[n - 8],
                name[n - 7],
                name[n - 6],
                name[n - 5],
                name[n - 4],
                name[n - 3],
                name[n - 2],
                name[n - 1],
            ]),
        )
    } else {
        let mut h = 0u64;
        for &b in name {
            h = (h << 8) | u64::from(b);
        }
        (h, 0)
    }
}

/// What a name is compared by (see [`KEYS`]).
struct Key {
    len: usize,
    head: u64,
    tail: u64,
    head_case: u64,
    tail_case: u64,
}

impl Key {
    /// The key of a lower-case name, made at compile time.
    const fn of(name: &str) -> Key {
        let b = name.as_bytes();
        let n = b.len();
        let (head, tail) = if n >= 8 {
            (Key::word(b, 0, false), Key::word(b, n - 8, false))
        } else {
            (Key::short(b, false), 0)
        };
        let (head_case, tail_case) = if n >= 8 {
            (Key::word(b, 0, true), Key::word(b, n - 8, true))
        } else {
            (Key::short(b, true), 0)
        };
        Key {
            len: n,
            head,
            tail,
            head_case,
            tail_case,
        }
    }

    /// Eight bytes from `at` as [`words`] reads them; with `case`, 0x20 for
    /// each letter and 0 for any other byte instead.
    const fn word(b: &[u8], at: usize, case: bool) -> u64 {
        let mut w = 0u64;
        let mut i = 0;
        while i < 8 {
            w |= (Key::byte(b[at + i], case) as u64) << (8 * i);
            i += 1;
        }
        w
    }

    /// A name under eight bytes as [`words`] reads it (see [`Key::word`]).
    const fn short(b: &[u8], case: bool) -> u64 {
        let mut w = 0u64;
        let mut i = 0;
        while i < b.len() {
            w = (w << 8) | Key::byte(b[i], case) as u64;
            i += 1;
        }
        w
    }

    const fn byte(b: u8, case: bool) -> u8 {
        match (case, b.is_ascii_alphabetic()) {
            (false, _) => b,
            (true, true) => 0x20,
            (true, false) => 0,
        }
    }
}

"#,
    );
    s.push_str(
        r#"impl EventKind {
    /// How many kinds there are, [`EventKind::Other`] included (the last).
    pub(crate) const COUNT: usize = EventKind::Other as usize + 1;

    /// A dense index, `0..COUNT`, for tables keyed by kind.
    #[inline]
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Looks a name up, ASCII-case-insensitively, without allocating: one
    /// hash of the name and, almost always, one comparison of two words,
    /// however many names the catalogue holds. The words cover the whole of
    /// a name of up to sixteen bytes; a longer one has its middle compared
    /// too.
    pub fn from_name(name: &[u8]) -> EventKind {
        let n = name.len();
        let (head, tail) = words(name);
        let mut i = hash(n, head, tail) as usize & (SLOTS.len() - 1);
        loop {
            let slot = SLOTS[i];
            if slot == EMPTY {
                return EventKind::Other;
            }
            let key = &KEYS[usize::from(slot)];
            if key.len == n
                && (head ^ key.head) & !key.head_case == 0
                && (tail ^ key.tail) & !key.tail_case == 0
                && (n <= 16
                    || NAMES[usize::from(slot)].0.as_bytes()[8..n - 8]
                        .eq_ignore_ascii_case(&name[8..n - 8]))
            {
                return NAMES[usize::from(slot)].1;
            }
            i = (i + 1) & (SLOTS.len() - 1);
        }
    }

    /// The name as Asterisk documents it (`None` for [`EventKind::Other`]).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
"#,
    );
    for e in &by_variant {
        let _ = writeln!(
            s,
            "            EventKind::{} => Some(\"{}\"),",
            e.variant, e.doc_name
        );
    }
    s.push_str(
        r#"            EventKind::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_round_trips() {
        assert!(NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        for (n, k) in NAMES {
            assert_eq!(EventKind::from_name(n.as_bytes()), *k);
            assert_eq!(k.as_str().unwrap().to_ascii_lowercase(), *n);
        }
        assert_eq!(EventKind::from_name(b"NEWEXTEN"), EventKind::NewExten);
        assert_eq!(EventKind::from_name(b"NoSuchEvent"), EventKind::Other);
        assert_eq!(EventKind::from_name(b""), EventKind::Other);
        assert_eq!(EventKind::from_name(&[0xff; 300]), EventKind::Other);
        // Every kind is found by every spelling of its name, and no
        // near-miss of a name is taken for it.
        for (n, k) in NAMES {
            assert_eq!(EventKind::from_name(n.to_ascii_uppercase().as_bytes()), *k);
            let longer = format!("{n}x");
            assert_ne!(EventKind::from_name(longer.as_bytes()), *k);
            // Only a letter's case may differ: any other bit of any byte
            // makes another name.
            for at in 0..n.len() {
                for bit in 0..8 {
                    let mut other = n.as_bytes().to_vec();
                    other[at] ^= 1 << bit;
                    let same = other[at].eq_ignore_ascii_case(&n.as_bytes()[at]);
                    assert_eq!(EventKind::from_name(&other) == *k, same, "{n} {at} {bit}");
                }
            }
        }
    }
}
"#,
    );
    s
}

/// The hash `EventKind::from_name` computes (the same code as in `kind_file`).
/// A hash of the name's length and its first and last eight bytes, with
/// ASCII case folded (`| 0x20` folds letters and leaves digits and `-`
/// alone; other bytes only change the hash, never a match).
fn name_hash(name: &[u8]) -> u32 {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    let n = name.len();
    let (head, tail) = if n >= 8 {
        (
            u64::from_le_bytes([
                name[0], name[1], name[2], name[3], name[4], name[5], name[6], name[7],
            ]),
            u64::from_le_bytes([
                name[n - 8],
                name[n - 7],
                name[n - 6],
                name[n - 5],
                name[n - 4],
                name[n - 3],
                name[n - 2],
                name[n - 1],
            ]),
        )
    } else {
        let mut h = 0u64;
        for &b in name {
            h = (h << 8) | u64::from(b);
        }
        (h, 0)
    };
    let x = (head | FOLD) ^ (tail | FOLD).rotate_left(29) ^ (n as u64);
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

fn table_file(evs: &[Ev]) -> String {
    let mut s = String::from(HEADER);
    s.push_str("\n//! Every event the catalogue types, sorted by lower-case name, with the\n//! headers its view covers.\n\n");
    s.push_str("use super::EventInfo;\nuse crate::ami::event_kind::EventKind;\nuse crate::ami::events::{FieldKind, FieldSpec};\n\n");
    s.push_str("const fn f(name: &'static str, kind: FieldKind) -> FieldSpec {\n    FieldSpec { name, kind }\n}\n\n");
    s.push_str("pub(super) static EVENTS: &[EventInfo] = &[\n");
    for e in evs {
        let _ = writeln!(s, "    EventInfo {{");
        let _ = writeln!(s, "        name: \"{}\",", e.wire);
        let _ = writeln!(s, "        kind: EventKind::{},", e.variant);
        let _ = writeln!(s, "        rust_type: \"{}\",", e.rust);
        let _ = writeln!(s, "        subject: \"{}\",", e.group);
        let _ = writeln!(s, "        documented: {},", e.documented);
        let _ = writeln!(s, "        fields: &[");
        for p in &e.channel_prefixes {
            for h in CHANNEL_SNAPSHOT {
                let kind = match *h {
                    "ChannelState" => "ChannelState",
                    "Priority" => "Unsigned",
                    _ => "Text",
                };
                let _ = writeln!(s, "            f(\"{p}{h}\", FieldKind::{kind}),");
            }
            let _ = writeln!(s, "            f(\"{p}ChanVariable\", FieldKind::Pair),");
        }
        for p in &e.bridge_prefixes {
            for h in BRIDGE_SNAPSHOT {
                let kind = if *h == "BridgeNumChannels" {
                    "Unsigned"
                } else {
                    "Text"
                };
                let _ = writeln!(s, "            f(\"{p}{h}\", FieldKind::{kind}),");
            }
        }
        for (h, ty) in &e.own {
            let _ = writeln!(s, "            f(\"{h}\", FieldKind::{}),", kind_of(*ty));
        }
        let _ = writeln!(s, "        ],");
        let _ = writeln!(s, "    }},");
    }
    s.push_str("];\n");
    s
}
