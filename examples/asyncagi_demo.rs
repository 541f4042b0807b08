//! AsyncAGI over the manager connection, against the built-in emulator: no
//! Asterisk needed.
//!
//! ```text
//! cargo run --example asyncagi_demo
//! ```
//!
//! The emulator plays Asterisk: it raises `AsyncAGIStart` for a channel that
//! entered `AGI(agi:async,ivr)`, answers every `Action: AGI` with
//! `Response: Success` ("Added AGI command to queue"), and this program
//! plays the channel's side by emitting an `AsyncAGIExec` with a result for
//! each command. The session itself is an ordinary [`Script`], the same as
//! for FastAGI, served by an [`AsyncAgiServer`] attached to the [`Manager`].
//! Everything runs in one thread, in one loop: a [`Driver`] holds the
//! emulator and the manager, and one `Poll` serves both.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use asterisk_io::agi::commands::{Answer, GetVariable, Hangup, SayNumber, SetVariable, StreamFile};
use asterisk_io::agi::over_ami::AsyncAgiServer;
use asterisk_io::agi::{Env, Script};
use asterisk_io::ami::actions::Login;
use asterisk_io::ami::Manager;
use asterisk_io::driver::Driver;
use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};

const CHANNEL: &str = "PJSIP/100-0000002a";

/// The IVR: one line per command and typed result on stdout.
fn ivr(env: &Env) -> Script<()> {
    println!(
        "session start: channel={} callerid={} args={:?}",
        env.channel().unwrap_or("?"),
        env.caller_id().unwrap_or("?"),
        env.args()
    );
    let mut s = Script::new(());
    s.then(Answer, |_, r| println!("ANSWER -> {r:?}"));
    s.then(GetVariable::new("CALLERID(num)"), |s, r| {
        println!("GET VARIABLE CALLERID(num) -> {r:?}");
        // Branch on the result: queued commands run next.
        if let Ok(Some(num)) = r {
            s.then(
                SetVariable::new("AGI_DEMO", format!("seen {num}")),
                |_, r| println!("SET VARIABLE AGI_DEMO -> {r:?}"),
            );
        }
    });
    s.then(StreamFile::new("beep", ""), |_, r| {
        println!("STREAM FILE beep -> {r:?}")
    });
    s.then(SayNumber::new(42, ""), |_, r| {
        println!("SAY NUMBER 42 -> {r:?}")
    });
    s.then(Hangup::new(), |_, r| println!("HANGUP -> {r:?}"));
    s.on_end(|_, e| println!("session end: {e:?}"));
    s
}

/// What the emulated channel answers to a command line (percent-encoded,
/// as Asterisk puts it in `Result:`).
fn channel_reply(line: &str) -> &'static str {
    if line.starts_with("GET VARIABLE") {
        "200%20result%3D1%20(4105551234)%0A"
    } else if line.starts_with("STREAM FILE") {
        "200%20result%3D0%20endpos%3D8000%0A"
    } else if line.starts_with("HANGUP") {
        "200%20result%3D1%0A"
    } else {
        "200%20result%3D0%0A"
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = EmulatorConfig::default().user("admin", "s3cret").script(
        "AGI",
        ScriptedReply::success(&[("Message", "Added AGI command to queue")]),
    );
    let mut driver = Driver::new()?;
    let emu = driver.add(Emulator::bind("127.0.0.1:0".parse()?, config)?)?;
    let addr = driver.get(emu).local_addr()?;
    println!("emulator listening on {addr}");

    let mgr = driver.add(Manager::connect(addr)?)?;
    driver.login(mgr, &Login::new("admin", "s3cret"), Duration::from_secs(5))?;
    println!("logged in");

    // The AsyncAGI server: sessions for `AGI(agi:async,ivr)` run `ivr`.
    let agi = AsyncAgiServer::new();
    agi.route("ivr", ivr);
    agi.attach(driver.get_mut(mgr));

    // Show what goes over the manager connection.
    let ended = Rc::new(RefCell::new(false));
    let flag = ended.clone();
    driver.get_mut(mgr).on_any_event(move |ev, _| {
        let name = ev.name();
        if name.to_str_lossy().starts_with("AsyncAGI") {
            println!(
                "  event {name} {}",
                ev.get_str("CommandId").unwrap_or_default()
            );
        }
        if name.eq_ignore_case("AsyncAGIEnd") {
            *flag.borrow_mut() = true;
        }
    });

    // A call enters AGI(agi:async,ivr).
    let env = "agi_request: async\nagi_channel: PJSIP/100-0000002a\nagi_language: en\n\
               agi_callerid: 4105551234\nagi_calleridname: Alice\nagi_context: default\n\
               agi_extension: 500\nagi_priority: 2\nagi_arg_1: ivr\n\n";
    let encoded: String = env
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    driver
        .get_mut(emu)
        .emit_event("AsyncAGIStart", &[("Channel", CHANNEL), ("Env", &encoded)]);

    // One loop drives everything: the emulator, the manager and the server.
    let mut answered = String::new();
    let mut end_sent = false;
    let finished = driver.run_until(Duration::from_secs(5), |driver| {
        // Play the channel: answer the command in flight, once.
        if let Some(cmd) = agi.in_flight(CHANNEL) {
            if cmd.command_id != answered {
                println!(
                    "  Action: AGI {:?} (CommandID {})",
                    cmd.line, cmd.command_id
                );
                driver.get_mut(emu).emit_event(
                    "AsyncAGIExec",
                    &[
                        ("Channel", CHANNEL),
                        ("CommandId", &cmd.command_id),
                        ("Result", channel_reply(&cmd.line)),
                    ],
                );
                answered = cmd.command_id;
            }
        } else if agi.stats().started > 0 && !agi.is_active(CHANNEL) && !end_sent {
            // The script is done (it hung up); the channel leaves AsyncAGI.
            driver
                .get_mut(emu)
                .emit_event("AsyncAGIEnd", &[("Channel", CHANNEL)]);
            end_sent = true;
        }
        *ended.borrow()
    })?;
    if !finished {
        return Err("the session did not finish".into());
    }
    let stats = agi.stats();
    println!(
        "sessions started={} ended={} commands sent={} rejected={}",
        stats.started, stats.ended, stats.commands, stats.rejected
    );
    driver.get_mut(mgr).close();
    Ok(())
}
