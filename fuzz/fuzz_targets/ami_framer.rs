//! The framer on arbitrary bytes, cut at a point the input chooses: it must
//! never panic, always make progress, keep its header spans inside the
//! frame, and give the same frames whole and split.
#![no_main]

use asterisk_io::ami::codec::{Frame, Framer, FramerConfig, Status};
use libfuzzer_sys::fuzz_target;

fn frames(chunks: &[&[u8]], max: usize, legacy: bool) -> Vec<(Frame, Vec<(Vec<u8>, Vec<u8>)>)> {
    let mut f = Framer::new(FramerConfig::default().max_message_size(max));
    let mut buf = Vec::new();
    let mut at = 0;
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Status::Complete(frame) = f.advance(&buf[at..], legacy) {
            let len = frame.len();
            assert!(len > 0 && at + len <= buf.len());
            let msg = &buf[at..at + len];
            let headers = match frame {
                Frame::Message { .. } => f
                    .headers()
                    .iter()
                    .map(|h| {
                        let k = &msg[h.key.start()..h.key.end()];
                        let v = &msg[h.value.start()..h.value.end()];
                        (k.to_vec(), v.to_vec())
                    })
                    .collect(),
                _ => Vec::new(),
            };
            out.push((frame, headers));
            at += len;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let max = 64 + data[0] as usize * 4;
    let legacy = data[1] & 1 == 1;
    let body = &data[3..];
    let cut = data[2] as usize % (body.len() + 1);
    let whole = frames(&[body], max, legacy);
    let split = frames(&[&body[..cut], &body[cut..]], max, legacy);
    // Messages (not skip/oversized bookkeeping) are the same whole and split
    // when no size limit was hit.
    let msgs = |v: &[(Frame, Vec<(Vec<u8>, Vec<u8>)>)]| {
        v.iter()
            .filter(|(f, _)| matches!(f, Frame::Message { .. }))
            .map(|(_, h)| h.clone())
            .collect::<Vec<_>>()
    };
    let oversized = |v: &[(Frame, Vec<(Vec<u8>, Vec<u8>)>)]| {
        v.iter().any(|(f, _)| matches!(f, Frame::Oversized { .. }))
    };
    if !legacy && !oversized(&whole) && !oversized(&split) {
        assert_eq!(msgs(&whole), msgs(&split));
    }
});
