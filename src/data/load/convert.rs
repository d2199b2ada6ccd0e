//! Applying a schema to a raw table: missing codes, value codes to levels, ranges, the
//! universe and derived variables; every violation recorded with its row, column and value.

use super::*;

/// Applies a schema to a raw table.
pub fn apply_schema(raw: RawTable, schema: &Schema) -> Result<LoadReport, Error> {
    let fast_path = raw.fast_path;
    let mut violations = raw.problems.clone();
    let structural_failure =
        violations.iter().any(|v| matches!(v.rule, Rule::EmptyFile | Rule::Unreadable)) && raw.columns.is_empty();
    let n = raw.line_numbers.len();
    if n == 0 && !structural_failure {
        violations.push(Violation::new(
            Rule::NoRows,
            None,
            None,
            None,
            "the file has a header but no data rows".into(),
        ));
    }
    // Variables convert independently: in parallel, their violations kept in schema order.
    use rayon::prelude::*;
    let converted: Vec<(Column, Vec<Violation>)> = schema
        .variables
        .par_iter()
        .map(|var| {
            let mut found = Vec::new();
            let col = raw.column(var.source());
            if col.is_none() && !structural_failure {
                let hint = crate::data::closest(
                    var.source(),
                    raw.header.iter().chain(raw.columns.iter().map(|c| &c.name)).map(|s| s.as_str()),
                )
                .map(|h| format!(" (did you mean '{h}'?)"))
                .unwrap_or_default();
                found.push(Violation::new(
                    Rule::MissingColumn,
                    None,
                    Some(var.source().to_string()),
                    None,
                    format!(
                        "the schema's variable '{}' reads column '{}', which the file does not have{hint}",
                        var.name.get_ref(),
                        var.source()
                    ),
                ));
            }
            let column = convert(var, col, &raw.line_numbers, &schema.dataset.missing, &mut found);
            (column, found)
        })
        .collect();
    let RawTable { source, line_numbers, columns, .. } = raw;
    drop(columns); // before the derived variables are computed: peak memory
    let mut ds = Dataset::new(source, line_numbers);
    for (column, mut found) in converted {
        violations.append(&mut found);
        ds.push(column);
    }

    // A file without the columns the schema reads (e.g. another survey wave's extract): report
    // that, rather than a confusing error from a universe or derived expression evaluated on
    // columns that are all missing.
    if violations.iter().any(|v| v.rule == Rule::MissingColumn) {
        return Ok(LoadReport { dataset: ds, violations, fast_path });
    }
    let schema_err = |offset_line: usize, message: String| {
        Error::Schema(SchemaError { path: schema.path.clone(), line: offset_line, column: 0, message })
    };
    if let (Some(u), Some(src)) = (&schema.universe, &schema.dataset.universe) {
        let keep = expr::eval_filter(u, &ds)
            .map_err(|m| schema_err(schema.line_of(src.span().start), format!("universe: {m}")))?;
        ds.retain_rows(&keep);
    }
    for (spec, e) in schema.derived.iter().zip(&schema.derived_exprs) {
        let name = spec.name.get_ref();
        let line = schema.line_of(spec.expr.span().start);
        let value = expr::eval(e, &ds).map_err(|m| schema_err(line, format!("derived variable '{name}': {m}")))?;
        let mut data = value.into_column(ds.n_rows());
        match spec.var_type {
            Some(VarType::Categorical) | Some(VarType::Ordinal) => {
                if let ColumnData::Numeric(v) = &data {
                    data = ColumnData::Categorical(Factor::from_numbers(v));
                }
                if let ColumnData::Text(t) = &data {
                    data = ColumnData::Categorical(Factor::from_strings(t.iter().map(|s| s.as_deref())));
                }
            }
            Some(VarType::Binary) => {
                if let ColumnData::Numeric(v) = &data {
                    if let Some(bad) = v.iter().find(|x| !x.is_nan() && **x != 0.0 && **x != 1.0) {
                        return Err(schema_err(
                            line,
                            format!("derived variable '{name}' is declared binary but takes the value {bad}"),
                        ));
                    }
                } else {
                    return Err(schema_err(
                        line,
                        format!("derived variable '{name}' is declared binary but its expression is not numeric"),
                    ));
                }
            }
            Some(VarType::Continuous) | Some(VarType::Count) if !matches!(data, ColumnData::Numeric(_)) => {
                return Err(schema_err(
                    line,
                    format!(
                        "derived variable '{name}' is declared {} but its expression is not numeric",
                        spec.var_type.map_or("", |t| t.name())
                    ),
                ));
            }
            _ => {}
        }
        // A factor with no levels (no rows, or all missing) has no reference to set.
        let no_levels = matches!(&data, ColumnData::Categorical(f) if f.levels.is_empty());
        if let (ColumnData::Categorical(f), Some(r), false) = (&mut data, &spec.reference, no_levels) {
            let want = r.get_ref().text();
            match f.level_index(&want) {
                Some(i) => f.reference = i,
                None => {
                    let names: Vec<&str> = f.levels.iter().map(|l| l.name.as_str()).collect();
                    return Err(schema_err(
                        schema.line_of(r.span().start),
                        format!(
                            "derived variable '{name}': reference '{want}' is not one of its levels ({})",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        ds.push(Column { name: name.clone(), data, label: spec.label.clone(), label_zh: spec.label_zh.clone() });
    }
    Ok(LoadReport { dataset: ds, violations, fast_path })
}

/// How one cell reads before its type is applied.
enum Cell<'a> {
    Missing,
    Num(f64),
    Str(&'a str),
}

struct Missing {
    nums: Vec<f64>,
    strs: Vec<String>,
}

impl Missing {
    fn new(global: &[Code], own: &[Code]) -> Missing {
        let mut m = Missing { nums: Vec::new(), strs: Vec::new() };
        for c in global.iter().chain(own) {
            match c {
                Code::Str(s) if parse_number(s).is_none() => m.strs.push(s.trim().to_string()),
                c => {
                    if let Some(v) = c.as_f64() {
                        m.nums.push(v)
                    }
                }
            }
        }
        m
    }
    fn num(&self, v: f64) -> Cell<'static> {
        if v.is_nan() || self.nums.contains(&v) {
            Cell::Missing
        } else {
            Cell::Num(v)
        }
    }
    fn text<'a>(&self, s: &'a str) -> Cell<'a> {
        if is_missing_token(s) || self.strs.iter().any(|m| m == s) {
            return Cell::Missing;
        }
        match parse_number(s) {
            Some(v) => self.num(v),
            None => Cell::Str(s),
        }
    }
}

fn convert(
    var: &VariableSpec,
    raw: Option<&RawColumn>,
    lines: &[u64],
    global_missing: &[Code],
    violations: &mut Vec<Violation>,
) -> Column {
    let missing = Missing::new(global_missing, &var.missing);
    let raw_value_labels: &[(f64, String)] = raw.map_or(&[], |r| &r.value_labels);
    // One monomorphic loop per storage of the raw column.
    let data = match raw.map(|r| &r.data) {
        None => convert_cells(var, lines, |_| Cell::Missing, raw_value_labels, violations),
        Some(RawData::Num(v)) => match convert_clean(var, v, &missing, raw_value_labels) {
            Some(data) => data,
            None => convert_cells(var, lines, |i| missing.num(v[i]), raw_value_labels, violations),
        },
        Some(RawData::Str(v)) => convert_cells(
            var,
            lines,
            |i| v[i].as_deref().map_or(Cell::Missing, |s| missing.text(s)),
            raw_value_labels,
            violations,
        ),
    };
    let _ = code_key;
    Column { name: var.name.get_ref().clone(), data, label: var.label.clone(), label_zh: var.label_zh.clone() }
}

/// `v.fract() == 0.0` without the call to `trunc` (x86-64 has no inline rounding before SSE4.1).
#[inline]
fn is_whole(v: f64) -> bool {
    if v.abs() < 4_503_599_627_370_496.0 {
        (v as i64) as f64 == v
    } else {
        v.is_finite()
    }
}

/// Level lookup of a categorical or binary variable's numeric codes: a table for small whole
/// codes, a linear scan (first match, as the schema lists them) for the others.
struct CodeTable {
    small: [u32; CodeTable::SMALL],
    codes: Vec<(f64, u32)>,
}

impl CodeTable {
    const SMALL: usize = 128;
    const NONE: u32 = u32::MAX;

    fn new(codes: Vec<(f64, u32)>) -> CodeTable {
        let mut small = [Self::NONE; Self::SMALL];
        for &(c, l) in &codes {
            if c >= 0.0 && c < Self::SMALL as f64 && (c as usize) as f64 == c && small[c as usize] == Self::NONE {
                small[c as usize] = l;
            }
        }
        CodeTable { small, codes }
    }

    #[inline]
    fn get(&self, v: f64) -> Option<u32> {
        if v >= 0.0 && v < Self::SMALL as f64 && (v as usize) as f64 == v {
            let l = self.small[v as usize];
            return (l != Self::NONE).then_some(l);
        }
        self.codes.iter().find(|(c, _)| *c == v).map(|&(_, l)| l)
    }
}

/// The numeric codes (as a lookup table) and text codes of a categorical or binary variable,
/// and whether it is a plain 0/1 binary without levels.
fn level_codes(var: &VariableSpec) -> (CodeTable, Vec<(String, u32)>, bool) {
    let mut num_codes: Vec<(f64, u32)> = Vec::new();
    let mut str_codes: Vec<(String, u32)> = Vec::new();
    for (li, l) in var.levels.iter().enumerate() {
        for c in l.all_codes() {
            match c {
                Code::Str(s) if parse_number(s).is_none() => str_codes.push((s.clone(), li as u32)),
                c => num_codes.push((c.as_f64().unwrap_or(f64::NAN), li as u32)),
            }
        }
    }
    let binary_plain = var.var_type == VarType::Binary && var.levels.is_empty();
    if binary_plain {
        num_codes = vec![(0.0, 0), (1.0, 1)];
    }
    (CodeTable::new(num_codes), str_codes, binary_plain)
}

/// The column of a categorical or binary variable from its level codes.
fn codes_to_data(
    var: &VariableSpec,
    codes: Vec<u32>,
    binary_plain: bool,
    raw_value_labels: &[(f64, String)],
) -> ColumnData {
    if var.var_type == VarType::Binary {
        let values: Vec<f64> = if binary_plain {
            vec![0.0, 1.0]
        } else {
            var.levels.iter().map(|l| l.value.unwrap_or(f64::NAN)).collect()
        };
        ColumnData::Numeric(
            codes.iter().map(|&c| if c == MISSING_CODE { f64::NAN } else { values[c as usize] }).collect(),
        )
    } else {
        let levels = var
            .levels
            .iter()
            .map(|l| {
                let first = l.all_codes().next().and_then(|c| c.as_f64());
                let file_label =
                    first.and_then(|c| raw_value_labels.iter().find(|(v, _)| *v == c).map(|(_, s)| s.clone()));
                Level { name: l.name.clone(), label: l.label.clone().or(file_label), label_zh: l.label_zh.clone() }
            })
            .collect();
        let reference = var.reference.as_ref().and_then(|r| reference_index(&var.levels, r.get_ref())).unwrap_or(0);
        ColumnData::Categorical(Factor { codes, levels, reference })
    }
}

/// The common case of a numeric raw column in which no cell breaks a rule: one tight loop, no
/// per-cell dispatch. `None` as soon as a cell would be reported (then the general loop
/// converts the column and reports every cell).
fn convert_clean(
    var: &VariableSpec,
    raw: &[f64],
    missing: &Missing,
    raw_value_labels: &[(f64, String)],
) -> Option<ColumnData> {
    let is_missing = |x: f64| x.is_nan() || missing.nums.contains(&x);
    let required = var.required;
    match var.var_type {
        VarType::Continuous | VarType::Count => {
            let count = var.var_type == VarType::Count;
            let [lo, hi] = var.range.unwrap_or([f64::NEG_INFINITY, f64::INFINITY]);
            let mut out = Vec::with_capacity(raw.len());
            for &x in raw {
                out.push(if is_missing(x) {
                    if required {
                        return None;
                    }
                    f64::NAN
                } else if (count && (x < 0.0 || !is_whole(x))) || x < lo || x > hi {
                    return None;
                } else {
                    x
                });
            }
            Some(ColumnData::Numeric(out))
        }
        VarType::Identifier => {
            let mut out = Vec::with_capacity(raw.len());
            for &x in raw {
                out.push(if is_missing(x) {
                    if required {
                        return None;
                    }
                    f64::NAN
                } else {
                    x + 0.0
                });
            }
            Some(ColumnData::Numeric(out))
        }
        VarType::Binary | VarType::Categorical | VarType::Ordinal => {
            let (table, _, binary_plain) = level_codes(var);
            let mut codes = Vec::with_capacity(raw.len());
            for &x in raw {
                codes.push(if is_missing(x) {
                    if required {
                        return None;
                    }
                    MISSING_CODE
                } else {
                    table.get(x)?
                });
            }
            Some(codes_to_data(var, codes, binary_plain, raw_value_labels))
        }
        VarType::Text => None,
    }
}

fn convert_cells<'a>(
    var: &VariableSpec,
    lines: &[u64],
    cell: impl Fn(usize) -> Cell<'a>,
    raw_value_labels: &[(f64, String)],
    violations: &mut Vec<Violation>,
) -> ColumnData {
    let n = lines.len();
    let name = var.name.get_ref();
    let source = var.source();
    let mut report = |i: usize, rule: Rule, value: String, message: String| {
        violations.push(Violation::new(rule, Some(lines[i]), Some(source.to_string()), Some(value), message));
    };
    let required = var.required;
    let required_missing = |report: &mut dyn FnMut(usize, Rule, String, String), i: usize| {
        if required {
            report(i, Rule::RequiredMissing, String::new(), format!("'{name}' is required but missing"));
        }
    };
    match var.var_type {
        VarType::Continuous | VarType::Count => {
            let mut out = Vec::with_capacity(n);
            let count = var.var_type == VarType::Count;
            for i in 0..n {
                let v = match cell(i) {
                    Cell::Missing => {
                        required_missing(&mut report, i);
                        f64::NAN
                    }
                    Cell::Str(s) => {
                        report(i, Rule::NotANumber, s.to_string(), format!("'{name}' expects a number"));
                        f64::NAN
                    }
                    Cell::Num(v) => {
                        if count && (v < 0.0 || !is_whole(v)) {
                            report(
                                i,
                                Rule::NotInteger,
                                crate::data::format_number(v),
                                format!("'{name}' is a count: expects a whole number >= 0"),
                            );
                            f64::NAN
                        } else if let Some([lo, hi]) = var.range.filter(|[lo, hi]| v < *lo || v > *hi) {
                            report(
                                i,
                                Rule::OutOfRange,
                                crate::data::format_number(v),
                                format!(
                                    "'{name}' must lie in [{}, {}]",
                                    crate::data::format_number(lo),
                                    crate::data::format_number(hi)
                                ),
                            );
                            f64::NAN
                        } else {
                            v
                        }
                    }
                };
                out.push(v);
            }
            ColumnData::Numeric(out)
        }
        VarType::Binary | VarType::Categorical | VarType::Ordinal => {
            let (table, str_codes, binary_plain) = level_codes(var);
            let expected = || -> String {
                if binary_plain {
                    return "0 or 1".into();
                }
                var.levels
                    .iter()
                    .flat_map(|l| l.all_codes().map(move |c| format!("{} ({})", c.text(), l.name)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut codes = Vec::with_capacity(n);
            for i in 0..n {
                let code = match cell(i) {
                    Cell::Missing => {
                        required_missing(&mut report, i);
                        MISSING_CODE
                    }
                    Cell::Num(v) => match table.get(v) {
                        Some(l) => l,
                        None => {
                            report(
                                i,
                                Rule::UnknownCode,
                                crate::data::format_number(v),
                                format!("'{name}' expects one of {}", expected()),
                            );
                            MISSING_CODE
                        }
                    },
                    Cell::Str(s) => match str_codes.iter().find(|(c, _)| c == s) {
                        Some((_, l)) => *l,
                        None => {
                            report(
                                i,
                                Rule::UnknownCode,
                                s.to_string(),
                                format!("'{name}' expects one of {}", expected()),
                            );
                            MISSING_CODE
                        }
                    },
                };
                codes.push(code);
            }
            codes_to_data(var, codes, binary_plain, raw_value_labels)
        }
        VarType::Identifier => {
            // Numbers while every value is one (an identifier written as text, e.g. "007",
            // reads as its number, -0 as 0: the value of its shortest decimal form); text as
            // soon as one value is not a number.
            let mut out: Vec<f64> = Vec::with_capacity(n);
            let mut first_text = None;
            for i in 0..n {
                let v = match cell(i) {
                    Cell::Missing => {
                        required_missing(&mut report, i);
                        f64::NAN
                    }
                    Cell::Num(v) => v + 0.0,
                    Cell::Str(_) => {
                        first_text.get_or_insert(i);
                        f64::NAN
                    }
                };
                out.push(v);
            }
            match first_text {
                None => ColumnData::Numeric(out),
                Some(first) => ColumnData::Text(
                    (0..n)
                        .map(|i| match (i < first, out[i]) {
                            (true, v) if v.is_nan() => None,
                            (true, v) => Some(crate::data::format_number(v)),
                            (false, _) => match cell(i) {
                                Cell::Missing => None,
                                Cell::Num(v) => Some(crate::data::format_number(v)),
                                Cell::Str(s) => Some(s.to_string()),
                            },
                        })
                        .collect(),
                ),
            }
        }
        VarType::Text => {
            let mut out: Vec<Option<String>> = Vec::with_capacity(n);
            for i in 0..n {
                let v = match cell(i) {
                    Cell::Missing => {
                        required_missing(&mut report, i);
                        None
                    }
                    Cell::Num(v) => Some(crate::data::format_number(v)),
                    Cell::Str(s) => Some(s.to_string()),
                };
                out.push(v);
            }
            ColumnData::Text(out)
        }
    }
}
