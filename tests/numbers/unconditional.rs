//! The unconditional linearization (`--margins-vce unconditional`) against the pieces it is
//! made of: the design variance of the coefficients' influence-function totals is the
//! coefficients' own robust or cluster variance; average effects routed through the per-effect
//! pass (which the unconditional variance needs) have the one-pass estimates and Jacobians;
//! a margin's own linearization sums to zero over the units. The standard errors themselves
//! are golden cases (`tests/golden/uc_*`, R's survey package).

use migfit::data::csv::{read_csv, CsvOptions};
use migfit::design::{Design, SampleOptions};
use migfit::formula::Formula;
use migfit::inference::linearize::Linearization;
use migfit::inference::{Variance, VceKind};
use migfit::margins::{self, At, MarginsVce, PartEval, Target};
use migfit::model::{self, ModelKind, ModelSpec};
use ndarray::Array2;

fn fit(cluster: Option<&str>) -> model::Fit {
    let ds = read_csv(std::path::Path::new("examples/mroz/mroz.csv"), &CsvOptions::default()).unwrap();
    let f = Formula::parse("inlf ~ age + educ + kidslt6 + C(city)").unwrap();
    let sample = SampleOptions { cluster: cluster.map(str::to_string), ..Default::default() };
    let d = Design::build(&ds, &f, &sample).unwrap();
    model::fit(d, &ModelSpec::new(ModelKind::Probit, None, None).unwrap()).unwrap()
}

#[test]
fn influence_totals_give_the_coefficient_variance() {
    for (cluster, kind) in [(None, VceKind::Robust), (Some("kidsge6"), VceKind::Cluster)] {
        let f = fit(cluster);
        let k = f.beta.len();
        let lin = Linearization::single(&f, kind, None).unwrap();
        let zero = vec![0.0; lin.n_units()];
        let mut t = Array2::<f64>::zeros((lin.n_units(), k));
        for j in 0..k {
            let e: Vec<f64> = (0..k).map(|i| if i == j { 1.0 } else { 0.0 }).collect();
            t.column_mut(j).assign(&ndarray::Array1::from(lin.totals(&zero, &e, 0)));
        }
        let ours = lin.covariance(&t).unwrap();
        let v = Variance::compute(&f, kind, None).unwrap().matrix;
        for (a, b) in ours.iter().zip(v.iter()) {
            assert!((a - b).abs() <= 1e-10 * b.abs().max(1e-12), "{kind:?}: {a} vs {b}");
        }
    }
}

#[test]
fn per_effect_pass_matches_the_one_pass() {
    let f = fit(Some("kidsge6"));
    let lin = Linearization::single(&f, VceKind::Cluster, None).unwrap();
    let part = [PartEval::of_fit(&f)];
    let v = Variance::compute(&f, VceKind::Cluster, None).unwrap().matrix;
    let delta = margins::compute(&part, Target::Mean(0), None, &At::Average, &v, 95.0).unwrap();
    let unc = MarginsVce::Unconditional { lin: &lin, start: 0, units: lin.units_of_part(0) };
    let ours = margins::compute(&part, Target::Mean(0), None, &At::Average, unc, 95.0).unwrap();
    assert_eq!(delta.margins.len(), ours.margins.len());
    assert!(delta.margins.len() >= 4);
    for (d, u) in delta.margins.iter().zip(&ours.margins) {
        assert_eq!(d.term, u.term);
        assert!((d.estimate - u.estimate).abs() <= 1e-12 * d.estimate.abs(), "{}", d.term);
        for (a, b) in d.jacobian.iter().zip(&u.jacobian) {
            assert!((a - b).abs() <= 1e-11 * a.abs().max(1e-9), "{}: {a} vs {b}", d.term);
        }
        // The own linearization: one value per cluster, summing to zero.
        assert_eq!(u.linearized.len(), lin.n_units());
        let s: f64 = u.linearized.iter().sum();
        assert!(s.abs() < 1e-12, "{}: {s}", d.term);
        assert!(d.linearized.is_empty());
        assert!((u.std_error - d.std_error).abs() > 1e-9 * d.std_error);
    }
}
