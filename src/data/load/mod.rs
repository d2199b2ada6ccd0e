//! Reading data files of any supported format into a raw table, and applying a schema.
//!
//! Formats are chosen by extension: `.csv`/`.tsv`/`.txt` (CSV; delimiter detected from the
//! header line or given), `.parquet`/`.pq` (through the `parquet` crate), `.dta` (Stata 102-119, through
//! the pure-Rust `dta` crate; value labels become category labels). CSV text may be UTF-8
//! (with or without a byte-order mark) or, with `--encoding`, GBK / GB18030.
//!
//! CSV has two readers. The fast one (`super::fastcsv`) parses the needed columns in parallel;
//! it is used only when a cheap pre-scan proves that its output will line up with the file
//! (valid UTF-8, no quote characters, no blank lines, the same number of delimiters on every
//! line), so that row `i` is line `i + 2`. Every other file goes through the precise reader
//! (`csv.rs` here), which never stops at the first problem: it records each one (ragged rows,
//! invalid bytes, values that are not numbers) with its line, column and value.
//!
//! The parts: this file holds the options and the entry points; `csv.rs` the CSV readers and
//! decoding; `files.rs` the Parquet and Stata readers; `convert.rs` the schema's conversion of
//! raw columns into typed variables. The raw table itself is `super::raw`.

use super::schema::{code_key, reference_index, Code, Schema, VarType, VariableSpec};
use super::validate::{Rule, Violation};
use super::{csv::is_missing_token, csv::parse_number, expr, Column, ColumnData, Dataset, Factor, Level, MISSING_CODE};
use crate::error::{DataError, Error, SchemaError};
use std::collections::HashMap;
use std::path::Path;

mod convert;
mod csv;
mod dta_check;
mod files;

pub use super::raw::{raw_to_dataset, RawColumn, RawData, RawTable};
pub use convert::apply_schema;
pub use csv::detect_delimiter;
use csv::*;
use files::*;

/// Text encodings of CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Gbk,
    Gb18030,
}

impl TextEncoding {
    pub fn parse(s: &str) -> Option<TextEncoding> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(TextEncoding::Utf8),
            "gbk" | "cp936" => Some(TextEncoding::Gbk),
            "gb18030" => Some(TextEncoding::Gb18030),
            _ => None,
        }
    }
}

/// File formats, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Dta,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format, Error> {
        let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        match ext.as_str() {
            "csv" | "tsv" | "txt" | "tab" | "" => Ok(Format::Csv),
            "parquet" | "pq" => Ok(Format::Parquet),
            "dta" => Ok(Format::Dta),
            other => Err(crate::error::usage(format!(
                "{}: unknown file type '.{other}' (migfit reads .csv, .tsv, .txt, .parquet and Stata .dta)",
                path.display()
            ))),
        }
    }
}

/// How to read a file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// CSV delimiter; detected from the header line when `None`.
    pub delimiter: Option<u8>,
    /// CSV text encoding; UTF-8 when `None`.
    pub encoding: Option<TextEncoding>,
    /// Forbid the fast CSV path (tests compare both readers).
    pub precise_only: bool,
    /// Column projection: the variables the caller needs (`None`: every variable). With a
    /// schema these are variable or derived-variable names: only the source columns they need
    /// (transitively through derived variables, plus whatever the universe filter reads) are
    /// read and converted, and the dataset holds just the named variables. Without a schema
    /// they are column names. A name the data does not know switches projection off, so that
    /// the error about it is the same as for a full load. `migfit validate` never projects.
    pub columns: Option<Vec<String>>,
}

/// Reads a file into a raw table. `needed` restricts the columns kept (CSV and Parquet read
/// only those); `None` keeps every column. `numeric_hint` names columns expected to hold
/// numbers (the fast CSV path parses them as numbers directly).
///
/// Problems that let reading go on (a ragged row, an invalid byte) are recorded in
/// `problems`; only a file that cannot be opened at all is an `Err`.
pub fn read_raw(
    path: &Path,
    opts: &ReadOptions,
    needed: Option<&[String]>,
    numeric_hint: &[String],
    null_tokens: &[String],
) -> Result<RawTable, Error> {
    let display = path.display().to_string();
    match Format::of(path)? {
        Format::Csv => {
            let bytes = super::mapped::read_file(path)
                .map_err(|e| DataError::Io { path: display.clone(), reason: e.to_string() })?;
            let mut delimiter = opts.delimiter;
            if delimiter.is_none() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv")) {
                delimiter = Some(b'\t');
            }
            Ok(read_csv_raw(
                &bytes,
                &display,
                opts.encoding,
                delimiter,
                needed,
                numeric_hint,
                null_tokens,
                opts.precise_only,
            ))
        }
        Format::Parquet => read_parquet(path, &display, needed),
        Format::Dta => read_dta(path, &display, needed),
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// The result of loading with a schema: the data (rows in the universe, derived variables
/// added) and every violation found.
#[derive(Debug)]
pub struct LoadReport {
    pub dataset: Dataset,
    pub violations: Vec<Violation>,
    pub fast_path: bool,
}

/// Reads `path` and applies `schema`. Violations do not stop the load; schema expressions
/// that cannot be evaluated (a type mismatch) are an `Err` naming the schema line.
pub fn load_with_schema(path: &Path, opts: &ReadOptions, schema: &Schema) -> Result<LoadReport, Error> {
    let projected = opts.columns.as_deref().and_then(|c| schema.project(c));
    let schema_used = projected.as_ref().unwrap_or(schema);
    let (needed, numeric, tokens, read_opts) = schema_read_plan(opts, schema_used);
    let raw = read_raw(path, &read_opts, Some(&needed), &numeric, &tokens)?;
    let report = apply_schema(raw, schema_used)?;
    Ok(keep_projected(report, projected.is_some(), opts))
}

/// After a projected load, drops the variables that were only needed to derive or filter
/// (e.g. `birth_year` for `age`, the universe's variables).
fn keep_projected(mut report: LoadReport, projected: bool, opts: &ReadOptions) -> LoadReport {
    if let (true, Some(cols)) = (projected, &opts.columns) {
        report.dataset.retain_columns(|n| cols.iter().any(|c| c == n));
    }
    report
}

/// [`load_with_schema`] for CSV text already in memory (`display` names it in messages), e.g. a
/// synthetic extract that `migfit reproduce` generates: the same reader, checks and schema.
pub fn load_csv_bytes_with_schema(
    bytes: &[u8],
    display: &str,
    opts: &ReadOptions,
    schema: &Schema,
) -> Result<LoadReport, Error> {
    let projected = opts.columns.as_deref().and_then(|c| schema.project(c));
    let schema_used = projected.as_ref().unwrap_or(schema);
    let (needed, numeric, tokens, read_opts) = schema_read_plan(opts, schema_used);
    let raw = read_csv_raw(
        bytes,
        display,
        read_opts.encoding,
        read_opts.delimiter,
        Some(&needed),
        &numeric,
        &tokens,
        read_opts.precise_only,
    );
    let report = apply_schema(raw, schema_used)?;
    Ok(keep_projected(report, projected.is_some(), opts))
}

/// Reads a file without a schema, keeping only the columns `columns` names (every column when
/// `None`, or when one of the names is not a column of the file: then the caller's error about
/// it is the same as for a full load). Parquet and Stata files only.
pub fn read_raw_projected(path: &Path, opts: &ReadOptions, columns: Option<&[String]>) -> Result<RawTable, Error> {
    if let Some(cols) = columns {
        let raw = read_raw(path, opts, Some(cols), &[], &[])?;
        if cols.iter().all(|c| raw.header.contains(c)) {
            return Ok(raw);
        }
    }
    read_raw(path, opts, None, &[], &[])
}

/// What a schema needs read: the source columns, those expected to hold numbers, the string
/// missing codes, and the read options (the fast path is switched off when a string code
/// equals a missing token).
fn schema_read_plan(opts: &ReadOptions, schema: &Schema) -> (Vec<String>, Vec<String>, Vec<String>, ReadOptions) {
    let needed: Vec<String> = schema.source_columns().iter().map(|s| s.to_string()).collect();
    let numeric: Vec<String> = schema
        .variables
        .iter()
        .filter(|v| match v.var_type {
            // Identifiers are numbers unless one value is not (then text, see `convert`).
            VarType::Text => false,
            VarType::Continuous | VarType::Count | VarType::Identifier => true,
            _ => v.levels.iter().all(|l| l.all_codes().all(|c| c.as_f64().is_some())),
        })
        .map(|v| v.source().to_string())
        .collect();
    // Dataset-wide string missing codes become nulls while reading (they apply to every
    // column); numeric ones, and a variable's own string codes, are applied by `convert` (a
    // column holding such a code is read as text first), so that one variable's code never
    // makes another variable's cell silently missing.
    let mut tokens: Vec<String> = Vec::new();
    for c in schema.dataset.missing.iter() {
        if c.as_f64().is_none() && !tokens.contains(&c.text()) {
            tokens.push(c.text());
        }
    }
    // A string code equal to a missing token of another variable would be lost: no fast path.
    let clash = schema
        .variables
        .iter()
        .flat_map(|v| v.levels.iter().flat_map(|l| l.all_codes()))
        .any(|c| tokens.contains(&c.text()));
    let mut opts = opts.clone();
    if clash {
        opts.precise_only = true;
    }
    (needed, numeric, tokens, opts)
}
