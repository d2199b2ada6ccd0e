//! The benchmarked job, shared by `benches/twopart.rs` and `examples/twopart_run.rs`: fit a
//! probit + gamma-log two-part model and compute every average marginal effect (derivatives
//! and discrete changes) with delta-method SEs for both parts and the combined E[y].

#![allow(dead_code)]

use crate::twopart_data::{self, TwoPartData};
use migfit::data::{Column, ColumnData, Dataset};
use migfit::design::SampleOptions;
use migfit::formula::Formula;
use migfit::inference::vce::{self, VceKind};
use migfit::margins::{self, At, MarginsResult, TwoPartEval};
use migfit::model::twopart::{fit_twopart, TwoPartFit, TwoPartRequest};
use migfit::model::{ModelKind, ModelSpec};

pub fn dataset(data: TwoPartData) -> Dataset {
    let n = data.columns[0].len();
    let mut ds = Dataset::new("simulated", (2..n as u64 + 2).collect());
    for (name, col) in data.names.into_iter().zip(data.columns) {
        ds.push(Column { name, data: ColumnData::Numeric(col), label: None, label_zh: None });
    }
    ds
}

pub fn generate_dataset(n: usize) -> Dataset {
    dataset(twopart_data::generate(n))
}

pub fn fit(ds: &Dataset) -> TwoPartFit {
    let f = Formula::parse(&TwoPartData::formula()).unwrap();
    let req = TwoPartRequest {
        formula: &f,
        formula2: None,
        response2: None,
        first: ModelSpec::new(ModelKind::Probit, None, None).unwrap(),
        second: ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap(),
    };
    fit_twopart(ds, &req, &SampleOptions::default()).unwrap()
}

/// Every AME of the first part, the second part and the combined E[y] (OIM variances,
/// block-diagonal joint variance, as `twopm` + `margins, dydx(*)`), in one pass.
pub fn effects(tp: &TwoPartFit) -> [MarginsResult; 3] {
    let v1 = vce::compute(&tp.first, VceKind::Oim).unwrap();
    let v2 = vce::compute(&tp.second, VceKind::Oim).unwrap();
    let joint = margins::block_diag(&[&v1.matrix, &v2.matrix]);
    let tpe = TwoPartEval::of(tp);
    margins::compute_twopart(&tpe, &At::Average, &v1.matrix, &v2.matrix, &joint, 95.0).unwrap()
}

/// Each part's OIM variance and the block-diagonal joint one.
pub type Variances = (ndarray::Array2<f64>, ndarray::Array2<f64>, ndarray::Array2<f64>);

pub fn variances(tp: &TwoPartFit) -> Variances {
    let v1 = vce::compute(&tp.first, VceKind::Oim).unwrap().matrix;
    let v2 = vce::compute(&tp.second, VceKind::Oim).unwrap().matrix;
    let joint = margins::block_diag(&[&v1, &v2]);
    (v1, v2, joint)
}

/// Predictive margins by `C(g1)` (4 levels) and all pairwise contrasts of Pr(y > 0), E[y | y > 0]
/// and E[y] (issue 17), with `grid` an optional at-grid ("x1=..."): the variances as in
/// [`effects`] (the delta method's cost does not depend on which variance it is given).
pub fn predictions(tp: &TwoPartFit, v: &Variances, grid: Option<&str>) -> [margins::PredictionsResult; 3] {
    predictions_of(tp, v, grid, "g1")
}

/// [`predictions`] of `var` (`_cons`: the overall average prediction, no contrasts).
pub fn predictions_of(
    tp: &TwoPartFit,
    v: &Variances,
    grid: Option<&str>,
    var: &str,
) -> [margins::PredictionsResult; 3] {
    let (v1, v2, joint) = v;
    let tpe = TwoPartEval::of(tp);
    let overall = var == margins::OVERALL;
    let post = margins::PostRequest {
        predict: vec![var.into()],
        contrasts: if overall { Vec::new() } else { vec![(var.into(), margins::ContrastKind::Pairwise)] },
        mcompare: None,
        grid: grid.map(|g| margins::parse_grid(g).unwrap()).unwrap_or_default(),
        over: None,
        dydx: Vec::new(),
        scale: Default::default(),
        vce: Default::default(),
    };
    use margins::Target;
    [
        margins::predictions(&[tpe.first], Target::Mean(0), tpe.weights1, &post, v1, 95.0, None).unwrap(),
        margins::predictions(&[tpe.second], Target::Mean(0), tpe.weights2, &post, v2, 95.0, None).unwrap(),
        margins::predictions(&[tpe.first, tpe.second_on_all], Target::Product, tpe.weights1, &post, joint, 95.0, None)
            .unwrap(),
    ]
}

/// Every AME of the three predictions at each point of an at-grid (Stata's `at()`).
pub fn effects_at_grid(tp: &TwoPartFit, v: &Variances, grid: &str) -> Vec<[MarginsResult; 3]> {
    let (v1, v2, joint) = v;
    let tpe = TwoPartEval::of(tp);
    margins::parse_grid(grid)
        .unwrap()
        .into_iter()
        .map(|p| margins::compute_twopart(&tpe, &At::Values(p), v1, v2, joint, 95.0).unwrap())
        .collect()
}
