//! Asterisk `.conf` files.
mod document;
mod error;
mod glob;
mod lexer;
mod resolve;

pub use document::{Document, EditError, Entry, Line, LineKind};
pub use error::{ConfigError, Diagnostic, DiagnosticKind, Severity};
pub use lexer::Op;
pub use resolve::{parse_bool, Category, Config, LoadOptions, Loaded, Variable};
