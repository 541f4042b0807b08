//! `asterisk-conf`: check, print, read and edit Asterisk `.conf` files the
//! way Asterisk reads them (`cargo install asterisk-io --features cli`).

mod print;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use asterisk_io::config::{Document, Loaded};
use clap::{Args, CommandFactory, Parser, Subcommand};

/// Exit status: success.
const OK: u8 = 0;
/// Exit status: Asterisk would refuse the file, or what was asked for is not there.
const REFUSED: u8 = 1;
/// Exit status: bad usage, or a file that cannot be read or written.
const FAILURE: u8 = 2;

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 Asterisk would refuse the file (an error; with
check --deny-warnings also a warning), or get/set found no such section or
key; 2 bad usage, or a file that cannot be read or written.";

/// Check, print, read and edit Asterisk .conf files the way Asterisk reads them.
#[derive(Parser, Debug)]
#[command(name = "asterisk-conf", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

/// The file to read, and where relative names are resolved.
#[derive(Args, Debug)]
struct Input {
    /// The file (its includes are read too).
    file: PathBuf,
    /// Resolve includes (and FILE) against DIR, as Asterisk does against its
    /// config directory (default: FILE's folder).
    #[arg(long, value_name = "DIR")]
    base: Option<PathBuf>,
}

impl Input {
    /// Loads the file and hands it to `then`; a file that cannot be read is 2.
    fn load(self, then: impl FnOnce(Document, Loaded) -> u8) -> u8 {
        match print::load(&self.file, self.base) {
            Ok((doc, loaded)) => then(doc, loaded),
            Err(e) => fail(e),
        }
    }
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// Report every error and warning as FILE:LINE:COLUMN: SEVERITY: MESSAGE.
    ///
    /// Exits 1 when Asterisk would refuse the file, so a CI can run it as a linter.
    Check {
        #[command(flatten)]
        input: Input,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Print the file's categories and variables, or with --resolved the configuration
    /// Asterisk would load (includes expanded, templates applied).
    Dump {
        #[command(flatten)]
        input: Input,
        /// Print what Asterisk loads, not the lines as written.
        #[arg(long)]
        resolved: bool,
    },
    /// Print the value of KEY in SECTION, as Asterisk loads it (templates and includes applied).
    Get {
        #[command(flatten)]
        input: Input,
        /// The category (the name in square brackets).
        section: String,
        /// The variable.
        key: String,
        /// Every value of a repeated key, one per line, instead of the last.
        #[arg(long)]
        all: bool,
    },
    /// Set KEY in SECTION to VALUE in place: only that line changes (a new line
    /// after the section's last variable when there is none); comments stay.
    Set {
        /// The file (includes are not followed: the key is set in this file).
        file: PathBuf,
        /// The category (the name in square brackets); its first occurrence is edited.
        section: String,
        /// The variable; its last line in the section is edited.
        key: String,
        /// The new value (no line breaks).
        value: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn fail(msg: impl std::fmt::Display) -> u8 {
    eprintln!("asterisk-conf: {msg}");
    FAILURE
}

fn refused_if(refused: bool) -> u8 {
    if refused {
        REFUSED
    } else {
        OK
    }
}

fn run(cli: Cli) -> u8 {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let code = match cli.command {
        Sub::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "asterisk-conf", &mut out);
            OK
        }
        Sub::Check {
            input,
            deny_warnings,
        } => input.load(|_, loaded| {
            for d in &loaded.diagnostics {
                let _ = writeln!(out, "{d}");
            }
            let warned = deny_warnings && !loaded.diagnostics.is_empty();
            refused_if(loaded.refused || warned)
        }),
        Sub::Dump { input, resolved } => input.load(|doc, loaded| {
            let written = if resolved {
                print::print_resolved(&mut out, &loaded.config)
            } else {
                print::print_document(&mut out, &doc)
            };
            if let Err(e) = written.and_then(|_| out.flush()) {
                return fail(format!("write error: {e}"));
            }
            for d in &loaded.diagnostics {
                eprintln!("{d}");
            }
            refused_if(loaded.refused)
        }),
        Sub::Get {
            input,
            section,
            key,
            all,
        } => input.load(|_, loaded| {
            for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
                eprintln!("{d}");
            }
            let values = loaded.config.get_all(&section, &key);
            let chosen = if all {
                &values[..]
            } else {
                &values[values.len().saturating_sub(1)..]
            };
            for v in chosen {
                let _ = out.write_all(v).and_then(|_| out.write_all(b"\n"));
            }
            if chosen.is_empty() {
                eprintln!("asterisk-conf: no {key} in [{section}]");
            }
            refused_if(chosen.is_empty())
        }),
        Sub::Set {
            file,
            section,
            key,
            value,
        } => set(&file, &section, &key, &value),
    };
    if out.flush().is_err() {
        return FAILURE;
    }
    code
}

/// `set`: edits the document and replaces the file through a temporary
/// file beside it, so a crash never leaves half a file.
fn set(file: &Path, section: &str, key: &str, value: &str) -> u8 {
    // A symbolic link stays one: the file it points to is replaced.
    let real = std::fs::canonicalize(file);
    let file = real.as_deref().unwrap_or(file);
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let mut doc = match Document::parse(bytes) {
        Ok(d) => d,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    match doc.set_variable(section, key, value.as_bytes()) {
        Ok(()) => {}
        Err(asterisk_io::config::EditError::NoSuchCategory) => {
            eprintln!("asterisk-conf: {}: no section [{section}]", file.display());
            return REFUSED;
        }
        Err(e) => return fail(format!("{}: {key}: {e}", file.display())),
    }
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let tmp = file.with_file_name(format!(".{name}.asterisk-conf.tmp"));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        if let Ok(meta) = std::fs::metadata(file) {
            f.set_permissions(meta.permissions())?;
        }
        doc.write_to(&mut f)?;
        f.sync_all()
    });
    match written.and_then(|_| std::fs::rename(&tmp, file)) {
        Ok(()) => OK,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            fail(format!("{}: {e}", file.display()))
        }
    }
}

fn main() -> ExitCode {
    ExitCode::from(run(Cli::parse()))
}
