//! Encoder round trip: a `RawAction` with arbitrary fields is either refused
//! (and nothing is written) or written as exactly one block that the framer
//! reads back as the same fields.
#![no_main]

use asterisk_io::ami::codec::{Frame, Framer, Status};
use asterisk_io::ami::{Connection, Error, RawAction};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1}');
    let name = parts.next().unwrap_or("").to_owned();
    let mut action = RawAction::new(name.clone());
    let mut fields = Vec::new();
    while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
        action = action.field(k, v);
        fields.push((k.to_owned(), v.to_owned()));
    }
    let mut c = Connection::default();
    match c.send(&action) {
        Err(Error::Encode(_)) => {
            assert!(c.pending_output().is_empty());
            assert_eq!(c.pending_count(), 0);
        }
        Err(e) => panic!("{e}"),
        Ok(_) => {
            let out = c.pending_output().to_vec();
            let mut f = Framer::default();
            let len = match f.advance(&out, false) {
                Status::Complete(Frame::Message { len }) => len,
                other => panic!("{other:?}"),
            };
            assert_eq!(len, out.len(), "exactly one block");
            let h = f.headers();
            let get = |i: usize| {
                (
                    &out[h[i].key.start()..h[i].key.end()],
                    &out[h[i].value.start()..h[i].value.end()],
                )
            };
            assert_eq!(get(0), (&b"Action"[..], name.as_bytes()));
            assert_eq!(get(1).0, b"ActionID");
            assert_eq!(h.len(), fields.len() + 2);
            for (i, (k, v)) in fields.iter().enumerate() {
                let (gk, gv) = get(i + 2);
                assert_eq!(gk, k.as_bytes());
                // The reader drops one space after the colon; a value that
                // starts with a space keeps the rest.
                assert_eq!(gv, v.as_bytes());
            }
        }
    }
});
