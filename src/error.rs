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
#[error("{path}:{line}:{column}: {message}")]
pub struct SchemaError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
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
