//! The resolved view: what Asterisk would load.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::document::{eq_ci, line_diagnostic, make_diag, Document, Line, LineKind};
use super::error::{ConfigError, Diagnostic, DiagnosticKind};
use super::glob;
use super::lexer::Op;

/// Asterisk stores category names in an 80-byte buffer.
const CATEGORY_NAME_MAX: usize = 79;

/// One variable of a resolved category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    name: Vec<u8>,
    value: Vec<u8>,
    object: bool,
    file: Arc<Path>,
    line: u32,
}

impl Variable {
    /// The name as bytes.
    pub fn name_bytes(&self) -> &[u8] {
        &self.name
    }

    /// The name as text (lossy for non-UTF-8 names).
    pub fn name(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }

    /// The value as bytes (never altered).
    pub fn value_bytes(&self) -> &[u8] {
        &self.value
    }

    /// The value as `&str`, or `None` if it is not UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }

    /// The value as text, replacing invalid UTF-8.
    pub fn value_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.value)
    }

    /// True when written `name => value`.
    pub fn is_object(&self) -> bool {
        self.object
    }

    /// The file the variable came from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Its 1-based line number in that file.
    pub fn line(&self) -> u32 {
        self.line
    }
}

/// A resolved category: its own variables after those inherited from its
/// templates, `(+)` additions merged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    name: Vec<u8>,
    template: bool,
    parents: Vec<Vec<u8>>,
    vars: Vec<Variable>,
    file: Arc<Path>,
    line: u32,
}

impl Category {
    /// The name as bytes.
    pub fn name_bytes(&self) -> &[u8] {
        &self.name
    }

    /// The name as text (lossy for non-UTF-8 names).
    pub fn name(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }

    /// True for a template (`(!)`), which Asterisk hides from the category list.
    pub fn is_template(&self) -> bool {
        self.template
    }

    /// The categories it inherits from, in order.
    pub fn parents(&self) -> impl Iterator<Item = Cow<'_, str>> + '_ {
        self.parents.iter().map(|p| String::from_utf8_lossy(p))
    }

    /// Where the header was.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The header's 1-based line number.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// All variables in order (inherited first).
    pub fn variables(&self) -> &[Variable] {
        &self.vars
    }

    /// The values of every variable named `key` (ASCII case-insensitive), in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.vars
            .iter()
            .filter(move |v| eq_ci(&v.name, key.as_bytes()))
            .map(|v| &v.value[..])
    }

    /// The last value of `key`: the category's own value overrides a
    /// template's, as modules that walk the list see it.
    pub fn get_bytes(&self, key: &str) -> Option<&[u8]> {
        self.vars
            .iter()
            .rev()
            .find(|v| eq_ci(&v.name, key.as_bytes()))
            .map(|v| &v.value[..])
    }

    /// [`Category::get_bytes`] as `&str` (`None` if absent or not UTF-8).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_bytes(key)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of `key`, as Asterisk's `ast_variable_retrieve` returns it.
    pub fn get_first(&self, key: &str) -> Option<&[u8]> {
        self.vars
            .iter()
            .find(|v| eq_ci(&v.name, key.as_bytes()))
            .map(|v| &v.value[..])
    }

    /// [`Category::get`] read as a boolean the way Asterisk's `ast_true` /
    /// `ast_false` do: yes/true/y/t/1/on and no/false/n/f/0/off, any case.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        self.get_bytes(key).and_then(parse_bool)
    }

    /// [`Category::get`] read as a decimal integer (blanks around allowed).
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|s| s.trim().parse().ok())
    }
}

/// Asterisk's `ast_true` / `ast_false`.
pub fn parse_bool(v: &[u8]) -> Option<bool> {
    let s = std::str::from_utf8(v).ok()?.trim().to_ascii_lowercase();
    match s.as_str() {
        "yes" | "true" | "y" | "t" | "1" | "on" => Some(true),
        "no" | "false" | "n" | "f" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// A resolved configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    cats: Vec<Category>,
}

impl Config {
    /// The categories Asterisk lists (templates hidden), in file order.
    pub fn categories(&self) -> impl Iterator<Item = &Category> + '_ {
        self.cats.iter().filter(|c| !c.template)
    }

    /// Every category including templates, in file order.
    pub fn all_categories(&self) -> &[Category] {
        &self.cats
    }

    /// The first non-template category named `name` (ASCII case-insensitive).
    pub fn category(&self, name: &str) -> Option<&Category> {
        self.categories().find(|c| eq_ci(&c.name, name.as_bytes()))
    }

    /// The first template named `name` (templates are hidden from
    /// [`Config::categories`] but can be looked up).
    pub fn template(&self, name: &str) -> Option<&Category> {
        self.cats
            .iter()
            .find(|c| c.template && eq_ci(&c.name, name.as_bytes()))
    }

    /// The first category or template named `name`.
    pub fn category_or_template(&self, name: &str) -> Option<&Category> {
        self.cats.iter().find(|c| eq_ci(&c.name, name.as_bytes()))
    }

    /// See [`Category::get`].
    pub fn get(&self, category: &str, key: &str) -> Option<&str> {
        self.category(category)?.get(key)
    }

    /// See [`Category::get_bytes`].
    pub fn get_bytes(&self, category: &str, key: &str) -> Option<&[u8]> {
        self.category(category)?.get_bytes(key)
    }

    /// See [`Category::get_all`].
    pub fn get_all<'a>(&'a self, category: &str, key: &'a str) -> Vec<&'a [u8]> {
        match self.category(category) {
            Some(c) => c.get_all(key).collect(),
            None => Vec::new(),
        }
    }

    /// See [`Category::get_bool`].
    pub fn get_bool(&self, category: &str, key: &str) -> Option<bool> {
        self.category(category)?.get_bool(key)
    }

    /// See [`Category::get_i64`].
    pub fn get_i64(&self, category: &str, key: &str) -> Option<i64> {
        self.category(category)?.get_i64(key)
    }
}

/// The outcome of a load.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The resolved configuration (partial if the load was refused).
    pub config: Config,
    /// Every error and warning, in the order Asterisk meets them.
    pub diagnostics: Vec<Diagnostic>,
    /// True when Asterisk would refuse the configuration (there is an error).
    pub refused: bool,
    /// Every file read, in order.
    pub files: Vec<PathBuf>,
}

/// How to load a configuration.
///
/// `strict` (the default) behaves as Asterisk does: reading stops at the
/// first error and the load fails with [`ConfigError::Refused`] carrying the
/// diagnostics. Lenient mode skips offending lines, keeps going, and returns
/// the configuration with every diagnostic.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    base_dir: Option<PathBuf>,
    strict: bool,
    exec_includes: bool,
    max_include_depth: usize,
    max_inherited: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            base_dir: None,
            strict: true,
            exec_includes: false,
            max_include_depth: 10,
            max_inherited: 1_000_000,
        }
    }
}

struct Ctx<'o> {
    opts: &'o LoadOptions,
    base: PathBuf,
    cats: Vec<Category>,
    current: Option<usize>,
    diags: Vec<Diagnostic>,
    stack: Vec<PathBuf>,
    files: Vec<PathBuf>,
    included: Vec<String>,
    stop: bool,
    /// Variables copied by inheritance so far.
    inherited: usize,
}

impl LoadOptions {
    /// Defaults: strict, `#exec` disabled, includes nested at most 10 deep,
    /// relative paths resolved against the top-level file's directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resolve relative file names (the top-level one and includes) against
    /// this directory, as Asterisk resolves them against its config directory.
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Strict (stop and fail at the first error) or lenient (keep going).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Allow `#exec` to run programs (through `sh -c`). Off by default.
    pub fn exec_includes(mut self, enable: bool) -> Self {
        self.exec_includes = enable;
        self
    }

    /// How many levels of includes may sit below the top-level file
    /// (Asterisk: 10, so 11 files deep in all).
    pub fn max_include_depth(mut self, depth: usize) -> Self {
        self.max_include_depth = depth;
        self
    }

    /// How many variables inheritance may copy in one load (default one
    /// million). Each `[name](template)` copies the template's variables;
    /// templates that inherit twice from the one before double at every
    /// line, so a small file could otherwise ask for more memory than any
    /// machine has. Past the limit inheriting fails with
    /// [`DiagnosticKind::TooManyInherited`].
    pub fn max_inherited(mut self, n: usize) -> Self {
        self.max_inherited = n;
        self
    }

    fn finish(&self, ctx: Ctx<'_>) -> Result<Loaded, ConfigError> {
        let refused = ctx.diags.iter().any(|d| d.is_error());
        if refused && self.strict {
            return Err(ConfigError::Refused(ctx.diags));
        }
        Ok(Loaded {
            config: Config { cats: ctx.cats },
            diagnostics: ctx.diags,
            refused,
            files: ctx.files,
        })
    }

    fn ctx(&self, base: PathBuf) -> Ctx<'_> {
        Ctx {
            opts: self,
            base,
            cats: Vec::new(),
            current: None,
            diags: Vec::new(),
            stack: Vec::new(),
            files: Vec::new(),
            included: Vec::new(),
            stop: false,
            inherited: 0,
        }
    }

    /// Load a file and everything it includes.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Loaded, ConfigError> {
        let path = path.as_ref();
        let full = match &self.base_dir {
            Some(b) if path.is_relative() => b.join(path),
            _ => path.to_path_buf(),
        };
        let bytes = std::fs::read(&full).map_err(|source| ConfigError::Io {
            path: full.clone(),
            source,
        })?;
        let doc = Document::parse(bytes)?;
        self.load_document(&full, &doc)
    }

    /// Resolve an already parsed document named `name` (used in diagnostics
    /// and to find includes when no base directory is set).
    pub fn load_document(
        &self,
        name: impl AsRef<Path>,
        doc: &Document,
    ) -> Result<Loaded, ConfigError> {
        let name = name.as_ref();
        let base = match &self.base_dir {
            Some(b) => b.clone(),
            None => name.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        let mut ctx = self.ctx(base);
        ctx.stack.push(canon(name));
        ctx.files.push(name.to_path_buf());
        ctx.run(name, doc, 1, None);
        self.finish(ctx)
    }

    /// Parse and resolve bytes named `name`.
    pub fn load_bytes(&self, name: impl AsRef<Path>, bytes: &[u8]) -> Result<Loaded, ConfigError> {
        let doc = Document::from_slice(bytes)?;
        self.load_document(name, &doc)
    }
}

fn canon(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

enum Target {
    New(Category),
    Existing(usize),
}

impl Ctx<'_> {
    fn push(&mut self, kind: DiagnosticKind, file: &Path, line: u32, column: u32, message: String) {
        let is_err = kind.severity() == super::Severity::Error;
        self.diags
            .push(make_diag(kind, file, line, column, message));
        if is_err && self.opts.strict {
            self.stop = true;
        }
    }

    /// Asterisk's `does_category_match`: an empty name matches any category;
    /// without a filter templates never match.
    fn category_matches(c: &Category, name: &[u8], filter: &[u8], sep: u8) -> bool {
        if !name.is_empty() && !eq_ci(&c.name, name) {
            return false;
        }
        if filter.is_empty() {
            return !c.template;
        }
        let mut count = 0;
        let mut found = 0;
        let mut template_ok = false;
        for nvp in filter.split(|&b| b == sep) {
            count += 1;
            let mut parts = nvp.splitn(2, |&b| b == b'=');
            let mname = trim(parts.next().unwrap_or_default());
            let Some(mvalue) = parts.next().map(trim) else {
                break;
            };
            if mname == b"TEMPLATES" {
                if eq_ci(mvalue, b"include") {
                    template_ok |= c.template;
                    found += 1;
                } else if eq_ci(mvalue, b"restrict") {
                    if c.template {
                        template_ok = true;
                        found += 1;
                    } else {
                        break;
                    }
                }
                continue;
            }
            if c.vars
                .iter()
                .any(|v| pattern_matches(mname, &v.name) && pattern_matches(mvalue, &v.value))
            {
                found += 1;
            }
        }
        found == count && (!c.template || template_ok)
    }

    fn find(&self, name: &[u8], filter: &[u8], sep: u8) -> Option<usize> {
        self.cats
            .iter()
            .position(|c| Self::category_matches(c, name, filter, sep))
    }

    /// Read one file. It starts in `start` (or, if `None`, in the category
    /// most recently opened) and returns the category it ended in.
    fn run(
        &mut self,
        file: &Path,
        doc: &Document,
        depth: usize,
        start: Option<usize>,
    ) -> Option<usize> {
        let farc: Arc<Path> = Arc::from(file);
        let mut cat: Option<usize> = start.or(self.current);
        let mut nl = doc.nest_limit_lines().iter().peekable();
        let mut last_line = 0u32;
        for line in doc.lines() {
            if self.stop {
                break;
            }
            let ln = line.number() as u32;
            last_line = ln;
            while let Some(&&n) = nl.peek() {
                if n > ln {
                    break;
                }
                self.push(
                    DiagnosticKind::NestLimit,
                    file,
                    n,
                    1,
                    "more than 128 nested block comments".into(),
                );
                nl.next();
            }
            match line.kind() {
                LineKind::Blank => {}
                LineKind::TooLong => {
                    if let Some(d) = line_diagnostic(&line, file) {
                        self.push(d.kind, file, d.line, d.column, d.message);
                    }
                }
                LineKind::Invalid => {
                    let k = line.problem().unwrap_or(DiagnosticKind::NoEquals);
                    if k != DiagnosticKind::NoClosingBracket && cat.is_none() {
                        self.no_category(file, &line);
                    } else if let Some(d) = line_diagnostic(&line, file) {
                        self.push(d.kind, file, d.line, d.column, d.message);
                    }
                }
                LineKind::Category => {
                    if let Some(i) = self.header(file, &farc, &line) {
                        cat = Some(i);
                    }
                }
                LineKind::Directive => self.directive(file, &line, depth),
                LineKind::Variable => match cat {
                    None => self.no_category(file, &line),
                    Some(c) => self.variable(&farc, &line, c),
                },
            }
        }
        if let Some(l) = doc.unterminated_comment() {
            if !self.stop || l <= last_line {
                self.push(
                    DiagnosticKind::UnterminatedComment,
                    file,
                    l,
                    1,
                    "unterminated block comment starts here".into(),
                );
            }
        }
        cat
    }

    fn no_category(&mut self, file: &Path, line: &Line<'_>) {
        self.push(
            DiagnosticKind::NoCategory,
            file,
            line.number() as u32,
            line.first_column(),
            "variable outside of any category".into(),
        );
    }

    fn header(&mut self, file: &Path, farc: &Arc<Path>, line: &Line<'_>) -> Option<usize> {
        let ln = line.number() as u32;
        let col = line.first_column();
        let mut name = line.name().unwrap_or_default().to_vec();
        name.truncate(CATEGORY_NAME_MAX);
        if line.problem() == Some(DiagnosticKind::NoClosingParen) {
            self.push(
                DiagnosticKind::NoClosingParen,
                file,
                ln,
                col,
                "no closing ')'".into(),
            );
            if self.stop {
                return None;
            }
        }
        let mut target = Target::New(Category {
            name: name.clone(),
            template: false,
            parents: Vec::new(),
            vars: Vec::new(),
            file: farc.clone(),
            line: ln,
        });
        let options = match line.entry() {
            super::Entry::Category { options, .. } => options,
            _ => None,
        };
        if let Some(opts) = options {
            let opts_col = line.detail_column();
            let mut off = 0u32;
            for tok in opts.split(|&b| b == b',') {
                let col = opts_col.map_or(col, |c| c + off);
                off += tok.len() as u32 + 1;
                if tok == b"!" {
                    match &mut target {
                        Target::New(c) => c.template = true,
                        Target::Existing(i) => self.cats[*i].template = true,
                    }
                } else if tok.first() == Some(&b'+') {
                    match self.find(&name, &tok[1..], b'&') {
                        None => {
                            self.push(
                                DiagnosticKind::AddToMissingCategory,
                                file,
                                ln,
                                col,
                                format!(
                                    "(+) on category '{}' that does not exist",
                                    String::from_utf8_lossy(&name)
                                ),
                            );
                            if self.stop {
                                return None;
                            }
                        }
                        Some(i) => {
                            if let Target::New(c) = &mut target {
                                let moved = std::mem::take(&mut c.vars);
                                self.cats[i].vars.extend(moved);
                                self.cats[i].template |= c.template;
                                self.current = Some(i);
                            }
                            target = Target::Existing(i);
                        }
                    }
                } else {
                    match self.find(tok, b"TEMPLATES=include", b',') {
                        None => {
                            self.push(
                                DiagnosticKind::MissingParent,
                                file,
                                ln,
                                col,
                                format!(
                                    "inherits from '{}' that does not exist",
                                    String::from_utf8_lossy(tok)
                                ),
                            );
                            if self.stop {
                                return None;
                            }
                        }
                        Some(b)
                            if self.inherited + self.cats[b].vars.len()
                                > self.opts.max_inherited =>
                        {
                            self.push(
                                DiagnosticKind::TooManyInherited,
                                file,
                                ln,
                                col,
                                format!(
                                    "inheriting from '{}' would copy more than {} variables",
                                    String::from_utf8_lossy(&self.cats[b].name),
                                    self.opts.max_inherited
                                ),
                            );
                            if self.stop {
                                return None;
                            }
                        }
                        Some(b) => {
                            self.inherited += self.cats[b].vars.len();
                            let vars = self.cats[b].vars.clone();
                            let tok = &self.cats[b].name.clone()[..];
                            match &mut target {
                                Target::New(c) => {
                                    c.vars.extend(vars);
                                    c.parents.push(tok.to_vec());
                                }
                                Target::Existing(i) => {
                                    self.cats[*i].vars.extend(vars);
                                    self.cats[*i].parents.push(tok.to_vec());
                                }
                            }
                        }
                    }
                }
            }
        }
        match target {
            Target::New(c) => {
                self.cats.push(c);
                let i = self.cats.len() - 1;
                self.current = Some(i);
                Some(i)
            }
            Target::Existing(i) => Some(i),
        }
    }

    fn variable(&mut self, farc: &Arc<Path>, line: &Line<'_>, cat: usize) {
        let name = line.name().unwrap_or_default();
        let op = line.op().unwrap_or(Op::Assign);
        let ln = line.number() as u32;
        if op == Op::Append {
            let vars = &mut self.cats[cat].vars;
            if let Some(r) = vars.iter().rposition(|v| v.name == name) {
                let old = vars[r].value.clone();
                let mut combined = old.clone();
                combined.extend_from_slice(line.raw_value());
                while combined.last().is_some_and(|&b| b < 33) {
                    combined.pop();
                }
                let skip = combined
                    .iter()
                    .position(|&b| b >= 33)
                    .unwrap_or(combined.len());
                combined.drain(..skip);
                // Asterisk then updates the last variable with that name
                // (ignoring case) whose value equals the old one (any value
                // if it was empty); the line and `=>` style stay.
                let t = vars
                    .iter()
                    .rposition(|v| {
                        eq_ci(&v.name, name) && (old.is_empty() || eq_ci(&v.value, &old))
                    })
                    .unwrap_or(r);
                vars[t].value = combined;
                return;
            }
        }
        self.cats[cat].vars.push(Variable {
            name: name.to_vec(),
            value: line.value().unwrap_or_default().to_vec(),
            object: op == Op::Object,
            file: farc.clone(),
            line: ln,
        });
    }

    fn directive(&mut self, file: &Path, line: &Line<'_>, depth: usize) {
        let ln = line.number() as u32;
        let col = line.first_column();
        let name = line.name().unwrap_or_default();
        let arg = match line.entry() {
            super::Entry::Directive { argument, .. } => argument,
            _ => None,
        };
        let (is_exec, is_try) = if eq_ci(name, b"include") {
            (false, false)
        } else if eq_ci(name, b"tryinclude") {
            (false, true)
        } else if eq_ci(name, b"exec") {
            if !self.opts.exec_includes {
                self.push(
                    DiagnosticKind::ExecDisabled,
                    file,
                    ln,
                    col,
                    "#exec ignored: running programs is not enabled".into(),
                );
                return;
            }
            (true, false)
        } else {
            self.push(
                DiagnosticKind::UnknownDirective,
                file,
                ln,
                col,
                format!("unknown directive '#{}'", String::from_utf8_lossy(name)),
            );
            return;
        };
        let Some(arg) = arg else {
            self.push(
                DiagnosticKind::MissingArgument,
                file,
                ln,
                col,
                format!(
                    "directive '#{}' needs an argument",
                    String::from_utf8_lossy(name)
                ),
            );
            return;
        };
        let arg_s = String::from_utf8_lossy(arg).into_owned();
        let col = line.detail_column().unwrap_or(col);
        if !is_exec {
            if self.included.contains(&arg_s) {
                self.push(
                    DiagnosticKind::IncludedTwice,
                    file,
                    ln,
                    col,
                    format!("'{arg_s}' is included more than once"),
                );
            } else {
                self.included.push(arg_s.clone());
            }
        }
        if depth > self.opts.max_include_depth {
            self.push(
                DiagnosticKind::IncludeTooDeep,
                file,
                ln,
                col,
                format!(
                    "includes nested deeper than {}",
                    self.opts.max_include_depth
                ),
            );
            if !is_try {
                self.push(
                    DiagnosticKind::IncludeNotFound,
                    file,
                    ln,
                    col,
                    format!("included file '{arg_s}' could not be read"),
                );
            }
            return;
        }
        if is_exec {
            self.exec(file, ln, col, &arg_s, depth);
            return;
        }
        let p = Path::new(&arg_s);
        let pattern = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        };
        let mut count = 0;
        let mut glob_cat = None;
        for f in glob::expand(&pattern) {
            if self.stop {
                return;
            }
            let Ok(meta) = std::fs::metadata(&f) else {
                continue;
            };
            if !meta.is_file() {
                self.push(
                    DiagnosticKind::IncludeNotRegular,
                    file,
                    ln,
                    col,
                    format!("'{}' is not a regular file, ignored", f.display()),
                );
                continue;
            }
            let c = canon(&f);
            if self.stack.contains(&c) {
                self.push(
                    DiagnosticKind::IncludeCycle,
                    file,
                    ln,
                    col,
                    format!("'{}' includes itself", f.display()),
                );
                count += 1;
                continue;
            }
            let bytes = match std::fs::read(&f) {
                Ok(b) => b,
                Err(e) => {
                    self.push(
                        DiagnosticKind::IncludeUnreadable,
                        file,
                        ln,
                        col,
                        format!("cannot read '{}': {e}", f.display()),
                    );
                    count += 1;
                    continue;
                }
            };
            count += 1;
            let doc = match Document::parse(bytes) {
                Ok(d) => d,
                Err(e) => {
                    self.push(
                        DiagnosticKind::IncludeUnreadable,
                        file,
                        ln,
                        col,
                        e.to_string(),
                    );
                    continue;
                }
            };
            self.files.push(f.clone());
            self.stack.push(c);
            // Asterisk reads all files of one glob with the same local
            // category: the next file goes on where the previous one ended.
            glob_cat = self.run(&f, &doc, depth + 1, glob_cat);
            self.stack.pop();
        }
        if count == 0 && !is_try {
            self.push(
                DiagnosticKind::IncludeNotFound,
                file,
                ln,
                col,
                format!("included file '{arg_s}' does not exist"),
            );
        }
    }

    fn exec(&mut self, file: &Path, ln: u32, col: u32, cmd: &str, depth: usize) {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                self.push(
                    DiagnosticKind::ExecFailed,
                    file,
                    ln,
                    col,
                    format!("cannot run '{cmd}': {e}"),
                );
                return;
            }
        };
        // Asterisk redirects both streams into the file it then includes.
        let mut bytes = out.stdout;
        bytes.extend_from_slice(&out.stderr);
        let Ok(doc) = Document::parse(bytes) else {
            return;
        };
        let name = PathBuf::from(format!("#exec {cmd}"));
        self.files.push(name.clone());
        self.run(&name, &doc, depth + 1, None);
    }
}

fn trim(s: &[u8]) -> &[u8] {
    let a = s
        .iter()
        .position(|&b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let b = s
        .iter()
        .rposition(|&b| !b.is_ascii_whitespace())
        .map_or(a, |p| p + 1);
    &s[a..b.max(a)]
}

/// Asterisk matches filters with POSIX extended regular expressions
/// (unanchored search). Without a regex engine we support the literal
/// subset: a plain substring, optionally anchored with `^` and/or `$`.
fn pattern_matches(pat: &[u8], text: &[u8]) -> bool {
    let (start, pat) = match pat.first() {
        Some(b'^') => (true, &pat[1..]),
        _ => (false, pat),
    };
    let (end, pat) = match pat.last() {
        Some(b'$') => (true, &pat[..pat.len() - 1]),
        _ => (false, pat),
    };
    match (start, end) {
        (true, true) => text == pat,
        (true, false) => text.starts_with(pat),
        (false, true) => text.ends_with(pat),
        (false, false) => pat.is_empty() || text.windows(pat.len()).any(|w| w == pat),
    }
}
