//! `migfit simulate`: a synthetic extract in a study's raw layout.

use crate::error::{usage, Result};
use crate::simulate::wang2022;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Study {
    /// CMDS-2014-style extract (data-schema/cmds2014.toml), calibrated to Wang et al. (2022).
    Wang2022,
    /// CMDS-2018-style extract (data-schema/cmds2018.toml) for the stay-intention study.
    Stay2018,
}

/// Simulate a synthetic survey extract with a known data-generating process.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  migfit simulate --study wang2022 -o cmds2014_synthetic.csv\n  migfit simulate --study wang2022 --n 200000 --seed 7 -o big.csv\n\nThe file has the raw layout of the study's schema (item-code columns, numeric codes, missing codes), \
plus about 3% respondents outside the analysis universe. The same seed gives a byte-identical file."
)]
pub struct SimulateArgs {
    /// Which study's extract.
    #[arg(long, value_enum)]
    pub study: Study,
    /// Respondents in the analysis population (default: the published sample size).
    #[arg(long)]
    pub n: Option<usize>,
    /// Random seed.
    #[arg(long, default_value_t = wang2022::DEFAULT_SEED)]
    pub seed: u64,
    /// Write to FILE instead of standard output (written atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: SimulateArgs) -> Result<()> {
    let raw = match args.study {
        Study::Wang2022 => {
            let n = args.n.unwrap_or(wang2022::PUBLISHED_N);
            if n < 50 {
                return Err(usage("--n must be at least 50"));
            }
            wang2022::simulate(&wang2022::Dgp::embedded(), n, args.seed)
        }
        Study::Stay2018 => {
            let n = args.n.unwrap_or(crate::simulate::stay2018::DEFAULT_N);
            if n < 50 {
                return Err(usage("--n must be at least 50"));
            }
            crate::simulate::stay2018::simulate(n, args.seed)
        }
    };
    super::write_output(&raw.to_csv(), args.output.as_deref())
}
