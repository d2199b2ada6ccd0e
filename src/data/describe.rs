//! Descriptive tables in the layout of the reference study's Tables 1 and 2.
//!
//! Categorical variables give one row per level with n (%), binary variables one row with the
//! count and share of ones, continuous variables mean (SD). Percentages are of the non-missing
//! values of the variable in each column; the SD has the n - 1 denominator (Stata's
//! `summarize`, R's `sd`). With a grouping variable the table gains one column per group and
//! a p-value: Pearson's chi-square test of independence for categorical and binary rows
//! (no continuity correction, as Stata's `tabulate, chi2`; scipy needs `correction=False`),
//! one-way ANOVA (Stata's `oneway`, scipy's `f_oneway`) for continuous rows. Rows with a
//! missing grouping value enter only the Total column.
//!
//! This module computes the table; `report::describe` renders it (text, Markdown, CSV,
//! JSON), in English or with the schema's Chinese labels.

use crate::data::{ColumnData, Dataset, MISSING_CODE};
use crate::stats::{anova, chi2_test};
use serde::Serialize;

/// One column of the table: the total or a group.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    pub label: String,
    /// The Chinese label (a level's `label_zh`), for `--lang zh`; not in the JSON.
    #[serde(skip)]
    pub label_zh: Option<String>,
    /// Rows in this column.
    pub n: usize,
}

/// One cell.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cell {
    /// n (%): `n` rows in the level out of `total` non-missing.
    Count { n: u64, total: u64, pct: f64 },
    /// mean (SD) over `n` non-missing values.
    Mean { n: u64, mean: f64, sd: f64 },
    /// A variable heading (categorical variables); no numbers.
    Heading,
}

pub use crate::stats::Test;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub variable: String,
    pub label: String,
    /// The Chinese label (the schema's `label_zh` of the variable or level), for `--lang zh`;
    /// not in the JSON.
    #[serde(skip)]
    pub label_zh: Option<String>,
    /// The level, for rows of categorical variables.
    pub level: Option<String>,
    pub cells: Vec<Cell>,
    pub test: Option<Test>,
}

/// A descriptive table.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub source: String,
    pub by: Option<String>,
    pub groups: Vec<Group>,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

/// Options of a descriptive table.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Variables, in order; all numeric and categorical columns when `None`.
    pub vars: Option<Vec<String>>,
    pub by: Option<String>,
    /// Add tests when grouped.
    pub tests: bool,
    /// Columns never described by default (identifiers, design fields).
    pub exclude: Vec<String>,
}

/// Builds the table.
pub fn describe(ds: &Dataset, opts: &Options) -> Result<Table, String> {
    let n = ds.n_rows();
    // Group of each row (None = missing group) and the groups.
    let mut groups = vec![Group { name: "total".into(), label: "Total".into(), label_zh: None, n }];
    let mut group_of: Vec<Option<usize>> = vec![None; n];
    if let Some(by) = &opts.by {
        let col = ds.column(by).ok_or_else(|| {
            let hint = ds.closest_name(by).map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default();
            format!("grouping by: unknown variable '{by}'{hint}")
        })?;
        match &col.data {
            ColumnData::Categorical(f) => {
                for (i, l) in f.levels.iter().enumerate() {
                    let count = f.codes.iter().filter(|&&c| c as usize == i).count();
                    groups.push(Group {
                        name: l.name.clone(),
                        label: l.label.clone().unwrap_or_else(|| l.name.clone()),
                        label_zh: l.label_zh.clone(),
                        n: count,
                    });
                }
                for (r, &c) in f.codes.iter().enumerate() {
                    if c != MISSING_CODE {
                        group_of[r] = Some(c as usize);
                    }
                }
            }
            ColumnData::Numeric(v) => {
                let mut distinct: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                distinct.sort_by(f64::total_cmp);
                distinct.dedup();
                if distinct.len() > 50 {
                    return Err(format!(
                        "grouping by {by}: the variable has {} distinct values; group by a categorical variable",
                        distinct.len()
                    ));
                }
                for d in &distinct {
                    let name = crate::data::format_number(*d);
                    groups.push(Group {
                        name: name.clone(),
                        label: format!("{by} = {name}"),
                        label_zh: None,
                        n: v.iter().filter(|x| *x == d).count(),
                    });
                }
                for (r, x) in v.iter().enumerate() {
                    if !x.is_nan() {
                        group_of[r] = distinct.iter().position(|d| d == x);
                    }
                }
            }
            ColumnData::Text(_) => {
                return Err(format!(
                    "grouping by {by}: a text variable cannot group rows; declare it categorical in the schema"
                ))
            }
        }
    }
    let k = groups.len() - 1;
    let col_of = |r: usize| -> Vec<usize> {
        let mut v = vec![0];
        if let Some(g) = group_of[r] {
            v.push(g + 1);
        }
        v
    };

    let mut notes = Vec::new();
    let names: Vec<String> = match &opts.vars {
        Some(v) => v.clone(),
        None => {
            let candidates =
                ds.columns().iter().filter(|c| Some(&c.name) != opts.by.as_ref() && !opts.exclude.contains(&c.name));
            let mut names = Vec::new();
            for c in candidates {
                match &c.data {
                    // A column of numbers with a few bad values (`inf`, `abc`) is read as text;
                    // say so rather than leave it out silently (issue #19). A column of words
                    // (names, free text) is left out as before.
                    ColumnData::Text(values) => notes.extend(mostly_numeric_note(ds, &c.name, values)),
                    _ => names.push(c.name.clone()),
                }
            }
            names
        }
    };
    let mut rows = Vec::new();
    for name in &names {
        let col = ds.column(name).ok_or_else(|| {
            let hint = ds.closest_name(name).map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default();
            format!("unknown variable '{name}'{hint}")
        })?;
        let label = col.label.clone().unwrap_or_else(|| name.clone());
        let label_zh = col.label_zh.clone();
        match &col.data {
            ColumnData::Categorical(f) => {
                let nl = f.levels.len();
                // counts[level][column]
                let mut counts = vec![vec![0u64; k + 1]; nl];
                for (r, &c) in f.codes.iter().enumerate() {
                    if c != MISSING_CODE {
                        for j in col_of(r) {
                            counts[c as usize][j] += 1;
                        }
                    }
                }
                let totals: Vec<u64> = (0..=k).map(|j| counts.iter().map(|c| c[j]).sum()).collect();
                let test = if opts.tests && k >= 2 {
                    chi2_test(&counts.iter().map(|c| c[1..].to_vec()).collect::<Vec<_>>())
                } else {
                    None
                };
                rows.push(Row {
                    variable: name.clone(),
                    label: label.clone(),
                    label_zh: label_zh.clone(),
                    level: None,
                    cells: vec![Cell::Heading; k + 1],
                    test,
                });
                for (li, l) in f.levels.iter().enumerate() {
                    let cells = (0..=k).map(|j| count_cell(counts[li][j], totals[j])).collect();
                    rows.push(Row {
                        variable: name.clone(),
                        label: l.label.clone().unwrap_or_else(|| l.name.clone()),
                        label_zh: l.label_zh.clone(),
                        level: Some(l.name.clone()),
                        cells,
                        test: None,
                    });
                }
            }
            ColumnData::Numeric(v) => {
                let binary = v.iter().all(|x| x.is_nan() || *x == 0.0 || *x == 1.0) && v.iter().any(|x| !x.is_nan());
                if binary {
                    let mut ones = vec![0u64; k + 1];
                    let mut totals = vec![0u64; k + 1];
                    for (r, x) in v.iter().enumerate() {
                        if !x.is_nan() {
                            for j in col_of(r) {
                                totals[j] += 1;
                                ones[j] += u64::from(*x == 1.0);
                            }
                        }
                    }
                    let test = if opts.tests && k >= 2 {
                        let table =
                            vec![(1..=k).map(|j| ones[j]).collect(), (1..=k).map(|j| totals[j] - ones[j]).collect()];
                        chi2_test(&table)
                    } else {
                        None
                    };
                    let cells = (0..=k).map(|j| count_cell(ones[j], totals[j])).collect();
                    rows.push(Row { variable: name.clone(), label, label_zh, level: None, cells, test });
                } else {
                    let mut per: Vec<Vec<f64>> = vec![Vec::new(); k + 1];
                    for (r, x) in v.iter().enumerate() {
                        if !x.is_nan() {
                            for j in col_of(r) {
                                per[j].push(*x);
                            }
                        }
                    }
                    let cells = per.iter().map(|xs| mean_cell(xs)).collect();
                    let test = if opts.tests && k >= 2 { anova(&per[1..]) } else { None };
                    rows.push(Row { variable: name.clone(), label, label_zh, level: None, cells, test });
                }
            }
            ColumnData::Text(values) => notes.push(
                mostly_numeric_note(ds, name, values)
                    .unwrap_or_else(|| format!("'{name}' is text and is not described")),
            ),
        }
    }
    if opts.tests && k >= 2 {
        notes.push("p-values: Pearson chi-square test (no continuity correction) for n (%) rows; one-way ANOVA for mean (SD) rows.".into());
    }
    notes.push("n (%): percentages of non-missing values; mean (SD): SD with denominator n - 1.".into());
    Ok(Table { source: ds.source.clone(), by: opts.by.clone(), groups, rows, notes })
}

fn count_cell(n: u64, total: u64) -> Cell {
    let pct = if total > 0 { 100.0 * n as f64 / total as f64 } else { f64::NAN };
    Cell::Count { n, total, pct }
}

/// The note for a text column that holds numbers and some values that are not numbers: the
/// first bad value and its line, as `fit` reports it; `None` when no value is a number.
fn mostly_numeric_note(ds: &Dataset, name: &str, values: &[Option<String>]) -> Option<String> {
    let is_number = |v: &Option<String>| v.as_deref().is_some_and(|s| crate::data::csv::parse_number(s).is_some());
    if !values.iter().any(is_number) {
        return None;
    }
    let bad: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_some() && !is_number(&values[i])).collect();
    let first = *bad.first()?;
    let line = ds.line_numbers.get(first).map_or(String::new(), |l| format!("line {l} has "));
    let more = if bad.len() > 1 { format!(" (and {} more non-numeric values)", bad.len() - 1) } else { String::new() };
    Some(format!(
        "'{name}' is not described: it holds numbers, but {line}the value '{}'{more}, so it was read as text \
(fit refuses it as a number too); correct or blank those values",
        values[first].as_deref().unwrap_or_default()
    ))
}

/// Mean and SD (n - 1) by two passes; when the plain sums overflow (values near 1e308, whose
/// mean and SD are finite), the same two passes on the values divided by their largest
/// magnitude, scaled back (issue #19: the SD of 1e308, 1.1e308, 1.2e308 was printed as inf).
fn mean_cell(xs: &[f64]) -> Cell {
    let n = xs.len();
    let (mut mean, mut sd) = mean_sd(xs, 1.0);
    let all_finite = xs.iter().all(|x| x.is_finite());
    if all_finite && n > 0 && (!mean.is_finite() || (n > 1 && !sd.is_finite())) {
        let scale = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let (m, s) = mean_sd(xs, scale);
        mean = m * scale;
        sd = s * scale;
    }
    Cell::Mean { n: n as u64, mean, sd }
}

/// Mean and SD of `xs / scale`.
fn mean_sd(xs: &[f64], scale: f64) -> (f64, f64) {
    let n = xs.len();
    let mean = xs.iter().map(|x| x / scale).sum::<f64>() / n as f64;
    let ss: f64 = xs.iter().map(|x| (x / scale - mean) * (x / scale - mean)).sum();
    let sd = if n > 1 { (ss / (n - 1) as f64).sqrt() } else { f64::NAN };
    (mean, sd)
}
