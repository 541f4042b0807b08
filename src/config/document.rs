//! The document view: every line as written, with edit operations.

use std::io::{self, Write};
use std::path::Path;

use super::error::{ConfigError, Diagnostic, DiagnosticKind};
use super::lexer::{classify, strip_range, Content, Lexer, Op, Parsed, LINE_LIMIT};

/// What kind of line a [`Line`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineKind {
    /// Nothing for Asterisk to read: empty, blank, a comment, or inside a block comment.
    Blank,
    /// A category header `[name]` or `[name](options)`.
    Category,
    /// A variable `name = value`, `name => value` or `name += value`.
    Variable,
    /// A `#` directive (`#include`, `#tryinclude`, `#exec` or an unknown one).
    Directive,
    /// Content Asterisk rejects or skips (see [`Line::problem`]).
    Invalid,
    /// Longer than Asterisk's line buffer: Asterisk skips it.
    TooLong,
}

/// The meaning of one line, with borrowed byte slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    /// Nothing to read on this line.
    Blank,
    /// A category header.
    Category {
        /// The name between the brackets, untrimmed (as Asterisk keeps it).
        name: &'a [u8],
        /// What is between the parentheses after `]`, if present and closed.
        options: Option<&'a [u8]>,
    },
    /// A variable.
    Variable {
        /// The name, trimmed, without the escaping backslash.
        name: &'a [u8],
        /// `=`, `=>` or `+=`.
        op: Op,
        /// The value, trimmed, comments removed and `\;` unescaped.
        value: &'a [u8],
    },
    /// A directive.
    Directive {
        /// The word after `#` (`include`, `tryinclude`, `exec`, ...).
        name: &'a [u8],
        /// The argument with surrounding `"..."` or `<...>` removed.
        argument: Option<&'a [u8]>,
    },
    /// A line Asterisk would not accept; the reason.
    Invalid(DiagnosticKind),
    /// A line too long for Asterisk's buffer.
    TooLong,
}

const K_BLANK: u8 = 0;
const K_CATEGORY: u8 = 1;
const K_VARIABLE: u8 = 2;
const K_DIRECTIVE: u8 = 3;
const K_INVALID: u8 = 4;
const K_TOOLONG: u8 = 5;

const F_AUX: u8 = 1;
const F_ESCAPED: u8 = 2;
const F_OBJECT: u8 = 4;
const F_APPEND: u8 = 8;
const F_HAS_B: u8 = 16;
/// A block comment is open when the line starts.
const F_START_IN: u8 = 32;
/// A block comment is open when the line ends.
const F_END_IN: u8 = 64;

const NONE: u32 = u32::MAX;

/// A compact record for one physical line: ranges, never owned strings.
#[derive(Debug, Clone, Copy)]
struct LineRec {
    /// Offset of the line in `buf`.
    start: u32,
    /// Length including the terminator.
    len: u32,
    kind: u8,
    flags: u8,
    /// Terminator length: 0 (last line without newline), 1 (LF) or 2 (CRLF).
    eol: u8,
    /// Lexical problem code (`0` = none).
    code: u8,
    /// Name range (category, variable, directive) or culprit offset in `a.0`.
    a: (u32, u32),
    /// Options, value or argument range.
    b: (u32, u32),
}

fn code_of(k: DiagnosticKind) -> u8 {
    match k {
        DiagnosticKind::NoClosingBracket => 1,
        DiagnosticKind::NoClosingParen => 2,
        DiagnosticKind::InvalidEscape => 3,
        DiagnosticKind::NoEquals => 4,
        DiagnosticKind::NoVariableName => 5,
        DiagnosticKind::LineTooLong => 6,
        _ => 0,
    }
}

fn kind_of(c: u8) -> Option<DiagnosticKind> {
    Some(match c {
        1 => DiagnosticKind::NoClosingBracket,
        2 => DiagnosticKind::NoClosingParen,
        3 => DiagnosticKind::InvalidEscape,
        4 => DiagnosticKind::NoEquals,
        5 => DiagnosticKind::NoVariableName,
        6 => DiagnosticKind::LineTooLong,
        _ => return None,
    })
}

/// A parsed `.conf` file that keeps every byte.
///
/// The document owns one byte buffer (the input, followed by the text of any
/// edited lines) and one compact record per line holding ranges into it. An
/// unedited document writes back exactly the input; an edit rewrites only the
/// lines it touches.
#[derive(Debug, Clone)]
pub struct Document {
    buf: Vec<u8>,
    aux: Vec<u8>,
    lines: Vec<LineRec>,
    edited: bool,
    unterminated: Option<u32>,
    nest_limit: Vec<u32>,
    crlf: bool,
}

/// A borrowed view of one line of a [`Document`].
#[derive(Clone, Copy)]
pub struct Line<'a> {
    doc: &'a Document,
    index: usize,
}

impl std::fmt::Debug for Line<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Line")
            .field("number", &self.number())
            .field("entry", &self.entry())
            .finish()
    }
}

impl<'a> Line<'a> {
    fn rec(&self) -> &'a LineRec {
        &self.doc.lines[self.index]
    }

    fn src(&self) -> &'a [u8] {
        if self.rec().flags & F_AUX != 0 {
            &self.doc.aux
        } else {
            &self.doc.buf
        }
    }

    fn range_a(&self) -> &'a [u8] {
        let r = self.rec();
        &self.src()[r.a.0 as usize..r.a.1 as usize]
    }

    fn range_b(&self) -> Option<&'a [u8]> {
        let r = self.rec();
        if r.flags & F_HAS_B == 0 {
            None
        } else {
            Some(&self.src()[r.b.0 as usize..r.b.1 as usize])
        }
    }

    /// Zero-based index of the line in the document.
    pub fn index(&self) -> usize {
        self.index
    }

    /// One-based line number.
    pub fn number(&self) -> usize {
        self.index + 1
    }

    /// The line as written, terminator included.
    pub fn raw(&self) -> &'a [u8] {
        let r = self.rec();
        &self.doc.buf[r.start as usize..(r.start + r.len) as usize]
    }

    /// The line as written, without its terminator.
    pub fn text(&self) -> &'a [u8] {
        let r = self.rec();
        &self.doc.buf[r.start as usize..(r.start + r.len - u32::from(r.eol)) as usize]
    }

    /// The line terminator: `""`, `"\n"` or `"\r\n"`.
    pub fn terminator(&self) -> &'a [u8] {
        let r = self.rec();
        &self.doc.buf[(r.start + r.len - u32::from(r.eol)) as usize..(r.start + r.len) as usize]
    }

    /// The kind of line.
    pub fn kind(&self) -> LineKind {
        match self.rec().kind {
            K_CATEGORY => LineKind::Category,
            K_VARIABLE => LineKind::Variable,
            K_DIRECTIVE => LineKind::Directive,
            K_INVALID => LineKind::Invalid,
            K_TOOLONG => LineKind::TooLong,
            _ => LineKind::Blank,
        }
    }

    /// A problem Asterisk would report for this line on its own, if any.
    pub fn problem(&self) -> Option<DiagnosticKind> {
        kind_of(self.rec().code)
    }

    /// 1-based byte column of the problem (or of the first non-blank byte).
    pub fn problem_column(&self) -> u32 {
        let r = self.rec();
        if r.kind == K_INVALID && r.flags & F_AUX == 0 && r.a.0 != NONE {
            return r.a.0 - r.start + 1;
        }
        self.first_column()
    }

    /// 1-based column where the options, value or argument begin, when the
    /// line was not rewritten by comment removal.
    pub(crate) fn detail_column(&self) -> Option<u32> {
        let r = self.rec();
        (r.flags & F_AUX == 0 && r.flags & F_HAS_B != 0).then(|| r.b.0 - r.start + 1)
    }

    /// 1-based column of the first non-blank byte of the line.
    pub fn first_column(&self) -> u32 {
        let t = self.text();
        t.iter().position(|&b| b >= 33).unwrap_or(0) as u32 + 1
    }

    /// The meaning of the line.
    pub fn entry(&self) -> Entry<'a> {
        let r = self.rec();
        match r.kind {
            K_CATEGORY => Entry::Category {
                name: self.range_a(),
                options: self.range_b(),
            },
            K_VARIABLE => Entry::Variable {
                name: self.range_a(),
                op: self.op().unwrap_or(Op::Assign),
                value: self.value().unwrap_or_default(),
            },
            K_DIRECTIVE => Entry::Directive {
                name: self.range_a(),
                argument: self.range_b(),
            },
            K_INVALID => Entry::Invalid(self.problem().unwrap_or(DiagnosticKind::NoEquals)),
            K_TOOLONG => Entry::TooLong,
            _ => Entry::Blank,
        }
    }

    /// The variable operator, for variable lines.
    pub fn op(&self) -> Option<Op> {
        let r = self.rec();
        if r.kind != K_VARIABLE {
            return None;
        }
        Some(if r.flags & F_APPEND != 0 {
            Op::Append
        } else if r.flags & F_OBJECT != 0 {
            Op::Object
        } else {
            Op::Assign
        })
    }

    /// The name of a category, variable or directive line.
    pub fn name(&self) -> Option<&'a [u8]> {
        match self.rec().kind {
            K_CATEGORY | K_VARIABLE | K_DIRECTIVE => Some(self.range_a()),
            _ => None,
        }
    }

    /// The trimmed value of a variable line.
    pub fn value(&self) -> Option<&'a [u8]> {
        if self.rec().kind != K_VARIABLE {
            return None;
        }
        let v = self.range_b()?;
        let skip = v.iter().position(|&b| b >= 33).unwrap_or(v.len());
        Some(&v[skip..])
    }

    /// For `+=`: the text after the operator with its leading blanks, as
    /// Asterisk concatenates it.
    pub(crate) fn raw_value(&self) -> &'a [u8] {
        self.range_b().unwrap_or_default()
    }

    /// True when the variable name was written with a leading `\`.
    pub fn name_escaped(&self) -> bool {
        self.rec().flags & F_ESCAPED != 0
    }
}

impl Document {
    /// Parse a file's bytes. Never fails except for inputs of 4 GiB or more;
    /// problems are recorded per line (see [`Document::diagnostics`]).
    pub fn parse(input: Vec<u8>) -> Result<Document, ConfigError> {
        if input.len() >= u32::MAX as usize - 1 {
            return Err(ConfigError::TooLarge(input.len()));
        }
        let nlines = memchr::memchr_iter(b'\n', &input).count() + 1;
        let mut doc = Document {
            buf: input,
            aux: Vec::new(),
            lines: Vec::with_capacity(nlines),
            edited: false,
            unterminated: None,
            nest_limit: Vec::new(),
            crlf: false,
        };
        let has_nul = memchr::memchr(0, &doc.buf).is_some();
        let mut lx = Lexer::new();
        let len = doc.buf.len();
        let mut pos = 0usize;
        let mut lineno = 0u32;
        let mut first_eol = true;
        while pos < len {
            lineno += 1;
            let end = match memchr::memchr(b'\n', &doc.buf[pos..]) {
                Some(p) => pos + p + 1,
                None => len,
            };
            let rec = lex_line(
                &doc.buf,
                &mut doc.aux,
                &mut lx,
                pos,
                end,
                lineno,
                has_nul,
                &mut doc.nest_limit,
            );
            if first_eol && rec.eol > 0 {
                doc.crlf = rec.eol == 2;
                first_eol = false;
            }
            doc.lines.push(rec);
            pos = end;
        }
        doc.unterminated = lx.open_comment_line();
        Ok(doc)
    }

    /// Parse from a borrowed slice (copies it once).
    pub fn from_slice(input: &[u8]) -> Result<Document, ConfigError> {
        Document::parse(input.to_vec())
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True for an empty document.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// One line by zero-based index.
    pub fn line(&self, index: usize) -> Option<Line<'_>> {
        (index < self.lines.len()).then_some(Line { doc: self, index })
    }

    /// All lines in order.
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> + '_ {
        (0..self.lines.len()).map(move |index| Line { doc: self, index })
    }

    /// True once an edit operation changed the document.
    pub fn is_edited(&self) -> bool {
        self.edited
    }

    /// Line where a block comment that is still open at the end of the file began.
    pub fn unterminated_comment(&self) -> Option<u32> {
        self.unterminated
    }

    /// Lines where more than 128 nested block comments were opened.
    pub fn nest_limit_lines(&self) -> &[u32] {
        &self.nest_limit
    }

    /// The syntax problems of single lines (unclosed `]` or `)`, invalid
    /// escape, no `=`, no name, too long, nest limit) plus an unterminated
    /// block comment, in line order. Directives and category references are
    /// checked by [`LoadOptions`](super::LoadOptions), which gives the
    /// complete list in Asterisk's order.
    pub fn diagnostics(&self, file: &Path) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut nl = self.nest_limit.iter().peekable();
        for line in self.lines() {
            while let Some(&&n) = nl.peek() {
                if n as usize > line.number() {
                    break;
                }
                out.push(make_diag(
                    DiagnosticKind::NestLimit,
                    file,
                    n,
                    1,
                    "more than 128 nested block comments".into(),
                ));
                nl.next();
            }
            if let Some(d) = line_diagnostic(&line, file) {
                out.push(d);
            }
        }
        if let Some(l) = self.unterminated {
            out.push(make_diag(
                DiagnosticKind::UnterminatedComment,
                file,
                l,
                1,
                "unterminated block comment".into(),
            ));
        }
        out
    }

    /// Write the document. Unedited, this is exactly the input.
    pub fn write_to<W: Write>(&self, mut w: W) -> io::Result<()> {
        if !self.edited {
            return w.write_all(&self.buf);
        }
        for l in self.lines() {
            w.write_all(l.raw())?;
        }
        Ok(())
    }

    /// The document as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        if !self.edited {
            return self.buf.clone();
        }
        let mut v = Vec::with_capacity(self.buf.len());
        for l in self.lines() {
            v.extend_from_slice(l.raw());
        }
        v
    }

    /// Bytes of heap the document holds (buffers and line records).
    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
            + self.aux.capacity()
            + self.lines.capacity() * std::mem::size_of::<LineRec>()
            + self.nest_limit.capacity() * 4
    }

    // ---- category helpers -------------------------------------------------

    /// Index of the first category header whose name equals `name`
    /// (ASCII case-insensitively, as Asterisk compares category names).
    pub fn find_category(&self, name: &str) -> Option<usize> {
        self.lines()
            .find(|l| l.kind() == LineKind::Category && eq_ci(l.range_a(), name.as_bytes()))
            .map(|l| l.index)
    }

    /// The category header lines in order.
    pub fn categories(&self) -> impl Iterator<Item = Line<'_>> + '_ {
        self.lines().filter(|l| l.kind() == LineKind::Category)
    }

    /// The lines of the section a header starts: from the header (exclusive)
    /// to the next header (exclusive).
    fn section(&self, header: usize) -> std::ops::Range<usize> {
        let end = (header + 1..self.lines.len())
            .find(|&i| self.lines[i].kind == K_CATEGORY)
            .unwrap_or(self.lines.len());
        header + 1..end
    }

    /// The variable lines of the first category named `category`.
    pub fn variables(&self, category: &str) -> Vec<Line<'_>> {
        match self.find_category(category) {
            None => Vec::new(),
            Some(h) => self
                .section(h)
                .map(|index| Line { doc: self, index })
                .filter(|l| l.kind() == LineKind::Variable)
                .collect(),
        }
    }

    // ---- edits ------------------------------------------------------------

    fn eol(&self) -> &'static [u8] {
        if self.crlf {
            b"\r\n"
        } else {
            b"\n"
        }
    }

    /// Append `text` (without terminator) plus a terminator to the buffer and
    /// build its record.
    /// A new line replacing one that had a line end (`had_eol`) or was the
    /// file's unterminated last line, which stays unterminated.
    fn replacement_line(&mut self, text: &[u8], had_eol: bool) -> LineRec {
        let mut rec = self.new_line(text);
        if !had_eol {
            rec.len -= u32::from(rec.eol);
            rec.eol = 0;
            self.buf.truncate(self.buf.len() - self.eol().len());
        }
        rec
    }

    fn new_line(&mut self, text: &[u8]) -> LineRec {
        let start = self.buf.len();
        self.buf.extend_from_slice(text);
        let eol = self.eol();
        self.buf.extend_from_slice(eol);
        let end = self.buf.len();
        let mut lx = Lexer::new();
        let mut nl = Vec::new();
        lex_line(
            &self.buf,
            &mut self.aux,
            &mut lx,
            start,
            end,
            0,
            false,
            &mut nl,
        )
    }

    /// Refuse to touch a line whose rewriting could change what is commented out.
    fn check_neutral(&self, index: usize) -> Result<(), EditError> {
        if self.lines[index].flags & (F_START_IN | F_END_IN) != 0 {
            return Err(EditError::InsideBlockComment);
        }
        Ok(())
    }

    /// Make sure the last line ends with a terminator (before appending after it).
    fn terminate_last(&mut self) {
        if let Some(last) = self.lines.last() {
            if last.eol == 0 {
                // Move the line's bytes to the end of the buffer and add a
                // terminator; its meaning (and comment state) is unchanged.
                let mut rec = *last;
                let text = self.buf[rec.start as usize..(rec.start + rec.len) as usize].to_vec();
                let new_start = self.buf.len() as u32;
                self.buf.extend_from_slice(&text);
                let eol = self.eol();
                self.buf.extend_from_slice(eol);
                let shift = |v: u32| {
                    if v == NONE {
                        v
                    } else {
                        v - rec.start + new_start
                    }
                };
                if rec.flags & F_AUX == 0 {
                    rec.a = (shift(rec.a.0), shift(rec.a.1));
                    rec.b = (shift(rec.b.0), shift(rec.b.1));
                }
                rec.start = new_start;
                rec.len += eol.len() as u32;
                rec.eol = eol.len() as u8;
                *self.lines.last_mut().unwrap() = rec;
            }
        }
    }

    /// Replace the value of the last line named `name` (ASCII
    /// case-insensitive) in the first category named `category`; everything
    /// else on the line, including a trailing comment, is kept. Fails with
    /// [`EditError::NoSuchVariable`] if there is no such line.
    pub fn replace_variable(
        &mut self,
        category: &str,
        name: &str,
        value: &[u8],
    ) -> Result<(), EditError> {
        self.set_or_add(category, name, value, false)
    }

    /// Like [`Document::replace_variable`], but adds a line `name = value`
    /// after the category's last variable when there is none.
    pub fn set_variable(
        &mut self,
        category: &str,
        name: &str,
        value: &[u8],
    ) -> Result<(), EditError> {
        self.set_or_add(category, name, value, true)
    }

    fn set_or_add(
        &mut self,
        category: &str,
        name: &str,
        value: &[u8],
        add: bool,
    ) -> Result<(), EditError> {
        check_value(value)?;
        let h = self
            .find_category(category)
            .ok_or(EditError::NoSuchCategory)?;
        let found = self.section(h).rev().find(|&i| {
            let l = Line {
                doc: self,
                index: i,
            };
            l.kind() == LineKind::Variable && eq_ci(l.range_a(), name.as_bytes())
        });
        match found {
            Some(i) => {
                self.check_neutral(i)?;
                let esc = escape_value(value);
                let l = Line {
                    doc: self,
                    index: i,
                };
                let r = *l.rec();
                let text = if r.flags & F_AUX == 0 {
                    // Keep the bytes before and after the value.
                    let v = l.value().unwrap_or_default();
                    let vstart = r.b.1 as usize - v.len();
                    let vend = r.b.1 as usize;
                    let mut t = self.buf[r.start as usize..vstart].to_vec();
                    t.extend_from_slice(&esc);
                    // `-` or `\` right before a kept `;` comment would turn it
                    // into `--;` or `\;`: keep them apart.
                    if self.buf.get(vend) == Some(&b';') && matches!(esc.last(), Some(b'-' | b'\\'))
                    {
                        t.push(b' ');
                    }
                    t.extend_from_slice(
                        &self.buf[vend..(r.start + r.len - u32::from(r.eol)) as usize],
                    );
                    t
                } else {
                    let op = l.op().unwrap_or(Op::Assign);
                    let mut t = l.name().unwrap_or_default().to_vec();
                    t.push(b' ');
                    t.extend_from_slice(op.as_str().as_bytes());
                    t.push(b' ');
                    t.extend_from_slice(&esc);
                    t
                };
                self.lines[i] = self.replacement_line(&text, r.eol > 0);
                self.edited = true;
                Ok(())
            }
            None if add => self.add_variable(category, name, Op::Assign, value),
            None => Err(EditError::NoSuchVariable),
        }
    }

    /// Add a line `name <op> value` to the first category named `category`,
    /// after its last variable or directive (or right after its header).
    pub fn add_variable(
        &mut self,
        category: &str,
        name: &str,
        op: Op,
        value: &[u8],
    ) -> Result<(), EditError> {
        check_name(name)?;
        check_value(value)?;
        let h = self
            .find_category(category)
            .ok_or(EditError::NoSuchCategory)?;
        let sec = self.section(h);
        let after = sec
            .clone()
            .rev()
            .find(|&i| matches!(self.lines[i].kind, K_VARIABLE | K_DIRECTIVE))
            .unwrap_or(h);
        self.check_neutral(after)?;
        let mut text = name.as_bytes().to_vec();
        text.push(b' ');
        text.extend_from_slice(op.as_str().as_bytes());
        text.push(b' ');
        text.extend_from_slice(&escape_value(value));
        if after + 1 == self.lines.len() {
            self.terminate_last();
        }
        let rec = self.new_line(&text);
        self.lines.insert(after + 1, rec);
        self.edited = true;
        Ok(())
    }

    /// Remove every line of variable `name` in the first category named
    /// `category`. Returns how many lines were removed.
    pub fn remove_variable(&mut self, category: &str, name: &str) -> Result<usize, EditError> {
        let h = self
            .find_category(category)
            .ok_or(EditError::NoSuchCategory)?;
        let sec = self.section(h);
        let doomed: Vec<usize> = sec
            .filter(|&i| {
                let l = Line {
                    doc: self,
                    index: i,
                };
                l.kind() == LineKind::Variable && eq_ci(l.range_a(), name.as_bytes())
            })
            .collect();
        for &i in &doomed {
            self.check_neutral(i)?;
        }
        for &i in doomed.iter().rev() {
            self.lines.remove(i);
        }
        if !doomed.is_empty() {
            self.edited = true;
        }
        Ok(doomed.len())
    }

    /// Append a category header `[name]` (or `[name](options)` when `options`
    /// is not empty) at the end of the document.
    pub fn add_category(&mut self, name: &str, options: &str) -> Result<(), EditError> {
        check_category_name(name)?;
        if options
            .bytes()
            .any(|b| matches!(b, b')' | b';' | b'\r' | b'\n' | 0))
        {
            return Err(EditError::InvalidText(
                "options contain ')', ';' or a line break",
            ));
        }
        let mut text = format!("[{name}]").into_bytes();
        if !options.is_empty() {
            text.extend_from_slice(format!("({options})").as_bytes());
        }
        if self.lines.last().is_some_and(|l| l.flags & F_END_IN != 0) {
            return Err(EditError::InsideBlockComment);
        }
        self.terminate_last();
        let rec = self.new_line(&text);
        self.lines.push(rec);
        self.edited = true;
        Ok(())
    }

    /// Rename the first category named `old`; the rest of the header line
    /// (options, comment) is kept.
    pub fn rename_category(&mut self, old: &str, new: &str) -> Result<(), EditError> {
        check_category_name(new)?;
        let h = self.find_category(old).ok_or(EditError::NoSuchCategory)?;
        self.check_neutral(h)?;
        let r = self.lines[h];
        if r.flags & F_AUX != 0 {
            // The header went through comment rewriting; rebuild it.
            let l = Line {
                doc: self,
                index: h,
            };
            let mut text = format!("[{new}]").into_bytes();
            if let Some(o) = l.range_b() {
                text.push(b'(');
                text.extend_from_slice(o);
                text.push(b')');
            }
            let rec = self.new_line(&text);
            self.lines[h] = rec;
        } else {
            let mut text = self.buf[r.start as usize..r.a.0 as usize].to_vec();
            text.extend_from_slice(new.as_bytes());
            text.extend_from_slice(
                &self.buf[r.a.1 as usize..(r.start + r.len - u32::from(r.eol)) as usize],
            );
            self.lines[h] = self.replacement_line(&text, r.eol > 0);
        }
        self.edited = true;
        Ok(())
    }

    /// Remove the first category named `name`: its header and every line up
    /// to the next header.
    pub fn remove_category(&mut self, name: &str) -> Result<(), EditError> {
        let h = self.find_category(name).ok_or(EditError::NoSuchCategory)?;
        let sec = self.section(h);
        if self.lines[h].flags & F_START_IN != 0 || self.lines[sec.end - 1].flags & F_END_IN != 0 {
            return Err(EditError::InsideBlockComment);
        }
        self.lines.drain(h..sec.end);
        self.edited = true;
        Ok(())
    }
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// No category of that name.
    #[error("no such category")]
    NoSuchCategory,
    /// No variable of that name in the category.
    #[error("no such variable")]
    NoSuchVariable,
    /// The text cannot be written as asked (a line break would inject lines, ...).
    #[error("invalid text: {0}")]
    InvalidText(&'static str),
    /// The edit would touch a line where a block comment opens, closes or
    /// continues, which could comment out (or bring back) other lines.
    #[error("the line is part of a block comment")]
    InsideBlockComment,
}

fn check_value(v: &[u8]) -> Result<(), EditError> {
    if v.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(EditError::InvalidText("value contains a line break or NUL"));
    }
    Ok(())
}

fn check_name(n: &str) -> Result<(), EditError> {
    let b = n.as_bytes();
    if b.is_empty()
        || b.iter().any(|&c| c < 33 || c == b'=' || c == b';')
        || matches!(b[0], b'[' | b'#' | b'\\')
        || b.ends_with(b"+")
    {
        return Err(EditError::InvalidText(
            "name is empty, has blanks, '=' or ';', starts with '[', '#' or '\\', or ends with '+'",
        ));
    }
    Ok(())
}

fn check_category_name(n: &str) -> Result<(), EditError> {
    if n.bytes()
        .any(|c| matches!(c, b']' | b';' | b'\r' | b'\n' | 0))
    {
        return Err(EditError::InvalidText(
            "category name contains ']', ';' or a line break",
        ));
    }
    Ok(())
}

/// Escape `;` as `\;` so a value survives the comment stripper.
fn escape_value(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() + 4);
    for &b in v {
        if b == b';' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// ASCII case-insensitive equality (Asterisk's `strcasecmp`).
pub(crate) fn eq_ci(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub(crate) fn make_diag(
    kind: DiagnosticKind,
    file: &Path,
    line: u32,
    column: u32,
    message: String,
) -> Diagnostic {
    Diagnostic {
        kind,
        file: file.to_path_buf(),
        line,
        column,
        message,
    }
}

/// The lexical diagnostic of one line, if any.
pub(crate) fn line_diagnostic(line: &Line<'_>, file: &Path) -> Option<Diagnostic> {
    let k = line.problem()?;
    let msg = match k {
        DiagnosticKind::NoClosingBracket => "no closing ']'".to_string(),
        DiagnosticKind::NoClosingParen => "no closing ')'".to_string(),
        DiagnosticKind::InvalidEscape => {
            "invalid escape: '\\' must be followed by a visible character".to_string()
        }
        DiagnosticKind::NoEquals => "no '=' (equal sign); line ignored".to_string(),
        DiagnosticKind::NoVariableName => "no variable name before '='; line ignored".to_string(),
        DiagnosticKind::LineTooLong => {
            format!("line of {} bytes or more; skipped", LINE_LIMIT)
        }
        _ => String::new(),
    };
    Some(make_diag(
        k,
        file,
        line.number() as u32,
        line.problem_column(),
        msg,
    ))
}

/// Lex the physical line `buf[pos..end]` into a record.
#[allow(clippy::too_many_arguments)]
fn lex_line(
    buf: &[u8],
    aux: &mut Vec<u8>,
    lx: &mut Lexer,
    pos: usize,
    end: usize,
    lineno: u32,
    has_nul: bool,
    nest_limit: &mut Vec<u32>,
) -> LineRec {
    let raw = &buf[pos..end];
    let eol: u8 = if raw.last() == Some(&b'\n') {
        if raw.len() >= 2 && raw[raw.len() - 2] == b'\r' {
            2
        } else {
            1
        }
    } else {
        0
    };
    let mut rec = LineRec {
        start: pos as u32,
        len: (end - pos) as u32,
        kind: K_BLANK,
        flags: 0,
        eol,
        code: 0,
        a: (NONE, NONE),
        b: (NONE, NONE),
    };
    if lx.depth != 0 {
        rec.flags |= F_START_IN | F_END_IN;
    }
    if raw.len() - usize::from(eol > 0) >= LINE_LIMIT {
        rec.kind = K_TOOLONG;
        rec.code = code_of(DiagnosticKind::LineTooLong);
        return rec;
    }
    let logical = if has_nul {
        match memchr::memchr(0, raw) {
            Some(p) => &raw[..p],
            None => raw,
        }
    } else {
        raw
    };
    let mut nl = false;
    let content = lx.process(logical, lineno, &mut nl);
    if nl {
        nest_limit.push(lineno);
    }
    if lx.depth != 0 {
        rec.flags |= F_END_IN;
    } else {
        rec.flags &= !F_END_IN;
    }
    let (src, a, b, in_aux): (&[u8], usize, usize, bool) = match content {
        Content::None => return rec,
        Content::Raw(a, b) => {
            let (a, b) = strip_range(buf, pos + a, pos + b);
            if a >= b {
                return rec;
            }
            (buf, a, b, false)
        }
        Content::Scratch(a, b) => {
            let (a, b) = strip_range(&lx.scratch, a, b);
            if a >= b {
                return rec;
            }
            let base = aux.len();
            aux.extend_from_slice(&lx.scratch[a..b]);
            (&aux[..], base, base + (b - a), true)
        }
    };
    if in_aux {
        rec.flags |= F_AUX;
    }
    let r32 = |r: (usize, usize)| (r.0 as u32, r.1 as u32);
    match classify(src, a, b) {
        Parsed::Blank => {}
        Parsed::Category {
            name,
            options,
            unclosed,
        } => {
            rec.kind = K_CATEGORY;
            rec.a = r32(name);
            if let Some(o) = options {
                rec.b = r32(o);
                rec.flags |= F_HAS_B;
            }
            if unclosed {
                rec.code = code_of(DiagnosticKind::NoClosingParen);
            }
        }
        Parsed::Directive { name, arg } => {
            rec.kind = K_DIRECTIVE;
            rec.a = r32(name);
            if let Some(x) = arg {
                rec.b = r32(x);
                rec.flags |= F_HAS_B;
            }
        }
        Parsed::Variable {
            name,
            value,
            op,
            escaped,
        } => {
            rec.kind = K_VARIABLE;
            rec.a = r32(name);
            rec.b = r32(value);
            rec.flags |= F_HAS_B;
            if escaped {
                rec.flags |= F_ESCAPED;
            }
            match op {
                Op::Object => rec.flags |= F_OBJECT,
                Op::Append => rec.flags |= F_APPEND,
                Op::Assign => {}
            }
        }
        Parsed::Bad(k, at) => {
            rec.kind = K_INVALID;
            rec.code = code_of(k);
            rec.a = (at as u32, at as u32);
        }
    }
    rec
}
