//! Parquet input through the `parquet` crate of Apache Arrow's Rust implementation (without
//! Arrow itself; Snappy, Zstandard, LZ4 and gzip pages). Flat files whose columns are numbers,
//! booleans (read as 0/1) or text (UTF-8, enums, dictionary-encoded categoricals as written by
//! polars and pandas); a missing value (null) becomes NaN or a missing text. Nested columns,
//! dates, timestamps and decimals are refused with a message naming the column.

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
    let io = |reason: String| Error::Data(DataError::Io { path: display.to_string(), reason });
    let file = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
    let reader = SerializedFileReader::new(file).map_err(|e| io(format!("not a readable Parquet file: {e}")))?;
    let meta = reader.metadata();
    let descr = meta.file_metadata().schema_descr();
    let root = descr.root_schema();
    let header: Vec<String> = root.get_fields().iter().map(|f| f.name().to_string()).collect();

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
                _ => return Err(unsupported("a binary column".into())),
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
                (Some(l), _) => return Err(unsupported(format!("a {l:?} column"))),
                (None, c) => return Err(unsupported(format!("a {c} column"))),
            },
            Physical::INT96 => return Err(unsupported("a timestamp (INT96) column".into())),
        };
        fields.push(Arc::clone(field));
        kinds.push(kind);
    }

    let n_rows = usize::try_from(meta.file_metadata().num_rows()).unwrap_or(0);
    let mut data: Vec<RawData> = kinds
        .iter()
        .map(|k| match k {
            Kind::Num => RawData::Num(Vec::with_capacity(n_rows)),
            Kind::Str => RawData::Str(Vec::with_capacity(n_rows)),
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
                    RawData::Num(v) => v.push(number(value).ok_or_else(|| {
                        Error::Data(DataError::Other(format!(
                            "{display}: row {}, column '{}': value {value} is not a number",
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
