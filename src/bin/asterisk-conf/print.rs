//! Reading and printing a `.conf` file for `asterisk-conf` (feature `cli`)
//! and `examples/config_dump.rs`, which includes this file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use asterisk_io::config::{Config, Document, Entry, LoadOptions, Loaded};

/// Reads `file` as a document and loads it leniently (every problem
/// reported, not only the first); `Err` is a message naming the file.
pub fn load(file: &Path, base: Option<PathBuf>) -> Result<(Document, Loaded), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let doc = Document::parse(bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut opts = LoadOptions::new().strict(false);
    if let Some(b) = base {
        opts = opts.base_dir(b);
    }
    let loaded = opts.load_document(file, &doc).map_err(|e| e.to_string())?;
    Ok((doc, loaded))
}

/// The document line by line as written: categories with their options,
/// variables with `=`, `=>` or `+=`, directives.
pub fn print_document(out: &mut impl Write, doc: &Document) -> io::Result<()> {
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

/// The configuration Asterisk would load: includes expanded, templates
/// applied, templates marked `(!)`.
pub fn print_resolved(out: &mut impl Write, cfg: &Config) -> io::Result<()> {
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
