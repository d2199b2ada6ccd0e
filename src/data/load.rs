//! Reading data files of any supported format into a raw table, and applying a schema.
//!
//! Formats are chosen by extension: `.csv`/`.tsv`/`.txt` (CSV; delimiter detected from the
//! header line or given), `.parquet`/`.pq` (through the `parquet` crate), `.dta` (Stata 102-119, through
//! the pure-Rust `dta` crate; value labels become category labels). CSV text may be UTF-8
//! (with or without a byte-order mark) or, with `--encoding`, GBK / GB18030.
//!
//! CSV has two readers. The fast one is polars' multi-threaded parser; it is used only when a
//! cheap pre-scan proves that its output will line up with the file (valid UTF-8, no quote
//! characters, no blank lines, the same number of delimiters on every line), so that row `i`
//! is line `i + 2`. Every other file, and every file polars rejects, goes through the precise
//! reader, which never stops at the first problem: it records each one (ragged rows, invalid
//! bytes, values that are not numbers) with its line, column and value.

use super::schema::{code_key, reference_index, Code, Schema, VarType, VariableSpec};
use super::validate::{Rule, Violation};
use super::{csv::is_missing_token, csv::parse_number, expr, Column, ColumnData, Dataset, Factor, Level, MISSING_CODE};
use crate::error::{DataError, Error, SchemaError};
use std::collections::HashMap;
use std::path::Path;

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
    /// Forbid the polars fast path (tests compare both readers).
    pub precise_only: bool,
    /// Column projection: the variables the caller needs (`None`: every variable). With a
    /// schema these are variable or derived-variable names: only the source columns they need
    /// (transitively through derived variables, plus whatever the universe filter reads) are
    /// read and converted, and the dataset holds just the named variables. Without a schema
    /// they are column names. A name the data does not know switches projection off, so that
    /// the error about it is the same as for a full load. `migfit validate` never projects.
    pub columns: Option<Vec<String>>,
}

/// The values of a raw column: numbers (`NaN` = a missing value the file itself marks, e.g.
/// Stata's `.`) or text.
#[derive(Debug, Clone, PartialEq)]
pub enum RawData {
    Num(Vec<f64>),
    Str(Vec<Option<String>>),
}

impl RawData {
    fn len(&self) -> usize {
        match self {
            RawData::Num(v) => v.len(),
            RawData::Str(v) => v.len(),
        }
    }
}

/// A column as the file holds it, before a schema gives it meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct RawColumn {
    pub name: String,
    pub data: RawData,
    /// Variable label (Stata files).
    pub label: Option<String>,
    /// Value labels (Stata files): code -> label.
    pub value_labels: Vec<(f64, String)>,
}

/// A file as read: columns, the position of every row, and the problems met while reading.
#[derive(Debug, Clone)]
pub struct RawTable {
    pub source: String,
    pub columns: Vec<RawColumn>,
    /// Line in the file (CSV) or observation number (Parquet, Stata) of each row.
    pub line_numbers: Vec<u64>,
    pub problems: Vec<Violation>,
    /// Whether a fast path read the file (for tests and benchmarks).
    pub fast_path: bool,
    /// Every column name of the file, read or not (for "did you mean" hints).
    pub header: Vec<String>,
}

impl RawTable {
    fn column(&self, name: &str) -> Option<&RawColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
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

/// Decodes GBK / GB18030 text; invalid byte sequences are recorded with their line.
fn decode(bytes: &[u8], enc: TextEncoding, display: &str, problems: &mut Vec<Violation>) -> Vec<u8> {
    let encoding = match enc {
        TextEncoding::Utf8 => return bytes.to_vec(),
        // encoding_rs decodes GBK with the GB18030 decoder, as the WHATWG standard says;
        // every GBK file is valid GB18030.
        TextEncoding::Gbk => encoding_rs::GBK,
        TextEncoding::Gb18030 => encoding_rs::GB18030,
    };
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    if had_errors {
        for (i, line) in text.split('\n').enumerate() {
            if line.contains('\u{FFFD}') {
                problems.push(Violation::new(
                    Rule::Encoding,
                    Some(i as u64 + 1),
                    None,
                    None,
                    format!("bytes that are not valid {} (replaced by '\u{FFFD}')", encoding.name()),
                ));
            }
        }
        let _ = display;
    }
    text.into_owned().into_bytes()
}

/// The delimiter of a CSV file: the most frequent of `,`, tab, `;`, `|` in the header line.
pub fn detect_delimiter(bytes: &[u8]) -> u8 {
    let end = memchr_newline(bytes).unwrap_or(bytes.len());
    let header = &bytes[..end];
    let mut best = (0usize, b',');
    for d in [b',', b'\t', b';', b'|'] {
        let n = header.iter().filter(|&&b| b == d).count();
        if n > best.0 {
            best = (n, d);
        }
    }
    best.1
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[allow(clippy::too_many_arguments)]
fn read_csv_raw(
    bytes: &[u8],
    display: &str,
    encoding: Option<TextEncoding>,
    delimiter: Option<u8>,
    needed: Option<&[String]>,
    numeric_hint: &[String],
    null_tokens: &[String],
    precise_only: bool,
) -> RawTable {
    let mut problems = Vec::new();
    let decoded;
    let bytes = match encoding {
        Some(e) if e != TextEncoding::Utf8 => {
            decoded = decode(bytes, e, display, &mut problems);
            &decoded[..]
        }
        _ => bytes,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(bytes));
    let empty = || RawTable {
        source: display.to_string(),
        columns: Vec::new(),
        line_numbers: Vec::new(),
        problems: Vec::new(),
        fast_path: false,
        header: Vec::new(),
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        let mut t = empty();
        problems.push(Violation::new(
            Rule::EmptyFile,
            None,
            None,
            None,
            "the file is empty (expected a header line naming the columns)".into(),
        ));
        t.problems = problems;
        return t;
    }
    #[cfg(feature = "polars")]
    if !precise_only && problems.is_empty() {
        if let Some(t) = fast_csv(bytes, display, delimiter, needed, numeric_hint, null_tokens) {
            return t;
        }
    }
    #[cfg(not(feature = "polars"))]
    if !precise_only && problems.is_empty() {
        if let Some(t) = super::fastcsv::read(bytes, display, delimiter, needed, numeric_hint, null_tokens) {
            return t;
        }
    }
    let mut t = precise_csv(bytes, display, delimiter, needed);
    problems.append(&mut t.problems);
    t.problems = problems;
    t
}

#[cfg(feature = "polars")]
/// Splits a header line into trimmed names (no quotes: the fast path only runs without them).
fn split_header(line: &[u8], delimiter: u8) -> Vec<String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.split(|&b| b == delimiter).map(|f| String::from_utf8_lossy(f).trim().to_string()).collect()
}

#[cfg(feature = "polars")]
/// The polars path; `None` when the pre-scan or polars says the precise reader must run.
fn fast_csv(
    bytes: &[u8],
    display: &str,
    delimiter: u8,
    needed: Option<&[String]>,
    numeric_hint: &[String],
    null_tokens: &[String],
) -> Option<RawTable> {
    use polars::prelude::*;
    if bytes.contains(&b'"') || std::str::from_utf8(bytes).is_err() {
        return None;
    }
    let header_end = memchr_newline(bytes)?;
    let header = split_header(&bytes[..header_end], delimiter);
    let ncol = header.len();
    if header.iter().any(|h| h.is_empty()) || (1..ncol).any(|i| header[..i].contains(&header[i])) {
        return None;
    }
    // One pass over the data: count the rows and check that each line has ncol fields.
    let mut n_rows = 0usize;
    let body = &bytes[header_end + 1..];
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.iter().filter(|&&b| b == delimiter).count() != ncol - 1 {
            return None;
        }
        n_rows += 1;
    }
    // Blank lines (other than a final newline) shift line numbers: leave them to the precise reader.
    let trimmed = body.strip_suffix(b"\n").unwrap_or(body);
    let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
    if trimmed.windows(2).any(|w| w == b"\n\n")
        || trimmed.windows(3).any(|w| w == b"\n\r\n")
        || (body.first() == Some(&b'\n'))
    {
        return None;
    }
    if n_rows == 0 {
        return None;
    }
    let wanted: Vec<String> = match needed {
        Some(n) => header.iter().filter(|h| n.contains(h)).cloned().collect(),
        None => header.clone(),
    };
    let mut overwrite = polars::prelude::Schema::default();
    for h in &wanted {
        let dt = if numeric_hint.contains(h) { DataType::Float64 } else { DataType::String };
        overwrite.with_column(h.as_str().into(), dt);
    }
    let mut nulls: Vec<PlSmallStr> = vec!["".into(), "NA".into(), ".".into(), "NaN".into()];
    for c in b'a'..=b'z' {
        nulls.push(format!(".{}", c as char).into());
    }
    nulls.extend(null_tokens.iter().map(|s| PlSmallStr::from(s.as_str())));
    let cursor = std::io::Cursor::new(bytes);
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_columns(Some(wanted.iter().map(|s| PlSmallStr::from(s.as_str())).collect()))
        .with_schema_overwrite(Some(Arc::new(overwrite)))
        .with_infer_schema_length(Some(0))
        .map_parse_options(|p| {
            p.with_separator(delimiter)
                .with_quote_char(None)
                .with_null_values(Some(NullValues::AllColumns(nulls.clone())))
        })
        .into_reader_with_file_handle(cursor)
        .finish()
        .ok()?;
    if df.height() != n_rows {
        return None;
    }
    let mut columns = Vec::with_capacity(wanted.len());
    for name in &wanted {
        let s = df.column(name).ok()?.as_materialized_series();
        let data = match s.dtype() {
            DataType::Float64 => {
                let ca = s.f64().ok()?;
                let mut v = Vec::with_capacity(n_rows);
                for x in ca.iter() {
                    match x {
                        Some(x) if !x.is_finite() => return None,
                        Some(x) => v.push(x),
                        None => v.push(f64::NAN),
                    }
                }
                RawData::Num(v)
            }
            _ => {
                let s = s.cast(&DataType::String).ok()?;
                let ca = s.str().ok()?;
                RawData::Str(ca.iter().map(|x| x.map(|x| x.trim().to_string())).collect())
            }
        };
        columns.push(RawColumn { name: name.clone(), data, label: None, value_labels: Vec::new() });
    }
    Some(RawTable {
        source: display.to_string(),
        columns,
        line_numbers: (2..n_rows as u64 + 2).collect(),
        problems: Vec::new(),
        fast_path: true,
        header: header.clone(),
    })
}

/// The precise reader: records every structural problem and goes on.
fn precise_csv(bytes: &[u8], display: &str, delimiter: u8, needed: Option<&[String]>) -> RawTable {
    let mut problems = Vec::new();
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(bytes);
    let mut records = reader.byte_records();
    let mut lc = super::lines::LineCounter::new(bytes);
    let mut table = RawTable {
        source: display.to_string(),
        columns: Vec::new(),
        line_numbers: Vec::new(),
        problems: Vec::new(),
        fast_path: false,
        header: Vec::new(),
    };
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            table.problems.push(Violation::new(Rule::Unreadable, Some(1), None, None, e.to_string()));
            return table;
        }
        None => {
            table.problems.push(Violation::new(Rule::EmptyFile, None, None, None, "the file is empty".into()));
            return table;
        }
    };
    let mut names = Vec::with_capacity(header.len());
    for (i, f) in header.iter().enumerate() {
        let name = match std::str::from_utf8(f) {
            Ok(s) => s.trim().to_string(),
            Err(_) => {
                problems.push(Violation::new(
                    Rule::Encoding,
                    Some(1),
                    Some(String::from_utf8_lossy(f).into_owned()),
                    None,
                    format!("header field {} is not valid UTF-8 (is the file GBK-encoded? try --encoding gbk)", i + 1),
                ));
                String::from_utf8_lossy(f).trim().to_string()
            }
        };
        if name.is_empty() {
            problems.push(Violation::new(
                Rule::Header,
                Some(1),
                None,
                None,
                format!("column {} has an empty name in the header", i + 1),
            ));
        }
        if let Some(j) = names.iter().position(|n: &String| *n == name && !name.is_empty()) {
            problems.push(Violation::new(
                Rule::DuplicateColumn,
                Some(1),
                Some(name.clone()),
                None,
                format!("duplicate column name '{name}' (columns {} and {}); the first is used", j + 1, i + 1),
            ));
        }
        names.push(name);
    }
    if names.iter().all(|h| parse_number(h).is_some()) {
        problems.push(Violation::new(
            Rule::Header,
            Some(1),
            None,
            None,
            "the first line holds only numbers; expected a header line naming the columns".into(),
        ));
    }
    let ncol = names.len();
    // Column index -> output slot (first occurrence of each wanted name).
    let mut slots: Vec<Option<usize>> = vec![None; ncol];
    let mut out_names: Vec<String> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let wanted = needed.is_none_or(|w| w.contains(n));
        if wanted && !out_names.contains(n) && !n.is_empty() {
            slots[i] = Some(out_names.len());
            out_names.push(n.clone());
        }
    }
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); out_names.len()];
    let mut lines = Vec::new();
    let mut rec_iter = records;
    loop {
        let rec = match rec_iter.next() {
            None => break,
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                let line = e.position().map_or(0, |p| lc.line_of(p.byte()));
                problems.push(Violation::new(
                    Rule::Unreadable,
                    Some(line),
                    None,
                    None,
                    format!("{e}; reading stopped here"),
                ));
                break;
            }
        };
        let line = rec.position().map_or(0, |p| lc.line_of(p.byte()));
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim_ascii().is_empty()) && ncol > 1 {
            continue; // a blank line
        }
        if rec.len() != ncol {
            let spans_lines = rec.iter().any(|f| f.contains(&b'\n'));
            let hint = if spans_lines { "; a quoted field runs over several lines: is a quote unclosed?" } else { "" };
            problems.push(Violation::new(
                Rule::RaggedRow,
                Some(line),
                None,
                None,
                format!("has {} fields, but the header has {ncol}{hint}; the row is skipped", rec.len()),
            ));
            continue;
        }
        for (j, field) in rec.iter().enumerate() {
            let Some(slot) = slots[j] else { continue };
            let value = match std::str::from_utf8(field) {
                Ok(s) => Some(s.trim().to_string()),
                Err(_) => {
                    problems.push(Violation::new(
                        Rule::Encoding,
                        Some(line),
                        Some(names[j].clone()),
                        Some(String::from_utf8_lossy(field).into_owned()),
                        "not valid UTF-8 (is the file GBK-encoded? try --encoding gbk)".into(),
                    ));
                    None
                }
            };
            cells[slot].push(value);
        }
        lines.push(line);
    }
    table.columns = out_names
        .into_iter()
        .zip(cells)
        .map(|(name, v)| RawColumn { name, data: RawData::Str(v), label: None, value_labels: Vec::new() })
        .collect();
    table.line_numbers = lines;
    table.problems = problems;
    table.header = names;
    table
}

// ---------------------------------------------------------------------------------------------
// Parquet and Stata

fn read_parquet(path: &Path, display: &str, needed: Option<&[String]>) -> Result<RawTable, Error> {
    let pq = super::parquet::read(path, display, needed)?;
    let columns = pq
        .columns
        .into_iter()
        .map(|(name, data)| RawColumn { name, data, label: None, value_labels: Vec::new() })
        .collect();
    Ok(RawTable {
        source: display.to_string(),
        columns,
        line_numbers: (1..=pq.n_rows as u64).collect(),
        problems: Vec::new(),
        fast_path: false,
        header: pq.header,
    })
}

fn read_dta(path: &Path, display: &str, needed: Option<&[String]>) -> Result<RawTable, Error> {
    use dta::stata::dta::dta_reader::DtaReader;
    use dta::stata::dta::value::Value;
    let io = |e: &dyn std::fmt::Display| {
        Error::Data(DataError::Io { path: display.to_string(), reason: format!("not a readable Stata file: {e}") })
    };
    let header_reader = DtaReader::new().from_path(path).map_err(|e| io(&e))?;
    let schema_reader = header_reader.read_header().map_err(|e| io(&e))?;
    let mut characteristics = schema_reader.read_schema().map_err(|e| io(&e))?;
    characteristics.skip_to_end().map_err(|e| io(&e))?;
    let mut records = characteristics.into_record_reader().map_err(|e| io(&e))?;
    let schema = records.schema().clone();
    let vars = schema.variables();
    let keep: Vec<bool> = vars.iter().map(|v| needed.is_none_or(|n| n.iter().any(|x| x == v.name()))).collect();
    let mut data: Vec<RawData> = Vec::new();
    let mut kinds: Vec<bool> = Vec::new(); // true = numeric
    for v in vars {
        let numeric = !matches!(
            v.variable_type(),
            dta::stata::dta::variable_type::VariableType::FixedString(_)
                | dta::stata::dta::variable_type::VariableType::LongString
        );
        kinds.push(numeric);
        data.push(if numeric { RawData::Num(Vec::new()) } else { RawData::Str(Vec::new()) });
    }
    let mut n = 0u64;
    while let Some(record) = records.read_record().map_err(|e| io(&e))? {
        n += 1;
        for (j, value) in record.values().iter().enumerate() {
            if !keep[j] {
                continue;
            }
            match (&mut data[j], value) {
                (RawData::Num(col), v) => col.push(match v {
                    Value::Byte(x) => x.present().map_or(f64::NAN, f64::from),
                    Value::Int(x) => x.present().map_or(f64::NAN, f64::from),
                    Value::Long(x) => x.present().map_or(f64::NAN, f64::from),
                    Value::Float(x) => x.present().map_or(f64::NAN, f64::from),
                    Value::Double(x) => x.present().unwrap_or(f64::NAN),
                    _ => f64::NAN,
                }),
                (RawData::Str(col), Value::String(s)) => col.push(Some(s.trim().to_string())),
                (RawData::Str(col), _) => col.push(None),
            }
        }
    }
    let strings = records.into_long_string_reader().map_err(|e| io(&e))?;
    let mut strings = strings;
    strings.skip_to_end().map_err(|e| io(&e))?;
    let mut labels_reader = strings.into_value_label_reader().map_err(|e| io(&e))?;
    let mut sets = HashMap::new();
    while let Some(set) = labels_reader.read_value_label_set().map_err(|e| io(&e))? {
        let entries: Vec<(f64, String)> =
            set.entries().iter().map(|e| (f64::from(e.value()), e.label().to_string())).collect();
        sets.insert(set.name().to_string(), entries);
    }
    let mut columns = Vec::new();
    for ((v, d), k) in vars.iter().zip(data).zip(&keep) {
        if !k {
            continue;
        }
        let d = if d.len() as u64 != n { RawData::Num(vec![f64::NAN; n as usize]) } else { d };
        let label = Some(v.label().to_string()).filter(|s| !s.is_empty());
        let value_labels = sets.get(v.value_label_name()).cloned().unwrap_or_default();
        columns.push(RawColumn { name: v.name().to_string(), data: d, label, value_labels });
    }
    let _ = kinds;
    Ok(RawTable {
        source: display.to_string(),
        columns,
        line_numbers: (1..=n).collect(),
        problems: Vec::new(),
        fast_path: false,
        header: vars.iter().map(|v| v.name().to_string()).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Without a schema (Parquet, Stata)

/// Turns a raw table into a dataset without a schema: numbers stay numbers, value-labelled
/// numeric columns become factors labelled by their value labels, text stays text.
pub fn raw_to_dataset(raw: RawTable) -> Dataset {
    let mut ds = Dataset::new(raw.source.clone(), raw.line_numbers.clone());
    for c in raw.columns {
        let data = match c.data {
            RawData::Num(v) if !c.value_labels.is_empty() => {
                let mut f = Factor::from_numbers(&v);
                let mut labels = c.value_labels.clone();
                labels.sort_by(|a, b| a.0.total_cmp(&b.0));
                for l in &mut f.levels {
                    let code: f64 = l.name.parse().unwrap_or(f64::NAN);
                    l.label = labels.iter().find(|(c, _)| *c == code).map(|(_, s)| s.clone());
                }
                ColumnData::Categorical(f)
            }
            RawData::Num(v) => ColumnData::Numeric(v),
            RawData::Str(v) => {
                let v: Vec<Option<String>> = v.into_iter().map(|s| s.filter(|s| !is_missing_token(s))).collect();
                let nums: Option<Vec<f64>> =
                    v.iter().map(|s| s.as_deref().map_or(Some(f64::NAN), parse_number)).collect();
                match nums {
                    Some(n) => ColumnData::Numeric(n),
                    None => ColumnData::Text(v),
                }
            }
        };
        ds.push(Column { name: c.name, data, label: c.label, label_zh: None });
    }
    ds
}

// ---------------------------------------------------------------------------------------------
// Applying a schema

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

/// Applies a schema to a raw table.
pub fn apply_schema(raw: RawTable, schema: &Schema) -> Result<LoadReport, Error> {
    let fast_path = raw.fast_path;
    let mut violations = raw.problems.clone();
    let structural_failure =
        violations.iter().any(|v| matches!(v.rule, Rule::EmptyFile | Rule::Unreadable)) && raw.columns.is_empty();
    let n = raw.line_numbers.len();
    if n == 0 && !structural_failure {
        violations.push(Violation::new(
            Rule::NoRows,
            None,
            None,
            None,
            "the file has a header but no data rows".into(),
        ));
    }
    // Variables convert independently: in parallel, their violations kept in schema order.
    use rayon::prelude::*;
    let converted: Vec<(Column, Vec<Violation>)> = schema
        .variables
        .par_iter()
        .map(|var| {
            let mut found = Vec::new();
            let col = raw.column(var.source());
            if col.is_none() && !structural_failure {
                let hint = super::closest(
                    var.source(),
                    raw.header.iter().chain(raw.columns.iter().map(|c| &c.name)).map(|s| s.as_str()),
                )
                .map(|h| format!(" (did you mean '{h}'?)"))
                .unwrap_or_default();
                found.push(Violation::new(
                    Rule::MissingColumn,
                    None,
                    Some(var.source().to_string()),
                    None,
                    format!(
                        "the schema's variable '{}' reads column '{}', which the file does not have{hint}",
                        var.name.get_ref(),
                        var.source()
                    ),
                ));
            }
            let column = convert(var, col, &raw.line_numbers, &schema.dataset.missing, &mut found);
            (column, found)
        })
        .collect();
    let RawTable { source, line_numbers, columns, .. } = raw;
    drop(columns); // before the derived variables are computed: peak memory
    let mut ds = Dataset::new(source, line_numbers);
    for (column, mut found) in converted {
        violations.append(&mut found);
        ds.push(column);
    }

    // A file without the columns the schema reads (e.g. another survey wave's extract): report
    // that, rather than a confusing error from a universe or derived expression evaluated on
    // columns that are all missing.
    if violations.iter().any(|v| v.rule == Rule::MissingColumn) {
        return Ok(LoadReport { dataset: ds, violations, fast_path });
    }
    let schema_err = |offset_line: usize, message: String| {
        Error::Schema(SchemaError { path: schema.path.clone(), line: offset_line, column: 0, message })
    };
    if let (Some(u), Some(src)) = (&schema.universe, &schema.dataset.universe) {
        let keep = expr::eval_filter(u, &ds)
            .map_err(|m| schema_err(schema.line_of(src.span().start), format!("universe: {m}")))?;
        ds.retain_rows(&keep);
    }
    for (spec, e) in schema.derived.iter().zip(&schema.derived_exprs) {
        let name = spec.name.get_ref();
        let line = schema.line_of(spec.expr.span().start);
        let value = expr::eval(e, &ds).map_err(|m| schema_err(line, format!("derived variable '{name}': {m}")))?;
        let mut data = value.into_column(ds.n_rows());
        match spec.var_type {
            Some(VarType::Categorical) | Some(VarType::Ordinal) => {
                if let ColumnData::Numeric(v) = &data {
                    data = ColumnData::Categorical(Factor::from_numbers(v));
                }
                if let ColumnData::Text(t) = &data {
                    data = ColumnData::Categorical(Factor::from_strings(t.iter().map(|s| s.as_deref())));
                }
            }
            Some(VarType::Binary) => {
                if let ColumnData::Numeric(v) = &data {
                    if let Some(bad) = v.iter().find(|x| !x.is_nan() && **x != 0.0 && **x != 1.0) {
                        return Err(schema_err(
                            line,
                            format!("derived variable '{name}' is declared binary but takes the value {bad}"),
                        ));
                    }
                } else {
                    return Err(schema_err(
                        line,
                        format!("derived variable '{name}' is declared binary but its expression is not numeric"),
                    ));
                }
            }
            Some(VarType::Continuous) | Some(VarType::Count) if !matches!(data, ColumnData::Numeric(_)) => {
                return Err(schema_err(
                    line,
                    format!(
                        "derived variable '{name}' is declared {} but its expression is not numeric",
                        spec.var_type.map_or("", |t| t.name())
                    ),
                ));
            }
            _ => {}
        }
        // A factor with no levels (no rows, or all missing) has no reference to set.
        let no_levels = matches!(&data, ColumnData::Categorical(f) if f.levels.is_empty());
        if let (ColumnData::Categorical(f), Some(r), false) = (&mut data, &spec.reference, no_levels) {
            let want = r.get_ref().text();
            match f.level_index(&want) {
                Some(i) => f.reference = i,
                None => {
                    let names: Vec<&str> = f.levels.iter().map(|l| l.name.as_str()).collect();
                    return Err(schema_err(
                        schema.line_of(r.span().start),
                        format!(
                            "derived variable '{name}': reference '{want}' is not one of its levels ({})",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        ds.push(Column { name: name.clone(), data, label: spec.label.clone(), label_zh: spec.label_zh.clone() });
    }
    Ok(LoadReport { dataset: ds, violations, fast_path })
}

/// How one cell reads before its type is applied.
enum Cell<'a> {
    Missing,
    Num(f64),
    Str(&'a str),
}

struct Missing {
    nums: Vec<f64>,
    strs: Vec<String>,
}

impl Missing {
    fn new(global: &[Code], own: &[Code]) -> Missing {
        let mut m = Missing { nums: Vec::new(), strs: Vec::new() };
        for c in global.iter().chain(own) {
            match c {
                Code::Str(s) if parse_number(s).is_none() => m.strs.push(s.trim().to_string()),
                c => {
                    if let Some(v) = c.as_f64() {
                        m.nums.push(v)
                    }
                }
            }
        }
        m
    }
    fn num(&self, v: f64) -> Cell<'static> {
        if v.is_nan() || self.nums.contains(&v) {
            Cell::Missing
        } else {
            Cell::Num(v)
        }
    }
    fn text<'a>(&self, s: &'a str) -> Cell<'a> {
        if is_missing_token(s) || self.strs.iter().any(|m| m == s) {
            return Cell::Missing;
        }
        match parse_number(s) {
            Some(v) => self.num(v),
            None => Cell::Str(s),
        }
    }
}

fn convert(
    var: &VariableSpec,
    raw: Option<&RawColumn>,
    lines: &[u64],
    global_missing: &[Code],
    violations: &mut Vec<Violation>,
) -> Column {
    let missing = Missing::new(global_missing, &var.missing);
    let raw_value_labels: &[(f64, String)] = raw.map_or(&[], |r| &r.value_labels);
    // One monomorphic loop per storage of the raw column.
    let data = match raw.map(|r| &r.data) {
        None => convert_cells(var, lines, |_| Cell::Missing, raw_value_labels, violations),
        Some(RawData::Num(v)) => match convert_clean(var, v, &missing, raw_value_labels) {
            Some(data) => data,
            None => convert_cells(var, lines, |i| missing.num(v[i]), raw_value_labels, violations),
        },
        Some(RawData::Str(v)) => convert_cells(
            var,
            lines,
            |i| v[i].as_deref().map_or(Cell::Missing, |s| missing.text(s)),
            raw_value_labels,
            violations,
        ),
    };
    let _ = code_key;
    Column { name: var.name.get_ref().clone(), data, label: var.label.clone(), label_zh: var.label_zh.clone() }
}

/// `v.fract() == 0.0` without the call to `trunc` (x86-64 has no inline rounding before SSE4.1).
#[inline]
fn is_whole(v: f64) -> bool {
    if v.abs() < 4_503_599_627_370_496.0 {
        (v as i64) as f64 == v
    } else {
        v.is_finite()
    }
}

/// Level lookup of a categorical or binary variable's numeric codes: a table for small whole
/// codes, a linear scan (first match, as the schema lists them) for the others.
struct CodeTable {
    small: [u32; CodeTable::SMALL],
    codes: Vec<(f64, u32)>,
}

impl CodeTable {
    const SMALL: usize = 128;
    const NONE: u32 = u32::MAX;

    fn new(codes: Vec<(f64, u32)>) -> CodeTable {
        let mut small = [Self::NONE; Self::SMALL];
        for &(c, l) in &codes {
            if c >= 0.0 && c < Self::SMALL as f64 && (c as usize) as f64 == c && small[c as usize] == Self::NONE {
                small[c as usize] = l;
            }
        }
        CodeTable { small, codes }
    }

    #[inline]
    fn get(&self, v: f64) -> Option<u32> {
        if v >= 0.0 && v < Self::SMALL as f64 && (v as usize) as f64 == v {
            let l = self.small[v as usize];
            return (l != Self::NONE).then_some(l);
        }
        self.codes.iter().find(|(c, _)| *c == v).map(|&(_, l)| l)
    }
}

/// The numeric codes (as a lookup table) and text codes of a categorical or binary variable,
/// and whether it is a plain 0/1 binary without levels.
fn level_codes(var: &VariableSpec) -> (CodeTable, Vec<(String, u32)>, bool) {
    let mut num_codes: Vec<(f64, u32)> = Vec::new();
    let mut str_codes: Vec<(String, u32)> = Vec::new();
    for (li, l) in var.levels.iter().enumerate() {
        for c in l.all_codes() {
            match c {
                Code::Str(s) if parse_number(s).is_none() => str_codes.push((s.clone(), li as u32)),
                c => num_codes.push((c.as_f64().unwrap_or(f64::NAN), li as u32)),
            }
        }
    }
    let binary_plain = var.var_type == VarType::Binary && var.levels.is_empty();
    if binary_plain {
        num_codes = vec![(0.0, 0), (1.0, 1)];
    }
    (CodeTable::new(num_codes), str_codes, binary_plain)
}

/// The column of a categorical or binary variable from its level codes.
fn codes_to_data(
    var: &VariableSpec,
    codes: Vec<u32>,
    binary_plain: bool,
    raw_value_labels: &[(f64, String)],
) -> ColumnData {
    if var.var_type == VarType::Binary {
        let values: Vec<f64> = if binary_plain {
            vec![0.0, 1.0]
        } else {
            var.levels.iter().map(|l| l.value.unwrap_or(f64::NAN)).collect()
        };
        ColumnData::Numeric(
            codes.iter().map(|&c| if c == MISSING_CODE { f64::NAN } else { values[c as usize] }).collect(),
        )
    } else {
        let levels = var
            .levels
            .iter()
            .map(|l| {
                let first = l.all_codes().next().and_then(|c| c.as_f64());
                let file_label =
                    first.and_then(|c| raw_value_labels.iter().find(|(v, _)| *v == c).map(|(_, s)| s.clone()));
                Level { name: l.name.clone(), label: l.label.clone().or(file_label), label_zh: l.label_zh.clone() }
            })
            .collect();
        let reference = var.reference.as_ref().and_then(|r| reference_index(&var.levels, r.get_ref())).unwrap_or(0);
        ColumnData::Categorical(Factor { codes, levels, reference })
    }
}

/// The common case of a numeric raw column in which no cell breaks a rule: one tight loop, no
/// per-cell dispatch. `None` as soon as a cell would be reported (then the general loop
/// converts the column and reports every cell).
fn convert_clean(
    var: &VariableSpec,
    raw: &[f64],
    missing: &Missing,
    raw_value_labels: &[(f64, String)],
) -> Option<ColumnData> {
    let is_missing = |x: f64| x.is_nan() || missing.nums.contains(&x);
    let required = var.required;
    match var.var_type {
        VarType::Continuous | VarType::Count => {
            let count = var.var_type == VarType::Count;
            let [lo, hi] = var.range.unwrap_or([f64::NEG_INFINITY, f64::INFINITY]);
            let mut out = Vec::with_capacity(raw.len());
            for &x in raw {
                out.push(if is_missing(x) {
                    if required {
                        return None;
                    }
                    f64::NAN
                } else if (count && (x < 0.0 || !is_whole(x))) || x < lo || x > hi {
                    return None;
                } else {
                    x
                });
            }
            Some(ColumnData::Numeric(out))
        }
        VarType::Identifier => {
            let mut out = Vec::with_capacity(raw.len());
            for &x in raw {
                out.push(if is_missing(x) {
                    if required {
                        return None;
                    }
                    f64::NAN
                } else {
                    x + 0.0
                });
            }
            Some(ColumnData::Numeric(out))
        }
        VarType::Binary | VarType::Categorical | VarType::Ordinal => {
            let (table, _, binary_plain) = level_codes(var);
            let mut codes = Vec::with_capacity(raw.len());
            for &x in raw {
                codes.push(if is_missing(x) {
                    if required {
                        return None;
                    }
                    MISSING_CODE
                } else {
                    table.get(x)?
                });
            }
            Some(codes_to_data(var, codes, binary_plain, raw_value_labels))
        }
        VarType::Text => None,
    }
}

fn convert_cells<'a>(
    var: &VariableSpec,
    lines: &[u64],
    cell: impl Fn(usize) -> Cell<'a>,
    raw_value_labels: &[(f64, String)],
    violations: &mut Vec<Violation>,
) -> ColumnData {
    let n = lines.len();
    let name = var.name.get_ref();
    let source = var.source();
    let mut report = |i: usize, rule: Rule, value: String, message: String| {
        violations.push(Violation::new(rule, Some(lines[i]), Some(source.to_string()), Some(value), message));
    };
    let required = var.required;
    let required_missing = |report: &mut dyn FnMut(usize, Rule, String, String), i: usize| {
        if required {
            report(i, Rule::RequiredMissing, String::new(), format!("'{name}' is required but missing"));
        }
    };
    match var.var_type {
        VarType::Continuous | VarType::Count => {
            let mut out = Vec::with_capacity(n);
            let count = var.var_type == VarType::Count;
            for i in 0..n {
                let v = match cell(i) {
                    Cell::Missing => {
                        required_missing(&mut report, i);
                        f64::NAN
                    }
                    Cell::Str(s) => {
                        report(i, Rule::NotANumber, s.to_string(), format!("'{name}' expects a number"));
                        f64::NAN
                    }
                    Cell::Num(v) => {
                        if count && (v < 0.0 || !is_whole(v)) {
                            report(
                                i,
                                Rule::NotInteger,
                                super::format_number(v),
                                format!("'{name}' is a count: expects a whole number >= 0"),
                            );
                            f64::NAN
                        } else if let Some([lo, hi]) = var.range.filter(|[lo, hi]| v < *lo || v > *hi) {
                            report(
                                i,
                                Rule::OutOfRange,
                                super::format_number(v),
                                format!(
                                    "'{name}' must lie in [{}, {}]",
                                    super::format_number(lo),
                                    super::format_number(hi)
                                ),
                            );
                            f64::NAN
                        } else {
                            v
                        }
                    }
                };
                out.push(v);
            }
            ColumnData::Numeric(out)
        }
        VarType::Binary | VarType::Categorical | VarType::Ordinal => {
            let (table, str_codes, binary_plain) = level_codes(var);
            let expected = || -> String {
                if binary_plain {
                    return "0 or 1".into();
                }
                var.levels
                    .iter()
                    .flat_map(|l| l.all_codes().map(move |c| format!("{} ({})", c.text(), l.name)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut codes = Vec::with_capacity(n);
            for i in 0..n {
                let code = match cell(i) {
                    Cell::Missing => {
                        required_missing(&mut report, i);
                        MISSING_CODE
                    }
                    Cell::Num(v) => match table.get(v) {
                        Some(l) => l,
                        None => {
                            report(
                                i,
                                Rule::UnknownCode,
                                super::format_number(v),
                                format!("'{name}' expects one of {}", expected()),
                            );
                            MISSING_CODE
                        }
                    },
                    Cell::Str(s) => match str_codes.iter().find(|(c, _)| c == s) {
                        Some((_, l)) => *l,
                        None => {
                            report(
                                i,
                                Rule::UnknownCode,
                                s.to_string(),
                                format!("'{name}' expects one of {}", expected()),
                            );
                            MISSING_CODE
                        }
                    },
                };
                codes.push(code);
            }
            codes_to_data(var, codes, binary_plain, raw_value_labels)
        }
        VarType::Identifier => {
            // Numbers while every value is one (an identifier written as text, e.g. "007",
            // reads as its number, -0 as 0: the value of its shortest decimal form); text as
            // soon as one value is not a number.
            let mut out: Vec<f64> = Vec::with_capacity(n);
            let mut first_text = None;
            for i in 0..n {
                let v = match cell(i) {
                    Cell::Missing => {
                        required_missing(&mut report, i);
                        f64::NAN
                    }
                    Cell::Num(v) => v + 0.0,
                    Cell::Str(_) => {
                        first_text.get_or_insert(i);
                        f64::NAN
                    }
                };
                out.push(v);
            }
            match first_text {
                None => ColumnData::Numeric(out),
                Some(first) => ColumnData::Text(
                    (0..n)
                        .map(|i| match (i < first, out[i]) {
                            (true, v) if v.is_nan() => None,
                            (true, v) => Some(super::format_number(v)),
                            (false, _) => match cell(i) {
                                Cell::Missing => None,
                                Cell::Num(v) => Some(super::format_number(v)),
                                Cell::Str(s) => Some(s.to_string()),
                            },
                        })
                        .collect(),
                ),
            }
        }
        VarType::Text => {
            let mut out: Vec<Option<String>> = Vec::with_capacity(n);
            for i in 0..n {
                let v = match cell(i) {
                    Cell::Missing => {
                        required_missing(&mut report, i);
                        None
                    }
                    Cell::Num(v) => Some(super::format_number(v)),
                    Cell::Str(s) => Some(s.to_string()),
                };
                out.push(v);
            }
            ColumnData::Text(out)
        }
    }
}
