//! Design matrices: a [`Formula`] evaluated on a [`Dataset`].
//!
//! * Listwise deletion: a row is used only if the response, every regressor, the weight and
//!   the cluster variable are non-missing and every transformation is defined (`log(0)` is
//!   missing, as in Stata). Rows with zero weight are dropped, as Stata's `marksample` does.
//! * Factor coding follows R's rule: a factor in a term is coded by treatment contrasts
//!   (reference level dropped) when the term without that factor is in the model (the empty
//!   term counts when there is an intercept); otherwise by a full set of indicators.
//! * [`DesignSpec`] keeps what is needed to rebuild columns under a [`Scenario`] (a variable
//!   set to a value, a factor set to a level or to sample shares) and to differentiate columns
//!   with respect to a variable exactly (dual numbers): marginal effects are built on it.

use crate::data::{ColumnData, Dataset, Factor, Level, MISSING_CODE};
use crate::error::{usage, DataError, Error, FitError, FormulaError, Result};
use crate::formula::{Atom, Dual, Expr, Formula, Num};
use ndarray::Array2;
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Stata's weight types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightType {
    /// Frequency weights: each row stands for `w` identical observations.
    #[serde(rename = "fweight")]
    Frequency,
    /// Sampling (probability) weights: inverse selection probabilities; imply robust SEs.
    #[serde(rename = "pweight")]
    Probability,
    /// Analytic weights: inversely proportional to the variance; rescaled to sum to N.
    #[serde(rename = "aweight")]
    Analytic,
}

impl WeightType {
    pub fn parse(s: &str) -> Result<WeightType> {
        match s {
            "fweight" | "fw" | "frequency" => Ok(WeightType::Frequency),
            "pweight" | "pw" | "probability" => Ok(WeightType::Probability),
            "aweight" | "aw" | "analytic" => Ok(WeightType::Analytic),
            _ => Err(usage(format!("unknown weight type '{s}' (expected fweight, pweight or aweight)"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WeightType::Frequency => "fweight",
            WeightType::Probability => "pweight",
            WeightType::Analytic => "aweight",
        }
    }
}

/// What besides the formula decides the estimation sample.
#[derive(Debug, Clone, Default)]
pub struct SampleOptions {
    pub weights: Option<(String, WeightType)>,
    pub cluster: Option<String>,
    /// Further columns whose missing values drop a row (e.g. the other part of a two-part
    /// model, so that both parts use the same rows).
    pub also_require: Vec<String>,
    /// Rows of the dataset to consider at all (e.g. `y > 0` for a second part); `None` = all.
    pub restrict: Option<Vec<bool>>,
}

/// A resolved atom: a numeric expression or a factor, with its values on the used rows.
#[derive(Debug, Clone)]
pub enum ResolvedAtom {
    Numeric { text: String, expr: Expr },
    Factor { text: String, var: String, levels: Vec<Level>, reference: usize, codes: Vec<u32> },
}

impl ResolvedAtom {
    pub fn text(&self) -> &str {
        match self {
            ResolvedAtom::Numeric { text, .. } | ResolvedAtom::Factor { text, .. } => text,
        }
    }
}

/// One factor of a design column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The value of a numeric atom.
    Numeric(usize),
    /// The indicator of `level` of a factor atom.
    Level(usize, usize),
}

/// How a design column is made: the product of its parts (no parts = the intercept).
#[derive(Debug, Clone)]
pub struct ColumnSpec {
    pub name: String,
    pub parts: Vec<Part>,
}

/// How a factor is set in a [`Scenario`].
#[derive(Debug, Clone)]
pub enum FactorSetting {
    /// Every row at this level.
    Level(usize),
    /// Every row with these indicator values (sample shares, Stata's `atmeans`).
    Shares(Vec<f64>),
}

/// A counterfactual: variables fixed at values and factors at levels, for every used row;
/// optionally the variable to differentiate with respect to.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    pub numeric: BTreeMap<String, f64>,
    pub factors: BTreeMap<String, FactorSetting>,
    pub wrt: Option<String>,
}

/// Everything needed to rebuild design columns on the estimation rows.
#[derive(Debug, Clone)]
pub struct DesignSpec {
    pub atoms: Vec<ResolvedAtom>,
    pub columns: Vec<ColumnSpec>,
    /// Values of every numeric variable the atoms read, on the used rows (shared, not copied,
    /// between specs on the same rows, e.g. a two-part model's parts, or on a subset of them).
    pub values: VariableValues,
    pub n: usize,
}

/// The values of a design's numeric variables on its rows: columns stored once, shared
/// between designs, and for a design on a subset of another's rows (a two-part model's
/// positive rows) the positions of its rows in them, so the subset is not copied.
#[derive(Debug, Clone, Default)]
pub struct VariableValues {
    columns: BTreeMap<String, Arc<[f64]>>,
    /// Row `i` of the design is position `rows[i]` of the stored columns; `None`: the same.
    rows: Option<Arc<[usize]>>,
}

impl VariableValues {
    /// Columns already on the design's rows.
    pub fn new(columns: BTreeMap<String, Arc<[f64]>>) -> Self {
        VariableValues { columns, rows: None }
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }

    /// The variable names, in order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.columns.keys()
    }

    /// The values of `name` on the design rows `range` (borrowed when stored that way).
    ///
    /// Panics if the design does not read `name` (a programming error: callers ask for the
    /// variables of its atoms).
    pub fn range(&self, name: &str, range: std::ops::Range<usize>) -> Cow<'_, [f64]> {
        let col = &self.columns[name];
        match &self.rows {
            None => Cow::Borrowed(&col[range]),
            Some(rows) => Cow::Owned(rows[range].iter().map(|&r| col[r]).collect()),
        }
    }

    /// The values of `name` on every design row.
    pub fn all(&self, name: &str) -> Cow<'_, [f64]> {
        let col = &self.columns[name];
        match &self.rows {
            None => Cow::Borrowed(col),
            Some(rows) => Cow::Owned(rows.iter().map(|&r| col[r]).collect()),
        }
    }

    /// The values on the design rows `idx` (in that order): the same columns, composed row
    /// positions (nothing is copied but the positions).
    pub fn select_rows(&self, idx: &[usize]) -> VariableValues {
        let rows: Arc<[usize]> = match &self.rows {
            None => idx.into(),
            Some(old) => idx.iter().map(|&i| old[i]).collect(),
        };
        VariableValues { columns: self.columns.clone(), rows: Some(rows) }
    }
}

/// A design matrix with its response, weights and clusters on the estimation rows.
#[derive(Debug, Clone)]
pub struct Design {
    pub response: String,
    pub y: Vec<f64>,
    /// n x k, row-major.
    pub x: Array2<f64>,
    pub names: Vec<String>,
    pub weights: Option<Vec<f64>>,
    pub weight_type: Option<WeightType>,
    pub weight_var: Option<String>,
    /// Cluster index (0..n_clusters) of each row.
    pub clusters: Option<Vec<u32>>,
    pub n_clusters: usize,
    pub cluster_var: Option<String>,
    /// Dataset row index of each estimation row.
    pub rows: Vec<usize>,
    /// Line in the source file of each estimation row, for messages.
    pub lines: Vec<u64>,
    pub n_dropped: usize,
    /// Notes on dropped rows, for warnings.
    pub notes: Vec<String>,
    pub spec: DesignSpec,
}

fn numeric_column<'a>(ds: &'a Dataset, name: &str) -> Result<&'a [f64]> {
    let col = ds.column(name).ok_or_else(|| unknown(ds, name))?;
    match &col.data {
        ColumnData::Numeric(v) => Ok(v),
        ColumnData::Text(values) => Err(not_numeric(ds, name, values)),
        ColumnData::Categorical(_) => Err(Error::Formula(FormulaError::Invalid(format!(
            "'{name}' is categorical and cannot be used in arithmetic; use it as a factor, or give its numeric codes another name"
        )))),
    }
}

fn unknown(ds: &Dataset, name: &str) -> Error {
    Error::Formula(FormulaError::UnknownColumn {
        name: name.to_string(),
        hint: ds.closest_name(name).map(str::to_string),
    })
}

fn not_numeric(ds: &Dataset, name: &str, values: &[Option<String>]) -> Error {
    let bad: Vec<usize> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.as_deref().is_some_and(|s| crate::data::csv::parse_number(s).is_none()))
        .map(|(i, _)| i)
        .collect();
    let first = bad[0];
    let more = if bad.len() > 1 { format!(" (and {} more non-numeric values)", bad.len() - 1) } else { String::new() };
    Error::Data(DataError::NotNumeric {
        path: ds.source.clone(),
        column: name.to_string(),
        line: ds.line_numbers[first],
        value: values[first].clone().unwrap_or_default(),
        more,
    })
}

/// Evaluates an expression on every row of the dataset (NaN where undefined or missing).
pub fn eval_on_dataset(ds: &Dataset, expr: &Expr) -> Result<Vec<f64>> {
    let vars = expr.variables();
    let cols: Vec<&[f64]> = vars.iter().map(|v| numeric_column(ds, v)).collect::<Result<_>>()?;
    // A bare column is copied; anything else is evaluated column-wise (much faster than one
    // closure call per row). Both give the same values, NaN where undefined.
    if let Expr::Var(_) = expr {
        return Ok(cols[0].to_vec());
    }
    Ok(expr.eval_columns(ds.n_rows(), &mut |name: &str| {
        let k = vars.iter().position(|v| v == name).expect("variable list is complete");
        cols[k].to_vec()
    }))
}

/// A factor on the whole dataset; the codes of a categorical column are borrowed.
struct FullFactor<'d> {
    codes: Cow<'d, [u32]>,
    levels: Vec<Level>,
    reference: usize,
}

fn resolve_factor<'d>(ds: &'d Dataset, var: &str, reference: Option<&str>, wrapped: bool) -> Result<FullFactor<'d>> {
    let col = ds.column(var).ok_or_else(|| unknown(ds, var))?;
    let (codes, f) = match &col.data {
        ColumnData::Numeric(v) => {
            let f = Factor::from_numbers(v);
            (Cow::Owned(f.codes), Factor { codes: Vec::new(), ..f })
        }
        ColumnData::Text(v) => {
            let f = Factor::from_strings(v.iter().map(|s| s.as_deref()));
            (Cow::Owned(f.codes), Factor { codes: Vec::new(), ..f })
        }
        ColumnData::Categorical(f) => (
            Cow::Borrowed(f.codes.as_slice()),
            Factor { codes: Vec::new(), levels: f.levels.clone(), reference: f.reference },
        ),
    };
    let mut f = f;
    if let Some(r) = reference {
        let name = if wrapped { format!("C({var})") } else { var.to_string() };
        f.reference = f.level_index(r).ok_or_else(|| {
            let levels: Vec<&str> = f.levels.iter().map(|l| l.name.as_str()).collect();
            Error::Formula(FormulaError::Invalid(format!(
                "reference level '{r}' of {name} not found; its levels are: {}",
                levels.join(", ")
            )))
        })?;
    }
    Ok(FullFactor { codes, levels: f.levels, reference: f.reference })
}

/// `ok[i] &= keep(&col[i])` for every row, in parallel blocks.
fn and_mask<T: Sync>(ok: &mut [bool], col: &[T], keep: impl Fn(&T) -> bool + Sync) {
    ok.par_chunks_mut(ROW_BLOCK).zip(col.par_chunks(ROW_BLOCK)).for_each(|(o, c)| {
        o.iter_mut().zip(c).for_each(|(x, v)| *x &= keep(v));
    });
}

/// `src[idx[0]], src[idx[1]], ...`
fn gather<T: Copy + Send + Sync>(src: &[T], idx: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len());
    out.extend(idx.iter().map(|&i| src[i]));
    out
}

/// [`gather`] into shared storage (collected in place: the iterator has an exact length).
fn gather_shared(src: &[f64], idx: &[usize]) -> Arc<[f64]> {
    idx.iter().map(|&i| src[i]).collect()
}

/// The rows `idx` of a row-major matrix, in that order.
fn gather_rows(x: &Array2<f64>, idx: &[usize]) -> Array2<f64> {
    let k = x.ncols();
    let std = x.as_standard_layout();
    let src = std.as_slice().expect("standard layout");
    let mut data = vec![0.0; idx.len() * k];
    if k > 0 {
        data.par_chunks_mut(ROW_BLOCK * k).zip(idx.par_chunks(ROW_BLOCK)).for_each(|(block, rows)| {
            for (out, &i) in block.chunks_exact_mut(k).zip(rows) {
                out.copy_from_slice(&src[i * k..(i + 1) * k]);
            }
        });
    }
    Array2::from_shape_vec((idx.len(), k), data).expect("rows x k values")
}

/// The columns `keep` of a row-major matrix, in that order.
fn gather_columns(x: &Array2<f64>, keep: &[usize]) -> Array2<f64> {
    let (n, k, m) = (x.nrows(), x.ncols(), keep.len());
    let std = x.as_standard_layout();
    let src = std.as_slice().expect("standard layout");
    let mut data = vec![0.0; n * m];
    if m > 0 && k > 0 {
        data.par_chunks_mut(ROW_BLOCK * m).zip(src.par_chunks(ROW_BLOCK * k)).for_each(|(out, inp)| {
            for (o, i) in out.chunks_exact_mut(m).zip(inp.chunks_exact(k)) {
                for (v, &j) in o.iter_mut().zip(keep) {
                    *v = i[j];
                }
            }
        });
    }
    Array2::from_shape_vec((n, m), data).expect("n x m values")
}

/// Rows per parallel block when building or gathering design matrices.
const ROW_BLOCK: usize = 4096;

/// Evaluates an expression on every row of the dataset, borrowing a bare numeric column.
fn eval_cow<'d>(ds: &'d Dataset, expr: &Expr) -> Result<Cow<'d, [f64]>> {
    match expr {
        Expr::Var(v) => Ok(Cow::Borrowed(numeric_column(ds, v)?)),
        _ => Ok(Cow::Owned(eval_on_dataset(ds, expr)?)),
    }
}

/// A multiply-rotate hash for the cluster look-up (the keys are the user's own data, so
/// the default hasher's protection against adversarial keys buys nothing here).
#[derive(Default, Clone, Copy)]
struct FastHash;

#[derive(Default)]
struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// Stable identity of a cluster value, so clusters are numbered in sorted order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum ClusterKey<'d> {
    Num(i64, u64),
    Text(&'d str),
}

/// The cluster variable as stored: keys are made row by row when they are needed, not
/// materialised for every row of the dataset.
enum ClusterColumn<'d> {
    Num(&'d [f64]),
    Codes(&'d [u32]),
    Text(&'d [Option<String>]),
}

impl<'d> ClusterColumn<'d> {
    fn of(ds: &'d Dataset, name: &str) -> Result<ClusterColumn<'d>> {
        let col = ds.column(name).ok_or_else(|| unknown(ds, name))?;
        Ok(match &col.data {
            ColumnData::Numeric(v) => ClusterColumn::Num(v),
            ColumnData::Categorical(f) => ClusterColumn::Codes(&f.codes),
            ColumnData::Text(v) => ClusterColumn::Text(v),
        })
    }

    /// Row `i`'s key (`None`: missing).
    #[inline]
    fn key(&self, i: usize) -> Option<ClusterKey<'d>> {
        match self {
            ClusterColumn::Num(v) => {
                let x = v[i];
                // Order by value: integer part, then the bits of the fraction.
                (!x.is_nan()).then(|| ClusterKey::Num(x.floor() as i64, (x - x.floor()).to_bits()))
            }
            ClusterColumn::Codes(c) => (c[i] != MISSING_CODE).then(|| ClusterKey::Num(c[i] as i64, 0)),
            ClusterColumn::Text(v) => v[i].as_deref().map(ClusterKey::Text),
        }
    }

    /// Dense cluster ids of `rows` in sorted order of their values, by table, when every value
    /// is a whole number from 0 to a bound of the order of the row count (city or community
    /// codes, a coded factor); `None` otherwise (the caller then sorts the distinct keys). For
    /// those values the order of the numbers is the order of [`ClusterKey`]s.
    fn small_integer_ids(&self, rows: &[usize]) -> Option<(Vec<u32>, usize)> {
        let bound = 4 * rows.len() + 1024;
        let slot = |i: usize| -> Option<usize> {
            match self {
                ClusterColumn::Num(v) => {
                    let x = v[i];
                    (x >= 0.0 && x < bound as f64 && x.fract() == 0.0).then_some(x as usize)
                }
                ClusterColumn::Codes(c) => ((c[i] as usize) < bound).then_some(c[i] as usize),
                ClusterColumn::Text(_) => None,
            }
        };
        let slots: Vec<usize> = rows.iter().map(|&i| slot(i)).collect::<Option<_>>()?;
        let size = slots.iter().max().map_or(0, |&m| m + 1);
        let (table, count) = dense_table(size, slots.iter().copied());
        Some((slots.iter().map(|&s| table[s]).collect(), count))
    }
}

/// Dense ids for the values `slots` (each below `size`): a table from value to id that numbers
/// the values present in increasing order (`u32::MAX` for the absent ones), and their count.
fn dense_table(size: usize, slots: impl Iterator<Item = usize>) -> (Vec<u32>, usize) {
    let mut table = vec![u32::MAX; size];
    for s in slots {
        table[s] = 0;
    }
    let mut present = 0u32;
    for t in table.iter_mut().filter(|t| **t == 0) {
        *t = present;
        present += 1;
    }
    (table, present as usize)
}

impl Design {
    /// Builds the design matrix of `formula` on `ds`.
    pub fn build(ds: &Dataset, formula: &Formula, opts: &SampleOptions) -> Result<Design> {
        let n_all = ds.n_rows();
        let (resp_expr, resp_name) = formula
            .response
            .clone()
            .ok_or_else(|| Error::Formula(FormulaError::Invalid("the formula has no response".into())))?;

        // Resolve atoms on the whole dataset. Bare columns are borrowed, not copied.
        enum Full<'d> {
            Numeric(Expr, Cow<'d, [f64]>),
            Factor(String, FullFactor<'d>),
        }
        // Atoms resolved in parallel (a factor of numbers is coded in two passes over the rows);
        // the first error in formula order is the one reported.
        let resolved: Vec<Result<(String, Full)>> = formula
            .atoms
            .par_iter()
            .map(|a| -> Result<(String, Full)> {
                let r = match &a.atom {
                    Atom::Name(v) => {
                        let col = ds.column(v).ok_or_else(|| unknown(ds, v))?;
                        match &col.data {
                            ColumnData::Categorical(f) => Full::Factor(
                                v.clone(),
                                FullFactor {
                                    codes: Cow::Borrowed(&f.codes),
                                    levels: f.levels.clone(),
                                    reference: f.reference,
                                },
                            ),
                            _ => {
                                let e = Expr::Var(v.clone());
                                let vals = eval_cow(ds, &e)?;
                                Full::Numeric(e, vals)
                            }
                        }
                    }
                    Atom::Categorical { var, reference } => {
                        Full::Factor(var.clone(), resolve_factor(ds, var, reference.as_deref(), true)?)
                    }
                    Atom::Expr { expr } => Full::Numeric(expr.clone(), eval_cow(ds, expr)?),
                };
                Ok((a.text.clone(), r))
            })
            .collect();
        let full: Vec<(String, Full)> = resolved.into_iter().collect::<Result<_>>()?;
        let y_all = eval_cow(ds, &resp_expr)?;
        let w_all = match &opts.weights {
            Some((name, _)) => Some(numeric_column(ds, name)?),
            None => None,
        };
        let cl_all = match &opts.cluster {
            Some(name) => Some(ClusterColumn::of(ds, name)?),
            None => None,
        };
        // Columns whose missing values are already checked through an atom or the response.
        let mut checked: Vec<&str> = Vec::new();
        for (_, a) in &full {
            match a {
                Full::Numeric(Expr::Var(v), _) | Full::Factor(v, _) => checked.push(v),
                Full::Numeric(..) => {}
            }
        }
        if let Expr::Var(v) = &resp_expr {
            checked.push(v);
        }
        let extra: Vec<&ColumnData> = opts
            .also_require
            .iter()
            .map(|n| ds.column(n).map(|c| &c.data).ok_or_else(|| unknown(ds, n)))
            .collect::<Result<_>>()?;
        let extra: Vec<&ColumnData> = extra
            .into_iter()
            .zip(&opts.also_require)
            .filter(|(_, n)| !checked.contains(&n.as_str()))
            .map(|(c, _)| c)
            .collect();

        // Listwise deletion, column by column: `ok[i]` = every variable of row i is usable.
        let mut ok = vec![true; n_all];
        and_mask(&mut ok, &y_all, |y| y.is_finite());
        for (_, a) in &full {
            match a {
                Full::Numeric(_, v) => and_mask(&mut ok, v, |x| x.is_finite()),
                Full::Factor(_, f) => and_mask(&mut ok, &f.codes, |&c| c != MISSING_CODE),
            }
        }
        for c in &extra {
            match c {
                ColumnData::Numeric(v) => and_mask(&mut ok, v, |x| !x.is_nan()),
                ColumnData::Categorical(f) => and_mask(&mut ok, &f.codes, |&c| c != MISSING_CODE),
                ColumnData::Text(v) => and_mask(&mut ok, v, Option::is_some),
            }
        }
        if let Some(c) = &cl_all {
            ok.par_chunks_mut(ROW_BLOCK).enumerate().for_each(|(b, o)| {
                for (r, x) in o.iter_mut().enumerate() {
                    *x &= c.key(b * ROW_BLOCK + r).is_some();
                }
            });
        }
        let mut rows = Vec::with_capacity(n_all);
        let (mut n_missing, mut n_zero_weight, mut n_outside) = (0usize, 0usize, 0usize);
        for i in 0..n_all {
            if opts.restrict.as_ref().is_some_and(|r| !r[i]) {
                n_outside += 1;
                continue;
            }
            let mut ok = ok[i];
            if let Some(w) = w_all {
                let wi = w[i];
                if wi.is_nan() {
                    ok = false;
                } else if ok && wi < 0.0 {
                    let (name, _) = opts.weights.as_ref().unwrap();
                    return Err(Error::Data(DataError::InvalidValue {
                        path: ds.source.clone(),
                        line: ds.line_numbers[i],
                        column: name.clone(),
                        value: crate::data::format_number(wi),
                        expected: "weights must be non-negative".into(),
                    }));
                } else if ok && wi == 0.0 {
                    n_zero_weight += 1;
                    continue;
                }
            }
            if ok {
                rows.push(i);
            } else {
                n_missing += 1;
            }
        }
        let mut notes = Vec::new();
        if n_missing > 0 {
            notes.push(format!("{n_missing} rows dropped because of missing values (or undefined transformations such as log of a non-positive number)"));
        }
        if n_zero_weight > 0 {
            notes.push(format!("{n_zero_weight} rows with zero weight dropped"));
        }
        if rows.is_empty() {
            return Err(Error::Fit(FitError::EmptySample(format!(
                "no row of {} has non-missing values for every variable of '{}' ({} rows read{})",
                ds.source,
                formula.source,
                n_all,
                if n_outside > 0 { format!(", {n_outside} outside the subsample") } else { String::new() }
            ))));
        }
        let n = rows.len();

        // Weights.
        let (weights, weight_type) = match (&opts.weights, w_all) {
            (Some((name, wt)), Some(w)) => {
                let mut wv: Vec<f64> = rows.iter().map(|&i| w[i]).collect();
                if *wt == WeightType::Frequency {
                    if let Some(k) = wv.iter().position(|x| x.fract() != 0.0) {
                        return Err(Error::Data(DataError::InvalidValue {
                            path: ds.source.clone(),
                            line: ds.line_numbers[rows[k]],
                            column: name.clone(),
                            value: crate::data::format_number(wv[k]),
                            expected: "frequency weights must be whole numbers".into(),
                        }));
                    }
                }
                if *wt == WeightType::Analytic {
                    // Stata rescales aweights to sum to the number of observations.
                    let s: f64 = wv.iter().sum();
                    let scale = n as f64 / s;
                    wv.iter_mut().for_each(|x| *x *= scale);
                }
                (Some(wv), Some(*wt))
            }
            _ => (None, None),
        };

        // Clusters, numbered in sorted order of their values.
        let (clusters, n_clusters) = match cl_all {
            Some(col) => match col.small_integer_ids(&rows) {
                Some((ids, count)) => (Some(ids), count),
                None => {
                    // Provisional ids in order of appearance (one hash look-up per row), then the
                    // distinct values sorted and the ids renumbered in that order.
                    let mut first_seen: std::collections::HashMap<ClusterKey, u32, FastHash> =
                        std::collections::HashMap::default();
                    let provisional: Vec<u32> = rows
                        .iter()
                        .map(|&i| {
                            let next = first_seen.len() as u32;
                            *first_seen
                                .entry(col.key(i).expect("rows with a missing cluster are dropped"))
                                .or_insert(next)
                        })
                        .collect();
                    let mut distinct: Vec<(ClusterKey, u32)> = first_seen.into_iter().collect();
                    distinct.sort_unstable();
                    let mut renumber = vec![0u32; distinct.len()];
                    for (sorted, (_, p)) in distinct.iter().enumerate() {
                        renumber[*p as usize] = sorted as u32;
                    }
                    let ids = provisional.iter().map(|&p| renumber[p as usize]).collect();
                    (Some(ids), distinct.len())
                }
            },
            None => (None, 0),
        };

        // Atoms on the used rows: every variable gathered once (in parallel over variables).
        let mut names: Vec<String> = Vec::new();
        for (_, a) in &full {
            if let Full::Numeric(expr, _) = a {
                for v in expr.variables() {
                    if !names.contains(&v) {
                        names.push(v);
                    }
                }
            }
        }
        let sources: Vec<&[f64]> = names.iter().map(|v| numeric_column(ds, v)).collect::<Result<_>>()?;
        let gathered: Vec<Arc<[f64]>> = sources.par_iter().map(|col| gather_shared(col, &rows)).collect();
        let values = VariableValues::new(names.into_iter().zip(gathered).collect());
        let mut atoms = Vec::new();
        for (text, a) in full {
            match a {
                Full::Numeric(expr, _) => atoms.push(ResolvedAtom::Numeric { text, expr }),
                Full::Factor(var, f) => {
                    // Every row kept (the rows are increasing): the codes as they are.
                    let codes = if n == n_all { f.codes.into_owned() } else { gather(&f.codes, &rows) };
                    atoms.push(ResolvedAtom::Factor { text, var, levels: f.levels, reference: f.reference, codes });
                }
            }
        }

        // Columns, with R's contrast rule.
        let mut columns = Vec::new();
        if formula.intercept {
            columns.push(ColumnSpec { name: "(Intercept)".into(), parts: vec![] });
        }
        for term in &formula.terms {
            let mut choices: Vec<Vec<Part>> = Vec::new();
            for &a in term {
                match &atoms[a] {
                    ResolvedAtom::Numeric { .. } => choices.push(vec![Part::Numeric(a)]),
                    ResolvedAtom::Factor { levels, reference, .. } => {
                        let margin: Vec<usize> = term.iter().copied().filter(|&b| b != a).collect();
                        let contrasts = if margin.is_empty() {
                            formula.intercept
                        } else {
                            formula.terms.iter().any(|t| crate::formula::parse::same_term(t, &margin))
                        };
                        let lv: Vec<Part> = (0..levels.len())
                            .filter(|&l| !(contrasts && l == *reference))
                            .map(|l| Part::Level(a, l))
                            .collect();
                        choices.push(lv);
                    }
                }
            }
            // Cartesian product, first atom varying fastest (R's order).
            let mut combos: Vec<Vec<Part>> = vec![vec![]];
            for choice in &choices {
                let mut next = Vec::new();
                for c in choice {
                    for prefix in &combos {
                        let mut p = prefix.clone();
                        p.push(*c);
                        next.push(p);
                    }
                }
                combos = next;
            }
            for parts in combos {
                let name = parts
                    .iter()
                    .map(|p| match p {
                        Part::Numeric(a) => atoms[*a].text().to_string(),
                        Part::Level(a, l) => match &atoms[*a] {
                            ResolvedAtom::Factor { text, levels, .. } => {
                                format!("{text}[{}]", levels[*l].name)
                            }
                            _ => unreachable!(),
                        },
                    })
                    .collect::<Vec<_>>()
                    .join(":");
                columns.push(ColumnSpec { name, parts });
            }
        }
        if columns.is_empty() {
            return Err(usage(format!("the formula '{}' has no regressors and no intercept", formula.source)));
        }

        let spec = DesignSpec { atoms, columns, values, n };
        let x = spec.matrix(&Scenario::default());
        let y: Vec<f64> = rows.iter().map(|&i| y_all[i]).collect();
        Ok(Design {
            response: resp_name,
            y,
            names: spec.columns.iter().map(|c| c.name.clone()).collect(),
            x,
            weights,
            weight_type,
            weight_var: opts.weights.as_ref().map(|w| w.0.clone()),
            clusters,
            n_clusters,
            cluster_var: opts.cluster.clone(),
            lines: rows.iter().map(|&i| ds.line_numbers[i]).collect(),
            rows,
            n_dropped: n_all - n,
            notes,
            spec,
        })
    }

    pub fn n(&self) -> usize {
        self.y.len()
    }

    pub fn k(&self) -> usize {
        self.names.len()
    }

    /// Keeps only the design columns in `keep` (used after collinearity checks).
    pub fn select_columns(&mut self, keep: &[usize]) {
        if keep.len() == self.k() && keep.iter().enumerate().all(|(a, &j)| a == j) {
            return;
        }
        self.x = gather_columns(&self.x, keep);
        self.names = keep.iter().map(|&j| self.names[j].clone()).collect();
        self.spec.columns = keep.iter().map(|&j| self.spec.columns[j].clone()).collect();
    }

    /// Keeps only the estimation rows in `keep` (used when perfect predictors are dropped).
    pub fn select_rows(&mut self, keep: &[bool]) {
        let idx: Vec<usize> = (0..self.n()).filter(|&i| keep[i]).collect();
        *self = self.take_rows(&idx);
    }

    /// The design on the estimation rows `idx` (in that order), gathered once: what
    /// [`Design::select_rows`] keeps, without copying the rows that are dropped.
    pub fn take_rows(&self, idx: &[usize]) -> Design {
        let dropped = self.n() - idx.len();
        let (clusters, n_clusters) = match &self.clusters {
            Some(c) => {
                // Renumber the clusters present densely, in the order of their ids (the sorted
                // order of their values): a table from old to new id.
                let (new_id, present) = dense_table(self.n_clusters, idx.iter().map(|&i| c[i] as usize));
                (Some(idx.iter().map(|&i| new_id[c[i] as usize]).collect()), present)
            }
            None => (None, self.n_clusters),
        };
        Design {
            response: self.response.clone(),
            y: gather(&self.y, idx),
            x: gather_rows(&self.x, idx),
            names: self.names.clone(),
            weights: self.weights.as_ref().map(|w| gather(w, idx)),
            weight_type: self.weight_type,
            weight_var: self.weight_var.clone(),
            clusters,
            n_clusters,
            cluster_var: self.cluster_var.clone(),
            rows: gather(&self.rows, idx),
            lines: gather(&self.lines, idx),
            n_dropped: self.n_dropped + dropped,
            notes: self.notes.clone(),
            spec: self.spec.select_rows(idx),
        }
    }

    /// Sum of weights as Stata counts observations: sum of fweights, else the row count.
    pub fn n_obs(&self) -> f64 {
        match (&self.weights, self.weight_type) {
            (Some(w), Some(WeightType::Frequency)) => w.iter().sum(),
            _ => self.n() as f64,
        }
    }
}

impl DesignSpec {
    /// The spec restricted to the rows `idx` (in that order).
    pub fn select_rows(&self, idx: &[usize]) -> DesignSpec {
        let atoms = self
            .atoms
            .iter()
            .map(|a| match a {
                ResolvedAtom::Factor { text, var, levels, reference, codes } => ResolvedAtom::Factor {
                    text: text.clone(),
                    var: var.clone(),
                    levels: levels.clone(),
                    reference: *reference,
                    codes: gather(codes, idx),
                },
                other => other.clone(),
            })
            .collect();
        DesignSpec { atoms, columns: self.columns.clone(), values: self.values.select_rows(idx), n: idx.len() }
    }

    /// Values (no derivatives) of design column `j` on the rows `rows` under the scenario: a
    /// constant when the column depends only on what the scenario fixes (a factor indicator
    /// with the factor set to a level). Same arithmetic as [`DesignSpec::columns_under_rows`]:
    /// the product of the parts in part order.
    pub fn column_values_rows(&self, j: usize, sc: &Scenario, rows: std::ops::Range<usize>) -> ColumnValues {
        let mut out = ColumnValues::Const(1.0);
        for p in &self.columns[j].parts {
            match p {
                Part::Numeric(a) => {
                    let ResolvedAtom::Numeric { expr, .. } = &self.atoms[*a] else {
                        unreachable!("part and atom kinds agree")
                    };
                    let vals: Cow<[f64]> =
                        match expr {
                            Expr::Var(name) if !sc.numeric.contains_key(name) => self.values.range(name, rows.clone()),
                            _ => Cow::Owned(expr.eval_columns::<f64>(rows.len(), &mut |name: &str| {
                                match sc.numeric.get(name) {
                                    Some(&fixed) => vec![fixed; rows.len()],
                                    None => self.values.range(name, rows.clone()).into_owned(),
                                }
                            })),
                        };
                    out = match out {
                        ColumnValues::Const(c) => ColumnValues::Rows(vals.iter().map(|&x| c * x).collect()),
                        ColumnValues::Rows(mut v) => {
                            v.iter_mut().zip(vals.iter()).for_each(|(o, &x)| *o *= x);
                            ColumnValues::Rows(v)
                        }
                    };
                }
                Part::Level(a, l) => {
                    let ResolvedAtom::Factor { var, codes, .. } = &self.atoms[*a] else {
                        unreachable!("part and atom kinds agree")
                    };
                    let s = match sc.factors.get(var) {
                        None => {
                            let l = *l as u32;
                            let codes = &codes[rows.clone()];
                            out = match out {
                                ColumnValues::Const(c) => ColumnValues::Rows(
                                    codes.iter().map(|&code| if code != l { 0.0 } else { c }).collect(),
                                ),
                                ColumnValues::Rows(mut v) => {
                                    v.iter_mut().zip(codes).for_each(|(o, &code)| {
                                        if code != l {
                                            *o = 0.0;
                                        }
                                    });
                                    ColumnValues::Rows(v)
                                }
                            };
                            continue;
                        }
                        Some(FactorSetting::Level(m)) => f64::from(u8::from(m == l)),
                        Some(FactorSetting::Shares(sh)) => sh[*l],
                    };
                    out = match out {
                        ColumnValues::Const(c) => ColumnValues::Const(c * s),
                        ColumnValues::Rows(mut v) => {
                            v.iter_mut().for_each(|o| *o *= s);
                            ColumnValues::Rows(v)
                        }
                    };
                }
            }
        }
        out
    }

    /// Evaluates atom `a` on the rows `rows` under the scenario, with derivatives w.r.t. `wrt`.
    fn atom_values(&self, a: usize, sc: &Scenario, rows: std::ops::Range<usize>) -> AtomValues<'_> {
        match &self.atoms[a] {
            ResolvedAtom::Numeric { expr, .. } => {
                let n = rows.len();
                let vals = expr.eval_columns(n, &mut |name: &str| {
                    let d = if sc.wrt.as_deref() == Some(name) { 1.0 } else { 0.0 };
                    match sc.numeric.get(name) {
                        Some(&fixed) => vec![Dual::new(fixed, d); n],
                        None => self.values.range(name, rows.clone()).iter().map(|&v| Dual::new(v, d)).collect(),
                    }
                });
                AtomValues::Numeric(vals)
            }
            ResolvedAtom::Factor { var, codes, levels, .. } => match sc.factors.get(var) {
                None => AtomValues::Codes(&codes[rows.clone()]),
                Some(FactorSetting::Level(l)) => {
                    AtomValues::Fixed((0..levels.len()).map(|j| f64::from(u8::from(j == *l))).collect())
                }
                Some(FactorSetting::Shares(s)) => AtomValues::Fixed(s.clone()),
            },
        }
    }

    /// True when column `j` depends on something the scenario changes.
    pub fn column_affected(&self, j: usize, sc: &Scenario) -> bool {
        self.columns[j].parts.iter().any(|p| match p {
            Part::Numeric(a) => match &self.atoms[*a] {
                ResolvedAtom::Numeric { expr, .. } => {
                    expr.variables().iter().any(|v| sc.numeric.contains_key(v) || sc.wrt.as_deref() == Some(v.as_str()))
                }
                _ => false,
            },
            Part::Level(a, _) => match &self.atoms[*a] {
                ResolvedAtom::Factor { var, .. } => sc.factors.contains_key(var),
                _ => false,
            },
        })
    }

    /// Values (and derivatives w.r.t. `sc.wrt`) of the columns in `cols` under the scenario.
    pub fn columns_under(&self, cols: &[usize], sc: &Scenario) -> Vec<Vec<Dual>> {
        self.columns_under_rows(cols, sc, 0..self.n)
    }

    /// [`DesignSpec::columns_under`] on the rows `rows` only (marginal effects work in row
    /// chunks, so that scratch memory does not grow with N).
    pub fn columns_under_rows(&self, cols: &[usize], sc: &Scenario, rows: std::ops::Range<usize>) -> Vec<Vec<Dual>> {
        assert!(rows.end <= self.n, "row range within the design");
        let mut cache: BTreeMap<usize, AtomValues> = BTreeMap::new();
        cols.iter()
            .map(|&j| {
                let mut out = vec![Dual::new(1.0, 0.0); rows.len()];
                for p in &self.columns[j].parts {
                    let a = match p {
                        Part::Numeric(a) | Part::Level(a, _) => *a,
                    };
                    let values = cache.entry(a).or_insert_with(|| self.atom_values(a, sc, rows.clone()));
                    match (p, &*values) {
                        (Part::Numeric(_), AtomValues::Numeric(v)) => {
                            out.iter_mut().zip(v).for_each(|(o, &f)| *o = o.mul(f));
                        }
                        (Part::Level(_, l), AtomValues::Codes(c)) => {
                            let l = *l as u32;
                            out.iter_mut().zip(c.iter()).for_each(|(o, &code)| {
                                if code != l {
                                    *o = Dual::new(0.0, 0.0);
                                }
                            });
                        }
                        (Part::Level(_, l), AtomValues::Fixed(s)) => {
                            let f = Dual::new(s[*l], 0.0);
                            out.iter_mut().for_each(|o| *o = o.mul(f));
                        }
                        _ => unreachable!("part and atom kinds agree"),
                    }
                }
                out
            })
            .collect()
    }

    /// The full design matrix under a scenario (values only).
    pub fn matrix(&self, sc: &Scenario) -> Array2<f64> {
        let k = self.columns.len();
        if sc.numeric.is_empty() && sc.factors.is_empty() {
            return self.observed_matrix();
        }
        let all: Vec<usize> = (0..k).collect();
        let cols = self.columns_under(&all, sc);
        let mut x = Array2::<f64>::zeros((self.n, k));
        for (j, c) in cols.iter().enumerate() {
            for (i, v) in c.iter().enumerate() {
                x[[i, j]] = v.v;
            }
        }
        x
    }

    /// The design matrix at the observed data, built column by column into row blocks: the
    /// intercept, a variable and a factor indicator are read where they are stored; other
    /// columns (transformations, interactions) are products of their parts in part order, the
    /// same arithmetic as [`DesignSpec::columns_under`].
    fn observed_matrix(&self) -> Array2<f64> {
        enum Src<'s> {
            One,
            Values(&'s [f64]),
            Level(&'s [u32], u32),
            Owned(Vec<f64>),
        }
        let (n, k) = (self.n, self.columns.len());
        let mut atom_values: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for c in &self.columns {
            for p in &c.parts {
                if let Part::Numeric(a) = p {
                    if let ResolvedAtom::Numeric { expr, .. } = &self.atoms[*a] {
                        if !matches!(expr, Expr::Var(_)) && !atom_values.contains_key(a) {
                            let v = expr.eval_columns::<f64>(n, &mut |name: &str| self.values.all(name).into_owned());
                            atom_values.insert(*a, v);
                        }
                    }
                }
            }
        }
        // Bare variables as stored (borrowed unless the design is on a subset of the rows).
        let bare: BTreeMap<&str, Cow<[f64]>> = self
            .atoms
            .iter()
            .filter_map(|a| match a {
                ResolvedAtom::Numeric { expr: Expr::Var(v), .. } => Some((v.as_str(), self.values.all(v))),
                _ => None,
            })
            .collect();
        let numeric = |a: usize| -> &[f64] {
            match &self.atoms[a] {
                ResolvedAtom::Numeric { expr: Expr::Var(v), .. } => &bare[v.as_str()],
                ResolvedAtom::Numeric { .. } => &atom_values[&a],
                ResolvedAtom::Factor { .. } => unreachable!("numeric part of a factor atom"),
            }
        };
        let codes = |a: usize| -> &[u32] {
            match &self.atoms[a] {
                ResolvedAtom::Factor { codes, .. } => codes,
                ResolvedAtom::Numeric { .. } => unreachable!("level part of a numeric atom"),
            }
        };
        let srcs: Vec<Src> = self
            .columns
            .iter()
            .map(|c| match c.parts.as_slice() {
                [] => Src::One,
                [Part::Numeric(a)] => Src::Values(numeric(*a)),
                [Part::Level(a, l)] => Src::Level(codes(*a), *l as u32),
                parts => {
                    let mut out = vec![1.0; n];
                    for p in parts {
                        match p {
                            Part::Numeric(a) => out.iter_mut().zip(numeric(*a)).for_each(|(o, &f)| *o *= f),
                            Part::Level(a, l) => {
                                let l = *l as u32;
                                out.iter_mut().zip(codes(*a)).for_each(|(o, &c)| {
                                    if c != l {
                                        *o = 0.0;
                                    }
                                });
                            }
                        }
                    }
                    Src::Owned(out)
                }
            })
            .collect();
        let mut data = vec![0.0; n * k];
        if k > 0 {
            // Column by column within sub-blocks of rows small enough to stay in the L1 cache
            // (a column's strided writes then touch lines the previous column brought in).
            const SUB: usize = 128;
            data.par_chunks_mut(SUB * k).enumerate().for_each(|(b, block)| {
                let lo = b * SUB;
                let rows = block.len() / k;
                for (j, src) in srcs.iter().enumerate() {
                    let out = block[j..].iter_mut().step_by(k);
                    match src {
                        Src::One => out.for_each(|o| *o = 1.0),
                        Src::Values(v) => out.zip(&v[lo..lo + rows]).for_each(|(o, &f)| *o = f),
                        Src::Owned(v) => out.zip(&v[lo..lo + rows]).for_each(|(o, &f)| *o = f),
                        Src::Level(c, l) => {
                            out.zip(&c[lo..lo + rows]).for_each(|(o, &code)| *o = f64::from(u8::from(code == *l)))
                        }
                    }
                }
            });
        }
        Array2::from_shape_vec((n, k), data).expect("n x k values")
    }

    /// Numeric variables that enter the model (through any numeric atom), in order of
    /// appearance: the variables that get derivative-type marginal effects.
    pub fn continuous_variables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.columns {
            for p in &c.parts {
                if let Part::Numeric(a) = p {
                    if let ResolvedAtom::Numeric { expr, .. } = &self.atoms[*a] {
                        for v in expr.variables() {
                            if !out.contains(&v) {
                                out.push(v);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Factor variables that enter the model: (variable, atom text, levels, reference).
    pub fn factor_variables(&self) -> Vec<(String, String, Vec<Level>, usize)> {
        let mut out: Vec<(String, String, Vec<Level>, usize)> = Vec::new();
        for c in &self.columns {
            for p in &c.parts {
                if let Part::Level(a, _) = p {
                    if let ResolvedAtom::Factor { text, var, levels, reference, .. } = &self.atoms[*a] {
                        if !out.iter().any(|o| &o.0 == var) {
                            out.push((var.clone(), text.clone(), levels.clone(), *reference));
                        }
                    }
                }
            }
        }
        out
    }

    /// Level codes of a factor variable on the rows (for sample shares).
    pub fn factor_codes(&self, var: &str) -> Option<&[u32]> {
        self.atoms.iter().find_map(|a| match a {
            ResolvedAtom::Factor { var: v, codes, .. } if v == var => Some(codes.as_slice()),
            _ => None,
        })
    }
}

/// A design column's values on a range of rows: see [`DesignSpec::column_values_rows`].
#[derive(Debug, Clone)]
pub enum ColumnValues {
    Const(f64),
    Rows(Vec<f64>),
}

impl ColumnValues {
    /// The value on row `r` of the range.
    #[inline]
    pub fn at(&self, r: usize) -> f64 {
        match self {
            ColumnValues::Const(c) => *c,
            ColumnValues::Rows(v) => v[r],
        }
    }
}

enum AtomValues<'a> {
    Numeric(Vec<Dual>),
    Codes(&'a [u32]),
    Fixed(Vec<f64>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv::{read_csv_bytes, CsvOptions};

    fn ds(s: &str) -> Dataset {
        read_csv_bytes(s.as_bytes(), "t.csv", &CsvOptions::default()).unwrap()
    }

    #[test]
    fn factor_and_interaction_names() {
        let d = ds("y,x,g\n1,1,a\n0,2,b\n1,3,c\n0,4,a\n");
        let f = Formula::parse("y ~ x*C(g, ref=b)").unwrap();
        let des = Design::build(&d, &f, &SampleOptions::default()).unwrap();
        assert_eq!(des.names, vec!["(Intercept)", "x", "C(g)[a]", "C(g)[c]", "x:C(g)[a]", "x:C(g)[c]"]);
        assert_eq!(des.x.row(2).to_vec(), vec![1.0, 3.0, 0.0, 1.0, 0.0, 3.0]);
    }

    #[test]
    fn full_dummies_without_intercept() {
        let d = ds("y,g\n1,1\n0,2\n1,3\n");
        let f = Formula::parse("y ~ C(g) - 1").unwrap();
        let des = Design::build(&d, &f, &SampleOptions::default()).unwrap();
        assert_eq!(des.names, vec!["C(g)[1]", "C(g)[2]", "C(g)[3]"]);
    }

    #[test]
    fn listwise_deletion_and_log() {
        let d = ds("y,x\n1,1\n0,NA\n1,0\n0,4\n");
        let f = Formula::parse("y ~ log(x)").unwrap();
        let des = Design::build(&d, &f, &SampleOptions::default()).unwrap();
        assert_eq!(des.n(), 2);
        assert_eq!(des.n_dropped, 2);
        assert_eq!(des.rows, vec![0, 3]);
    }

    #[test]
    fn derivative_through_square_and_interaction() {
        let d = ds("y,x,z\n1,2,3\n0,5,7\n");
        let f = Formula::parse("y ~ x + I(x^2) + x:z").unwrap();
        let des = Design::build(&d, &f, &SampleOptions::default()).unwrap();
        let sc = Scenario { wrt: Some("x".into()), ..Default::default() };
        let cols = des.spec.columns_under(&[1, 2, 3], &sc);
        assert_eq!(cols[0][1].d, 1.0);
        assert_eq!(cols[1][1].d, 10.0);
        assert_eq!(cols[2][1].d, 7.0);
    }

    #[test]
    fn text_column_used_as_number() {
        let d = ds("y,x\n1,1\n0,abc\n1,2\n");
        let f = Formula::parse("y ~ x").unwrap();
        let e = Design::build(&d, &f, &SampleOptions::default()).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("'abc'") && e.contains("C()"), "{e}");
    }

    #[test]
    fn unknown_column_suggests() {
        let d = ds("y,income\n1,1\n0,2\n");
        let f = Formula::parse("y ~ incme").unwrap();
        let e = Design::build(&d, &f, &SampleOptions::default()).unwrap_err().to_string();
        assert!(e.contains("did you mean 'income'"), "{e}");
    }

    /// Cluster ids by table (whole numbers from 0) and by sorting the distinct keys (any other
    /// values: negative, fractional, text) number the clusters alike: densely, in sorted order
    /// of their values, over the rows kept.
    #[test]
    fn cluster_ids_by_table_and_by_sorting_agree() {
        let cases = [
            ("7,3,3,12,0,7,5", true),      // whole numbers from 0: the table
            ("7,-1,-1,12,-5,7,5", false),  // negative numbers: sorting
            ("7,3.5,3.5,12,0,7,5", false), // a fraction: sorting
            ("h,c,c,m,a,h,e", false),      // text: sorting
        ];
        let mut seen = Vec::new();
        for (values, table) in cases {
            let text: String = std::iter::once("y,x,c".to_string())
                .chain(values.split(',').enumerate().map(|(i, c)| format!("{},{i},{c}", i % 2)))
                .collect::<Vec<_>>()
                .join("\n");
            let d = ds(&text);
            let col = ClusterColumn::of(&d, "c").unwrap();
            assert_eq!(col.small_integer_ids(&[0, 1, 2, 3, 4, 5, 6]).is_some(), table, "{values}");
            let opts = SampleOptions { cluster: Some("c".into()), ..Default::default() };
            let des = Design::build(&d, &Formula::parse("y ~ x").unwrap(), &opts).unwrap();
            seen.push((des.clusters.clone().unwrap(), des.n_clusters));
        }
        // Five clusters in the same order in every case (0 < 3 < 5 < 7 < 12, a < c < e < h < m).
        for s in &seen {
            assert_eq!(s, &(vec![3, 1, 1, 4, 0, 3, 2], 5));
        }
    }
}
