//! Command line: the clap enum below is the only registry of subcommands; each lives in its
//! own module with an `Args` struct and a `run` function. Model code never imports clap.

pub mod batch;
pub mod completions;
pub mod describe;
pub mod explain;
pub mod fit;
pub mod mediate;
pub mod reproduce;
pub mod simulate;
pub mod table;
pub mod twopart;
pub mod validate;

use clap::{Args, Parser, Subcommand};
pub use migfit::data::source::DataSource;
use migfit::error::Result;
pub use migfit::io::write_output;
use std::path::PathBuf;

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
    /// Why SEs differ between Stata, R and statsmodels: one fit, SEs under each convention,
    /// their ratios and the choices behind them.
    Explain(explain::ExplainArgs),
    /// Mediation for a binary outcome: KHB decomposition or natural direct/indirect effects.
    Mediate(mediate::MediateArgs),
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
    /// One table from the JSON results of earlier runs (esttab): keep, drop, order, rename.
    Table(table::TableArgs),
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
    /// The library's description of the same data source.
    pub fn source(&self) -> DataSource {
        DataSource {
            data: self.data.clone(),
            delimiter: self.delimiter.clone(),
            schema: self.schema.clone(),
            subsample: self.subsample.clone(),
            if_expr: self.if_expr.clone(),
            encoding: self.encoding.clone(),
        }
    }
}

/// How results are written: format, file, and the publication-table options.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Output format: text (an aligned table), md, latex, csv (tidy: one line per model and
    /// term), html (a standalone page), json (the full results), summary (detailed listing with
    /// z or t, p and confidence intervals), docx (Word), xlsx (Excel; both need -o FILE),
    /// typst. Default: from the extension of -o FILE, else text.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write to FILE instead of standard output (written atomically: temporary file, then
    /// rename). The extension (.txt .md .tex .csv .html .json .docx .xlsx .typ) chooses the
    /// format.
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
    /// Summary rows under the table, in order, e.g. "N,ll,aic,bic,clusters" (from N, ll, r2,
    /// aic, bic, chi2, p, clusters, strata; default N, ll, r2). AIC and BIC as Stata's estat
    /// ic; chi2 and p are the model test of Stata's header (LR, Wald or the survey F).
    #[arg(long, value_name = "ROWS")]
    pub stats: Option<String>,
    /// Also draw the table's estimates with their confidence intervals as an SVG figure (one
    /// panel per model or part; coefficients, or the marginal effects with --margins; the
    /// constant left out), written atomically to FILE.svg.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<String>,
}

/// The validated output choices.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub format: migfit::report::Format,
    pub output: Option<PathBuf>,
    pub table: migfit::report::TableOptions,
    pub standalone: bool,
    pub plot: Option<PathBuf>,
}

impl ReportArgs {
    /// Fills the table options of the options model (`-o` stays here: the command line's own).
    pub fn fill(&self, o: &mut migfit::options::Options) {
        let ReportArgs {
            format,
            output: _,
            layout,
            show,
            stars,
            digits,
            lang,
            titles,
            caption,
            latex_standalone,
            stats,
            plot,
        } = self;
        o.format = format.clone();
        o.layout = Some(layout.clone());
        o.show = show.clone();
        o.stars = Some(stars.clone());
        o.digits = Some(*digits);
        o.lang = Some(lang.clone());
        o.title = titles.clone();
        o.caption = caption.clone();
        o.latex_standalone = *latex_standalone;
        o.stats = stats.clone();
        o.plot = plot.clone();
    }
}

impl ReportConfig {
    /// The validated table choice of the options model, written to `output` (text by default).
    pub fn new(choice: migfit::options::TableChoice, output: Option<PathBuf>) -> ReportConfig {
        ReportConfig {
            format: choice.format.unwrap_or(migfit::report::Format::Text),
            output,
            table: choice.table,
            standalone: choice.standalone,
            plot: choice.plot,
        }
    }

    /// Renders the report and writes it (atomically to a file, or to stdout).
    /// Prints the report's notes (dropped rows, omitted terms, ...) on stderr and writes the
    /// report in the chosen format.
    pub fn emit(&self, report: &migfit::output::Report) -> Result<()> {
        for n in report.all_notes() {
            eprintln!("migfit: note: {n}");
        }
        check_binary(self.format, self.output.as_deref())?;
        let bytes = migfit::report::render_bytes(report, &self.table, self.format, self.standalone)?;
        // Both rendered before either is written: an error leaves no file behind.
        let plot = match &self.plot {
            Some(p) => Some((p, migfit::report::plot::report_svg(report, &self.table)?)),
            None => None,
        };
        if let Some((p, svg)) = &plot {
            write_output(svg, Some(p))?;
        }
        let written = match &self.output {
            Some(p) => migfit::io::write_atomic(p, &bytes),
            None => write_output(&String::from_utf8(bytes).expect("text formats are UTF-8"), None),
        };
        if let (Err(_), Some((p, _))) = (&written, &plot) {
            let _ = std::fs::remove_file(p);
        }
        written
    }
}

/// Word and Excel files are never written to standard output (a terminal would show bytes):
/// they need `-o FILE`.
pub fn check_binary(format: migfit::report::Format, output: Option<&std::path::Path>) -> Result<()> {
    if format.is_binary() && output.is_none() {
        return Err(migfit::error::usage(format!(
            "the {} format is a binary file: give -o FILE.{} to write it",
            format.extension(),
            format.extension()
        )));
    }
    Ok(())
}

/// Parses the command line and runs the chosen subcommand.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fit(args) => fit::run(args),
        Command::Twopart(args) => twopart::run(args),
        Command::Mediate(args) => mediate::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Batch(args) => {
            if !batch::run(args)? {
                return Err(migfit::error::Error::Failed);
            }
            Ok(())
        }
        Command::Completions(args) => completions::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Reproduce(args) => reproduce::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Describe(args) => describe::run(args),
        Command::Table(args) => table::run(args),
    }
}
