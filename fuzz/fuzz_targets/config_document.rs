//! `.conf` parsing on arbitrary bytes: the document view writes back exactly
//! what it read, and resolving it (lenient) never panics.
#![no_main]

use asterisk_io::config::{Document, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Document::from_slice(data) {
        assert_eq!(doc.to_bytes(), data);
        // A low inheritance limit keeps each run fast; the limit itself is
        // what this exercises (see tests/config_malformed_input.rs).
        let _ = LoadOptions::new()
            .strict(false)
            .max_inherited(10_000)
            .load_document("fuzz.conf", &doc);
    }
});
