//! `migfit twopart`: a two-part model (binary participation + GLM on the positives) with
//! marginal effects for each part and for the combined E[y].

use super::fit::EstimationArgs;
use super::DataArgs;
use crate::analysis::TwoPartJob;
use crate::error::{usage, Result};
use crate::formula::Formula;
use crate::model::{ModelKind, ModelSpec};
use clap::Args;

/// Fit a two-part model: Pr(y > 0) by probit or logit on every row, E[y | y > 0] by a GLM on
/// the positive rows, and E[y] = Pr(y > 0) E[y | y > 0].
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Example:\n  migfit twopart examples/mroz/mroz.csv --formula \"hours ~ age + educ + kidslt6 + C(city)\" \\\n      --first probit --family gamma --link log --margins --vce robust"
)]
pub struct TwoPartArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Formula of the first part, "y ~ x1 + x2" (y is the outcome; the first part models y > 0).
    #[arg(long, short = 'f')]
    pub formula: String,
    /// Regressors of the second part, "~ x1 + x3" (default: those of --formula).
    #[arg(long)]
    pub formula2: Option<String>,
    /// First part: probit (default) or logit.
    #[arg(long, default_value = "probit")]
    pub first: String,
    /// Second-part GLM family (default gamma).
    #[arg(long, default_value = "gamma")]
    pub family: String,
    /// Second-part GLM link (default log).
    #[arg(long, default_value = "log")]
    pub link: String,
    /// Response of the second part as an expression of the data, e.g. "log(y)" (default: y).
    #[arg(long)]
    pub response2: Option<String>,
    /// Joint variance of both parts from stacked scores (Stata's twopm ..., suest): robust, or
    /// cluster-robust with --cluster. Default: block-diagonal, each part with --vce.
    #[arg(long)]
    pub joint_vce: bool,
    #[command(flatten)]
    pub est: EstimationArgs,
}

pub fn run(args: TwoPartArgs) -> Result<()> {
    let config = args.est.check()?;
    let hash = args.data.source().spawn_hash();
    let first_kind = match args.first.as_str() {
        "probit" => ModelKind::Probit,
        "logit" => ModelKind::Logit,
        other => return Err(usage(format!("unknown --first '{other}' (expected probit or logit)"))),
    };
    let mut first = ModelSpec::new(first_kind, None, None)?;
    let mut second = ModelSpec::new(ModelKind::Glm, Some(&args.family), Some(&args.link))?;
    args.est.apply(&mut first)?;
    args.est.apply(&mut second)?;
    first.scale = None;
    let job = TwoPartJob::new(
        Formula::parse(&args.formula)?,
        args.formula2.as_deref().map(Formula::parse_rhs).transpose()?,
        args.response2.clone(),
        first,
        second,
        args.joint_vce,
        args.est.estimation(&args.data)?,
    )?;
    // Column projection: read only the variables the model needs.
    let ds = args.data.source().load_columns(job.variables())?;
    let mut report = job.run(&ds)?;
    report.data_sha256 = hash.join().ok().flatten();
    config.emit(&report)
}
