//! Command line: the clap enum below is the only registry of subcommands; each lives in its
//! own module with an `Args` struct and a `run` function. Model code never imports clap.

pub mod describe;
pub mod fit;
pub mod validate;

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
    /// Check every row of a data file against a schema and list every violation.
    Validate(validate::ValidateArgs),
    /// Descriptive tables: n (%) and mean (SD), overall and by group, with tests.
    Describe(describe::DescribeArgs),
}

/// Options shared by every command that reads a data file.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The data file: CSV (.csv, .tsv, .txt), Parquet (.parquet) or Stata (.dta).
    pub data: PathBuf,
    /// Field delimiter of a CSV file (a single character; `tab` for tabs). With a schema it is
    /// detected from the header line when not given.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// A schema (TOML) that maps raw columns to typed, labelled variables; see data-schema/.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Keep only the rows of a subsample the schema names (e.g. `ncms`, `urban`).
    #[arg(long, value_name = "NAME")]
    pub subsample: Option<String>,
    /// Keep only the rows where an expression holds, e.g. `--if "age >= 18 and scheme == 'NCMS'"`.
    #[arg(long = "if", value_name = "EXPR")]
    pub if_expr: Option<String>,
    /// Text encoding of a CSV file: utf-8 (default), gbk or gb18030.
    #[arg(long, value_name = "ENC")]
    pub encoding: Option<String>,
}

impl DataArgs {
    /// Loads the data file as the options say: with `--schema`, typed and checked (any
    /// violation is an error listing them); then `--subsample` and `--if` filter rows.
    pub fn load(&self) -> Result<Dataset> {
        let cfg = self.config()?;
        let ds = match &cfg.schema {
            Some(schema) => {
                let report = data::load::load_with_schema(&self.data, &cfg.read, schema)?;
                if !report.violations.is_empty() {
                    return Err(Error::Data(violations_error(&report.dataset.source, &report.violations, schema)));
                }
                report.dataset
            }
            None => self.load_plain(&cfg)?,
        };
        cfg.filter(ds)
    }

    /// The options checked: delimiter, encoding and schema resolved, expressions parsed.
    pub fn config(&self) -> Result<DataConfig> {
        let delimiter = match self.delimiter.as_deref() {
            None => None,
            Some("tab") | Some("\\t") => Some(b'\t'),
            Some(s) if s.len() == 1 => Some(s.as_bytes()[0]),
            Some(s) => return Err(crate::error::usage(format!("--delimiter takes one character or 'tab', not '{s}'"))),
        };
        let encoding = match self.encoding.as_deref() {
            None => None,
            Some(e) => Some(data::load::TextEncoding::parse(e).ok_or_else(|| {
                crate::error::usage(format!("--encoding takes utf-8, gbk or gb18030, not '{e}'"))
            })?),
        };
        let schema = match &self.schema {
            Some(p) => Some(data::schema::Schema::from_path(p)?),
            None => None,
        };
        let subsample = match (&self.subsample, &schema) {
            (None, _) => None,
            (Some(_), None) => return Err(crate::error::usage("--subsample needs --schema (subsamples are defined in the schema)")),
            (Some(name), Some(s)) => match s.subsample(name) {
                Some(e) => Some((name.clone(), e.clone())),
                None => {
                    let names = s.subsample_names();
                    let hint = data::closest(name, names.iter().copied()).map(|h| format!(" (did you mean '{h}'?)")).unwrap_or_default();
                    return Err(crate::error::usage(format!(
                        "--subsample {name}: the schema {} has no such subsample{hint}; it defines: {}",
                        s.path,
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    )));
                }
            },
        };
        let if_expr = match &self.if_expr {
            None => None,
            Some(src) => Some((
                src.clone(),
                data::expr::parse(src).map_err(|e| crate::error::usage(format!("--if \"{src}\": {e}\n  {src}\n  {}^", " ".repeat(e.position))))?,
            )),
        };
        Ok(DataConfig {
            read: data::load::ReadOptions { delimiter, encoding, precise_only: false },
            schema,
            subsample,
            if_expr,
        })
    }

    fn load_plain(&self, cfg: &DataConfig) -> Result<Dataset> {
        use data::load::Format;
        match Format::of(&self.data)? {
            Format::Csv => {
                let opts = data::csv::CsvOptions { delimiter: cfg.read.delimiter.unwrap_or(b',') };
                match cfg.read.encoding {
                    None | Some(data::load::TextEncoding::Utf8) => Ok(data::csv::read_csv(&self.data, &opts)?),
                    Some(_) => {
                        let display = self.data.display().to_string();
                        let raw = data::load::read_raw(&self.data, &cfg.read, Some(&[]), &[], &[])?;
                        if let Some(v) = raw.problems.first() {
                            return Err(Error::Data(DataError::Other(v.render(&display, "line"))));
                        }
                        let bytes = std::fs::read(&self.data).map_err(|e| DataError::Io { path: display.clone(), reason: e.to_string() })?;
                        let enc = match cfg.read.encoding {
                            Some(data::load::TextEncoding::Gb18030) => encoding_rs::GB18030,
                            _ => encoding_rs::GBK,
                        };
                        let (text, _) = enc.decode_without_bom_handling(&bytes);
                        Ok(data::csv::read_csv_bytes(text.as_bytes(), &display, &opts)?)
                    }
                }
            }
            _ => {
                let raw = data::load::read_raw(&self.data, &cfg.read, None, &[], &[])?;
                Ok(data::load::raw_to_dataset(raw))
            }
        }
    }
}

/// `DataArgs` checked: what the loaders see.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub read: data::load::ReadOptions,
    pub schema: Option<data::schema::Schema>,
    pub subsample: Option<(String, data::expr::Expr)>,
    pub if_expr: Option<(String, data::expr::Expr)>,
}

impl DataConfig {
    /// Applies `--subsample` and `--if`.
    pub fn filter(&self, mut ds: Dataset) -> Result<Dataset> {
        if let Some((name, e)) = &self.subsample {
            let keep = data::expr::eval_filter(e, &ds).map_err(|m| crate::error::usage(format!("--subsample {name}: {m}")))?;
            ds = ds.filter_rows(&keep);
        }
        if let Some((src, e)) = &self.if_expr {
            let keep = data::expr::eval_filter(e, &ds).map_err(|m| crate::error::usage(format!("--if \"{src}\": {m}")))?;
            ds = ds.filter_rows(&keep);
        }
        Ok(ds)
    }
}

/// A data error listing the first violations (the full list is `migfit validate`'s job).
fn violations_error(source: &str, violations: &[data::validate::Violation], schema: &data::schema::Schema) -> DataError {
    const SHOWN: usize = 10;
    let mut msg = format!("{source} does not match the schema {} ({} violation(s)):", schema.path, violations.len());
    for v in violations.iter().take(SHOWN) {
        msg.push_str("\n  ");
        msg.push_str(&v.render(source, "line"));
    }
    if violations.len() > SHOWN {
        msg.push_str(&format!("\n  ... run `migfit validate {source} --schema {}` for the full list", schema.path));
    }
    DataError::Other(msg)
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fit(args) => fit::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Describe(args) => describe::run(args),
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
                Err(e) => Err(Error::Data(DataError::Io { path: "<stdout>".into(), reason: e.to_string() })),
            }
        }
        Some(p) => write_atomic(p, text.as_bytes()),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |e: std::io::Error| Error::Data(DataError::Io { path: path.display().to_string(), reason: e.to_string() });
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.migfit-{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}
