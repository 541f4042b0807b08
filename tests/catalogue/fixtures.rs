//! Every event in the recordings of a real Asterisk 22.10.1 is typed: its
//! name is a known [`EventKind`], the catalogue has a view for it, and
//! every header the view covers parses as its declared kind and says the
//! same thing as the raw header (numbers print back to the same digits,
//! enums to the same word, pairs to the same `name=value`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use asterisk_io::ami::events::{parse_bool, FieldKind, Typed};
use asterisk_io::ami::{catalogue, Connection, EventKind, Input};

fn recordings() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("ami"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.ends_with(".bin") && !n.ends_with(".tx.bin")
        })
        .collect();
    files.push(dir.join("ami/events.ami"));
    files.push(dir.join("agi/asyncagi-events.bin"));
    files.sort();
    files
}

/// True if the typed value says what the raw header says.
fn same(kind: FieldKind, typed: Typed<'_>, raw: &[u8]) -> bool {
    let raw_s = String::from_utf8_lossy(raw);
    match typed {
        Typed::Text(v) => v.as_bytes() == raw,
        Typed::Number(n) => n.to_string() == raw_s.trim(),
        Typed::Decimal(f) => raw_s.trim().parse::<f64>().is_ok_and(|r| r == f),
        Typed::Bool(b) => parse_bool(asterisk_io::ami::Value::new(raw)) == Some(b),
        Typed::Enum(w) => w.eq_ignore_ascii_case(raw_s.trim()),
        Typed::Pair(k, v) => {
            let mut s = k.as_bytes().to_vec();
            s.push(b'=');
            s.extend_from_slice(v.as_bytes());
            // The `ChanVariable(name): value` form keeps the name in the key.
            s == raw || kind == FieldKind::Pair && v.as_bytes() == raw
        }
        Typed::Bad(_) => false,
        _ => false,
    }
}

#[test]
fn every_recorded_event_is_typed_and_agrees_with_its_raw_headers() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut uncovered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in recordings() {
        let bytes = std::fs::read(&path).unwrap();
        let mut conn = Connection::default();
        conn.feed(&bytes);
        while let Some(input) = conn.next_input() {
            let Input::Event(ev) = input else { continue };
            let name = ev.name().to_str_lossy().into_owned();
            *seen.entry(name.clone()).or_default() += 1;
            if ev.kind() == EventKind::Other {
                failures.push(format!("{}: {name} has no EventKind", path.display()));
                continue;
            }
            let Some(info) = catalogue::event(&name) else {
                failures.push(format!("{}: {name} has no view", path.display()));
                continue;
            };
            for (k, v) in ev.message().iter() {
                let key = k.to_str_lossy();
                if key.eq_ignore_ascii_case("Event") {
                    continue;
                }
                match info.field(&key) {
                    Some(spec) => {
                        let typed = ev.typed(&key).expect("present");
                        // `typed` reads the first header of that name; a
                        // repeated header is checked through its own value.
                        let typed = if ev.get(&key).map(|x| x.as_bytes()) == Some(v.as_bytes()) {
                            typed
                        } else {
                            spec.kind().type_value(v)
                        };
                        if !same(spec.kind(), typed, v.as_bytes()) {
                            failures.push(format!(
                                "{}: {name}.{key} = {:?} typed as {:?}: {typed:?}",
                                path.display(),
                                v.to_str_lossy(),
                                spec.kind()
                            ));
                        }
                    }
                    None => {
                        let list = uncovered.entry(name.clone()).or_default();
                        if !list.contains(&key.to_string()) {
                            list.push(key.into_owned());
                        }
                    }
                }
            }
        }
    }
    assert!(
        seen.len() > 30,
        "recordings hold many kinds of event: {seen:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Headers no view covers: only the ones a user event makes up.
    uncovered.remove("UserEvent");
    assert!(
        uncovered.is_empty(),
        "headers no view covers: {uncovered:?}"
    );
}
