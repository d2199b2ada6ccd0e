//! Schema files (TOML): how a raw survey extract maps to clean, typed variables.
//!
//! A schema names each variable, the raw column it comes from, its type, its codes and labels
//! (English and Chinese), its reference level, its valid range and its missing-value codes;
//! it also defines derived variables by expression, named subsamples and the survey-design
//! fields. `data-schema/README.md` documents the format for users; this module parses and
//! checks it, reporting every problem with its line and column in the schema file.

pub use crate::data::design_spec::DesignSpec;
use crate::data::design_spec::DesignToml;
use crate::data::expr::{self, Expr};
use crate::error::SchemaError;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use toml::Spanned;

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

impl Schema {
    /// The 1-based line of a byte offset in the schema file.
    pub fn line_of(&self, offset: usize) -> usize {
        line_col(&self.text, offset).0
    }

    /// Reads and checks a schema file.
    pub fn from_path(path: &Path) -> Result<Schema, SchemaError> {
        let display = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| SchemaError {
            path: display.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the schema: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
            SchemaError { path: display.clone(), line, column, message: "the schema is not valid UTF-8".into() }
        })?;
        Schema::parse(&text, &display)
    }

    /// Parses a schema from its text; `display` names it in messages.
    pub fn parse(text: &str, display: &str) -> Result<Schema, SchemaError> {
        let err_at = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            SchemaError { path: display.to_string(), line, column, message }
        };
        let raw: SchemaToml = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            err_at(offset, e.message().trim().to_string())
        })?;

        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut check_name = |name: &Spanned<String>| -> Result<(), SchemaError> {
            let n = name.get_ref();
            if !is_identifier(n) {
                return Err(err_at(
                    name.span().start,
                    format!("'{n}' is not a valid variable name (letters, digits and _, not starting with a digit)"),
                ));
            }
            if expr::is_reserved(n) {
                return Err(err_at(name.span().start, format!("'{n}' is a reserved word of the expression language")));
            }
            if let Some(&prev) = seen.get(n) {
                let (pl, _) = line_col(text, prev);
                return Err(err_at(name.span().start, format!("variable '{n}' is defined twice (first at line {pl})")));
            }
            seen.insert(n.clone(), name.span().start);
            Ok(())
        };
        for v in &raw.variables {
            check_name(&v.name)?;
        }
        for d in &raw.derived {
            check_name(&d.name)?;
        }

        for v in &raw.variables {
            let at = v.name.span().start;
            let name = v.name.get_ref();
            match v.var_type {
                VarType::Categorical | VarType::Ordinal => {
                    if v.levels.is_empty() {
                        return Err(err_at(
                            at,
                            format!(
                                "{} variable '{name}' needs its levels ([[variable.levels]] with code and name)",
                                v.var_type.name()
                            ),
                        ));
                    }
                }
                VarType::Binary => {
                    for l in &v.levels {
                        if !matches!(l.value, Some(x) if x == 0.0 || x == 1.0) {
                            return Err(err_at(
                                at,
                                format!(
                                    "binary variable '{name}': level '{}' needs `value = 0` or `value = 1`",
                                    l.name
                                ),
                            ));
                        }
                    }
                }
                _ => {
                    if !v.levels.is_empty() {
                        return Err(err_at(
                            at,
                            format!(
                                "{} variable '{name}' cannot have levels (use type = \"categorical\")",
                                v.var_type.name()
                            ),
                        ));
                    }
                }
            }
            let mut names: HashMap<&str, ()> = HashMap::new();
            let mut codes: Vec<String> = Vec::new();
            for l in &v.levels {
                if names.insert(l.name.as_str(), ()).is_some() {
                    return Err(err_at(at, format!("variable '{name}': level name '{}' is used twice", l.name)));
                }
                if l.all_codes().next().is_none() {
                    return Err(err_at(
                        at,
                        format!("variable '{name}': level '{}' has no `code` (or `codes`)", l.name),
                    ));
                }
                for c in l.all_codes() {
                    let key = code_key(c);
                    if codes.contains(&key) {
                        return Err(err_at(at, format!("variable '{name}': code {} belongs to two levels", c.text())));
                    }
                    codes.push(key);
                }
            }
            if let Some(r) = &v.reference {
                if !v.var_type.is_factor() {
                    return Err(err_at(
                        r.span().start,
                        format!("variable '{name}': only categorical and ordinal variables have a reference level"),
                    ));
                }
                if reference_index(&v.levels, r.get_ref()).is_none() {
                    let known: Vec<&str> = v.levels.iter().map(|l| l.name.as_str()).collect();
                    return Err(err_at(
                        r.span().start,
                        format!(
                            "variable '{name}': reference '{}' is not one of its levels ({})",
                            r.get_ref().text(),
                            known.join(", ")
                        ),
                    ));
                }
            }
            if let Some([lo, hi]) = v.range {
                if lo > hi || lo.is_nan() || hi.is_nan() {
                    return Err(err_at(at, format!("variable '{name}': range [{lo}, {hi}] is empty")));
                }
            }
        }

        // Expressions: parsed now so that a typo is reported with its line in the schema.
        let parse_at = |src: &Spanned<String>| -> Result<Expr, SchemaError> {
            expr::parse(src.get_ref()).map_err(|e| {
                // +1: the opening quote of the TOML string.
                err_at(src.span().start + 1 + e.position, format!("in expression \"{}\": {}", src.get_ref(), e.message))
            })
        };
        let mut known: Vec<String> = raw.variables.iter().map(|v| v.name.get_ref().clone()).collect();
        let universe = match &raw.dataset.universe {
            Some(u) => {
                let e = parse_at(u)?;
                check_refs(&e, &known, u, &err_at)?;
                Some(e)
            }
            None => None,
        };
        let mut derived_exprs = Vec::new();
        for d in &raw.derived {
            let e = parse_at(&d.expr)?;
            check_refs(&e, &known, &d.expr, &err_at)?;
            derived_exprs.push(e);
            known.push(d.name.get_ref().clone());
        }
        let mut subsample_exprs = Vec::new();
        let mut sub_names: Vec<&str> = Vec::new();
        for s in &raw.subsamples {
            if !is_identifier(s.name.get_ref()) {
                return Err(err_at(
                    s.name.span().start,
                    format!("'{}' is not a valid subsample name", s.name.get_ref()),
                ));
            }
            if sub_names.contains(&s.name.get_ref().as_str()) {
                return Err(err_at(s.name.span().start, format!("subsample '{}' is defined twice", s.name.get_ref())));
            }
            sub_names.push(s.name.get_ref());
            let e = parse_at(&s.filter)?;
            check_refs(&e, &known, &s.filter, &err_at)?;
            subsample_exprs.push(e);
        }
        let design = raw.design.unwrap_or_default().check().map_err(|e| SchemaError {
            path: display.to_string(),
            line: 0,
            column: 0,
            message: format!("[design] {e}"),
        })?;
        for (field, v) in
            [("weight", &design.weight), ("strata", &design.strata), ("psu", &design.psu), ("fpc", &design.fpc)]
        {
            if let Some(v) = v {
                if !known.contains(v) {
                    return Err(SchemaError {
                        path: display.to_string(),
                        line: 0,
                        column: 0,
                        message: format!("[design] {field} = \"{v}\" is not a variable of the schema"),
                    });
                }
            }
        }

        Ok(Schema {
            path: display.to_string(),
            dataset: raw.dataset,
            design,
            variables: raw.variables,
            derived: raw.derived,
            derived_exprs,
            subsamples: raw.subsamples,
            subsample_exprs,
            universe,
            text: text.to_string(),
        })
    }

    /// The expression of the subsample called `name`.
    pub fn subsample(&self, name: &str) -> Option<&Expr> {
        self.subsamples.iter().position(|s| s.name.get_ref() == name).map(|i| &self.subsample_exprs[i])
    }

    pub fn subsample_names(&self) -> Vec<&str> {
        self.subsamples.iter().map(|s| s.name.get_ref().as_str()).collect()
    }

    /// The raw columns the schema reads.
    pub fn source_columns(&self) -> Vec<&str> {
        self.variables.iter().map(|v| v.source()).collect()
    }

    /// The schema reduced to what the variables `names` need (column projection): the
    /// variables and derived variables they name, every variable a kept derived variable
    /// depends on (transitively), and everything the universe filter reads. The universe and
    /// the missing-value rules of the kept variables are unchanged, so the rows and values of
    /// the named variables are those of the full schema. `None` when a name is neither a
    /// variable nor a derived variable of the schema (the caller then loads everything, so
    /// that the error about the unknown name is the same as without projection).
    pub fn project(&self, names: &[String]) -> Option<Schema> {
        let known = |n: &str| {
            self.variables.iter().any(|v| v.name.get_ref() == n) || self.derived.iter().any(|d| d.name.get_ref() == n)
        };
        if !names.iter().all(|n| known(n)) {
            return None;
        }
        let mut need: std::collections::HashSet<String> = names.iter().cloned().collect();
        if let Some(u) = &self.universe {
            need.extend(u.variables().into_iter().map(str::to_string));
        }
        // Derived variables read only what is defined above them: walk them backwards.
        let mut keep_derived = vec![false; self.derived.len()];
        for (i, (d, e)) in self.derived.iter().zip(&self.derived_exprs).enumerate().rev() {
            if need.contains(d.name.get_ref()) {
                keep_derived[i] = true;
                need.extend(e.variables().into_iter().map(str::to_string));
            }
        }
        let mut out = self.clone();
        out.variables.retain(|v| need.contains(v.name.get_ref()));
        let mut k = keep_derived.iter();
        out.derived.retain(|_| *k.next().unwrap());
        let mut k = keep_derived.iter();
        out.derived_exprs.retain(|_| *k.next().unwrap());
        Some(out)
    }

    pub fn variable(&self, name: &str) -> Option<&VariableSpec> {
        self.variables.iter().find(|v| v.name.get_ref() == name)
    }

    /// Type of a schema or derived variable.
    pub fn var_type(&self, name: &str) -> Option<VarType> {
        if let Some(v) = self.variable(name) {
            return Some(v.var_type);
        }
        self.derived.iter().find(|d| d.name.get_ref() == name).and_then(|d| d.var_type)
    }
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
