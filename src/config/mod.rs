//! Asterisk `.conf` files: a faithful parser, a byte-exact document view and
//! the resolved view Asterisk would load.
//!
//! ```text
//!   bytes ──► Document ─────────────────────────► write_to()  (byte for byte)
//!             (one buffer + a compact record per line; edits touch only their lines)
//!                │
//!                └─► LoadOptions::load_document() ─► Loaded { config, diagnostics, refused }
//!                    (includes, templates, (+), #exec if enabled)
//! ```
//!
//! * [`Document`] keeps every line as written: comments, blank lines,
//!   spacing, `=` versus `=>`, directive lines, CRLF or LF, a missing final
//!   newline, non-UTF-8 bytes. It offers edit operations
//!   ([`Document::set_variable`], [`Document::add_category`], ...) and
//!   writes an unedited document back exactly.
//! * [`LoadOptions`] resolves a document the way Asterisk's `main/config.c`
//!   does: `#include`/`#tryinclude` (with globs) are expanded, templates
//!   applied in order, `(+)` merged. The result is a [`Config`] with typed
//!   getters.
//! * Every problem becomes a [`Diagnostic`] with file, line, column and a
//!   short reason. Its [`Severity`] follows Asterisk: an **error** is what
//!   makes Asterisk refuse the file, a **warning** is what it only logs.
//!   Strict mode (the default) stops at the first error like Asterisk and
//!   fails with [`ConfigError::Refused`]; lenient mode keeps going and
//!   returns everything.
//!
//! # Example
//!
//! ```
//! use asterisk_io::config::{Document, LoadOptions};
//!
//! let text = b"[base](!)        ; a template\r\n\
//!              type = endpoint\r\n\
//!              allow = ulaw\r\n\
//!              [alice](base)\r\n\
//!              allow = opus\r\n\
//!              note = semi\\;colon\r\n";
//!
//! // Document view: lossless.
//! let mut doc = Document::from_slice(text)?;
//! assert_eq!(doc.to_bytes(), text);
//!
//! // Resolved view: templates hidden, inherited values first.
//! let loaded = LoadOptions::new().load_document("pjsip.conf", &doc)?;
//! let cfg = &loaded.config;
//! assert_eq!(cfg.categories().count(), 1);
//! assert_eq!(cfg.get("alice", "type"), Some("endpoint"));
//! assert_eq!(cfg.get("alice", "allow"), Some("opus"));
//! assert_eq!(cfg.get_all("alice", "allow").len(), 2);
//! assert_eq!(cfg.get("alice", "note"), Some("semi;colon"));
//! assert!(loaded.diagnostics.is_empty());
//!
//! // Edits rewrite only the lines they touch.
//! doc.set_variable("alice", "allow", b"g722")?;
//! let out = doc.to_bytes();
//! assert!(out.ends_with(b"allow = g722\r\nnote = semi\\;colon\r\n"));
//!
//! // Problems carry positions; strict mode refuses like Asterisk.
//! let err = LoadOptions::new().load_bytes("bad.conf", b"orphan = 1\n").unwrap_err();
//! assert!(err.to_string().contains("bad.conf:1:1: error"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See `docs/config.md` for a guide and the exact list of errors and warnings.

mod document;
mod error;
mod glob;
mod lexer;
mod resolve;

pub use document::{Document, EditError, Entry, Line, LineKind};
pub use error::{ConfigError, Diagnostic, DiagnosticKind, Severity};
pub use lexer::Op;
pub use resolve::{parse_bool, Category, Config, LoadOptions, Loaded, Variable};
