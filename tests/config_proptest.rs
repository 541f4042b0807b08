//! Property tests: random documents round-trip, edits read back, and random
//! bytes never panic ("a panic is our bug, never the input's").

use asterisk_io::config::{Document, LoadOptions, Op};
use proptest::prelude::*;

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}".prop_map(|n| format!("[{n}]")),
        "[a-z]{1,8}".prop_map(|n| format!("[{n}](!)")),
        ("[a-z]{1,8}", "[a-z]{1,8}").prop_map(|(n, t)| format!("[{n}](!,{t})")),
        "[a-z]{1,8}".prop_map(|n| format!("[{n}](+)")),
        ("[a-z]{1,6}", "[ -~]{0,20}").prop_map(|(k, v)| format!("{k} = {v}")),
        ("[a-z]{1,6}", "[ -~]{0,20}").prop_map(|(k, v)| format!("{k} => {v}")),
        ("[a-z]{1,6}", "[ -~]{0,20}").prop_map(|(k, v)| format!("  {k}+={v}  ")),
        "[ -~]{0,30}".prop_map(|c| format!("; {c}")),
        Just(";-- block".to_string()),
        Just("--;".to_string()),
        Just("a = b ;-- x --; c".to_string()),
        Just("esc = a\\;b".to_string()),
        Just("\\=odd = 1".to_string()),
        Just("#tryinclude \"nonexistent-*.conf\"".to_string()),
        Just("#exec /bin/false".to_string()),
        Just("#unknown".to_string()),
        Just(String::new()),
        Just("   \t".to_string()),
        "[ -~]{0,40}",
    ]
}

fn document() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((fragment(), any::<bool>()), 0..40),
        any::<bool>(),
    )
        .prop_map(|(lines, final_newline)| {
            let mut out = Vec::new();
            let n = lines.len();
            for (i, (l, crlf)) in lines.into_iter().enumerate() {
                out.extend_from_slice(l.as_bytes());
                if i + 1 < n || final_newline {
                    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
            }
            out
        })
}

fn lenient() -> LoadOptions {
    LoadOptions::new()
        .strict(false)
        .base_dir(std::env::temp_dir().join("asterisk-io-no-such-dir"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_documents_round_trip(input in document()) {
        let doc = Document::from_slice(&input).unwrap();
        prop_assert_eq!(doc.to_bytes(), input.clone());
        let joined: Vec<u8> = doc.lines().flat_map(|l| l.raw().to_vec()).collect();
        prop_assert_eq!(joined, input.clone());
        let _ = doc.diagnostics(std::path::Path::new("p.conf"));
        let _ = lenient().load_document("p.conf", &doc).unwrap();
    }

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..600)) {
        let doc = Document::from_slice(&input).unwrap();
        prop_assert_eq!(doc.to_bytes(), input.clone());
        for l in doc.lines() {
            let _ = (l.entry(), l.problem_column(), l.value());
        }
        let _ = lenient().load_document("r.conf", &doc).unwrap();
        let _ = LoadOptions::new().load_document("r.conf", &doc);
    }

    #[test]
    fn edits_read_back(input in document(), key in "[a-z]{1,6}", value in "[!-~]([ -~]{0,20}[!-~])?") {
        let doc = Document::from_slice(&input).unwrap();
        prop_assume!(doc.unterminated_comment().is_none());
        let mut doc = doc;
        doc.add_category("edited", "").unwrap();
        doc.set_variable("edited", &key, value.as_bytes()).unwrap();
        doc.add_variable("edited", "extra", Op::Object, b"x;y").unwrap();
        let out = doc.to_bytes();
        // Every original line is still there, unchanged, in front.
        prop_assert!(out.len() >= input.len());
        let reparsed = Document::from_slice(&out).unwrap();
        let vars = reparsed.variables("edited");
        prop_assert_eq!(vars.len(), 2);
        prop_assert_eq!(vars[0].value().unwrap(), value.as_bytes());
        prop_assert_eq!(vars[1].value().unwrap(), &b"x;y"[..]);
        prop_assert_eq!(vars[1].op(), Some(Op::Object));
    }

    #[test]
    fn replacing_a_value_reads_back(
        suffix in prop_oneof![Just(""), Just(";c"), Just(" ; c"), Just(" ;-- x --; "), Just("\\;x")],
        value in "[!-~]([ -~]{0,20}[!-~])?",
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let text = format!("[e]{eol}k = v{suffix}{eol}j = 1{eol}");
        let mut doc = Document::from_slice(text.as_bytes()).unwrap();
        doc.set_variable("e", "k", value.as_bytes()).unwrap();
        let out = doc.to_bytes();
        let again = Document::from_slice(&out).unwrap();
        let vars = again.variables("e");
        prop_assert_eq!(vars.len(), 2);
        prop_assert_eq!(vars[0].value().unwrap(), value.as_bytes());
        prop_assert_eq!(vars[1].value().unwrap(), &b"1"[..]);
        // The other lines are byte-identical.
        let head = format!("[e]{eol}");
        let tail = format!("j = 1{eol}");
        prop_assert_eq!(again.line(0).unwrap().raw(), head.as_bytes());
        prop_assert_eq!(again.line(2).unwrap().raw(), tail.as_bytes());
    }
}
