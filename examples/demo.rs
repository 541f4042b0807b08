//! A full manager session against the built-in emulator, in one thread:
//! login, an action, a CLI command, an event list, a few events, logoff.
//!
//! Run it with `cargo run --example demo`; no Asterisk is needed.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Command, CoreShowChannels, Getvar, Login, Logoff, Ping, Setvar};
use asterisk_io::ami::{events, Action, ActionId, Error, FromResult, Manager};
use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};

/// Drives the emulator and the client in the same loop until `id` completes.
fn finish<A: Action>(
    mgr: &mut Manager,
    emu: &mut Emulator,
    id: ActionId,
) -> Result<A::Output, Error> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        emu.poll(Some(Duration::from_millis(1)))?;
        mgr.poll_events(Some(Duration::from_millis(1)))?;
        if let Some(r) = mgr.take_result(id).ready() {
            return r.and_then(A::Output::from_result);
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout(Duration::from_secs(5)));
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // An emulated Asterisk with one user, one CLI command and a channel list.
    let config = EmulatorConfig::default()
        .user("admin", "s3cret")
        .command(
            "core show channels count",
            &["1 active channel", "1 active call", "42 calls processed"],
        )
        .script(
            "CoreShowChannels",
            ScriptedReply::success(&[("Message", "Channels will follow")]).list(
                "CoreShowChannelsComplete",
                "CoreShowChannel",
                &[&[
                    ("Channel", "PJSIP/100-00000001"),
                    ("ChannelStateDesc", "Up"),
                    ("Application", "Dial"),
                ]],
            ),
        );
    let mut emu = Emulator::bind("127.0.0.1:0".parse()?, config)?;
    let addr = emu.local_addr()?;
    println!("emulator listening on {addr}");

    let mut mgr = Manager::connect(addr)?;
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    // A typed handler: the Hangup view has an accessor per documented header.
    mgr.on(events::Hangup, |h, _ctx| {
        println!(
            "typed handler: {} hung up, cause {:?}",
            h.channel().map(|c| c.to_string()).unwrap_or_default(),
            h.cause()
        );
    });
    mgr.on_any_event(move |ev, _ctx| {
        let line = format!(
            "event {} {}",
            ev.name(),
            ev.message()
                .iter()
                .skip(1)
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!("{line}");
        log.borrow_mut().push(line);
    });

    // 1. Login with the MD5 challenge: the secret never crosses the wire.
    let id = mgr.start_login(&Login::new("admin", "s3cret").md5())?;
    finish::<Login>(&mut mgr, &mut emu, id)?;
    println!(
        "logged in (greeting: {:?})",
        mgr.greeting().map(|g| g.version.clone())
    );

    // 2. An action: Ping.
    let id = mgr.send(&Ping)?;
    let pong = finish::<Ping>(&mut mgr, &mut emu, id)?;
    println!("ping -> Ping: {}", pong.get_str("Ping").unwrap_or("?"));

    // 3. Variables.
    let set = Setvar {
        channel: None,
        variable: "DEMO".into(),
        value: "hello".into(),
    };
    let id = mgr.send(&set)?;
    finish::<Setvar>(&mut mgr, &mut emu, id)?;
    let id = mgr.send(&Getvar {
        channel: None,
        variable: "DEMO".into(),
    })?;
    let got = finish::<Getvar>(&mut mgr, &mut emu, id)?;
    println!("getvar DEMO -> {}", got.get_str("Value").unwrap_or(""));

    // 4. A CLI command's output.
    let id = mgr.send(&Command::new("core show channels count"))?;
    let out = finish::<Command>(&mut mgr, &mut emu, id)?;
    for line in &out.lines {
        println!("cli | {line}");
    }

    // 5. An event list.
    let id = mgr.send(&CoreShowChannels)?;
    let list = finish::<CoreShowChannels>(&mut mgr, &mut emu, id)?;
    for item in &list.items {
        println!(
            "channel {} state={} app={}",
            item.get_str("Channel").unwrap_or("?"),
            item.get_str("ChannelStateDesc").unwrap_or("?"),
            item.get_str("Application").unwrap_or("?")
        );
    }

    // 6. A few events pushed by the "PBX".
    emu.emit_event(
        "Newchannel",
        &[
            ("Channel", "PJSIP/200-00000002"),
            ("ChannelStateDesc", "Ring"),
        ],
    );
    emu.emit_event(
        "Hangup",
        &[("Channel", "PJSIP/200-00000002"), ("Cause", "16")],
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while seen.borrow().len() < 3 && Instant::now() < deadline {
        emu.poll(Some(Duration::from_millis(1)))?;
        mgr.poll_events(Some(Duration::from_millis(1)))?;
    }

    // 7. Logoff: wait for Goodbye, then close.
    let id = mgr.send(&Logoff)?;
    let bye = finish::<Logoff>(&mut mgr, &mut emu, id)?;
    println!("logoff -> {}", bye.message().unwrap_or(""));
    mgr.close();
    println!("done: {} events seen", seen.borrow().len());
    Ok(())
}
