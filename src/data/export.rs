//! Writing a per-row numeric table as Parquet (`--predict FILE.parquet`): one row group,
//! `row` a required INT64, every other column an optional DOUBLE (null for NaN, an empty cell).
//! The bytes are built in memory and written atomically by the caller (`io::write_atomic`).

use crate::error::{DataError, Error, Result};
use parquet::basic::{Repetition, Type as Physical};
use parquet::data_type::{DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::sync::Arc;

fn fail(e: impl std::fmt::Display) -> Error {
    Error::Data(DataError::Other(format!("cannot encode the Parquet output: {e}")))
}

/// The Parquet file of `row` and the named columns.
pub fn parquet_bytes(rows: &[u64], columns: &[(String, Vec<f64>)]) -> Result<Vec<u8>> {
    let mut fields = vec![Arc::new(
        Type::primitive_type_builder("row", Physical::INT64)
            .with_repetition(Repetition::REQUIRED)
            .build()
            .map_err(fail)?,
    )];
    for (name, _) in columns {
        fields.push(Arc::new(
            Type::primitive_type_builder(name, Physical::DOUBLE)
                .with_repetition(Repetition::OPTIONAL)
                .build()
                .map_err(fail)?,
        ));
    }
    let schema = Arc::new(Type::group_type_builder("schema").with_fields(fields).build().map_err(fail)?);
    let mut out = Vec::new();
    let props = Arc::new(WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(&mut out, schema, props).map_err(fail)?;
    let mut rg = w.next_row_group().map_err(fail)?;
    {
        let mut col = rg.next_column().map_err(fail)?.ok_or_else(|| fail("no row column"))?;
        let v: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        col.typed::<Int64Type>().write_batch(&v, None, None).map_err(fail)?;
        col.close().map_err(fail)?;
    }
    for (name, values) in columns {
        let mut col = rg.next_column().map_err(fail)?.ok_or_else(|| fail(format!("no column {name}")))?;
        let present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let def: Vec<i16> = values.iter().map(|v| i16::from(v.is_finite())).collect();
        col.typed::<DoubleType>().write_batch(&present, Some(&def), None).map_err(fail)?;
        col.close().map_err(fail)?;
    }
    rg.close().map_err(fail)?;
    w.close().map_err(fail)?;
    Ok(out)
}
