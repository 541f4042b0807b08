//! Odd inputs, read the way Asterisk reads them. A panic here is our bug,
//! never the input's.

use asterisk_io::config::{DiagnosticKind, Document, LoadOptions};

fn lenient(text: &[u8]) -> asterisk_io::config::Loaded {
    let loaded = LoadOptions::new()
        .strict(false)
        .load_bytes("odd.conf", text)
        .unwrap();
    assert_eq!(Document::from_slice(text).unwrap().to_bytes(), text);
    loaded
}

fn kinds(l: &asterisk_io::config::Loaded) -> Vec<(DiagnosticKind, u32)> {
    l.diagnostics.iter().map(|d| (d.kind, d.line)).collect()
}

#[test]
fn stray_block_end_comments_out_what_follows() {
    // Asterisk's counter goes to -1: the rest of this line is kept as text,
    // the following lines count as commented out.
    let l = lenient(b"[c]\na = 1 --;\nb = 2\n");
    assert_eq!(l.config.get("c", "a"), Some("1 --;"));
    assert_eq!(l.config.get("c", "b"), None);
    assert_eq!(kinds(&l), [(DiagnosticKind::UnterminatedComment, 1)]);
}

#[test]
fn nul_ends_the_line_for_asterisk() {
    let l = lenient(b"[c]\na = 1\0junk ; \n\0b = 2\nc = 3");
    assert_eq!(l.config.get("c", "a"), Some("1"));
    assert_eq!(l.config.get("c", "b"), None);
    assert_eq!(l.config.get("c", "c"), Some("3"));
}

#[test]
fn nest_limit_is_a_warning() {
    let mut text = b"[c]\n".to_vec();
    for _ in 0..130 {
        text.extend_from_slice(b";-- ");
    }
    text.extend_from_slice(b"\n");
    for _ in 0..130 {
        text.extend_from_slice(b"--; ");
    }
    text.extend_from_slice(b"\nk = v\n");
    let l = lenient(&text);
    let k = kinds(&l);
    assert_eq!(k[0], (DiagnosticKind::NestLimit, 2));
    assert!(l.diagnostics.iter().all(|d| !d.is_error()));
}

#[test]
fn lone_symbols() {
    for (text, kind) in [
        (&b"[c]\n\\\n"[..], DiagnosticKind::InvalidEscape),
        (b"[c]\n=\n", DiagnosticKind::NoVariableName),
        (b"[c]\n+=\n", DiagnosticKind::NoVariableName),
        (b"[\n", DiagnosticKind::NoClosingBracket),
        (b"[c](\n", DiagnosticKind::NoClosingParen),
        (b"#\n", DiagnosticKind::UnknownDirective),
        (b"#include\n", DiagnosticKind::MissingArgument),
        (b"#include \"\"\n", DiagnosticKind::IncludeNotFound),
        (b"[c]\n(\n", DiagnosticKind::NoEquals),
        (b"[c]\n\\\xe9x = 1\n", DiagnosticKind::InvalidEscape),
    ] {
        let l = lenient(text);
        assert_eq!(
            l.diagnostics[0].kind,
            kind,
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn lone_carriage_returns_are_not_line_breaks() {
    let l = lenient(b"[c]\ra = 1\r\nb = 2\r");
    // fgets splits on LF only: the first line is a header followed by junk.
    assert_eq!(l.config.categories().count(), 1);
    assert_eq!(l.config.get("c", "b"), Some("2"));
}

#[test]
fn empty_and_blank_inputs() {
    for text in [&b""[..], b"\n", b"\r\n", b"   ", b";", b";--", b"--;"] {
        let l = lenient(text);
        assert_eq!(l.config.all_categories().len(), 0);
    }
}

/// Found by the `config_document` fuzz target (a 10 s timeout): after
/// `(+)` names the category itself, each empty option word (`,,,`) inherits
/// from the first category, which is that same category, so its variables
/// doubled at every comma (Asterisk loops forever on it). Inheritance now
/// copies at most `LoadOptions::max_inherited` variables in one load.
#[test]
fn inheriting_from_itself_at_every_comma_is_bounded() {
    // (With the default limit of a million this input copies up to a
    // million variables: seconds in a debug build; a lower limit here.)
    let fuzzed: &[u8] = FUZZED_SELF_INHERIT;
    assert_eq!(Document::from_slice(fuzzed).unwrap().to_bytes(), fuzzed);
    let l = LoadOptions::new()
        .strict(false)
        .max_inherited(10_000)
        .load_bytes("fuzzed.conf", fuzzed)
        .unwrap();
    assert!(kinds(&l)
        .iter()
        .any(|k| k.0 == DiagnosticKind::TooManyInherited));
    let total: usize = l
        .config
        .all_categories()
        .iter()
        .map(|c| c.variables().len())
        .sum();
    assert!(total <= 10_100, "{total}");

    let mut text = b"[a]\nx = 1\n[a](+".to_vec();
    text.extend(std::iter::repeat_n(b',', 200));
    text.extend_from_slice(b")\n");
    let opts = LoadOptions::new().max_inherited(1000);
    let l = opts
        .clone()
        .strict(false)
        .load_bytes("self.conf", &text)
        .unwrap();
    assert_eq!(l.config.get_all("a", "x").len(), 512); // 1 doubled 9 times
    assert!(l.refused);
    assert_eq!(kinds(&l)[0], (DiagnosticKind::TooManyInherited, 3));
    let err = opts.load_bytes("self.conf", &text).unwrap_err();
    assert!(
        err.to_string()
            .contains("would copy more than 1000 variables"),
        "{err}"
    );
}

/// Templates that inherit twice from the one before double at each line:
/// 40 lines would ask for 2^40 variables.
#[test]
fn doubling_templates_are_bounded() {
    let mut text = b"[t0](!)\nv = 1\n".to_vec();
    for i in 1..=40 {
        text.extend_from_slice(format!("[t{i}](!,t{p},t{p})\n", p = i - 1).as_bytes());
    }
    text.extend_from_slice(b"[end](t40)\n");
    let l = LoadOptions::new()
        .strict(false)
        .max_inherited(100_000)
        .load_bytes("double.conf", &text)
        .unwrap();
    let total: usize = l
        .config
        .all_categories()
        .iter()
        .map(|c| c.variables().len())
        .sum();
    assert!(total <= 100_001, "{total}");
    assert!(kinds(&l)
        .iter()
        .any(|k| k.0 == DiagnosticKind::TooManyInherited));
}

/// The fuzzer's input, byte for byte.
const FUZZED_SELF_INHERIT: &[u8] =
    b"[m~\n\xdd\x9atarget \",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\
      ; Templates% multiple! inherit\n\n[alice](+\n\nKalice](+5= e](office,media)\n\
      calice,media\xd1\xf5ca\x04[b]\ny = 2\n#includcf\"\ne,ce\n\n\n[alice](+5= e](\
      office,m,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,run,,,,,,,,,,,,,,,,,,,,,\
      ,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,ffice,medi,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\
      ,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,e[dia)\ncalle\
      r\x01\x9a = \"Alice\",,,,,,,,,,,,,e[ <050\xce\x01\x00\x00> thr\x00\x00\x00\x00\
      \x00yes\x00\x00\x16ndia)\nf\n\"\n";
