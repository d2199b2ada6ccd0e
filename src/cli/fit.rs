//! `migfit fit`: one model from a formula, with a chosen variance, as JSON or text.

use super::DataArgs;
use crate::design::{Design, SampleOptions, WeightType};
use crate::error::{usage, Result};
use crate::formula::Formula;
use crate::margins;
use crate::model::{self, ModelKind, ModelSpec, Scale};
use crate::output::{self, ModelReport, Report};
use crate::vce::{self, VceKind};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Options shared by the estimation commands.
#[derive(Debug, Clone, Args)]
pub struct EstimationArgs {
    /// Variance estimator: oim (default), eim, robust, cluster.
    #[arg(long, value_name = "TYPE")]
    pub vce: Option<String>,
    /// Cluster variable for cluster-robust standard errors (implies --vce cluster).
    #[arg(long, value_name = "VAR")]
    pub cluster: Option<String>,
    /// Weight variable.
    #[arg(long, value_name = "VAR")]
    pub weights: Option<String>,
    /// Weight type, with Stata's meanings: fweight, pweight (implies robust), aweight.
    #[arg(long, value_name = "TYPE", requires = "weights")]
    pub weight_type: Option<String>,
    /// Confidence level, in percent.
    #[arg(long, default_value_t = 95.0)]
    pub level: f64,
    /// Dispersion of a GLM: x2 (Pearson, default), dev (deviance) or a number.
    #[arg(long, value_name = "RULE")]
    pub scale: Option<String>,
    /// Maximum number of iterations.
    #[arg(long, default_value_t = 100)]
    pub max_iter: usize,
    /// Report the last estimates even if the fit did not converge (flagged as such).
    #[arg(long)]
    pub keep_going: bool,
    /// Compute marginal effects (average marginal effects unless --margins-at says otherwise).
    #[arg(long)]
    pub margins: bool,
    /// Where to evaluate marginal effects: "means" (Stata's atmeans) or "var=value,...".
    #[arg(long, value_name = "AT")]
    pub margins_at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write to FILE instead of standard output (written atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl EstimationArgs {
    pub fn sample_options(&self) -> Result<SampleOptions> {
        let weights = match (&self.weights, &self.weight_type) {
            (Some(v), Some(t)) => Some((v.clone(), WeightType::parse(t)?)),
            (Some(_), None) => return Err(usage("--weights needs --weight-type fweight, pweight or aweight")),
            _ => None,
        };
        Ok(SampleOptions { weights, cluster: self.cluster.clone(), ..Default::default() })
    }

    /// The --margins-at setting, if margins were requested.
    pub fn margins_at(&self) -> Result<Option<crate::margins::At>> {
        if !self.margins && self.margins_at.is_none() {
            return Ok(None);
        }
        crate::margins::At::parse(self.margins_at.as_deref()).map(Some)
    }

    pub fn check(&self) -> Result<()> {
        if !(self.level > 10.0 && self.level < 99.99) {
            return Err(usage(format!("--level must be between 10 and 99.99, not {}", self.level)));
        }
        if self.max_iter == 0 {
            return Err(usage("--max-iter must be at least 1"));
        }
        Ok(())
    }

    pub fn vce_kind(&self, weight_type: Option<WeightType>) -> Result<VceKind> {
        let requested = self.vce.as_deref().map(VceKind::parse).transpose()?;
        VceKind::resolve(requested, weight_type, self.cluster.is_some())
    }

    pub fn apply(&self, spec: &mut ModelSpec) -> Result<()> {
        spec.scale = self.scale.as_deref().map(Scale::parse).transpose()?;
        spec.max_iter = self.max_iter;
        spec.keep_going = self.keep_going;
        Ok(())
    }

    pub fn emit(&self, report: &Report) -> Result<()> {
        let text = match self.format {
            Format::Json => output::to_json(report),
            Format::Text => output::to_text(report),
        };
        super::write_output(&text, self.output.as_deref())
    }
}

/// Fit a probit, logit or GLM.
///
/// Example:
///   migfit fit examples/mroz.csv --formula "inlf ~ age + I(age^2) + educ + C(kidslt6)" --model probit --vce robust
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Example:\n  migfit fit examples/mroz.csv --model probit \\\n      --formula \"inlf ~ age + I(age^2) + educ + kidslt6 + nwifeinc\" --vce robust --format json"
)]
pub struct FitArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Model formula, e.g. "y ~ x1 + I(x1^2) + C(region, ref=2) + x2:x3".
    #[arg(long, short = 'f')]
    pub formula: String,
    /// Estimator: probit, logit or glm.
    #[arg(long, short = 'm', default_value = "glm")]
    pub model: String,
    /// GLM family: gaussian, binomial, poisson, gamma, igaussian.
    #[arg(long)]
    pub family: Option<String>,
    /// GLM link: identity, log, inverse, logit, probit, cloglog (default: canonical).
    #[arg(long)]
    pub link: Option<String>,
    /// Report odds ratios exp(b) (logit).
    #[arg(long = "or")]
    pub odds_ratios: bool,
    #[command(flatten)]
    pub est: EstimationArgs,
}

pub fn run(args: FitArgs) -> Result<()> {
    args.est.check()?;
    let kind = ModelKind::parse(&args.model)?;
    let mut spec = ModelSpec::new(kind, args.family.as_deref(), args.link.as_deref())?;
    args.est.apply(&mut spec)?;
    if args.odds_ratios && kind != ModelKind::Logit && !(kind == ModelKind::Glm && spec.link == model::LinkKind::Logit)
    {
        return Err(usage("--or needs a logit model (--model logit, or a GLM with the logit link)"));
    }
    let formula = Formula::parse(&args.formula)?;
    let ds = args.data.load()?;
    let opts = args.est.sample_options()?;
    let vce_kind = args.est.vce_kind(opts.weights.as_ref().map(|w| w.1))?;
    let design = Design::build(&ds, &formula, &opts)?;
    let fit = model::fit(design, &spec)?;
    let v = vce::compute(&fit, vce_kind)?;
    for n in &fit.notes {
        eprintln!("migfit: note: {n}");
    }
    let mut m = ModelReport::new("model", &formula.source, &fit, &v, args.est.level, args.odds_ratios);
    if let Some(at) = args.est.margins_at()? {
        let part =
            margins::PartEval { x: fit.design.x.view(), spec: &fit.design.spec, beta: &fit.beta, link: fit.spec.link };
        let r = margins::compute(
            &[part],
            margins::Target::Mean(0),
            fit.design.weights.as_deref(),
            &at,
            &v.matrix,
            args.est.level,
        )?;
        for n in &r.notes {
            eprintln!("migfit: note: {n}");
        }
        m.margins_description =
            Some(format!("{} Prediction: {} of {}.", r.description, prediction_name(&fit), fit.design.response));
        m.notes.extend(r.notes);
        m.margins = r.margins;
    }
    let report = Report {
        migfit_version: crate::VERSION.to_string(),
        command: "fit".into(),
        data: ds.source.clone(),
        models: vec![m],
        combined: None,
    };
    args.est.emit(&report)
}

/// What a model's prediction is, for descriptions: a probability or a mean.
pub fn prediction_name(fit: &model::Fit) -> &'static str {
    if fit.spec.family == model::FamilyKind::Binomial {
        "Pr(y != 0)"
    } else {
        "E[y]"
    }
}
