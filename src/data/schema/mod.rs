//! Schema files (TOML): how a raw survey extract maps to clean, typed variables.
//!
//! A schema names each variable, the raw column it comes from, its type, its codes and labels
//! (English and Chinese), its reference level, its valid range and its missing-value codes;
//! it also defines derived variables by expression, named subsamples and the survey-design
//! fields. `data-schema/README.md` documents the format for users; this module holds the
//! schema's types, and `read.rs` parses and checks a schema file, reporting every problem with
//! its line and column in it.

pub use crate::data::design_spec::DesignSpec;
use crate::data::design_spec::DesignToml;
use crate::data::expr::{self, Expr};
use crate::error::SchemaError;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use toml::Spanned;

mod read;

/// A value in a schema: a code, a missing-value code or a reference level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Code {
    Int(i64),
    Float(f64),
    Str(String),
}

impl Code {
    /// The numeric value, when the code is a number (or a string holding one).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Code::Int(i) => Some(*i as f64),
            Code::Float(f) => Some(*f),
            Code::Str(s) => crate::data::csv::parse_number(s),
        }
    }

    /// The code as written in a data file (`1`, `99`, `NA`, `不适用`).
    pub fn text(&self) -> String {
        match self {
            Code::Int(i) => i.to_string(),
            Code::Float(f) => crate::data::format_number(*f),
            Code::Str(s) => s.clone(),
        }
    }
}

/// The type of a variable, which decides its storage and its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    /// 0/1, stored as a number (Stata's convention: enters a model as one regressor).
    Binary,
    /// Unordered categories, stored as a factor with a reference level.
    Categorical,
    /// Ordered categories, stored as a factor (levels in the schema's order).
    Ordinal,
    /// A real number, with an optional valid range.
    Continuous,
    /// A non-negative integer, with an optional valid range.
    Count,
    /// An identifier (respondent, household, city): kept as a number when every value is
    /// one, as text otherwise; never a regressor.
    Identifier,
    /// Free text.
    Text,
}

impl VarType {
    pub fn name(self) -> &'static str {
        match self {
            VarType::Binary => "binary",
            VarType::Categorical => "categorical",
            VarType::Ordinal => "ordinal",
            VarType::Continuous => "continuous",
            VarType::Count => "count",
            VarType::Identifier => "identifier",
            VarType::Text => "text",
        }
    }

    pub fn is_factor(self) -> bool {
        matches!(self, VarType::Categorical | VarType::Ordinal)
    }
}

/// One level of a categorical, ordinal or binary variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelSpec {
    /// The raw code in the data file.
    #[serde(default)]
    pub code: Option<Code>,
    /// Several raw codes merged into this level (a recode).
    #[serde(default)]
    pub codes: Vec<Code>,
    /// Short name, used in term names (`scheme[URBMI]`) and in expressions.
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_zh: Option<String>,
    /// For binary variables: the 0/1 value this raw code becomes.
    #[serde(default)]
    pub value: Option<f64>,
}

impl LevelSpec {
    /// Every raw code of this level.
    pub fn all_codes(&self) -> impl Iterator<Item = &Code> {
        self.code.iter().chain(self.codes.iter())
    }
}

/// A variable read from a raw column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableSpec {
    pub name: Spanned<String>,
    /// The raw column name (a survey item code); defaults to `name`.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(rename = "type")]
    pub var_type: VarType,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_zh: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub levels: Vec<LevelSpec>,
    /// The reference level, by name or by raw code; defaults to the first level.
    #[serde(default)]
    pub reference: Option<Spanned<Code>>,
    /// Inclusive valid range `[min, max]` of a continuous or count variable.
    #[serde(default)]
    pub range: Option<[f64; 2]>,
    /// Missing-value codes of this variable, in addition to the dataset-wide ones.
    #[serde(default)]
    pub missing: Vec<Code>,
    /// When true, a missing value is a violation.
    #[serde(default)]
    pub required: bool,
}

impl VariableSpec {
    pub fn source(&self) -> &str {
        self.source.as_deref().unwrap_or(self.name.get_ref())
    }
}

/// A variable computed from others by an expression.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedSpec {
    pub name: Spanned<String>,
    pub expr: Spanned<String>,
    /// Optional declared type: `binary` checks the result is 0/1, `categorical` turns a
    /// numeric result into a factor.
    #[serde(default, rename = "type")]
    pub var_type: Option<VarType>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_zh: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    /// Reference level of a categorical result (by name).
    #[serde(default)]
    pub reference: Option<Spanned<Code>>,
}

/// A named subsample: the rows where `filter` is true.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsampleSpec {
    pub name: Spanned<String>,
    pub filter: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// The `[dataset]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub survey: Option<String>,
    /// Missing-value codes of every variable (e.g. `["NA", "不适用"]`).
    #[serde(default)]
    pub missing: Vec<Code>,
    /// Keeps only the rows where this expression (over schema variables) is true, before
    /// derived variables are computed: the study's analysis sample. Quantiles are cut in it.
    #[serde(default)]
    pub universe: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaToml {
    dataset: DatasetSpec,
    #[serde(default)]
    design: Option<DesignToml>,
    #[serde(default, rename = "variable")]
    variables: Vec<VariableSpec>,
    #[serde(default)]
    derived: Vec<DerivedSpec>,
    #[serde(default, rename = "subsample")]
    subsamples: Vec<SubsampleSpec>,
}

/// A parsed and checked schema.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The schema file, for messages.
    pub path: String,
    pub dataset: DatasetSpec,
    pub design: DesignSpec,
    pub variables: Vec<VariableSpec>,
    pub derived: Vec<DerivedSpec>,
    /// Parsed expressions of `derived`, in the same order.
    pub derived_exprs: Vec<Expr>,
    pub subsamples: Vec<SubsampleSpec>,
    pub subsample_exprs: Vec<Expr>,
    pub universe: Option<Expr>,
    /// The schema's text, to turn byte offsets into line numbers in later messages.
    text: String,
}

fn check_refs(
    e: &Expr,
    known: &[String],
    src: &Spanned<String>,
    err_at: &dyn Fn(usize, String) -> SchemaError,
) -> Result<(), SchemaError> {
    for name in e.variables() {
        if !known.iter().any(|k| k == name) {
            let hint = crate::data::closest(name, known.iter().map(|s| s.as_str()))
                .map(|h| format!(" (did you mean '{h}'?)"))
                .unwrap_or_default();
            return Err(err_at(
                src.span().start,
                format!("expression \"{}\" uses '{name}', which is not defined above it{hint}", src.get_ref()),
            ));
        }
    }
    Ok(())
}

/// Index of the level a reference designates, by name first and then by code.
pub fn reference_index(levels: &[LevelSpec], r: &Code) -> Option<usize> {
    let text = r.text();
    levels.iter().position(|l| l.name == text).or_else(|| {
        let key = code_key(r);
        levels.iter().position(|l| l.all_codes().any(|c| code_key(c) == key))
    })
}

/// A normalised form of a code: numbers compare by value (`1` = `1.0`), text exactly.
pub fn code_key(c: &Code) -> String {
    match c.as_f64() {
        Some(v) => format!("#{}", crate::data::format_number(v)),
        None => c.text(),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
[dataset]
name = "t"
missing = ["NA", -1]

[[variable]]
name = "scheme"
source = "q1"
type = "categorical"
reference = "NCMS"
levels = [
  { code = 1, name = "NCMS" },
  { code = 2, name = "URBMI" },
  { codes = [3, 4], name = "UEBMI" },
]

[[variable]]
name = "age"
type = "continuous"
range = [15, 59]

[[derived]]
name = "age2"
expr = "age^2"

[[subsample]]
name = "ncms"
filter = "scheme == \"NCMS\""
"#;

    #[test]
    fn parses_a_small_schema() {
        let s = Schema::parse(MINI, "t.toml").unwrap();
        assert_eq!(s.variables.len(), 2);
        assert_eq!(s.variables[0].source(), "q1");
        assert_eq!(s.variables[1].source(), "age");
        assert!(s.subsample("ncms").is_some());
        assert_eq!(reference_index(&s.variables[0].levels, &Code::Int(4)), Some(2));
    }

    #[test]
    fn unknown_reference_names_its_line() {
        let bad = MINI.replace("reference = \"NCMS\"", "reference = \"NCSM\"");
        let e = Schema::parse(&bad, "t.toml").unwrap_err();
        assert_eq!(e.line, 10, "{e}");
        assert!(e.message.contains("NCSM"), "{e}");
    }

    #[test]
    fn toml_syntax_error_has_a_line() {
        let bad = MINI.replace("type = \"continuous\"", "type = continuous");
        let e = Schema::parse(&bad, "t.toml").unwrap_err();
        assert_eq!(e.line, 19, "{e}");
    }

    #[test]
    fn unknown_type_and_field() {
        let bad = MINI.replace("type = \"continuous\"", "type = \"real\"");
        let e = Schema::parse(&bad, "t.toml").unwrap_err();
        assert!(e.to_string().contains("real"), "{e}");
        let bad = MINI.replace("range = [15, 59]", "rnage = [15, 59]");
        let e = Schema::parse(&bad, "t.toml").unwrap_err();
        assert!(e.to_string().contains("rnage"), "{e}");
    }

    #[test]
    fn expression_typo_is_located() {
        let bad = MINI.replace("age^2", "agee^2");
        let e = Schema::parse(&bad, "t.toml").unwrap_err();
        assert_eq!(e.line, 24, "{e}");
        assert!(e.message.contains("did you mean 'age'"), "{e}");
        let bad = MINI.replace("age^2", "age^^2");
        let e = Schema::parse(&bad, "t.toml").unwrap_err();
        assert_eq!(e.line, 24, "{e}");
    }

    #[test]
    fn duplicate_name() {
        let bad = MINI.replace("name = \"age2\"", "name = \"age\"");
        let e = Schema::parse(&bad, "t.toml").unwrap_err();
        assert!(e.message.contains("defined twice (first at line 18)"), "{e}");
    }
}
