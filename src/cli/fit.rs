//! `migfit fit`: one model from a formula, with a chosen variance, as JSON or text.

use super::DataArgs;
use crate::analysis::{Estimation, FitJob};
use crate::design::{SampleOptions, WeightType};
use crate::error::{usage, Result};
use crate::formula::Formula;
use crate::model::{ModelKind, ModelSpec, Scale};
use crate::output::{self, Report};
use crate::vce::VceKind;
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
    /// The validated estimation options.
    pub fn estimation(&self) -> Result<Estimation> {
        let weights = match (&self.weights, &self.weight_type) {
            (Some(v), Some(t)) => Some((v.clone(), WeightType::parse(t)?)),
            (Some(_), None) => return Err(usage("--weights needs --weight-type fweight, pweight or aweight")),
            _ => None,
        };
        let margins = if self.margins || self.margins_at.is_some() {
            Some(crate::margins::At::parse(self.margins_at.as_deref())?)
        } else {
            None
        };
        if self.max_iter == 0 {
            return Err(usage("--max-iter must be at least 1"));
        }
        Ok(Estimation {
            vce: self.vce.as_deref().map(VceKind::parse).transpose()?,
            sample: SampleOptions { weights, cluster: self.cluster.clone(), ..Default::default() },
            level: self.level,
            margins,
        })
    }

    /// Applies the fitting controls to a model spec.
    pub fn apply(&self, spec: &mut ModelSpec) -> Result<()> {
        spec.scale = self.scale.as_deref().map(Scale::parse).transpose()?;
        spec.max_iter = self.max_iter;
        spec.keep_going = self.keep_going;
        Ok(())
    }

    /// Prints the notes on stderr and writes the report in the chosen format.
    pub fn emit(&self, report: &Report) -> Result<()> {
        for n in report.all_notes() {
            eprintln!("migfit: note: {n}");
        }
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
///   migfit fit examples/mroz/mroz.csv --formula "inlf ~ age + I(age^2) + educ + C(kidslt6)" --model probit --vce robust
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Example:\n  migfit fit examples/mroz/mroz.csv --model probit \\\n      --formula \"inlf ~ age + I(age^2) + educ + kidslt6 + nwifeinc\" --vce robust --format json"
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
    let kind = ModelKind::parse(&args.model)?;
    let mut spec = ModelSpec::new(kind, args.family.as_deref(), args.link.as_deref())?;
    args.est.apply(&mut spec)?;
    let job = FitJob::new(Formula::parse(&args.formula)?, spec, args.odds_ratios, args.est.estimation()?)?;
    let ds = args.data.load()?;
    let report = job.run(&ds)?;
    args.est.emit(&report)
}
