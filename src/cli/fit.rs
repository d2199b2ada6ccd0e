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
    /// Variance estimator: oim (default), eim, robust, cluster, svy, hc2, hc3 (as R's
    /// sandwich), or with --cluster cr2, cr3 (as R's clubSandwich, t tests with
    /// Satterthwaite df), jackknife (leave one row, or cluster, out), bootstrap (resampling
    /// rows, the --cluster clusters, or PSUs within strata under a survey design).
    #[arg(long, value_name = "TYPE")]
    pub vce: Option<String>,
    /// Whose conventions the standard errors, log likelihood and t/z follow: stata (default),
    /// r (glm's summary, sandwich's vcovHC HC1 / vcovCL, survey's svyglm) or statsmodels
    /// (Probit, Logit, GLM with cov_type HC0/HC1 or cluster). An explicit --vce oim or eim
    /// wins, with a note. `migfit explain` shows the three side by side.
    #[arg(long, value_name = "NAME")]
    pub convention: Option<String>,
    /// Cluster variable for cluster-robust standard errors (implies --vce cluster unless
    /// --vce cr2 or cr3 is given).
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
    /// Bootstrap replicates (--vce bootstrap; default 999).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub reps: Option<i64>,
    /// Seed of the bootstrap replicates (--vce bootstrap; default 1): replicate r draws from its
    /// own PCG64 stream (seed, r), so results do not depend on the number of threads.
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub seed: Option<i64>,
    /// Bootstrap weights: classic (draws with replacement of rows, clusters, or Rao-Wu PSUs
    /// within strata under a survey design; default) or bayes (Bayesian bootstrap, Exp(1)
    /// weights per unit).
    #[arg(long, value_name = "KIND")]
    pub bootstrap: Option<String>,
    /// Bootstrap intervals: percentile (default), normal (estimate -/+ z SE) or bca
    /// (bias-corrected and accelerated, jackknife acceleration).
    #[arg(long, value_name = "METHOD")]
    pub ci: Option<String>,
    /// Write every bootstrap replicate's estimates to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub save_reps: Option<String>,
    /// Write the bootstrap's replicate weight multipliers to this CSV file: one line per
    /// estimation row (its data line), one column per replicate (the row's weight in replicate
    /// r is its sampling weight times the multiplier), to rerun the same replicates elsewhere
    /// (e.g. R survey's svrepdesign).
    #[arg(long, value_name = "FILE")]
    pub save_weights: Option<String>,
    /// Dispersion of a GLM: x2 (Pearson, default), dev (deviance) or a number.
    #[arg(long, value_name = "RULE")]
    pub scale: Option<String>,
    /// Maximum number of iterations.
    #[arg(long, default_value_t = 100)]
    pub max_iter: usize,
    /// Report the last estimates even if the fit did not converge (flagged as such).
    #[arg(long)]
    pub keep_going: bool,
    /// Firth's bias-reduced (penalised-likelihood) estimates for binomial models (probit, logit,
    /// glm binomial; a two-part model's first part): finite under separation, as R's
    /// brglm2::brglmFit(type = "AS_mean") and, for logit, logistf.
    #[arg(long)]
    pub firth: bool,
    /// Compute marginal effects (average marginal effects unless --margins-at says otherwise).
    #[arg(long)]
    pub margins: bool,
    /// Where to evaluate marginal effects: "means" (Stata's atmeans) or "var=value,...".
    #[arg(long, value_name = "AT")]
    pub margins_at: Option<String>,
    /// Predictive margins (Stata's `margins scope`): the weighted average prediction with every
    /// row set to each level of the factor(s), "VAR" or "VAR,VAR" (level combinations); "_cons"
    /// for the overall average prediction (with --at: one per grid point, Stata's
    /// `margins, at(...)`).
    #[arg(long, value_name = "VARS")]
    pub predict_margins: Option<String>,
    /// Contrasts of a factor's predictive margins: "VAR:pairwise" (Stata's pw.), "VAR:reference"
    /// (r.) or "VAR:adjacent" (ar.); several separated by ";".
    #[arg(long, value_name = "VAR:KIND")]
    pub contrast: Option<String>,
    /// Multiple-comparison adjustment of the contrasts' p-values: bonferroni, holm or sidak.
    #[arg(long, value_name = "METHOD", value_parser = ["bonferroni", "holm", "sidak"])]
    pub mcompare: Option<String>,
    /// At-grid (Stata's at() with numlists): "age=20(10)60; female=0 1" (the product of the
    /// variables' values); predictive margins and effects at each point; "means": effects at
    /// the means.
    #[arg(long, value_name = "GRID")]
    pub at: Option<String>,
    /// Marginal effects within each group of VAR's rows (Stata's over()), e.g. --over female.
    #[arg(long, value_name = "VAR")]
    pub over: Option<String>,
    /// Marginal effects of these variables only (Stata's dydx(varlist)), e.g. --dydx "age, educ".
    #[arg(long, value_name = "VARS")]
    pub dydx: Option<String>,
    /// The scale of the marginal effects (Stata's dydx(), eyex(), dyex(), eydx()): dydx
    /// (default), eyex (elasticity d ln y / d ln x), dyex (dy / d ln x) or eydx (d ln y / dx);
    /// each row's effect on that scale, averaged with the weights. eyex and dyex leave factors
    /// out; eydx of a factor level is the average change of ln y.
    #[arg(long, value_name = "SCALE")]
    pub margins_scale: Option<String>,
    /// The variance of the margins (effects, predictive margins, contrasts, tests of margins):
    /// delta (default; Stata's vce(delta), J V J' conditional on the covariates) or
    /// unconditional (Stata's vce(unconditional): linearized over the design, the covariates
    /// sampled too). Unconditional needs a robust, cluster or survey variance and pweights or
    /// no weights.
    #[arg(long, value_name = "VCE")]
    pub margins_vce: Option<String>,
    /// Write per-row predictions (Stata's predict) to FILE.csv or FILE.parquet: row (the line
    /// error messages give), sample, the linear index, Pr(y>0), E[y|y>0], E[y], response and
    /// Pearson residuals; every row with complete covariates, empty cells otherwise.
    #[arg(long, value_name = "FILE")]
    pub predict: Option<String>,
    /// Fit the model in each group of VAR's values, side by side (the subsample columns of a
    /// paper's table), with the stacked covariance of all groups' estimates (Stata's suest:
    /// robust, or cluster-robust with --cluster). fit only.
    #[arg(long, value_name = "VAR")]
    pub by: Option<String>,
    /// With --by: Wald tests that each marginal effect is equal across the groups (one per
    /// effect, and all jointly), under the stacked covariance.
    #[arg(long)]
    pub test_equal: bool,
    /// Wald test of coefficients after the fit (repeatable): "C(scope)" (every level of a
    /// factor, Stata's testparm), "educ = 0, age = 0" (jointly), "a = b", "2*a - b = 1". Chi2;
    /// under a survey design the adjusted Wald F with the design df (Stata's svy test). In a
    /// two-part model, in each part that has the coefficients.
    #[arg(long, value_name = "HYPOTHESIS")]
    pub test: Vec<String>,
    /// Wild score bootstrap of each --test (Kline and Santos 2012; boottest's score bootstrap
    /// for ML models), with --cluster: the null imposed, one weight per cluster per draw; the
    /// p-value and the 90/95/99% quantiles of the bootstrap statistics. N draws, or "all":
    /// every one of the 2^G Rademacher sign vectors (with fewer than 12 clusters they are
    /// always all used: exact).
    #[arg(long, value_name = "N|all", allow_negative_numbers = true)]
    pub wild_reps: Option<String>,
    /// Wild bootstrap weights: rademacher (+-1; default) or webb (six points).
    #[arg(long, value_name = "KIND")]
    pub wild_weights: Option<String>,
    /// Seed of sampled wild bootstrap draws (default 1; not used when enumerated).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub wild_seed: Option<i64>,
    /// Linear combination of coefficients with its SE and CI (repeatable), e.g. "a - b"
    /// (Stata's lincom).
    #[arg(long, value_name = "EXPR")]
    pub lincom: Vec<String>,
    /// Wald test of margins (repeatable; Stata's `margins, post` then `test`): predictive
    /// margins by their terms, "scope[2] = scope[3]" (or "C(scope)[2]"), marginal effects as
    /// "dydx(age)" or "dydx(scope[2])", a grid point or group appended as "@(age=30)". Uses the
    /// margins' joint delta-method covariance J V J'; chi2, or the adjusted F under a survey
    /// design.
    #[arg(long, value_name = "HYPOTHESIS")]
    pub test_margins: Vec<String>,
    /// Linear combination of margins with its SE and CI (repeatable), e.g. "scope[3] - scope[2]"
    /// or "dydx(age) - dydx(educ)" (Stata's `margins, post` then `lincom`).
    #[arg(long, value_name = "EXPR")]
    pub lincom_margins: Vec<String>,
    #[command(flatten)]
    pub report: ReportArgs,
}

impl EstimationArgs {
    /// Fills the options model: every field of the struct, in one place (a new field that is
    /// not passed on does not compile).
    pub fn fill(&self, o: &mut Options) {
        let EstimationArgs {
            vce,
            convention,
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
            reps,
            seed,
            bootstrap,
            ci,
            save_reps,
            save_weights,
            scale,
            max_iter,
            keep_going,
            firth,
            margins,
            margins_at,
            predict_margins,
            contrast,
            mcompare,
            at,
            over,
            dydx,
            margins_scale,
            margins_vce,
            predict,
            by,
            test_equal,
            test,
            wild_reps,
            wild_weights,
            wild_seed,
            lincom,
            test_margins,
            lincom_margins,
            report,
        } = self;
        o.vce = vce.clone();
        o.convention = convention.clone();
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
        o.reps = *reps;
        o.seed = *seed;
        o.bootstrap = bootstrap.clone();
        o.ci = ci.clone();
        o.save_reps = save_reps.clone();
        o.save_weights = save_weights.clone();
        o.scale = scale.clone().map(migfit::options::ScaleValue::Text);
        o.max_iter = Some(*max_iter);
        o.keep_going = *keep_going;
        o.firth = *firth;
        o.margins = Some(*margins);
        o.margins_at = margins_at.clone();
        o.predict_margins = predict_margins.clone();
        o.contrast = contrast.clone();
        o.mcompare = mcompare.clone();
        o.at = at.clone();
        o.over = over.clone();
        o.dydx = dydx.clone();
        o.margins_scale = margins_scale.clone();
        o.margins_vce = margins_vce.clone();
        o.predict = predict.clone();
        o.by = by.clone();
        o.test_equal = *test_equal;
        o.test = test.clone();
        o.wild_reps = wild_reps.clone().map(migfit::options::WildRepsValue::Text);
        o.wild_weights = wild_weights.clone();
        o.wild_seed = *wild_seed;
        o.lincom = lincom.clone();
        o.test_margins = test_margins.clone();
        o.lincom_margins = lincom_margins.clone();
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
    let mut report = resolved.run_owned(ds)?;
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
