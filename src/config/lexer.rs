//! Line-level lexing: the comment state machine of Asterisk's loader and the
//! classification of one logical line.
//!
//! Asterisk reads a file with `fgets` into an 8 KiB buffer, strips `;`
//! comments (honouring `\;` and nested `;-- --;` blocks), trims bytes below
//! 33 from both ends and hands what is left to its line processor. This
//! module reproduces that, with a fast path for the common line that has no
//! escape and no block comment (the content is then a sub-range of the raw
//! line and nothing is copied).

use super::error::DiagnosticKind;

/// A line with this many bytes or more before its `\n` does not fit in
/// Asterisk's 8192-byte `fgets` buffer and is skipped with a warning.
pub(crate) const LINE_LIMIT: usize = 8191;
/// Asterisk's limit of nested block comments.
pub(crate) const MAX_NEST: i32 = 128;

/// Bytes Asterisk treats as blank when trimming (`ast_strip`).
#[inline]
pub(crate) fn is_blank(b: u8) -> bool {
    b < 33
}

/// Trim blanks at both ends; returns the sub-range of `s`.
#[inline]
pub(crate) fn strip_range(s: &[u8], mut a: usize, mut b: usize) -> (usize, usize) {
    while a < b && is_blank(s[a]) {
        a += 1;
    }
    while b > a && is_blank(s[b - 1]) {
        b -= 1;
    }
    (a, b)
}

/// Where the logical content of a line lives after comment removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    /// Nothing to process (inside a block comment).
    None,
    /// A sub-range of the raw line.
    Raw(usize, usize),
    /// A range of the lexer's scratch buffer (the line needed rewriting).
    Scratch(usize, usize),
}

/// The comment state carried from line to line.
pub(crate) struct Lexer {
    /// Nesting depth; like Asterisk's counter it may go negative on a stray `--;`.
    pub depth: i32,
    nest: Vec<u32>,
    pub scratch: Vec<u8>,
}

impl Lexer {
    pub fn new() -> Self {
        Lexer {
            depth: 0,
            nest: vec![0; MAX_NEST as usize],
            scratch: Vec::new(),
        }
    }

    /// Line on which the innermost open block comment began, if any is open.
    pub fn open_comment_line(&self) -> Option<u32> {
        if self.depth == 0 {
            None
        } else if self.depth > 0 {
            Some(self.nest[(self.depth - 1) as usize])
        } else {
            // A stray `--;` drove the counter below zero; Asterisk reads out of
            // bounds here. Report the first recorded opening (or line 1).
            Some(self.nest[0].max(1))
        }
    }

    /// Remove comments from one physical line (terminator included, cut at
    /// the first NUL). `nest_limit` is set when the nest limit was hit.
    pub fn process(&mut self, line: &[u8], lineno: u32, nest_limit: &mut bool) -> Content {
        if self.depth == 0 {
            match memchr::memchr(b';', line) {
                None => return Content::Raw(0, line.len()),
                Some(p) => {
                    let escaped = p > 0 && line[p - 1] == b'\\';
                    let opens = line.get(p + 1) == Some(&b'-')
                        && line.get(p + 2) == Some(&b'-')
                        && line.get(p + 3) != Some(&b'-');
                    let closes = p >= 2 && line[p - 1] == b'-' && line[p - 2] == b'-';
                    if !escaped && !opens && !closes {
                        return Content::Raw(0, p);
                    }
                }
            }
        }
        self.slow(line, lineno, nest_limit)
    }

    /// Faithful emulation of the C loop on a NUL-terminated copy.
    fn slow(&mut self, line: &[u8], lineno: u32, nest_limit: &mut bool) -> Content {
        let b = &mut self.scratch;
        b.clear();
        b.extend_from_slice(line);
        // NUL terminator plus padding so look-ahead never leaves the buffer.
        b.extend_from_slice(&[0, 0, 0, 0]);
        let cstrlen = |b: &[u8], from: usize| -> usize {
            memchr::memchr(0, &b[from..]).unwrap_or(b.len() - from)
        };
        let mut new_buf = 0usize;
        let mut process: Option<usize> = if self.depth != 0 { None } else { Some(0) };
        loop {
            let end = new_buf + cstrlen(b, new_buf);
            let Some(off) = memchr::memchr(b';', &b[new_buf..end]) else {
                break;
            };
            let cp = new_buf + off;
            if cp > new_buf && b[cp - 1] == b'\\' {
                // `\;` is a literal semicolon: drop the backslash.
                let n = cstrlen(b, cp) + 1;
                b.copy_within(cp..cp + n, cp - 1);
                new_buf = cp;
            } else if b[cp + 1] == b'-' && b[cp + 2] == b'-' && b[cp + 3] != b'-' {
                if self.depth < MAX_NEST {
                    b[cp] = 0;
                    new_buf = cp + 3;
                    self.depth += 1;
                    if self.depth >= 1 {
                        self.nest[(self.depth - 1) as usize] = lineno;
                    }
                } else {
                    *nest_limit = true;
                    // Asterisk leaves new_buf unchanged and finds the same `;`
                    // again; it would spin forever. We treat the `;` as text
                    // inside the comment instead.
                    new_buf = cp + 1;
                }
            } else if cp >= new_buf + 2 && b[cp - 1] == b'-' && b[cp - 2] == b'-' {
                self.depth -= 1;
                new_buf = cp + 1;
                if self.depth == 0 {
                    if let Some(pb) = process {
                        let old = pb + cstrlen(b, pb);
                        let n = cstrlen(b, new_buf) + 1;
                        b.copy_within(new_buf..new_buf + n, old);
                        new_buf = old;
                    } else {
                        process = Some(new_buf);
                    }
                }
            } else if self.depth == 0 {
                b[cp] = 0;
                new_buf = cp;
            } else {
                new_buf = cp + 1;
            }
        }
        match process {
            None => Content::None,
            Some(pb) => Content::Scratch(pb, pb + cstrlen(b, pb)),
        }
    }
}

/// How a variable line assigns its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `name = value`
    Assign,
    /// `name => value` (an "object", as dialplans write `exten =>`)
    Object,
    /// `name += value`: append to the last variable of that name
    Append,
}

impl Op {
    /// The operator as written (`=`, `=>` or `+=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Assign => "=",
            Op::Object => "=>",
            Op::Append => "+=",
        }
    }
}

/// The classification of one stripped logical line. Ranges are relative to
/// the slice given to [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    Blank,
    Category {
        name: (usize, usize),
        options: Option<(usize, usize)>,
        /// `(` opened but `)` missing.
        unclosed: bool,
    },
    Directive {
        name: (usize, usize),
        arg: Option<(usize, usize)>,
    },
    Variable {
        name: (usize, usize),
        /// From just after the operator to the end (leading blanks kept:
        /// `+=` concatenates them).
        value: (usize, usize),
        op: Op,
        escaped: bool,
    },
    /// Something Asterisk rejects or skips; the offset points at the culprit.
    Bad(DiagnosticKind, usize),
}

/// Classify a logical line, as Asterisk's line processor does. `s` must
/// already be stripped of blanks at both ends; `a..b` is the range to look at.
pub(crate) fn classify(s: &[u8], a: usize, b: usize) -> Parsed {
    if a >= b {
        return Parsed::Blank;
    }
    let line = &s[..b];
    match line[a] {
        b'[' => {
            let Some(close) = memchr::memchr(b']', &line[a + 1..]).map(|p| a + 1 + p) else {
                return Parsed::Bad(DiagnosticKind::NoClosingBracket, a);
            };
            let name = (a + 1, close);
            if line.get(close + 1) == Some(&b'(') {
                let from = close + 2;
                match memchr::memchr(b')', &line[from..]) {
                    Some(p) => Parsed::Category {
                        name,
                        options: Some((from, from + p)),
                        unclosed: false,
                    },
                    None => Parsed::Category {
                        name,
                        options: None,
                        unclosed: true,
                    },
                }
            } else {
                Parsed::Category {
                    name,
                    options: None,
                    unclosed: false,
                }
            }
        }
        b'#' => {
            let mut c = a + 1;
            // C compares a signed char with 32: bytes >= 0x80 end the name too.
            while c < b && line[c] > 32 && line[c] < 0x80 {
                c += 1;
            }
            let name = (a + 1, c);
            if c >= b {
                return Parsed::Directive { name, arg: None };
            }
            let (x, y) = strip_range(line, c + 1, b);
            if x >= y {
                return Parsed::Directive { name, arg: None };
            }
            let close = match line[x] {
                b'"' => Some(b'"'),
                b'<' => Some(b'>'),
                _ => None,
            };
            let arg = match close {
                Some(q) if line[y - 1] == q => {
                    if y - x == 1 {
                        (y, y)
                    } else {
                        (x + 1, y - 1)
                    }
                }
                _ => (x, y),
            };
            Parsed::Directive {
                name,
                arg: Some(arg),
            }
        }
        _ => {
            let escaped = line[a] == b'\\';
            let cur = if escaped { a + 1 } else { a };
            if escaped && (cur >= b || (line[cur] as i8) < 33) {
                return Parsed::Bad(DiagnosticKind::InvalidEscape, a);
            }
            let from = cur + usize::from(escaped);
            let Some(eq) = memchr::memchr(b'=', &line[from.min(b)..]).map(|p| from + p) else {
                return Parsed::Bad(DiagnosticKind::NoEquals, a);
            };
            let (op, name_end, value_start) = if eq > from && line[eq - 1] == b'+' {
                (Op::Append, eq - 1, eq + 1)
            } else if line.get(eq + 1) == Some(&b'>') {
                (Op::Object, eq, eq + 2)
            } else {
                (Op::Assign, eq, eq + 1)
            };
            let name = strip_range(line, cur, name_end);
            if name.0 >= name.1 {
                return Parsed::Bad(DiagnosticKind::NoVariableName, eq);
            }
            Parsed::Variable {
                name,
                value: (value_start.min(b), b),
                op,
                escaped,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(lx: &mut Lexer, line: &[u8]) -> Vec<u8> {
        let mut nl = false;
        match lx.process(line, 1, &mut nl) {
            Content::None => b"<none>".to_vec(),
            Content::Raw(a, b) => line[a..b].to_vec(),
            Content::Scratch(a, b) => lx.scratch[a..b].to_vec(),
        }
    }

    #[test]
    fn comments() {
        let mut lx = Lexer::new();
        assert_eq!(content(&mut lx, b"a=b ; c\n"), b"a=b ");
        assert_eq!(content(&mut lx, b"a=b\\;c ; d\n"), b"a=b;c ");
        assert_eq!(content(&mut lx, b"a=b ;-- x --; c\n"), b"a=b  c\n");
        assert_eq!(content(&mut lx, b"a ;-- open\n"), b"a ");
        assert_eq!(lx.depth, 1);
        assert_eq!(content(&mut lx, b"inside ;-- nested\n"), b"<none>");
        assert_eq!(content(&mut lx, b"x --; still\n"), b"<none>");
        assert_eq!(content(&mut lx, b"y --; after\n"), b" after\n");
        assert_eq!(lx.depth, 0);
        assert_eq!(content(&mut lx, b";--- plain\n"), b"");
    }

    #[test]
    fn classify_lines() {
        let s = b"[a](!,b)";
        assert!(matches!(
            classify(s, 0, s.len()),
            Parsed::Category {
                options: Some((4, 7)),
                ..
            }
        ));
        let s = b"exten => 1,n,Dial";
        match classify(s, 0, s.len()) {
            Parsed::Variable { name, op, .. } => {
                assert_eq!(&s[name.0..name.1], b"exten");
                assert_eq!(op, Op::Object);
            }
            other => panic!("{other:?}"),
        }
        let s = b"\\ x=1";
        assert!(matches!(
            classify(s, 0, s.len()),
            Parsed::Bad(DiagnosticKind::InvalidEscape, 0)
        ));
        let s = b"=1";
        assert!(matches!(
            classify(s, 0, s.len()),
            Parsed::Bad(DiagnosticKind::NoVariableName, 0)
        ));
        let s = b"#include \"x.conf\"";
        match classify(s, 0, s.len()) {
            Parsed::Directive {
                arg: Some((x, y)), ..
            } => assert_eq!(&s[x..y], b"x.conf"),
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        /// The fast path gives exactly what the C emulation gives.
        #[test]
        fn fast_path_matches_emulation(
            lines in proptest::collection::vec(r"[-;\\ a=]{0,12}", 1..8),
        ) {
            let mut fast = Lexer::new();
            let mut slow = Lexer::new();
            for (i, l) in lines.iter().enumerate() {
                let mut line = l.clone().into_bytes();
                line.push(b'\n');
                let mut nl = false;
                let a = match fast.process(&line, i as u32 + 1, &mut nl) {
                    Content::None => None,
                    Content::Raw(x, y) => Some(line[x..y].to_vec()),
                    Content::Scratch(x, y) => Some(fast.scratch[x..y].to_vec()),
                };
                let b = match slow.slow(&line, i as u32 + 1, &mut nl) {
                    Content::None => None,
                    Content::Raw(x, y) => Some(line[x..y].to_vec()),
                    Content::Scratch(x, y) => Some(slow.scratch[x..y].to_vec()),
                };
                proptest::prop_assert_eq!(a, b);
                proptest::prop_assert_eq!(fast.depth, slow.depth);
            }
        }
    }
}
