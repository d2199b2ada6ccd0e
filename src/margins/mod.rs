//! Marginal effects with delta-method standard errors, built on one prediction function.
//!
//! A model's prediction for row `i` is a function `F(eta_1i, ..., eta_Pi)` of the linear
//! indices of its parts (`eta_p = X_p b_p`): `h(eta)` for a GLM or binary model (the mean or
//! the probability), `h_1(eta_1) h_2(eta_2)` for a two-part model's `E[y]`. Effects:
//!
//! * derivative of a continuous variable `v` (Stata's `dydx`): `dF/dv = sum_p F_p deta_p/dv`,
//!   where `deta_p/dv = sum_k b_pk dX_pk/dv` goes through every term containing `v`
//!   (`v + I(v^2)`, `log(v)`, `v:z`), differentiated exactly with dual numbers. Numeric 0/1
//!   variables are continuous (Stata's `c.` convention); wrap them in `C()` for a discrete
//!   change.
//! * discrete change of a factor level `l` against the reference `r` (Stata's `i.` factor
//!   variables): `F(eta | g = l) - F(eta | g = r)`, every row set to each level in turn.
//! * averaged over the estimation rows with the estimation weights (average marginal
//!   effects, Stata's `margins, dydx(*)`), or evaluated at the means of the variables with
//!   factor indicators at their sample shares (`atmeans`), or averaged with some variables
//!   fixed at given values (`at(age=30)`).
//!
//! Standard errors: `J V J'`, with `J` the Jacobian of the effect with respect to all
//! parameters (analytic: `dF/db_pk` uses `F_p`, `F_pq` and the design columns under the
//! scenario) and `V` the model's chosen variance (Stata's `vce(delta)`, conditional on the
//! covariates); or, with [`MarginsVce::Unconditional`] (Stata's `vce(unconditional)`), the
//! design variance of the unit totals of `w_i (f_i - m)/W + J psi_i` (see `vce`): the
//! per-effect pass below then also adds each effect's row values per unit, and average effects
//! take that pass instead of the one-pass average.
//!
//! Computation of average effects (no variable fixed). The linear indices are the observed
//! ones, so `F`, `g_p = dF/deta_p` and `h_qp = d2F/deta_q deta_p` are evaluated once per row
//! and shared by every effect. With `W = sum_i w_i`, `G_q = sum_i w_i g_qi` and the K-vectors
//! `M_qp = X_p'(w h_qp)` (one gemm column per pair of parts), a derivative whose terms are
//! all linear in `v` (the column is `v` itself, `dX/dv = 1`; `s_q = sum` of their coefficients)
//! needs no pass over the rows:
//!
//! * estimate `sum_q s_q G_q / W`;
//! * Jacobian `J_p = (sum_q s_q M_qp + G_p 1[columns equal to v]) / W`.
//!
//! Other terms containing `v` (`I(v^2)`, `log(v)`, `v:z`) add `R_q = sum_j b_qj dX_qj/dv` per
//! row: `sum_i w g_q R_q` to the estimate, the gemm column `w sum_q h_qp R_q`, and
//! `sum_i w g_p dX_pj/dv` on their own columns. A factor's levels are each evaluated once per
//! row (rows already at the level reuse the observed evaluation): with `Fbar_l` and
//! `V_p^(l) = X_p'(w g_p^(l))` per level, the contrast `l` vs `r` is `(Fbar_l - Fbar_r) / W` with
//! Jacobian `(V_p^(l) - V_p^(r)) / W`, the factor's own columns replaced by
//! `sum_i w g_p^(l) X_pj^(l)` differences. Everything is accumulated over fixed row chunks
//! (scratch memory independent of N) and the chunks added in order, so the results are the
//! same for any number of threads. Effects at the means or at given values use the general
//! per-effect scenario evaluation below.
//!
//! A two-part model's three sets of average effects ([`compute_twopart`]: the first part's
//! `h_1` over its rows, the second part's `h_2` over its own rows, the positive ones, with its
//! weights, and the combined `h_1 h_2` over the first part's rows) come from one such pass over
//! the first part's rows, with the second part's design on those rows: each row's
//! `(h_p, h_p', h_p'')` at the observed data and at each factor level is evaluated once per part
//! and read by every set that uses it (the second part's set only on its own rows), and each
//! part's `X_p' C_p` product holds the columns of all sets.
//!
//! Files: `request` (which effects, and the delta method), `plan` and `average` (the average
//! effects in one pass), `scenario` (effects at means or at given values), `predict`
//! (predictive margins, their contrasts, at-grid numlists).

mod average;
mod hypothesis;
mod numlist;
mod plan;
mod predict;
mod request;
mod scale;
mod scenario;
mod vce;

use average::*;
use plan::*;
use request::*;
use scenario::*;
use vce::{own_linearization, UnitRuns};

pub use hypothesis::{point_suffix, MarginVector};
pub use numlist::{keep_dydx, numlist, parse_dydx, parse_grid};
pub use predict::{
    check_variables, prediction_estimates, predictions, Adjust, ContrastKind, PostRequest, PredictionsResult, OVERALL,
};
pub use scale::{check_scale_dydx, MarginsScale};
pub use vce::{MarginsVce, MarginsVceKind};

use crate::design::{DesignSpec, FactorSetting, Scenario};
use crate::error::{usage, FitError, Result};
use crate::model::LinkKind;
use crate::output::Margin;
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

pub use crate::linalg::block_diag;

/// One part of a model, as margins see it: the design on the evaluation rows, its spec (for
/// scenarios), the coefficients and the link.
#[derive(Clone, Copy)]
pub struct PartEval<'a> {
    pub x: ArrayView2<'a, f64>,
    pub spec: &'a DesignSpec,
    pub beta: &'a [f64],
    pub link: LinkKind,
    /// The linear index `x beta` on the evaluation rows when already known (a fit's `eta`,
    /// which is `linalg::xbeta` of its design and estimates, bit for bit); `None` computes it.
    pub eta: Option<&'a [f64]>,
}

impl<'a> PartEval<'a> {
    /// A fitted model on its estimation rows, with the fit's linear index.
    pub fn of_fit(fit: &'a crate::model::Fit) -> Self {
        PartEval {
            x: fit.design.x.view(),
            spec: &fit.design.spec,
            beta: &fit.beta,
            link: fit.spec.link,
            eta: Some(&fit.eta),
        }
    }

    /// The linear index on the evaluation rows: the given one, or `x beta`.
    fn linear_index(&self) -> std::borrow::Cow<'_, [f64]> {
        match self.eta {
            Some(e) => {
                assert_eq!(e.len(), self.x.nrows(), "eta on the evaluation rows");
                std::borrow::Cow::Borrowed(e)
            }
            None => std::borrow::Cow::Owned(crate::linalg::xbeta(self.x, self.beta)),
        }
    }
}

/// The prediction whose effects are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `h_p(eta_p)`: the mean (probability) of part `p`.
    Mean(usize),
    /// `h_0(eta_0) h_1(eta_1)`: the combined mean of a two-part model.
    Product,
}

impl Target {
    /// F, its gradient and Hessian in the linear indices (P <= 2).
    fn eval(self, parts: &[PartEval], eta: &[f64; 2]) -> (f64, [f64; 2], [[f64; 2]; 2]) {
        match self {
            Target::Mean(p) => {
                let v = parts[p].link.link().eval(eta[p]);
                let (f, f1, f2) = (v.mu, v.d1, v.d2);
                let mut g = [0.0; 2];
                let mut h = [[0.0; 2]; 2];
                g[p] = f1;
                h[p][p] = f2;
                (f, g, h)
            }
            Target::Product => {
                let u = parts[0].link.link().eval(eta[0]);
                let v = parts[1].link.link().eval(eta[1]);
                let (a, a1, a2) = (u.mu, u.d1, u.d2);
                let (b, b1, b2) = (v.mu, v.d1, v.d2);
                (a * b, [a1 * b, a * b1], [[a2 * b, a1 * b1], [a1 * b1, a * b2]])
            }
        }
    }
}

/// Where the effects are evaluated.
#[derive(Debug, Clone)]
pub enum At {
    /// Average over the estimation rows (AME).
    Average,
    /// At the means of the variables, factor indicators at their shares (`atmeans`).
    Means,
    /// Average over the rows with some variables fixed: numeric values or factor levels.
    Values(Vec<(String, String)>),
}

impl At {
    /// Parses `--margins-at`: `means`, or `var=value,var=value`.
    pub fn parse(s: Option<&str>) -> Result<At> {
        match s {
            None => Ok(At::Average),
            Some("means") | Some("mean") => Ok(At::Means),
            Some(list) => {
                let mut out = Vec::new();
                for item in list.split(',') {
                    let (k, v) = item
                        .split_once('=')
                        .ok_or_else(|| usage(format!("margins at: expected 'var=value' or 'means', found '{item}'")))?;
                    let (k, v) = (k.trim(), v.trim());
                    if k.is_empty() || v.is_empty() {
                        return Err(usage(format!("margins at: expected 'var=value', found '{item}'")));
                    }
                    // Two values of one variable: Stata's `at()` would make two scenarios;
                    // one scenario keeps one value, so say so rather than keep the last.
                    if let Some((_, first)) = out.iter().find(|(name, _)| name == k) {
                        return Err(usage(format!(
                            "margins at: '{k}' is given twice ({k}={first} and {k}={v}); give each variable one value"
                        )));
                    }
                    if v.parse::<f64>().is_ok_and(|x| !x.is_finite()) {
                        return Err(usage(format!("margins at: {k}={v} is not a finite number")));
                    }
                    out.push((k.to_string(), v.to_string()));
                }
                Ok(At::Values(out))
            }
        }
    }
}

enum Kind {
    Derivative(String),
    Discrete { var: String, level: usize, reference: usize },
}

struct Request {
    term: String,
    contrast: String,
    kind: Kind,
}

/// Result of a margins computation: the effects plus notes (effects that could not be
/// computed, conventions used).
pub struct MarginsResult {
    pub margins: Vec<Margin>,
    pub notes: Vec<String>,
    pub description: String,
}

/// Computes the marginal effects of every variable of the parts on `target`.
///
/// `weights` are the averaging weights (the estimation weights), `vcov` the joint variance of
/// all parts' coefficients (stacked in part order).
pub fn compute<'v>(
    parts: &[PartEval],
    target: Target,
    weights: Option<&[f64]>,
    at: &At,
    vcov: impl Into<MarginsVce<'v>>,
    level: f64,
) -> Result<MarginsResult> {
    compute_inner(parts, target, weights, at, vcov.into(), level, true, MarginsScale::Dydx)
}

/// [`compute`] on a scale (`--margins-scale`: elasticities and semi-elasticities, see
/// [`MarginsScale`]); `MarginsScale::Dydx` is [`compute`] itself.
pub fn compute_scaled<'v>(
    parts: &[PartEval],
    target: Target,
    weights: Option<&[f64]>,
    at: &At,
    scale: MarginsScale,
    vcov: impl Into<MarginsVce<'v>>,
    level: f64,
) -> Result<MarginsResult> {
    compute_inner(parts, target, weights, at, vcov.into(), level, true, scale)
}

/// The estimates of [`compute`]'s effects only (standard errors 0): average effects skip the
/// Jacobians' products and the rows of weight 0 (a bootstrap replicate's).
pub fn estimates(parts: &[PartEval], target: Target, weights: Option<&[f64]>, at: &At) -> Result<MarginsResult> {
    estimates_scaled(parts, target, weights, at, MarginsScale::Dydx)
}

/// [`estimates`] on a scale (`--margins-scale`): the estimates of [`compute_scaled`]'s effects
/// (elasticities go through the per-effect scenario pass, whose Jacobians are computed and
/// not used).
pub fn estimates_scaled(
    parts: &[PartEval],
    target: Target,
    weights: Option<&[f64]>,
    at: &At,
    scale: MarginsScale,
) -> Result<MarginsResult> {
    let k: usize = parts.iter().map(|p| p.beta.len()).sum();
    compute_inner(parts, target, weights, at, (&Array2::zeros((k, k))).into(), 95.0, false, scale)
}

#[allow(clippy::too_many_arguments)]
fn compute_inner(
    parts: &[PartEval],
    target: Target,
    weights: Option<&[f64]>,
    at: &At,
    vce: MarginsVce,
    level: f64,
    jacobian: bool,
    scale: MarginsScale,
) -> Result<MarginsResult> {
    assert!(!parts.is_empty() && parts.len() <= 2);
    let n = parts[0].x.nrows();
    assert!(parts.iter().all(|p| p.x.nrows() == n && p.spec.n == n), "parts evaluated on the same rows");
    let k_total: usize = parts.iter().map(|p| p.beta.len()).sum();
    if let MarginsVce::Delta(v) = vce {
        assert_eq!(v.nrows(), k_total);
    }
    let units = vce.units();
    if let Some((u, _)) = units {
        assert_eq!(u.len(), n, "a unit for each evaluation row");
        if matches!(at, At::Means) {
            return Err(usage(
                "--margins-vce unconditional averages over the sampled rows; effects at the means (--margins-at means) have no unconditional variance here: use --margins-vce delta, or average effects with --at",
            ));
        }
    }
    let mut notes = Vec::new();

    let relevant: Vec<usize> = match target {
        Target::Mean(p) => vec![p],
        Target::Product => (0..parts.len()).collect(),
    };
    let (mut requests, factors) = requests(parts, &relevant, at, &mut notes);
    if scale.log_x() {
        // ex is not defined for a factor's levels: derivatives only.
        let before = requests.len();
        requests.retain(|r| matches!(r.kind, Kind::Derivative(_)));
        if requests.len() < before {
            notes.push(format!(
                "factor levels have no {} effect (ex, d ln x, is not defined for a factor); they are not reported",
                scale.name()
            ));
        }
    }
    for r in requests.iter_mut().filter(|r| matches!(r.kind, Kind::Derivative(_))) {
        r.contrast = scale.name().to_string();
    }

    // Base scenario from --margins-at.
    let w_all: Vec<f64> = weights.map(|w| w.to_vec()).unwrap_or_else(|| vec![1.0; n]);
    let wsum: f64 = w_all.iter().sum();
    let mut base = Scenario::default();
    let mut one_row = false;
    match at {
        At::Average => {}
        At::Means => {
            one_row = true;
            for &p in &relevant {
                for name in parts[p].spec.values.names() {
                    let vals = parts[p].spec.values.all(name);
                    let m = vals.iter().zip(&w_all).map(|(v, w)| v * w).sum::<f64>() / wsum;
                    base.numeric.insert(name.clone(), m);
                }
                for (var, _, levels, _) in parts[p].spec.factor_variables() {
                    let codes = parts[p].spec.factor_codes(&var).expect("factor present");
                    let mut shares = vec![0.0; levels.len()];
                    for (c, w) in codes.iter().zip(&w_all) {
                        shares[*c as usize] += w;
                    }
                    shares.iter_mut().for_each(|s| *s /= wsum);
                    base.factors.insert(var, FactorSetting::Shares(shares));
                }
            }
        }
        At::Values(list) => {
            for (var, value) in list {
                if let Some((_, text, levels, _)) = factors.iter().find(|f| &f.0 == var) {
                    let idx = levels.iter().position(|l| &l.name == value).ok_or_else(|| {
                        usage(format!(
                            "margins at: '{value}' is not a level of {text} (levels: {})",
                            levels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
                        ))
                    })?;
                    base.factors.insert(var.clone(), FactorSetting::Level(idx));
                } else if parts.iter().any(|p| p.spec.values.contains_key(var)) {
                    let v: f64 = value
                        .parse()
                        .map_err(|_| usage(format!("margins at: '{var}={value}': the value must be a number")))?;
                    base.numeric.insert(var.clone(), v);
                } else {
                    return Err(usage(format!("margins at: '{var}' is not a variable of the model")));
                }
            }
        }
    }

    if let (At::Average, MarginsScale::Dydx, MarginsVce::Delta(vcov)) = (at, scale, vce) {
        // The common case: the observed linear indices, shared by every effect. (The
        // unconditional variance needs each effect's per-unit sums: the per-effect pass below.)
        let set = AverageSet { target, relevant, requests: &requests, w: &w_all, rows: None, wsum };
        let effects = average_effects(parts, std::slice::from_ref(&set), jacobian).pop().expect("one set");
        return Ok(finish_average(&requests, effects, 0..k_total, vcov, level, notes, at));
    }

    // Evaluation rows: all rows, or one (at means: every row is the same).
    let rows_n = if one_row { 1 } else { n };
    let specs: Vec<DesignSpec> =
        if one_row { parts.iter().map(|p| p.spec.select_rows(&[0])).collect() } else { Vec::new() };
    let spec_of = |p: usize| if one_row { &specs[p] } else { parts[p].spec };
    let xs: Vec<ArrayView2<f64>> =
        parts.iter().map(|p| if one_row { p.x.slice(ndarray::s![0..1, ..]) } else { p.x.view() }).collect();
    let w: Vec<f64> = if one_row { vec![1.0] } else { w_all.clone() };
    let wtot: f64 = w.iter().sum();
    let np = parts.len();
    let eta_base: Vec<Vec<f64>> = parts
        .iter()
        .map(|p| {
            if one_row {
                crate::linalg::xbeta(p.x.slice(ndarray::s![0..1, ..]), p.beta)
            } else {
                p.linear_index().into_owned()
            }
        })
        .collect();
    // The prediction and its derivatives at the observed data: shared by every derivative
    // effect when no variable is fixed.
    let base_fixed = !base.numeric.is_empty() || !base.factors.is_empty();
    let base_eval: Vec<Eval> = if base_fixed {
        Vec::new()
    } else {
        (0..rows_n)
            .into_par_iter()
            .with_min_len(CHUNK)
            .map(|i| {
                let mut eta = [0.0; 2];
                for p in 0..np {
                    eta[p] = eta_base[p][i];
                }
                target.eval(parts, &eta)
            })
            .collect()
    };

    let mut margins = Vec::new();
    for batch in requests.chunks(BATCH) {
        let prepared: Vec<Prepared> =
            batch.iter().map(|req| prepare(req, &base, parts, &spec_of, &xs, &eta_base, rows_n, base_fixed)).collect();
        let nb = batch.len();
        // The variable's value on each row, for the scales with x (`eyex`, `dyex`): fixed by
        // the scenario (at means, at values) or observed.
        let xrows: Vec<Vec<f64>> = batch
            .iter()
            .map(|req| match &req.kind {
                Kind::Derivative(v) if scale != MarginsScale::Dydx => match base.numeric.get(v) {
                    Some(&x) => vec![x; rows_n],
                    None => (0..np)
                        .find(|&p| spec_of(p).values.contains_key(v))
                        .map(|p| spec_of(p).values.all(v).into_owned())
                        .unwrap_or_else(|| vec![f64::NAN; rows_n]),
                },
                _ => Vec::new(),
            })
            .collect();
        // C_p (rows x batch, row-major): the coefficient of the unaffected columns X_p[i, k].
        let mut cmat: Vec<Vec<f64>> = vec![vec![0.0; rows_n * nb]; np];
        let n_chunks = rows_n.div_ceil(CHUNK).max(1);
        // Per chunk: for each request, the estimate sum, the affected-column Jacobian sums and
        // the number of averaged rows whose prediction is not positive (`ey` scales only).
        let partials: Vec<Vec<EffectSums>> = {
            let mut c_chunks: Vec<Vec<&mut [f64]>> = (0..n_chunks).map(|_| Vec::with_capacity(np)).collect();
            for cm in cmat.iter_mut() {
                for (ci, sl) in cm.chunks_mut(CHUNK * nb).enumerate() {
                    c_chunks[ci].push(sl);
                }
            }
            c_chunks
                .into_par_iter()
                .enumerate()
                .map(|(ci, mut cs)| {
                    let lo = ci * CHUNK;
                    let hi = (lo + CHUNK).min(rows_n);
                    prepared
                        .iter()
                        .enumerate()
                        .map(|(r, pr)| {
                            let mut est = 0.0;
                            let mut bad = 0usize;
                            let mut jac: Vec<Vec<f64>> = pr.affected.iter().map(|a| vec![0.0; a.len()]).collect();
                            let mut runs = UnitRuns::default();
                            for i in lo..hi {
                                let wi = w[i];
                                let mut row = 0.0;
                                for (si, sc) in pr.scenarios.iter().enumerate() {
                                    let (f, g, h) = if sc.at_base {
                                        base_eval[i]
                                    } else {
                                        let mut eta = [0.0; 2];
                                        for p in 0..np {
                                            eta[p] = sc.eta[p].as_ref().map_or(eta_base[p][i], |e| e[i]);
                                        }
                                        target.eval(parts, &eta)
                                    };
                                    if scale.log_y()
                                        && f.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
                                        && wi != 0.0
                                    {
                                        bad += 1;
                                    }
                                    if pr.derivative && scale != MarginsScale::Dydx {
                                        // e = d m: d = dF/dv, m = x/F, x or 1/F (see `scale`).
                                        let mut de = [0.0; 2];
                                        for p in 0..np {
                                            de[p] = sc.deta[p][i];
                                        }
                                        let d: f64 = (0..np).map(|p| g[p] * de[p]).sum();
                                        let (m, dm) = scale.multiplier(f, xrows[r][i]);
                                        let t = wi * m * d;
                                        est += t;
                                        row += t;
                                        for p in 0..np {
                                            let cx: f64 =
                                                m * (0..np).map(|q| h[q][p] * de[q]).sum::<f64>() + d * dm * g[p];
                                            cs[p][(i - lo) * nb + r] += wi * cx;
                                            for (a, col) in pr.cols[si][p].iter().enumerate() {
                                                jac[p][a] += wi * (cx * col[i].v + m * g[p] * col[i].d);
                                            }
                                        }
                                    } else if !pr.derivative && scale.log_y() {
                                        // ln F under each level: value ln F, gradient g / F.
                                        let t = wi * sc.sign * f.ln();
                                        est += t;
                                        row += t;
                                        for p in 0..np {
                                            let gl = g[p] / f;
                                            cs[p][(i - lo) * nb + r] += wi * sc.sign * gl;
                                            for (a, col) in pr.cols[si][p].iter().enumerate() {
                                                jac[p][a] += wi * sc.sign * gl * col[i].v;
                                            }
                                        }
                                    } else if pr.derivative {
                                        let mut de = [0.0; 2];
                                        for p in 0..np {
                                            de[p] = sc.deta[p][i];
                                        }
                                        let t = wi * (0..np).map(|p| g[p] * de[p]).sum::<f64>();
                                        est += t;
                                        row += t;
                                        for p in 0..np {
                                            let cx: f64 = (0..np).map(|q| h[q][p] * de[q]).sum();
                                            cs[p][(i - lo) * nb + r] += wi * cx;
                                            for (a, col) in pr.cols[si][p].iter().enumerate() {
                                                jac[p][a] += wi * (cx * col[i].v + g[p] * col[i].d);
                                            }
                                        }
                                    } else {
                                        let t = wi * sc.sign * f;
                                        est += t;
                                        row += t;
                                        for p in 0..np {
                                            cs[p][(i - lo) * nb + r] += wi * sc.sign * g[p];
                                            for (a, col) in pr.cols[si][p].iter().enumerate() {
                                                jac[p][a] += wi * sc.sign * g[p] * col[i].v;
                                            }
                                        }
                                    }
                                }
                                if let Some((u, _)) = units {
                                    runs.push(u[i], row);
                                }
                            }
                            (est, jac, bad, runs)
                        })
                        .collect()
                })
                .collect()
        };
        // X_p' C_p for the unaffected columns, all requests of the batch at once.
        let xtc: Vec<Vec<f64>> = (0..np).map(|p| crate::linalg::xt_mat(xs[p], &cmat[p], nb)).collect();
        for (r, (req, pr)) in batch.iter().zip(&prepared).enumerate() {
            let mut estimate = 0.0;
            let mut jac: Vec<Vec<f64>> =
                (0..np).map(|p| (0..parts[p].beta.len()).map(|k| xtc[p][k * nb + r]).collect()).collect();
            let mut aff: Vec<Vec<f64>> = pr.affected.iter().map(|a| vec![0.0; a.len()]).collect();
            let bad: usize = partials.iter().map(|c| c[r].2).sum();
            if bad > 0 {
                return Err(FitError::Numerical(format!(
                    "--margins-scale {}: the effect of {} needs ln of the prediction, but the prediction is zero or negative on {bad} of the averaged rows (use --margins-scale dydx or dyex)",
                    scale.name(),
                    req.term
                ))
                .into());
            }
            for chunk in &partials {
                estimate += chunk[r].0;
                for p in 0..np {
                    for (a, v) in chunk[r].1[p].iter().enumerate() {
                        aff[p][a] += v;
                    }
                }
            }
            for p in 0..np {
                for (a, &j) in pr.affected[p].iter().enumerate() {
                    jac[p][j] = aff[p][a];
                }
            }
            let estimate = estimate / wtot;
            let jfull: Vec<f64> = jac.into_iter().flatten().map(|v| v / wtot).collect();
            let own = match units {
                Some((u, g)) => {
                    let mut sums = vec![0.0; g];
                    partials.iter().for_each(|c| c[r].3.add_into(&mut sums));
                    own_linearization(sums, estimate, u, &w, wtot)
                }
                None => Vec::new(),
            };
            let se = vce.se(&jfull, &own)?;
            if let Some(m) = finish_effect(req, estimate, &jfull, se, level, &mut margins, &mut notes) {
                m.linearized = own;
            }
        }
    }
    if requests.is_empty() {
        notes.push("the model has no regressors with marginal effects".into());
    }
    Ok(MarginsResult { margins, notes, description: describe_scaled(at, scale) })
}

/// One effect's sums on a chunk of rows: the estimate, the affected columns' Jacobian per
/// part, the number of averaged rows whose prediction is not positive, and (unconditional
/// variance) the estimate's sums per unit.
type EffectSums = (f64, Vec<Vec<f64>>, usize, UnitRuns);

/// A fitted two-part model as its effects see it.
pub struct TwoPartEval<'a> {
    /// The first part on its estimation rows (every row of the combined prediction).
    pub first: PartEval<'a>,
    /// The second part on its own estimation rows (the positive rows).
    pub second: PartEval<'a>,
    /// The second part's design on the first part's rows, with the second part's columns.
    pub second_on_all: PartEval<'a>,
    /// Position among the first part's rows of each of the second part's rows.
    pub second_rows: &'a [usize],
    /// Each part's estimation weights.
    pub weights1: Option<&'a [f64]>,
    pub weights2: Option<&'a [f64]>,
}

impl<'a> TwoPartEval<'a> {
    /// A fitted two-part model: each part on its estimation rows with its fitted linear index
    /// and its design's weights, and the second part's design on the first part's rows.
    pub fn of(tp: &'a crate::model::twopart::TwoPartFit) -> Self {
        let on_all = tp.second_on_all();
        TwoPartEval {
            first: PartEval::of_fit(&tp.first),
            second: PartEval::of_fit(&tp.second),
            second_on_all: PartEval {
                x: on_all.x.view(),
                spec: &on_all.spec,
                beta: &tp.second.beta,
                link: tp.second.spec.link,
                eta: None,
            },
            second_rows: &tp.second_rows_in_first,
            weights1: tp.first.design.weights.as_deref(),
            weights2: tp.second.design.weights.as_deref(),
        }
    }
}

/// The marginal effects of a two-part model: on the first part's prediction (variance `v1`),
/// on the second part's (`v2`), each averaged over its own estimation rows with its weights,
/// and on the combined `E[y] = h_1(eta_1) h_2(eta_2)` over the first part's rows (joint
/// variance `joint`, stacked first then second).
///
/// Average effects (`At::Average`) come from one pass over the first part's rows: each row's
/// `(h, h', h'')` at the observed data and at every factor level is evaluated once per part and
/// shared by the three sets (the second part's own sums read its rows among them, with the
/// second part's design on all rows, whose rows there are the second part's). The same
/// results as three [`compute`] calls up to the order of floating-point sums. Effects at the
/// means or at given values are three [`compute`] calls.
pub fn compute_twopart(
    tp: &TwoPartEval,
    at: &At,
    v1: &Array2<f64>,
    v2: &Array2<f64>,
    joint: &Array2<f64>,
    level: f64,
) -> Result<[MarginsResult; 3]> {
    compute_twopart_inner(tp, at, [v1.into(), v2.into(), joint.into()], level, true, MarginsScale::Dydx)
}

/// [`compute_twopart`] on a scale (see [`MarginsScale`]): each set's row-wise effects on that
/// scale, the combined set's of `E[y] = h_1 h_2`; `vce` the variances of the first part's, the
/// second part's and the combined effects (the delta method's matrices, or the unconditional
/// linearization's).
pub fn compute_twopart_scaled(
    tp: &TwoPartEval,
    at: &At,
    scale: MarginsScale,
    vce: [MarginsVce; 3],
    level: f64,
) -> Result<[MarginsResult; 3]> {
    compute_twopart_inner(tp, at, vce, level, true, scale)
}

/// The estimates of [`compute_twopart`]'s three sets only (standard errors 0), as
/// [`estimates`].
pub fn twopart_estimates(tp: &TwoPartEval, at: &At) -> Result<[MarginsResult; 3]> {
    twopart_estimates_scaled(tp, at, MarginsScale::Dydx)
}

/// [`twopart_estimates`] on a scale (see [`estimates_scaled`]).
pub fn twopart_estimates_scaled(tp: &TwoPartEval, at: &At, scale: MarginsScale) -> Result<[MarginsResult; 3]> {
    let (k1, k2) = (tp.first.beta.len(), tp.second.beta.len());
    let z = |k: usize| Array2::zeros((k, k));
    let (z1, z2, zj) = (z(k1), z(k2), z(k1 + k2));
    compute_twopart_inner(tp, at, [(&z1).into(), (&z2).into(), (&zj).into()], 95.0, false, scale)
}

#[allow(clippy::too_many_arguments)]
fn compute_twopart_inner(
    tp: &TwoPartEval,
    at: &At,
    vce: [MarginsVce; 3],
    level: f64,
    jacobian: bool,
    scale: MarginsScale,
) -> Result<[MarginsResult; 3]> {
    let (first, second, q2) = (&tp.first, &tp.second, &tp.second_on_all);
    let n = first.x.nrows();
    let (k1, k2) = (first.beta.len(), second.beta.len());
    let delta = match vce {
        [MarginsVce::Delta(v1), MarginsVce::Delta(v2), MarginsVce::Delta(joint)] => Some((v1, v2, joint)),
        _ => None,
    };
    let one_pass = matches!(at, At::Average)
        && scale == MarginsScale::Dydx
        && q2.x.nrows() == n
        && q2.spec.n == n
        && first.spec.n == n
        && q2.x.ncols() == k2
        && second.x.ncols() == k2
        && q2.spec.columns.len() == second.spec.columns.len()
        && tp.second_rows.len() == second.x.nrows()
        && tp.second_rows.iter().all(|&i| i < n);
    let Some((v1, v2, joint)) = delta.filter(|_| one_pass) else {
        let [v1, v2, joint] = vce;
        return Ok([
            compute_inner(&[*first], Target::Mean(0), tp.weights1, at, v1, level, jacobian, scale)?,
            compute_inner(&[*second], Target::Mean(0), tp.weights2, at, v2, level, jacobian, scale)?,
            compute_inner(&[*first, *q2], Target::Product, tp.weights1, at, joint, level, jacobian, scale)?,
        ]);
    };
    assert_eq!((v1.nrows(), v2.nrows(), joint.nrows()), (k1, k2, k1 + k2));
    // Requests and notes from each set's own rows (the second part's: its positive rows).
    let (mut n1, mut n2, mut nc) = (Vec::new(), Vec::new(), Vec::new());
    let (r1, _) = requests(&[*first], &[0], at, &mut n1);
    let (r2, _) = requests(&[*second], &[0], at, &mut n2);
    let parts = [*first, *q2];
    let (rc, _) = requests(&parts, &[0, 1], at, &mut nc);
    let w1: Vec<f64> = tp.weights1.map(|w| w.to_vec()).unwrap_or_else(|| vec![1.0; n]);
    let wsum1: f64 = w1.iter().sum();
    // The second part's weights on the first part's rows (0 elsewhere, and not read there).
    let w2own: Vec<f64> = tp.weights2.map(|w| w.to_vec()).unwrap_or_else(|| vec![1.0; tp.second_rows.len()]);
    let wsum2: f64 = w2own.iter().sum();
    let mut w2 = vec![0.0; n];
    let mut in2 = vec![false; n];
    for (&i, &w) in tp.second_rows.iter().zip(&w2own) {
        w2[i] = w;
        in2[i] = true;
    }
    let sets = [
        AverageSet { target: Target::Mean(0), relevant: vec![0], requests: &r1, w: &w1, rows: None, wsum: wsum1 },
        AverageSet { target: Target::Mean(1), relevant: vec![1], requests: &r2, w: &w2, rows: Some(&in2), wsum: wsum2 },
        AverageSet { target: Target::Product, relevant: vec![0, 1], requests: &rc, w: &w1, rows: None, wsum: wsum1 },
    ];
    let mut effects = average_effects(&parts, &sets, jacobian).into_iter();
    let mut next = || effects.next().expect("three sets");
    Ok([
        finish_average(&r1, next(), 0..k1, v1, level, n1, at),
        finish_average(&r2, next(), k1..k1 + k2, v2, level, n2, at),
        finish_average(&rc, next(), 0..k1 + k2, joint, level, nc, at),
    ])
}

/// Numerical Jacobian check helper (used in tests): the effect estimate as a function of the
/// stacked parameters.
pub fn estimate_with(parts: &[PartEval], target: Target, weights: Option<&[f64]>, at: &At, term: &str) -> Result<f64> {
    let k: usize = parts.iter().map(|p| p.beta.len()).sum();
    let v = Array2::zeros((k, k));
    let r = compute(parts, target, weights, at, &v, 95.0)?;
    r.margins
        .iter()
        .find(|m| m.term == term)
        .map(|m| m.estimate)
        .ok_or_else(|| usage(format!("no effect named {term}")))
}
