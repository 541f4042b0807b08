//! Property tests of the framer against a naive reference parser: random
//! valid messages, serialized with CRLF or LF line ends and stray blank
//! lines, cut at random points, must come out unchanged.

mod ami_support;

use ami_support::{frame_chunks, reference_parse, same, Pairs};
use asterisk_io::ami::{Connection, Input};
use proptest::prelude::*;

/// One header: key (no CR, LF or colon; not empty), value (no CR or LF),
/// whether a space follows the colon, and whether the line ends with CRLF.
type Line = (String, String, bool, bool);

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-z][A-Za-z0-9_-]{0,20}",
        1 => "[^\r\n:]{1,12}",
        1 => prop::sample::select(vec![
            "Event".to_owned(),
            "Response".to_owned(),
            "ActionID".to_owned(),
            "Output".to_owned(),
            "Variable".to_owned(),
        ]),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,40}",
        1 => "[^\r\n]{0,60}",
        1 => Just(String::new()),
        1 => Just("  leading and trailing  ".to_owned()),
        1 => Just("a: colon: inside".to_owned()),
    ]
}

fn message() -> impl Strategy<Value = Vec<Line>> {
    prop::collection::vec((key(), value(), any::<bool>(), any::<bool>()), 1..12)
}

/// The messages, serialized, with `blanks[i]` stray blank lines before message i.
fn serialize(msgs: &[Vec<Line>], blanks: &[(u8, bool)], end_crlf: &[bool]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let (n, crlf) = blanks.get(i).copied().unwrap_or((0, true));
        for _ in 0..n {
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        for (k, v, space, crlf) in m {
            out.extend_from_slice(k.as_bytes());
            out.push(b':');
            if *space {
                out.push(b' ');
            }
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
        }
        let crlf = end_crlf.get(i).copied().unwrap_or(true);
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    out
}

/// What each message must parse to, straight from the model.
fn model(msgs: &[Vec<Line>]) -> Vec<Option<Pairs>> {
    msgs.iter()
        .map(|m| {
            Some(
                m.iter()
                    .map(|(k, v, space, _)| {
                        let v = if *space {
                            v.as_str()
                        } else {
                            v.strip_prefix(' ').unwrap_or(v)
                        };
                        (k.as_bytes().to_vec(), v.as_bytes().to_vec())
                    })
                    .collect(),
            )
        })
        .collect()
}

fn cut(bytes: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    points.iter_mut().for_each(|p| *p %= bytes.len() + 1);
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut at = 0;
    for p in points {
        chunks.push(&bytes[at..p]);
        at = p;
    }
    chunks.push(&bytes[at..]);
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn reference_parser_agrees_with_the_model(
        msgs in prop::collection::vec(message(), 1..10),
        blanks in prop::collection::vec((0u8..3, any::<bool>()), 0..10),
        ends in prop::collection::vec(any::<bool>(), 0..10),
    ) {
        let bytes = serialize(&msgs, &blanks, &ends);
        prop_assert_eq!(reference_parse(&bytes), model(&msgs));
    }

    #[test]
    fn framer_at_random_split_points_matches_the_reference(
        msgs in prop::collection::vec(message(), 1..10),
        blanks in prop::collection::vec((0u8..3, any::<bool>()), 0..10),
        ends in prop::collection::vec(any::<bool>(), 0..10),
        points in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let bytes = serialize(&msgs, &blanks, &ends);
        let want = reference_parse(&bytes);
        prop_assert_eq!(&want, &model(&msgs));
        let chunks = cut(&bytes, points);
        prop_assert_eq!(frame_chunks(&chunks, &want, 1 << 20, "props"), want.len());
    }

    #[test]
    fn framer_one_byte_at_a_time_matches_the_reference(
        msgs in prop::collection::vec(message(), 1..6),
        blanks in prop::collection::vec((0u8..3, any::<bool>()), 0..6),
        ends in prop::collection::vec(any::<bool>(), 0..6),
    ) {
        let bytes = serialize(&msgs, &blanks, &ends);
        let want = reference_parse(&bytes);
        let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(frame_chunks(&chunks, &want, 1 << 20, "bytewise"), want.len());
    }

    #[test]
    fn connection_at_random_split_points_matches_the_reference(
        msgs in prop::collection::vec(message(), 1..10),
        blanks in prop::collection::vec((0u8..3, any::<bool>()), 0..10),
        ends in prop::collection::vec(any::<bool>(), 0..10),
        points in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let bytes = serialize(&msgs, &blanks, &ends);
        let want = reference_parse(&bytes);
        let mut c = Connection::default();
        c.feed(b"Asterisk Call Manager/11.0.0\r\n");
        let mut n = 0;
        for chunk in cut(&bytes, points) {
            c.feed(chunk);
            while let Some(input) = c.next_input() {
                let w = want[n].as_ref().unwrap();
                match &input {
                    Input::Event(e) => prop_assert!(same(&e.message(), w), "{:?} vs {:?}", e, w),
                    Input::Unmatched(m) => prop_assert!(same(m, w), "{:?} vs {:?}", m, w),
                    // Neither Response nor Event first: the connection refuses
                    // it, but only when the model has no such header at all.
                    Input::Skipped(_) => {
                        let typed = w.iter().any(|(k, _)| {
                            k.eq_ignore_ascii_case(b"Event") || k.eq_ignore_ascii_case(b"Response")
                        });
                        prop_assert!(!typed);
                    }
                    Input::Done(..) => prop_assert!(false, "no action was pending"),
                }
                n += 1;
            }
        }
        prop_assert_eq!(n, want.len());
    }

    #[test]
    fn a_tiny_size_limit_never_loses_the_messages_that_fit(
        msgs in prop::collection::vec(message(), 1..10),
        max in 64usize..400,
    ) {
        let bytes = serialize(&msgs, &[], &[]);
        size_limit_case(&msgs, &[&bytes], max);
    }

    #[test]
    fn a_tiny_size_limit_at_split_points_away_from_crlf(
        msgs in prop::collection::vec(message(), 1..10),
        points in prop::collection::vec(any::<usize>(), 0..6),
        max in 64usize..400,
    ) {
        // Split points between a CR and its LF are left to the next test.
        let bytes = serialize(&msgs, &[], &[]);
        let points: Vec<usize> = points
            .into_iter()
            .map(|p| p % (bytes.len() + 1))
            .filter(|&p| !(p > 0 && p < bytes.len() && bytes[p - 1] == b'\r'))
            .collect();
        size_limit_case(&msgs, &cut(&bytes, points), max);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_tiny_size_limit_at_any_split_point(
        msgs in prop::collection::vec(message(), 1..10),
        points in prop::collection::vec(any::<usize>(), 0..6),
        max in 64usize..400,
    ) {
        // Random points plus a cut right after every CR, so a blank line
        // split between its CR and LF is always among the cases.
        let bytes = serialize(&msgs, &[], &[]);
        let mut points: Vec<usize> = points.into_iter().map(|p| p % (bytes.len() + 1)).collect();
        points.extend((1..bytes.len()).filter(|&p| bytes[p - 1] == b'\r'));
        size_limit_case(&msgs, &cut(&bytes, points), max);
    }
}

/// Messages under the limit come out exactly; larger ones are skipped as a
/// whole. The limit counts the block's header lines, line ends included;
/// the terminating blank line is not counted.
fn size_limit_case(msgs: &[Vec<Line>], chunks: &[&[u8]], max: usize) {
    let per_message: Vec<usize> = msgs
        .iter()
        .map(|m| serialize(std::slice::from_ref(m), &[], &[]).len() - 2)
        .collect();
    let want: Vec<Option<Pairs>> = model(msgs)
        .into_iter()
        .zip(&per_message)
        .filter(|(_, &len)| len <= max)
        .map(|(m, _)| m)
        .collect();
    assert_eq!(frame_chunks(chunks, &want, max, "limit"), want.len());
}
