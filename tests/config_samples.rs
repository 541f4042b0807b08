//! Conformance: Asterisk 22's own sample configs round-trip byte for byte
//! and get exactly the errors and warnings Asterisk's loader gives them.
//!
//! The samples are not part of this repository; the test looks for them in
//! `../shared/asterisk-configs/samples-22.10.1` and passes with a note when
//! they are absent.

use std::path::{Path, PathBuf};

use asterisk_io::config::{ConfigError, Diagnostic, DiagnosticKind, Document, LoadOptions};

const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/asterisk-configs/samples-22.10.1"
);

fn samples() -> Option<Vec<PathBuf>> {
    let dir = Path::new(SAMPLES);
    if !dir.is_dir() {
        eprintln!("note: {SAMPLES} not found; conformance corpus skipped");
        return None;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Some(files)
}

/// What Asterisk logs for the files that are not (all) Asterisk configs;
/// every other sample loads without a single message.
fn expected(name: &str) -> Vec<(DiagnosticKind, u32)> {
    use DiagnosticKind::*;
    match name {
        // Sourced by bash: each `#` comment is an unknown directive, and the
        // first `KEY=value` (line 27) has no category, so Asterisk stops there.
        "ast_debug_tools.conf.sample" => {
            let mut v: Vec<_> = [1, 2, 3, 4, 5, 7, 8, 9]
                .into_iter()
                .chain(11..=26)
                .map(|l| (UnknownDirective, l))
                .collect();
            v.push((NoCategory, 27));
            v
        }
        // No category header before the first timer.
        "ss7.timers.sample" => vec![(NoCategory, 8)],
        // An ADSI script, not a .conf file.
        "telcordia-1.adsi" => vec![(NoCategory, 7)],
        _ => vec![],
    }
}

fn summary(d: &[Diagnostic]) -> Vec<(DiagnosticKind, u32)> {
    d.iter().map(|d| (d.kind, d.line)).collect()
}

#[test]
fn samples_round_trip_byte_for_byte() {
    let Some(files) = samples() else { return };
    assert!(files.len() > 40);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let doc = Document::from_slice(&bytes).unwrap();
        assert_eq!(doc.to_bytes(), bytes, "{}", f.display());
        let joined: Vec<u8> = doc.lines().flat_map(|l| l.raw().to_vec()).collect();
        assert_eq!(joined, bytes, "{}", f.display());
    }
}

#[test]
fn samples_get_exactly_asterisks_diagnostics() {
    let Some(files) = samples() else { return };
    for f in files {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let want = expected(&name);
        let got = match LoadOptions::new().load(&f) {
            Ok(l) => {
                assert!(!l.refused);
                summary(&l.diagnostics)
            }
            Err(ConfigError::Refused(d)) => {
                assert!(
                    d.last().unwrap().is_error(),
                    "{name}: strict mode ends at the error"
                );
                summary(&d)
            }
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(got, want, "{name}");
        let refused = want
            .iter()
            .any(|(k, _)| k.severity() == asterisk_io::config::Severity::Error);
        // Lenient mode agrees on the verdict and reports at least as much.
        let l = LoadOptions::new().strict(false).load(&f).unwrap();
        assert_eq!(l.refused, refused, "{name}");
        assert!(l.diagnostics.len() >= want.len());
    }
}

#[test]
fn samples_resolve_sensibly() {
    let Some(_) = samples() else { return };
    let dir = Path::new(SAMPLES);
    let say = LoadOptions::new()
        .load(dir.join("say.conf.sample"))
        .unwrap()
        .config;
    let en_gb = say.category("en_GB").unwrap();
    assert_eq!(
        en_gb.parents().collect::<Vec<_>>(),
        ["date-base", "digit-base", "en-base"]
    );
    assert!(say.category("digit-base").is_none());
    assert!(say
        .category_or_template("digit-base")
        .unwrap()
        .is_template());
    let notify = LoadOptions::new()
        .load(dir.join("pjsip_notify.conf.sample"))
        .unwrap()
        .config;
    let values: Vec<_> = notify
        .all_categories()
        .iter()
        .flat_map(|c| c.get_all("Event").map(|v| v.to_vec()))
        .collect();
    assert!(values.contains(&b"check-sync;reboot=false".to_vec()));
    let ext = LoadOptions::new()
        .load(dir.join("extensions.conf.sample"))
        .unwrap()
        .config;
    assert!(ext.categories().count() > 10);
}
