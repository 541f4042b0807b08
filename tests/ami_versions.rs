//! What older Asterisk versions (and odd modules) send that Asterisk 22's
//! recordings do not show. Each case names the version and the source it
//! comes from; the bytes are written here after the shape those sources
//! produce.

mod ami_support;
use ami_support::last_action_id;

use asterisk_io::ami::actions::{Queues, Status};
use asterisk_io::ami::{
    Action, ActionId, ActionResult, CommandOutput, Connection, Error, FromResult, Input, RawAction,
};

/// Opens a connection with `greeting`, sends `action`, and feeds `reply`
/// (with `@ID` standing for the action's ActionID); returns the action's
/// result and the names of the events that reached handlers.
fn exchange<A: Action>(
    greeting: &str,
    action: &A,
    reply: &str,
) -> (Option<Result<ActionResult, Error>>, Vec<String>) {
    let mut c = Connection::default();
    c.feed(greeting.as_bytes());
    let id = c.send(action).unwrap();
    let aid = last_action_id(&c);
    c.feed(reply.replace("@ID", &aid).as_bytes());
    drain(&mut c, id)
}

fn drain(c: &mut Connection, id: ActionId) -> (Option<Result<ActionResult, Error>>, Vec<String>) {
    let mut result = None;
    let mut events = Vec::new();
    while let Some(input) = c.next_input() {
        match input {
            Input::Done(done, r) if done == id => result = Some(r.map(|b| *b)),
            Input::Event(e) => events.push(e.name().to_string()),
            other => panic!("unexpected {other:?}"),
        }
    }
    (result, events)
}

const AST11: &str = "Asterisk Call Manager/1.3\r\n";
const AST13: &str = "Asterisk Call Manager/2.10.6\r\n";
const AST22: &str = "Asterisk Call Manager/11.0.0\r\n";

/// Asterisk 11 `app_queue.c` `manager_queues_status`: `astman_send_ack`
/// ("Queue status will follow"), the items, then `QueueStatusComplete`,
/// with no `EventList` header anywhere. The items and the terminator used
/// to leak to handlers and the action completed with no items.
#[test]
fn a_list_without_eventlist_headers_collects_its_items() {
    let reply = "Response: Success\r\nActionID: @ID\r\nMessage: Queue status will follow\r\n\r\n\
                 Event: QueueParams\r\nQueue: support\r\nMax: 0\r\nActionID: @ID\r\n\r\n\
                 Event: QueueMember\r\nQueue: support\r\nName: PJSIP/100\r\nActionID: @ID\r\n\r\n\
                 Event: Newchannel\r\nChannel: PJSIP/200-1\r\n\r\n\
                 Event: QueueStatusComplete\r\nActionID: @ID\r\n\r\n";
    let action = RawAction::new("QueueStatus").list_until("QueueStatusComplete");
    let (result, events) = exchange(AST11, &action, reply);
    let r = result.expect("completed").unwrap();
    let items: Vec<_> = r
        .events
        .iter()
        .map(|e| e.get_str("Event").unwrap())
        .collect();
    assert_eq!(items, ["QueueParams", "QueueMember"]);
    assert_eq!(
        r.completion.unwrap().get_str("Event"),
        Some("QueueStatusComplete")
    );
    assert_eq!(
        events,
        ["Newchannel"],
        "only the foreign event reaches handlers"
    );
}

/// Asterisk 11 `manager.c` `action_status`: `Channel status will follow`,
/// one `Status` per channel, then `StatusComplete` with `Items: N` and no
/// `EventList`. The typed `Status` action declares its terminal event.
#[test]
fn status_on_asterisk_11_ends_at_status_complete() {
    let reply = "Response: Success\r\nActionID: @ID\r\nMessage: Channel status will follow\r\n\r\n\
                 Event: Status\r\nChannel: SIP/100-00000001\r\nActionID: @ID\r\n\r\n\
                 Event: StatusComplete\r\nActionID: @ID\r\nItems: 1\r\n\r\n";
    let (result, events) = exchange(AST11, &Status::default(), reply);
    let r = result.expect("completed").unwrap();
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.completion.unwrap().get_str("Items"), Some("1"));
    assert!(events.is_empty());
}

/// `chan_sip.c` (Asterisk 1.8 – 11) `_sip_show_peer` in manager mode wrote
/// `ChanVariable:` and then each variable on a line of its own, without a
/// key: a line with no colon inside the response. The action used to stay
/// pending forever; it now completes with every line that parses, and the
/// offsets of those that do not.
#[test]
fn a_response_with_a_line_without_colon_completes_with_what_parses() {
    let reply = "Response: Success\r\nActionID: @ID\r\nChanneltype: SIP\r\nObjectName: 100\r\n\
                 ChanVariable:\r\n PHBX_ID,191\r\nStatus: OK (5 ms)\r\n\r\n\
                 Event: After\r\n\r\n";
    let mut c = Connection::default();
    c.feed(AST11.as_bytes());
    let id = c
        .send(&RawAction::new("SIPshowpeer").field("Peer", "100"))
        .unwrap();
    let reply = reply.replace("@ID", &last_action_id(&c));
    c.feed(reply.as_bytes());
    let (result, events) = drain(&mut c, id);
    let r = result.expect("completed, not pending").unwrap();
    assert_eq!(r.response.get_str("ObjectName"), Some("100"));
    assert_eq!(r.response.get_str("Status"), Some("OK (5 ms)"));
    assert_eq!(r.response.get_str("ChanVariable"), Some(""));
    // Where the left-out line starts in the connection's input.
    let line = AST11.len() + reply.find(" PHBX_ID").unwrap();
    assert_eq!(r.malformed_lines, [line as u64]);
    assert_eq!(events, ["After"], "the stream goes on");
}

/// Asterisk 13/14 `app_queue.c` `manager_queues_show`: `queue show` text,
/// one block per queue ended by a blank line (`do_print(s, fd, "")`), then
/// `\r\n\r\n`: no `Response:`, no `ActionID:`.
#[test]
fn queues_on_asterisk_13_is_its_text() {
    let reply = "support has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0, SL:0.0% within 0s\r\n\
                 \x20  Members: \r\n\
                 \x20     PJSIP/100 (ringinuse disabled) (Not in use) has taken no calls yet\r\n\
                 \x20  No Callers\r\n\
                 \r\n\
                 sales has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime), W:0, C:0, A:0, SL:0.0% within 0s\r\n\
                 \x20  No Members\r\n\
                 \x20  No Callers\r\n\
                 \r\n\
                 \r\n\r\n\
                 Event: After\r\n\r\n";
    let (result, events) = exchange(AST13, &Queues, reply);
    let out = CommandOutput::from_result(result.expect("completed").unwrap()).unwrap();
    assert_eq!(out.lines.len(), 8, "{:?}", out.lines);
    assert!(out.lines[0].starts_with("support has 0 calls"));
    assert_eq!(
        out.lines[2].trim(),
        "PJSIP/100 (ringinuse disabled) (Not in use) has taken no calls yet"
    );
    assert_eq!(out.lines[4], "", "the blank line between queues");
    assert!(out.lines[5].starts_with("sales has 0 calls"));
    assert_eq!(events, ["After"]);

    let (result, _) = exchange(AST13, &Queues, "No queues.\r\n\r\n\r\n");
    let out = CommandOutput::from_result(result.expect("completed").unwrap()).unwrap();
    assert_eq!(out.lines, ["No queues."]);
}

/// Asterisk 15 removed `Queues` (commit "manager: Remove AMI "Queues"
/// action."); 22 answers with an ordinary error.
#[test]
fn queues_on_asterisk_22_is_the_server_error() {
    let reply = "Response: Error\r\nActionID: @ID\r\nMessage: Invalid/unknown command: Queues. Use Action: ListCommands to show available commands.\r\n\r\n";
    let (result, _) = exchange(AST22, &Queues, reply);
    match CommandOutput::from_result(result.expect("completed").unwrap()) {
        Err(Error::Server { message, .. }) => {
            assert!(message.starts_with("Invalid/unknown command"))
        }
        other => panic!("{other:?}"),
    }
}

/// Any `<product>/<version>` manager greeting: Asterisk 1.4's `1.0`, 1.8's
/// `1.1`, 11's `1.3`, 13's `2.x`, 22's `11.0.0`, and astmanproxy's.
#[test]
fn greetings_of_every_generation_and_of_astmanproxy() {
    for (line, product, version) in [
        ("Asterisk Call Manager/1.0", "Asterisk Call Manager", "1.0"),
        ("Asterisk Call Manager/1.1", "Asterisk Call Manager", "1.1"),
        ("Asterisk Call Manager/1.3", "Asterisk Call Manager", "1.3"),
        (
            "Asterisk Call Manager/2.10.6",
            "Asterisk Call Manager",
            "2.10.6",
        ),
        (
            "Asterisk Call Manager/11.0.0",
            "Asterisk Call Manager",
            "11.0.0",
        ),
        (
            "Asterisk Manager Proxy/1.0",
            "Asterisk Manager Proxy",
            "1.0",
        ),
    ] {
        let mut c = Connection::default();
        c.feed(format!("{line}\r\n").as_bytes());
        assert!(c.next_input().is_none());
        let g = c
            .greeting()
            .unwrap_or_else(|| panic!("{line}: {:?}", c.fatal_error()));
        assert_eq!((g.product.as_str(), g.version.as_str()), (product, version));
    }
}

/// Asterisk 1.4 – 11 event names (`app_dial.c` `Dial` with `SubEvent`,
/// `main/channel.c` `Bridge` and `Masquerade`, `app_queue.c` `Join` and
/// `Leave`, `res_agi.c` `AGIExec`, 1.4's `Link`/`Unlink`) are known kinds
/// with typed views, matched the way Asterisk spells them.
#[test]
fn event_names_of_asterisk_11_and_older_are_known() {
    use asterisk_io::ami::events::Dial;
    use asterisk_io::ami::{Event, EventKind, OwnedMessage};
    for name in [
        "Dial",
        "Bridge",
        "Masquerade",
        "Join",
        "Leave",
        "AGIExec",
        "Link",
        "Unlink",
    ] {
        assert_ne!(
            EventKind::from_name(name.as_bytes()),
            EventKind::Other,
            "{name}"
        );
    }
    let msg = OwnedMessage::from_pairs(&[
        ("Event", "Dial"),
        ("SubEvent", "End"),
        ("Channel", "SIP/100-00000001"),
        ("UniqueID", "1353.1"),
        ("DialStatus", "ANSWER"),
    ]);
    let ev = Event::from_message(msg.view()).unwrap();
    let dial = ev.parse::<Dial>().expect("a typed Dial");
    assert_eq!(dial.sub_event().unwrap(), "End");
}

/// Asterisk 11's `Newexten` (`pbx.c`) says `Extension:` where 12 and later
/// say `Exten:`; `Uniqueid` was spelled `UniqueID` in places. The typed
/// views read both (lookup ignores case; the snapshot's `exten` falls back).
#[test]
fn headers_renamed_in_12_are_read_under_both_names() {
    use asterisk_io::ami::events::Newexten;
    use asterisk_io::ami::{Event, OwnedMessage};
    let old = OwnedMessage::from_pairs(&[
        ("Event", "Newexten"),
        ("Channel", "SIP/100-00000001"),
        ("Context", "default"),
        ("Extension", "500"),
        ("Priority", "1"),
        ("Application", "Playback"),
        ("UniqueID", "1353.1"),
    ]);
    let ev = Event::from_message(old.view()).unwrap();
    let view = ev.parse::<Newexten>().unwrap();
    assert_eq!(view.exten().unwrap(), "500");
    assert_eq!(view.uniqueid().unwrap(), "1353.1");
    let new = OwnedMessage::from_pairs(&[("Event", "Newexten"), ("Exten", "600")]);
    let ev = Event::from_message(new.view()).unwrap();
    assert_eq!(ev.parse::<Newexten>().unwrap().exten().unwrap(), "600");
}
