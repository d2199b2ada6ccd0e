//! Two-part models (Stata's `twopm`): a binary model for `Pr(y > 0)` on every row and a GLM
//! for `E[y | y > 0]` on the positive rows; the combined prediction is
//! `E[y] = Pr(y > 0) E[y | y > 0]` for every estimation row, zeros included.
//!
//! Both parts use the same rows (every variable of both formulas, the weight and the cluster
//! variable non-missing), so that the combined prediction is defined on one sample. The joint
//! variance is block-diagonal by default (as `twopm`), or one sandwich of both parts' stacked
//! scores (as `twopm ..., suest`): see `inference::joint`.

use super::{fit, Fit, ModelSpec};
use crate::design::{Design, SampleOptions};
use crate::error::{FitError, Result};
use crate::formula::Formula;

/// A fitted two-part model.
pub struct TwoPartFit {
    pub first: Fit,
    pub second: Fit,
    /// The second part's design evaluated on the first part's rows, when it differs from the
    /// first part's design (see [`TwoPartFit::second_on_all`]); `None` when it is the same
    /// matrix, which is then not stored twice.
    second_on_all: Option<Design>,
    /// Position in `first`'s rows of each row of `second`.
    pub second_rows_in_first: Vec<usize>,
}

impl TwoPartFit {
    /// The second part's design evaluated on the first part's rows (all rows, zeros
    /// included), with the second part's columns: what the combined prediction needs. With one
    /// formula for both parts and the same columns kept in both, this is the first part's
    /// design itself.
    pub fn second_on_all(&self) -> &Design {
        self.second_on_all.as_ref().unwrap_or(&self.first.design)
    }
}

/// What the user asked for.
pub struct TwoPartRequest<'a> {
    pub formula: &'a Formula,
    /// Regressors of the second part, if they differ from the first's.
    pub formula2: Option<&'a Formula>,
    /// Response of the second part as an expression of the data (e.g. `log(y)`), if not `y`.
    pub response2: Option<&'a str>,
    pub first: ModelSpec,
    pub second: ModelSpec,
}

fn lines_of(design: &Design, idx: &[usize]) -> String {
    let shown: Vec<String> = idx.iter().take(5).map(|&i| design.lines[i].to_string()).collect();
    let more = if idx.len() > 5 { format!(" and {} more", idx.len() - 5) } else { String::new() };
    let word = if idx.len() > 1 { "lines" } else { "line" };
    format!("{word} {}{more}", shown.join(", "))
}

/// Fits both parts ([`TwoPartDesigns::build`], then [`TwoPartDesigns::fit`]).
pub fn fit_twopart(ds: &crate::data::Dataset, req: &TwoPartRequest, opts: &SampleOptions) -> Result<TwoPartFit> {
    TwoPartDesigns::build(ds, req, opts)?.fit(req)
}

/// Both parts' designs on their common sample, with everything the fits read from the
/// dataset (the second part's transformed response included): after [`TwoPartDesigns::build`]
/// the dataset is no longer needed to fit, so a caller that owns it can free its columns
/// before the fits' memory is allocated (`analysis::Data::release`).
pub struct TwoPartDesigns {
    d1: Design,
    /// The second part's design on the common sample, when it has a formula of its own.
    d2_all: Option<Design>,
    /// The outcome on the common sample.
    y: Vec<f64>,
    /// Positions of the positive outcomes in `d1`'s rows.
    positive: Vec<usize>,
    /// The second part's transformed response on the positive rows, and its name.
    response2: Option<(Vec<f64>, String)>,
    y_text: String,
    /// Rows of the dataset.
    n_all: usize,
}

impl TwoPartDesigns {
    /// Builds both parts' designs and checks the outcome (non-negative, with zeros and
    /// positive values; a transformed second response defined on every positive row).
    pub fn build(ds: &crate::data::Dataset, req: &TwoPartRequest, opts: &SampleOptions) -> Result<TwoPartDesigns> {
        let (_, y_text) = req.formula.response.clone().expect("formula has a response");
        let f1 = req.formula.clone();
        let f2 = match req.formula2 {
            Some(f) => f.with_response(&y_text)?,
            None => f1.clone(),
        };
        // One sample for both parts: each part requires the other's variables too.
        let mut o1 = opts.clone();
        o1.also_require.extend(f2.variables());
        let mut o2 = opts.clone();
        o2.also_require.extend(f1.variables());
        let mut d1 = Design::build(ds, &f1, &o1)?;
        // Without a formula of its own, the second part has the first part's design (same formula,
        // same sample): it is not built twice.
        let mut d2_all = match req.formula2 {
            None => None,
            Some(_) => Some(Design::build(ds, &f2, &o2)?),
        };
        if let Some(d2) = d2_all.as_ref().filter(|d2| d2.rows != d1.rows) {
            // A transformation undefined in one part only (e.g. log(x) with x = 0): keep the
            // rows both parts can use.
            let mut in2 = vec![false; ds.n_rows()];
            for &r in &d2.rows {
                in2[r] = true;
            }
            let mut mask = vec![false; ds.n_rows()];
            for &r in &d1.rows {
                mask[r] = in2[r];
            }
            o1.restrict = Some(mask.clone());
            o2.restrict = Some(mask);
            d1 = Design::build(ds, &f1, &o1)?;
            d2_all = Some(Design::build(ds, &f2, &o2)?);
        }
        let y = d1.y.clone();

        let negative: Vec<usize> = (0..y.len()).filter(|&i| y[i] < 0.0).collect();
        if !negative.is_empty() {
            return Err(FitError::InvalidResponse(format!(
                "a two-part model needs a non-negative outcome; {} of {} observations of '{}' are negative ({}); the second part ({} family) models the positive values",
                negative.len(),
                y.len(),
                y_text,
                lines_of(&d1, &negative),
                req.second.family.name()
            ))
            .into());
        }
        let positives = y.iter().filter(|&&v| v > 0.0).count();
        if positives == 0 {
            return Err(FitError::InvalidResponse(format!(
                "'{y_text}' has no positive values in the estimation sample ({} rows): there is nothing for the second part to model",
                y.len()
            ))
            .into());
        }
        if positives == y.len() {
            return Err(FitError::InvalidResponse(format!(
                "'{y_text}' has no zeros in the estimation sample ({} rows): a two-part model needs both zeros and positive values; fit the second part alone with `migfit fit`",
                y.len()
            ))
            .into());
        }

        // Second part's (transformed) response on the positive rows, checked before anything
        // is fitted.
        let positive: Vec<usize> = (0..y.len()).filter(|&i| y[i] > 0.0).collect();
        let response2 = match req.response2 {
            None => None,
            Some(r2) => {
                let base = d2_all.as_ref().unwrap_or(&d1);
                let e = crate::formula::parse_expr(r2)?;
                let vals = crate::design::eval_on_dataset(ds, &e)?;
                let y2: Vec<f64> = positive.iter().map(|&i| vals[base.rows[i]]).collect();
                if let Some(bad) = y2.iter().position(|v| !v.is_finite()) {
                    return Err(FitError::InvalidResponse(format!(
                        "the second part's response '{r2}' is undefined at line {} (value of '{y_text}' there: {})",
                        base.lines[positive[bad]],
                        crate::data::format_number(base.y[positive[bad]])
                    ))
                    .into());
                }
                Some((y2, r2.chars().filter(|c| !c.is_whitespace()).collect()))
            }
        };
        Ok(TwoPartDesigns { d1, d2_all, y, positive, response2, y_text, n_all: ds.n_rows() })
    }

    /// Fits both parts on their designs.
    pub fn fit(self, req: &TwoPartRequest) -> Result<TwoPartFit> {
        let TwoPartDesigns { mut d1, d2_all, y, positive, response2, y_text, n_all } = self;
        // Second part: the positive rows, gathered once from the (shared) design; the first
        // part's checks (collinearity, perfect prediction) meanwhile.
        let (checks1, mut d2) = rayon::join(
            || super::fit::Checks::of(&d1, &req.first),
            || d2_all.as_ref().unwrap_or(&d1).take_rows(&positive),
        );

        if let Some((y2, name)) = response2 {
            d2.y = y2;
            d2.response = name;
        }

        // First part: 1(y > 0) on every row.
        let (d1_rows, d1_notes, y_name) = (d1.rows.clone(), d1.notes.clone(), d1.response.clone());
        d1.y = y.iter().map(|&v| f64::from(u8::from(v > 0.0))).collect();
        d1.response = format!("I({y_text}>0)");

        // The parts are independent given their designs: fitted side by side, so that one part's
        // serial steps (solves, checks, allocation) overlap the other's row passes. Each fit is
        // deterministic on its own (sums in chunk order), so the result does not depend on the
        // scheduling; an error of the first part is reported before one of the second.
        let (first, second) = rayon::join(|| super::fit::fit_checked(d1, &req.first, checks1), || fit(d2, &req.second));
        let (first, second) = (first?, second?);

        // The second part's design on the first part's final rows and the second's final columns.
        // Position of each dataset row among the rows of both parts' designs before fitting.
        // (Only needed when the parts' designs differ.)
        let positions = |rows: &[usize]| {
            let mut pos = vec![usize::MAX; n_all];
            for (i, &r) in rows.iter().enumerate() {
                pos[r] = i;
            }
            pos
        };
        let first_kept_all = first.design.n() == d1_rows.len();
        let second_kept_all = d2_all.is_none() && second.design.n() == positive.len();
        let second_on_all = match d2_all {
            Some(d2_all) => {
                let pos_in_all = positions(&d2_all.rows);
                let keep: Vec<usize> = first.design.rows.iter().map(|&r| pos_in_all[r]).collect();
                let mut d = d2_all.take_rows(&keep);
                let cols: Vec<usize> = second
                    .design
                    .names
                    .iter()
                    .map(|name| {
                        d.names.iter().position(|n| n == name).expect("second part columns come from the full design")
                    })
                    .collect();
                d.select_columns(&cols);
                Some(d)
            }
            // The same formula and the same columns kept in both parts: the first part's design.
            None if second.design.names == first.design.names => None,
            None => {
                // The same formula: the first part's variables on its final rows, with the second
                // part's columns.
                let d = &first.design;
                let pos_in_all = positions(&d1_rows);
                let spec = crate::design::DesignSpec {
                    atoms: d.spec.atoms.clone(),
                    columns: second.design.spec.columns.clone(),
                    values: d.spec.values.clone(),
                    n: d.n(),
                };
                Some(Design {
                    response: y_name,
                    y: d.rows.iter().map(|&r| y[pos_in_all[r]]).collect(),
                    x: spec.matrix(&crate::design::Scenario::default()),
                    names: second.design.names.clone(),
                    weights: d.weights.clone(),
                    weight_type: d.weight_type,
                    weight_var: d.weight_var.clone(),
                    clusters: d.clusters.clone(),
                    n_clusters: d.n_clusters,
                    cluster_var: d.cluster_var.clone(),
                    rows: d.rows.clone(),
                    lines: d.lines.clone(),
                    n_dropped: d.n_dropped,
                    notes: d1_notes,
                    spec,
                })
            }
        };
        let second_rows_in_first: Vec<usize> = if first_kept_all && second_kept_all {
            // Neither fit dropped a row and the second part is the first's design on the positive
            // rows: those are its positions.
            positive
        } else {
            let pos_in_first = positions(&first.design.rows);
            second
                .design
                .rows
                .iter()
                .map(|&r| match pos_in_first[r] {
                    usize::MAX => Err(FitError::Numerical(
                        "rows of the second part were dropped from the first part (perfect prediction); the combined prediction is not defined for them".into(),
                    )),
                    i => Ok(i),
                })
                .collect::<std::result::Result<_, _>>()?
        };
        Ok(TwoPartFit { first, second, second_on_all, second_rows_in_first })
    }
}
