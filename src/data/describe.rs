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

use crate::data::{ColumnData, Dataset, MISSING_CODE};
use serde::Serialize;
use crate::stats::{anova, chi2_test};
use std::fmt::Write;

/// One column of the table: the total or a group.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    pub label: String,
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
    let mut groups = vec![Group { name: "total".into(), label: "Total".into(), n }];
    let mut group_of: Vec<Option<usize>> = vec![None; n];
    if let Some(by) = &opts.by {
        let col = ds.column(by).ok_or_else(|| {
            let hint = ds.closest_name(by).map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default();
            format!("--by: unknown variable '{by}'{hint}")
        })?;
        match &col.data {
            ColumnData::Categorical(f) => {
                for (i, l) in f.levels.iter().enumerate() {
                    let count = f.codes.iter().filter(|&&c| c as usize == i).count();
                    groups.push(Group {
                        name: l.name.clone(),
                        label: l.label.clone().unwrap_or_else(|| l.name.clone()),
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
                        "--by {by}: the variable has {} distinct values; group by a categorical variable",
                        distinct.len()
                    ));
                }
                for d in &distinct {
                    let name = crate::data::format_number(*d);
                    groups.push(Group {
                        name: name.clone(),
                        label: format!("{by} = {name}"),
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
                    "--by {by}: a text variable cannot group rows; declare it categorical in the schema"
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

    let names: Vec<String> = match &opts.vars {
        Some(v) => v.clone(),
        None => ds
            .columns()
            .iter()
            .filter(|c| !matches!(c.data, ColumnData::Text(_)))
            .map(|c| c.name.clone())
            .filter(|c| Some(c) != opts.by.as_ref() && !opts.exclude.contains(c))
            .collect(),
    };
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for name in &names {
        let col = ds.column(name).ok_or_else(|| {
            let hint = ds.closest_name(name).map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default();
            format!("unknown variable '{name}'{hint}")
        })?;
        let label = col.label.clone().unwrap_or_else(|| name.clone());
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
                    level: None,
                    cells: vec![Cell::Heading; k + 1],
                    test,
                });
                for (li, l) in f.levels.iter().enumerate() {
                    let cells = (0..=k).map(|j| count_cell(counts[li][j], totals[j])).collect();
                    rows.push(Row {
                        variable: name.clone(),
                        label: l.label.clone().unwrap_or_else(|| l.name.clone()),
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
                    rows.push(Row { variable: name.clone(), label, level: None, cells, test });
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
                    rows.push(Row { variable: name.clone(), label, level: None, cells, test });
                }
            }
            ColumnData::Text(_) => notes.push(format!("'{name}' is text and is not described")),
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

fn mean_cell(xs: &[f64]) -> Cell {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    let sd = if n > 1 { (ss / (n - 1) as f64).sqrt() } else { f64::NAN };
    Cell::Mean { n: n as u64, mean, sd }
}

// ---------------------------------------------------------------------------------------------
// Renderers

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Count { n, pct, .. } if pct.is_nan() => format!("{n} (-)"),
        Cell::Count { n, pct, .. } => format!("{n} ({pct:.2})"),
        Cell::Mean { n: 0, .. } => "-".into(),
        Cell::Mean { mean, sd, .. } if sd.is_nan() => format!("{mean:.2} (-)"),
        Cell::Mean { mean, sd, .. } => format!("{mean:.2} ({sd:.2})"),
        Cell::Heading => String::new(),
    }
}

/// A p-value as tables print it: three decimals, `<0.001` below.
pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

impl Table {
    fn has_tests(&self) -> bool {
        self.rows.iter().any(|r| r.test.is_some())
    }

    /// Header and body as strings (shared by the text, Markdown and CSV renderers).
    fn grid(&self, indent: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let mut head = vec!["Variable".to_string()];
        head.extend(self.groups.iter().map(|g| format!("{} (N={})", g.label, g.n)));
        if self.has_tests() {
            head.push("p".into());
        }
        let body = self
            .rows
            .iter()
            .map(|r| {
                let mut v = vec![if r.level.is_some() { format!("{indent}{}", r.label) } else { r.label.clone() }];
                v.extend(r.cells.iter().map(cell_text));
                if self.has_tests() {
                    v.push(r.test.as_ref().map(|t| p_text(t.p_value)).unwrap_or_default());
                }
                v
            })
            .collect();
        (head, body)
    }

    pub fn to_text(&self) -> String {
        let (head, body) = self.grid("  ");
        let ncol = head.len();
        let width = |j: usize| {
            std::iter::once(&head[j]).chain(body.iter().map(|r| &r[j])).map(|s| s.chars().count()).max().unwrap_or(0)
        };
        let widths: Vec<usize> = (0..ncol).map(width).collect();
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            for (j, c) in cells.iter().enumerate() {
                let pad = widths[j] - c.chars().count();
                if j == 0 {
                    let _ = write!(out, "{c}{}", " ".repeat(pad));
                } else {
                    let _ = write!(out, "  {}{c}", " ".repeat(pad));
                }
            }
            out.push('\n');
        };
        line(&head, &mut out);
        let total: usize = widths.iter().sum::<usize>() + 2 * (ncol - 1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for r in &body {
            line(r, &mut out);
        }
        for n in &self.notes {
            let _ = writeln!(out, "Note: {n}");
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let (head, body) = self.grid("&nbsp;&nbsp;");
        let esc = |s: &str| s.replace('|', "\\|");
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", head.iter().map(|s| esc(s)).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(
            out,
            "|{}|",
            (0..head.len()).map(|j| if j == 0 { ":---" } else { "---:" }).collect::<Vec<_>>().join("|")
        );
        for r in &body {
            let _ = writeln!(out, "| {} |", r.iter().map(|s| esc(s)).collect::<Vec<_>>().join(" | "));
        }
        out.push('\n');
        for n in &self.notes {
            let _ = writeln!(out, "{n}  ");
        }
        out
    }

    /// CSV: one line per row and column statistic, at full precision (for further processing).
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            "variable",
            "level",
            "label",
            "group",
            "n",
            "total",
            "pct",
            "mean",
            "sd",
            "test",
            "statistic",
            "p_value",
        ]);
        for r in &self.rows {
            for (g, c) in self.groups.iter().zip(&r.cells) {
                let (n, total, pct, mean, sd) = match c {
                    Cell::Count { n, total, pct } => {
                        (n.to_string(), total.to_string(), fmt17(*pct), String::new(), String::new())
                    }
                    Cell::Mean { n, mean, sd } => {
                        (n.to_string(), String::new(), String::new(), fmt17(*mean), fmt17(*sd))
                    }
                    Cell::Heading => continue,
                };
                let _ = w.write_record([
                    r.variable.as_str(),
                    r.level.as_deref().unwrap_or(""),
                    r.label.as_str(),
                    g.name.as_str(),
                    &n,
                    &total,
                    &pct,
                    &mean,
                    &sd,
                    "",
                    "",
                    "",
                ]);
            }
            if let Some(t) = &r.test {
                let _ = w.write_record([
                    r.variable.as_str(),
                    "",
                    r.label.as_str(),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    t.test,
                    &fmt17(t.statistic),
                    &fmt17(t.p_value),
                ]);
            }
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

/// Shortest round-trip form (17 significant digits at most), empty for NaN.
fn fmt17(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x:?}")
    }
}
