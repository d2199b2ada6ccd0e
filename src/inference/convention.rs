//! Convention profiles: the variance, log likelihood and reference distribution that a user of
//! Stata, R or statsmodels gets for the same model (`--convention stata|r|statsmodels`).
//!
//! A profile is a small table of choices ([`Profile`]); everything else (the estimates, the
//! Pearson dispersion, the meat of the sandwich, the survey design's between-PSU variance) is
//! the same in the three packages. With `H` the observed information, `I = X'WX` the expected
//! one, `N` the rows, `K` the coefficients and `G` the clusters:
//!
//! | choice | stata | r | statsmodels |
//! |---|---|---|---|
//! | plain SEs, `probit`/`logit` | `H` | `I` (`summary.glm`) | `H` (`Probit`, `Logit`) |
//! | plain SEs, `glm` | `H` | `I` | `I` (`GLM.fit`, IRLS) |
//! | sandwich bread | `H` | `I` (`sandwich::bread.glm`) | `H` (`GLM.hessian(observed=True)`) |
//! | `--vce robust` factor | `N/(N-1)` | `N/(N-K)` (`vcovHC(type = "HC1")`) | none (`cov_type="HC1"` is HC0 outside OLS) |
//! | `--vce cluster` factor | `G/(G-1)` | `G/(G-1)` (`vcovCL`: `type = "HC0"` for a glm, `cadjust = TRUE`) | `G/(G-1) (N-1)/(N-K)` (`cov_type="cluster"`) |
//! | gamma / inverse-gaussian log likelihood | at `phi = 1` | at `phi = deviance / sum w` (`logLik.glm`) | at the Pearson `phi` (`GLMResults.llf`) |
//! | plain SEs with an estimated dispersion | z | t, `N - K` df (`summary.glm`) | z |
//! | survey bread and df | `H`, t with PSUs - strata | `I`, t with PSUs - strata - K + 1 (`svyglm`) | not available |
//!
//! The sources: R 4.2.2 `stats:::summary.glm`, `stats:::logLik.glm`, `Gamma()$aic`;
//! sandwich 3.0.2 `vcovHC.default`, `meatHC`, `vcovCL` / `meatCL` (`type = NULL` is "HC1"
//! for an `lm` only and "HC0" otherwise, so a glm gets `G/(G-1)` alone from `cadjust = TRUE`),
//! `bread.glm`; survey 4.1.1 `svyglm.survey.design` (`df.residual =
//! degf(design) + 1 - K`), `svy.varcoef`; statsmodels 0.15.0 `base/covtype.py`
//! (`get_robustcov_results`: HC0-HC3 use `cov_white_simple(use_correction=False)` unless the
//! results class has its own `cov_HC1`, which only OLS has), `stats/sandwich_covariance.py`
//! (`cov_cluster`: `G/(G-1) (N-1)/(N-K)`; `_get_sandwich_arrays`: `model.hessian` observed),
//! `genmod/generalized_linear_model.py` (`llf` at `scale`). `docs/conventions.md` has the
//! evidence for each.
//!
//! An explicit `--vce oim` or `--vce eim` wins over the profile's plain information, with a
//! note. Other kinds (hc2, hc3, cr2, cr3, jackknife, bootstrap) are the same in every profile.
//! [`steps`] turns the difference between Stata's variance and a profile's into one step per
//! choice, for `migfit explain`.

use super::{survey, survey::SurveyDesign, vce, Variance, VceKind};
use crate::error::{usage, FitError, Result};
use crate::linalg::{self, spd_inverse};
use crate::model::{FamilyKind, Fit, ModelKind};
use ndarray::Array2;

/// The three profiles (`--convention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Convention {
    #[default]
    Stata,
    R,
    Statsmodels,
}

impl Convention {
    pub const ALL: [Convention; 3] = [Convention::Stata, Convention::R, Convention::Statsmodels];

    pub fn parse(s: &str) -> Result<Convention> {
        match s.to_ascii_lowercase().as_str() {
            "stata" => Ok(Convention::Stata),
            "r" => Ok(Convention::R),
            "statsmodels" | "python" => Ok(Convention::Statsmodels),
            _ => Err(usage(format!("unknown convention '{s}' (expected stata, r or statsmodels)"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Convention::Stata => "stata",
            Convention::R => "r",
            Convention::Statsmodels => "statsmodels",
        }
    }

    /// The package a profile reproduces, for sentences.
    pub fn package(self) -> &'static str {
        match self {
            Convention::Stata => "Stata",
            Convention::R => "R (glm, sandwich, survey)",
            Convention::Statsmodels => "statsmodels (Probit, Logit, GLM)",
        }
    }

    pub fn profile(self) -> Profile {
        match self {
            Convention::Stata => Profile {
                convention: self,
                plain_ml: Info::Observed,
                plain_glm: Info::Observed,
                bread: Bread::Observed,
                robust: RobustFactor::NOverNMinus1,
                cluster: ClusterFactor::G,
                loglik: LogLikScale::One,
                plain_df: PlainDf::Normal,
                survey: Some((Info::Observed, SurveyDf::Design)),
            },
            Convention::R => Profile {
                convention: self,
                plain_ml: Info::Expected,
                plain_glm: Info::Expected,
                bread: Bread::Expected,
                robust: RobustFactor::NOverNMinusK,
                cluster: ClusterFactor::G,
                loglik: LogLikScale::DevianceOverN,
                plain_df: PlainDf::Residual,
                survey: Some((Info::Expected, SurveyDf::DesignMinusKPlus1)),
            },
            Convention::Statsmodels => Profile {
                convention: self,
                plain_ml: Info::Observed,
                plain_glm: Info::Expected,
                bread: Bread::Observed,
                robust: RobustFactor::One,
                cluster: ClusterFactor::GAndNk,
                loglik: LogLikScale::Pearson,
                plain_df: PlainDf::Normal,
                survey: None,
            },
        }
    }
}

/// Observed (`H`) or expected (`X'WX`) information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Info {
    Observed,
    Expected,
}

impl Info {
    pub fn short(self) -> &'static str {
        match self {
            Info::Observed => "OIM",
            Info::Expected => "EIM",
        }
    }
}

/// The bread of the robust and cluster sandwiches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bread {
    Observed,
    Expected,
}

impl Bread {
    fn info(self) -> Info {
        match self {
            Bread::Observed => Info::Observed,
            Bread::Expected => Info::Expected,
        }
    }
}

/// The small-sample factor of `--vce robust`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RobustFactor {
    /// Stata's ML commands: `N/(N-1)` (N: the sum of frequency weights, else the rows).
    NOverNMinus1,
    /// HC1 as `sandwich::vcovHC`: `N/(N-K)` (N: the rows).
    NOverNMinusK,
    /// HC0: none (statsmodels' HC0 and, outside OLS, its HC1).
    One,
}

/// The small-sample factor of `--vce cluster`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterFactor {
    /// Stata's ML commands: `G/(G-1)`.
    G,
    /// `G/(G-1) (N-1)/(N-K)` (N: the rows): statsmodels' `cov_type="cluster"` (and
    /// `sandwich::vcovCL(type = "HC1")`, which is not its default for a glm).
    GAndNk,
}

/// The dispersion at which a gamma or inverse-gaussian log likelihood is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLikScale {
    /// Stata: `phi = 1`.
    One,
    /// R's `logLik.glm`: `phi = deviance / sum w`, each row's density times its prior weight.
    DevianceOverN,
    /// statsmodels' `llf`: the fit's (Pearson) dispersion, weights as variance weights.
    Pearson,
}

/// The reference distribution of plain (model-based) SEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainDf {
    /// z.
    Normal,
    /// t with `N - K` df (N: rows with a non-zero weight) when the dispersion is estimated,
    /// as `summary.glm`.
    Residual,
}

/// The degrees of freedom of a survey design's t statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurveyDf {
    /// PSUs - strata (Stata's `e(df_r)`, `survey::degf`).
    Design,
    /// PSUs - strata - K + 1 (`svyglm`'s `df.residual`).
    DesignMinusKPlus1,
}

/// One profile's choices (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub convention: Convention,
    /// Plain SEs of `-m probit` / `-m logit`.
    pub plain_ml: Info,
    /// Plain SEs of `-m glm`.
    pub plain_glm: Info,
    pub bread: Bread,
    pub robust: RobustFactor,
    pub cluster: ClusterFactor,
    pub loglik: LogLikScale,
    pub plain_df: PlainDf,
    /// Survey designs: the bread and the df (`None`: the package has no survey estimator).
    pub survey: Option<(Info, SurveyDf)>,
}

/// The variance of a profile and the notes it leaves (an explicit option that overrode it).
pub struct ProfileVariance {
    pub variance: Variance,
    pub notes: Vec<String>,
}

fn invert(h: &Array2<f64>, what: &str) -> Result<Array2<f64>> {
    spd_inverse(h).ok_or_else(|| {
        FitError::Numerical(format!(
            "the {what} is not positive definite at the estimates; standard errors cannot be computed"
        ))
        .into()
    })
}

fn g(v: f64) -> String {
    crate::data::format_number(v)
}

fn info_matrix(fit: &Fit, info: Info) -> Result<Array2<f64>> {
    match info {
        Info::Observed => invert(&fit.oim, "observed information matrix"),
        Info::Expected => invert(fit.eim(), "expected information matrix"),
    }
}

/// Whether the family's dispersion is estimated (gaussian, gamma, inverse gaussian).
fn free_scale(fit: &Fit) -> bool {
    !fit.spec.family.family().fixed_scale()
}

/// Rows with a non-zero weight: R's `n` in `N - K` and HC1.
fn rows(fit: &Fit) -> f64 {
    fit.w.iter().filter(|&&w| w != 0.0).count() as f64
}

impl Profile {
    /// The plain (model-based) information of this profile for `fit`'s model.
    pub fn plain_info(&self, fit: &Fit) -> Info {
        match fit.spec.kind {
            ModelKind::Probit | ModelKind::Logit => self.plain_ml,
            ModelKind::Glm => self.plain_glm,
        }
    }

    /// The factor of a robust (`clustered = false`) or cluster sandwich.
    pub fn sandwich_factor(&self, fit: &Fit, clustered: bool) -> Result<(f64, String)> {
        let k = fit.beta.len() as f64;
        let n = rows(fit);
        if clustered {
            let gc = fit.design.n_clusters as f64;
            if gc < 2.0 {
                return Err(FitError::Numerical(format!(
                    "cluster-robust variance needs at least 2 clusters; '{}' has {}",
                    fit.design.cluster_var.clone().unwrap_or_default(),
                    gc
                ))
                .into());
            }
            Ok(match self.cluster {
                ClusterFactor::G => (gc / (gc - 1.0), format!("G/(G-1) = {}/{}", g(gc), g(gc - 1.0))),
                ClusterFactor::GAndNk => (
                    gc / (gc - 1.0) * (n - 1.0) / (n - k),
                    format!("G/(G-1) (N-1)/(N-K) = {}/{} x {}/{}", g(gc), g(gc - 1.0), g(n - 1.0), g(n - k)),
                ),
            })
        } else {
            Ok(match self.robust {
                RobustFactor::NOverNMinus1 => {
                    let n = fit.n_obs;
                    if n <= 1.0 {
                        return Err(
                            FitError::Numerical("robust variance needs more than one observation".into()).into()
                        );
                    }
                    (n / (n - 1.0), format!("N/(N-1) = {}/{}", g(n), g(n - 1.0)))
                }
                RobustFactor::NOverNMinusK => {
                    if n <= k {
                        return Err(FitError::Numerical(
                            "the HC1 factor N/(N-K) needs more rows than coefficients".into(),
                        )
                        .into());
                    }
                    (n / (n - k), format!("N/(N-K) = {}/{} (HC1)", g(n), g(n - k)))
                }
                RobustFactor::One => (1.0, "none (HC0)".to_string()),
            })
        }
    }

    /// The variance of `kind` for `fit` under this profile. `explicit`: the kind was asked for
    /// (`--vce`), not Stata's default; an explicit `oim`/`eim` that differs from the profile's
    /// plain information wins, with a note.
    pub fn variance(
        &self,
        fit: &Fit,
        kind: VceKind,
        explicit: bool,
        design: Option<&SurveyDesign>,
    ) -> Result<ProfileVariance> {
        let mut notes = Vec::new();
        if self.convention == Convention::Stata {
            return Ok(ProfileVariance { variance: Variance::compute(fit, kind, design)?, notes });
        }
        let tag = format!(" Convention {}: as {}.", self.convention.name(), self.convention.package());
        let variance = match kind {
            VceKind::Oim | VceKind::Eim => {
                let mine = self.plain_info(fit);
                let info = if explicit {
                    let asked = if kind == VceKind::Oim { Info::Observed } else { Info::Expected };
                    if asked != mine {
                        notes.push(format!(
                            "--vce {} overrides the {} convention's {} for model-based standard errors.",
                            kind.name(),
                            self.convention.name(),
                            mine.short()
                        ));
                    }
                    asked
                } else {
                    mine
                };
                let mut v = match info {
                    Info::Observed => vce::oim(fit)?,
                    Info::Expected => vce::eim(fit)?,
                };
                if self.plain_df == PlainDf::Residual && free_scale(fit) {
                    let df = rows(fit) - fit.beta.len() as f64;
                    v.df = Some(df);
                    v.description.push_str(&format!(" t with N-K = {} degrees of freedom.", g(df)));
                }
                v.description.push_str(&tag);
                v
            }
            VceKind::Robust | VceKind::Cluster => {
                let clustered = kind == VceKind::Cluster;
                let mut v = self.sandwich(fit, clustered)?;
                v.description.push_str(&tag);
                v
            }
            VceKind::Survey => {
                let Some((bread, df)) = self.survey else {
                    return Err(usage(format!(
                        "the {} convention has no survey-design variance ({} has no survey estimator); use --convention stata or r",
                        self.convention.name(),
                        self.convention.package()
                    )));
                };
                let design = design.ok_or_else(|| usage("the survey variance needs the survey design"))?;
                let mut v = self.survey_variance(fit, design, bread, df)?;
                v.description.push_str(&tag);
                v
            }
            _ => {
                let mut v = Variance::compute(fit, kind, design)?;
                v.description.push_str(&format!(" (vce {} is the same under every convention.)", kind.name()));
                v
            }
        };
        Ok(ProfileVariance { variance, notes })
    }

    /// The robust or cluster sandwich with this profile's bread and factor.
    pub fn sandwich(&self, fit: &Fit, clustered: bool) -> Result<Variance> {
        let info = self.bread.info();
        let bread = info_matrix(fit, info)?;
        let meat = vce::meat(fit, clustered);
        let (factor, text) = self.sandwich_factor(fit, clustered)?;
        let mut m = bread.dot(&meat).dot(&bread) * factor;
        linalg::symmetrize(&mut m);
        let what = if clustered {
            format!(
                "Cluster-robust sandwich with {} clusters in {}",
                g(fit.design.n_clusters as f64),
                fit.design.cluster_var.clone().unwrap_or_default()
            )
        } else {
            "Robust (Huber/White sandwich)".to_string()
        };
        let bread_text = match info {
            Info::Observed => "observed information",
            Info::Expected => "expected information X'WX",
        };
        Ok(Variance {
            kind: if clustered { VceKind::Cluster } else { VceKind::Robust },
            matrix: m,
            description: format!("{what} with the {bread_text} as bread, small-sample factor {text}."),
            factor,
            n_clusters: clustered.then_some(fit.design.n_clusters),
            df: None,
            satterthwaite: None,
        })
    }

    fn survey_variance(&self, fit: &Fit, design: &SurveyDesign, bread: Info, df: SurveyDf) -> Result<Variance> {
        let mut v = match bread {
            Info::Observed => survey::linearized(fit, design)?,
            Info::Expected => survey::linearized_with(
                fit,
                design,
                &info_matrix(fit, Info::Expected)?,
                "inverse expected information X'WX of the weighted fit",
            )?,
        };
        if df == SurveyDf::DesignMinusKPlus1 {
            let d = design.df() - fit.beta.len() as f64 + 1.0;
            v.df = Some(d);
            v.description.push_str(&format!(" t with PSUs - strata - K + 1 = {} degrees of freedom (svyglm).", g(d)));
        }
        Ok(v)
    }

    /// The log likelihood this profile's package reports for `fit`: Stata's for every family
    /// but gamma and inverse gaussian, whose dispersion R and statsmodels set differently.
    pub fn log_likelihood(&self, fit: &Fit) -> f64 {
        if !matches!(fit.spec.family, FamilyKind::Gamma | FamilyKind::InverseGaussian) {
            return fit.log_likelihood;
        }
        let fam = fit.spec.family.family();
        let one = |i: usize, w: f64, phi: f64| fam.loglik(fit.y[i], fit.mu[i], 1.0 - fit.mu[i], w, phi);
        match self.loglik {
            LogLikScale::One => fit.log_likelihood,
            LogLikScale::DevianceOverN => {
                let sw: f64 = fit.w.iter().sum();
                let phi = fit.deviance / sw;
                (0..fit.y.len()).filter(|&i| fit.w[i] != 0.0).map(|i| fit.w[i] * one(i, 1.0, phi)).sum()
            }
            LogLikScale::Pearson => {
                let phi = fit.dispersion;
                (0..fit.y.len()).filter(|&i| fit.w[i] != 0.0).map(|i| one(i, fit.w[i], phi)).sum()
            }
        }
    }

    /// The number of parameters in the AIC: R counts the dispersion of gaussian, gamma and
    /// inverse-gaussian models.
    pub fn aic_parameters(&self, fit: &Fit) -> f64 {
        let k = fit.beta.len() as f64;
        if self.convention == Convention::R && free_scale(fit) {
            k + 1.0
        } else {
            k
        }
    }

    /// A one-line statement of what differs in the log likelihood, if anything.
    pub fn loglik_note(&self, fit: &Fit) -> Option<String> {
        if !matches!(fit.spec.family, FamilyKind::Gamma | FamilyKind::InverseGaussian) {
            return None;
        }
        match self.loglik {
            LogLikScale::One => None,
            LogLikScale::DevianceOverN => Some(format!(
                "Log likelihood at the dispersion deviance/N = {} (R's logLik.glm); Stata's, at dispersion 1, is {}.",
                g(fit.deviance / fit.w.iter().sum::<f64>()),
                g(fit.log_likelihood)
            )),
            LogLikScale::Pearson => Some(format!(
                "Log likelihood at the Pearson dispersion {} (statsmodels' llf); Stata's, at dispersion 1, is {}.",
                g(fit.dispersion),
                g(fit.log_likelihood)
            )),
        }
    }
}

/// One step from Stata's variance towards a profile's: the choice that changes, and the
/// variance once it has changed (every earlier step's change included).
pub struct Step {
    pub choice: String,
    pub variance: Variance,
}

/// The chain of variances from Stata's to `target`'s for `kind` (Stata's default kind when
/// `explicit` is false), one [`Step`] per choice that differs and applies to `kind`: the
/// information (plain SEs), the bread, the small-sample factor, the survey bread and df. The
/// first element is Stata's variance (choice "stata"); the last is `target`'s. The ratio of
/// consecutive standard errors is the size of each choice; their product is the ratio of the
/// target's standard error to Stata's.
pub fn steps(
    fit: &Fit,
    kind: VceKind,
    explicit: bool,
    design: Option<&SurveyDesign>,
    target: Convention,
) -> Result<Vec<Step>> {
    let stata = Convention::Stata.profile();
    let goal = target.profile();
    let mut out =
        vec![Step { choice: "stata".into(), variance: stata.variance(fit, kind, explicit, design)?.variance }];
    if target == Convention::Stata {
        return Ok(out);
    }
    match kind {
        VceKind::Oim | VceKind::Eim => {
            let from = stata.plain_info(fit);
            let to = goal.plain_info(fit);
            if !explicit && from != to {
                let v = match to {
                    Info::Observed => vce::oim(fit)?,
                    Info::Expected => vce::eim(fit)?,
                };
                out.push(Step { choice: format!("information {} vs {}", to.short(), from.short()), variance: v });
            }
        }
        VceKind::Robust | VceKind::Cluster => {
            let clustered = kind == VceKind::Cluster;
            let mut p = stata;
            if goal.bread != p.bread {
                p.bread = goal.bread;
                out.push(Step {
                    choice: format!("bread {} vs {}", goal.bread.info().short(), stata.bread.info().short()),
                    variance: p.sandwich(fit, clustered)?,
                });
            }
            let changed = if clustered { goal.cluster != p.cluster } else { goal.robust != p.robust };
            if changed {
                p.robust = goal.robust;
                p.cluster = goal.cluster;
                let (_, text) = goal.sandwich_factor(fit, clustered)?;
                let (_, was) = stata.sandwich_factor(fit, clustered)?;
                out.push(Step { choice: format!("factor {text} vs {was}"), variance: p.sandwich(fit, clustered)? });
            }
        }
        VceKind::Survey => {
            let Some((bread, df)) = goal.survey else {
                return Err(usage(format!("the {} convention has no survey-design variance", target.name())));
            };
            let design = design.ok_or_else(|| usage("the survey variance needs the survey design"))?;
            let (b0, _) = stata.survey.expect("Stata has a survey variance");
            if bread != b0 {
                out.push(Step {
                    choice: format!("survey bread {} vs {}", bread.short(), b0.short()),
                    variance: goal.survey_variance(fit, design, bread, df)?,
                });
            }
        }
        _ => {}
    }
    // The last step is the target's variance itself (its df and sentence included).
    let last = goal.variance(fit, kind, explicit, design)?.variance;
    if out.len() > 1 {
        out.last_mut().expect("a step").variance = last;
    } else {
        out.push(Step { choice: "no difference in the standard errors".into(), variance: last });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_names_list_the_three() {
        for c in Convention::ALL {
            assert_eq!(Convention::parse(c.name()).unwrap(), c);
            assert_eq!(c.profile().convention, c);
        }
        let e = Convention::parse("spss").unwrap_err().to_string();
        assert!(e.contains("stata, r or statsmodels"), "{e}");
    }

    #[test]
    fn stata_profile_is_the_default_and_differs_from_the_others() {
        assert_eq!(Convention::default(), Convention::Stata);
        let (s, r, p) = (Convention::Stata.profile(), Convention::R.profile(), Convention::Statsmodels.profile());
        assert_eq!(
            (s.plain_glm, s.bread, s.robust, s.cluster),
            (Info::Observed, Bread::Observed, RobustFactor::NOverNMinus1, ClusterFactor::G)
        );
        assert_eq!(
            (r.plain_ml, r.bread, r.robust, r.cluster),
            (Info::Expected, Bread::Expected, RobustFactor::NOverNMinusK, ClusterFactor::G)
        );
        assert_eq!(
            (p.plain_ml, p.plain_glm, p.robust, p.cluster),
            (Info::Observed, Info::Expected, RobustFactor::One, ClusterFactor::GAndNk)
        );
        assert!(p.survey.is_none());
    }
}
