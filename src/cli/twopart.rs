//! `migfit twopart`: a two-part model (binary participation + GLM on the positives) with
//! marginal effects for each part and for the combined E[y].

use super::fit::{fill_rows, run_options, EstimationArgs};
use super::DataArgs;
use clap::Args;
use migfit::error::Result;
use migfit::options::Options;

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

impl TwoPartArgs {
    /// The options model of this command line.
    pub fn options(&self) -> Options {
        let TwoPartArgs { data, formula, formula2, first, family, link, response2, joint_vce, est } = self;
        let mut o = Options {
            command: Some("twopart".into()),
            formula: vec![formula.clone()],
            formula2: formula2.clone(),
            first: Some(first.clone()),
            family: vec![family.clone()],
            link: vec![link.clone()],
            response2: response2.clone(),
            joint_vce: *joint_vce,
            ..Options::default()
        };
        fill_rows(data, &mut o);
        est.fill(&mut o);
        o
    }
}

pub fn run(args: TwoPartArgs) -> Result<()> {
    run_options(&args.data, &args.options(), args.est.report.output.clone())
}
