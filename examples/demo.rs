//! A full manager session against the built-in emulator, in one thread:
//! login, an action, a CLI command, an event list, a few events, logoff.
//!
//! Run it with `cargo run --example demo`; no Asterisk is needed.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use asterisk_io::ami::actions::{Command, CoreShowChannels, Getvar, Login, Ping, Setvar};
use asterisk_io::ami::{events, Manager};
use asterisk_io::driver::Driver;
use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};

const T: Duration = Duration::from_secs(5);

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
    // One driver, one poll: the emulated PBX and the client run in this
    // thread's loop, and the driver's blocking helpers turn it for both.
    let mut driver = Driver::new()?;
    let emu = driver.add(Emulator::bind("127.0.0.1:0".parse()?, config)?)?;
    let addr = driver.get(emu).local_addr()?;
    println!("emulator listening on {addr}");

    let mgr = driver.add(Manager::connect(addr)?)?;
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    // A typed handler: the Hangup view has an accessor per documented header.
    driver.get_mut(mgr).on(events::Hangup, |h, _ctx| {
        println!(
            "typed handler: {} hung up, cause {:?}",
            h.channel().map(|c| c.to_string()).unwrap_or_default(),
            h.cause()
        );
    });
    driver.get_mut(mgr).on_any_event(move |ev, _ctx| {
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
    driver.login(mgr, &Login::new("admin", "s3cret").md5(), T)?;
    println!(
        "logged in (greeting: {:?})",
        driver.get(mgr).greeting().map(|g| g.version.clone())
    );

    // 2. An action: Ping.
    let pong = driver.call(mgr, &Ping, T)?;
    println!("ping -> Ping: {}", pong.get_str("Ping").unwrap_or("?"));

    // 3. Variables.
    let set = Setvar {
        channel: None,
        variable: "DEMO".into(),
        value: "hello".into(),
    };
    driver.call(mgr, &set, T)?;
    let get = Getvar {
        channel: None,
        variable: "DEMO".into(),
    };
    let got = driver.call(mgr, &get, T)?;
    println!("getvar DEMO -> {}", got.get_str("Value").unwrap_or(""));

    // 4. A CLI command's output.
    let out = driver.call(mgr, &Command::new("core show channels count"), T)?;
    for line in &out.lines {
        println!("cli | {line}");
    }

    // 5. An event list.
    let list = driver.call(mgr, &CoreShowChannels, T)?;
    for item in &list.items {
        println!(
            "channel {} state={} app={}",
            item.get_str("Channel").unwrap_or("?"),
            item.get_str("ChannelStateDesc").unwrap_or("?"),
            item.get_str("Application").unwrap_or("?")
        );
    }

    // 6. A few events pushed by the "PBX".
    let pbx = driver.get_mut(emu);
    pbx.emit_event(
        "Newchannel",
        &[
            ("Channel", "PJSIP/200-00000002"),
            ("ChannelStateDesc", "Ring"),
        ],
    );
    pbx.emit_event(
        "Hangup",
        &[("Channel", "PJSIP/200-00000002"), ("Cause", "16")],
    );
    driver.run_until(Duration::from_secs(2), |_| seen.borrow().len() >= 3)?;

    // 7. Logoff: wait for Goodbye and the server's close, then close.
    driver.logoff(mgr, T)?;
    println!("logged off; done: {} events seen", seen.borrow().len());
    Ok(())
}
