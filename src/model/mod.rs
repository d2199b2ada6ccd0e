//! Estimators: probit and logit by maximum likelihood, and GLMs (any [`family::Family`] with
//! any [`link::Link`]) by IRLS finished with Newton-Raphson on the observed information, so
//! that both the observed (OIM) and expected (EIM) information are exact at the estimates.
//!
//! Probit and logit are the binomial family with the probit and logit links; Stata's `probit`
//! and `glm, family(binomial) link(probit)` give the same estimates and OIM standard errors.

pub mod family;
pub mod fit;
pub mod link;
pub mod twopart;

pub use family::{Family, FamilyKind};
pub use fit::{fit, Fit, Omitted};
pub use link::{Link, LinkKind};

use crate::error::{usage, Result};

/// Which estimator: a binary-outcome model or a GLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Probit,
    Logit,
    Glm,
}

impl ModelKind {
    pub fn parse(s: &str) -> Result<ModelKind> {
        match s {
            "probit" => Ok(ModelKind::Probit),
            "logit" => Ok(ModelKind::Logit),
            "glm" => Ok(ModelKind::Glm),
            _ => Err(usage(format!("unknown model '{s}' (expected probit, logit or glm)"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Probit => "probit",
            ModelKind::Logit => "logit",
            ModelKind::Glm => "glm",
        }
    }
}

/// How the dispersion `phi` of a GLM is estimated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Pearson chi-square / (N - K): the default of Stata, R and statsmodels for gaussian,
    /// gamma and inverse gaussian families (Stata's `scale(x2)`).
    Pearson,
    /// Deviance / (N - K) (Stata's `scale(dev)`).
    Deviance,
    /// A fixed value (binomial and Poisson default to 1).
    Fixed(f64),
}

impl Scale {
    pub fn parse(s: &str) -> Result<Scale> {
        match s {
            "x2" | "pearson" => Ok(Scale::Pearson),
            "dev" | "deviance" => Ok(Scale::Deviance),
            other => match other.parse::<f64>() {
                Ok(v) if v > 0.0 && v.is_finite() => Ok(Scale::Fixed(v)),
                _ => Err(usage(format!("the scale takes x2, dev or a positive number, not '{s}'"))),
            },
        }
    }
}

/// A model as requested: estimator, family, link and fitting controls.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub kind: ModelKind,
    pub family: FamilyKind,
    pub link: LinkKind,
    /// `None` = the family's default (Pearson for continuous families, 1 otherwise).
    pub scale: Option<Scale>,
    pub max_iter: usize,
    /// Return a non-converged fit (flagged) instead of an error.
    pub keep_going: bool,
    /// Firth's bias-reduced estimates (binomial models): see `fit::firth`.
    pub firth: bool,
}

impl ModelSpec {
    /// Builds a spec from the names the user typed, with Stata's defaults.
    pub fn new(kind: ModelKind, family: Option<&str>, link: Option<&str>) -> Result<ModelSpec> {
        let (family, link) = match kind {
            ModelKind::Probit | ModelKind::Logit => {
                if let Some(f) = family.filter(|f| *f != "binomial") {
                    return Err(usage(format!(
                        "family {f} does not apply to the {} model; use the glm model",
                        kind.name()
                    )));
                }
                let l = if kind == ModelKind::Probit { LinkKind::Probit } else { LinkKind::Logit };
                if let Some(given) = link.filter(|g| LinkKind::parse(g) != Some(l)) {
                    return Err(usage(format!(
                        "link {given} does not apply to the {} model; use the glm model",
                        kind.name()
                    )));
                }
                (FamilyKind::Binomial, l)
            }
            ModelKind::Glm => {
                let fam = match family {
                    None => FamilyKind::Gaussian,
                    Some(f) => FamilyKind::parse(f).ok_or_else(|| {
                        usage(format!(
                            "unknown family '{f}' (expected gaussian, binomial, poisson, gamma or igaussian)"
                        ))
                    })?,
                };
                let link = match link {
                    None => fam.default_link(),
                    Some(l) => LinkKind::parse(l).ok_or_else(|| {
                        usage(format!("unknown link '{l}' (expected identity, log, inverse, logit, probit or cloglog)"))
                    })?,
                };
                (fam, link)
            }
        };
        Ok(ModelSpec { kind, family, link, scale: None, max_iter: 100, keep_going: false, firth: false })
    }

    /// The dispersion rule in force.
    pub fn scale_rule(&self) -> Scale {
        self.scale.unwrap_or(if self.family.family().fixed_scale() { Scale::Fixed(1.0) } else { Scale::Pearson })
    }
}
