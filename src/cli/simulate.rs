//! `migfit simulate`: a synthetic extract in a study's raw layout.

use super::reproduce::StudyParser;
use clap::Args;
use migfit::error::{usage, Result};
use migfit::study;
use std::path::PathBuf;

/// Simulate a synthetic survey extract with a known data-generating process.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  migfit simulate --study wang2022 -o cmds2014_synthetic.csv\n  migfit simulate --study wang2022 --n 200000 --seed 7 -o big.csv\n\nThe file has the raw layout of the study's schema (item-code columns, numeric codes, missing codes), \
plus about 3% respondents outside the analysis universe. The same seed gives a byte-identical file."
)]
pub struct SimulateArgs {
    /// Which study's extract.
    #[arg(long, value_parser = StudyParser)]
    pub study: String,
    /// Respondents in the analysis population (default: the published sample size).
    #[arg(long)]
    pub n: Option<usize>,
    /// The largest --n accepted (default 5,000,000: the extract is held in memory, about
    /// 2.3 KB per respondent).
    #[arg(long, value_name = "N")]
    pub max_n: Option<usize>,
    /// Random seed (default: the study's own, the seed `reproduce` uses without --data).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write to FILE instead of standard output (written atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: SimulateArgs) -> Result<()> {
    let study = study::find(&args.study)?;
    let n = args.n.unwrap_or(study.default_n());
    migfit::simulate::check_n(n, args.max_n).map_err(usage)?;
    let raw = study.simulate(n, args.seed.unwrap_or(study.default_seed()));
    super::write_output(&raw.to_csv(), args.output.as_deref())
}
