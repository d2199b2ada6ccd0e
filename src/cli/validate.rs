//! `migfit validate DATA --schema FILE`: check every row against a schema.
//!
//! Lists every violation (row as in the file, column, value, rule broken), then a summary by
//! rule. Exit 0 when clean, 1 when there are violations, 2 for usage errors (including a
//! schema file that does not parse).

use super::DataArgs;
use clap::{Args, ValueEnum};
use migfit::data::{load, validate};
use migfit::error::{DataError, Error, Result};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  migfit validate examples/wang2022/extract.csv --schema data-schema/cmds2014.toml\n  migfit validate my_extract.csv --schema data-schema/cmds2014.toml --encoding gbk --format json -o violations.json\n\nExit codes: 0 no violations, 1 violations listed, 2 usage error (including a schema that does not parse)."
)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ValidateFormat,
    /// Write the report to a file (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: ValidateArgs) -> Result<()> {
    let cfg = args.data.source().config()?;
    let Some(schema) = &cfg.schema else {
        return Err(migfit::error::usage("validate needs --schema FILE (the rules to check the data against)"));
    };
    let path = &args.data.data;
    let report = load::load_with_schema(path, &cfg.read, schema)?;
    let ds = cfg.filter(report.dataset)?;
    let source = path.display().to_string();
    let row_word = match load::Format::of(path)? {
        load::Format::Csv => "line",
        _ => "row",
    };
    let text = match args.format {
        ValidateFormat::Text => validate::render_text(&source, row_word, ds.n_rows(), &report.violations),
        ValidateFormat::Json => validate::render_json(&source, &schema.path, ds.n_rows(), &report.violations),
    };
    super::write_output(&text, args.output.as_deref())?;
    if report.violations.is_empty() {
        Ok(())
    } else {
        Err(Error::Data(DataError::Other(format!(
            "{source}: {} violation(s) of the schema {}",
            report.violations.len(),
            schema.path
        ))))
    }
}
