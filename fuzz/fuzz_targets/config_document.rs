//! `.conf` parsing on arbitrary bytes: the document view writes back exactly
//! what it read, and resolving it (lenient) never panics.
#![no_main]

use asterisk_io::config::{Document, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = Document::from_slice(data) {
        assert_eq!(doc.to_bytes(), data);
        let _ = LoadOptions::new()
            .strict(false)
            .load_document("fuzz.conf", &doc);
    }
});
