//! `migfit reproduce`: a study's whole specification, beside the published numbers.

use crate::error::{usage, DataError, Error, Result};
use crate::output::{self, Report};
use crate::simulate::{self, wang2022 as sim};
use crate::study::wang2022::{self, Spec};
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
    after_help = "Examples:\n  migfit reproduce wang2022\n  migfit reproduce wang2022 --data my_cmds2014_extract.csv --format json -o repro.json\n\n\
Without --data a synthetic extract of the published size is simulated with the spec's seed."
)]
pub struct ReproduceArgs {
    /// The study.
    #[arg(value_enum)]
    pub study: StudyName,
    /// A raw extract in the study schema's layout (CSV). Default: a synthetic extract.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
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

/// Reads a text file: UTF-8 (with or without BOM), else GBK, the encoding Chinese Excel and
/// survey software write. (INTERIM until the `data` branch's loader, which also reads .dta
/// and Parquet, is merged.)
pub fn read_text(path: &PathBuf) -> Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Data(DataError::Io { path: path.display().to_string(), reason: e.to_string() }))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
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

pub fn run(args: ReproduceArgs) -> Result<()> {
    match args.study {
        StudyName::Stay2018 => return crate::study::stay2018::run_cli(&args),
        StudyName::Wang2022 => {}
    }
    let spec = match &args.spec {
        Some(p) => Spec::parse(&read_text(p)?)?,
        None => Spec::embedded(),
    };
    let (csv_text, source) = match &args.data {
        Some(p) => (read_text(p)?, p.display().to_string()),
        None => {
            let raw = sim::simulate(&sim::Dgp::embedded(), spec.study.n, spec.study.seed);
            (
                raw.to_csv(),
                format!(
                    "synthetic extract (migfit simulate --study wang2022 --n {} --seed {})",
                    spec.study.n, spec.study.seed
                ),
            )
        }
    };
    // The synthetic extract goes through the same text -> dataset path as a user's file.
    let raw = simulate::RawTable::from_csv(&csv_text, &source)?;
    let ds = sim::analysis_from_raw(&raw, &source)?;
    if ds.n_rows() == 0 {
        return Err(usage(format!("{source}: no respondent in the analysis universe")));
    }
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
