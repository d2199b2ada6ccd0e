//! The delete-one jackknife variance: the model refitted with one unit left out (a row, or a
//! cluster with `--cluster`), Stata's convention ([R] jackknife):
//!
//! ```text
//! V = (G - 1) / G  sum_g (b_(g) - b_bar)(b_(g) - b_bar)',   b_bar = mean of the G replicates
//! ```
//!
//! with `G` the number of units. Each replicate is the full-sample design with the unit's
//! weights set to zero (no copied subset), solved by Newton-Raphson on the observed
//! information started at the full-sample estimates, to a step below `1e-10 (1 + |b|)` in
//! every coefficient. A replicate that does not converge (the unit held the only
//! information on a coefficient, e.g. a singleton cluster with its own dummy, or leaving it
//! out separates the data) stops the estimation with an error naming the unit: the jackknife
//! is deterministic, so a failed replicate is a property of the data, not bad luck.
//!
//! Inference is normal (z) and effects (AMEs) take this variance through the delta method,
//! as for every other variance. The replicates run in parallel and are summed in unit order,
//! so the result does not depend on the thread count. Frequency weights are refused (whether
//! a weighted row is one unit or `f` units is ambiguous).

use super::{Variance, VceKind};
use crate::design::WeightType;
use crate::error::{usage, FitError, Result};
use crate::model::fit::newton_iteration;
use crate::model::Fit;
use ndarray::Array2;
use rayon::prelude::*;

/// Newton iterations allowed per replicate.
const MAX_ITER: usize = 100;

/// The coefficients refitted without the rows of one unit (their weights set to zero).
pub fn refit_without(fit: &Fit, rows: &[usize]) -> Option<Vec<f64>> {
    let mut design = fit.design.clone();
    let mut w = fit.w.clone();
    for &i in rows {
        w[i] = 0.0;
    }
    design.weights = Some(w);
    let mut beta = fit.beta.clone();
    for _ in 0..MAX_ITER {
        let (step, _) = newton_iteration(&design, &fit.spec, &beta)?;
        if step.iter().any(|s| !s.is_finite()) {
            return None;
        }
        beta.iter_mut().zip(&step).for_each(|(b, s)| *b += s);
        if step.iter().zip(&beta).all(|(s, b)| s.abs() <= 1e-10 * (1.0 + b.abs())) {
            return Some(beta);
        }
    }
    None
}

/// The jackknife variance of `fit`: units are the clusters when the design has cluster ids,
/// else the rows.
pub fn jackknife(fit: &Fit) -> Result<Variance> {
    let d = &fit.design;
    if d.weight_type == Some(WeightType::Frequency) {
        return Err(usage(
            "vce jackknife is not available with frequency weights (is a weighted row one unit or f units?); expand the data or use pweights",
        ));
    }
    let units: Vec<Vec<usize>> = match &d.clusters {
        Some(ids) => {
            let mut members = vec![Vec::new(); d.n_clusters];
            for (i, &c) in ids.iter().enumerate() {
                members[c as usize].push(i);
            }
            members
        }
        None => (0..d.n()).map(|i| vec![i]).collect(),
    };
    let g = units.len();
    if g < 2 {
        return Err(FitError::Numerical("the jackknife needs at least 2 units".into()).into());
    }
    let reps: Vec<Option<Vec<f64>>> = units.par_iter().map(|rows| refit_without(fit, rows)).collect();
    let k = fit.beta.len();
    let mut b = Vec::with_capacity(g);
    for (u, r) in units.iter().zip(reps) {
        match r {
            Some(beta) => b.push(beta),
            None => {
                let what = match &d.cluster_var {
                    Some(v) => format!(
                        "the cluster of '{v}' at line {} ({} row{})",
                        d.lines[u[0]],
                        u.len(),
                        if u.len() == 1 { "" } else { "s" }
                    ),
                    None => format!("row {} (line {})", d.rows[u[0]] + 1, d.lines[u[0]]),
                };
                return Err(FitError::Numerical(format!(
                    "vce jackknife: the fit without {what} does not converge (that unit alone identifies a coefficient, or leaving it out separates the data)"
                ))
                .into());
            }
        }
    }
    let mut mean = vec![0.0; k];
    for r in &b {
        mean.iter_mut().zip(r).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= g as f64);
    let mut v = Array2::<f64>::zeros((k, k));
    for r in &b {
        for i in 0..k {
            let di = r[i] - mean[i];
            for j in 0..=i {
                v[[i, j]] += di * (r[j] - mean[j]);
            }
        }
    }
    let factor = (g as f64 - 1.0) / g as f64;
    for i in 0..k {
        for j in 0..=i {
            v[[i, j]] *= factor;
            v[[j, i]] = v[[i, j]];
        }
    }
    let gs = crate::data::format_number(g as f64);
    let gm1 = crate::data::format_number(g as f64 - 1.0);
    let (unit, n_clusters) = match &d.cluster_var {
        Some(var) => (format!("{gs} clusters in {var}"), Some(g)),
        None => (format!("{gs} observations"), None),
    };
    Ok(Variance {
        kind: VceKind::Jackknife,
        matrix: v,
        description: format!(
            "Jackknife: the model refitted {gs} times leaving out one of {unit}; variance (G-1)/G = {gm1}/{gs} times the sum of squared deviations from the replicates' mean (Stata's convention)."
        ),
        factor,
        n_clusters,
        df: None,
        satterthwaite: None,
    })
}
