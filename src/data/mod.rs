//! In-memory data: a rectangular table of named columns.
//!
//! Every loader (plain CSV today; schema-driven CSV, Parquet and Stata `.dta` later) produces a
//! [`Dataset`]; the formula layer reads only this type. Missing values are explicit:
//! `NaN` in numeric columns, [`MISSING_CODE`] in factors, `None` in text.

pub mod csv;
pub mod describe;
pub mod design_spec;
pub mod export;
pub mod expr;
mod fastcsv;
pub mod guard;
pub mod lines;
pub mod load;
pub mod mapped;
pub mod parquet;
pub mod raw;
pub mod schema;
pub mod source;
pub mod validate;

pub use crate::error::DataError;

use std::collections::HashMap;
use std::fmt;

/// Code used for a missing value in a [`Factor`].
pub const MISSING_CODE: u32 = u32::MAX;

/// One level of a categorical variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Short name used in term names, e.g. `URBMI` in `scheme[URBMI]` or `2` in `C(g)[2]`.
    pub name: String,
    /// Human-readable label (English), used by reports.
    pub label: Option<String>,
    /// Chinese label, used by reports with `--lang zh`.
    pub label_zh: Option<String>,
}

impl Level {
    pub fn new(name: impl Into<String>) -> Self {
        Level { name: name.into(), label: None, label_zh: None }
    }
}

/// A categorical variable: one code per row indexing into `levels`.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// Index into `levels` for each row, or [`MISSING_CODE`].
    pub codes: Vec<u32>,
    /// Levels in their natural order (the order used for dummy columns).
    pub levels: Vec<Level>,
    /// Index of the reference (omitted) level.
    pub reference: usize,
}

/// The distinct bit patterns of the non-missing values of a block: a short list searched
/// linearly while it is short (the usual factor), a hash set once it is long.
fn distinct_bits(block: &[f64]) -> Vec<u64> {
    let mut few: Vec<u64> = Vec::new();
    let mut many: Option<std::collections::HashSet<u64>> = None;
    for v in block.iter().filter(|v| !v.is_nan()) {
        let b = (v + 0.0).to_bits(); // -0 is 0
        match &mut many {
            Some(set) => {
                set.insert(b);
            }
            None if few.contains(&b) => {}
            None => {
                few.push(b);
                if few.len() > 32 {
                    many = Some(few.iter().copied().collect());
                }
            }
        }
    }
    match many {
        Some(set) => set.into_iter().collect(),
        None => few,
    }
}

impl Factor {
    /// Builds a factor from optional strings; levels sorted numerically when every value parses
    /// as a number, lexicographically otherwise (R's and Stata's `encode` default).
    pub fn from_strings<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Factor {
        let values: Vec<Option<&str>> = values.into_iter().collect();
        let mut distinct: Vec<&str> = values.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let numeric: Option<Vec<f64>> = distinct.iter().map(|s| s.trim().parse::<f64>().ok()).collect();
        if let Some(nums) = numeric {
            let mut pairs: Vec<(f64, &str)> = nums.into_iter().zip(distinct.iter().copied()).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            distinct = pairs.into_iter().map(|p| p.1).collect();
        }
        let index: HashMap<&str, u32> = distinct.iter().enumerate().map(|(i, s)| (*s, i as u32)).collect();
        let codes = values.iter().map(|v| v.map_or(MISSING_CODE, |s| index[s])).collect();
        Factor { codes, levels: distinct.iter().map(|s| Level::new(*s)).collect(), reference: 0 }
    }

    /// Builds a factor from a numeric column: levels are the distinct non-missing values in
    /// ascending order, named by their shortest decimal form (`2`, not `2.0`).
    pub fn from_numbers(values: &[f64]) -> Factor {
        use rayon::prelude::*;
        if let Some(f) = Factor::from_small_integers(values) {
            return f;
        }
        // Distinct values by their bits (the equality of `total_cmp`), per block of rows in
        // parallel, then merged and sorted: a factor has few levels and many rows.
        let mut bits: Vec<u64> = values.par_chunks(1 << 16).map(distinct_bits).reduce(Vec::new, |mut a, b| {
            a.extend(b);
            a
        });
        bits.sort_unstable();
        bits.dedup();
        let mut distinct: Vec<f64> = bits.into_iter().map(f64::from_bits).collect();
        distinct.sort_unstable_by(f64::total_cmp);
        let codes = values
            .par_iter()
            .map(|v| {
                if v.is_nan() {
                    MISSING_CODE
                } else {
                    let v = v + 0.0; // -0 is 0
                    distinct.binary_search_by(|d| d.total_cmp(&v)).map(|i| i as u32).unwrap_or(MISSING_CODE)
                }
            })
            .collect();
        Factor { codes, levels: distinct.iter().map(|v| Level::new(format_number(*v))).collect(), reference: 0 }
    }

    /// [`Factor::from_numbers`] when every non-missing value is a whole number from 0 to 255
    /// (the usual coding of categories; -0 is 0): the levels are found with a table of flags
    /// and the codes by look-up, a few instructions per row. `None` for any other value.
    fn from_small_integers(values: &[f64]) -> Option<Factor> {
        use rayon::prelude::*;
        const SMALL: usize = 256;
        let seen = values
            .par_chunks(1 << 16)
            .map(|block| {
                let mut seen = [false; SMALL];
                for &v in block.iter().filter(|v| !v.is_nan()) {
                    let i = v as usize; // saturating; checked below
                    if !(v >= 0.0 && i < SMALL && i as f64 == v) {
                        return None;
                    }
                    seen[i] = true;
                }
                Some(seen)
            })
            .reduce(
                || Some([false; SMALL]),
                |a, b| {
                    let (mut a, b) = (a?, b?);
                    a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
                    Some(a)
                },
            )?;
        let mut table = [MISSING_CODE; SMALL];
        let mut levels = Vec::new();
        for (i, _) in seen.iter().enumerate().filter(|(_, &s)| s) {
            table[i] = levels.len() as u32;
            levels.push(Level::new(format_number(i as f64)));
        }
        let codes = values.par_iter().map(|&v| if v.is_nan() { MISSING_CODE } else { table[v as usize] }).collect();
        Some(Factor { codes, levels, reference: 0 })
    }

    /// Index of the level called `name` (by name, or by numeric value when both parse).
    pub fn level_index(&self, name: &str) -> Option<usize> {
        if let Some(i) = self.levels.iter().position(|l| l.name == name) {
            return Some(i);
        }
        let want: f64 = name.trim().parse().ok()?;
        self.levels.iter().position(|l| l.name.trim().parse::<f64>().ok() == Some(want))
    }
}

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Numbers; `NaN` marks a missing value.
    Numeric(Vec<f64>),
    /// A categorical variable (from a schema, value labels, or `C()`).
    Categorical(Factor),
    /// Free text that is not (yet) a factor; `None` marks a missing value.
    Text(Vec<Option<String>>),
}

impl ColumnData {
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Categorical(f) => f.codes.len(),
            ColumnData::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            ColumnData::Numeric(v) => v[row].is_nan(),
            ColumnData::Categorical(f) => f.codes[row] == MISSING_CODE,
            ColumnData::Text(v) => v[row].is_none(),
        }
    }

    /// A short name of the storage kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ColumnData::Numeric(_) => "numeric",
            ColumnData::Categorical(_) => "categorical",
            ColumnData::Text(_) => "text",
        }
    }
}

/// A named column with optional metadata from a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data: ColumnData,
    /// Variable label (English), if a schema or file provides one.
    pub label: Option<String>,
    /// Chinese variable label, if the schema gives one (`label_zh`; used with `--lang zh`).
    pub label_zh: Option<String>,
}

/// A rectangular table of named columns, with the file line number of every row.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Where the data came from (a path), for messages.
    pub source: String,
    columns: Vec<Column>,
    index: HashMap<String, usize>,
    /// Line number in the source file of each row (1-based, header = line 1 for CSV), used in
    /// messages so that users can find the row in their editor.
    pub line_numbers: Vec<u64>,
}

impl Dataset {
    pub fn new(source: impl Into<String>, line_numbers: Vec<u64>) -> Self {
        Dataset { source: source.into(), columns: Vec::new(), index: HashMap::new(), line_numbers }
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.line_numbers.len()
    }

    /// Adds (or replaces) a column. Panics if its length differs from the row count: that is
    /// a bug in the loader, not a data problem.
    pub fn push(&mut self, column: Column) {
        assert_eq!(column.data.len(), self.n_rows(), "column {} has the wrong length", column.name);
        if let Some(&i) = self.index.get(&column.name) {
            self.columns[i] = column;
        } else {
            self.index.insert(column.name.clone(), self.columns.len());
            self.columns.push(column);
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.index.get(name).map(|&i| &self.columns[i])
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Keeps only the rows where `keep` is true (used by subsamples and `--if`).
    pub fn filter_rows(&self, keep: &[bool]) -> Dataset {
        assert_eq!(keep.len(), self.n_rows());
        let pick = |i: usize| keep[i];
        let line_numbers = self.line_numbers.iter().enumerate().filter(|(i, _)| pick(*i)).map(|(_, &l)| l).collect();
        let mut out = Dataset::new(self.source.clone(), line_numbers);
        for c in &self.columns {
            let data = match &c.data {
                ColumnData::Numeric(v) => ColumnData::Numeric(select(v, keep)),
                ColumnData::Text(v) => ColumnData::Text(select(v, keep)),
                ColumnData::Categorical(f) => ColumnData::Categorical(Factor {
                    codes: select(&f.codes, keep),
                    levels: f.levels.clone(),
                    reference: f.reference,
                }),
            };
            out.push(Column { name: c.name.clone(), data, label: c.label.clone(), label_zh: c.label_zh.clone() });
        }
        out
    }

    /// Keeps only the rows where `keep` is true, in place (no copy when every row is kept).
    pub fn retain_rows(&mut self, keep: &[bool]) {
        assert_eq!(keep.len(), self.n_rows());
        if keep.iter().all(|&k| k) {
            return;
        }
        retain(&mut self.line_numbers, keep);
        for c in &mut self.columns {
            match &mut c.data {
                ColumnData::Numeric(v) => retain(v, keep),
                ColumnData::Text(v) => retain(v, keep),
                ColumnData::Categorical(f) => retain(&mut f.codes, keep),
            }
        }
    }

    /// Keeps only the columns whose name `keep` accepts, in their order.
    pub fn retain_columns(&mut self, keep: impl Fn(&str) -> bool) {
        self.columns.retain(|c| keep(&c.name));
        self.index = self.columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
    }

    /// The known column name closest to `name` (for "did you mean" hints).
    pub fn closest_name(&self, name: &str) -> Option<&str> {
        closest(name, self.names())
    }
}

/// The dataset a job reads: borrowed (a batch runs many variants, a command several jobs, on
/// one dataset) or handed over (the only job of a command line run), so that the job can free
/// the columns once its designs hold what they read ([`Data::release`]).
pub enum Data<'a> {
    Borrowed(&'a Dataset),
    Owned(Dataset),
}

impl std::ops::Deref for Data<'_> {
    type Target = Dataset;
    fn deref(&self) -> &Dataset {
        match self {
            Data::Borrowed(ds) => ds,
            Data::Owned(ds) => ds,
        }
    }
}

impl Data<'_> {
    /// Frees every column `keep` rejects when the dataset is owned; a borrowed one is left as
    /// it is. The columns kept are the ones the job still reads.
    pub fn release(&mut self, keep: impl Fn(&str) -> bool) {
        if let Data::Owned(ds) = self {
            ds.retain_columns(keep);
        }
    }
}

fn retain<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    v.shrink_to_fit();
}

fn select<T: Clone>(v: &[T], keep: &[bool]) -> Vec<T> {
    v.iter().zip(keep).filter(|(_, &k)| k).map(|(x, _)| x.clone()).collect()
}

/// The candidate with the smallest edit distance to `name`, if it is close enough to be a
/// plausible typo (distance at most a third of the length, and at most 3).
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lname = name.to_lowercase();
    candidates
        .map(|c| (edit_distance(&lname, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 3 && *d * 3 <= c.chars().count().max(name.chars().count()).max(3))
        // Ties: prefer a name that extends or truncates the typed one, then similar length.
        .min_by_key(|(d, c)| {
            let lc = c.to_lowercase();
            let related = lc.starts_with(&lname) || lname.starts_with(&lc);
            (*d, !related, c.chars().count().abs_diff(name.chars().count()))
        })
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Formats a number in its shortest round-trip decimal form (`2`, `0.5`, `-1e-12`).
pub fn format_number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} rows, {} columns)", self.source, self.n_rows(), self.columns.len())
    }
}

#[cfg(test)]
mod factor_tests {
    use super::{Factor, MISSING_CODE};

    #[test]
    fn from_numbers_levels_sorted_codes_and_missing() {
        let f = Factor::from_numbers(&[3.0, 1.0, f64::NAN, 2.5, 1.0, -0.0, 0.0]);
        let names: Vec<&str> = f.levels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["0", "1", "2.5", "3"]);
        assert_eq!(f.codes, [3, 1, MISSING_CODE, 2, 1, 0, 0]);
    }

    #[test]
    fn from_numbers_small_integers_by_table() {
        // Whole numbers 0..=255 (with -0 and NaN) take the table; 256 or 2.5 anywhere the
        // general path, with the same result for the values both can code.
        let v = [3.0, 255.0, f64::NAN, -0.0, 0.0, 3.0, 17.0];
        let f = Factor::from_numbers(&v);
        let names: Vec<&str> = f.levels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["0", "3", "17", "255"]);
        assert_eq!(f.codes, [1, 3, MISSING_CODE, 0, 0, 1, 2]);
        for other in [256.0, 2.5, -1.0, f64::INFINITY] {
            let mut w = v.to_vec();
            w.push(other);
            let g = Factor::from_numbers(&w);
            let shown = super::format_number(other);
            assert!(g.levels.iter().any(|l| l.name == shown), "{other} is a level");
            for (i, &c) in g.codes[..v.len()].iter().enumerate() {
                let want = f.codes[i];
                if want == MISSING_CODE {
                    assert_eq!(c, MISSING_CODE);
                } else {
                    assert_eq!(g.levels[c as usize].name, f.levels[want as usize].name);
                }
            }
        }
    }

    #[test]
    fn from_numbers_few_and_many_levels_code_alike() {
        // Infinite values, -0 and NaN, with 16 and 17 levels (not whole numbers 0-255, so not
        // the table): every row's code names its own value's level.
        for extra in [12, 13] {
            let mut v = vec![f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::NAN, 0.0, 2.5, f64::INFINITY, -1e300];
            v.extend((0..extra).map(|i| i as f64 + 0.5));
            let f = Factor::from_numbers(&v);
            assert_eq!(f.levels.len(), 4 + extra);
            for (i, &c) in f.codes.iter().enumerate() {
                if v[i].is_nan() {
                    assert_eq!(c, MISSING_CODE);
                } else {
                    let level: f64 = match f.levels[c as usize].name.as_str() {
                        "inf" | "Inf" => f64::INFINITY,
                        "-inf" | "-Inf" => f64::NEG_INFINITY,
                        s => s.parse().unwrap(),
                    };
                    assert!(level == v[i] || (level - v[i]).abs() <= 1e-12 * v[i].abs(), "{} coded {c}", v[i]);
                }
            }
        }
    }

    #[test]
    fn from_numbers_many_levels_across_blocks() {
        // More distinct values than the short list holds, over several parallel blocks.
        let v: Vec<f64> = (0..200_000).map(|i| ((i * 7919) % 1000) as f64 / 4.0).collect();
        let f = Factor::from_numbers(&v);
        assert_eq!(f.levels.len(), 1000);
        assert!(f.levels.windows(2).all(|w| w[0].name.parse::<f64>().unwrap() < w[1].name.parse::<f64>().unwrap()));
        for (i, &c) in f.codes.iter().enumerate() {
            assert_eq!(f.levels[c as usize].name.parse::<f64>().unwrap(), v[i]);
        }
    }
}
