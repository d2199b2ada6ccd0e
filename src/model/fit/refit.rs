//! Refitting a fitted model with other prior weights: the replicates of a bootstrap (weights =
//! the fit's prior weights times a resampling multiplier per row, 0 for rows not drawn) and
//! the delete-one fits of a jackknife.
//!
//! The design is the full sample's (no rows copied): a row left out has weight 0. Newton-Raphson
//! on the observed information (a Fisher step where it is not positive definite, step-halving
//! on the objective) starts from the full-sample estimates and stops on the fit's own rule
//! (`g'H^{-1}g` below 1e-12, divided by the dispersion estimate for families whose dispersion
//! is free). A replicate fails, and says why, rather than return estimates that are not
//! maximum-likelihood estimates of the same model:
//!
//! * a column with no weight left (a factor level or an indicator absent from the replicate):
//!   its coefficient is not identified (Stata reports it as omitted, so the replicate's
//!   coefficient is missing);
//! * for binary models, a 0/1 regressor that predicts the outcome perfectly among the drawn
//!   rows (Stata drops it and the rows it determines: a different model);
//! * a singular information matrix, non-convergence within the fit's iteration limit, or
//!   estimates that are not finite.

use super::engine::{engine, log_link_ln_y, Info};
use super::Fit;
use crate::linalg::spd_solve;
use crate::model::ModelKind;

/// Why a replicate fit failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefitFailure {
    /// A column (a factor level, an indicator) has no weight in the replicate.
    EmptyColumn,
    /// A 0/1 regressor predicts the binary outcome perfectly in the replicate (or the outcome
    /// does not vary).
    Separation,
    /// The information matrix is singular.
    Singular,
    /// No convergence within the iteration limit (or estimates not finite).
    NotConverged,
}

impl RefitFailure {
    pub fn describe(self) -> &'static str {
        match self {
            RefitFailure::EmptyColumn => "a regressor or factor level absent from the replicate",
            RefitFailure::Separation => "perfect prediction by an indicator",
            RefitFailure::Singular => "singular information matrix",
            RefitFailure::NotConverged => "not converged",
        }
    }
}

/// A fitted model prepared for refitting with other weights (what does not depend on the
/// weights computed once).
pub struct Refitter<'a> {
    fit: &'a Fit,
    ln_y: Option<Vec<f64>>,
    /// Columns holding only 0 and 1 (not the intercept), for the separation check of binary
    /// models.
    indicators: Vec<usize>,
    binary: bool,
}

impl<'a> Refitter<'a> {
    pub fn new(fit: &'a Fit) -> Refitter<'a> {
        let binary = matches!(fit.spec.kind, ModelKind::Probit | ModelKind::Logit);
        let x = &fit.design.x;
        let indicators = if binary {
            (0..x.ncols())
                .filter(|&j| fit.design.names[j] != "(Intercept)")
                .filter(|&j| x.column(j).iter().all(|&v| v == 0.0 || v == 1.0))
                .collect()
        } else {
            Vec::new()
        };
        Refitter { fit, ln_y: log_link_ln_y(&fit.spec, &fit.y), indicators, binary }
    }

    pub fn fit(&self) -> &Fit {
        self.fit
    }

    /// The estimates with prior weights `w` (one per row of the fit's design), starting from
    /// the fit's estimates.
    pub fn refit(&self, w: &[f64]) -> Result<Vec<f64>, RefitFailure> {
        let fit = self.fit;
        let design = &fit.design;
        let (n, k) = (design.n(), design.k());
        assert_eq!(w.len(), n, "one weight per row");
        let xs = design.x.as_slice().expect("row-major");
        // Columns with weight, and the separation tally of the indicators, in one read.
        let mut colw = vec![0.0f64; k];
        let nd = self.indicators.len();
        let mut tally = vec![[[false; 2]; 2]; nd];
        let mut outcomes = [false; 2];
        for (i, xi) in xs.chunks_exact(k.max(1)).enumerate() {
            let wi = w[i];
            if wi == 0.0 {
                continue;
            }
            for (c, &v) in colw.iter_mut().zip(xi) {
                *c += wi * v.abs();
            }
            if self.binary {
                let yi = (fit.y[i] == 1.0) as usize;
                outcomes[yi] = true;
                for (t, &j) in tally.iter_mut().zip(&self.indicators) {
                    t[(xi[j] == 1.0) as usize][yi] = true;
                }
            }
        }
        if colw.iter().any(|&c| c == 0.0) {
            return Err(RefitFailure::EmptyColumn);
        }
        // A binary outcome that does not vary, or an indicator whose ones (or zeros) all have
        // the same outcome.
        if (self.binary && outcomes != [true, true]) || tally.iter().any(|t| t[1][0] != t[1][1] || t[0][0] != t[0][1]) {
            return Err(RefitFailure::Separation);
        }
        let eng = engine(fit.spec.family, fit.spec.link, &fit.y, w, self.ln_y.as_deref());
        let fixed_dispersion = fit.spec.family.family().fixed_scale();
        let n_obs: f64 = w.iter().sum();
        let crit_scale = |objective: f64| {
            if fixed_dispersion {
                1.0
            } else {
                let df = if n_obs > k as f64 { n_obs - k as f64 } else { n_obs.max(1.0) };
                (-2.0 * objective / df).max(f64::MIN_POSITIVE)
            }
        };
        let mut beta = fit.beta.clone();
        let mut cur = eng.pass(design, &beta, Info::Observed);
        if cur.objective.is_nan() {
            return Err(RefitFailure::NotConverged);
        }
        for _ in 0..fit.spec.max_iter {
            let h = cur.h.take().expect("information");
            let step = match spd_solve(&h, &cur.g) {
                Some(s) => s,
                None => {
                    let he = eng.pass(design, &beta, Info::Expected).h.expect("information");
                    spd_solve(&he, &cur.g).ok_or(RefitFailure::Singular)?
                }
            };
            let crit: f64 = step.iter().zip(&cur.g).map(|(a, b)| a * b).sum::<f64>() / crit_scale(cur.objective);
            if crit.abs() < 1e-12 {
                // As the fit: the converging step lands on the estimates.
                let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
                return if cand.iter().all(|b| b.is_finite()) { Ok(cand) } else { Err(RefitFailure::NotConverged) };
            }
            let mut t = 1.0;
            let mut accepted = None;
            for _ in 0..40 {
                let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
                let p = eng.pass(design, &cand, Info::Observed);
                if !p.objective.is_nan() && p.objective >= cur.objective - 1e-12 * cur.objective.abs().max(1.0) {
                    accepted = Some((cand, p));
                    break;
                }
                t *= 0.5;
            }
            match accepted {
                Some((b, p)) => {
                    beta = b;
                    cur = p;
                }
                None if crit.abs() < 1e-8 => return Ok(beta),
                None => return Err(RefitFailure::NotConverged),
            }
            if beta.iter().any(|b| !b.is_finite()) {
                return Err(RefitFailure::NotConverged);
            }
        }
        Err(RefitFailure::NotConverged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv::{read_csv_bytes, CsvOptions};
    use crate::design::{Design, SampleOptions};
    use crate::formula::Formula;
    use crate::model::{ModelKind, ModelSpec};

    fn design(rows: &[(f64, f64)]) -> Design {
        let text: String = std::iter::once("y,x".to_string())
            .chain(rows.iter().map(|(y, x)| format!("{y},{x}")))
            .collect::<Vec<_>>()
            .join("\n");
        let d = read_csv_bytes(text.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        Design::build(&d, &Formula::parse("y ~ x").unwrap(), &SampleOptions::default()).unwrap()
    }

    /// Unit weights give back the fit's estimates; integer weights give the estimates of the
    /// data with rows repeated (a fit from scratch).
    #[test]
    fn refit_matches_fits_from_scratch() {
        let rows: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                let x = ((i * 37) % 23) as f64 / 7.0 - 1.5;
                (((x * 1.3 + (i % 5) as f64 * 0.4) > 0.9) as u8 as f64, x)
            })
            .collect();
        let spec = ModelSpec::new(ModelKind::Probit, None, None).unwrap();
        let fit = crate::model::fit(design(&rows), &spec).unwrap();
        let r = Refitter::new(&fit);
        let same = r.refit(&[1.0; 60]).unwrap();
        for (a, b) in same.iter().zip(&fit.beta) {
            assert!((a - b).abs() < 1e-10);
        }
        let w: Vec<f64> = (0..60).map(|i| (i % 3) as f64).collect();
        let b = r.refit(&w).unwrap();
        let repeated: Vec<(f64, f64)> = (0..60).flat_map(|i| std::iter::repeat_n(rows[i], i % 3)).collect();
        let f2 = crate::model::fit(design(&repeated), &spec).unwrap();
        for (a, c) in b.iter().zip(&f2.beta) {
            assert!((a - c).abs() < 1e-8, "{a} {c}");
        }
        // Only the rows with y = 0 drawn: the outcome does not vary.
        let w0: Vec<f64> = rows.iter().map(|r| if r.0 == 1.0 { 0.0 } else { 1.0 }).collect();
        assert_eq!(r.refit(&w0), Err(RefitFailure::Separation));
    }
}
