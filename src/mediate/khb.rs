//! The KHB decomposition (Karlson, Holm & Breen 2012; Kohler, Karlson & Holm 2011, Stata's
//! `khb`).
//!
//! On the common sample, with treatment columns `X`, mediator columns `Z_1..Z_J` (a `C()`
//! mediator gives one column per level) and controls `C`:
//!
//! * **full** model: `F(a + X b + Z c + C d)`; its treatment coefficient `b` is the direct
//!   effect;
//! * **mediator** regressions (OLS, the estimation weights): `Z_j = W theta_j + R_j` with
//!   `W = (1, X, C)`; `R_j` is the part of `Z_j` that the treatment and controls do not
//!   explain;
//! * **reduced** model: `F(a' + X b' + R c' + C d')`. It spans the same columns as the full
//!   model, so it has the same likelihood and the same scale of the latent variable: `c' = c`
//!   and `b' = b + sum_j c_j theta_jX`. Its treatment coefficient is the total effect on the
//!   full model's scale, and the **difference** `b' - b = sum_j c_j theta_jX` is the part
//!   carried by the mediators, free of the rescaling that biases the naive comparison;
//! * **naive** model: `F(a'' + X b'' + C d'')`, without the mediators. `b''` differs from
//!   `b'` only by rescaling; the rescale factor is `b'' / b'`.
//!
//! Summary (as `khb, summary`): confounding ratio `b' / b`, confounding percentage
//! `100 (b' - b) / b'`. Each mediator column's component (as `khb, disentangle`):
//! `c_j theta_jX`, its share of the difference and of the reduced coefficient.
//!
//! **Standard errors.** Reduced and full: each model's variance (OIM, robust, cluster or the
//! survey design's, as `fit`). Difference (Karlson, Holm & Breen 2012, appendix; Sobel's
//! formula for one mediator): the two paths are taken as independent,
//! `Var = theta' V_c theta + c' V_theta c`, where `V_c` is the full model's variance of `c`
//! and `c' V_theta c` the variance of the treatment coefficient in the regression of the
//! composite `sum_j c_j Z_j` on `W` (`c` held fixed) under the same variance kind: since OLS
//! is linear in the response, that is exactly `c' V_theta c` with the mediators' joint
//! (multivariate-regression) variance, cross-mediator covariances included. Components:
//! `theta_j^2 Var(c_j) + c_j^2 Var(theta_j)`.
//!
//! **APE scale** (`--ape`, R khb's `ape`): the average partial effect of the treatment in
//! the reduced model (mediator residuals held fixed) and in the full model (mediators held
//! fixed): for a `C()` treatment the discrete change from the reference level, averaged over
//! the sample, `mean F(eta_i0 + b_t) - F(eta_i0)` with `eta_i0` the index without the
//! treatment; for a numeric one the derivative `mean f(eta_i) b`. SEs: the delta method on
//! each model's variance; the difference's SE is the delta method over the reduced model's
//! coefficients and the mediator paths (independent, as above), with the full model's APE
//! evaluated on the full design at coefficients rebuilt from them (`b_W = b'_W - sum_j c_j
//! theta_j`, `b_Z = c`), so the paths' variance enters through `h' V* h` with `V*` the
//! composite regression's variance and `h` the gradient in `b_W`.

use super::{gradient, quad, Estimate, Request, Sample};
use crate::error::Result;
use crate::model::{Fit, Link};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The decomposition of each treatment column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Khb {
    pub effects: Vec<KhbEffect>,
    /// The models behind it: log likelihoods (full = reduced; naive).
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub log_likelihood_full: f64,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub log_likelihood_naive: f64,
}

/// The decomposition of one treatment column (a level of a `C()` treatment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KhbEffect {
    pub term: String,
    /// Coefficient scale.
    pub reduced: Estimate,
    pub full: Estimate,
    pub difference: Estimate,
    /// The naive reduced model's coefficient (no mediators, no residuals).
    pub naive: Estimate,
    /// reduced / full.
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub conf_ratio: f64,
    /// 100 x difference / reduced.
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub conf_pct: f64,
    /// naive / reduced.
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub rescale_factor: f64,
    /// naive - full: the naive comparison (mediation and rescaling mixed).
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub naive_difference: f64,
    /// Each mediator column's part of the difference (`khb, disentangle`).
    pub components: Vec<Component>,
    /// The APE scale (`--ape`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ape: Option<KhbApe>,
}

/// One mediator column's part of the difference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Component {
    pub mediator: String,
    /// The full model's coefficient of the mediator.
    pub mediator_coef: Estimate,
    /// The treatment's coefficient in the mediator regression.
    pub treatment_on_mediator: Estimate,
    /// mediator_coef x treatment_on_mediator.
    pub contribution: Estimate,
    /// 100 x contribution / difference.
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub pct_of_difference: f64,
    /// 100 x contribution / reduced.
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub pct_of_reduced: f64,
}

/// The decomposition on the average-partial-effect scale.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KhbApe {
    /// `dydx` (numeric treatment) or `"<level> vs <reference>"`.
    pub contrast: String,
    pub reduced: Estimate,
    pub full: Estimate,
    pub difference: Estimate,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub conf_ratio: f64,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub conf_pct: f64,
}

/// Average partial effects of the treatment columns `t_cols` at coefficients `beta` with the
/// index `eta_i = x_i beta + shift`, where the treatment enters through `shift_coef` (the
/// coefficients the treatment moves the index by; `beta` itself for a model's own APE).
fn apes(
    x: &Array2<f64>,
    eta: &[f64],
    t_cols: &[usize],
    coef: &[f64],
    discrete: bool,
    weights: &[f64],
    link: &dyn Link,
) -> Vec<f64> {
    t_cols
        .iter()
        .enumerate()
        .map(|(k, _)| {
            let mut s = 0.0;
            for i in 0..eta.len() {
                if discrete {
                    let base = eta[i] - t_cols.iter().zip(coef).map(|(&c, b)| b * x[[i, c]]).sum::<f64>();
                    s += weights[i] * (link.inverse(base + coef[k]) - link.inverse(base));
                } else {
                    s += weights[i] * link.d_inverse(eta[i]) * coef[k];
                }
            }
            s
        })
        .collect()
}

fn index(x: &Array2<f64>, beta: &[f64]) -> Vec<f64> {
    x.rows().into_iter().map(|r| r.iter().zip(beta).map(|(a, b)| a * b).sum()).collect()
}

/// A model's own APEs of the treatment and their delta-method SEs.
fn own_apes(fit: &Fit, v: &Array2<f64>, t_cols: &[usize], discrete: bool, w: &[f64]) -> Vec<(f64, f64)> {
    let link = fit.spec.link.link();
    let x = &fit.design.x;
    let f = |beta: &[f64], k: usize| {
        let coef: Vec<f64> = t_cols.iter().map(|&c| beta[c]).collect();
        apes(x, &index(x, beta), t_cols, &coef, discrete, w, link)[k]
    };
    (0..t_cols.len())
        .map(|k| {
            let g = gradient(&fit.beta, |b| f(b, k));
            (f(&fit.beta, k), quad(&g, v).sqrt())
        })
        .collect()
}

/// The decomposition and the full model's variance (its sentence, kind and df label the
/// result).
pub(crate) fn run(req: &Request, s: &Sample) -> Result<(Khb, crate::inference::Variance)> {
    let level = req.est.level;
    let spec = req.spec(req.model);
    let k = s.full.k();
    let med_cols: Vec<usize> = s.mediator_cols.iter().flatten().copied().collect();
    let w_cols: Vec<usize> = (0..k).filter(|j| !med_cols.contains(j)).collect();
    let pos_w = |j: usize| w_cols.iter().position(|&c| c == j).expect("a treatment column is in W");

    let (full, vf) = s.fit(s.full.clone(), &spec, "full")?;
    let df = vf.df;
    // The mediator regressions: OLS (the gaussian-identity GLM: same estimates; its default
    // scale, Pearson chi2 / (N - K), gives the OLS variance).
    let gaussian = req.gaussian();
    let mut paths = Vec::new();
    let mut reduced_design = s.full.clone();
    for &z in &med_cols {
        let y: Vec<f64> = s.full.x.column(z).to_vec();
        let (f, v) = s.fit(s.design(&w_cols, Some((&s.full.names[z], y))), &gaussian, "mediator")?;
        for i in 0..f.y.len() {
            reduced_design.x[[i, z]] = f.y[i] - f.mu[i];
        }
        paths.push((f.beta.clone(), v));
    }
    let (reduced, vr) = s.fit(reduced_design, &spec, "reduced")?;
    let (naive, vn) = s.fit(s.design(&w_cols, None), &spec, "naive")?;
    // The composite mediator sum_j c_j Z_j: its regression on W gives sum_j c_j theta_j and,
    // with c held fixed, that sum's variance (cross-mediator covariances included).
    let c: Vec<f64> = med_cols.iter().map(|&z| full.beta[z]).collect();
    let composite: Vec<f64> =
        (0..s.full.n()).map(|i| med_cols.iter().zip(&c).map(|(&z, cj)| cj * s.full.x[[i, z]]).sum()).collect();
    let (_, v_star) = s.fit(s.design(&w_cols, Some(("khb composite mediator", composite))), &gaussian, "mediator")?;

    let weights = s.average_weights();
    let se = |v: &Array2<f64>, j: usize| v[[j, j]].sqrt();
    let mut effects = Vec::new();
    for &t in &s.treatment_cols {
        let tw = pos_w(t);
        let a = reduced.beta[t];
        let b = full.beta[t];
        let diff = a - b;
        let var_diff = if med_cols.len() == 1 {
            // Sobel's formula, written as KHB's one-mediator case.
            let (z, (theta, vt)) = (med_cols[0], &paths[0]);
            let (g, g_se, bm, bm_se) = (theta[tw], se(&vt.matrix, tw), full.beta[z], se(&vf.matrix, z));
            g * g * bm_se * bm_se + bm * bm * g_se * g_se
        } else {
            let th: Vec<f64> = paths.iter().map(|(theta, _)| theta[tw]).collect();
            let mut vc = Array2::zeros((med_cols.len(), med_cols.len()));
            for (p, &zp) in med_cols.iter().enumerate() {
                for (q, &zq) in med_cols.iter().enumerate() {
                    vc[[p, q]] = vf.matrix[[zp, zq]];
                }
            }
            quad(&th, &vc) + v_star.matrix[[tw, tw]]
        };
        let components = med_cols
            .iter()
            .zip(&paths)
            .map(|(&z, (theta, vt))| {
                let (g, g_se, bm, bm_se) = (theta[tw], se(&vt.matrix, tw), full.beta[z], se(&vf.matrix, z));
                let contrib = bm * g;
                Component {
                    mediator: s.full.names[z].clone(),
                    mediator_coef: Estimate::new(bm, bm_se, level, df),
                    treatment_on_mediator: Estimate::new(g, g_se, level, vt_df(s)),
                    contribution: Estimate::new(
                        contrib,
                        (g * g * bm_se * bm_se + bm * bm * g_se * g_se).sqrt(),
                        level,
                        df,
                    ),
                    pct_of_difference: 100.0 * contrib / diff,
                    pct_of_reduced: 100.0 * contrib / a,
                }
            })
            .collect();
        let naive_b = naive.beta[tw];
        effects.push(KhbEffect {
            term: s.full.names[t].clone(),
            reduced: Estimate::new(a, se(&vr.matrix, t), level, df),
            full: Estimate::new(b, se(&vf.matrix, t), level, df),
            difference: Estimate::new(diff, var_diff.sqrt(), level, df),
            naive: Estimate::new(naive_b, se(&vn.matrix, tw), level, df),
            conf_ratio: a / b,
            conf_pct: 100.0 * diff / a,
            rescale_factor: naive_b / a,
            naive_difference: naive_b - b,
            components,
            ape: None,
        });
    }

    if req.ape {
        let discrete = s.treatment_factor;
        let t_cols = &s.treatment_cols;
        let r_own = own_apes(&reduced, &vr.matrix, t_cols, discrete, &weights);
        let f_own = own_apes(&full, &vf.matrix, t_cols, discrete, &weights);
        let link = reduced.spec.link.link();
        let x = &reduced.design.x;
        let xf = &full.design.x;
        // The full model's coefficients through the reduced ones and the paths (c held as
        // the reduced model's): b_W = b'_W - sum_j c_j theta_j + delta, b_Z = c, where delta
        // perturbs sum_j c_j theta_j (variance: the composite regression's).
        let full_beta = |beta: &[f64], delta: &[f64]| -> Vec<f64> {
            let mut bf = beta.to_vec();
            for (wi, &w) in w_cols.iter().enumerate() {
                bf[w] = beta[w] - med_cols.iter().zip(&paths).map(|(&z, (th, _))| beta[z] * th[wi]).sum::<f64>()
                    + delta[wi];
            }
            bf
        };
        let zero = vec![0.0; w_cols.len()];
        for (kk, e) in effects.iter_mut().enumerate() {
            let ape_of = |x: &Array2<f64>, beta: &[f64]| {
                let coef: Vec<f64> = t_cols.iter().map(|&c| beta[c]).collect();
                apes(x, &index(x, beta), t_cols, &coef, discrete, &weights, link)[kk]
            };
            let g_beta = gradient(&reduced.beta, |b| ape_of(x, b) - ape_of(xf, &full_beta(b, &zero)));
            let h = gradient(&zero, |dl| ape_of(xf, &full_beta(&reduced.beta, dl)));
            let var = quad(&g_beta, &vr.matrix) + quad(&h, &v_star.matrix);
            let (ar, ar_se) = r_own[kk];
            let (af, af_se) = f_own[kk];
            let diff = ar - af;
            e.ape = Some(KhbApe {
                contrast: if discrete { contrast(&e.term, s) } else { "dydx".into() },
                reduced: Estimate::new(ar, ar_se, level, df),
                full: Estimate::new(af, af_se, level, df),
                difference: Estimate::new(diff, var.sqrt(), level, df),
                conf_ratio: ar / af,
                conf_pct: 100.0 * diff / ar,
            });
        }
    }
    Ok((Khb { effects, log_likelihood_full: full.log_likelihood, log_likelihood_naive: naive.log_likelihood }, vf))
}

/// The df of the mediator paths' inference (the survey design's, else normal).
fn vt_df(s: &Sample) -> Option<f64> {
    s.variance_template.df
}

/// `"<level> vs <reference>"` for a factor treatment's column.
fn contrast(term: &str, s: &Sample) -> String {
    let level = term.rsplit_once('[').map(|(_, l)| l.trim_end_matches(']')).unwrap_or(term);
    let reference = s
        .full
        .spec
        .atoms
        .iter()
        .find_map(|a| match a {
            crate::design::ResolvedAtom::Factor { text, levels, reference, .. } if term.starts_with(text.as_str()) => {
                levels.get(*reference).map(|l| l.name.clone())
            }
            _ => None,
        })
        .unwrap_or_default();
    format!("{level} vs {reference}")
}
