//! Tables 1-4 of Wang et al. (2022): the published cells beside the reproduced ones.

use super::{SampleFits, Spec, TABLE1_CSV, TABLE2_CSV, TABLE3_CSV, TABLE4_CSV};
use crate::data::{ColumnData, Dataset, MISSING_CODE};
use crate::error::{usage, Result};
use crate::study::compare::{judge, Cell};
use crate::study::rows_at_level;
use std::collections::BTreeMap;

fn read_csv(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(|s| s.to_string()).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header.iter().cloned().zip(r.iter().map(|s| s.to_string())).collect()
        })
        .collect()
}

fn num(s: Option<&String>) -> Option<f64> {
    s.and_then(|v| v.trim().parse::<f64>().ok())
}

/// The Table 3 and Table 4 comparisons (marginal effects).
pub fn compare_effects(spec: &Spec, fits: &[SampleFits]) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    let find = |sample: &str, part: &str, term: &str| -> Option<(f64, f64)> {
        let s = fits.iter().find(|s| s.sample == sample)?;
        let f = &s.parts.iter().find(|p| p.0 == part)?.1;
        f.ame(term).map(|m| (m.estimate, m.std_error))
    };
    let mut add = |table: &str, sample: &str, rec: &BTreeMap<String, String>| -> Result<()> {
        let term = &rec["term"];
        let Some(ours) = spec.terms.get(term) else {
            return Ok(());
        };
        for p in &spec.part {
            let (Some(pm), Some(ps)) =
                (num(rec.get(&format!("{}_me", p.name))), num(rec.get(&format!("{}_se", p.name))))
            else {
                continue;
            };
            let (rm, rs) = find(sample, &p.name, ours).unwrap_or((f64::NAN, f64::NAN));
            let (d, w) = judge(pm, ps, rm);
            cells.push(Cell {
                table: table.into(),
                row: if table == "table4" { format!("{sample}: {term}") } else { term.clone() },
                column: p.name.clone(),
                published: pm,
                published_se: Some(ps),
                reproduced: rm,
                reproduced_se: Some(rs),
                diff_se: d,
                within: if rm.is_nan() { Some(false) } else { w },
            });
        }
        Ok(())
    };
    for rec in read_csv(TABLE3_CSV) {
        if rec["block"] == "n" {
            continue;
        }
        add("table3", "total", &rec)?;
    }
    for rec in read_csv(TABLE4_CSV) {
        let s = rec["subsample"].clone();
        add("table4", &s, &rec)?;
    }
    Ok(cells)
}

fn numeric<'a>(ds: &'a Dataset, var: &str) -> Result<&'a [f64]> {
    match ds.column(var).map(|c| &c.data) {
        Some(ColumnData::Numeric(v)) => Ok(v),
        _ => Err(usage(format!("the data has no numeric column '{var}'"))),
    }
}

/// Values of a Table 1 item on the rows in `rows`: numeric variable or `var=level` indicator.
fn item_values(ds: &Dataset, what: &str, rows: &[bool]) -> Result<Vec<f64>> {
    let v: Vec<f64> = if let Some((var, level)) = what.split_once('=') {
        let at = rows_at_level(ds, var, level)?;
        let miss: Vec<bool> = match ds.column(var).map(|c| &c.data) {
            Some(ColumnData::Categorical(f)) => f.codes.iter().map(|&c| c == MISSING_CODE).collect(),
            _ => unreachable!(),
        };
        at.iter()
            .zip(miss)
            .map(|(a, m)| {
                if m {
                    f64::NAN
                } else if *a {
                    1.0
                } else {
                    0.0
                }
            })
            .collect()
    } else {
        numeric(ds, what)?.to_vec()
    };
    Ok(v.iter().zip(rows).filter(|(x, r)| **r && !x.is_nan()).map(|(x, _)| *x).collect())
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let ss = v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    (m, (ss / (n - 1.0)).sqrt())
}

/// Table 1: shares and means by insurance group, beside the published ones. SE of a
/// published share p (percent) in a group of n: sqrt(p (100 - p) / n); of a published mean:
/// SD / sqrt(n) with the published SD and the reproduced number of non-missing values.
pub fn compare_table1(spec: &Spec, ds: &Dataset) -> Result<Vec<Cell>> {
    let all = vec![true; ds.n_rows()];
    let groups = [
        ("total", all.clone()),
        ("ncms", rows_at_level(ds, "scheme_group", "ncms")?),
        ("urban", rows_at_level(ds, "scheme_group", "urban")?),
    ];
    let mut cells = Vec::new();
    for rec in read_csv(TABLE1_CSV) {
        let row = rec["row"].clone();
        for (g, rows) in &groups {
            let Some(pv) = num(rec.get(*g)) else { continue };
            let second = num(rec.get(&format!("{g}_pct_or_sd")));
            let n_group = rows.iter().filter(|r| **r).count() as f64;
            if rec["kind"] == "count" {
                cells.push(Cell {
                    table: "table1".into(),
                    row: row.clone(),
                    column: g.to_string(),
                    published: pv,
                    published_se: None,
                    reproduced: n_group,
                    reproduced_se: None,
                    diff_se: None,
                    within: None,
                });
                continue;
            }
            let Some(what) = spec.table1.get(&row) else { continue };
            let v = item_values(ds, what, rows)?;
            if rec["kind"] == "n_pct" {
                let Some(pp) = second else { continue };
                let rp = 100.0 * v.iter().sum::<f64>() / v.len() as f64;
                let se = (pp * (100.0 - pp) / n_group).sqrt();
                let (d, w) = if se > 0.0 { judge(pp, se, rp) } else { (None, Some((rp - pp).abs() < 0.005)) };
                cells.push(Cell {
                    table: "table1".into(),
                    row: format!("{row} (%)"),
                    column: g.to_string(),
                    published: pp,
                    published_se: Some(se),
                    reproduced: rp,
                    reproduced_se: Some((rp * (100.0 - rp) / v.len() as f64).sqrt()),
                    diff_se: d,
                    within: w,
                });
            } else {
                let Some(psd) = second else { continue };
                let (m, sd) = mean_sd(&v);
                let se = psd / (v.len() as f64).sqrt();
                let (d, w) = judge(pv, se, m);
                cells.push(Cell {
                    table: "table1".into(),
                    row: format!("{row} (mean)"),
                    column: g.to_string(),
                    published: pv,
                    published_se: Some(se),
                    reproduced: m,
                    reproduced_se: Some(sd / (v.len() as f64).sqrt()),
                    diff_se: d,
                    within: w,
                });
            }
        }
    }
    Ok(cells)
}

/// Table 2: means by migration scope with the published tests' p-values.
pub fn compare_table2(spec: &Spec, ds: &Dataset) -> Result<Vec<Cell>> {
    let group_var = spec.table2.get("group").map(String::as_str).unwrap_or("scope");
    let levels = ["within_city", "across_cities", "across_provinces"];
    let rows: Vec<Vec<bool>> = levels.iter().map(|l| rows_at_level(ds, group_var, l)).collect::<Result<_>>()?;
    let mut cells = Vec::new();
    for rec in read_csv(TABLE2_CSV) {
        let var = rec["variable"].clone();
        let Some(col) = spec.table2.get(&var) else { continue };
        let vals: Vec<Vec<f64>> = rows.iter().map(|r| item_values(ds, col, r)).collect::<Result<_>>()?;
        let binary = vals.iter().flatten().all(|x| *x == 0.0 || *x == 1.0);
        let scale = if binary { 100.0 } else { 1.0 };
        for (k, l) in ["within_city", "across_cities", "across_provinces"].iter().enumerate() {
            let text = &rec[*l];
            let (pm, psd) = match text.split_once('(') {
                Some((a, b)) => (
                    a.trim().parse::<f64>().unwrap_or(f64::NAN),
                    b.trim_end_matches(')').trim().parse::<f64>().unwrap_or(f64::NAN),
                ),
                None => continue,
            };
            let (m, sd) = mean_sd(&vals[k]);
            let se = psd / (vals[k].len() as f64).sqrt();
            let (d, w) = judge(pm, se, scale * m);
            cells.push(Cell {
                table: "table2".into(),
                row: format!("{var} (mean)"),
                column: levels[k].to_string(),
                published: pm,
                published_se: Some(se),
                reproduced: scale * m,
                reproduced_se: Some(scale * sd / (vals[k].len() as f64).sqrt()),
                diff_se: d,
                within: w,
            });
        }
        // The test: chi-square for a 0/1 variable, one-way ANOVA otherwise.
        let p = if binary {
            crate::stats::chi2_binary_groups(&vals)
        } else {
            crate::stats::anova(&vals).map_or(f64::NAN, |t| t.p_value)
        };
        let pub_p = rec["p_value"].trim_start_matches('<').parse::<f64>().unwrap_or(f64::NAN);
        cells.push(Cell {
            table: "table2".into(),
            row: format!("{var} (p, {})", if binary { "chi-square" } else { "ANOVA" }),
            column: "p_value".into(),
            published: pub_p,
            published_se: None,
            reproduced: p,
            reproduced_se: None,
            diff_se: None,
            within: None,
        });
    }
    Ok(cells)
}

