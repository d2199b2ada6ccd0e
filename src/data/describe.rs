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
use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor};

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

/// A statistical test of a row against the groups.
#[derive(Debug, Clone, Serialize)]
pub struct Test {
    /// `chi2` or `anova`.
    pub test: &'static str,
    pub statistic: f64,
    pub df1: f64,
    pub df2: Option<f64>,
    pub p_value: f64,
}

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

/// Pearson's chi-square test of independence on a rows x groups table of counts; rows and
/// columns with a zero total are dropped (as Stata does).
pub fn chi2_test(table: &[Vec<u64>]) -> Option<Test> {
    let rows: Vec<&Vec<u64>> = table.iter().filter(|r| r.iter().sum::<u64>() > 0).collect();
    if rows.is_empty() {
        return None;
    }
    let ncol = rows[0].len();
    let cols: Vec<usize> = (0..ncol).filter(|&j| rows.iter().map(|r| r[j]).sum::<u64>() > 0).collect();
    if rows.len() < 2 || cols.len() < 2 {
        return None;
    }
    let total: f64 = rows.iter().map(|r| cols.iter().map(|&j| r[j]).sum::<u64>()).sum::<u64>() as f64;
    let row_tot: Vec<f64> = rows.iter().map(|r| cols.iter().map(|&j| r[j]).sum::<u64>() as f64).collect();
    let col_tot: Vec<f64> = cols.iter().map(|&j| rows.iter().map(|r| r[j]).sum::<u64>() as f64).collect();
    let mut stat = 0.0;
    for (i, r) in rows.iter().enumerate() {
        for (jj, &j) in cols.iter().enumerate() {
            let e = row_tot[i] * col_tot[jj] / total;
            let d = r[j] as f64 - e;
            stat += d * d / e;
        }
    }
    let df = ((rows.len() - 1) * (cols.len() - 1)) as f64;
    let p = ChiSquared::new(df).ok()?.sf(stat);
    Some(Test { test: "chi2", statistic: stat, df1: df, df2: None, p_value: p })
}

/// One-way ANOVA across groups (groups with no values are dropped).
pub fn anova(groups: &[Vec<f64>]) -> Option<Test> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let k = groups.len();
    let n: usize = groups.iter().map(|g| g.len()).sum();
    if k < 2 || n <= k {
        return None;
    }
    let grand = groups.iter().map(|g| g.iter().sum::<f64>()).sum::<f64>() / n as f64;
    let mut ssb = 0.0;
    let mut ssw = 0.0;
    for g in &groups {
        let m = g.iter().sum::<f64>() / g.len() as f64;
        ssb += g.len() as f64 * (m - grand) * (m - grand);
        ssw += g.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    }
    let (df1, df2) = ((k - 1) as f64, (n - k) as f64);
    let f = (ssb / df1) / (ssw / df2);
    if !f.is_finite() {
        return None;
    }
    let p = FisherSnedecor::new(df1, df2).ok()?.sf(f);
    Some(Test { test: "anova", statistic: f, df1, df2: Some(df2), p_value: p })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_two_by_two_matches_hand_computation() {
        // [[10, 20], [30, 40]]: expected [[12, 18], [28, 42]], chi2 = 0.79365079365...
        let t = chi2_test(&[vec![10, 20], vec![30, 40]]).unwrap();
        assert!((t.statistic - 0.793_650_793_650_793_7).abs() < 1e-12, "{}", t.statistic);
        assert_eq!(t.df1, 1.0);
    }

    #[test]
    fn anova_of_identical_groups_is_one() {
        let t = anova(&[vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]]).unwrap();
        assert!(t.statistic.abs() < 1e-15 && (t.p_value - 1.0).abs() < 1e-12);
    }
}
