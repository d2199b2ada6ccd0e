//! Parquet (through the `parquet` crate, in `crate::data::parquet`) and Stata `.dta` files
//! (through the `dta` crate; value labels become category labels).

use super::*;

pub(super) fn read_parquet(path: &Path, display: &str, needed: Option<&[String]>) -> Result<RawTable, Error> {
    let pq = crate::data::parquet::read(path, display, needed)?;
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

pub(super) fn read_dta(path: &Path, display: &str, needed: Option<&[String]>) -> Result<RawTable, Error> {
    let io = |e: &dyn std::fmt::Display| {
        Error::Data(DataError::Io { path: display.to_string(), reason: format!("not a readable Stata file: {e}") })
    };
    // Every size the file states, checked against its length before the crate allocates.
    let bytes = crate::data::mapped::read_file(path).map_err(|e| io(&e))?;
    super::dta_check::check(&bytes).map_err(|e| io(&format!("the file is damaged: {e}")))?;
    drop(bytes);
    match crate::data::guard::quietly(|| read_dta_unguarded(path, display, needed)) {
        Ok(result) => result,
        Err(what) => Err(io(&format!("the file is damaged (the Stata decoder failed: {what})"))),
    }
}

fn read_dta_unguarded(path: &Path, display: &str, needed: Option<&[String]>) -> Result<RawTable, Error> {
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
