//! Firth's bias reduction (mean bias-reducing adjusted score) for binomial models with any
//! link, as `brglm2::brglmFit(type = "AS_mean")` (Kosmidis & Firth 2009, *Biometrika* 96,
//! 793-804; Firth 1993, *Biometrika* 80, 27-38): not a second engine, an adjustment of the
//! engine's per-row score by the hat values.
//!
//! With the engine's expected-information weights `w_e,i = w_i h'(eta_i)^2 / V(mu_i)`,
//! `H = X' W_e X` and the hat values `h_i = w_e,i x_i' H^{-1} x_i`, the adjusted score is
//!
//! ```text
//! U*(b) = sum_i (s_i + h_i h''(eta_i) / (2 h'(eta_i))) x_i
//! ```
//!
//! where `s_i` is the engine's score on the linear-index scale. For the logit link
//! `h''/h' = 1 - 2 mu` and `U*` is the gradient of Firth's penalised log likelihood
//! `l(b) + log|H| / 2` (logistf's estimates); for other links it is the mean bias-reducing
//! score of Kosmidis & Firth. The estimates solve `U* = 0` by quasi-Fisher scoring
//! `b += H^{-1} U*(b)` (brglm2's iteration, without step-halving), from the engine's starting
//! values. They are finite under separation. The variance is `H^{-1}` at the estimates (the
//! expected information, as brglm2 and logistf report).

use super::engine::{Obs, Rows};
use super::Iteration;
use crate::design::Design;
use crate::error::{FitError, Result};
use crate::linalg;
use crate::model::Link;
use ndarray::Array2;

/// The adjusted score and the expected information at `beta`, with the rows' quantities.
pub(super) struct Adjusted {
    pub(super) g: Vec<f64>,
    pub(super) eim: Array2<f64>,
    pub(super) eta: Vec<f64>,
    pub(super) obs: Vec<Obs>,
}

pub(super) fn adjusted_score(design: &Design, eng: &dyn Rows, link: &dyn Link, beta: &[f64]) -> Option<Adjusted> {
    use rayon::prelude::*;
    let x = design.x.view();
    let eta = linalg::xbeta(x, beta);
    let obs = eng.all_obs(&eta);
    let w_e: Vec<f64> = obs.iter().map(|o| o.w_e).collect();
    let eim = linalg::xtwx(x, &w_e);
    let inv = linalg::spd_inverse(&eim)?;
    let k = design.k();
    let adj: Vec<f64> = (0..design.n())
        .into_par_iter()
        .map(|i| {
            let xi = x.row(i);
            let mut q = 0.0;
            for a in 0..k {
                let mut s = 0.0;
                for b in 0..k {
                    s += inv[[a, b]] * xi[b];
                }
                q += xi[a] * s;
            }
            let hat = w_e[i] * q;
            let lv = link.eval(eta[i]);
            let ratio = if lv.d1 != 0.0 { lv.d2 / lv.d1 } else { 0.0 };
            obs[i].score + 0.5 * hat * ratio
        })
        .collect();
    let mut g = vec![0.0; k];
    for (i, &a) in adj.iter().enumerate() {
        for (gj, &xj) in g.iter_mut().zip(x.row(i).iter()) {
            *gj += a * xj;
        }
    }
    Some(Adjusted { g, eim, eta, obs })
}

/// What the Firth iteration returns: the estimates and the last evaluation at them.
pub(super) struct FirthFit {
    pub(super) beta: Vec<f64>,
    pub(super) at: Adjusted,
    pub(super) converged: bool,
    pub(super) iterations: usize,
    pub(super) history: Vec<Iteration>,
}

/// Solves `U*(b) = 0` from `beta`. Converged when `U*' H^{-1} U* < 1e-20` (a change in the
/// estimates of order 1e-10 in the metric of their standard errors).
pub(super) fn estimate(
    design: &Design,
    eng: &dyn Rows,
    link: &dyn Link,
    mut beta: Vec<f64>,
    max_iter: usize,
) -> Result<FirthFit> {
    let singular = || FitError::Numerical("the information matrix is singular (Firth's adjusted score)".into());
    let mut history = Vec::new();
    let mut at = adjusted_score(design, eng, link, &beta).ok_or_else(singular)?;
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        let step = linalg::spd_solve(&at.eim, &at.g).ok_or_else(singular)?;
        let crit: f64 = step.iter().zip(&at.g).map(|(a, b)| a * b).sum();
        let dev: f64 = at.obs.iter().map(|o| o.dev).sum();
        iterations += 1;
        history.push(Iteration { iteration: iterations, objective: -0.5 * dev, criterion: crit, method: "firth" });
        if crit.abs() < 1e-20 {
            converged = true;
            break;
        }
        beta.iter_mut().zip(&step).for_each(|(b, s)| *b += s);
        if beta.iter().any(|b| !b.is_finite()) {
            return Err(FitError::Numerical("Firth's estimates are not finite".into()).into());
        }
        at = adjusted_score(design, eng, link, &beta).ok_or_else(singular)?;
    }
    Ok(FirthFit { beta, at, converged, iterations, history })
}
