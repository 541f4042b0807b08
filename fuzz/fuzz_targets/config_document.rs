//! `.conf` parsing on arbitrary bytes: the document view writes back exactly
//! what it read, and resolving it (lenient) never panics.
#![no_main]

use asterisk_io::config::{Document, LineKind, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Document::from_slice(data) {
        assert_eq!(doc.to_bytes(), data);
        // Includes would read this machine's files: `#include /*/*` globs
        // the whole filesystem (as it would in Asterisk). Includes are the
        // config_includes target's business, over files it writes itself;
        // here a document with a directive naming a path is not resolved, and
        // relative ones look in a directory that does not exist.
        let reaches_out = doc
            .lines()
            .any(|l| l.kind() == LineKind::Directive && l.raw().contains(&b'/'));
        if reaches_out {
            return;
        }
        // A low inheritance limit keeps each run fast; the limit itself is
        // what this exercises (see tests/config_malformed_input.rs).
        let _ = LoadOptions::new()
            .base_dir("/nonexistent/asterisk-io-fuzz")
            .strict(false)
            .max_inherited(10_000)
            .load_document("fuzz.conf", &doc);
    }
});
