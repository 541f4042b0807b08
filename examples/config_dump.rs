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

use asterisk_io::config::{Document, Entry, LoadOptions};

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

    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let doc = match Document::parse(bytes) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    // Lenient: report every problem, not only the first.
    let mut opts = LoadOptions::new().strict(false);
    if let Some(b) = base {
        opts = opts.base_dir(b);
    }
    let loaded = match opts.load_document(&file, &doc) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };

    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = if resolved {
        print_resolved(&mut out, &loaded.config)
    } else {
        print_document(&mut out, &doc)
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

fn print_document(out: &mut impl Write, doc: &Document) -> io::Result<()> {
    for line in doc.lines() {
        match line.entry() {
            Entry::Category { name, options } => {
                out.write_all(b"[")?;
                out.write_all(name)?;
                out.write_all(b"]")?;
                if let Some(o) = options {
                    out.write_all(b"(")?;
                    out.write_all(o)?;
                    out.write_all(b")")?;
                }
                out.write_all(b"\n")?;
            }
            Entry::Variable { name, op, value } => {
                out.write_all(name)?;
                write!(out, " {} ", op.as_str())?;
                out.write_all(value)?;
                out.write_all(b"\n")?;
            }
            Entry::Directive { name, argument } => {
                out.write_all(b"#")?;
                out.write_all(name)?;
                if let Some(a) = argument {
                    out.write_all(b" \"")?;
                    out.write_all(a)?;
                    out.write_all(b"\"")?;
                }
                out.write_all(b"\n")?;
            }
            Entry::Blank | Entry::Invalid(_) | Entry::TooLong => {}
        }
    }
    Ok(())
}

fn print_resolved(out: &mut impl Write, cfg: &asterisk_io::config::Config) -> io::Result<()> {
    for cat in cfg.all_categories() {
        out.write_all(b"[")?;
        out.write_all(cat.name_bytes())?;
        out.write_all(if cat.is_template() { b"](!)\n" } else { b"]\n" })?;
        for v in cat.variables() {
            out.write_all(v.name_bytes())?;
            out.write_all(if v.is_object() { b" => " } else { b" = " })?;
            out.write_all(v.value_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn usage() -> ExitCode {
    eprintln!("usage: config_dump FILE [--resolved] [--base DIR]");
    ExitCode::from(2)
}
