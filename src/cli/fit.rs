//! `migfit fit`: one model from a formula, with a chosen variance, as JSON or text.

use super::DataArgs;
use super::{ReportArgs, ReportConfig};
use crate::analysis::{Estimation, FitJob};
use crate::design::{SampleOptions, WeightType};
use crate::error::{usage, Result};
use crate::formula::Formula;
use crate::model::{self, ModelKind, ModelSpec, Scale};
use crate::output::Report;
use crate::inference::survey::{SingleUnit, SurveySpec};
use crate::inference::vce::VceKind;
use clap::Args;

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
    /// Survey design (Stata's svy): linearized variance and t statistics with the design's
    /// degrees of freedom, from the schema's [design] weight, strata, PSU and FPC; --strata,
    /// --psu, --fpc and --weights override them.
    #[arg(long)]
    pub svy: bool,
    /// Survey strata variable (implies --svy).
    #[arg(long, value_name = "VAR")]
    pub strata: Option<String>,
    /// Survey primary sampling unit variable (implies --svy; default: each row its own PSU).
    #[arg(long, value_name = "VAR")]
    pub psu: Option<String>,
    /// Survey finite-population correction: sampling rates (<= 1) or stratum population sizes
    /// (implies --svy).
    #[arg(long, value_name = "VAR")]
    pub fpc: Option<String>,
    /// Survey subpopulation (Stata's svy, subpop()): fit on the rows where EXPR holds, keep
    /// every row of the design for the variance, e.g. --subpop "scheme == 'NCMS'".
    #[arg(long, value_name = "EXPR")]
    pub subpop: Option<String>,
    /// Survey strata with a single PSU (Stata's svyset singleunit()): missing (an error, the
    /// default), certainty (they add no variance), scaled (they get the average variance of the
    /// other strata) or centered (deviation from the grand mean). Implies --svy.
    #[arg(long, value_name = "RULE", value_parser = ["missing", "certainty", "scaled", "centered"])]
    pub singleunit: Option<String>,
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
    #[command(flatten)]
    pub report: ReportArgs,
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

    /// Whether marginal effects were asked for (--margins, --margins-at or --show margins).
    pub fn wants_margins(&self) -> bool {
        self.margins || self.margins_at.is_some() || self.report.wants_margins()
    }

    /// The --margins-at setting, if margins were requested.
    pub fn margins_at(&self) -> Result<Option<crate::margins::At>> {
        if !self.wants_margins() {
            return Ok(None);
        }
        crate::margins::At::parse(self.margins_at.as_deref()).map(Some)
    }

    /// Checks the options and returns the validated output choices.
    pub fn check(&self) -> Result<ReportConfig> {
        if !(self.level > 10.0 && self.level < 99.99) {
            return Err(usage(format!("--level must be between 10 and 99.99, not {}", self.level)));
        }
        if self.max_iter == 0 {
            return Err(usage("--max-iter must be at least 1"));
        }
        self.report.config(self.wants_margins())
    }

    /// The validated estimation options shared with batch runs; `data` supplies the schema's
    /// survey design for --svy.
    pub fn estimation(&self, data: &DataArgs) -> Result<Estimation> {
        let mut sample = self.sample_options()?;
        let survey = self.survey(data, &mut sample)?;
        Ok(Estimation {
            vce: self.vce.as_deref().map(VceKind::parse).transpose()?,
            sample,
            level: self.level,
            margins: self.margins_at()?,
            survey,
        })
    }

    /// The survey design asked for, if any: --strata/--psu/--fpc, else the schema's [design];
    /// the design's weight becomes a pweight unless --weights is given. The design columns
    /// join the listwise deletion.
    fn survey(&self, data: &DataArgs, sample: &mut SampleOptions) -> Result<Option<SurveySpec>> {
        let explicit = self.strata.is_some() || self.psu.is_some() || self.fpc.is_some();
        let wants = self.svy
            || self.subpop.is_some()
            || self.singleunit.is_some()
            || explicit
            || self.vce.as_deref().is_some_and(|v| VceKind::parse(v).ok() == Some(VceKind::Survey));
        if !wants {
            return Ok(None);
        }
        let declared = match &data.schema {
            Some(_) => data.source().config()?.schema.map(|s| s.design.clone()),
            None => None,
        };
        let declared = declared.unwrap_or_default();
        let spec = SurveySpec {
            strata: self.strata.clone().or(if explicit { None } else { declared.strata.clone() }),
            psu: self.psu.clone().or(if explicit { None } else { declared.psu.clone() }),
            fpc: self.fpc.clone().or(if explicit { None } else { declared.fpc.clone() }),
            subpop: self.subpop.clone(),
            singleunit: match self.singleunit.as_deref() {
                Some(rule) => SingleUnit::parse(rule)?,
                None if explicit => SingleUnit::default(),
                None => declared.singleunit.unwrap_or_default(),
            },
        };
        if spec.strata.is_none() && spec.psu.is_none() {
            return Err(usage(if data.schema.is_some() {
                "--svy: the schema declares no survey design ([design] strata or psu); give --psu VAR and/or --strata VAR"
            } else {
                "--svy needs the survey design: --psu VAR and/or --strata VAR (or a --schema with a [design] table)"
            }));
        }
        if sample.weights.is_none() {
            if let Some(w) = declared.weight.clone().filter(|_| !explicit || self.svy) {
                sample.weights = Some((w, WeightType::Probability));
            }
        }
        for c in spec.columns() {
            if !sample.also_require.contains(&c) {
                sample.also_require.push(c);
            }
        }
        Ok(Some(spec))
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
}

/// Fit one or more probit, logit or GLM models; several models are shown side by side.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  migfit fit examples/mroz/mroz.csv --model probit \\\n      --formula \"inlf ~ age + I(age^2) + educ + kidslt6 + nwifeinc\" --vce robust --format json\n\n  # Three models side by side (the layout of a paper's Table 3), marginal effects, Markdown:\n  migfit fit study.csv --margins --layout side -o table3.md \\\n      -f \"received ~ C(scheme, ref=NCMS) + age + female\" -m probit \\\n      -f \"log(amount) ~ C(scheme, ref=NCMS) + age + female\" -m glm \\\n      -f \"ratio ~ C(scheme, ref=NCMS) + age + female\" -m glm --family gamma --link log\n\n  # One right-hand side, several responses:\n  migfit fit examples/mroz/mroz.csv -f \"~ age + educ\" --response hours --response wage --family gamma --link log"
)]
pub struct FitArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Model formula, e.g. "y ~ x1 + I(x1^2) + C(region, ref=2) + x2:x3". Repeat for several
    /// models side by side (the i-th --formula goes with the i-th --model).
    #[arg(long, short = 'f', required = true)]
    pub formula: Vec<String>,
    /// Fit the right-hand side of the (single) --formula to each of these responses, side by
    /// side.
    #[arg(long, value_name = "EXPR")]
    pub response: Vec<String>,
    /// Estimator: probit, logit or glm (default glm). One value applies to every model;
    /// otherwise one per model.
    #[arg(long, short = 'm')]
    pub model: Vec<String>,
    /// GLM family: gaussian, binomial, poisson, gamma, igaussian. One value applies to every
    /// GLM; otherwise one per GLM, in order.
    #[arg(long)]
    pub family: Vec<String>,
    /// GLM link: identity, log, inverse, logit, probit, cloglog (default: canonical). One value
    /// applies to every GLM; otherwise one per GLM, in order.
    #[arg(long)]
    pub link: Vec<String>,
    /// Report odds ratios exp(b) (logit).
    #[arg(long = "or")]
    pub odds_ratios: bool,
    #[command(flatten)]
    pub est: EstimationArgs,
}

/// One model to fit: formula text, estimator, GLM family and link.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    pub formula: String,
    pub model: String,
    pub family: Option<String>,
    pub link: Option<String>,
}

/// Pairs the repeated --formula / --response / --model / --family / --link options.
pub fn model_requests(args: &FitArgs) -> Result<Vec<ModelRequest>> {
    let formulas: Vec<String> = if args.response.is_empty() {
        args.formula.clone()
    } else {
        if args.formula.len() != 1 {
            return Err(usage("--response takes one --formula whose right-hand side every response shares"));
        }
        let f = &args.formula[0];
        let rhs = f.split_once('~').map(|(_, r)| r).unwrap_or(f).trim();
        args.response.iter().map(|r| format!("{r} ~ {rhs}")).collect()
    };
    let n = formulas.len();
    let models: Vec<String> = match args.model.len() {
        0 => vec!["glm".to_string(); n],
        1 => vec![args.model[0].clone(); n],
        k if k == n => args.model.clone(),
        k => return Err(usage(format!("{k} --model values for {n} models: give one (for all) or one per model"))),
    };
    let n_glm = models.iter().filter(|m| m.as_str() == "glm").count();
    let per_glm = |vals: &[String], opt: &str| -> Result<Vec<Option<String>>> {
        let mut it = vals.iter();
        let mut out = Vec::new();
        for m in &models {
            if m != "glm" {
                out.push(None);
                continue;
            }
            out.push(match vals.len() {
                0 => None,
                1 => Some(vals[0].clone()),
                k if k == n_glm => it.next().cloned(),
                k => {
                    return Err(usage(format!(
                        "{k} --{opt} values for {n_glm} GLMs: give one (for all) or one per GLM"
                    )))
                }
            });
        }
        Ok(out)
    };
    let fams = per_glm(&args.family, "family")?;
    let links = per_glm(&args.link, "link")?;
    Ok(formulas
        .into_iter()
        .zip(models)
        .zip(fams.into_iter().zip(links))
        .map(|((formula, model), (family, link))| ModelRequest { formula, model, family, link })
        .collect())
}

pub fn run(args: FitArgs) -> Result<()> {
    let config = args.est.check()?;
    let hash = args.data.source().spawn_hash();
    let requests = model_requests(&args)?;
    // Check every specification before the (possibly slow) load.
    let est = args.est.estimation(&args.data)?;
    let mut jobs = Vec::new();
    for r in &requests {
        let kind = ModelKind::parse(&r.model)?;
        let mut spec = ModelSpec::new(kind, r.family.as_deref(), r.link.as_deref())?;
        args.est.apply(&mut spec)?;
        jobs.push(FitJob::new(Formula::parse(&r.formula)?, spec, args.odds_ratios, est.clone())?);
    }
    // Column projection: read only the variables some model needs.
    let mut needed = Some(Vec::new());
    for j in &jobs {
        needed = needed.zip(j.variables()).map(|(mut all, vs): (Vec<String>, Vec<String>)| {
            for v in vs {
                if !all.contains(&v) {
                    all.push(v);
                }
            }
            all
        });
    }
    let ds = args.data.source().load_columns(needed)?;
    // Several models side by side: one report, the models in order.
    let mut report: Option<Report> = None;
    let several = jobs.len() > 1;
    for (i, job) in jobs.iter().enumerate() {
        let mut r = job.run(&ds)?;
        if several {
            r.models[0].name = format!("model{}", i + 1);
        }
        match &mut report {
            None => report = Some(r),
            Some(all) => {
                all.models.extend(r.models);
                for v in r.variables {
                    if !all.variables.iter().any(|u| u.name == v.name) {
                        all.variables.push(v);
                    }
                }
            }
        }
    }
    let mut report = report.expect("at least one model");
    report.data_sha256 = hash.join().ok().flatten();
    config.emit(&report)
}

/// What a model's prediction is, for descriptions: a probability or a mean.
pub fn prediction_name(fit: &model::Fit) -> &'static str {
    if fit.spec.family == model::FamilyKind::Binomial {
        "Pr(y != 0)"
    } else {
        "E[y]"
    }
}
