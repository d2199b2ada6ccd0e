//! `migfit reproduce`: a study's whole specification, beside the published numbers.

use crate::data::schema::Schema;
use crate::error::{DataError, Error, Result};
use crate::output::{self, Report};
use crate::simulate::wang2022 as sim;
use crate::study::wang2022::{self, Spec};
use crate::study::{load_extract, Extract};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StudyName {
    Wang2022,
    Stay2018,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReproduceFormat {
    Text,
    Json,
}

/// Reproduce a study's tables (published | reproduced | difference in SE units).
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  migfit reproduce wang2022\n  migfit reproduce wang2022 --data my_cmds2014_extract.csv --format json -o repro.json\n  \
migfit reproduce wang2022 --data 流动人口2014.csv --encoding gbk\n  \
migfit reproduce wang2022 --data cmds2014.dta --schema my_cmds2014.toml\n\n\
Without --data a synthetic extract of the published size is simulated with the spec's seed. \
The data is read through the study's schema (data-schema/cmds2014.toml or cmds2018.toml, embedded), \
exactly as `migfit fit --schema` reads it; a file that violates the schema is an error listing the violations."
)]
pub struct ReproduceArgs {
    /// The study.
    #[arg(value_enum)]
    pub study: StudyName,
    /// A raw extract in the layout of the study's schema: CSV (.csv, .tsv, .txt), Parquet or
    /// Stata (.dta). Default: a synthetic extract.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// An edited copy of the study's schema, e.g. with your codebook's column names
    /// (default: data-schema/cmds2014.toml or cmds2018.toml, embedded).
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Text encoding of a CSV file: utf-8 (default), gbk or gb18030.
    #[arg(long, value_name = "ENC")]
    pub encoding: Option<String>,
    /// Field delimiter of a CSV file (a single character; `tab` for tabs); detected from the
    /// header line when not given.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// An edited copy of the specification (default: examples/<study>/spec.toml, embedded).
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReproduceFormat::Text)]
    pub format: ReproduceFormat,
    /// Write to FILE instead of standard output (written atomically).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    report: Report,
    study: &'a str,
    comparison: &'a wang2022::Reproduction,
}

/// Reads a text file (a spec): UTF-8 (with or without BOM), else GBK, the encoding Chinese
/// Excel and editors write.
pub fn read_text(path: &PathBuf) -> Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Data(DataError::Io { path: path.display().to_string(), reason: e.to_string() }))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s.trim_start_matches('\u{feff}').to_string()),
        Err(e) => {
            let (text, _, bad) = encoding_rs::GBK.decode(e.as_bytes());
            if bad {
                return Err(Error::Data(DataError::Io {
                    path: path.display().to_string(),
                    reason: "neither UTF-8 nor GBK text".into(),
                }));
            }
            Ok(text.into_owned())
        }
    }
}

/// Loads the study's extract through its schema: the user's `--data` file (with `--encoding`,
/// `--delimiter`, `--schema`, as `fit --schema` reads it) or, without `--data`, the synthetic
/// extract `synthetic` returns (CSV text and a description), through the same reader.
/// Returns the dataset and the description of its source.
pub fn load_study_data(
    args: &ReproduceArgs,
    embedded_schema: (&str, &str),
    synthetic: impl FnOnce() -> (String, String),
) -> Result<(crate::data::Dataset, String)> {
    let schema = match &args.schema {
        Some(p) => Schema::from_path(p)?,
        None => Schema::parse(embedded_schema.0, embedded_schema.1)?,
    };
    let data_args = super::DataSource {
        data: args.data.clone().unwrap_or_default(),
        delimiter: args.delimiter.clone(),
        schema: None,
        subsample: None,
        if_expr: None,
        encoding: args.encoding.clone(),
    };
    let cfg = data_args.config()?;
    match &args.data {
        Some(p) => Ok((load_extract(Extract::File(p), &cfg.read, &schema)?, p.display().to_string())),
        None => {
            if args.encoding.is_some() || args.delimiter.is_some() {
                return Err(crate::error::usage("--encoding and --delimiter describe a --data file"));
            }
            let (csv, source) = synthetic();
            let ds = load_extract(Extract::Csv { bytes: csv.as_bytes(), display: &source }, &cfg.read, &schema)?;
            Ok((ds, source))
        }
    }
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    match args.study {
        StudyName::Stay2018 => return crate::study::stay2018::run_cli(&args),
        StudyName::Wang2022 => {}
    }
    let spec = match &args.spec {
        Some(p) => Spec::parse(&read_text(p)?)?,
        None => Spec::embedded(),
    };
    let (ds, source) = load_study_data(&args, (wang2022::SCHEMA_TOML, wang2022::SCHEMA_PATH), || {
        let raw = sim::simulate(&sim::Dgp::embedded(), spec.study.n, spec.study.seed);
        (
            raw.to_csv(),
            format!(
                "synthetic extract (migfit simulate --study wang2022 --n {} --seed {})",
                spec.study.n, spec.study.seed
            ),
        )
    })?;
    let (rep, fits) = wang2022::reproduce(&ds, &spec)?;
    let text = match args.format {
        ReproduceFormat::Text => wang2022::to_text(&rep, &spec),
        ReproduceFormat::Json => {
            let models = fits.into_iter().flat_map(|s| s.parts.into_iter().map(|(_, f)| f.report)).collect();
            let out = JsonOut {
                report: Report {
                    migfit_version: crate::VERSION.to_string(),
                    command: "reproduce".into(),
                    data: source.clone(),
                    models,
                    combined: None,
                    data_sha256: None,
                    variables: Vec::new(),
                },
                study: "wang2022",
                comparison: &rep,
            };
            output::to_json(&out)
        }
    };
    super::write_output(&text, args.output.as_deref())
}
