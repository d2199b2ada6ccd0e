//! Variance-covariance estimators, chosen after fitting (the fit keeps the information
//! matrices and the scores). Each carries the sentence that reports print, including the
//! small-sample factor.
//!
//! With `H` the observed information at dispersion 1, `s_i` the score of observation `i` on
//! the linear-index scale and `x_i` its regressors (Stata, [R] vce_option and [P] _robust):
//!
//! * `oim`: `phi H^{-1}`; `eim`: `phi I^{-1}` with `I = X' W X` (working weights).
//! * `robust`: `H^{-1} (sum_i s_i^2 x_i x_i') H^{-1} * N/(N-1)`; with frequency weights `f_i`
//!   each term is `f_i u_i^2 x_i x_i'` (with `u_i = s_i / f_i`) and `N = sum f_i`. The
//!   dispersion cancels, so robust SEs do not depend on `--scale`.
//! * `cluster`: `H^{-1} (sum_g S_g S_g') H^{-1} * G/(G-1)`, `S_g = sum_{i in g} s_i x_i`: the
//!   ML-model factor (no `(N-1)/(N-K)` term, which Stata uses only for linear regression).
//!
//! All four use the normal distribution (z statistics, `df = None`), as Stata's ML commands do.

pub use super::{Variance, VceKind};
use crate::design::WeightType;
use crate::error::{FitError, Result};
use crate::linalg::{self, spd_inverse};
use crate::model::Fit;
use ndarray::Array2;

/// The variance of `fit` of the given kind (the survey kind needs its design: see
/// [`Variance::compute`]).
pub fn compute(fit: &Fit, kind: VceKind) -> Result<Variance> {
    Variance::compute(fit, kind, None)
}

fn invert(h: &Array2<f64>, what: &str) -> Result<Array2<f64>> {
    spd_inverse(h).ok_or_else(|| {
        FitError::Numerical(format!(
            "the {what} is not positive definite at the estimates; standard errors cannot be computed"
        ))
        .into()
    })
}

fn fmt_g(v: f64) -> String {
    crate::data::format_number(v)
}

/// The "meat" of the sandwich: `sum_i c_i s_i^2 x_i x_i'`, or its clustered version
/// `sum_g S_g S_g'`.
pub fn meat(fit: &Fit, clustered: bool) -> Array2<f64> {
    let d = &fit.design;
    let k = d.k();
    if clustered {
        let cl = d.clusters.as_ref().expect("cluster ids present");
        let g = d.n_clusters;
        let mut sums = vec![0.0; g * k];
        let xs = d.x.as_slice().expect("row-major");
        for ((xi, &c), &s) in xs.chunks_exact(k.max(1)).zip(cl).zip(&fit.score_eta) {
            let c = c as usize;
            for (a, &v) in sums[c * k..(c + 1) * k].iter_mut().zip(xi) {
                *a += s * v;
            }
        }
        let sm = Array2::from_shape_vec((g, k), sums).expect("g x k");
        linalg::xtwx(sm.view(), &vec![1.0; g])
    } else {
        let fw = d.weight_type == Some(WeightType::Frequency);
        let c: Vec<f64> = (0..d.n())
            .map(|i| {
                let s = fit.score_eta[i];
                if fw {
                    s * s / fit.w[i]
                } else {
                    s * s
                }
            })
            .collect();
        linalg::xtwx(d.x.view(), &c)
    }
}

/// ", times the dispersion phi" when the dispersion is estimated or set (model-based kinds).
fn dispersion_note(fit: &Fit) -> String {
    let phi = fit.dispersion;
    if fit.spec.family.family().fixed_scale() && phi == 1.0 {
        String::new()
    } else {
        format!(", times the dispersion {}", fmt_g(phi))
    }
}

/// OIM: `phi H^{-1}`.
pub fn oim(fit: &Fit) -> Result<Variance> {
    let m = invert(&fit.oim, "observed information matrix")? * fit.dispersion;
    Ok(Variance {
        kind: VceKind::Oim,
        matrix: m,
        description: format!(
            "OIM: inverse of the observed information matrix (negative Hessian of the log likelihood){}.",
            dispersion_note(fit)
        ),
        factor: 1.0,
        n_clusters: None,
        df: None,
        satterthwaite: None,
    })
}

/// EIM: `phi (X'WX)^{-1}` with the IRLS working weights.
pub fn eim(fit: &Fit) -> Result<Variance> {
    let m = invert(fit.eim(), "expected information matrix")? * fit.dispersion;
    Ok(Variance {
        kind: VceKind::Eim,
        matrix: m,
        description: format!(
            "EIM: inverse of the expected information matrix X'WX with IRLS working weights{}.",
            dispersion_note(fit)
        ),
        factor: 1.0,
        n_clusters: None,
        df: None,
        satterthwaite: None,
    })
}

/// Robust (`clustered = false`, factor `N/(N-1)`) or cluster-robust (factor `G/(G-1)`)
/// sandwich `H^{-1} B H^{-1}` with the observed information as bread.
pub fn sandwich(fit: &Fit, clustered: bool) -> Result<Variance> {
    let bread = invert(&fit.oim, "observed information matrix")?;
    let b = meat(fit, clustered);
    let v = bread.dot(&b).dot(&bread);
    let (kind, factor, description, n_clusters) = if !clustered {
        let n = fit.n_obs;
        if n <= 1.0 {
            return Err(FitError::Numerical("robust variance needs more than one observation".into()).into());
        }
        (
            VceKind::Robust,
            n / (n - 1.0),
            format!(
                "Robust (Huber/White sandwich) with the observed information as bread, small-sample factor N/(N-1) = {}/{}.",
                fmt_g(n),
                fmt_g(n - 1.0)
            ),
            None,
        )
    } else {
        let g = fit.design.n_clusters as f64;
        if g < 2.0 {
            return Err(FitError::Numerical(format!(
                "cluster-robust variance needs at least 2 clusters; '{}' has {}",
                fit.design.cluster_var.clone().unwrap_or_default(),
                g
            ))
            .into());
        }
        (
            VceKind::Cluster,
            g / (g - 1.0),
            format!(
                "Cluster-robust sandwich with {} clusters in {}, observed information as bread, small-sample factor G/(G-1) = {}/{}.",
                fmt_g(g),
                fit.design.cluster_var.clone().unwrap_or_default(),
                fmt_g(g),
                fmt_g(g - 1.0)
            ),
            Some(fit.design.n_clusters),
        )
    };
    let mut m = v * factor;
    linalg::symmetrize(&mut m);
    Ok(Variance { kind, matrix: m, description, factor, n_clusters, df: None, satterthwaite: None })
}
