//! Command line: the clap enum below is the only registry of subcommands; each lives in its
//! own module with an `Args` struct and a `run` function. Model code never imports clap.

pub mod batch;
pub mod completions;
pub mod describe;
pub mod fit;
pub mod reproduce;
pub mod simulate;
pub mod twopart;
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
2 usage error, 3 estimation failed. Warnings (dropped rows, omitted collinear terms, perfect \
prediction) go to standard error and into the table notes.",
    after_help = "Examples:\n  migfit fit data.csv -f \"received ~ C(scheme, ref=NCMS) + age + female\" -m probit --margins -o table.md\n  migfit twopart data.csv -f \"amount ~ age + female\" --response2 \"log(amount)\" --margins --cluster city -o t.tex\n  migfit completions bash > /etc/bash_completion.d/migfit"
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
    /// Run a grid of model variants from a spec file, with assertions and reports (for CI).
    Batch(batch::BatchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Simulate a synthetic survey extract (calibrated data-generating process).
    Simulate(simulate::SimulateArgs),
    /// Reproduce a study's tables beside the published numbers.
    Reproduce(reproduce::ReproduceArgs),
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
    /// A schema (TOML) that maps raw columns to typed, labelled variables (see data-schema/README.md).
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
        self.load_columns(None)
    }

    /// [`DataArgs::load`] with column projection: only the variables `columns` names (and
    /// what `--subsample`, `--if` and the schema's universe read; with a schema, also what
    /// their derived variables are computed from) are read and converted, and the dataset
    /// holds just those (`None`: every variable). Violations are checked on the variables
    /// read; `migfit validate` checks every column.
    pub fn load_columns(&self, columns: Option<Vec<String>>) -> Result<Dataset> {
        let mut cfg = self.config()?;
        if let Some(mut cols) = columns {
            for (_, e) in cfg.subsample.iter().chain(&cfg.if_expr) {
                for v in e.variables() {
                    if !cols.iter().any(|c| c == v) {
                        cols.push(v.to_string());
                    }
                }
            }
            cfg.read.columns = Some(cols);
        }
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
            Some(e) => Some(
                data::load::TextEncoding::parse(e)
                    .ok_or_else(|| crate::error::usage(format!("--encoding takes utf-8, gbk or gb18030, not '{e}'")))?,
            ),
        };
        let schema = match &self.schema {
            Some(p) => Some(data::schema::Schema::from_path(p)?),
            None => None,
        };
        let subsample = match (&self.subsample, &schema) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(crate::error::usage("--subsample needs --schema (subsamples are defined in the schema)"))
            }
            (Some(name), Some(s)) => match s.subsample(name) {
                Some(e) => Some((name.clone(), e.clone())),
                None => {
                    let names = s.subsample_names();
                    let hint = data::closest(name, names.iter().copied())
                        .map(|h| format!(" (did you mean '{h}'?)"))
                        .unwrap_or_default();
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
                data::expr::parse(src).map_err(|e| {
                    crate::error::usage(format!("--if \"{src}\": {e}\n  {src}\n  {}^", " ".repeat(e.position)))
                })?,
            )),
        };
        Ok(DataConfig {
            read: data::load::ReadOptions { delimiter, encoding, precise_only: false, columns: None },
            schema,
            subsample,
            if_expr,
        })
    }

    fn load_plain(&self, cfg: &DataConfig) -> Result<Dataset> {
        use data::load::Format;
        let columns = cfg.read.columns.as_deref();
        match Format::of(&self.data)? {
            Format::Csv => {
                let opts = data::csv::CsvOptions { delimiter: cfg.read.delimiter.unwrap_or(b',') };
                match cfg.read.encoding {
                    None | Some(data::load::TextEncoding::Utf8) => {
                        Ok(data::csv::read_csv_projected(&self.data, &opts, columns)?)
                    }
                    Some(_) => {
                        let display = self.data.display().to_string();
                        let raw = data::load::read_raw(&self.data, &cfg.read, Some(&[]), &[], &[])?;
                        if let Some(v) = raw.problems.first() {
                            return Err(Error::Data(DataError::Other(v.render(&display, "line"))));
                        }
                        let bytes = data::mapped::read_file(&self.data)
                            .map_err(|e| DataError::Io { path: display.clone(), reason: e.to_string() })?;
                        let enc = match cfg.read.encoding {
                            Some(data::load::TextEncoding::Gb18030) => encoding_rs::GB18030,
                            _ => encoding_rs::GBK,
                        };
                        let (text, _) = enc.decode_without_bom_handling(&bytes);
                        Ok(data::csv::read_csv_bytes_projected(text.as_bytes(), &display, &opts, columns)?)
                    }
                }
            }
            _ => {
                let raw = data::load::read_raw_projected(&self.data, &cfg.read, columns)?;
                Ok(data::load::raw_to_dataset(raw))
            }
        }
    }
    /// Starts hashing the data file (SHA-256, for the table notes) on another thread, so that
    /// it overlaps with loading and fitting. `None` if the file cannot be read, and for input
    /// that is not a regular file (a pipe such as `/dev/stdin` or `<(zcat x.csv.gz)`): a second
    /// reader there would take part of the stream from the loader.
    pub fn spawn_hash(&self) -> std::thread::JoinHandle<Option<String>> {
        let path = self.data.clone();
        let regular = std::fs::metadata(&path).is_ok_and(|m| m.is_file());
        std::thread::spawn(move || if regular { sha256_file(&path).ok() } else { None })
    }
}

/// SHA-256 of a file's bytes, in lowercase hex (hashed from the mapped file: the loader's
/// map of the same file shares its pages, so nothing is copied).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = data::mapped::read_file(path)?;
    Ok(Sha256::digest(&*bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// How results are written: format, file, and the publication-table options.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Output format: text (an aligned table), md, latex, csv (tidy: one line per model and
    /// term), html (a standalone page), json (the full results), summary (detailed listing with
    /// z or t, p and confidence intervals). Default: from the extension of -o FILE, else text.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write to FILE instead of standard output (written atomically: temporary file, then
    /// rename). The extension (.txt .md .tex .csv .html .json) chooses the format.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Standard errors in parentheses under the estimates (stacked) or in their own column
    /// next to them (side, as the reference study's Table 3).
    #[arg(long, value_name = "LAYOUT", default_value = "stacked", value_parser = ["stacked", "side"])]
    pub layout: String,
    /// What the cells hold: coef (coefficients), margins (marginal effects; implies
    /// --margins) or or (odds ratios of logit models). Default: margins when --margins is
    /// given, else coef.
    #[arg(long, value_name = "WHAT", value_parser = ["coef", "margins", "or"])]
    pub show: Option<String>,
    /// Star thresholds for p-values, e.g. "0.1,0.05,0.01" (*** p<0.01, ** p<0.05, * p<0.1);
    /// "none" for no stars.
    #[arg(long, value_name = "P,...", default_value = "0.01,0.05")]
    pub stars: String,
    /// Decimals of estimates and standard errors in tables.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub digits: usize,
    /// Language of labels (variable and level labels from the schema; fixed words).
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = ["en", "zh"])]
    pub lang: String,
    /// Column title; repeat once per column (replaces the response / model heading).
    #[arg(long = "title", value_name = "TEXT")]
    pub titles: Vec<String>,
    /// Table caption.
    #[arg(long, value_name = "TEXT")]
    pub caption: Option<String>,
    /// LaTeX: write a complete document (compiles with xelatex; loads xeCJK for Chinese).
    #[arg(long)]
    pub latex_standalone: bool,
}

/// The validated output choices.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub format: crate::report::Format,
    pub output: Option<PathBuf>,
    pub table: crate::report::TableOptions,
    pub standalone: bool,
}

impl ReportArgs {
    /// Validates the options; `margins` says whether marginal effects were asked for.
    pub fn config(&self, margins: bool) -> Result<ReportConfig> {
        use crate::report::{Format, Lang, Layout, Show, Stars, TableOptions};
        let format = match (&self.format, &self.output) {
            (Some(f), _) => Format::parse(f)?,
            (None, Some(p)) => Format::from_path(p).ok_or_else(|| {
                crate::error::usage(format!(
                    "cannot tell the format from the name '{}': use .txt, .md, .tex, .csv, .html or .json, or give --format",
                    p.display()
                ))
            })?,
            (None, None) => Format::Text,
        };
        if self.latex_standalone && format != Format::Latex {
            return Err(crate::error::usage(
                "--latex-standalone applies to LaTeX output (--format latex or -o FILE.tex)",
            ));
        }
        if self.digits > 12 {
            return Err(crate::error::usage(format!("--digits must be at most 12, not {}", self.digits)));
        }
        let show = match self.show.as_deref() {
            Some(s) => Show::parse(s)?,
            None if margins => Show::Margins,
            None => Show::Coef,
        };
        Ok(ReportConfig {
            format,
            output: self.output.clone(),
            table: TableOptions {
                layout: Layout::parse(&self.layout)?,
                show,
                stars: Stars::parse(&self.stars)?,
                digits: self.digits,
                lang: Lang::parse(&self.lang)?,
                titles: self.titles.clone(),
                caption: self.caption.clone(),
            },
            standalone: self.latex_standalone,
        })
    }

    /// Whether the table needs marginal effects.
    pub fn wants_margins(&self) -> bool {
        self.show.as_deref() == Some("margins")
    }
}

impl ReportConfig {
    /// Renders the report and writes it (atomically to a file, or to stdout).
    /// Prints the report's notes (dropped rows, omitted terms, ...) on stderr and writes the
    /// report in the chosen format.
    pub fn emit(&self, report: &crate::output::Report) -> Result<()> {
        for n in report.all_notes() {
            eprintln!("migfit: note: {n}");
        }
        let text = crate::report::render(report, &self.table, self.format, self.standalone)?;
        write_output(&text, self.output.as_deref())
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
            let keep =
                data::expr::eval_filter(e, &ds).map_err(|m| crate::error::usage(format!("--subsample {name}: {m}")))?;
            ds = ds.filter_rows(&keep);
        }
        if let Some((src, e)) = &self.if_expr {
            let keep =
                data::expr::eval_filter(e, &ds).map_err(|m| crate::error::usage(format!("--if \"{src}\": {m}")))?;
            ds = ds.filter_rows(&keep);
        }
        Ok(ds)
    }
}

/// A data error listing the first violations (the full list is `migfit validate`'s job).
pub(crate) fn violations_error(
    source: &str,
    violations: &[data::validate::Violation],
    schema: &data::schema::Schema,
) -> DataError {
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
        Command::Twopart(args) => twopart::run(args),
        Command::Batch(args) => {
            if !batch::run(args)? {
                return Err(crate::error::Error::Failed);
            }
            Ok(())
        }
        Command::Completions(args) => completions::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Reproduce(args) => reproduce::run(args),
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
    let io_err =
        |e: std::io::Error| Error::Data(DataError::Io { path: path.display().to_string(), reason: e.to_string() });
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
