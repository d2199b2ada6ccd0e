//! Typed errors, one enum per area, each carrying what the user needs to find the fault
//! (file, row, column, value, option). [`Error::exit_code`] maps them to the documented exit
//! codes: 1 invalid data, 2 usage, 3 estimation failed.

use thiserror::Error;

/// Problems with input data: reading, parsing, validating.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    /// Writing an output file (or standard output) failed.
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("{path}: the file is empty (expected a header line naming the columns)")]
    Empty { path: String },
    #[error("{path}: line {line}: {reason}")]
    Malformed { path: String, line: u64, reason: String },
    #[error("{path}: line {line}: has {found} fields, but the header has {expected}")]
    Ragged { path: String, line: u64, found: usize, expected: usize },
    #[error("{path}: duplicate column name '{name}' in the header (columns {first} and {second})")]
    DuplicateColumn { path: String, name: String, first: usize, second: usize },
    #[error("{path}: column '{column}' is used as a number, but line {line} has the value '{value}'{more}; wrap it in C() to use it as a category")]
    NotNumeric { path: String, column: String, line: u64, value: String, more: String },
    #[error("{path}: line {line}, column '{column}': value '{value}' is not valid: {expected}")]
    InvalidValue { path: String, line: u64, column: String, value: String, expected: String },
    /// A file that does not match its schema: how many violations there are and the first
    /// few, each rendered with its row, column and value (the full list is `validate`'s job).
    #[error("{file} does not match the schema {schema} ({count} violation(s)):{}{}",
        shown.iter().map(|v| format!("\n  {v}")).collect::<String>(),
        if *count > shown.len() { format!("\n  ... run `migfit validate {file} --schema {schema}` for the full list") } else { String::new() })]
    Violations { file: String, schema: String, count: usize, shown: Vec<String> },
    #[error("{0}")]
    Other(String),
}

/// What kind of fault a [`SyntaxError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxKind {
    /// The text is not in the grammar; the message says what was expected or found.
    Invalid,
    /// Parentheses, calls or operators nest deeper than `limit`: refused before the parser
    /// (or the evaluation of what it built) runs out of stack.
    TooDeep { limit: usize },
}

/// A syntax error in an expression or a formula, at one place of its text.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("at character {column}: {message}")]
pub struct SyntaxError {
    /// Byte offset of the fault in the text (the length of the text for "at the end").
    pub position: usize,
    /// The same place as a 1-based character number (what a caret under the text points at).
    pub column: usize,
    /// The offending token as written, when there is one.
    pub found: Option<String>,
    pub kind: SyntaxKind,
    pub message: String,
}

impl SyntaxError {
    /// An error at byte offset `position` of `src`.
    pub fn new(
        src: &str,
        position: usize,
        kind: SyntaxKind,
        found: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        let position = position.min(src.len());
        let column = src.get(..position).map_or(position, |s| s.chars().count()) + 1;
        SyntaxError { position, column, found, kind, message: message.into() }
    }
}

/// An expression (`if`, a subpopulation, a schema's derived variable or universe) that parses
/// but cannot be evaluated on the data. `expr` is the (sub)expression at fault, as displayed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExprError {
    #[error("unknown variable '{name}'{}", hint.as_ref().map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default())]
    UnknownVariable { name: String, hint: Option<String> },
    #[error("in {expr}: \"{value}\" is not a level (levels: {})", levels.join(", "))]
    NotALevel { expr: String, value: String, levels: Vec<String> },
    /// A number compared with a categorical variable: the comparison with the number's text
    /// failed as `inner` says.
    #[error("{inner}; categorical variables compare with level names in quotes")]
    NumberForLevel { inner: Box<ExprError> },
    #[error("in {expr}: a categorical variable compares only with == and !=")]
    CategoricalOrder { expr: String },
    #[error("in {expr}: text compares only with == and !=")]
    TextOrder { expr: String },
    #[error("in {expr}: a categorical variable cannot enter arithmetic; compare it with a level name, e.g. scheme == \"NCMS\"")]
    CategoricalArithmetic { expr: String },
    #[error("in {expr}: text cannot enter arithmetic")]
    TextArithmetic { expr: String },
    /// A function given a value of the wrong kind (`needs` says what it takes).
    #[error("in {expr}: {function}() needs {needs}")]
    Argument { expr: String, function: &'static str, needs: &'static str },
    #[error("in {expr}: {message}")]
    Recode { expr: String, message: String },
}

/// A formula that cannot be parsed or does not fit the data.
#[derive(Debug, Error)]
pub enum FormulaError {
    /// A syntax error, with the formula and a caret under the offending character.
    #[error("formula syntax error at character {}: {}\n  {formula}\n  {}^", error.column, error.message, " ".repeat(error.column - 1))]
    Syntax { formula: String, error: SyntaxError },
    #[error("unknown column '{name}' in the formula{}", hint.as_ref().map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default())]
    UnknownColumn { name: String, hint: Option<String> },
    #[error("{0}")]
    Invalid(String),
}

/// Estimation failures: bad samples, non-convergence, separation.
#[derive(Debug, Error)]
pub enum FitError {
    #[error("the estimation sample is empty: {0}")]
    EmptySample(String),
    #[error("the response '{0}' is constant in the estimation sample ({1}); nothing to estimate")]
    ConstantResponse(String, String),
    #[error("{0}")]
    InvalidResponse(String),
    #[error("convergence not achieved after {iterations} iterations\n{history}")]
    NotConverged { iterations: usize, history: String },
    #[error("perfect prediction: {0}")]
    Separation(String),
    #[error("{0}")]
    Numerical(String),
}

/// A schema file that cannot be parsed or is inconsistent; `line` and `column` are 1-based
/// positions in the schema file (0 when unknown).
#[derive(Debug, Error)]
#[error("{path}{}: {message}", position(*line, *column))]
pub struct SchemaError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// `:LINE:COLUMN`, `:LINE` or nothing, for positions that are known (never `0:0`).
fn position(line: usize, column: usize) -> String {
    match (line, column) {
        (0, _) => String::new(),
        (l, 0) => format!(":{l}"),
        (l, c) => format!(":{l}:{c}"),
    }
}

/// Options that do not fit together or values out of range.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Any migfit error.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Formula(#[from] FormulaError),
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A check that ran to completion and failed (a batch assertion): exit code 1, with the
    /// details already reported.
    #[error("one or more checks failed (see the report)")]
    Failed,
}

impl Error {
    /// The process exit code: 1 invalid data, 2 usage (including formulas and schema files),
    /// 3 estimation failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Data(_) | Error::Failed => 1,
            Error::Formula(_) | Error::Usage(_) | Error::Schema(_) => 2,
            Error::Fit(_) => 3,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for a usage error.
pub fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(UsageError(msg.into()))
}

/// A TOML / serde message in the words of a spec or schema file (issue #19: users saw
/// "expected struct AssertSpec with 9 elements" and "untagged enum Code"): tables and keys
/// instead of structs and fields, and what a value should look like instead of a Rust enum.
pub fn plain_toml_message(msg: &str) -> String {
    let msg = msg.trim();
    let untagged = [
        ("untagged enum Code", "expected a code: a number, or a text in quotes"),
        ("untagged enum ScaleValue", "expected a rule in quotes (\"x2\", \"dev\", \"2.5\") or a number"),
        ("untagged enum OneOrMany", "expected a text in quotes, or a list of texts"),
    ];
    for (needle, plain) in untagged {
        if msg.contains(needle) {
            return plain.to_string();
        }
    }
    if msg.contains("untagged enum") {
        return "this value has the wrong type".to_string();
    }
    // "invalid length 2, expected struct AssertSpec with 9 elements": a list where a table
    // belongs.
    if msg.starts_with("invalid length") && msg.contains("expected struct") {
        return "expected a table of key = value lines, found a list".to_string();
    }
    let mut out = msg.to_string();
    if let Some(rest) = out.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            let expected = if expected.starts_with("struct ") || expected == "a map" {
                "a table of key = value lines".to_string()
            } else if expected == "a sequence" {
                "a list [..]".to_string()
            } else {
                expected.to_string()
            };
            let found = match found {
                "sequence" => "a list",
                "map" => "a table",
                f => f,
            };
            out = format!("expected {expected}, found {found}");
        }
    }
    out = out.replace("missing field", "missing key").replace("unknown field", "unknown key");
    out = out.replace("unknown variant", "unknown value");
    // Any other struct name left: "struct AxisSpec" -> "a table".
    while let Some(i) = out.find("struct ") {
        let end = out[i + 7..].find(|c: char| !c.is_alphanumeric() && c != '_').map_or(out.len(), |e| i + 7 + e);
        out.replace_range(i..end, "a table");
    }
    out
}
