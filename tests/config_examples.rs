//! The `config_dump` and `config_roundtrip` examples: output and exit codes.
//! `cargo test` builds the examples next to the test binaries; if they are
//! not there (another runner), the test passes with a note.

use std::path::{Path, PathBuf};
use std::process::Command;

fn example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("examples").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: {} not built; skipped", p.display());
        None
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

#[test]
fn roundtrip_prints_the_input() {
    let Some(bin) = example("config_roundtrip") else {
        return;
    };
    for f in ["crlf.conf", "latin1.conf", "comments.conf"] {
        let out = Command::new(&bin).arg(fixture(f)).output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, std::fs::read(fixture(f)).unwrap(), "{f}");
    }
    let out = Command::new(&bin).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dump_exit_codes_and_views() {
    let Some(bin) = example("config_dump") else {
        return;
    };
    let ok = Command::new(&bin)
        .arg(fixture("templates.conf"))
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let text = String::from_utf8(ok.stdout).unwrap();
    assert!(text.contains("[base](!)\n"));
    assert!(text.contains("[alice](+)\n"));

    let resolved = Command::new(&bin)
        .arg(fixture("templates.conf"))
        .arg("--resolved")
        .output()
        .unwrap();
    let text = String::from_utf8(resolved.stdout).unwrap();
    assert!(text.contains("[alice]\ntype = endpoint\n"));
    assert!(text.contains("[office](!)\n"));

    let bad = Command::new(&bin)
        .arg(fixture("errors.conf"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("errors.conf:1:1: error: "), "{err}");
    assert!(
        err.contains("errors.conf:9:1: error: no closing ']'"),
        "{err}"
    );

    let inc = Command::new(&bin)
        .arg("main.conf")
        .arg("--resolved")
        .arg("--base")
        .arg(fixture("includes"))
        .current_dir(fixture("includes"))
        .output()
        .unwrap();
    assert_eq!(inc.status.code(), Some(0));
    assert!(String::from_utf8(inc.stdout)
        .unwrap()
        .contains("[from_b]\nb = 2\n"));
}
