//! Command line: the clap enum below is the only registry of subcommands; each lives in its
//! own module with an `Args` struct and a `run` function. Model code never imports clap.

pub mod fit;
pub mod reproduce;
pub mod simulate;
pub mod twopart;

use crate::data::{self, Dataset};
use crate::error::{DataError, Error, Result};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "migfit",
    version,
    about = "Probit/logit, GLMs and two-part models with Stata-exact standard errors",
    long_about = "migfit fits probit/logit models, GLMs and two-part models with average marginal \
effects and Stata-convention standard errors (OIM, robust, cluster), for studies of China's \
internal migrants and their social health insurance.\n\nExit codes: 0 ok, 1 invalid data, \
2 usage error, 3 estimation failed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit a probit, logit or GLM and print coefficients and standard errors.
    Fit(fit::FitArgs),
    /// Fit a two-part model (probit/logit for y > 0, GLM for the positives) with marginal effects.
    Twopart(twopart::TwoPartArgs),
    /// Simulate a synthetic survey extract (calibrated data-generating process).
    Simulate(simulate::SimulateArgs),
    /// Reproduce a study's tables beside the published numbers.
    Reproduce(reproduce::ReproduceArgs),
}

/// Options shared by every command that reads a data file.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The data file (CSV with a header line).
    pub data: PathBuf,
    /// Field delimiter of a CSV file (a single character; `tab` for tabs).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
}

impl DataArgs {
    /// Loads the data file as the options say.
    pub fn load(&self) -> Result<Dataset> {
        let delimiter = match self.delimiter.as_deref() {
            None => b',',
            Some("tab") | Some("\\t") => b'\t',
            Some(s) if s.len() == 1 => s.as_bytes()[0],
            Some(s) => {
                return Err(crate::error::usage(format!(
                    "--delimiter takes one character or 'tab', not '{s}'"
                )))
            }
        };
        let opts = data::csv::CsvOptions { delimiter };
        Ok(data::csv::read_csv(&self.data, &opts)?)
    }
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fit(args) => fit::run(args),
        Command::Twopart(args) => twopart::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Reproduce(args) => reproduce::run(args),
    }
}

/// Writes `text` to `path` atomically (temporary file in the same folder, then rename), or to
/// stdout when `path` is `None`. A closed pipe on stdout (`migfit ... | head`) is not an error.
pub fn write_output(text: &str, path: Option<&Path>) -> Result<()> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::Data(DataError::Io {
                    path: "<stdout>".into(),
                    reason: e.to_string(),
                })),
            }
        }
        Some(p) => write_atomic(p, text.as_bytes()),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |e: std::io::Error| {
        Error::Data(DataError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.migfit-{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}
