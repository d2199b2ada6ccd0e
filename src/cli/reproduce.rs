//! `migfit reproduce`: a study's whole specification, beside the published numbers.

use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, ValueEnum};
use migfit::error::{DataError, Error, Result};
use migfit::study::{self, Inputs};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReproduceFormat {
    Text,
    Json,
}

/// The name of a study in the registry (`study::all`): checked by `study::find`, listed in
/// the help and the shell completions.
#[derive(Debug, Clone, Copy)]
pub struct StudyParser;

impl TypedValueParser for StudyParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<String, clap::Error> {
        clap::builder::StringValueParser::new()
            .try_map(|s| study::find(&s).map(|st| st.name().to_string()).map_err(|e| e.to_string()))
            .parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(study::all().iter().map(|s| PossibleValue::new(s.name()).help(s.title()))))
    }
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
    #[arg(value_parser = StudyParser)]
    pub study: String,
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

pub fn run(args: ReproduceArgs) -> Result<()> {
    let study = study::find(&args.study)?;
    let spec = match &args.spec {
        Some(p) => Some(read_text(p)?),
        None => None,
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
    if args.data.is_none() && (args.encoding.is_some() || args.delimiter.is_some()) {
        return Err(migfit::error::usage("--encoding and --delimiter describe a --data file"));
    }
    let inputs = Inputs { data: args.data.clone(), schema: args.schema.clone(), read: cfg.read };
    let results = study::reproduce(study, spec.as_deref(), &inputs)?;
    let text = match args.format {
        ReproduceFormat::Text => results.to_text(),
        ReproduceFormat::Json => results.to_json(),
    };
    super::write_output(&text, args.output.as_deref())
}
