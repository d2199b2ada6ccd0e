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

use crate::design::WeightType;
use crate::error::{usage, FitError, Result};
use crate::linalg::{self, spd_inverse};
use crate::model::Fit;
use ndarray::Array2;

/// The variance estimators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VceKind {
    Oim,
    Eim,
    Robust,
    Cluster,
    /// Survey linearized variance (see [`crate::survey`]).
    Survey,
}

impl VceKind {
    pub fn parse(s: &str) -> Result<VceKind> {
        match s {
            "oim" => Ok(VceKind::Oim),
            "eim" => Ok(VceKind::Eim),
            "robust" | "hc1" | "r" => Ok(VceKind::Robust),
            "cluster" | "cl" => Ok(VceKind::Cluster),
            "svy" | "linearized" | "survey" => Ok(VceKind::Survey),
            _ => Err(usage(format!("unknown vce '{s}' (expected oim, eim, robust, cluster or svy)"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VceKind::Oim => "oim",
            VceKind::Eim => "eim",
            VceKind::Robust => "robust",
            VceKind::Cluster => "cluster",
            VceKind::Survey => "svy",
        }
    }

    /// Stata's default: OIM, robust with pweights, cluster when a cluster variable is given.
    pub fn resolve(requested: Option<VceKind>, weight_type: Option<WeightType>, has_cluster: bool) -> Result<VceKind> {
        let kind = match (requested, has_cluster) {
            (Some(VceKind::Survey), _) => {
                return Err(usage("vce svy needs a survey design: the schema's [design], or a PSU and strata"))
            }
            (Some(VceKind::Cluster), false) => return Err(usage("vce cluster needs a cluster variable")),
            (Some(k), true) if k != VceKind::Cluster => {
                return Err(usage(format!("a cluster variable implies vce cluster, but vce {} was given", k.name())))
            }
            (_, true) => VceKind::Cluster,
            (Some(k), false) => k,
            (None, false) if weight_type == Some(WeightType::Probability) => VceKind::Robust,
            (None, false) => VceKind::Oim,
        };
        if weight_type == Some(WeightType::Probability) && matches!(kind, VceKind::Oim | VceKind::Eim) {
            return Err(usage(format!(
                "vce {} is not allowed with pweights: sampling weights need a robust or cluster variance",
                kind.name()
            )));
        }
        Ok(kind)
    }
}

/// A variance-covariance matrix with its description.
#[derive(Debug, Clone)]
pub struct Vce {
    pub kind: VceKind,
    pub matrix: Array2<f64>,
    /// One sentence: what the variance is, with the small-sample factor.
    pub description: String,
    /// The small-sample factor applied (1 for model-based variances).
    pub factor: f64,
    pub n_clusters: Option<usize>,
    /// Degrees of freedom of t statistics (the survey design's); `None`: normal (z) inference.
    pub df: Option<f64>,
}

impl Vce {
    pub fn std_errors(&self) -> Vec<f64> {
        (0..self.matrix.nrows()).map(|i| self.matrix[[i, i]].sqrt()).collect()
    }
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

/// The "meat" of the sandwich: `sum_i c_i s_i^2 x_i x_i'` or its clustered version.
pub fn meat(fit: &Fit, kind: VceKind) -> Array2<f64> {
    let d = &fit.design;
    let k = d.k();
    match kind {
        VceKind::Cluster => {
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
        }
        _ => {
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
}

/// Computes the variance of `fit` of the given kind.
pub fn compute(fit: &Fit, kind: VceKind) -> Result<Vce> {
    let phi = fit.dispersion;
    let phi_note = if fit.spec.family.family().fixed_scale() && phi == 1.0 {
        String::new()
    } else {
        format!(", times the dispersion {}", fmt_g(phi))
    };
    match kind {
        VceKind::Oim => {
            let m = invert(&fit.oim, "observed information matrix")? * phi;
            Ok(Vce {
                kind,
                matrix: m,
                description: format!("OIM: inverse of the observed information matrix (negative Hessian of the log likelihood){phi_note}."),
                factor: 1.0,
                n_clusters: None,
                df: None,
            })
        }
        VceKind::Eim => {
            let m = invert(fit.eim(), "expected information matrix")? * phi;
            Ok(Vce {
                kind,
                matrix: m,
                description: format!(
                    "EIM: inverse of the expected information matrix X'WX with IRLS working weights{phi_note}."
                ),
                factor: 1.0,
                n_clusters: None,
                df: None,
            })
        }
        VceKind::Robust | VceKind::Cluster => {
            let bread = invert(&fit.oim, "observed information matrix")?;
            let b = meat(fit, kind);
            let v = bread.dot(&b).dot(&bread);
            let (factor, description, n_clusters) = if kind == VceKind::Robust {
                let n = fit.n_obs;
                if n <= 1.0 {
                    return Err(FitError::Numerical("robust variance needs more than one observation".into()).into());
                }
                (
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
            Ok(Vce { kind, matrix: m, description, factor, n_clusters, df: None })
        }
        VceKind::Survey => {
            Err(usage("the survey variance needs the survey design (the schema's [design], or a PSU and strata)"))
        }
    }
}
