//! Inference after fitting: the variance of the estimates as a value, chosen after the fit
//! (which keeps the information matrices and the scores), with the reference distribution of
//! its test statistics and the sentence that reports print.
//!
//! A [`Variance`] holds the matrix `V`, the degrees of freedom `df` and one sentence saying
//! exactly what `V` is, including its small-sample factor. Every statistic, p-value and
//! confidence interval is read from it ([`statistics`]): with `se = sqrt(V_jj)`,
//!
//! ```text
//! statistic = b / se
//! df = None:     p = 2 Phi(-|statistic|),       CI = b -/+ Phi^{-1}(1/2 + level/200) se      (z)
//! df = Some(d):  p = 2 T_d(-|statistic|),       CI = b -/+ T_d^{-1}(1/2 + level/200) se      (t)
//! ```
//!
//! Stata's convention, which migfit follows: ML models (`probit`, `logit`, `glm`) with model-based,
//! robust or cluster variances report z; `svy:` estimation reports t with the design degrees of
//! freedom `e(df_r)` ([SVY] variance estimation; [R] glm reports z even with a scale parameter,
//! where R's `summary.glm` would use t with the residual degrees of freedom). Reports label
//! the columns "z" / "P>|z|" or "t" / "P>|t|" from `df` ([`labels`]).
//!
//! The kinds, one arm of [`VceKind`] each, one module each:
//!
//! * [`vce`]: OIM, EIM, robust and cluster-robust (model-based and sandwich), normal.
//! * [`survey`]: the linearized variance of a survey design, t with design df.
//! * [`hc`]: HC2 and HC3 (as R's `sandwich::vcovHC` for `glm`), normal.
//! * [`jackknife`]: the delete-one jackknife (rows or clusters), normal.
//! * [`wild`]: the wild score bootstrap of a Wald test (a library function; no `--vce`).
//! * [`cr2`]: CR2 and CR3 (as R's `clubSandwich::vcovCR` for `glm`), t with Bell-McCaffrey /
//!   Satterthwaite degrees of freedom per coefficient and per effect ([`Variance::df_of`]).
//! * [`convention`]: the Stata, R and statsmodels profiles (`--convention`): which information,
//!   bread, small-sample factor, log-likelihood dispersion and df each package uses.
//! * [`linearize`]: the linearization of the estimates over the sampling units, for margins
//!   unconditional on the covariates (Stata's `margins, vce(unconditional)`).
//! * [`joint`]: the variance of a two-part model's parts together (block-diagonal, or one
//!   sandwich of the stacked scores as Stata's `suest`), for every kind.
//!
//! Built on any variance: [`wald`], Wald tests of `R b = r` (chi2, or Stata's adjusted F under
//! a survey design) and linear combinations, and the model test of the estimation header.
//!
//! `docs/arch-variance.md` lists the files a new kind touches.

pub mod bootstrap;
pub mod convention;
pub mod cr2;
pub mod hc;
pub mod jackknife;
pub mod joint;
pub mod linearize;
pub mod suest;
pub mod survey;
pub mod vce;
pub mod wald;
pub mod wild;

use crate::design::WeightType;
use crate::error::{usage, Result};
use crate::model::Fit;
use crate::stats::{norm_quantile, t_quantile, t_two_sided_p, two_sided_p};
use ndarray::Array2;
use survey::SurveyDesign;

/// The variance estimators (what `--vce` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VceKind {
    Oim,
    Eim,
    Robust,
    Cluster,
    /// Survey linearized variance (see [`survey`]).
    Survey,
    /// HC2 and HC3 (see [`hc`]).
    Hc2,
    Hc3,
    /// CR2 and CR3, with clusters (see [`cr2`]).
    Cr2,
    Cr3,
    /// Delete-one jackknife: rows, or clusters with a cluster variable (see [`jackknife`]).
    Jackknife,
    /// The bootstrap (see [`bootstrap`]): computed by the estimation job, which refits the
    /// replicates and recomputes every effect.
    Bootstrap,
}

impl VceKind {
    pub fn parse(s: &str) -> Result<VceKind> {
        match s {
            "oim" => Ok(VceKind::Oim),
            "eim" => Ok(VceKind::Eim),
            "robust" | "hc1" | "r" => Ok(VceKind::Robust),
            "cluster" | "cl" => Ok(VceKind::Cluster),
            "svy" | "linearized" | "survey" => Ok(VceKind::Survey),
            "hc2" => Ok(VceKind::Hc2),
            "hc3" => Ok(VceKind::Hc3),
            "cr2" => Ok(VceKind::Cr2),
            "cr3" => Ok(VceKind::Cr3),
            "jackknife" | "jack" => Ok(VceKind::Jackknife),
            "bootstrap" | "boot" | "bs" => Ok(VceKind::Bootstrap),
            _ => Err(usage(format!(
                "unknown vce '{s}' (expected oim, eim, robust, cluster, svy, hc2, hc3, cr2, cr3, jackknife or bootstrap)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            VceKind::Oim => "oim",
            VceKind::Eim => "eim",
            VceKind::Robust => "robust",
            VceKind::Cluster => "cluster",
            VceKind::Survey => "svy",
            VceKind::Hc2 => "hc2",
            VceKind::Hc3 => "hc3",
            VceKind::Cr2 => "cr2",
            VceKind::Cr3 => "cr3",
            VceKind::Jackknife => "jackknife",
            VceKind::Bootstrap => "bootstrap",
        }
    }

    /// Kinds computed from cluster sums (they need, and are compatible with, a cluster
    /// variable).
    pub fn clustered(self) -> bool {
        matches!(self, VceKind::Cluster | VceKind::Cr2 | VceKind::Cr3)
    }

    /// Kinds that work with or without a cluster variable (the jackknife's and the bootstrap's
    /// units are the clusters when there are clusters).
    pub fn cluster_optional(self) -> bool {
        matches!(self, VceKind::Jackknife | VceKind::Bootstrap)
    }

    /// Stata's default: OIM, robust with pweights, cluster when a cluster variable is given.
    pub fn resolve(requested: Option<VceKind>, weight_type: Option<WeightType>, has_cluster: bool) -> Result<VceKind> {
        let kind = match (requested, has_cluster) {
            (Some(VceKind::Survey), _) => {
                return Err(usage("vce svy needs a survey design: the schema's [design], or a PSU and strata"))
            }
            // The bootstrap resamples the clusters.
            (Some(VceKind::Bootstrap), _) => VceKind::Bootstrap,
            (Some(k), false) if k.clustered() => {
                return Err(usage(format!("vce {} needs a cluster variable (--cluster)", k.name())))
            }
            (Some(k), true) if !k.clustered() && !k.cluster_optional() => {
                return Err(usage(format!("a cluster variable implies vce cluster, but vce {} was given", k.name())))
            }
            (Some(k), true) => k,
            (None, true) => VceKind::Cluster,
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

/// A variance-covariance matrix of the estimates, with the inference it supports and its
/// description.
#[derive(Debug, Clone)]
pub struct Variance {
    pub kind: VceKind,
    pub matrix: Array2<f64>,
    /// One sentence: what the variance is, with the small-sample factor.
    pub description: String,
    /// The small-sample factor applied (1 for model-based variances).
    pub factor: f64,
    /// Clusters (survey designs: PSUs) behind the variance, if it is clustered.
    pub n_clusters: Option<usize>,
    /// Degrees of freedom of t statistics (the survey design's); `None`: normal (z) inference,
    /// unless `satterthwaite` gives each test its own.
    pub df: Option<f64>,
    /// CR2/CR3: the Bell-McCaffrey / Satterthwaite degrees of freedom of each t test
    /// ([`Variance::df_of`]).
    pub satterthwaite: Option<std::sync::Arc<cr2::Satterthwaite>>,
}

impl Variance {
    /// The variance of `kind` for `fit`; `survey` is the design that a survey variance needs
    /// (the estimation rows of `fit`, or a subpopulation of it).
    pub fn compute(fit: &Fit, kind: VceKind, survey: Option<&SurveyDesign>) -> Result<Variance> {
        match kind {
            VceKind::Oim => vce::oim(fit),
            VceKind::Eim => vce::eim(fit),
            VceKind::Robust => vce::sandwich(fit, false),
            VceKind::Cluster => vce::sandwich(fit, true),
            VceKind::Survey => survey::linearized(fit, need_design(survey)?),
            VceKind::Hc2 | VceKind::Hc3 => hc::hc(fit, kind),
            VceKind::Cr2 | VceKind::Cr3 => cr2::cr(fit, kind),
            VceKind::Jackknife => jackknife::jackknife(fit),
            VceKind::Bootstrap => Err(bootstrap_outside_job()),
        }
    }

    /// The variance of both parts of a two-part model together: each part's own
    /// (block-diagonal, `stacked = false`, as `twopm`) or one sandwich of the stacked scores
    /// (as `twopm ..., suest`). See [`joint`].
    pub fn twopart(
        tp: &crate::model::twopart::TwoPartFit,
        kind: VceKind,
        survey: Option<&SurveyDesign>,
        stacked: bool,
    ) -> Result<joint::TwoPartVariance> {
        if !stacked {
            return joint::block_diagonal(tp, |f| Variance::compute(f, kind, survey));
        }
        match kind {
            // The model-based kinds have no stacked form: the parts' scores are combined in a
            // sandwich (Stata's suest is always robust).
            VceKind::Oim | VceKind::Eim | VceKind::Robust => joint::stacked_sandwich(tp, false),
            VceKind::Cluster => joint::stacked_sandwich(tp, true),
            VceKind::Survey => joint::stacked_survey(tp, need_design(survey)?),
            VceKind::Hc2 | VceKind::Hc3 | VceKind::Cr2 | VceKind::Cr3 | VceKind::Jackknife => Err(usage(format!(
                "vce {} has no stacked (joint) form for both parts; drop the joint variance option",
                kind.name()
            ))),
            VceKind::Bootstrap => Err(bootstrap_outside_job()),
        }
    }

    /// [`Variance::twopart`] under a convention profile ([`convention`]): each part's variance
    /// as the profile's package computes it (block-diagonal). The stacked form is Stata's
    /// `suest` and is available under the Stata profile only.
    pub fn twopart_profile(
        tp: &crate::model::twopart::TwoPartFit,
        kind: VceKind,
        survey: Option<&SurveyDesign>,
        stacked: bool,
        profile: &convention::Profile,
        explicit: bool,
    ) -> Result<(joint::TwoPartVariance, Vec<String>)> {
        if profile.convention == convention::Convention::Stata {
            return Ok((Variance::twopart(tp, kind, survey, stacked)?, Vec::new()));
        }
        if stacked {
            return Err(usage(format!(
                "the joint variance of both parts is Stata's suest; it is not available with --convention {}",
                profile.convention.name()
            )));
        }
        let notes = std::sync::Mutex::new(Vec::new());
        let tv = joint::block_diagonal(tp, |f| {
            let pv = profile.variance(f, kind, explicit, survey)?;
            let mut n = notes.lock().expect("notes");
            for x in pv.notes {
                if !n.contains(&x) {
                    n.push(x);
                }
            }
            Ok(pv.variance)
        })?;
        Ok((tv, notes.into_inner().expect("notes")))
    }

    /// Degrees of freedom of the t test of `c'b` (`c` the gradient of an effect, or a unit
    /// vector for a coefficient): the Satterthwaite df for CR2/CR3, else [`Variance::df`].
    pub fn df_of(&self, c: &[f64]) -> Option<f64> {
        match &self.satterthwaite {
            Some(s) => Some(s.df(c)),
            None => self.df,
        }
    }

    /// Degrees of freedom of coefficient `j`'s t test (see [`Variance::df_of`]).
    pub fn coefficient_df(&self, j: usize) -> Option<f64> {
        match &self.satterthwaite {
            Some(s) => Some(s.coefficient_df(j)),
            None => self.df,
        }
    }

    pub fn std_errors(&self) -> Vec<f64> {
        (0..self.matrix.nrows()).map(|i| self.matrix[[i, i]].sqrt()).collect()
    }

    /// Statistic, two-sided p-value and confidence interval of an estimate with standard
    /// error `se` under this variance's reference distribution (see [`statistics`]).
    pub fn statistics(&self, estimate: f64, se: f64, level: f64) -> (f64, f64, f64, f64) {
        statistics(estimate, se, level, self.df)
    }
}

/// The bootstrap refits the model and recomputes its effects in every replicate, which only an
/// estimation job (`analysis`) can do; a caller holding only a fit (a study's own variance
/// setting) gets this error.
fn bootstrap_outside_job() -> crate::Error {
    usage("the bootstrap variance is available in fit, twopart and batch runs (--vce bootstrap), not here")
}

fn need_design(survey: Option<&SurveyDesign>) -> Result<&SurveyDesign> {
    survey.ok_or_else(|| {
        usage("the survey variance needs the survey design (the schema's [design], or a PSU and strata)")
    })
}

/// Statistic `estimate / se`, two-sided p-value and `level`% confidence interval: normal (z)
/// when `df` is `None`, Student's t with `df` degrees of freedom otherwise (survey designs, as
/// Stata's `svy`).
pub fn statistics(estimate: f64, se: f64, level: f64, df: Option<f64>) -> (f64, f64, f64, f64) {
    let z = estimate / se;
    match df {
        None => {
            let q = norm_quantile(0.5 + level / 200.0);
            (z, two_sided_p(z), estimate - q * se, estimate + q * se)
        }
        Some(df) => {
            let q = t_quantile(0.5 + level / 200.0, df);
            (z, t_two_sided_p(z, df), estimate - q * se, estimate + q * se)
        }
    }
}

/// The column labels of the statistic and its p-value: `("z", "P>|z|")` for normal inference,
/// `("t", "P>|t|")` with degrees of freedom.
pub fn labels(df: Option<f64>) -> (&'static str, &'static str) {
    match df {
        None => ("z", "P>|z|"),
        Some(_) => ("t", "P>|t|"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_degrees_of_freedom() {
        assert_eq!(labels(None), ("z", "P>|z|"));
        assert_eq!(labels(Some(30.0)), ("t", "P>|t|"));
    }

    #[test]
    fn t_intervals_are_wider_than_normal_ones() {
        let (z, pz, lz, hz) = statistics(1.0, 0.5, 95.0, None);
        let (t, pt, lt, ht) = statistics(1.0, 0.5, 95.0, Some(10.0));
        assert_eq!(z, t);
        assert!(pt > pz && lt < lz && ht > hz);
        // 1.959963984540054 and 2.2281388519649385 (qnorm(0.975), qt(0.975, 10) in R).
        assert!((hz - (1.0 + 0.5 * 1.959963984540054)).abs() < 1e-12);
        assert!((ht - (1.0 + 0.5 * 2.2281388519649385)).abs() < 1e-9);
    }
}
