//! A file as read, before a schema gives it meaning: raw columns (numbers or text), each row's
//! line (CSV) or observation number (Parquet, Stata), and the problems met while reading.
//! Every reader produces one; `load::apply_schema` or [`raw_to_dataset`] turns it into a
//! [`Dataset`].

use super::validate::Violation;
use super::{csv::is_missing_token, csv::parse_number, Column, ColumnData, Dataset, Factor};

/// The values of a raw column: numbers (`NaN` = a missing value the file itself marks, e.g.
/// Stata's `.`) or text.
#[derive(Debug, Clone, PartialEq)]
pub enum RawData {
    Num(Vec<f64>),
    Str(Vec<Option<String>>),
}

impl RawData {
    pub(crate) fn len(&self) -> usize {
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
    pub(crate) fn column(&self, name: &str) -> Option<&RawColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

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
