//! Per-row predictions after the fit (`--predict FILE`; Stata's `predict` after `probit`,
//! `glm` and `twopm`).
//!
//! Rows: every row of the data the model was given (after `--if` / `--subsample`), in file
//! order, as Stata's `predict` fills every observation in memory: the predictions of a row
//! need only its covariates, so a row with a missing outcome (or weight, cluster) outside the
//! estimation sample still gets them (Stata's `predict` without `if e(sample)`), and a row with
//! a missing covariate gets empty cells. `row` is the row's number as error messages give it:
//! the line of a CSV file (header = line 1), the 1-based row of a Parquet or `.dta` file.
//! `sample` is 1 on the estimation rows (Stata's `e(sample)`), 0 elsewhere.
//!
//! Columns of a single model: `xb` (the linear index `x b`), `mu` (the mean `h(x b)`; for a
//! binary model also `pr_pos`, Pr(y != 0), the same number), `resid` (`y - mu`, the response
//! residual) and `pearson` (`(y - mu) / sqrt(V(mu))`, `V` the family's variance function, as
//! Stata's `predict, pearson` and statsmodels' `resid_pearson` for an unweighted model; the
//! estimation weights are not applied). Binary models' `y` is 1 where the outcome is non-zero.
//! A two-part model: `xb1`, `xb2` (each part's index), `pr_pos` (Pr(y > 0)), `mu_pos`
//! (E[y | y > 0], the second part's mean), `mu` (E[y] = pr_pos mu_pos) and `resid` (`y - mu`;
//! empty with `--response2`, whose second part is not on the scale of y). The two-part model
//! has no one variance function, so no Pearson residual.
//!
//! Factor levels are coded as in the fit (the fit's reference level). A row at a level the
//! estimation sample does not have gets empty cells: the model has no coefficient for it.
//! Columns dropped as collinear enter with coefficient 0, as in Stata.

use crate::data::Dataset;
use crate::design::{Design, ResolvedAtom, SampleOptions};
use crate::error::Result;
use crate::formula::{Atom, Expr, Formula};
use crate::model::twopart::TwoPartFit;
use crate::model::{FamilyKind, Fit};

/// A per-row table: the rows' numbers and named columns (NaN: an empty cell).
#[derive(Debug, Clone, Default)]
pub struct PredictionTable {
    pub rows: Vec<u64>,
    pub columns: Vec<(String, Vec<f64>)>,
}

/// The formula's right-hand side with a constant response (rows need their covariates only)
/// and each `C(var)` at the fit's reference level.
fn covariate_formula(formula: &Formula, fit: &Fit) -> Formula {
    let mut f = formula.clone();
    f.response = Some((Expr::Num(1.0), "1".into()));
    for a in &mut f.atoms {
        if let Atom::Categorical { var, reference } = &mut a.atom {
            let fitted = fit.design.spec.atoms.iter().find_map(|r| match r {
                ResolvedAtom::Factor { text, var: v, levels, reference: r, .. } if text == &a.text && v == var => {
                    Some(levels[*r].name.clone())
                }
                _ => None,
            });
            if let Some(name) = fitted {
                *reference = Some(name);
            }
        }
    }
    f
}

/// The fit's linear index on every row of `ds` (NaN where a covariate is missing or a level is
/// unknown to the fit).
fn linear_index(ds: &Dataset, formula: &Formula, fit: &Fit) -> Result<Vec<f64>> {
    let f = covariate_formula(formula, fit);
    let d = Design::build(ds, &f, &SampleOptions::default())?;
    // Each column of the covariate design: its coefficient (Some), 0 (a column the fit dropped
    // as collinear) or unknown (a level the estimation rows do not have: NaN where non-zero).
    let omitted: Vec<&str> = fit.omitted.iter().map(|o| o.term.as_str()).collect();
    let coef: Vec<Option<f64>> = d
        .names
        .iter()
        .map(|n| match fit.design.names.iter().position(|m| m == n) {
            Some(k) => Some(fit.beta[k]),
            None if omitted.contains(&n.as_str()) => Some(0.0),
            None => None,
        })
        .collect();
    let mut eta = vec![f64::NAN; ds.n_rows()];
    let k = d.x.ncols();
    let x = d.x.as_slice().expect("designs are row-major");
    for (r, &row) in d.rows.iter().enumerate() {
        let mut e = 0.0;
        for (j, c) in coef.iter().enumerate() {
            let v = x[r * k + j];
            match c {
                Some(b) => e += v * b,
                None if v != 0.0 => {
                    e = f64::NAN;
                    break;
                }
                None => {}
            }
        }
        eta[row] = e;
    }
    Ok(eta)
}

/// The response on every row (NaN where missing); binary models' `y != 0`.
fn response(ds: &Dataset, formula: &Formula, binary: bool) -> Result<Vec<f64>> {
    let (expr, _) = formula.response.clone().expect("a fitted formula has a response");
    let y = crate::design::eval_on_dataset(ds, &expr)?;
    Ok(if binary {
        y.into_iter().map(|v| if v.is_nan() { v } else { f64::from(u8::from(v != 0.0)) }).collect()
    } else {
        y
    })
}

fn sample_column(n: usize, rows: &[usize]) -> Vec<f64> {
    let mut s = vec![0.0; n];
    for &r in rows {
        s[r] = 1.0;
    }
    s
}

/// Per-row predictions of a single model (see the module docs).
pub fn single(ds: &Dataset, formula: &Formula, fit: &Fit) -> Result<PredictionTable> {
    let binary = fit.spec.family == FamilyKind::Binomial;
    let eta = linear_index(ds, formula, fit)?;
    let y = response(ds, formula, binary)?;
    let link = fit.spec.link.link();
    let family = fit.spec.family.family();
    let n = ds.n_rows();
    let (mut mu, mut resid, mut pearson) = (vec![f64::NAN; n], vec![f64::NAN; n], vec![f64::NAN; n]);
    for i in 0..n {
        if eta[i].is_nan() {
            continue;
        }
        let v = link.eval(eta[i]);
        mu[i] = v.mu;
        resid[i] = y[i] - v.mu;
        pearson[i] = resid[i] / family.variance(v.mu, v.mu_c).sqrt();
    }
    let mut columns = vec![("sample".to_string(), sample_column(n, &fit.design.rows)), ("xb".to_string(), eta)];
    if binary {
        columns.push(("pr_pos".into(), mu.clone()));
    }
    columns.extend([("mu".to_string(), mu), ("resid".to_string(), resid), ("pearson".to_string(), pearson)]);
    Ok(PredictionTable { rows: ds.line_numbers.clone(), columns })
}

/// Per-row predictions of a two-part model (see the module docs): `formula` the first part's,
/// `formula2` the second part's regressors if they differ, `log_scale` true with `--response2`.
pub fn twopart(
    ds: &Dataset,
    formula: &Formula,
    formula2: Option<&Formula>,
    tp: &TwoPartFit,
    response2: bool,
) -> Result<PredictionTable> {
    let eta1 = linear_index(ds, formula, &tp.first)?;
    let eta2 = linear_index(ds, formula2.unwrap_or(formula), &tp.second)?;
    let y = response(ds, formula, false)?;
    let (l1, l2) = (tp.first.spec.link.link(), tp.second.spec.link.link());
    let n = ds.n_rows();
    let (mut pr, mut mp, mut mu, mut resid) =
        (vec![f64::NAN; n], vec![f64::NAN; n], vec![f64::NAN; n], vec![f64::NAN; n]);
    for i in 0..n {
        if !eta1[i].is_nan() {
            pr[i] = l1.eval(eta1[i]).mu;
        }
        if !eta2[i].is_nan() {
            mp[i] = l2.eval(eta2[i]).mu;
        }
        mu[i] = pr[i] * mp[i];
        if !response2 {
            resid[i] = y[i] - mu[i];
        }
    }
    Ok(PredictionTable {
        rows: ds.line_numbers.clone(),
        columns: vec![
            ("sample".into(), sample_column(n, &tp.first.design.rows)),
            ("xb1".into(), eta1),
            ("xb2".into(), eta2),
            ("pr_pos".into(), pr),
            ("mu_pos".into(), mp),
            ("mu".into(), mu),
            ("resid".into(), resid),
        ],
    })
}

impl PredictionTable {
    /// Writes the table atomically: CSV (17 significant digits, empty cells for NaN) or
    /// Parquet (`row` INT64, the others optional DOUBLE, null for NaN), by the extension.
    pub fn write(&self, path: &std::path::Path) -> Result<()> {
        let bytes = match super::PredictFormat::of(path)? {
            super::PredictFormat::Csv => self.csv().into_bytes(),
            super::PredictFormat::Parquet => crate::data::export::parquet_bytes(&self.rows, &self.columns)?,
        };
        crate::io::write_atomic(path, &bytes)
    }

    fn csv(&self) -> String {
        let mut s = String::from("row");
        for (name, _) in &self.columns {
            s.push(',');
            s.push_str(name);
        }
        s.push('\n');
        for (i, r) in self.rows.iter().enumerate() {
            s.push_str(&r.to_string());
            for (_, c) in &self.columns {
                s.push(',');
                let v = c[i];
                if v.is_finite() {
                    s.push_str(&crate::output::format_g17(v));
                }
            }
            s.push('\n');
        }
        s
    }
}
