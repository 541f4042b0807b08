//! A classic (stdio) AGI script: install the binary in `agi-bin`.
//!
//! ```text
//! cargo build --example agi_script
//! cp target/debug/examples/agi_script /var/lib/asterisk/agi-bin/
//! ; extensions.conf
//! same => n,Set(AGISIGHUP=no)      ; send "HANGUP" instead of SIGHUP
//! same => n,AGI(agi_script)
//! ```
//!
//! Runs ANSWER, GET VARIABLE CALLERID(num), SET VARIABLE AGI_DEMO "ok",
//! STREAM FILE beep "", SAY NUMBER 42 "", HANGUP, logging each command and
//! its typed result to stderr (stdout is the AGI channel). Set
//! `AGI_DEBUG_TRACE=1` in the environment to also trace the wire to stderr.
//! Errors and panics are reported on the Asterisk console via VERBOSE.
use asterisk_io::agi::commands::{Answer, GetVariable, Hangup, SayNumber, SetVariable, StreamFile};
use asterisk_io::agi::debug::Reporter;
use asterisk_io::agi::{AgiError, Command, StdioAgi, WireTrace};
use std::fmt::Debug;
use std::io::{BufRead, Write};

fn step<R: BufRead, W: Write, C>(agi: &mut StdioAgi<R, W>, cmd: C) -> Result<C::Output, AgiError>
where
    C: Command,
    C::Output: Debug,
{
    let line = cmd.to_line()?;
    let r = agi.run(cmd);
    eprintln!("agi_script: {line} -> {r:?}");
    r
}

fn main() {
    Reporter::new().verbose_level(1).install_panic_hook();
    let mut agi = match StdioAgi::from_stdio() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("agi_script: {e}");
            std::process::exit(1);
        }
    };
    if std::env::var_os("AGI_DEBUG_TRACE").is_some() {
        agi.set_trace(Some(WireTrace::stderr()));
    }
    eprintln!(
        "agi_script: channel={:?} callerid={:?}",
        agi.env().channel(),
        agi.env().caller_id()
    );
    let result = (|| -> Result<(), AgiError> {
        step(&mut agi, Answer)?;
        step(&mut agi, GetVariable::new("CALLERID(num)"))?;
        step(&mut agi, SetVariable::new("AGI_DEMO", "ok"))?;
        step(&mut agi, StreamFile::new("beep", ""))?;
        step(&mut agi, SayNumber::new(42, ""))?;
        step(&mut agi, Hangup::new())?;
        Ok(())
    })();
    if let Err(e) = result {
        if !e.is_hangup() {
            Reporter::new().verbose_level(1).report_to(&mut agi, &e);
        }
        std::process::exit(1);
    }
}
