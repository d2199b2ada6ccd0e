//! Parquet input through the `parquet` crate of Apache Arrow's Rust implementation (without
//! Arrow itself; Snappy, Zstandard, LZ4 and gzip pages). Flat files whose columns are numbers,
//! booleans (read as 0/1) or text (UTF-8, enums, dictionary-encoded categoricals as written by
//! polars and pandas); a missing value (null) becomes NaN or a missing text. Nested columns,
//! dates, timestamps and decimals are refused with a message naming the column.
//!
//! Damaged files (issue #19): the `parquet` crate panics on some corrupt files (a dictionary
//! index out of range, a negative column length, a slice index past a page). Before any data
//! page is decoded, the footer's numbers are checked against the file (row counts not negative,
//! each column chunk's start and length inside the file); the decoding itself runs under
//! `catch_unwind`, so that a panic the checks did not foresee becomes a data error naming the
//! file (exit 1) instead of exit 101. Buffers are never sized from the footer's row count.
//!
//! Infinite values are refused, naming the row and column: a CSV file's `inf` is not a number
//! either, so `fit` and `describe` treat the two formats alike.

use super::load::RawData;
use crate::error::{DataError, Error};
use parquet::basic::{ConvertedType, LogicalType, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::path::Path;
use std::sync::Arc;

/// The columns read from a Parquet file.
pub struct ParquetColumns {
    pub columns: Vec<(String, RawData)>,
    pub n_rows: usize,
    /// Every column name of the file, read or not.
    pub header: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Num,
    Str,
}

/// Reads the columns `needed` (every column when `None`) of a Parquet file.
pub fn read(path: &Path, display: &str, needed: Option<&[String]>) -> Result<ParquetColumns, Error> {
    match super::guard::quietly(|| read_unguarded(path, display, needed)) {
        Ok(result) => result,
        Err(what) => Err(Error::Data(DataError::Io {
            path: display.to_string(),
            reason: format!("not a readable Parquet file: the file is damaged (the Parquet decoder failed: {what})"),
        })),
    }
}

/// The footer's numbers checked against the file before anything is decoded.
fn check_metadata(meta: &parquet::file::metadata::ParquetMetaData, file_len: u64) -> Result<(), String> {
    let rows = meta.file_metadata().num_rows();
    if rows < 0 {
        return Err(format!("the footer gives {rows} rows"));
    }
    let mut total: i64 = 0;
    for (g, rg) in meta.row_groups().iter().enumerate() {
        if rg.num_rows() < 0 {
            return Err(format!("row group {}: {} rows", g + 1, rg.num_rows()));
        }
        total = total.saturating_add(rg.num_rows());
        for c in rg.columns() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let len = c.compressed_size();
            let name = c.column_path().string();
            if start < 0 || len < 0 || c.num_values() < 0 || c.uncompressed_size() < 0 {
                return Err(format!("row group {}, column '{name}': a negative offset, length or count", g + 1));
            }
            if (start as u64).checked_add(len as u64).is_none_or(|end| end > file_len) {
                return Err(format!(
                    "row group {}, column '{name}': bytes {start} to {} lie past the end of the file ({file_len} bytes)",
                    g + 1,
                    start.saturating_add(len)
                ));
            }
        }
    }
    if total != rows {
        return Err(format!("the footer gives {rows} rows, its row groups {total}"));
    }
    Ok(())
}

fn read_unguarded(path: &Path, display: &str, needed: Option<&[String]>) -> Result<ParquetColumns, Error> {
    let io = |reason: String| Error::Data(DataError::Io { path: display.to_string(), reason });
    let file = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
    let file_len = file.metadata().map_err(|e| io(e.to_string()))?.len();
    let reader = SerializedFileReader::new(file).map_err(|e| io(format!("not a readable Parquet file: {e}")))?;
    let meta = reader.metadata();
    check_metadata(meta, file_len).map_err(|e| io(format!("not a readable Parquet file: the file is damaged: {e}")))?;
    let descr = meta.file_metadata().schema_descr();
    let root = descr.root_schema();
    let header: Vec<String> = root.get_fields().iter().map(|f| f.name().to_string()).collect();
    // Columns are selected by name, so two columns of one name cannot be told apart (the
    // crate's own message was "Root schema does not contain projection").
    for (j, name) in header.iter().enumerate() {
        if let Some(first) = header[..j].iter().position(|h| h == name) {
            return Err(Error::Data(DataError::Other(format!(
                "{display}: the column name '{name}' appears twice (columns {} and {}); rename one of them",
                first + 1,
                j + 1
            ))));
        }
    }

    let mut fields = Vec::new();
    let mut kinds = Vec::new();
    for field in root.get_fields() {
        let name = field.name();
        if needed.is_some_and(|n| !n.iter().any(|x| x == name)) {
            continue;
        }
        let unsupported = |what: String| {
            Error::Data(DataError::Other(format!(
                "{display}: column '{name}' is {what}, which migfit does not read from Parquet (numbers, booleans and text only)"
            )))
        };
        if !field.is_primitive() {
            return Err(unsupported("a nested (group) column".into()));
        }
        let info = field.get_basic_info();
        if info.has_repetition() && info.repetition() == parquet::basic::Repetition::REPEATED {
            return Err(unsupported("a repeated (list) column".into()));
        }
        let logical = info.logical_type_ref();
        let converted = info.converted_type();
        let kind = match field.get_physical_type() {
            Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY => match (logical, converted) {
                (Some(LogicalType::String | LogicalType::Enum | LogicalType::Json), _)
                | (_, ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON) => Kind::Str,
                (Some(LogicalType::Decimal { .. }), _) | (_, ConvertedType::DECIMAL) => {
                    return Err(unsupported("a decimal column".into()))
                }
                (Some(l), _) => return Err(unsupported(logical_name(l))),
                _ => return Err(unsupported("a binary (bytes) column".into())),
            },
            Physical::BOOLEAN | Physical::FLOAT | Physical::DOUBLE => Kind::Num,
            Physical::INT32 | Physical::INT64 => match (logical, converted) {
                (Some(LogicalType::Integer { .. }), _) | (None, ConvertedType::NONE) => Kind::Num,
                (_, ConvertedType::INT_8 | ConvertedType::INT_16 | ConvertedType::INT_32 | ConvertedType::INT_64)
                | (
                    _,
                    ConvertedType::UINT_8 | ConvertedType::UINT_16 | ConvertedType::UINT_32 | ConvertedType::UINT_64,
                ) => Kind::Num,
                (Some(LogicalType::Decimal { .. }), _) | (_, ConvertedType::DECIMAL) => {
                    return Err(unsupported("a decimal column".into()))
                }
                (Some(l), _) => return Err(unsupported(logical_name(l))),
                (None, c) => return Err(unsupported(format!("a {c} column"))),
            },
            Physical::INT96 => return Err(unsupported("a timestamp (INT96) column".into())),
        };
        fields.push(Arc::clone(field));
        kinds.push(kind);
    }

    let n_rows = usize::try_from(meta.file_metadata().num_rows()).unwrap_or(0);
    // The footer's count is a hint, not a promise: at most a million rows reserved up front.
    let reserve = n_rows.min(1 << 20);
    let mut data: Vec<RawData> = kinds
        .iter()
        .map(|k| match k {
            Kind::Num => RawData::Num(Vec::with_capacity(reserve)),
            Kind::Str => RawData::Str(Vec::with_capacity(reserve)),
        })
        .collect();
    if !fields.is_empty() {
        let projection = parquet::schema::types::Type::group_type_builder(root.name())
            .with_fields(fields.clone())
            .build()
            .map_err(|e| io(format!("cannot select the columns: {e}")))?;
        let rows = reader.get_row_iter(Some(projection)).map_err(|e| io(format!("cannot read the rows: {e}")))?;
        for (r, row) in rows.enumerate() {
            let row = row.map_err(|e| io(format!("row {}: {e}", r + 1)))?;
            for (j, (_, value)) in row.get_column_iter().enumerate() {
                let Some(col) = data.get_mut(j) else { break };
                match col {
                    RawData::Num(v) => v.push(number(value).filter(|x| !x.is_infinite()).ok_or_else(|| {
                        let what = if number(value).is_some() { "is not a finite number" } else { "is not a number" };
                        Error::Data(DataError::Other(format!(
                            "{display}: row {}, column '{}': value {value} {what}",
                            r + 1,
                            fields[j].name()
                        )))
                    })?),
                    RawData::Str(v) => v.push(match value {
                        Field::Null => None,
                        Field::Str(s) => Some(s.trim().to_string()),
                        other => Some(other.to_string()),
                    }),
                }
            }
        }
    }
    let n_read = data.first().map_or(n_rows, |d| match d {
        RawData::Num(v) => v.len(),
        RawData::Str(v) => v.len(),
    });
    let columns = fields.iter().map(|f| f.name().to_string()).zip(data).collect();
    Ok(ParquetColumns { columns, n_rows: n_read, header })
}

/// "a date column" and the like, for a logical type migfit does not read.
fn logical_name(l: &LogicalType) -> String {
    match l {
        LogicalType::Date => "a date column".into(),
        LogicalType::Time { .. } => "a time-of-day column".into(),
        LogicalType::Timestamp { .. } => "a timestamp column".into(),
        LogicalType::Float16 => "a float16 (half-precision) column; write it as float32 or float64".into(),
        LogicalType::Unknown => "a column of the null type (no values, no type); drop it or give it a type".into(),
        LogicalType::Uuid => "a UUID column".into(),
        LogicalType::Bson => "a BSON column".into(),
        LogicalType::Map => "a map column".into(),
        LogicalType::List => "a list column".into(),
        other => format!("a {} column", format!("{other:?}").split([' ', '(', '{']).next().unwrap_or("binary")),
    }
}

/// A numeric cell as f64 (null: NaN); `None` for a value that is not a number.
fn number(f: &Field) -> Option<f64> {
    Some(match *f {
        Field::Null => f64::NAN,
        Field::Bool(b) => f64::from(u8::from(b)),
        Field::Byte(x) => f64::from(x),
        Field::Short(x) => f64::from(x),
        Field::Int(x) => f64::from(x),
        Field::Long(x) => x as f64,
        Field::UByte(x) => f64::from(x),
        Field::UShort(x) => f64::from(x),
        Field::UInt(x) => f64::from(x),
        Field::ULong(x) => x as f64,
        Field::Float(x) => f64::from(x),
        Field::Double(x) => x,
        _ => return None,
    })
}
