//! `migfit explain`: one fit, its standard errors under each convention profile (Stata, R,
//! statsmodels) side by side, the ratio of each to Stata's, and the decomposition of every
//! difference into the choices that cause it (`inference::convention::steps`): the SE under
//! each step's variance divided by the SE under the previous one. The factors multiply to the
//! ratio of the profile's SE to Stata's, for coefficients and for marginal effects (whose SEs
//! are the delta method J V J' under each step's V).
//!
//! A profile that cannot give the variance (statsmodels under a survey design) is listed as
//! unavailable with the reason. Two-part models: each part's coefficients and its own effects
//! (the combined E[y]'s effects, which need both parts' variances, are not decomposed).

use super::{Estimation, FitJob, Job, TwoPartJob};
use crate::data::Dataset;
use crate::design::Design;
use crate::error::Result;
use crate::inference::convention::{steps, Convention};
use crate::inference::survey::SurveyDesign;
use crate::inference::{Variance, VceKind};
use crate::margins::{self, PartEval, Target};
use crate::model::twopart::fit_twopart;
use crate::model::{self, Fit};
use serde::Serialize;

/// The explanation of one job: a model per fitted model (two for a two-part model).
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The variance kind (`oim`, `robust`, ...), as resolved from the options.
    pub vce: String,
    pub models: Vec<ModelExplanation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelExplanation {
    pub name: String,
    pub formula: String,
    pub profiles: Vec<ProfileSummary>,
    pub rows: Vec<ExplainRow>,
}

/// What one profile reports besides the SEs: its variance sentence, df, log likelihood.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileSummary {
    pub convention: Convention,
    /// `None`: the profile has no such variance (`unavailable` says why).
    pub vce: Option<String>,
    pub df_r: Option<f64>,
    pub log_likelihood: f64,
    pub notes: Vec<String>,
    pub unavailable: Option<String>,
}

/// A coefficient or an effect.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainRow {
    pub term: String,
    /// `None` for a coefficient; `dydx` or `"<level> vs <ref>"` for an effect.
    pub contrast: Option<String>,
    pub estimate: f64,
    pub std_errors: Vec<ProfileSe>,
}

/// One profile's SE of a row, its ratio to Stata's and the factors behind the ratio.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileSe {
    pub convention: Convention,
    pub std_error: f64,
    pub ratio: f64,
    pub factors: Vec<Factor>,
}

/// One choice's contribution: the SE after the choice over the SE before it.
#[derive(Debug, Clone, Serialize)]
pub struct Factor {
    pub choice: String,
    pub factor: f64,
}

impl Job {
    /// Fits once and explains the SEs under every convention profile.
    pub fn explain(&self, ds: &Dataset) -> Result<Explanation> {
        match self {
            Job::Fit(j) => j.explain(ds),
            Job::TwoPart(j) => j.explain(ds),
        }
    }
}

impl FitJob {
    pub fn explain(&self, ds: &Dataset) -> Result<Explanation> {
        let kind = self.est.vce_kind()?;
        let (sample, design_rows) = self.est.model_sample(ds)?;
        let design = Design::build(ds, &self.formula, &sample)?;
        let fit = model::fit(design, &self.spec)?;
        let sd = self.est.survey_design(ds, &fit.design.rows, design_rows.as_deref())?;
        let m = explain_model("model", &self.formula.source, &fit, &self.est, kind, sd.as_ref())?;
        Ok(Explanation { vce: kind.name().into(), models: vec![m] })
    }
}

impl TwoPartJob {
    pub fn explain(&self, ds: &Dataset) -> Result<Explanation> {
        let req = self.request();
        let kind = self.est.vce_kind()?;
        if self.joint_vce {
            return Err(crate::error::usage(
                "explain compares each part's own variance; the joint (suest) variance is Stata's only: drop --joint-vce",
            ));
        }
        let (sample, design_rows) = self.est.model_sample(ds)?;
        let tp = fit_twopart(ds, &req, &sample)?;
        let sd = self.est.survey_design(ds, &tp.first.design.rows, design_rows.as_deref())?;
        let f1 = format!("{} ~ {}", tp.first.design.response, super::rhs_text(&self.formula.source));
        let f2 = format!(
            "{} ~ {}",
            tp.second.design.response,
            super::rhs_text(&self.formula2.as_ref().unwrap_or(&self.formula).source)
        );
        let m1 = explain_model("first", &f1, &tp.first, &self.est, kind, sd.as_ref())?;
        // The second part is a subpopulation of the first part's design (as `Variance::twopart`).
        let m2 = explain_model("second", &f2, &tp.second, &self.est, kind, sd.as_ref())?;
        Ok(Explanation { vce: kind.name().into(), models: vec![m1, m2] })
    }
}

/// SEs of the coefficients and (with `--margins`) of the effects under one variance.
fn std_errors(fit: &Fit, est: &Estimation, v: &Variance) -> Result<Vec<(String, Option<String>, f64, f64)>> {
    let mut out: Vec<(String, Option<String>, f64, f64)> = fit
        .design
        .names
        .iter()
        .zip(&fit.beta)
        .zip(v.std_errors())
        .map(|((n, &b), s)| (n.clone(), None, b, s))
        .collect();
    if let Some(at) = &est.margins {
        margins::check_scale_dydx(&[&fit.design.spec], &est.post.dydx, est.post.scale)?;
        let r = margins::compute_scaled(
            &[PartEval::of_fit(fit)],
            Target::Mean(0),
            fit.design.weights.as_deref(),
            at,
            est.post.scale,
            &v.matrix,
            est.level,
        )?;
        let mut ms = r.margins;
        margins::keep_dydx(&mut [&mut ms], &[&fit.design.spec], &est.post.dydx)?;
        out.extend(ms.into_iter().map(|m| (m.term, Some(m.contrast), m.estimate, m.std_error)));
    }
    Ok(out)
}

fn explain_model(
    name: &str,
    formula: &str,
    fit: &Fit,
    est: &Estimation,
    kind: VceKind,
    design: Option<&SurveyDesign>,
) -> Result<ModelExplanation> {
    let explicit = est.vce.is_some();
    let mut profiles = Vec::new();
    // Per profile: the SEs of every row at every step.
    let mut chains: Vec<Option<(Vec<String>, Vec<Vec<(String, Option<String>, f64, f64)>>)>> = Vec::new();
    for c in Convention::ALL {
        let p = c.profile();
        let ll = p.log_likelihood(fit);
        match steps(fit, kind, explicit, design, c) {
            Ok(chain) => {
                let last = &chain.last().expect("a step").variance;
                let mut notes = p.variance(fit, kind, explicit, design)?.notes;
                notes.extend(p.loglik_note(fit));
                profiles.push(ProfileSummary {
                    convention: c,
                    vce: Some(last.description.clone()),
                    df_r: last.df,
                    log_likelihood: ll,
                    notes,
                    unavailable: None,
                });
                let ses = chain.iter().map(|s| std_errors(fit, est, &s.variance)).collect::<Result<Vec<_>>>()?;
                chains.push(Some((chain.into_iter().map(|s| s.choice).collect(), ses)));
            }
            Err(crate::Error::Usage(msg)) => {
                let msg = msg.to_string();
                profiles.push(ProfileSummary {
                    convention: c,
                    vce: None,
                    df_r: None,
                    log_likelihood: ll,
                    notes: Vec::new(),
                    unavailable: Some(msg),
                });
                chains.push(None);
            }
            Err(e) => return Err(e),
        }
    }
    let (_, base) = chains[0].as_ref().expect("Stata's variance is always available");
    let base = &base[0];
    let mut rows = Vec::new();
    for (r, (term, contrast, estimate, se0)) in base.iter().enumerate() {
        let mut std_errors = Vec::new();
        for (c, chain) in Convention::ALL.iter().zip(&chains) {
            let Some((choices, ses)) = chain else { continue };
            let mut factors = Vec::new();
            for s in 1..ses.len() {
                factors.push(Factor { choice: choices[s].clone(), factor: ses[s][r].3 / ses[s - 1][r].3 });
            }
            let se = ses.last().expect("a step")[r].3;
            std_errors.push(ProfileSe { convention: *c, std_error: se, ratio: se / se0, factors });
        }
        rows.push(ExplainRow { term: term.clone(), contrast: contrast.clone(), estimate: *estimate, std_errors });
    }
    Ok(ModelExplanation { name: name.into(), formula: formula.into(), profiles, rows })
}
