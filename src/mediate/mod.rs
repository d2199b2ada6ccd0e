//! Mediation for a binary outcome: how much of a treatment's effect runs through mediators.
//!
//! Two methods, one request ([`Request`]) and one result ([`Mediation`]):
//!
//! * [`khb`]: the Karlson-Holm-Breen decomposition of a probit or logit coefficient (Karlson,
//!   Holm & Breen 2012, *Sociological Methodology* 42:286-313; Kohler, Karlson & Holm 2011,
//!   *Stata Journal* 11(3):420-438, the `khb` command), on the coefficient scale or on the
//!   average-partial-effect scale, with each mediator's share (`khb, disentangle`).
//! * [`causal`]: natural direct and indirect effects (Imai, Keele & Tingley 2010,
//!   *Psychological Methods* 15:309-334; Stata 18 `mediate`) of a binary or continuous
//!   treatment through one binary (probit/logit) or continuous (linear) mediator.
//!
//! Both fit every model on one sample: the rows where the outcome, the treatment, every
//! mediator, the controls (and the weights, cluster and survey variables) are observed. The
//! variance is the one `fit` would use (OIM, robust, cluster, survey design), chosen by the
//! same [`Estimation`].
//!
//! Layer: beside `analysis` (it fits models through `design`, `model` and `inference`).

pub mod causal;
pub mod khb;

use crate::analysis::Estimation;
use crate::data::Dataset;
use crate::design::{Design, SampleOptions};
use crate::error::{usage, DataError, Error, FormulaError, Result};
use crate::formula::Formula;
use crate::inference::survey::SurveyDesign;
use crate::inference::{Variance, VceKind};
use crate::model::{self, Fit, ModelKind, ModelSpec};
use serde::{Deserialize, Serialize};

/// Which decomposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Khb,
    Causal,
}

impl Method {
    pub fn parse(s: &str) -> Result<Method> {
        match s {
            "khb" => Ok(Method::Khb),
            "causal" => Ok(Method::Causal),
            _ => Err(usage(format!("unknown mediation method '{s}' (expected khb or causal)"))),
        }
    }
}

/// What to decompose: `outcome ~ treatment + mediators + controls`.
#[derive(Debug, Clone)]
pub struct Request {
    /// The binary outcome (a variable or an expression of the data).
    pub outcome: String,
    /// The controls, a formula right-hand side (`""`: none).
    pub controls: String,
    /// The treatment: one formula term (`x`, `C(x)`, `C(x, ref=2)`).
    pub treatment: String,
    /// The mediators: formula terms (KHB: any number, `C()` allowed; causal: one numeric).
    pub mediators: Vec<String>,
    /// Probit or logit (the outcome model; in `causal`, also a binary mediator's model).
    pub model: ModelKind,
    pub method: Method,
    /// KHB on the average-partial-effect scale.
    pub ape: bool,
    /// Causal: a treatment-by-mediator interaction in the outcome model.
    pub interaction: bool,
    pub est: Estimation,
    pub max_iter: usize,
}

/// An estimate with its standard error and inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub estimate: f64,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub std_error: f64,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub statistic: f64,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub p_value: f64,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub conf_low: f64,
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub conf_high: f64,
}

impl Estimate {
    pub fn new(estimate: f64, std_error: f64, level: f64, df: Option<f64>) -> Estimate {
        let (statistic, p_value, conf_low, conf_high) = crate::inference::statistics(estimate, std_error, level, df);
        Estimate { estimate, std_error, statistic, p_value, conf_low, conf_high }
    }
}

/// The result of either method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mediation {
    pub method: Method,
    /// probit or logit.
    pub model: String,
    pub outcome: String,
    pub treatment: String,
    pub mediators: Vec<String>,
    pub controls: String,
    /// Observations of the common sample (sum of frequency weights, else rows).
    #[serde(deserialize_with = "crate::output::nan_if_null")]
    pub n_obs: f64,
    pub n_rows: usize,
    pub n_dropped: usize,
    /// The variance's sentence, its kind and `df` (t statistics under a survey design).
    pub vce: String,
    pub vce_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df_r: Option<f64>,
    pub level: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub khb: Option<khb::Khb>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causal: Option<causal::Causal>,
    pub notes: Vec<String>,
}

/// The whole output of `migfit mediate` (JSON: `data-schema/output.md`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MediationReport {
    pub migfit_version: String,
    pub command: String,
    pub data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_sha256: Option<String>,
    pub mediation: Mediation,
}

impl Request {
    /// Every dataset variable the request reads, for column projection (`None`: cannot be
    /// told).
    pub fn variables(&self) -> Option<Vec<String>> {
        let f = Formula::parse(&self.full_formula()).ok()?;
        let mut out = f.variables();
        for v in self.est.variables()? {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        Some(out)
    }

    fn controls_text(&self) -> String {
        let c = self.controls.trim();
        if c.is_empty() {
            "1".to_string()
        } else {
            c.to_string()
        }
    }

    /// `outcome ~ treatment + mediators + controls`.
    pub fn full_formula(&self) -> String {
        format!("{} ~ {} + {} + {}", self.outcome, self.treatment, self.mediators.join(" + "), self.controls_text())
    }

    /// Checks what can be checked before the data are read.
    pub fn check(&self) -> Result<()> {
        self.est.check()?;
        if !matches!(self.model, ModelKind::Probit | ModelKind::Logit) {
            return Err(usage("mediation needs a probit or logit outcome model (-m probit or -m logit)"));
        }
        if self.mediators.is_empty() {
            return Err(usage("--mediators: give at least one mediator"));
        }
        let t = Formula::parse_rhs(&self.treatment)?;
        if t.terms.len() != 1 {
            return Err(usage(format!("--treatment takes one term, not '{}'", self.treatment)));
        }
        let tv = t.variables();
        for m in &self.mediators {
            let f = Formula::parse_rhs(m)?;
            if f.variables().iter().any(|v| tv.contains(v)) || m.trim() == self.treatment.trim() {
                return Err(usage(format!(
                    "the mediator '{m}' is the treatment '{}' (or uses its variable): a mediator lies between the treatment and the outcome",
                    self.treatment
                )));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for m in &self.mediators {
            if seen.contains(&m.trim()) {
                return Err(usage(format!("the mediator '{m}' is given twice")));
            }
            seen.push(m.trim());
        }
        Formula::parse(&self.full_formula())?;
        if self.method == Method::Causal {
            if self.mediators.len() != 1 {
                return Err(usage(format!(
                    "--method causal takes one mediator, not {} (KHB takes several)",
                    self.mediators.len()
                )));
            }
            if self.ape {
                return Err(usage("--ape applies to --method khb"));
            }
        } else if self.interaction {
            return Err(usage("--interaction applies to --method causal"));
        }
        Ok(())
    }

    fn spec(&self, kind: ModelKind) -> ModelSpec {
        let mut s = ModelSpec::new(kind, None, None).expect("probit, logit and glm are valid");
        s.max_iter = self.max_iter;
        s
    }

    /// The outcome model's link.
    pub fn model_link(&self) -> crate::model::LinkKind {
        if self.model == ModelKind::Probit {
            crate::model::LinkKind::Probit
        } else {
            crate::model::LinkKind::Logit
        }
    }

    fn gaussian(&self) -> ModelSpec {
        let mut s = ModelSpec::new(ModelKind::Glm, Some("gaussian"), Some("identity")).expect("valid");
        s.max_iter = self.max_iter;
        s
    }

    /// Runs the method on a dataset (already filtered by `--subsample` / `--if`).
    pub fn run(&self, ds: &Dataset) -> Result<Mediation> {
        self.check()?;
        let sample = Sample::new(self, ds)?;
        let ((khb, causal), v) = match self.method {
            Method::Khb => {
                let (k, v) = khb::run(self, &sample)?;
                ((Some(k), None), v)
            }
            Method::Causal => {
                let (c, v) = causal::run(self, &sample)?;
                ((None, Some(c)), v)
            }
        };
        Ok(Mediation {
            method: self.method,
            model: self.model.name().to_string(),
            outcome: self.outcome.clone(),
            treatment: self.treatment.clone(),
            mediators: self.mediators.clone(),
            controls: self.controls.clone(),
            n_obs: sample.full.n_obs(),
            n_rows: sample.full.n(),
            n_dropped: sample.full.n_dropped,
            vce: v.description.clone(),
            vce_type: v.kind.name().to_string(),
            df_r: v.df,
            level: self.est.level,
            khb,
            causal,
            notes: sample.notes.clone(),
        })
    }
}

/// The common sample: the full model's design, which columns are the treatment's and each
/// mediator's, the survey design, and the variance kind.
pub(crate) struct Sample<'a> {
    pub ds: &'a Dataset,
    pub full: Design,
    /// Design columns of the treatment term.
    pub treatment_cols: Vec<usize>,
    /// Whether the treatment is a factor (discrete changes on the APE scale).
    pub treatment_factor: bool,
    /// Design columns of each mediator term.
    pub mediator_cols: Vec<Vec<usize>>,
    pub kind: VceKind,
    /// The convention profile of the variances, and whether `kind` was asked for.
    pub profile: crate::inference::convention::Profile,
    pub explicit: bool,
    pub survey: Option<SurveyDesign>,
    pub notes: Vec<String>,
    /// The variance of the full model (for its sentence, kind and df).
    pub variance_template: Variance,
}

/// Names of the design columns a term makes on `rows` (the intercept aside).
fn term_columns(ds: &Dataset, outcome: &str, term: &str, restrict: &[bool]) -> Result<(Vec<String>, bool)> {
    let f = Formula::parse(&format!("{outcome} ~ {term}"))?;
    let opts = SampleOptions { restrict: Some(restrict.to_vec()), ..Default::default() };
    let d = Design::build(ds, &f, &opts)?;
    let factor = d.spec.atoms.iter().any(|a| matches!(a, crate::design::ResolvedAtom::Factor { .. }));
    Ok((d.names.into_iter().filter(|n| n != "(Intercept)").collect(), factor))
}

impl<'a> Sample<'a> {
    fn new(req: &Request, ds: &'a Dataset) -> Result<Sample<'a>> {
        // A mediator absent from the data: say which option names it.
        for m in &req.mediators {
            for v in Formula::parse_rhs(m)?.variables() {
                if ds.column(&v).is_none() {
                    let hint = ds.closest_name(&v).map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default();
                    return Err(Error::Formula(FormulaError::Invalid(format!(
                        "--mediators: the mediator '{m}' names the column '{v}', which {} does not have{hint}",
                        ds.source
                    ))));
                }
            }
        }
        let kind = req.est.vce_kind()?;
        let (sample, design_rows) = req.est.model_sample(ds)?;
        let formula = Formula::parse(&req.full_formula())?;
        let full = Design::build(ds, &formula, &sample)?;
        // A binary outcome: 0/1 (probit and logit would take any non-zero value as 1).
        if let Some(i) = full.y.iter().position(|&y| y != 0.0 && y != 1.0) {
            return Err(Error::Data(DataError::Other(format!(
                "{}: line {}: the outcome '{}' is {}, but mediation with a {} needs a binary outcome coded 0/1",
                ds.source,
                full.lines[i],
                full.response,
                crate::data::format_number(full.y[i]),
                req.model.name()
            ))));
        }
        let mut common = vec![false; ds.n_rows()];
        for &r in &full.rows {
            common[r] = true;
        }
        let find = |names: &[String], what: &str| -> Result<Vec<usize>> {
            names
                .iter()
                .map(|n| {
                    full.names
                        .iter()
                        .position(|m| m == n)
                        .ok_or_else(|| Error::Data(DataError::Other(format!("{what}: the design has no column '{n}'"))))
                })
                .collect()
        };
        let (t_names, treatment_factor) = term_columns(ds, &full.response, &req.treatment, &common)?;
        // No variation in the treatment on the common sample: nothing to decompose.
        let t_cols = find(&t_names, "--treatment")?;
        let constant = |j: usize| {
            let col = full.x.column(j);
            col.iter().all(|&v| v == col[0])
        };
        if t_cols.is_empty() || t_cols.iter().any(|&j| constant(j)) {
            return Err(Error::Data(DataError::Other(format!(
                "{}: the treatment '{}' does not vary on the {} rows where the outcome, treatment, mediators and controls are all observed; nothing to decompose",
                ds.source,
                req.treatment,
                full.n()
            ))));
        }
        let mut mediator_cols = Vec::new();
        for m in &req.mediators {
            let (names, _) = term_columns(ds, &full.response, m, &common)?;
            let cols = find(&names, "--mediators")?;
            if cols.is_empty() || cols.iter().any(|&j| constant(j)) {
                return Err(Error::Data(DataError::Other(format!(
                    "{}: the mediator '{m}' does not vary on the {} rows of the common sample",
                    ds.source,
                    full.n()
                ))));
            }
            mediator_cols.push(cols);
        }
        let survey = match &req.est.survey {
            None => None,
            Some(spec) => Some(
                SurveyDesign::new(ds, spec, design_rows.as_deref().unwrap_or(&full.rows))?.with_fit_rows(&full.rows)?,
            ),
        };
        let mut notes = full.notes.clone();
        notes.dedup();
        let mut s = Sample {
            ds,
            full,
            treatment_cols: t_cols,
            treatment_factor,
            mediator_cols,
            kind,
            profile: req.est.convention.profile(),
            explicit: req.est.vce.is_some(),
            survey,
            notes,
            variance_template: Variance {
                kind,
                matrix: ndarray::Array2::zeros((0, 0)),
                description: String::new(),
                factor: 1.0,
                n_clusters: None,
                df: None,
                satterthwaite: None,
            },
        };
        s.variance_template.df = s.survey.as_ref().map(|d| d.df());
        Ok(s)
    }

    /// Fits a model on a design of the common sample and computes its variance; an omitted
    /// (collinear) column is an error naming it, since every decomposition needs them all.
    pub fn fit(&self, design: Design, spec: &ModelSpec, what: &str) -> Result<(Fit, Variance)> {
        let k = design.k();
        let fit = model::fit(design, spec)?;
        if fit.design.k() != k || fit.design.n() != self.full.n() {
            let omitted: Vec<&str> = fit.omitted.iter().map(|o| o.term.as_str()).collect();
            return Err(Error::Fit(crate::error::FitError::Numerical(format!(
                "the {what} model dropped {} (collinear columns or perfectly predicted rows); the decomposition needs every column and row of the common sample: {}",
                if omitted.is_empty() { "rows".to_string() } else { omitted.join(", ") },
                fit.notes.join("; ")
            ))));
        }
        let v = self.profile.variance(&fit, self.kind, self.explicit, self.survey.as_ref())?.variance;
        Ok((fit, v))
    }

    /// The full design with other columns (`keep`, in order) and another response.
    pub fn design(&self, keep: &[usize], response: Option<(&str, Vec<f64>)>) -> Design {
        let mut d = self.full.clone();
        d.select_columns(keep);
        if let Some((name, y)) = response {
            d.response = name.to_string();
            d.y = y;
        }
        d
    }

    /// Weights of the averages over the sample (the estimation weights, normalised).
    pub fn average_weights(&self) -> Vec<f64> {
        let n = self.full.n();
        match &self.full.weights {
            Some(w) => {
                let s: f64 = w.iter().sum();
                w.iter().map(|v| v / s).collect()
            }
            None => vec![1.0 / n as f64; n],
        }
    }
}

/// `g' V g`.
pub(crate) fn quad(g: &[f64], v: &ndarray::Array2<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..g.len() {
        for j in 0..g.len() {
            s += g[i] * v[[i, j]] * g[j];
        }
    }
    s
}

/// Central-difference gradient of `f` at `x` (steps relative to each parameter's size).
pub(crate) fn gradient(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut p = x.to_vec();
    (0..x.len())
        .map(|j| {
            let h = 1e-5 * x[j].abs().max(1e-2);
            p[j] = x[j] + h;
            let up = f(&p);
            p[j] = x[j] - h;
            let down = f(&p);
            p[j] = x[j];
            (up - down) / (2.0 * h)
        })
        .collect()
}
