//! Property tests of the typed event parsers: any header value, typed as
//! any kind, is either [`Typed::Bad`] (the typed error) or says what the raw
//! value says; views of every catalogued event read arbitrary values
//! without panicking.

use asterisk_io::ami::events::{
    parse_bool, ChannelState, DeviceState, DialStatus, FieldKind, HangupCause, Typed,
};
use asterisk_io::ami::{catalogue, Event, OwnedMessage, Value};
use proptest::prelude::*;

const KINDS: &[FieldKind] = &[
    FieldKind::Text,
    FieldKind::Unsigned,
    FieldKind::Signed,
    FieldKind::Decimal,
    FieldKind::Bool,
    FieldKind::ChannelState,
    FieldKind::HangupCause,
    FieldKind::DialStatus,
    FieldKind::DeviceState,
    FieldKind::DeviceStateCode,
    FieldKind::Pair,
];

/// Header values as Asterisk could send them: any bytes but CR and LF,
/// with numbers, words and pairs well represented.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(
            any::<u8>().prop_filter("no line end", |b| *b != b'\r' && *b != b'\n'),
            0..24
        ),
        any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        prop::sample::select(vec![
            "yes",
            "no",
            "true",
            "Off",
            "ANSWER",
            "busy",
            "NOT_INUSE",
            "6",
            "16",
            "a=b",
            "=",
            "x=",
            "-0",
            "+1",
            " 7",
            "1e3",
            "NaN"
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn agrees(kind: FieldKind, typed: Typed<'_>, raw: &[u8]) -> bool {
    // Numbers are read the way `Value::parse` reads them: surrounding blanks ignored.
    let lossy = String::from_utf8_lossy(raw);
    let text = lossy.trim();
    match typed {
        Typed::Bad(v) => v.as_bytes() == raw,
        Typed::Text(v) => kind == FieldKind::Text && v.as_bytes() == raw,
        Typed::Number(n) => match kind {
            FieldKind::Unsigned | FieldKind::Signed | FieldKind::DeviceStateCode => {
                text.parse::<i64>() == Ok(n) || text.parse::<u64>().is_ok_and(|u| u as i64 == n)
            }
            FieldKind::ChannelState => text
                .parse::<u32>()
                .is_ok_and(|u| ChannelState::from_code(u).code() as i64 == n),
            FieldKind::HangupCause => text.parse::<u16>().is_ok_and(|u| i64::from(u) == n),
            _ => false,
        },
        Typed::Decimal(f) => kind == FieldKind::Decimal && text.parse::<f64>() == Ok(f),
        Typed::Bool(b) => kind == FieldKind::Bool && parse_bool(Value::new(raw)) == Some(b),
        Typed::Enum(w) => match kind {
            FieldKind::DialStatus => DialStatus::from_wire(raw).as_str() == w,
            FieldKind::DeviceState => DeviceState::from_wire(raw).as_str() == w,
            _ => false,
        },
        Typed::Pair(k, v) => {
            let mut s = k.as_bytes().to_vec();
            s.push(b'=');
            s.extend_from_slice(v.as_bytes());
            kind == FieldKind::Pair && s == raw
        }
        _ => false,
    }
}

proptest! {
    #[test]
    fn every_kind_types_any_value_or_says_it_is_bad(v in value()) {
        for &kind in KINDS {
            let typed = kind.type_value(Value::new(&v));
            prop_assert!(agrees(kind, typed, &v), "{kind:?} {:?} -> {typed:?}", String::from_utf8_lossy(&v));
        }
        let _ = HangupCause::from_value(Value::new(&v)).map(|c| c.meaning());
    }

    #[test]
    fn views_of_every_event_read_any_values(v in value(), pick in any::<prop::sample::Index>()) {
        let events = catalogue::events();
        let info = &events[pick.index(events.len())];
        let mut pairs: Vec<(&[u8], &[u8])> = vec![(b"Event", info.name().as_bytes())];
        for f in info.fields() {
            pairs.push((f.name().as_bytes(), &v));
        }
        let msg = OwnedMessage::from_pairs(&pairs);
        let ev = Event::from_message(msg.view()).unwrap();
        for f in info.fields() {
            if f.name().eq_ignore_ascii_case("Event") {
                // A second `Event:` header (ResourceListDetail's package):
                // lookup by name finds the first; its view reads the second.
                continue;
            }
            let typed = ev.typed(f.name()).expect("present");
            prop_assert!(agrees(f.kind(), typed, &v), "{}.{} -> {typed:?}", info.name(), f.name());
        }
    }
}

#[test]
fn typed_views_survive_bad_values() {
    use asterisk_io::ami::events::{DialEnd, Hangup, QueueMember};
    let msg = OwnedMessage::from_pairs(&[
        ("Event", "QueueMember"),
        ("Paused", "perhaps"),
        ("Penalty", "-1"),
        ("Status", "99"),
    ]);
    let ev = Event::from_message(msg.view()).unwrap();
    let m = ev.parse::<QueueMember>().unwrap();
    assert_eq!(m.paused(), None);
    assert_eq!(m.penalty(), None);
    assert_eq!(m.status(), Some(DeviceState::Other));
    assert!(matches!(ev.typed("Paused"), Some(Typed::Bad(_))));
    let msg = OwnedMessage::from_pairs(&[("Event", "DialEnd"), ("DialStatus", "GONE FISHING")]);
    let ev = Event::from_message(msg.view()).unwrap();
    assert_eq!(
        ev.parse::<DialEnd>().unwrap().dial_status(),
        Some(DialStatus::Other)
    );
    let msg = OwnedMessage::from_pairs(&[("Event", "Hangup"), ("Cause", "99999")]);
    let ev = Event::from_message(msg.view()).unwrap();
    assert_eq!(ev.parse::<Hangup>().unwrap().cause(), None);
}
