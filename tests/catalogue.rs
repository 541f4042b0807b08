//! The catalogue against its sources, in one test binary:
//!
//! - here: when `../shared/spec` (the Asterisk 22.10.1 documentation dump)
//!   is present, the committed files are exactly what `tools/catalogue`
//!   writes from it, and every documented action and event is catalogued.
//!   Without the spec (a checkout of this repository alone) these tests say
//!   so and pass.
//! - [`fixtures`]: every event recorded from a real Asterisk 22 is typed.
//! - [`props`]: property tests of the typed parsers.

#[path = "catalogue/fixtures.rs"]
mod fixtures;
#[path = "catalogue/props.rs"]
mod props;

#[allow(dead_code)]
#[path = "../tools/catalogue/src/lib.rs"]
mod generator;

use std::path::{Path, PathBuf};

use asterisk_io::ami::catalogue;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec() -> Option<String> {
    let path = root().join("../shared/spec/asterisk-22.10.1.json");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) => {
            eprintln!("skipped: {} is not here", path.display());
            None
        }
    }
}

#[test]
fn generated_files_are_current() {
    let Some(spec) = spec() else { return };
    let files = generator::generate(&spec).expect("the generator accepts the spec");
    let mut stale = Vec::new();
    for (path, src) in files {
        let formatted = match generator::rustfmt(&src) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("skipped: {e}");
                return;
            }
        };
        let current = std::fs::read_to_string(Path::new(&root()).join(&path)).unwrap_or_default();
        if current != formatted {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (run `cargo run --manifest-path tools/catalogue/Cargo.toml`): {stale:?}"
    );
}

#[test]
fn every_documented_action_is_catalogued() {
    let Some(spec) = spec() else { return };
    let doc = generator::json::parse(&spec).unwrap();
    let actions = doc.get("actions").unwrap().items();
    assert_eq!(actions.len(), 154);
    assert_eq!(catalogue::actions().len(), actions.len());
    for a in actions {
        let name = a.get("name").and_then(|n| n.as_str()).unwrap();
        let info = catalogue::action(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(info.name(), name);
        let documented: Vec<String> = a
            .get("parameters")
            .unwrap()
            .items()
            .iter()
            .filter_map(|p| p.get("name").and_then(|n| n.as_str()).map(str::to_owned))
            .filter(|n| n != "ActionID")
            .collect();
        let ours: Vec<&str> = info.params().iter().map(|p| p.name()).collect();
        assert_eq!(ours, documented, "{name}");
    }
}

#[test]
fn every_documented_event_has_a_view() {
    let Some(spec) = spec() else { return };
    let doc = generator::json::parse(&spec).unwrap();
    let events = doc.get("events").unwrap().items();
    assert_eq!(events.len(), 181);
    for e in events {
        let name = e.get("name").and_then(|n| n.as_str()).unwrap();
        // Looked up ignoring case: the documentation's `NewExten` is the wire's `Newexten`.
        let info = catalogue::event(name).unwrap_or_else(|| panic!("{name} has no view"));
        assert!(info.is_documented(), "{name}");
        assert_eq!(
            asterisk_io::ami::EventKind::from_name(name.as_bytes()),
            info.kind()
        );
        for f in e.get("fields").unwrap().strings() {
            assert!(info.field(&f).is_some(), "{name}.{f} is not covered");
        }
    }
    let undocumented = catalogue::events()
        .iter()
        .filter(|e| !e.is_documented())
        .count();
    assert_eq!(catalogue::events().len(), 181 + undocumented);
}
