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
//! covariates).
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

use crate::design::{ColumnValues, DesignSpec, FactorSetting, Scenario};
use crate::error::{usage, Result};
use crate::model::LinkKind;
use crate::linalg::quad_form;
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
                    let (k, v) = item.split_once('=').ok_or_else(|| {
                        usage(format!("--margins-at: expected 'var=value' or 'means', found '{item}'"))
                    })?;
                    let (k, v) = (k.trim(), v.trim());
                    if k.is_empty() || v.is_empty() {
                        return Err(usage(format!("--margins-at: expected 'var=value', found '{item}'")));
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
pub fn compute(
    parts: &[PartEval],
    target: Target,
    weights: Option<&[f64]>,
    at: &At,
    vcov: &Array2<f64>,
    level: f64,
) -> Result<MarginsResult> {
    assert!(!parts.is_empty() && parts.len() <= 2);
    let n = parts[0].x.nrows();
    assert!(parts.iter().all(|p| p.x.nrows() == n && p.spec.n == n), "parts evaluated on the same rows");
    let k_total: usize = parts.iter().map(|p| p.beta.len()).sum();
    assert_eq!(vcov.nrows(), k_total);
    let mut notes = Vec::new();

    let relevant: Vec<usize> = match target {
        Target::Mean(p) => vec![p],
        Target::Product => (0..parts.len()).collect(),
    };
    let (requests, factors) = requests(parts, &relevant, at, &mut notes);

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
                            "--margins-at: '{value}' is not a level of {text} (levels: {})",
                            levels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
                        ))
                    })?;
                    base.factors.insert(var.clone(), FactorSetting::Level(idx));
                } else if parts.iter().any(|p| p.spec.values.contains_key(var)) {
                    let v: f64 = value
                        .parse()
                        .map_err(|_| usage(format!("--margins-at: '{var}={value}': the value must be a number")))?;
                    base.numeric.insert(var.clone(), v);
                } else {
                    return Err(usage(format!("--margins-at: '{var}' is not a variable of the model")));
                }
            }
        }
    }

    if matches!(at, At::Average) {
        // The common case: the observed linear indices, shared by every effect.
        let set = AverageSet { target, relevant, requests: &requests, w: &w_all, rows: None, wsum };
        let effects = average_effects(parts, std::slice::from_ref(&set)).pop().expect("one set");
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
        // C_p (rows x batch, row-major): the coefficient of the unaffected columns X_p[i, k].
        let mut cmat: Vec<Vec<f64>> = vec![vec![0.0; rows_n * nb]; np];
        let n_chunks = rows_n.div_ceil(CHUNK).max(1);
        // Per chunk: for each request, the estimate sum and the affected-column Jacobian sums.
        let partials: Vec<Vec<(f64, Vec<Vec<f64>>)>> = {
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
                            let mut jac: Vec<Vec<f64>> = pr.affected.iter().map(|a| vec![0.0; a.len()]).collect();
                            for i in lo..hi {
                                let wi = w[i];
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
                                    if pr.derivative {
                                        let mut de = [0.0; 2];
                                        for p in 0..np {
                                            de[p] = sc.deta[p][i];
                                        }
                                        est += wi * (0..np).map(|p| g[p] * de[p]).sum::<f64>();
                                        for p in 0..np {
                                            let cx: f64 = (0..np).map(|q| h[q][p] * de[q]).sum();
                                            cs[p][(i - lo) * nb + r] += wi * cx;
                                            for (a, col) in pr.cols[si][p].iter().enumerate() {
                                                jac[p][a] += wi * (cx * col[i].v + g[p] * col[i].d);
                                            }
                                        }
                                    } else {
                                        est += wi * sc.sign * f;
                                        for p in 0..np {
                                            cs[p][(i - lo) * nb + r] += wi * sc.sign * g[p];
                                            for (a, col) in pr.cols[si][p].iter().enumerate() {
                                                jac[p][a] += wi * sc.sign * g[p] * col[i].v;
                                            }
                                        }
                                    }
                                }
                            }
                            (est, jac)
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
            finish_effect(req, estimate, &jfull, vcov, level, &mut margins, &mut notes);
        }
    }
    if requests.is_empty() {
        notes.push("the model has no regressors with marginal effects".into());
    }
    Ok(MarginsResult { margins, notes, description: describe(at) })
}

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
    let (first, second, q2) = (&tp.first, &tp.second, &tp.second_on_all);
    let n = first.x.nrows();
    let (k1, k2) = (first.beta.len(), second.beta.len());
    let one_pass = matches!(at, At::Average)
        && q2.x.nrows() == n
        && q2.spec.n == n
        && first.spec.n == n
        && q2.x.ncols() == k2
        && second.x.ncols() == k2
        && q2.spec.columns.len() == second.spec.columns.len()
        && tp.second_rows.len() == second.x.nrows()
        && tp.second_rows.iter().all(|&i| i < n);
    if !one_pass {
        return Ok([
            compute(&[*first], Target::Mean(0), tp.weights1, at, v1, level)?,
            compute(&[*second], Target::Mean(0), tp.weights2, at, v2, level)?,
            compute(&[*first, *q2], Target::Product, tp.weights1, at, joint, level)?,
        ]);
    }
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
    let mut effects = average_effects(&parts, &sets).into_iter();
    let mut next = || effects.next().expect("three sets");
    Ok([
        finish_average(&r1, next(), 0..k1, v1, level, n1, at),
        finish_average(&r2, next(), k1..k1 + k2, v2, level, n2, at),
        finish_average(&rc, next(), 0..k1 + k2, joint, level, nc, at),
    ])
}

/// A factor of the parts: (variable, text in the formula, levels, reference level).
type FactorVar = (String, String, Vec<crate::data::Level>, usize);

/// The effects asked for on the `relevant` parts' variables, in order of appearance: a
/// derivative per continuous variable, a discrete change per factor level other than the
/// reference (levels without observations get a note instead). Variables fixed by
/// `--margins-at` have no discrete change of their own.
fn requests(
    parts: &[PartEval],
    relevant: &[usize],
    at: &At,
    notes: &mut Vec<String>,
) -> (Vec<Request>, Vec<FactorVar>) {
    let mut continuous: Vec<String> = Vec::new();
    let mut factors: Vec<FactorVar> = Vec::new();
    for &p in relevant {
        for v in parts[p].spec.continuous_variables() {
            if !continuous.contains(&v) {
                continuous.push(v);
            }
        }
        for f in parts[p].spec.factor_variables() {
            if !factors.iter().any(|g| g.0 == f.0) {
                factors.push(f);
            }
        }
    }
    let mut requests = Vec::new();
    for v in &continuous {
        requests.push(Request { term: v.clone(), contrast: "dydx".into(), kind: Kind::Derivative(v.clone()) });
    }
    for (var, text, levels, reference) in &factors {
        let codes = relevant.iter().find_map(|&p| parts[p].spec.factor_codes(var)).expect("factor");
        for (l, lv) in levels.iter().enumerate() {
            if l == *reference {
                continue;
            }
            let term = format!("{text}[{}]", lv.name);
            if !codes.iter().any(|&c| c as usize == l) {
                notes.push(format!(
                    "{term}: level '{}' has no observations in the estimation sample; its effect is not computed",
                    lv.name
                ));
                continue;
            }
            requests.push(Request {
                term,
                contrast: format!("{} vs {}", lv.name, levels[*reference].name),
                kind: Kind::Discrete { var: var.clone(), level: l, reference: *reference },
            });
        }
    }
    if let At::Values(list) = at {
        // Variables fixed by --margins-at have no discrete change of their own.
        requests.retain(|r| match &r.kind {
            Kind::Discrete { var, .. } => !list.iter().any(|(v, _)| v == var),
            Kind::Derivative(_) => true,
        });
    }

    (requests, factors)
}

/// The effects of one set of the average pass with their SEs: `cols` are the set's parts'
/// positions in the stacked Jacobian, `vcov` their variance.
fn finish_average(
    requests: &[Request],
    effects: Vec<(f64, Vec<f64>)>,
    cols: std::ops::Range<usize>,
    vcov: &Array2<f64>,
    level: f64,
    mut notes: Vec<String>,
    at: &At,
) -> MarginsResult {
    let mut margins = Vec::new();
    for (req, (estimate, jfull)) in requests.iter().zip(effects) {
        finish_effect(req, estimate, &jfull[cols.clone()], vcov, level, &mut margins, &mut notes);
    }
    if requests.is_empty() {
        notes.push("the model has no regressors with marginal effects".into());
    }
    MarginsResult { margins, notes, description: describe(at) }
}

/// Adds an effect with its delta-method SE, or a note when it is not finite.
fn finish_effect(
    req: &Request,
    estimate: f64,
    jac: &[f64],
    vcov: &Array2<f64>,
    level: f64,
    margins: &mut Vec<Margin>,
    notes: &mut Vec<String>,
) {
    let se = quad_form(jac, vcov).max(0.0).sqrt();
    if !estimate.is_finite() || !se.is_finite() {
        notes.push(format!("{}: the effect could not be computed (not finite)", req.term));
        return;
    }
    margins.push(Margin::new(req.term.clone(), req.contrast.clone(), estimate, se, level));
}

fn describe(at: &At) -> String {
    let what = match at {
        At::Average => "Average marginal effects".to_string(),
        At::Means => "Marginal effects at the means (factor indicators at their sample shares)".to_string(),
        At::Values(list) => format!(
            "Average marginal effects at {}",
            list.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
        ),
    };
    format!(
        "{what}: derivatives (dy/dx) for continuous and numeric 0/1 variables, discrete changes from the reference level for factors; delta-method standard errors."
    )
}

/// Rows per chunk of the average-effects pass: fixed boundaries, partial sums added in chunk
/// order, so results do not depend on the number of threads.
const AVG_CHUNK: usize = 2048;

/// A derivative effect in the average pass. Columns of a part containing `v` are split into
/// those equal to `v` itself (`dX/dv = 1` on every row: their contribution needs no row loop)
/// and the others (`I(v^2)`, `log(v)`, `v:z`), which need per-row work.
struct DerivPlan {
    scenario: Scenario,
    lin: Vec<Vec<usize>>,
    nonlin: Vec<Vec<usize>>,
    /// Per part, `sum_{j in lin} b_j`: the constant part of `d eta_p / dv`.
    s: [f64; 2],
    /// Column of the set's block of `C_p` holding `w sum_q h_qp R_q` (non-linear terms only).
    col: Option<usize>,
    /// Offset in the set's scalar accumulator: the non-linear estimate sum, then per part the
    /// non-linear columns' `sum w g_p dX/dv`.
    acc: usize,
}

/// One effect set of the average pass: a prediction averaged over some of the evaluation
/// rows (a two-part model's second part: its own, positive, rows) with its weights.
struct AverageSet<'a> {
    target: Target,
    /// The parts the prediction depends on, in part order.
    relevant: Vec<usize>,
    requests: &'a [Request],
    /// Averaging weights on the evaluation rows (read only on the set's rows).
    w: &'a [f64],
    /// The rows averaged over (`None`: every evaluation row).
    rows: Option<&'a [bool]>,
    wsum: f64,
}

impl AverageSet<'_> {
    #[inline]
    fn has(&self, i: usize) -> bool {
        self.rows.is_none_or(|m| m[i])
    }
}

/// A set's share of the pass: its derivative plans, the factor levels it reads, and where its
/// sums live. Columns of the set's block of `C_p`: first `w h_qp` for each relevant part `q`
/// (in order), then one per non-linear derivative and per factor level. Scalars: first
/// `sum w g_q` per relevant part, then the plans' sums.
struct SetPlan {
    dplans: Vec<(String, DerivPlan)>,
    levels: Vec<LevelUse>,
    ncols: usize,
    nacc: usize,
    /// Per part, the first column of the set's block in the chunk's `C_p`.
    off: [usize; 2],
}

/// A factor level as one set uses it.
struct LevelUse {
    /// Index in the pass's list of level evaluations.
    eval: usize,
    /// Column of the set's block of `C_p` holding `w g_p^(level)`.
    col: usize,
    /// Offset in the set's scalar accumulator: `sum w F^(level)`, then per relevant part the
    /// affected columns' `sum w g_p^(level) X^(level)`.
    acc: usize,
}

/// A factor level, every row set to it: evaluated once per row for all the sets reading it.
struct LevelEval {
    factor: usize,
    level: usize,
    scenario: Scenario,
    /// The sets reading it: (set, index in the set's `levels`).
    users: Vec<(usize, usize)>,
}

struct FactorPlan {
    var: String,
    /// Per part, the columns the factor enters (parts of the sets using it).
    affected: Vec<Vec<usize>>,
    /// The parts with affected columns.
    parts: Vec<usize>,
}

/// The affected columns of one part under one factor level, on a chunk of rows.
enum LevelColumns<'a> {
    /// Only the factor's own indicators: the index changes by `shift[code]` on a row at level
    /// `code`; `own` is the indicator that is non-zero under the level (position, value).
    Indicators { codes: &'a [u32], shift: Vec<f64>, own: Option<(usize, f64)> },
    /// Interactions or transformations: the columns' values on the rows.
    General(Vec<ColumnValues>),
}

/// When every affected column is an indicator of one factor atom, the change of the linear
/// index for each observed level: `sum_a (x_a^(level) - x_a(code)) b_a` over the columns in
/// order, the same sum the per-row loop computes (indicators are exactly 0 or 1).
fn indicator_shifts<'s>(
    spec: &'s DesignSpec,
    affected: &[usize],
    under: &[ColumnValues],
    beta: &[f64],
) -> Option<(&'s [u32], Vec<f64>)> {
    use crate::design::{Part, ResolvedAtom};
    let mut atom = None;
    let mut levels = Vec::with_capacity(affected.len());
    for (&j, v) in affected.iter().zip(under) {
        let (&[Part::Level(a, l)], ColumnValues::Const(_)) = (spec.columns[j].parts.as_slice(), v) else {
            return None;
        };
        if atom.is_some_and(|b| b != a) {
            return None;
        }
        atom = Some(a);
        levels.push(l);
    }
    let ResolvedAtom::Factor { codes, levels: names, .. } = &spec.atoms[atom?] else {
        return None;
    };
    let shift = (0..names.len())
        .map(|code| {
            let mut shift = 0.0;
            for ((&j, v), &l) in affected.iter().zip(under).zip(&levels) {
                let observed = f64::from(u8::from(code == l));
                shift += (v.at(0) - observed) * beta[j];
            }
            shift
        })
        .collect();
    Some((codes, shift))
}

/// True when design column `j` is the numeric variable `v` itself.
fn is_identity_column(spec: &DesignSpec, j: usize, v: &str) -> bool {
    match spec.columns[j].parts.as_slice() {
        [crate::design::Part::Numeric(a)] => matches!(
            &spec.atoms[*a],
            crate::design::ResolvedAtom::Numeric { expr: crate::formula::Expr::Var(name), .. } if name == v
        ),
        _ => false,
    }
}

/// Where part `p`'s affected columns start among a level's sums of a set.
fn level_acc(set: &AverageSet, f: &FactorPlan, u: &LevelUse, p: usize) -> usize {
    u.acc + 1 + set.relevant.iter().take_while(|&&q| q != p).map(|&q| f.affected[q].len()).sum::<usize>()
}

/// One set's sums for one factor level on a chunk, when every part the set reads has only
/// the factor's indicators: `sum w F^(l)`, the level's column `w g_p^(l)` of each `C_p`, and
/// the non-zero indicator's `sum w g_p^(l)` (the other indicators are 0 under the level).
struct LevelSums<'a, 'b> {
    set: &'a AverageSet<'a>,
    lo: usize,
    lvl: &'a [[(f64, f64, f64); 2]],
    acc: &'b mut [f64],
    c: &'b mut [Vec<f64>],
}

impl LevelSums<'_, '_> {
    /// `P` parts (`parts[..P]`), `col` their columns in `C_p`, `own` their non-zero indicator
    /// (accumulator, value), `value` F and its gradient from the row's evaluations. Each sum
    /// starts from the chunk's zero and adds the rows in order, as the general loop does.
    #[inline]
    fn run<const P: usize>(
        self,
        parts: [usize; 2],
        col: [usize; 2],
        own: [Option<(usize, f64)>; 2],
        acc_f: usize,
        value: impl Fn(&[(f64, f64, f64); 2]) -> (f64, [f64; 2]),
    ) {
        let (set, lo) = (self.set, self.lo);
        let mut sf = 0.0;
        let mut so = [0.0; 2];
        // C of parts[0] and of parts[1] (P = 2: parts 0 and 1).
        let (c0, c1): (&mut [f64], &mut [f64]) = match self.c {
            [a] => (a, &mut []),
            [a, b] if parts[0] == 0 => (a, b),
            [a, b] => (b, a),
            _ => unreachable!("two parts at most"),
        };
        // The level's column of each (column-major, a chunk's rows long).
        let rows = self.lvl.len();
        let c0 = &mut c0[col[0] * rows..][..rows];
        let c1: &mut [f64] = if P == 2 { &mut c1[col[1] * rows..][..rows] } else { &mut [] };
        // The own indicators' values, 0 where there is none (that sum is then not used): no
        // branch per row.
        let x = own.map(|o| o.map_or(0.0, |(_, x)| x));
        let mut step = |r: usize, lv: &[(f64, f64, f64); 2], wi: f64| {
            let (fv, g) = value(lv);
            sf += wi * fv;
            let wg0 = wi * g[0];
            c0[r] = wg0;
            so[0] += wg0 * x[0];
            if P == 2 {
                let wg1 = wi * g[1];
                c1[r] = wg1;
                so[1] += wg1 * x[1];
            }
        };
        let w = &set.w[lo..lo + rows];
        match set.rows {
            None => self.lvl.iter().zip(w).enumerate().for_each(|(r, (lv, &wi))| step(r, lv, wi)),
            Some(mask) => {
                for (r, ((lv, &wi), &keep)) in self.lvl.iter().zip(w).zip(&mask[lo..lo + rows]).enumerate() {
                    if keep {
                        step(r, lv, wi);
                    }
                }
            }
        }
        self.acc[acc_f] += sf;
        for q in 0..P {
            if let Some((a, _)) = own[q] {
                self.acc[a] += so[q];
            }
        }
    }
}

/// Part `p`'s `(h, h', h'')` on a chunk's rows, into `out[r][p]`: at `eta + shift(r)` where the
/// shift is not zero, otherwise `base(r)` if given (the observed evaluation, for a factor level:
/// rows already at the level) or at `eta`. Dispatched once per chunk to the link's own code.
fn eval_level(
    link: LinkKind,
    eta: &[f64],
    shift: impl Fn(usize) -> f64,
    out: &mut [[(f64, f64, f64); 2]],
    p: usize,
    base: impl Fn(usize) -> Option<(f64, f64, f64)>,
) {
    fn go<L: crate::model::Link + ?Sized>(
        link: &L,
        eta: &[f64],
        shift: impl Fn(usize) -> f64,
        out: &mut [[(f64, f64, f64); 2]],
        p: usize,
        base: impl Fn(usize) -> Option<(f64, f64, f64)>,
    ) {
        for (r, (lv, &e)) in out.iter_mut().zip(eta).enumerate() {
            let s = shift(r);
            lv[p] = match base(r) {
                Some(b) if s == 0.0 => b,
                _ => {
                    let v = link.eval(e + s);
                    (v.mu, v.d1, v.d2)
                }
            };
        }
    }
    use crate::model::link;
    match link {
        LinkKind::Probit => {
            // The rows to evaluate (those not already at the level) at once:
            // `Probit::eval_block` is vectorised and gives the same bits as `eval` row by row.
            // Per-thread scratch, reused from call to call.
            thread_local! {
                static SCRATCH: std::cell::RefCell<(Vec<f64>, Vec<link::LinkValues>, Vec<u32>)> =
                    const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
            }
            SCRATCH.with_borrow_mut(|(t, v, at)| {
                t.clear();
                at.clear();
                for (r, (lv, &e)) in out.iter_mut().zip(eta).enumerate() {
                    let s = shift(r);
                    match base(r) {
                        Some(b) if s == 0.0 => lv[p] = b,
                        _ => {
                            t.push(e + s);
                            at.push(r as u32);
                        }
                    }
                }
                v.resize(t.len(), link::LinkValues::default());
                crate::model::Link::eval_block(&link::Probit, t, v);
                for (&r, v) in at.iter().zip(v.iter()) {
                    out[r as usize][p] = (v.mu, v.d1, v.d2);
                }
            });
        }
        LinkKind::Log => go(&link::Log, eta, shift, out, p, base),
        LinkKind::Logit => go(&link::Logit, eta, shift, out, p, base),
        other => go(other.link(), eta, shift, out, p, base),
    }
}

/// A chunk's partial sums in the average pass: each set's scalars, each part's `X_p' C_p`.
type ChunkSums = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// Per-thread scratch of the average pass, reused from chunk to chunk: a chunk writes every
/// entry it reads.
struct AvgScratch {
    /// `C_p`, rows x (all sets' columns), column-major (a column is a chunk's rows long).
    c: Vec<Vec<f64>>,
    /// Each row's `(h_p, h_p', h_p'')` at the observed data.
    lvb: Vec<[(f64, f64, f64); 2]>,
    /// The same under a factor level.
    lvl: Vec<[(f64, f64, f64); 2]>,
}

/// `F`, its gradient and Hessian from each part's `(h, h', h'')` (as [`Target::eval`]).
#[inline]
fn combine(target: Target, lv: &[(f64, f64, f64); 2]) -> Eval {
    match target {
        Target::Mean(p) => {
            let mut g = [0.0; 2];
            let mut h = [[0.0; 2]; 2];
            g[p] = lv[p].1;
            h[p][p] = lv[p].2;
            (lv[p].0, g, h)
        }
        Target::Product => {
            let (a, a1, a2) = lv[0];
            let (b, b1, b2) = lv[1];
            (a * b, [a1 * b, a * b1], [[a2 * b, a1 * b1], [a1 * b1, a * b2]])
        }
    }
}

/// Average effects at the observed data (no variable fixed) of several effect sets, all
/// requests in one pass over row chunks. Returns, per set and request, the estimate and the
/// Jacobian (stacked over all parts; zero for the parts the set's prediction does not use).
///
/// Derivatives: with `G_q = sum_i w_i g_qi` and `M_qp = X_p'(w h_qp)` computed once, an effect
/// whose columns are all linear in `v` costs O(k): estimate `sum_q s_q G_q / W`, Jacobian
/// `(sum_q s_q M_qp + G_p 1_lin) / W`. Non-linear terms add one gemm column each
/// (`X_p'(w sum_q h_qp R_q)`, `R_q = sum_{j nonlin} b_qj dX_qj/dv`) and their explicit
/// `sum w g_p dX/dv` on their own columns.
///
/// Discrete changes: each level of a factor is evaluated once per row (rows already at that
/// level reuse the observed evaluation), each part's `(h, h', h'')` once for every set reading
/// the level; a contrast is the difference of two levels' sums, its Jacobian the difference of
/// `X_p'(w g_p^(l))` with the affected columns replaced by `sum w g_p^(l) X_p^(l)`. The sets'
/// columns of `C_p` sit side by side: one `X_p' C_p` product per part and chunk.
fn average_effects(parts: &[PartEval], sets: &[AverageSet]) -> Vec<Vec<(f64, Vec<f64>)>> {
    let np = parts.len();
    let n = parts[0].x.nrows();
    assert!(sets.iter().all(|s| s.w.len() == n && s.rows.is_none_or(|m| m.len() == n)));
    let kx: Vec<usize> = parts.iter().map(|p| p.beta.len()).collect();

    // Plans. Factor levels are shared by the sets that read them.
    let mut factors: Vec<FactorPlan> = Vec::new();
    let mut levels: Vec<LevelEval> = Vec::new();
    let mut plans: Vec<SetPlan> = Vec::new();
    for (t, set) in sets.iter().enumerate() {
        let nr = set.relevant.len();
        let mut plan = SetPlan { dplans: Vec::new(), levels: Vec::new(), ncols: nr, nacc: nr, off: [0; 2] };
        for req in set.requests {
            match &req.kind {
                Kind::Derivative(v) => {
                    if plan.dplans.iter().any(|d| &d.0 == v) {
                        continue;
                    }
                    let scenario = Scenario { wrt: Some(v.clone()), ..Default::default() };
                    let mut lin = vec![Vec::new(); np];
                    let mut nonlin = vec![Vec::new(); np];
                    let mut s = [0.0; 2];
                    for &p in &set.relevant {
                        for j in 0..kx[p] {
                            if parts[p].spec.column_affected(j, &scenario) {
                                if is_identity_column(parts[p].spec, j, v) {
                                    lin[p].push(j);
                                    s[p] += parts[p].beta[j];
                                } else {
                                    nonlin[p].push(j);
                                }
                            }
                        }
                    }
                    let col = if nonlin.iter().any(|c| !c.is_empty()) {
                        plan.ncols += 1;
                        Some(plan.ncols - 1)
                    } else {
                        None
                    };
                    let acc = plan.nacc;
                    plan.nacc += 1 + nonlin.iter().map(Vec::len).sum::<usize>();
                    plan.dplans.push((v.clone(), DerivPlan { scenario, lin, nonlin, s, col, acc }));
                }
                Kind::Discrete { var, level, reference } => {
                    let fi = match factors.iter().position(|f| &f.var == var) {
                        Some(fi) => fi,
                        None => {
                            factors.push(FactorPlan {
                                var: var.clone(),
                                affected: vec![Vec::new(); np],
                                parts: Vec::new(),
                            });
                            factors.len() - 1
                        }
                    };
                    let f = &mut factors[fi];
                    for &p in &set.relevant {
                        if !f.parts.contains(&p) && f.affected[p].is_empty() {
                            let mut probe = Scenario::default();
                            probe.factors.insert(var.clone(), FactorSetting::Level(*reference));
                            f.affected[p] = (0..kx[p]).filter(|&j| parts[p].spec.column_affected(j, &probe)).collect();
                            if !f.affected[p].is_empty() {
                                f.parts.push(p);
                                f.parts.sort_unstable();
                            }
                        }
                    }
                    let width = 1 + set.relevant.iter().map(|&p| f.affected[p].len()).sum::<usize>();
                    for &l in &[*level, *reference] {
                        let e = match levels.iter().position(|e| e.factor == fi && e.level == l) {
                            Some(e) => e,
                            None => {
                                let mut scenario = Scenario::default();
                                scenario.factors.insert(var.clone(), FactorSetting::Level(l));
                                levels.push(LevelEval { factor: fi, level: l, scenario, users: Vec::new() });
                                levels.len() - 1
                            }
                        };
                        if !plan.levels.iter().any(|u| u.eval == e) {
                            levels[e].users.push((t, plan.levels.len()));
                            plan.levels.push(LevelUse { eval: e, col: plan.ncols, acc: plan.nacc });
                            plan.ncols += 1;
                            plan.nacc += width;
                        }
                    }
                }
            }
        }
        plans.push(plan);
    }
    // The sets' blocks side by side in each part's C.
    let mut nc = [0usize; 2];
    for (set, plan) in sets.iter().zip(plans.iter_mut()) {
        for &p in &set.relevant {
            plan.off[p] = nc[p];
            nc[p] += plan.ncols;
        }
    }
    let used: Vec<usize> = (0..np).filter(|p| sets.iter().any(|s| s.relevant.contains(p))).collect();

    let xsl: Vec<&[f64]> = parts.iter().map(|p| p.x.as_slice().expect("designs are row-major")).collect();
    let eta: Vec<std::borrow::Cow<[f64]>> = parts.iter().map(PartEval::linear_index).collect();
    let n_chunks = n.div_ceil(AVG_CHUNK).max(1);
    let partials: Vec<ChunkSums> = (0..n_chunks)
        .into_par_iter()
        .map_init(
            || AvgScratch {
                c: (0..np).map(|p| vec![0.0; AVG_CHUNK * nc[p]]).collect(),
                lvb: Vec::with_capacity(AVG_CHUNK),
                lvl: Vec::with_capacity(AVG_CHUNK),
            },
            |scratch, ci| {
                let lo = ci * AVG_CHUNK;
                let hi = (lo + AVG_CHUNK).min(n);
                let rows = hi - lo;
                let mut acc: Vec<Vec<f64>> = plans.iter().map(|pl| vec![0.0; pl.nacc]).collect();
                let AvgScratch { c, lvb, lvl } = scratch;
                // The observed evaluation, shared by every effect of every set.
                // (Every entry of the used parts is written below: resizing fills only new rows.)
                lvb.resize(rows, [(0.0, 0.0, 0.0); 2]);
                for &p in &used {
                    eval_level(parts[p].link, &eta[p][lo..hi], |_| 0.0, lvb, p, |_| None);
                }
                for ((set, plan), acc) in sets.iter().zip(&plans).zip(acc.iter_mut()) {
                    let rel = &set.relevant;
                    for r in 0..rows {
                        let i = lo + r;
                        if !set.has(i) {
                            // Rows outside the set: zero columns (every other entry of the set's
                            // block is written below before the product reads it).
                            for &p in rel {
                                for col in plan.off[p]..plan.off[p] + plan.ncols {
                                    c[p][col * rows + r] = 0.0;
                                }
                            }
                            continue;
                        }
                        let wi = set.w[i];
                        let (_, g, h) = combine(set.target, &lvb[r]);
                        for (qi, &q) in rel.iter().enumerate() {
                            acc[qi] += wi * g[q];
                        }
                        for &p in rel {
                            let o = plan.off[p];
                            for (qi, &q) in rel.iter().enumerate() {
                                c[p][(o + qi) * rows + r] = wi * h[q][p];
                            }
                        }
                    }
                    // Non-linear derivative terms.
                    for (_, d) in &plan.dplans {
                        let Some(col) = d.col else { continue };
                        let dx: Vec<Vec<Vec<crate::formula::Dual>>> = (0..np)
                            .map(|p| parts[p].spec.columns_under_rows(&d.nonlin[p], &d.scenario, lo..hi))
                            .collect();
                        for r in 0..rows {
                            let i = lo + r;
                            if !set.has(i) {
                                continue;
                            }
                            let wi = set.w[i];
                            let (_, g, h) = combine(set.target, &lvb[r]);
                            let mut rq = [0.0; 2];
                            for &p in rel {
                                for (a, &j) in d.nonlin[p].iter().enumerate() {
                                    rq[p] += parts[p].beta[j] * dx[p][a][r].d;
                                }
                            }
                            acc[d.acc] += wi * rel.iter().map(|&q| g[q] * rq[q]).sum::<f64>();
                            let mut o = d.acc + 1;
                            for &p in rel {
                                c[p][(plan.off[p] + col) * rows + r] =
                                    wi * rel.iter().map(|&q| h[q][p] * rq[q]).sum::<f64>();
                                for a in 0..d.nonlin[p].len() {
                                    acc[o + a] += wi * g[p] * dx[p][a][r].d;
                                }
                                o += d.nonlin[p].len();
                            }
                        }
                    }
                }
                // Factor levels: each part's (h, h', h'') under the level evaluated once per row,
                // then read by every set using the level.
                for le in &levels {
                    let f = &factors[le.factor];
                    // The affected columns under the level, per part: when they are all the
                    // factor's own indicators, the change of the linear index depends only on the
                    // row's level (a table); otherwise (interactions) per-row values.
                    let xl: Vec<LevelColumns> = (0..np)
                        .map(|p| {
                            let spec = parts[p].spec;
                            let cols: Vec<ColumnValues> = f.affected[p]
                                .iter()
                                .map(|&j| spec.column_values_rows(j, &le.scenario, lo..hi))
                                .collect();
                            match indicator_shifts(spec, &f.affected[p], &cols, parts[p].beta) {
                                Some((codes, shift)) => LevelColumns::Indicators {
                                    codes: &codes[lo..hi],
                                    shift,
                                    own: cols.iter().enumerate().find_map(|(a, v)| match v {
                                        ColumnValues::Const(x) if *x != 0.0 => Some((a, *x)),
                                        _ => None,
                                    }),
                                },
                                None => LevelColumns::General(cols),
                            }
                        })
                        .collect();
                    lvl.resize(rows, [(0.0, 0.0, 0.0); 2]);
                    for &p in used.iter().filter(|p| !f.parts.contains(p)) {
                        lvl.iter_mut().zip(lvb.iter()).for_each(|(l, b)| l[p] = b[p]);
                    }
                    let base = |r: usize, p: usize| Some(lvb[r][p]);
                    for &p in &f.parts {
                        let etap = &eta[p][lo..hi];
                        match &xl[p] {
                            LevelColumns::Indicators { codes, shift, .. } if parts[p].link == LinkKind::Log => {
                                // exp(eta + s) = exp(eta) exp(s): the observed mean times one
                                // factor per level code instead of an exponential per row (the
                                // same value to rounding); exp(eta + s) itself where exp(eta)
                                // is 0, subnormal or infinite. Rows at the level (s = 0) need no
                                // branch: their factor is exp(0) = 1, which gives the observed
                                // (h, h', h'') = (mu, mu, mu) bit for bit.
                                let factor: Vec<f64> = shift.iter().map(|s| s.exp()).collect();
                                for (r, (l, b)) in lvl.iter_mut().zip(lvb.iter()).enumerate() {
                                    let code = codes[r] as usize;
                                    let mu = b[p].0;
                                    let m =
                                        if mu.is_normal() { mu * factor[code] } else { (etap[r] + shift[code]).exp() };
                                    l[p] = (m, m, m);
                                }
                            }
                            LevelColumns::Indicators { codes, shift, .. } => {
                                eval_level(parts[p].link, etap, |r| shift[codes[r] as usize], lvl, p, |r| base(r, p))
                            }
                            LevelColumns::General(cols) => {
                                let (k, beta, aff) = (kx[p], parts[p].beta, &f.affected[p]);
                                let xp = &xsl[p][lo * k..hi * k];
                                let shift = |r: usize| {
                                    let xr = &xp[r * k..(r + 1) * k];
                                    let mut shift = 0.0;
                                    for (v, &j) in cols.iter().zip(aff) {
                                        shift += (v.at(r) - xr[j]) * beta[j];
                                    }
                                    shift
                                };
                                eval_level(parts[p].link, etap, shift, lvl, p, |r| base(r, p))
                            }
                        }
                    }
                    for &(t, u) in &le.users {
                        let (set, plan) = (&sets[t], &plans[t]);
                        let u = &plan.levels[u];
                        let acc = &mut acc[t];
                        let ind = set.relevant.iter().all(|&p| matches!(xl[p], LevelColumns::Indicators { .. }));
                        if ind {
                            // Indicators only: F, g and the one non-zero indicator per part.
                            let own = |p: usize| match &xl[p] {
                                LevelColumns::Indicators { own, .. } => {
                                    own.map(|(a, x)| (level_acc(set, f, u, p) + a, x))
                                }
                                LevelColumns::General(_) => None,
                            };
                            let sums = LevelSums { set, lo, lvl, acc, c: &mut *c };
                            match set.target {
                                Target::Mean(p) => {
                                    let col = [p, p].map(|p| plan.off[p] + u.col);
                                    sums.run::<1>([p, p], col, [own(p), None], u.acc, |lv| (lv[p].0, [lv[p].1, 0.0]));
                                }
                                Target::Product => {
                                    let col = [0, 1].map(|p| plan.off[p] + u.col);
                                    sums.run::<2>([0, 1], col, [own(0), own(1)], u.acc, |lv| {
                                        let (a, a1, _) = lv[0];
                                        let (b, b1, _) = lv[1];
                                        (a * b, [a1 * b, a * b1])
                                    });
                                }
                            }
                            continue;
                        }
                        for r in 0..rows {
                            let i = lo + r;
                            if !set.has(i) {
                                continue;
                            }
                            let wi = set.w[i];
                            let (fv, g, _) = combine(set.target, &lvl[r]);
                            acc[u.acc] += wi * fv;
                            let mut o = u.acc + 1;
                            for &p in &set.relevant {
                                let wg = wi * g[p];
                                c[p][(plan.off[p] + u.col) * rows + r] = wg;
                                match &xl[p] {
                                    // The other indicators are 0 under the level: nothing to add.
                                    LevelColumns::Indicators { own, .. } => {
                                        if let Some((a, x)) = own {
                                            acc[o + a] += wg * x;
                                        }
                                    }
                                    LevelColumns::General(cols) => {
                                        for (a, v) in cols.iter().enumerate() {
                                            acc[o + a] += wg * v.at(r);
                                        }
                                    }
                                }
                                o += f.affected[p].len();
                            }
                        }
                    }
                }
                // X_p' C_p for this chunk, every set's columns at once.
                let xtc: Vec<Vec<f64>> = (0..np)
                    .map(|p| {
                        let (k, m) = (kx[p], nc[p]);
                        let mut out = vec![0.0; k * m];
                        if rows > 0 && k > 0 && m > 0 {
                            // SAFETY: pointers and strides describe the live slices exactly:
                            // X chunk rows x k row-major, C rows x m column-major, out k x m.
                            unsafe {
                                matrixmultiply::dgemm(
                                    k,
                                    rows,
                                    m,
                                    1.0,
                                    xsl[p][lo * k..hi * k].as_ptr(),
                                    1,
                                    k as isize,
                                    c[p].as_ptr(),
                                    1,
                                    rows as isize,
                                    0.0,
                                    out.as_mut_ptr(),
                                    m as isize,
                                    1,
                                );
                            }
                        }
                        out
                    })
                    .collect();
                (acc, xtc)
            },
        )
        .collect();
    // In chunk order: deterministic for any number of threads.
    let mut acc: Vec<Vec<f64>> = plans.iter().map(|pl| vec![0.0; pl.nacc]).collect();
    let mut xtc: Vec<Vec<f64>> = (0..np).map(|p| vec![0.0; kx[p] * nc[p]]).collect();
    for (a, x) in partials {
        for (t, a) in acc.iter_mut().zip(&a) {
            t.iter_mut().zip(a).for_each(|(t, v)| *t += v);
        }
        for (t, xp) in xtc.iter_mut().zip(&x) {
            t.iter_mut().zip(xp).for_each(|(t, v)| *t += v);
        }
    }

    sets.iter()
        .zip(&plans)
        .zip(&acc)
        .map(|((set, plan), acc)| {
            let rel = &set.relevant;
            // Column `col` of the set's block of X_p' C_p, row k.
            let xc = |p: usize, k: usize, col: usize| xtc[p][k * nc[p] + plan.off[p] + col];
            set.requests
                .iter()
                .map(|req| {
                    let mut jac: Vec<Vec<f64>> = kx.iter().map(|&k| vec![0.0; k]).collect();
                    let est = match &req.kind {
                        Kind::Derivative(v) => {
                            let d = &plan.dplans.iter().find(|d| &d.0 == v).expect("plan").1;
                            let mut est: f64 = rel.iter().enumerate().map(|(qi, &q)| d.s[q] * acc[qi]).sum();
                            if d.col.is_some() {
                                est += acc[d.acc];
                            }
                            let mut o = d.acc + 1;
                            for (pi, &p) in rel.iter().enumerate() {
                                let jp = &mut jac[p];
                                for (k, jk) in jp.iter_mut().enumerate() {
                                    *jk = rel.iter().enumerate().map(|(qi, &q)| d.s[q] * xc(p, k, qi)).sum::<f64>()
                                        + d.col.map_or(0.0, |c| xc(p, k, c));
                                }
                                for &j in &d.lin[p] {
                                    jp[j] += acc[pi];
                                }
                                for (a, &j) in d.nonlin[p].iter().enumerate() {
                                    jp[j] += acc[o + a];
                                }
                                o += d.nonlin[p].len();
                            }
                            est
                        }
                        Kind::Discrete { var, level, reference } => {
                            let find = |l: usize| {
                                plan.levels
                                    .iter()
                                    .find(|u| levels[u.eval].level == l && factors[levels[u.eval].factor].var == *var)
                                    .expect("level plan")
                            };
                            let (lp, rp) = (find(*level), find(*reference));
                            let f = &factors[levels[lp.eval].factor];
                            let mut o = 1;
                            for &p in rel {
                                let jp = &mut jac[p];
                                for (k, jk) in jp.iter_mut().enumerate() {
                                    *jk = xc(p, k, lp.col) - xc(p, k, rp.col);
                                }
                                for (a, &j) in f.affected[p].iter().enumerate() {
                                    jp[j] = acc[lp.acc + o + a] - acc[rp.acc + o + a];
                                }
                                o += f.affected[p].len();
                            }
                            acc[lp.acc] - acc[rp.acc]
                        }
                    };
                    (est / set.wsum, jac.into_iter().flatten().map(|v| v / set.wsum).collect())
                })
                .collect()
        })
        .collect()
}

/// Rows per parallel chunk, and effects per batch (bounds the n x batch scratch matrix).
const CHUNK: usize = 4096;
const BATCH: usize = 16;

type Eval = (f64, [f64; 2], [[f64; 2]; 2]);

/// One scenario of a request, evaluated on the rows.
struct ScenarioRows {
    sign: f64,
    /// True when every part's linear index equals the observed one (derivatives without
    /// fixed variables): the shared base evaluation applies.
    at_base: bool,
    /// Linear index per part under the scenario (`None` = the observed one).
    eta: Vec<Option<Vec<f64>>>,
    /// d eta / d v per part (zeros for discrete changes).
    deta: Vec<Vec<f64>>,
}

/// A request with its scenarios and the affected columns' values under each.
struct Prepared {
    derivative: bool,
    scenarios: Vec<ScenarioRows>,
    /// Affected columns per part.
    affected: Vec<Vec<usize>>,
    /// [scenario][part][affected column][row]
    cols: Vec<Vec<Vec<Vec<crate::formula::Dual>>>>,
}

#[allow(clippy::too_many_arguments)]
fn prepare<'s>(
    req: &Request,
    base: &Scenario,
    parts: &[PartEval],
    spec_of: &dyn Fn(usize) -> &'s DesignSpec,
    xs: &[ArrayView2<f64>],
    eta_base: &[Vec<f64>],
    rows_n: usize,
    base_fixed: bool,
) -> Prepared {
    let scenarios: Vec<(Scenario, f64)> = match &req.kind {
        Kind::Derivative(v) => {
            let mut s = base.clone();
            s.wrt = Some(v.clone());
            vec![(s, 1.0)]
        }
        Kind::Discrete { var, level, reference } => {
            let mut a = base.clone();
            a.factors.insert(var.clone(), FactorSetting::Level(*level));
            let mut b = base.clone();
            b.factors.insert(var.clone(), FactorSetting::Level(*reference));
            vec![(a, 1.0), (b, -1.0)]
        }
    };
    let derivative = matches!(req.kind, Kind::Derivative(_));
    let affected: Vec<Vec<usize>> = parts
        .iter()
        .enumerate()
        .map(|(p, part)| {
            let spec = spec_of(p);
            (0..part.beta.len()).filter(|&j| scenarios.iter().any(|(s, _)| spec.column_affected(j, s))).collect()
        })
        .collect();
    let mut rows = Vec::new();
    let mut cols = Vec::new();
    for (s, sign) in &scenarios {
        let mut eta = Vec::new();
        let mut deta = Vec::new();
        let mut cs = Vec::new();
        for (p, part) in parts.iter().enumerate() {
            let c = spec_of(p).columns_under(&affected[p], s);
            let mut d = vec![0.0; rows_n];
            let mut shift = vec![0.0; rows_n];
            let mut moved = false;
            let k = part.beta.len();
            let xp = xs[p].as_slice().expect("designs are row-major");
            for (a, &j) in affected[p].iter().enumerate() {
                let b = part.beta[j];
                for ((i, cv), (sh, dd)) in c[a].iter().enumerate().zip(shift.iter_mut().zip(d.iter_mut())) {
                    let delta = cv.v - xp[i * k + j];
                    moved |= delta != 0.0;
                    *sh += delta * b;
                    *dd += cv.d * b;
                }
            }
            eta.push(if moved { Some(eta_base[p].iter().zip(&shift).map(|(e, s)| e + s).collect()) } else { None });
            deta.push(d);
            cs.push(c);
        }
        let at_base = !base_fixed && eta.iter().all(Option::is_none);
        rows.push(ScenarioRows { sign: *sign, at_base, eta, deta });
        cols.push(cs);
    }
    Prepared { derivative, scenarios: rows, affected, cols }
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
