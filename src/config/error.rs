//! Diagnostics (errors and warnings) and the error type of the loader.

use std::fmt;
use std::path::PathBuf;

/// How serious a [`Diagnostic`] is, following the line Asterisk draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Asterisk only logs the problem and skips the line (or the directive).
    Warning,
    /// Asterisk refuses the file: the whole load fails.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What went wrong, as a machine-readable code.
///
/// The [`Severity`] of each kind is fixed (see [`DiagnosticKind::severity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// A category header without its closing `]` (error).
    NoClosingBracket,
    /// Category options opened with `(` but never closed (error).
    NoClosingParen,
    /// `(+)` on a category that was not defined before (error).
    AddToMissingCategory,
    /// Inheriting from a category or template that does not exist (error).
    MissingParent,
    /// A variable line before any category header (error).
    NoCategory,
    /// A leading `\` followed by a blank or nothing (error).
    InvalidEscape,
    /// An `#include` whose file does not exist (error; `#tryinclude` is silent).
    IncludeNotFound,
    /// An `#include` that (directly or not) includes itself (error).
    IncludeCycle,
    /// Includes nested deeper than the limit (warning; followed by `IncludeNotFound`).
    IncludeTooDeep,
    /// The same `#include` argument used a second time (warning).
    IncludedTwice,
    /// An included path that exists but is not a regular file (warning).
    IncludeNotRegular,
    /// An included file that could not be read (error).
    IncludeUnreadable,
    /// A `#` directive other than include, tryinclude or exec (warning).
    UnknownDirective,
    /// A directive without its argument (warning).
    MissingArgument,
    /// `#exec` while running programs is disabled (warning).
    ExecDisabled,
    /// `#exec` was enabled but the program could not be run (warning).
    ExecFailed,
    /// A line with no `=` (warning).
    NoEquals,
    /// A `=` with nothing before it (warning).
    NoVariableName,
    /// A block comment `;--` never closed by `--;` (warning).
    UnterminatedComment,
    /// More than 128 nested block comments (Asterisk logs it and goes on; warning).
    NestLimit,
    /// A line longer than Asterisk's 8 KiB line buffer: skipped (warning).
    LineTooLong,
    /// Inheriting would copy more variables than
    /// [`LoadOptions::max_inherited`](super::LoadOptions::max_inherited)
    /// allows in one load: a category that inherits from itself after
    /// `(+)`, or templates that double at each step (error; Asterisk loops
    /// or runs out of memory).
    TooManyInherited,
}

impl DiagnosticKind {
    /// The severity Asterisk gives this kind of problem.
    pub fn severity(self) -> Severity {
        use DiagnosticKind::*;
        match self {
            NoClosingBracket | NoClosingParen | AddToMissingCategory | MissingParent
            | NoCategory | InvalidEscape | IncludeNotFound | IncludeCycle | IncludeUnreadable
            | TooManyInherited => Severity::Error,
            IncludeTooDeep | IncludedTwice | IncludeNotRegular | UnknownDirective
            | MissingArgument | ExecDisabled | ExecFailed | NoEquals | NoVariableName
            | UnterminatedComment | NestLimit | LineTooLong => Severity::Warning,
        }
    }
}

/// One error or warning, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The kind of problem (its severity follows from it).
    pub kind: DiagnosticKind,
    /// The file the problem is in, as it was named to the loader.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: u32,
    /// 1-based byte column.
    pub column: u32,
    /// A short human-readable reason.
    pub message: String,
}

impl Diagnostic {
    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }

    /// True for problems that make Asterisk refuse the file.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.severity(),
            self.message
        )
    }
}

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The top-level file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that was tried.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is larger than the 4 GiB a document can index.
    #[error("input of {0} bytes is too large (limit 4 GiB)")]
    TooLarge(usize),
    /// Strict mode: Asterisk would refuse this configuration. All diagnostics found are kept.
    #[error("configuration refused: {}", first_error(.0))]
    Refused(Vec<Diagnostic>),
}

fn first_error(d: &[Diagnostic]) -> String {
    d.iter()
        .find(|d| d.is_error())
        .map(|d| d.to_string())
        .unwrap_or_default()
}
