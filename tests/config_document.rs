//! Document view: byte-exact round trip, line entries and edits.

use std::path::{Path, PathBuf};

use asterisk_io::config::{DiagnosticKind, Document, EditError, Entry, LineKind, Op};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn parse(name: &str) -> (Vec<u8>, Document) {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let doc = Document::from_slice(&bytes).unwrap();
    (bytes, doc)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    let mut files = Vec::new();
    walk(&fixture(""), &mut files);
    assert!(files.len() >= 10);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let doc = Document::from_slice(&bytes).unwrap();
        assert_eq!(doc.to_bytes(), bytes, "{}", f.display());
        let joined: Vec<u8> = doc.lines().flat_map(|l| l.raw().to_vec()).collect();
        assert_eq!(joined, bytes, "{}", f.display());
        let mut w = Vec::new();
        doc.write_to(&mut w).unwrap();
        assert_eq!(w, bytes);
    }
}

fn var<'a>(doc: &'a Document, cat: &str, key: &str) -> Vec<&'a [u8]> {
    doc.variables(cat)
        .into_iter()
        .filter(|l| l.name() == Some(key.as_bytes()))
        .map(|l| l.value().unwrap())
        .collect()
}

#[test]
fn comments_and_escapes() {
    let (_, doc) = parse("comments.conf");
    // The block comment at the top hides a category header.
    let cats: Vec<_> = doc
        .categories()
        .map(|l| l.name().unwrap().to_vec())
        .collect();
    assert_eq!(cats, vec![b"comments".to_vec()]);
    assert_eq!(var(&doc, "comments", "plain"), [b"value"]);
    assert_eq!(var(&doc, "comments", "escaped"), [b"semi;colon;kept"]);
    assert_eq!(var(&doc, "comments", "inline"), [b"before  after"]);
    assert_eq!(var(&doc, "comments", "after_nested"), [b"1"]);
    assert!(var(&doc, "comments", "still").is_empty());
    assert_eq!(var(&doc, "comments", "dashes"), [b"three"]);
    assert_eq!(var(&doc, "comments", "url"), [b"http://example.com/a;b"]);
    assert_eq!(var(&doc, "comments", "empty"), [b""]);
    assert_eq!(var(&doc, "comments", "spaced"), [b"inner  spaces  kept"]);
    let exten = doc
        .variables("comments")
        .into_iter()
        .find(|l| l.name() == Some(b"exten"))
        .unwrap();
    assert_eq!(exten.op(), Some(Op::Object));
    let esc = doc
        .variables("comments")
        .into_iter()
        .find(|l| l.name_escaped())
        .unwrap();
    assert_eq!(esc.name(), Some(&b"[bracket"[..]));
    assert!(doc.unterminated_comment().is_none());
}

#[test]
fn crlf_and_missing_final_newline() {
    let (bytes, doc) = parse("crlf.conf");
    assert!(bytes.ends_with(b"no newline"));
    let last = doc.line(doc.len() - 1).unwrap();
    assert_eq!(last.terminator(), b"");
    assert_eq!(doc.line(0).unwrap().terminator(), b"\r\n");
    assert_eq!(var(&doc, "crlf", "key"), [b"value"]);
    assert_eq!(var(&doc, "crlf", "last"), [b"no newline"]);
}

#[test]
fn non_utf8_bytes_are_kept() {
    let (_, doc) = parse("latin1.conf");
    assert_eq!(var(&doc, "latin1", "caller"), [b"Jos\xe9 M\xfcller"]);
    assert_eq!(var(&doc, "latin1", "name\u{ff}").len(), 0);
    let l = doc.variables("latin1")[1];
    assert_eq!(l.name(), Some(&b"name\xff"[..]));
    assert_eq!(l.value(), Some(&b"\xfe\xfd"[..]));
}

#[test]
fn line_entries() {
    let doc =
        Document::from_slice(b"[a](!,b) ; c\n#include \"x.conf\"\nk += v\nbad line\n").unwrap();
    assert_eq!(
        doc.line(0).unwrap().entry(),
        Entry::Category {
            name: b"a",
            options: Some(b"!,b")
        }
    );
    assert_eq!(
        doc.line(1).unwrap().entry(),
        Entry::Directive {
            name: b"include",
            argument: Some(b"x.conf")
        }
    );
    assert_eq!(
        doc.line(2).unwrap().entry(),
        Entry::Variable {
            name: b"k",
            op: Op::Append,
            value: b"v"
        }
    );
    assert_eq!(doc.line(3).unwrap().kind(), LineKind::Invalid);
    assert_eq!(
        doc.line(3).unwrap().problem(),
        Some(DiagnosticKind::NoEquals)
    );
}

#[test]
fn lexical_diagnostics_have_positions() {
    let (_, doc) = parse("errors.conf");
    let d = doc.diagnostics(Path::new("errors.conf"));
    let got: Vec<_> = d.iter().map(|d| (d.kind, d.line, d.column)).collect();
    assert_eq!(
        got,
        vec![
            (DiagnosticKind::NoEquals, 3, 1),
            (DiagnosticKind::NoVariableName, 4, 1),
            (DiagnosticKind::InvalidEscape, 5, 1),
            (DiagnosticKind::NoClosingBracket, 9, 1),
            (DiagnosticKind::NoClosingParen, 11, 1),
            (DiagnosticKind::UnterminatedComment, 14, 1),
        ]
    );
    assert!(d[0].to_string().starts_with("errors.conf:3:1: warning: "));
}

#[test]
fn long_lines_are_skipped_like_asterisk() {
    let mut input = b"[c]\nlong = ".to_vec();
    input.extend(std::iter::repeat(b'x').take(9000));
    input.extend_from_slice(b"\nshort = 1\n");
    let doc = Document::from_slice(&input).unwrap();
    assert_eq!(doc.line(1).unwrap().kind(), LineKind::TooLong);
    assert_eq!(var(&doc, "c", "short"), [b"1"]);
    assert_eq!(doc.to_bytes(), input);
}

#[test]
fn set_variable_keeps_the_rest_of_the_line() {
    let (bytes, mut doc) = parse("templates.conf");
    doc.set_variable("bob", "callerid", b"Robert <101>")
        .unwrap();
    let out = doc.to_bytes();
    let expected = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("callerid = Bob <101>", "callerid = Robert <101>");
    assert_eq!(String::from_utf8(out).unwrap(), expected);

    // A trailing comment survives.
    let mut doc = Document::from_slice(b"[x]\nk = old ; why\n").unwrap();
    doc.set_variable("x", "k", b"new;semi").unwrap();
    assert_eq!(doc.to_bytes(), b"[x]\nk = new\\;semi ; why\n");
    let again = Document::from_slice(&doc.to_bytes()).unwrap();
    assert_eq!(var(&again, "x", "k"), [b"new;semi"]);
}

#[test]
fn add_and_remove_variables_touch_only_their_lines() {
    let (bytes, mut doc) = parse("crlf.conf");
    doc.add_variable("crlf", "added", Op::Object, b"yes")
        .unwrap();
    let out = doc.to_bytes();
    // The old last line gained its CRLF, the new one uses CRLF too.
    let mut expected = bytes.clone();
    expected.extend_from_slice(b"\r\nadded => yes\r\n");
    assert_eq!(out, expected);

    let mut doc = Document::from_slice(b"[a]\nk=1\n; note\nk=2\nj=3\n[b]\nk=9\n").unwrap();
    assert_eq!(doc.remove_variable("a", "k").unwrap(), 2);
    assert_eq!(doc.to_bytes(), b"[a]\n; note\nj=3\n[b]\nk=9\n");
    assert_eq!(
        doc.remove_variable("zz", "k"),
        Err(EditError::NoSuchCategory)
    );
    assert!(matches!(
        doc.set_variable("a", "k", b"x\ny"),
        Err(EditError::InvalidText(_))
    ));
    assert!(matches!(
        doc.add_variable("a", "bad=name", Op::Assign, b"x"),
        Err(EditError::InvalidText(_))
    ));
}

#[test]
fn category_edits() {
    let mut doc = Document::from_slice(b"[a](!) ; tpl\nx=1\n[b]\ny=2").unwrap();
    doc.rename_category("A", "alpha").unwrap();
    assert_eq!(doc.to_bytes(), b"[alpha](!) ; tpl\nx=1\n[b]\ny=2");
    doc.add_category("c", "alpha").unwrap();
    doc.add_variable("c", "z", Op::Assign, b"3").unwrap();
    assert_eq!(
        doc.to_bytes(),
        b"[alpha](!) ; tpl\nx=1\n[b]\ny=2\n[c](alpha)\nz = 3\n"
    );
    doc.remove_category("b").unwrap();
    assert_eq!(
        doc.to_bytes(),
        b"[alpha](!) ; tpl\nx=1\n[c](alpha)\nz = 3\n"
    );
    assert!(doc.is_edited());
}

#[test]
fn edits_never_change_what_is_commented_out() {
    // A value ending in `-` or `\` must not fuse with a kept `;` comment.
    for v in [&b"x-"[..], b"x--", b"x\\"] {
        let mut doc = Document::from_slice(b"[a]\nk = v;c\nj = 1\n").unwrap();
        doc.set_variable("a", "k", v).unwrap();
        let again = Document::from_slice(&doc.to_bytes()).unwrap();
        assert_eq!(var(&again, "a", "k"), [v]);
        assert_eq!(var(&again, "a", "j"), [b"1"]);
        assert!(again.unterminated_comment().is_none());
    }
    // Lines that open, close or sit in a block comment are not touched.
    let mut doc = Document::from_slice(b"[a]\nk = v ;-- open\nhidden = 1\n--; j = 2\n").unwrap();
    assert_eq!(var(&doc, "a", "j"), [b"2"]);
    assert_eq!(
        doc.remove_variable("a", "k"),
        Err(EditError::InsideBlockComment)
    );
    assert_eq!(
        doc.set_variable("a", "k", b"w"),
        Err(EditError::InsideBlockComment)
    );
    assert_eq!(
        doc.set_variable("a", "j", b"w"),
        Err(EditError::InsideBlockComment)
    );
    assert_eq!(doc.rename_category("a", "b"), Ok(()));
    assert!(!doc.to_bytes().is_empty());
    let mut doc = Document::from_slice(b"[a]\n;-- open").unwrap();
    assert_eq!(
        doc.add_category("b", ""),
        Err(EditError::InsideBlockComment)
    );
    assert_eq!(doc.add_variable("a", "k", Op::Assign, b"v"), Ok(()));
    // The header ends outside the comment, so the new line lands right after it.
    assert_eq!(doc.to_bytes(), b"[a]\nk = v\n;-- open");
}
