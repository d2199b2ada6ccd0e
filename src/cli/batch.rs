//! `migfit batch`: run a grid of model variants from a spec file, check assertions, write
//! reports. Exit code 0 when every assertion holds, 1 when one fails (or a variant fails, or
//! `--check` finds a difference), 2 for spec errors.

use clap::Args;
use migfit::batch::{run_batch, BatchOptions};
use migfit::error::{usage, Result};
use std::path::PathBuf;

/// Run a batch sensitivity analysis from a spec file.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Example:\n  migfit batch examples/mroz/sensitivity.toml --out target/sensitivity --jobs 2\n\nThe spec format is documented in docs/batch.md. Exit codes: 0 every assertion holds, 1 an assertion or variant failed, 2 spec error."
)]
pub struct BatchArgs {
    /// The spec file (TOML).
    pub spec: PathBuf,
    /// Output folder (created if needed).
    #[arg(long, default_value = "batch-out")]
    pub out: PathBuf,
    /// Number of variants run at once (default: all cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Compare the tracked effects with a baseline effects.json (from an earlier run).
    #[arg(long, value_name = "BASELINE")]
    pub check: Option<PathBuf>,
    /// Do not print progress.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs the batch; `Ok(false)` means it ran but an assertion, variant or check failed.
pub fn run(args: BatchArgs) -> Result<bool> {
    if args.jobs == Some(0) {
        return Err(usage("--jobs must be at least 1"));
    }
    let outcome = run_batch(&BatchOptions {
        spec: args.spec.clone(),
        out: args.out.clone(),
        jobs: args.jobs,
        check: args.check.clone(),
        progress: !args.quiet,
    })?;
    let report = args.out.join("assertions.md");
    eprintln!(
        "migfit: {} variants, {} failed; {} assertions failed{}; report: {}",
        outcome.n_variants,
        outcome.failed_variants.len(),
        outcome.failed_assertions.len(),
        if args.check.is_some() {
            format!("; {} differences from the baseline", outcome.check_failures.len())
        } else {
            String::new()
        },
        report.display()
    );
    for f in outcome.failed_assertions.iter().chain(&outcome.check_failures).chain(&outcome.failed_variants) {
        eprintln!("migfit: FAILED: {}", f.lines().next().unwrap_or(""));
    }
    Ok(outcome.success())
}
