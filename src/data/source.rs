//! Where a dataset comes from: the file, its schema, encoding and delimiter, and the rows kept
//! (`subsample`, `if`). [`DataSource`] is the plain description every command and batch
//! variant fills in; [`DataSource::load`] reads the file (projected to the columns a job
//! needs; GBK / GB18030 decoded; through the schema when there is one), refuses a file that
//! violates its schema with a typed [`DataError::Violations`], and filters the rows.
//! [`DataSource::spawn_hash`] hashes the input for the table notes while loading runs.

use super::Dataset;
use crate::error::{usage, DataError, Error, Result};
use std::path::{Path, PathBuf};

/// A data file and how to read it (what `--data`-style options and a batch spec's `[data]`
/// table say).
#[derive(Debug, Clone, Default)]
pub struct DataSource {
    /// The data file: CSV (.csv, .tsv, .txt), Parquet (.parquet) or Stata (.dta).
    pub data: PathBuf,
    /// Field delimiter of a CSV file (one character, or `tab`); detected with a schema.
    pub delimiter: Option<String>,
    /// A schema (TOML) mapping raw columns to typed, labelled variables.
    pub schema: Option<PathBuf>,
    /// Keep only the rows of a subsample the schema names.
    pub subsample: Option<String>,
    /// Keep only the rows where this expression holds.
    pub if_expr: Option<String>,
    /// Text encoding of a CSV file: utf-8 (default), gbk or gb18030.
    pub encoding: Option<String>,
}

impl DataSource {
    /// Loads the data file as the options say: with `--schema`, typed and checked (any
    /// violation is an error listing them); then `--subsample` and `--if` filter rows.
    pub fn load(&self) -> Result<Dataset> {
        self.load_columns(None)
    }

    /// [`DataSource::load`] with column projection: only the variables `columns` names (and
    /// what `--subsample`, `--if` and the schema's universe read; with a schema, also what
    /// their derived variables are computed from) are read and converted, and the dataset
    /// holds just those (`None`: every variable). Violations are checked on the variables
    /// read; `migfit validate` checks every column.
    pub fn load_columns(&self, columns: Option<Vec<String>>) -> Result<Dataset> {
        self.load_config(self.config()?, columns)
    }

    /// [`DataSource::load_columns`] with the options already checked by
    /// [`DataSource::config`] (so that a caller who needs the schema reads it once).
    pub fn load_config(&self, mut cfg: DataConfig, columns: Option<Vec<String>>) -> Result<Dataset> {
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
                let report = super::load::load_with_schema(&self.data, &cfg.read, schema)?;
                if !report.violations.is_empty() {
                    return Err(Error::Data(super::validate::violations_error(
                        &report.dataset.source,
                        &report.violations,
                        schema,
                    )));
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
            Some(s) => return Err(usage(format!("the delimiter takes one character or 'tab', not '{s}'"))),
        };
        let encoding = match self.encoding.as_deref() {
            None => None,
            Some(e) => Some(
                super::load::TextEncoding::parse(e)
                    .ok_or_else(|| usage(format!("the encoding takes utf-8, gbk or gb18030, not '{e}'")))?,
            ),
        };
        let schema = match &self.schema {
            Some(p) => Some(super::schema::Schema::from_path(p)?),
            None => None,
        };
        let subsample = self.subsample.as_deref().map(|name| subsample_filter(schema.as_ref(), name)).transpose()?;
        let if_expr = self.if_expr.as_deref().map(if_filter).transpose()?;
        Ok(DataConfig {
            read: super::load::ReadOptions { delimiter, encoding, precise_only: false, columns: None },
            schema,
            subsample,
            if_expr,
        })
    }

    fn load_plain(&self, cfg: &DataConfig) -> Result<Dataset> {
        use super::load::Format;
        let columns = cfg.read.columns.as_deref();
        match Format::of(&self.data)? {
            Format::Csv => {
                let opts = super::csv::CsvOptions { delimiter: cfg.read.delimiter.unwrap_or(b',') };
                match cfg.read.encoding {
                    None | Some(super::load::TextEncoding::Utf8) => {
                        Ok(super::csv::read_csv_projected(&self.data, &opts, columns)?)
                    }
                    Some(_) => {
                        let display = self.data.display().to_string();
                        let raw = super::load::read_raw(&self.data, &cfg.read, Some(&[]), &[], &[])?;
                        if let Some(v) = raw.problems.first() {
                            return Err(Error::Data(DataError::Other(v.render(&display, "line"))));
                        }
                        let bytes = super::mapped::read_file(&self.data)
                            .map_err(|e| DataError::Io { path: display.clone(), reason: e.to_string() })?;
                        let enc = match cfg.read.encoding {
                            Some(super::load::TextEncoding::Gb18030) => encoding_rs::GB18030,
                            _ => encoding_rs::GBK,
                        };
                        let (text, _) = enc.decode_without_bom_handling(&bytes);
                        Ok(super::csv::read_csv_bytes_projected(text.as_bytes(), &display, &opts, columns)?)
                    }
                }
            }
            _ => {
                let raw = super::load::read_raw_projected(&self.data, &cfg.read, columns)?;
                Ok(super::load::raw_to_dataset(raw))
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

/// The row filter of a subsample the schema names (`--subsample NAME`).
pub fn subsample_filter(schema: Option<&super::schema::Schema>, name: &str) -> Result<(String, super::expr::Expr)> {
    let Some(s) = schema else {
        return Err(usage("a subsample needs a schema (subsamples are defined in the schema)"));
    };
    match s.subsample(name) {
        Some(e) => Ok((name.to_string(), e.clone())),
        None => {
            let names = s.subsample_names();
            let hint = super::closest(name, names.iter().copied())
                .map(|h| format!(" (did you mean '{h}'?)"))
                .unwrap_or_default();
            Err(usage(format!(
                "subsample {name}: the schema {} has no such subsample{hint}; it defines: {}",
                s.path,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )))
        }
    }
}

/// The row filter of an `--if` expression, parsed (a syntax error points at its position).
pub fn if_filter(src: &str) -> Result<(String, super::expr::Expr)> {
    let e = super::expr::parse(src)
        .map_err(|e| usage(format!("condition \"{src}\": {e}\n  {src}\n  {}^", " ".repeat(e.column - 1))))?;
    Ok((src.to_string(), e))
}

/// SHA-256 of a file's bytes, in lowercase hex (hashed from the mapped file: the loader's
/// map of the same file shares its pages, so nothing is copied).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = super::mapped::read_file(path)?;
    Ok(Sha256::digest(&*bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// `DataSource` checked: what the loaders see.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub read: super::load::ReadOptions,
    pub schema: Option<super::schema::Schema>,
    pub subsample: Option<(String, super::expr::Expr)>,
    pub if_expr: Option<(String, super::expr::Expr)>,
}

impl DataConfig {
    /// Applies `--subsample` and `--if`.
    pub fn filter(&self, mut ds: Dataset) -> Result<Dataset> {
        if let Some((name, e)) = &self.subsample {
            let keep = super::expr::eval_filter(e, &ds).map_err(|m| usage(format!("subsample {name}: {m}")))?;
            ds = ds.filter_rows(&keep);
        }
        if let Some((src, e)) = &self.if_expr {
            let keep = super::expr::eval_filter(e, &ds).map_err(|m| usage(format!("condition \"{src}\": {m}")))?;
            ds = ds.filter_rows(&keep);
        }
        Ok(ds)
    }
}
