//! Parse an Asterisk `.conf` file and write it back to stdout unchanged.
//!
//! ```text
//! cargo run --example config_roundtrip -- FILE > copy && cmp FILE copy
//! ```
//!
//! Exit status: 0 on success, 2 for bad usage or an unreadable file.

use std::io::Write;
use std::process::ExitCode;

use asterisk_io::config::Document;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(file), None) = (args.next(), args.next()) else {
        eprintln!("usage: config_roundtrip FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", file.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let doc = match Document::parse(bytes) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{}: {e}", file.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Err(e) = doc.write_to(&mut out).and_then(|_| out.flush()) {
        eprintln!("write error: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
