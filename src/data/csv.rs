//! Plain CSV with a header line: the schema-less input of `migfit fit`.
//!
//! A column is numeric when every non-missing value parses as a number; otherwise it is kept
//! as text (and must be wrapped in `C()` to enter a model). Missing values are the empty
//! string, `NA`, `NaN` and Stata's `.`, `.a` ... `.z`.

use super::{Column, ColumnData, DataError, Dataset};
use std::path::Path;

/// Options for reading a plain CSV file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { delimiter: b',' }
    }
}

/// True for the tokens that mean "missing" in a plain CSV.
pub fn is_missing_token(s: &str) -> bool {
    let t = s.trim();
    t.is_empty()
        || t == "NA"
        || t == "NaN"
        || t == "."
        || (t.len() == 2 && t.starts_with('.') && t.as_bytes()[1].is_ascii_lowercase())
}

/// Parses a number the way a CSV exported from Stata, R or a spreadsheet writes it.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let v: f64 = t.parse().ok()?;
    // Rust accepts "inf" and "nan" spellings; data files should not contain them as numbers.
    if v.is_finite() {
        Some(v)
    } else {
        None
    }
}

/// Reads a CSV file into a [`Dataset`], inferring numeric and text columns.
///
/// A regular file (UTF-8, no quotes, no blank or ragged lines) takes the
/// parallel fast path of the schema loader ([`super::fastcsv`]); anything else, and every
/// error message, comes from the precise reader ([`read_csv_bytes`]). Both give the same data.
pub fn read_csv(path: &Path, opts: &CsvOptions) -> Result<Dataset, DataError> {
    read_csv_projected(path, opts, None)
}

/// [`read_csv`] with column projection: only the columns `columns` names are parsed and kept
/// (type detection per parsed column as for a full read). The whole file is still checked
/// (header, ragged rows, encoding), and a name that is not a column of the file switches
/// projection off, so that errors are those of a full read. `None` reads every column.
pub fn read_csv_projected(path: &Path, opts: &CsvOptions, columns: Option<&[String]>) -> Result<Dataset, DataError> {
    let display = path.display().to_string();
    let bytes =
        super::mapped::read_file(path).map_err(|e| DataError::Io { path: display.clone(), reason: e.to_string() })?;
    read_csv_bytes_projected(&bytes, &display, opts, columns)
}

/// [`read_csv_projected`] for CSV text in memory.
pub fn read_csv_bytes_projected(
    bytes: &[u8],
    display: &str,
    opts: &CsvOptions,
    columns: Option<&[String]>,
) -> Result<Dataset, DataError> {
    if let Some(ds) = read_csv_fast(bytes, display, opts, columns)? {
        return Ok(ds);
    }
    read_csv_bytes_cols(bytes, display, opts, columns)
}

/// The fast path of [`read_csv`]: `None` when the file is not regular enough for it.
fn read_csv_fast(
    bytes: &[u8],
    display: &str,
    opts: &CsvOptions,
    columns: Option<&[String]>,
) -> Result<Option<Dataset>, DataError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Projected columns are parsed as every column of a full read is: numbers, or text as soon
    // as one value is not a number.
    let Some(raw) = super::fastcsv::read(body, display, opts.delimiter, columns, columns.unwrap_or(&[]), &[]) else {
        return Ok(None);
    };
    if let Some(cols) = columns {
        if !cols.iter().all(|c| raw.header.contains(c)) {
            drop(raw);
            return read_csv_fast(bytes, display, opts, None);
        }
    }
    if raw.line_numbers.is_empty() || !raw.problems.is_empty() {
        return Ok(None);
    }
    let names = &raw.header;
    if names.iter().any(|n| n.trim() != n) {
        return Ok(None);
    }
    check_header(names, display)?;
    let mut raw = raw;
    for c in &mut raw.columns {
        if let super::load::RawData::Str(v) = &mut c.data {
            // As the precise reader: text cells trimmed.
            for s in v.iter_mut().flatten() {
                if s.trim().len() != s.len() {
                    *s = s.trim().to_string();
                }
            }
        }
    }
    Ok(Some(super::load::raw_to_dataset(raw)))
}

/// Reads CSV from memory (UTF-8, with or without a byte-order mark).
pub fn read_csv_bytes(bytes: &[u8], display: &str, opts: &CsvOptions) -> Result<Dataset, DataError> {
    read_csv_bytes_cols(bytes, display, opts, None)
}

/// The precise reader: every row and field checked, the columns `columns` kept (all when
/// `None` or when one of them is not in the header).
fn read_csv_bytes_cols(
    bytes: &[u8],
    display: &str,
    opts: &CsvOptions,
    columns: Option<&[String]>,
) -> Result<Dataset, DataError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DataError::Empty { path: display.to_string() });
    }
    let mut reader =
        csv::ReaderBuilder::new().delimiter(opts.delimiter).has_headers(false).flexible(true).from_reader(bytes);
    let mut records = reader.byte_records();
    let mut lc = super::lines::LineCounter::new(bytes);
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(csv_error(display, e, &mut lc)),
        None => return Err(DataError::Empty { path: display.to_string() }),
    };
    let header: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, f)| {
            std::str::from_utf8(f).map(|s| s.trim().to_string()).map_err(|_| DataError::Malformed {
                path: display.to_string(),
                line: 1,
                reason: format!("header field {} is not valid UTF-8 (is the file GBK-encoded?)", i + 1),
            })
        })
        .collect::<Result<_, _>>()?;
    check_header(&header, display)?;

    let ncol = header.len();
    let keep: Vec<bool> = match columns {
        Some(cols) if cols.iter().all(|c| header.contains(c)) => header.iter().map(|h| cols.contains(h)).collect(),
        _ => vec![true; ncol],
    };
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); ncol];
    let mut lines = Vec::new();
    for rec in records {
        let rec = rec.map_err(|e| csv_error(display, e, &mut lc))?;
        let line = rec.position().map_or(0, |p| lc.line_of(p.byte()));
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line
        }
        if rec.len() != ncol {
            return Err(DataError::Ragged { path: display.to_string(), line, found: rec.len(), expected: ncol });
        }
        for (j, field) in rec.iter().enumerate() {
            let s = std::str::from_utf8(field).map_err(|_| DataError::Malformed {
                path: display.to_string(),
                line,
                reason: format!("column '{}' is not valid UTF-8 (is the file GBK-encoded?)", header[j]),
            })?;
            if keep[j] {
                cells[j].push(if is_missing_token(s) { None } else { Some(s.trim().to_string()) });
            }
        }
        lines.push(line);
    }

    let mut ds = Dataset::new(display, lines);
    for ((name, values), _) in header.into_iter().zip(cells).zip(&keep).filter(|(_, &k)| k) {
        let numbers: Option<Vec<f64>> =
            values.iter().map(|v| v.as_deref().map_or(Some(f64::NAN), parse_number)).collect();
        let data = match numbers {
            Some(n) => ColumnData::Numeric(n),
            None => ColumnData::Text(values),
        };
        ds.push(Column { name, data, label: None, label_zh: None });
    }
    Ok(ds)
}

pub(crate) fn check_header(header: &[String], display: &str) -> Result<(), DataError> {
    if header.iter().all(|h| parse_number(h).is_some()) {
        return Err(DataError::Malformed {
            path: display.to_string(),
            line: 1,
            reason: "the first line holds only numbers; expected a header line naming the columns".into(),
        });
    }
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(DataError::Malformed {
                path: display.to_string(),
                line: 1,
                reason: format!("column {} has an empty name in the header", i + 1),
            });
        }
        if let Some(j) = header[..i].iter().position(|p| p == h) {
            return Err(DataError::DuplicateColumn {
                path: display.to_string(),
                name: h.clone(),
                first: j + 1,
                second: i + 1,
            });
        }
    }
    Ok(())
}

fn csv_error(display: &str, e: csv::Error, lc: &mut super::lines::LineCounter) -> DataError {
    let line = e.position().map_or(0, |p| lc.line_of(p.byte()));
    DataError::Malformed { path: display.to_string(), line, reason: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Result<Dataset, DataError> {
        read_csv_bytes(s.as_bytes(), "t.csv", &CsvOptions::default())
    }

    /// The fast path of `read_csv` gives exactly the precise reader's dataset, or steps aside.
    #[test]
    fn fast_path_equals_the_precise_reader() {
        let mut text = String::from("\u{FEFF}y,x,g,h,m\n");
        for i in 0..5000 {
            let x = if i % 97 == 0 { "NA".to_string() } else { format!("{}", (i as f64) * 0.37 - 11.0) };
            let g = [" a", "b ", "c", "NA", "."][i % 5];
            let m = if i % 13 == 0 { "" } else { "2.5e-3" };
            text.push_str(&format!("{},{x},{g},{},{m}\n", i % 2, if i == 4000 { "text" } else { "1" }));
        }
        let fast =
            read_csv_fast(text.as_bytes(), "t.csv", &CsvOptions::default(), None).unwrap().expect("regular file");
        let precise = read(&text).unwrap();
        assert_eq!(fast.line_numbers, precise.line_numbers);
        for c in precise.columns() {
            let f = fast.column(&c.name).expect("same columns");
            match (&c.data, &f.data) {
                (ColumnData::Numeric(a), ColumnData::Numeric(b)) => {
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert!(bits(a) == bits(b), "column {}", c.name);
                }
                (a, b) => assert!(a == b, "column {}: {} vs {}", c.name, a.kind(), b.kind()),
            }
        }
        assert_eq!(fast.columns().len(), precise.columns().len());
        // Non-finite spellings are text, as in the precise reader (fastcsv uses `parse_number`).
        let inf = "y,x\n1,inf\n2,1e400\n";
        let f = read_csv_fast(inf.as_bytes(), "t.csv", &CsvOptions::default(), None).unwrap().expect("regular file");
        assert_eq!(f.column("x").unwrap().data, read(inf).unwrap().column("x").unwrap().data);
        assert_eq!(f.column("x").unwrap().data.kind(), "text");
        // Irregular files are left to the precise reader (its messages).
        for bad in ["y,x\n1,2\n3\n", "y,x\n1,\"2\"\n", "y,x\n"] {
            assert!(read_csv_fast(bad.as_bytes(), "t.csv", &CsvOptions::default(), None).unwrap().is_none(), "{bad:?}");
        }
    }

    #[test]
    fn infers_numeric_and_text() {
        let ds = read("y,x,g\n1,2.5,a\n0,NA,b\n1,3,\n").unwrap();
        assert_eq!(ds.n_rows(), 3);
        match &ds.column("x").unwrap().data {
            ColumnData::Numeric(v) => assert!(v[1].is_nan() && v[2] == 3.0),
            other => panic!("{other:?}"),
        }
        assert!(matches!(ds.column("g").unwrap().data, ColumnData::Text(_)));
        assert_eq!(ds.line_numbers, vec![2, 3, 4]);
    }

    #[test]
    fn ragged_row_names_line() {
        let e = read("a,b\n1,2\n3\n").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("1 fields"), "{e}");
    }

    #[test]
    fn header_of_numbers_is_rejected() {
        let e = read("1,2\n3,4\n").unwrap_err().to_string();
        assert!(e.contains("header"), "{e}");
    }

    #[test]
    fn duplicate_header() {
        let e = read("a,a\n1,2\n").unwrap_err().to_string();
        assert!(e.contains("duplicate column name 'a'"), "{e}");
    }

    #[test]
    fn bom_is_skipped() {
        let ds = read("\u{feff}a,b\n1,2\n").unwrap();
        assert!(ds.column("a").is_some());
    }
}
