//! `migfit fit`: one model from a formula, with a chosen variance, as JSON or text.

use super::DataArgs;
use super::{ReportArgs, ReportConfig};
use clap::Args;
use migfit::error::Result;
use migfit::options::{Context, Options};
use std::path::PathBuf;

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
    /// Fills the options model: every field of the struct, in one place (a new field that is
    /// not passed on does not compile).
    pub fn fill(&self, o: &mut Options) {
        let EstimationArgs {
            vce,
            cluster,
            weights,
            weight_type,
            svy,
            strata,
            psu,
            fpc,
            subpop,
            singleunit,
            level,
            scale,
            max_iter,
            keep_going,
            margins,
            margins_at,
            report,
        } = self;
        o.vce = vce.clone();
        o.cluster = cluster.clone();
        o.weights = weights.clone();
        o.weight_type = weight_type.clone();
        o.svy = *svy;
        o.strata = strata.clone();
        o.psu = psu.clone();
        o.fpc = fpc.clone();
        o.subpop = subpop.clone();
        o.singleunit = singleunit.clone();
        o.level = Some(*level);
        o.scale = scale.clone().map(migfit::options::ScaleValue::Text);
        o.max_iter = Some(*max_iter);
        o.keep_going = *keep_going;
        o.margins = Some(*margins);
        o.margins_at = margins_at.clone();
        report.fill(o);
    }
}

/// The row filters of the data options (`--subsample`, `--if`) in the options model.
pub fn fill_rows(data: &DataArgs, o: &mut Options) {
    o.subsample = data.subsample.clone();
    o.if_expr = data.if_expr.clone();
}

/// Runs `fit` or `twopart` options: the schema read once, the options resolved into jobs
/// (every check before the load), the data loaded with the columns the jobs read, filtered,
/// fitted and reported.
pub fn run_options(data: &DataArgs, options: &Options, output: Option<PathBuf>) -> Result<()> {
    let mut source = data.source();
    // The row filters belong to the options (parsed once, applied after the load).
    source.subsample = None;
    source.if_expr = None;
    let hash = source.spawn_hash();
    let cfg = source.config()?;
    let resolved =
        options.resolve(&Context { schema: cfg.schema.as_ref(), margins_default: false, output: output.as_deref() })?;
    if let Some(f) = resolved.table.format {
        super::check_binary(f, output.as_deref())?;
    }
    // Column projection: read only the variables some model or row filter needs.
    let ds = resolved.rows.apply(source.load_config(cfg, resolved.variables())?)?;
    let mut report = resolved.run(&ds)?;
    report.data_sha256 = hash.join().ok().flatten();
    ReportConfig::new(resolved.table, output).emit(&report)
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

impl FitArgs {
    /// The options model of this command line.
    pub fn options(&self) -> Options {
        let FitArgs { data, formula, response, model, family, link, odds_ratios, est } = self;
        let mut o = Options {
            command: Some("fit".into()),
            formula: formula.clone(),
            response: response.clone(),
            model: model.clone(),
            family: family.clone(),
            link: link.clone(),
            odds_ratios: *odds_ratios,
            ..Options::default()
        };
        fill_rows(data, &mut o);
        est.fill(&mut o);
        o
    }
}

pub fn run(args: FitArgs) -> Result<()> {
    run_options(&args.data, &args.options(), args.est.report.output.clone())
}
