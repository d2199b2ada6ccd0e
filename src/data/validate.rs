//! Violations of a schema found while reading a file, and their reports.
//!
//! Every violation carries the row (its line in a CSV file, its observation number in Parquet
//! and Stata files), the raw column, the value and the rule broken. Reading never stops at
//! the first one: `migfit validate` lists them all, then a summary by rule.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The rules a file can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The file cannot be parsed past some point.
    Unreadable,
    /// No bytes, or only white space.
    EmptyFile,
    /// A header but no data rows.
    NoRows,
    /// A header problem (an empty name, a header of numbers).
    Header,
    /// Two columns with the same name.
    DuplicateColumn,
    /// A column the schema reads is absent.
    MissingColumn,
    /// A row with more or fewer fields than the header.
    RaggedRow,
    /// Bytes that are not valid in the file's encoding.
    Encoding,
    /// A continuous or count variable holds text.
    NotANumber,
    /// A count is negative or fractional.
    NotInteger,
    /// A value outside the declared range.
    OutOfRange,
    /// A code that is not one of the variable's levels.
    UnknownCode,
    /// A missing value in a required variable.
    RequiredMissing,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Unreadable => "unreadable",
            Rule::EmptyFile => "empty-file",
            Rule::NoRows => "no-rows",
            Rule::Header => "header",
            Rule::DuplicateColumn => "duplicate-column",
            Rule::MissingColumn => "missing-column",
            Rule::RaggedRow => "ragged-row",
            Rule::Encoding => "encoding",
            Rule::NotANumber => "not-a-number",
            Rule::NotInteger => "not-integer",
            Rule::OutOfRange => "out-of-range",
            Rule::UnknownCode => "unknown-code",
            Rule::RequiredMissing => "required-missing",
        }
    }
}

/// One violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub rule: Rule,
    /// Line in the file (CSV) or observation number (Parquet, Stata); `None` for the file.
    pub line: Option<u64>,
    /// The raw column (as named in the file).
    pub column: Option<String>,
    /// The offending value as written in the file.
    pub value: Option<String>,
    /// What was expected.
    pub message: String,
}

impl Violation {
    pub fn new(
        rule: Rule,
        line: Option<u64>,
        column: Option<String>,
        value: Option<String>,
        message: String,
    ) -> Violation {
        Violation { rule, line, column, value, message }
    }

    /// One line of text: `data.csv: line 17, column q101b, value '3': ... [unknown-code]`.
    pub fn render(&self, source: &str, row_word: &str) -> String {
        let mut s = source.to_string();
        let mut sep = ": ";
        if let Some(l) = self.line {
            let _ = write!(s, "{sep}{row_word} {l}");
            sep = ", ";
        }
        if let Some(c) = &self.column {
            let _ = write!(s, "{sep}column '{c}'");
            sep = ", ";
        }
        if let Some(v) = &self.value {
            let _ = write!(s, "{sep}value '{}'", v.escape_debug());
        }
        let _ = write!(s, ": {} [{}]", self.message, self.rule.name());
        s
    }
}

/// Counts by rule, in rule order.
pub fn summary(violations: &[Violation]) -> BTreeMap<Rule, usize> {
    let mut m = BTreeMap::new();
    for v in violations {
        *m.entry(v.rule).or_insert(0) += 1;
    }
    m
}

/// The text report of `migfit validate`.
pub fn render_text(source: &str, row_word: &str, rows: usize, violations: &[Violation]) -> String {
    let mut out = String::new();
    for v in violations {
        out.push_str(&v.render(source, row_word));
        out.push('\n');
    }
    if violations.is_empty() {
        let _ = writeln!(out, "{source}: {rows} rows, no violations of the schema");
    } else {
        let _ = writeln!(out, "\n{source}: {rows} rows read, {} violation(s):", violations.len());
        for (rule, n) in summary(violations) {
            let _ = writeln!(out, "  {:<18} {n}", rule.name());
        }
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    source: &'a str,
    schema: &'a str,
    rows: usize,
    valid: bool,
    violations: &'a [Violation],
    summary: BTreeMap<&'static str, usize>,
}

/// The JSON report of `migfit validate --format json`.
pub fn render_json(source: &str, schema: &str, rows: usize, violations: &[Violation]) -> String {
    let report = JsonReport {
        source,
        schema,
        rows,
        valid: violations.is_empty(),
        violations,
        summary: summary(violations).into_iter().map(|(r, n)| (r.name(), n)).collect(),
    };
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The typed data error for a file that violates its schema: the count and the first ten
/// violations rendered with their rows (`migfit validate` lists them all).
pub fn violations_error(
    source: &str,
    violations: &[Violation],
    schema: &super::schema::Schema,
) -> crate::error::DataError {
    const SHOWN: usize = 10;
    crate::error::DataError::Violations {
        file: source.to_string(),
        schema: schema.path.to_string(),
        count: violations.len(),
        shown: violations.iter().take(SHOWN).map(|v| v.render(source, "line")).collect(),
    }
}
