//! Resolved view: templates, (+), includes, cycles, errors as Asterisk sees them.

use std::path::{Path, PathBuf};

use asterisk_io::config::{ConfigError, DiagnosticKind, LoadOptions, Severity};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn names(cat: &asterisk_io::config::Category) -> Vec<(String, String)> {
    cat.variables()
        .iter()
        .map(|v| (v.name().into_owned(), v.value_lossy().into_owned()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A fresh scratch directory for tests that write files.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("asterisk-io-config-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn templates_inheritance_and_additions() {
    let loaded = LoadOptions::new().load(fixture("templates.conf")).unwrap();
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let cfg = &loaded.config;
    let listed: Vec<_> = cfg.categories().map(|c| c.name().into_owned()).collect();
    assert_eq!(listed, ["general", "alice", "bob"]);
    assert!(cfg.category("base").is_none());
    let base = cfg.template("base").unwrap();
    assert!(cfg.template("alice").is_none());
    assert!(base.is_template());

    let office = cfg.category_or_template("office").unwrap();
    assert!(office.is_template());
    assert_eq!(office.parents().collect::<Vec<_>>(), ["base"]);

    let alice = cfg.category("alice").unwrap();
    assert_eq!(alice.parents().collect::<Vec<_>>(), ["office", "media"]);
    assert_eq!(
        names(alice),
        pairs(&[
            ("type", "endpoint"),
            ("disallow", "all"),
            ("allow", "ulaw"),
            ("context", "office"),
            ("allow", "g722"),
            ("direct_media", "no"),
            ("callerid", "\"Alice\" <100>"),
            // `+=` appends the raw text after the operator.
            ("allow", "opus ,h264"),
            ("mailboxes", "100@default"),
        ])
    );
    // The category's own value comes after the template's.
    assert_eq!(alice.get("allow"), Some("opus ,h264"));
    assert_eq!(alice.get_first("allow"), Some(&b"ulaw"[..]));
    assert_eq!(cfg.get_all("alice", "allow").len(), 3);
    assert_eq!(cfg.get("bob", "callerid"), Some("Bob <101>"));
    assert_eq!(cfg.get("BOB", "CallerID"), Some("Bob <101>"));
    assert_eq!(cfg.get_bool("alice", "direct_media"), Some(false));
    assert_eq!(alice.variables()[0].file(), fixture("templates.conf"));
}

#[test]
fn typed_getters() {
    let text = b"[g]\na=yes\nb=Off\nc=1\nd=maybe\nn= 42 \nm=-7\nx=4x\n";
    let cfg = LoadOptions::new()
        .load_bytes("g.conf", text)
        .unwrap()
        .config;
    assert_eq!(cfg.get_bool("g", "a"), Some(true));
    assert_eq!(cfg.get_bool("g", "b"), Some(false));
    assert_eq!(cfg.get_bool("g", "c"), Some(true));
    assert_eq!(cfg.get_bool("g", "d"), None);
    assert_eq!(cfg.get_i64("g", "n"), Some(42));
    assert_eq!(cfg.get_i64("g", "m"), Some(-7));
    assert_eq!(cfg.get_i64("g", "x"), None);
    assert_eq!(cfg.get("g", "missing"), None);
}

#[test]
fn dialplan_objects_keep_order() {
    let text =
        b"[default]\nexten => 100,1,Answer()\n same => n,Playback(hello)\n same => n,Hangup()\n";
    let cfg = LoadOptions::new()
        .load_bytes("e.conf", text)
        .unwrap()
        .config;
    let c = cfg.category("default").unwrap();
    let v: Vec<_> = c
        .variables()
        .iter()
        .map(|v| (v.name().into_owned(), v.is_object()))
        .collect();
    assert_eq!(
        v,
        [
            ("exten".into(), true),
            ("same".into(), true),
            ("same".into(), true)
        ]
    );
    assert_eq!(c.variables()[2].line(), 4);
}

#[test]
fn includes_with_globs() {
    let loaded = LoadOptions::new()
        .load(fixture("includes/main.conf"))
        .unwrap();
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let cats: Vec<_> = loaded
        .config
        .categories()
        .map(|c| c.name().into_owned())
        .collect();
    // `*.conf` sorted, hidden files skipped, then `[ab]?.conf`; tryinclude is silent.
    assert_eq!(cats, ["main", "from_a", "from_a1", "from_b", "from_a1"]);
    // Variables after an #include go back to the including file's category.
    assert_eq!(loaded.config.get("main", "after"), Some("2"));
    assert_eq!(loaded.files.len(), 5);
}

#[test]
fn included_file_continues_the_current_category() {
    let d = scratch("continue");
    std::fs::write(
        d.join("main.conf"),
        "[top]\n#include \"vars.conf\"\nlast = 3\n",
    )
    .unwrap();
    std::fs::write(d.join("vars.conf"), "first = 1\nsecond = 2\n").unwrap();
    let cfg = LoadOptions::new().load(d.join("main.conf")).unwrap().config;
    let v: Vec<_> = cfg
        .category("top")
        .unwrap()
        .variables()
        .iter()
        .map(|v| v.name().into_owned())
        .collect();
    assert_eq!(v, ["first", "second", "last"]);
    // With a base directory, names resolve against it.
    let cfg = LoadOptions::new()
        .base_dir(&d)
        .load("main.conf")
        .unwrap()
        .config;
    assert_eq!(cfg.get("top", "second"), Some("2"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn include_cycles_are_errors() {
    let err = LoadOptions::new()
        .load(fixture("cycle/a.conf"))
        .unwrap_err();
    let ConfigError::Refused(diags) = err else {
        panic!("{err}")
    };
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].kind, DiagnosticKind::IncludeCycle);
    assert_eq!(diags[0].line, 3);
    assert!(diags[0].file.ends_with("cycle/b.conf"));

    // A file including itself.
    let d = scratch("self");
    std::fs::write(d.join("self.conf"), "[s]\n#include \"self.conf\"\n").unwrap();
    let loaded = LoadOptions::new()
        .strict(false)
        .load(d.join("self.conf"))
        .unwrap();
    assert!(loaded.refused);
    assert_eq!(loaded.diagnostics[0].kind, DiagnosticKind::IncludeCycle);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn include_depth_is_limited() {
    let d = scratch("deep");
    for i in 0..12 {
        std::fs::write(
            d.join(format!("f{i}.conf")),
            format!("[c{i}]\n#include \"f{}.conf\"\n", i + 1),
        )
        .unwrap();
    }
    std::fs::write(d.join("f12.conf"), "[end]\n").unwrap();
    let loaded = LoadOptions::new()
        .strict(false)
        .load(d.join("f0.conf"))
        .unwrap();
    let kinds: Vec<_> = loaded.diagnostics.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DiagnosticKind::IncludeTooDeep,
            DiagnosticKind::IncludeNotFound
        ]
    );
    // Asterisk reads the top file plus ten levels of includes.
    assert_eq!(loaded.config.categories().count(), 11);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn missing_include_strict_and_lenient() {
    let err = LoadOptions::new()
        .load(fixture("missing_include.conf"))
        .unwrap_err();
    assert!(
        matches!(err, ConfigError::Refused(ref d) if d[0].kind == DiagnosticKind::IncludeNotFound)
    );
    let loaded = LoadOptions::new()
        .strict(false)
        .load(fixture("missing_include.conf"))
        .unwrap();
    assert!(loaded.refused);
    assert_eq!(loaded.config.get("m", "k"), Some("v"));
    let d = &loaded.diagnostics[0];
    assert_eq!((d.line, d.column, d.severity()), (2, 11, Severity::Error));
}

#[test]
fn every_error_and_warning_in_lenient_mode() {
    let loaded = LoadOptions::new()
        .strict(false)
        .load(fixture("errors.conf"))
        .unwrap();
    let got: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.kind, d.line))
        .collect();
    use DiagnosticKind::*;
    assert_eq!(
        got,
        [
            (NoCategory, 1),
            (NoEquals, 3),
            (NoVariableName, 4),
            (InvalidEscape, 5),
            (UnknownDirective, 6),
            (MissingArgument, 7),
            (ExecDisabled, 8),
            (NoClosingBracket, 9),
            (MissingParent, 10),
            (NoClosingParen, 11),
            (AddToMissingCategory, 12),
            (UnterminatedComment, 14),
        ]
    );
    assert!(loaded.refused);
    assert_eq!(loaded.config.get("nothere", "after"), Some("errors"));
}

#[test]
fn strict_mode_stops_where_asterisk_stops() {
    let text = b"[ok]\nnothing here\n#what\n[bad\nk = v\n";
    let err = LoadOptions::new().load_bytes("s.conf", text).unwrap_err();
    let ConfigError::Refused(d) = err else {
        panic!()
    };
    let got: Vec<_> = d.iter().map(|d| (d.kind, d.line)).collect();
    assert_eq!(
        got,
        [
            (DiagnosticKind::NoEquals, 2),
            (DiagnosticKind::UnknownDirective, 3),
            (DiagnosticKind::NoClosingBracket, 4),
        ]
    );
}

#[test]
fn exec_is_recorded_but_only_run_when_enabled() {
    let loaded = LoadOptions::new().load(fixture("exec.conf")).unwrap();
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(loaded.diagnostics[0].kind, DiagnosticKind::ExecDisabled);
    assert!(loaded.config.category("generated").is_none());
    if Path::new("/bin/sh").exists() {
        let loaded = LoadOptions::new()
            .exec_includes(true)
            .load(fixture("exec.conf"))
            .unwrap();
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert_eq!(loaded.config.get("generated", "from"), Some("exec"));
    }
}

#[test]
fn non_utf8_values_survive_resolution() {
    let loaded = LoadOptions::new().load(fixture("latin1.conf")).unwrap();
    let c = loaded.config.category("latin1").unwrap();
    assert_eq!(c.get_bytes("caller"), Some(&b"Jos\xe9 M\xfcller"[..]));
    assert_eq!(c.get("caller"), None);
    assert_eq!(c.variables()[0].value_lossy(), "Jos\u{fffd} M\u{fffd}ller");
}

#[test]
fn additions_follow_asterisks_matching_rules() {
    // (+) only finds non-template categories.
    let text = b"[tpl](!)\na=1\n[tpl](+)\nb=2\n";
    let loaded = LoadOptions::new()
        .strict(false)
        .load_bytes("t.conf", text)
        .unwrap();
    assert_eq!(
        loaded.diagnostics[0].kind,
        DiagnosticKind::AddToMissingCategory
    );

    // (+filter) picks the category whose variables match.
    let text = b"[ep]\ntype=aor\n[ep]\ntype=endpoint\n[ep](+type=endpoint)\nextra=1\n";
    let cfg = LoadOptions::new()
        .load_bytes("f.conf", text)
        .unwrap()
        .config;
    let eps: Vec<_> = cfg.categories().map(|c| c.get("extra")).collect();
    assert_eq!(eps, [None, Some("1")]);

    // `+=` keeps the `=>` style and the position of the variable it extends.
    let text = b"[c]\nexten => 1\nother = x\nexten += 2\n";
    let cfg = LoadOptions::new()
        .load_bytes("p.conf", text)
        .unwrap()
        .config;
    let v = &cfg.category("c").unwrap().variables()[0];
    assert_eq!(
        (v.value_str(), v.is_object(), v.line()),
        (Some("1 2"), true, 2)
    );
    // Without an earlier variable, `+=` is a plain assignment.
    let cfg = LoadOptions::new()
        .load_bytes("p.conf", b"[c]\nk += v\n")
        .unwrap()
        .config;
    assert_eq!(cfg.get("c", "k"), Some("v"));

    // Inheritance lists the parent's real name.
    let cfg = LoadOptions::new()
        .load_bytes("i.conf", b"[Base](!)\nx=1\n[kid](base)\n")
        .unwrap()
        .config;
    assert_eq!(
        cfg.category("kid").unwrap().parents().collect::<Vec<_>>(),
        ["Base"]
    );
    assert_eq!(cfg.get("kid", "x"), Some("1"));
}

#[test]
fn globbed_files_share_the_current_category() {
    let d = scratch("globcat");
    std::fs::create_dir_all(d.join("d")).unwrap();
    std::fs::write(d.join("main.conf"), "[top]\n#include \"d/*.conf\"\n").unwrap();
    std::fs::write(
        d.join("d/1.conf"),
        "[one]\na = 1\n#include \"inner.conf\"\n",
    )
    .unwrap();
    std::fs::write(d.join("d/2.conf"), "b = 2\n").unwrap();
    std::fs::write(d.join("inner.conf"), "[inner]\n").unwrap();
    let cfg = LoadOptions::new().load(d.join("main.conf")).unwrap().config;
    // Like Asterisk, 2.conf goes on in the category 1.conf ended in, not in
    // the one its own include opened last.
    assert_eq!(cfg.get("one", "b"), Some("2"));
    assert!(cfg.category("inner").unwrap().variables().is_empty());
    // A later, separate include starts in the category opened last.
    std::fs::write(
        d.join("main.conf"),
        "[top]\n#include \"inner.conf\"\n#include \"d/2.conf\"\n",
    )
    .unwrap();
    let cfg = LoadOptions::new()
        .strict(false)
        .load(d.join("main.conf"))
        .unwrap()
        .config;
    assert_eq!(cfg.get("inner", "b"), Some("2"));
    let _ = std::fs::remove_dir_all(&d);
}
