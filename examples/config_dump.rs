//! Print an Asterisk `.conf` file as categories and variables.
//!
//! ```text
//! cargo run --example config_dump -- FILE [--resolved] [--base DIR]
//! ```
//!
//! Without `--resolved` the document is printed line by line as written
//! (categories with their options, variables with `=`, `=>` or `+=`,
//! directives). With `--resolved` the configuration Asterisk would load is
//! printed: includes expanded, templates applied, templates marked `(!)`.
//! Errors and warnings go to stderr with file, line and column. The exit
//! status is 1 when Asterisk would refuse the file, 0 otherwise (2 for bad
//! usage or an unreadable file).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

// Shared with the `asterisk-conf` binary (feature `cli`).
#[path = "../src/bin/asterisk-conf/print.rs"]
mod print;

fn main() -> ExitCode {
    let mut file: Option<PathBuf> = None;
    let mut resolved = false;
    let mut base: Option<PathBuf> = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("--resolved") => resolved = true,
            Some("--base") => match args.next() {
                Some(d) => base = Some(PathBuf::from(d)),
                None => return usage(),
            },
            Some(s) if s.starts_with("--") => return usage(),
            _ if file.is_none() => file = Some(PathBuf::from(a)),
            _ => return usage(),
        }
    }
    let Some(file) = file else { return usage() };

    let (doc, loaded) = match print::load(&file, base) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };

    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if resolved {
        print::print_resolved(&mut out, &loaded.config)
    } else {
        print::print_document(&mut out, &doc)
    };
    if let Err(e) = written.and_then(|_| out.flush()) {
        eprintln!("write error: {e}");
        return ExitCode::from(2);
    }
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    if loaded.refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: config_dump FILE [--resolved] [--base DIR]");
    ExitCode::from(2)
}
