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
