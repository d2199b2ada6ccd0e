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
//!
//! Files: `build` (the design from data), `scenario` (columns under a scenario and their
//! derivatives), `cluster` (cluster renumbering), `gather` (row and column gathering).

mod build;
mod cluster;
mod gather;
mod scenario;

pub use build::eval_on_dataset;
#[allow(unused_imports)]
use build::*;
#[allow(unused_imports)]
use cluster::*;
#[allow(unused_imports)]
use gather::*;
pub use scenario::ColumnValues;
#[allow(unused_imports)]
use scenario::*;

use crate::data::Level;
use crate::error::{usage, Result};
use crate::formula::Expr;
use ndarray::Array2;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv::{read_csv_bytes, CsvOptions};
    use crate::data::Dataset;
    use crate::formula::Formula;

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
