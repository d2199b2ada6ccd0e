//! Typed errors, one enum per area, each carrying what the user needs to find the fault
//! (file, row, column, value, option). [`Error::exit_code`] maps them to the documented exit
//! codes: 1 invalid data, 2 usage, 3 estimation failed.

use thiserror::Error;

/// Problems with input data: reading, parsing, validating.
#[derive(Debug, Error)]
pub enum DataError {
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
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

/// A formula that cannot be parsed or does not fit the data.
#[derive(Debug, Error)]
pub enum FormulaError {
    /// A syntax error, with the formula and a caret under the offending character.
    #[error("formula syntax error at character {}: {message}\n  {formula}\n  {}^", position + 1, " ".repeat(*position))]
    Syntax { formula: String, position: usize, message: String },
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
