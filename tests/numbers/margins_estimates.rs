//! The bootstrap's replicate effects come from the estimates-only passes
//! (`margins::estimates`, `margins::twopart_estimates`: no Jacobian products, rows of weight 0
//! skipped, factor levels not evaluated on undrawn rows). They must be the estimates of the
//! full passes (`margins::compute`, `margins::compute_twopart`) to 1e-10 relative, on weighted
//! data with factors, interactions and `I(x^2)`: at the full-sample estimates and weights, and
//! as in a replicate (weights times resampling multipliers with zeros, perturbed coefficients),
//! for single models, the product of two parts and the one-pass two-part effects; averages,
//! at the means and at given values.

use crate::twopart_data;
use crate::xorshift::Rng;
use migfit::data::{Column, ColumnData, Dataset};
use migfit::design::{SampleOptions, WeightType};
use migfit::formula::Formula;
use migfit::inference::vce::{self, VceKind};
use migfit::margins::{self, At, MarginsResult, PartEval, Target, TwoPartEval};
use migfit::model::twopart::{fit_twopart, TwoPartRequest};
use migfit::model::{ModelKind, ModelSpec};

/// Simulated two-part data with a positive sampling weight `wt`.
fn dataset(n: usize) -> Dataset {
    dataset_times(n, &vec![1.0; n])
}

/// [`dataset`] with the weight times `mult` (a bootstrap replicate's multipliers).
fn dataset_times(n: usize, mult: &[f64]) -> Dataset {
    let data = twopart_data::generate(n);
    let mut ds = Dataset::new("simulated", (2..n as u64 + 2).collect());
    for (name, col) in data.names.into_iter().zip(data.columns) {
        ds.push(Column { name, data: ColumnData::Numeric(col), label: None, label_zh: None });
    }
    let mut rng = Rng(20261206);
    let wt: Vec<f64> = (0..n).map(|i| (0.2 + 3.0 * rng.unif()) * mult[i]).collect();
    ds.push(Column { name: "wt".into(), data: ColumnData::Numeric(wt), label: None, label_zh: None });
    ds
}

/// Same terms, same order, estimates within 1e-10 relative; the estimates-only SEs are 0.
fn same(full: &MarginsResult, est: &MarginsResult, what: &str) {
    assert_eq!(full.margins.len(), est.margins.len(), "{what}: {:?} vs {:?}", full.notes, est.notes);
    assert!(full.margins.len() >= 10, "{what}: every effect computed: {:?}", full.notes);
    for (a, b) in full.margins.iter().zip(&est.margins) {
        assert_eq!((&a.term, &a.contrast, &a.at, &a.over), (&b.term, &b.contrast, &b.at, &b.over), "{what}");
        let tol = 1e-10 * a.estimate.abs().max(1e-8);
        assert!(
            (a.estimate - b.estimate).abs() <= tol,
            "{what} {} {:?}: compute {:e}, estimates {:e}",
            a.term,
            a.contrast,
            a.estimate,
            b.estimate
        );
        assert!(a.std_error > 0.0, "{what} {}: the full pass has a standard error", a.term);
    }
}

/// Probit + gamma-log two-part fit of `f` with the data's `wt` column as pweights.
fn probit_gamma(ds: &Dataset, f: &Formula) -> migfit::model::twopart::TwoPartFit {
    let req = TwoPartRequest {
        formula: f,
        formula2: None,
        response2: None,
        first: ModelSpec::new(ModelKind::Probit, None, None).unwrap(),
        second: ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap(),
    };
    let opts = SampleOptions { weights: Some(("wt".into(), WeightType::Probability)), ..Default::default() };
    fit_twopart(ds, &req, &opts).unwrap()
}

#[test]
fn estimates_only_effects_equal_compute() {
    let ds = dataset(4000);
    let f = Formula::parse("y ~ x1 + x2 + I(x2^2) + x3:x4 + x3 + C(g1) + x5:C(g2) + C(g2) + C(g3)").unwrap();
    let tp = probit_gamma(&ds, &f);
    let (n1, n2) = (tp.first.design.n(), tp.second.design.n());
    assert!(n2 < n1 && n2 > 500, "both parts have rows: {n1}, {n2}");
    let v1 = vce::compute(&tp.first, VceKind::Robust).unwrap().matrix;
    let v2 = vce::compute(&tp.second, VceKind::Robust).unwrap().matrix;
    let joint = margins::block_diag(&[&v1, &v2]);
    let on_all = tp.second_on_all();

    // A replicate: multipliers 0-3 per row (about a third of the rows not drawn), the first
    // part's multipliers carried to the second part's rows, coefficients moved off the
    // full-sample estimates as a refit would.
    let mut rng = Rng(7);
    let mult: Vec<f64> = (0..n1).map(|_| (rng.unif() * 2.7).floor()).collect();
    assert!(mult.contains(&0.0) && mult.iter().any(|&m| m >= 2.0));
    let w1_full = tp.first.design.weights.clone().unwrap();
    let w2_full = tp.second.design.weights.clone().unwrap();
    let w1_rep: Vec<f64> = w1_full.iter().zip(&mult).map(|(w, m)| w * m).collect();
    let w2_rep: Vec<f64> = w2_full.iter().zip(&tp.second_rows_in_first).map(|(w, &i)| w * mult[i]).collect();
    let shift = |b: &[f64]| -> Vec<f64> {
        b.iter().enumerate().map(|(j, x)| x * (1.0 + 0.03 * ((j % 5) as f64 - 2.0)) + 0.001).collect()
    };
    let (b1_rep, b2_rep) = (shift(&tp.first.beta), shift(&tp.second.beta));

    let ats = [At::Average, At::Means, At::parse(Some("x1=0.5,x3=1")).unwrap()];
    for (label, b1, b2, w1, w2) in [
        ("full sample", &tp.first.beta, &tp.second.beta, &w1_full, &w2_full),
        ("replicate", &b1_rep, &b2_rep, &w1_rep, &w2_rep),
    ] {
        let p1 = PartEval {
            x: tp.first.design.x.view(),
            spec: &tp.first.design.spec,
            beta: b1,
            link: tp.first.spec.link,
            eta: None,
        };
        let p2 = PartEval {
            x: tp.second.design.x.view(),
            spec: &tp.second.design.spec,
            beta: b2,
            link: tp.second.spec.link,
            eta: None,
        };
        let q2 = PartEval { x: on_all.x.view(), spec: &on_all.spec, beta: b2, link: tp.second.spec.link, eta: None };
        for at in &ats {
            let what = format!("{label}, {at:?}");
            // Single models.
            for (p, w, v, part) in [(&p1, w1, &v1, "first part"), (&p2, w2, &v2, "second part")] {
                let full = margins::compute(&[PartEval { ..*p }], Target::Mean(0), Some(w), at, v, 95.0).unwrap();
                let est = margins::estimates(&[PartEval { ..*p }], Target::Mean(0), Some(w), at).unwrap();
                same(&full, &est, &format!("{what}, {part}"));
            }
            // The product of the two parts on the first part's rows.
            let parts = [PartEval { ..p1 }, PartEval { ..q2 }];
            let full = margins::compute(&parts, Target::Product, Some(w1), at, &joint, 95.0).unwrap();
            let est = margins::estimates(&parts, Target::Product, Some(w1), at).unwrap();
            same(&full, &est, &format!("{what}, product"));
            // The one-pass two-part effects (the bootstrap's path for a two-part model).
            let tpe = TwoPartEval {
                first: PartEval { ..p1 },
                second: PartEval { ..p2 },
                second_on_all: PartEval { ..q2 },
                second_rows: &tp.second_rows_in_first,
                weights1: Some(w1),
                weights2: Some(w2),
            };
            let full = margins::compute_twopart(&tpe, at, &v1, &v2, &joint, 95.0).unwrap();
            let est = margins::twopart_estimates(&tpe, at).unwrap();
            for (set, (a, b)) in ["first", "second", "combined"].iter().zip(full.iter().zip(&est)) {
                same(a, b, &format!("{what}, two-part {set}"));
            }
        }
    }
}

/// Same terms and grid points, estimates within `tol` relative.
fn same_predictions(a: &[migfit::output::Prediction], b: &[migfit::output::Prediction], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    assert!(!a.is_empty(), "{what}: something computed");
    for (x, y) in a.iter().zip(b) {
        assert_eq!((&x.term, &x.at), (&y.term, &y.at), "{what}");
        assert!(
            (x.estimate - y.estimate).abs() <= tol * y.estimate.abs().max(1e-8),
            "{what} {} {:?}: {:e} vs {:e}",
            x.term,
            x.at,
            x.estimate,
            y.estimate
        );
    }
}

/// The bootstrap's replicate predictive margins and contrasts
/// (`margins::prediction_estimates` with the replicate's coefficients and weights, at-grid
/// points included): with every multiplier 1 they are the full-sample `predictions`; with a
/// fixed replicate (multipliers 0-2, a third of the rows out) they are the predictions of a
/// fresh fit on the reweighted data (zero-weight rows dropped there, as Stata does): each part's
/// refit (`Refitter`, as a replicate runs it) against the fresh fit's coefficients, and the
/// margins of Pr(y>0), E[y|y>0] and E[y] against the fresh fit's `predictions`, 1e-6 relative
/// (the two fits' convergence).
#[test]
fn replicate_predictive_margins_equal_compute_and_a_fresh_fit() {
    use migfit::model::fit::Refitter;
    let ds = dataset(3000);
    let f = Formula::parse("y ~ x1 + x2 + C(g1) + x3:C(g2) + C(g2)").unwrap();
    let tp = probit_gamma(&ds, &f);
    let n = tp.first.design.n();
    assert_eq!(n, 3000, "every row in the estimation sample");
    let post = margins::PostRequest {
        predict: vec!["g1".into()],
        contrasts: vec![("g2".into(), margins::ContrastKind::Pairwise)],
        grid: margins::parse_grid("x1=0 0.5").unwrap(),
        ..Default::default()
    };
    let v1 = vce::compute(&tp.first, VceKind::Robust).unwrap().matrix;
    let v2 = vce::compute(&tp.second, VceKind::Robust).unwrap().matrix;
    let joint = margins::block_diag(&[&v1, &v2]);
    let on_all = tp.second_on_all();
    fn part<'a>(d: &'a migfit::design::Design, b: &'a [f64], link: migfit::model::LinkKind) -> PartEval<'a> {
        PartEval { x: d.x.view(), spec: &d.spec, beta: b, link, eta: None }
    }
    let (l1, l2) = (tp.first.spec.link, tp.second.spec.link);

    // Every multiplier 1: the full sample.
    let w1 = tp.first.design.weights.clone().unwrap();
    let w2 = tp.second.design.weights.clone().unwrap();
    let p1 = part(&tp.first.design, &tp.first.beta, l1);
    let p2 = part(&tp.second.design, &tp.second.beta, l2);
    let q2 = PartEval { x: on_all.x.view(), spec: &on_all.spec, beta: &tp.second.beta, link: l2, eta: None };
    let cases = [
        (vec![p1], Target::Mean(0), &w1, &v1, "Pr(y>0)"),
        (vec![p2], Target::Mean(0), &w2, &v2, "E[y|y>0]"),
        (vec![p1, q2], Target::Product, &w1, &joint, "E[y]"),
    ];
    for (parts, target, w, v, what) in &cases {
        let full = margins::predictions(parts, *target, Some(w), &post, *v, 95.0, None).unwrap();
        let est = margins::prediction_estimates(parts, *target, Some(w), &post).unwrap();
        same_predictions(&est.predictions, &full.predictions, 1e-12, &format!("all ones, {what} margins"));
        same_predictions(&est.contrasts, &full.contrasts, 1e-12, &format!("all ones, {what} contrasts"));
        assert!(
            full.predictions.iter().all(|p| p.std_error > 0.0) && est.predictions.iter().all(|p| p.std_error == 0.0)
        );
    }

    // A fixed replicate.
    let mut rng = Rng(11);
    let mult: Vec<f64> = (0..n).map(|_| (rng.unif() * 2.99).floor()).collect();
    assert!(mult.contains(&0.0) && mult.contains(&2.0));
    let w1r: Vec<f64> = tp.first.w.iter().zip(&mult).map(|(a, m)| a * m).collect();
    let w2r: Vec<f64> = tp.second.w.iter().zip(&tp.second_rows_in_first).map(|(a, &i)| a * mult[i]).collect();
    let b1 = Refitter::new(&tp.first).refit(&w1r).unwrap();
    let b2 = Refitter::new(&tp.second).refit(&w2r).unwrap();
    // The fresh fit: the weight column times the multipliers (the rows are the data's, in order).
    let ds = dataset_times(3000, &mult);
    let fresh = probit_gamma(&ds, &f);
    assert!(fresh.first.design.n() < n, "zero-weight rows dropped");
    for (a, b, what) in [(&b1, &fresh.first.beta, "first"), (&b2, &fresh.second.beta, "second")] {
        for (x, y) in a.iter().zip(b.iter()) {
            assert!((x - y).abs() <= 1e-6 * y.abs().max(1e-3), "{what} part: refit {x:e}, fresh fit {y:e}");
        }
    }
    let rp1 = part(&tp.first.design, &b1, l1);
    let rp2 = part(&tp.second.design, &b2, l2);
    let rq2 = PartEval { x: on_all.x.view(), spec: &on_all.spec, beta: &b2, link: l2, eta: None };
    let fresh_all = fresh.second_on_all();
    let fv1 = vce::compute(&fresh.first, VceKind::Robust).unwrap().matrix;
    let fv2 = vce::compute(&fresh.second, VceKind::Robust).unwrap().matrix;
    let fjoint = margins::block_diag(&[&fv1, &fv2]);
    let f1 = PartEval::of_fit(&fresh.first);
    let f2 = PartEval::of_fit(&fresh.second);
    let fq2 = PartEval { x: fresh_all.x.view(), spec: &fresh_all.spec, beta: &fresh.second.beta, link: l2, eta: None };
    let (fw1, fw2) = (fresh.first.design.weights.as_deref(), fresh.second.design.weights.as_deref());
    let cases = [
        (vec![rp1], Some(&w1r[..]), vec![f1], fw1, &fv1, Target::Mean(0), "Pr(y>0)"),
        (vec![rp2], Some(&w2r[..]), vec![f2], fw2, &fv2, Target::Mean(0), "E[y|y>0]"),
        (vec![rp1, rq2], Some(&w1r[..]), vec![f1, fq2], fw1, &fjoint, Target::Product, "E[y]"),
    ];
    for (rep, rw, fr, fw, fv, target, what) in &cases {
        let r = margins::prediction_estimates(rep, *target, *rw, &post).unwrap();
        let f = margins::predictions(fr, *target, *fw, &post, *fv, 95.0, None).unwrap();
        same_predictions(&r.predictions, &f.predictions, 1e-6, &format!("replicate, {what} margins"));
        same_predictions(&r.contrasts, &f.contrasts, 1e-6, &format!("replicate, {what} contrasts"));
    }
}

/// `--margins-scale` under the bootstrap: a replicate's elasticities
/// (`margins::estimates_scaled`, `twopart_estimates_scaled`) are `compute_scaled`'s estimates
/// at the replicate's coefficients and weights (zeros included), for eyex, dyex and eydx.
#[test]
fn replicate_elasticities_equal_compute() {
    let ds = dataset(2000);
    let f = Formula::parse("y ~ x1 + x2 + C(g1) + x3").unwrap();
    let tp = probit_gamma(&ds, &f);
    let n1 = tp.first.design.n();
    let mut rng = Rng(5);
    let mult: Vec<f64> = (0..n1).map(|_| (rng.unif() * 2.7).floor()).collect();
    let w1: Vec<f64> = tp.first.w.iter().zip(&mult).map(|(w, m)| w * m).collect();
    let w2: Vec<f64> = tp.second.w.iter().zip(&tp.second_rows_in_first).map(|(w, &i)| w * mult[i]).collect();
    let shift =
        |b: &[f64]| -> Vec<f64> { b.iter().enumerate().map(|(j, x)| x * (1.0 + 0.02 * (j % 3) as f64)).collect() };
    let (b1, b2) = (shift(&tp.first.beta), shift(&tp.second.beta));
    let on_all = tp.second_on_all();
    let p1 = PartEval {
        x: tp.first.design.x.view(),
        spec: &tp.first.design.spec,
        beta: &b1,
        link: tp.first.spec.link,
        eta: None,
    };
    let p2 = PartEval {
        x: tp.second.design.x.view(),
        spec: &tp.second.design.spec,
        beta: &b2,
        link: tp.second.spec.link,
        eta: None,
    };
    let q2 = PartEval { x: on_all.x.view(), spec: &on_all.spec, beta: &b2, link: tp.second.spec.link, eta: None };
    let (k1, k2) = (b1.len(), b2.len());
    let z = |k: usize| ndarray::Array2::<f64>::eye(k);
    for scale in [margins::MarginsScale::Eyex, margins::MarginsScale::Dyex, margins::MarginsScale::Eydx] {
        for at in [At::Average, At::parse(Some("x1=0.5")).unwrap()] {
            let full =
                margins::compute_scaled(&[PartEval { ..p1 }], Target::Mean(0), Some(&w1), &at, scale, &z(k1), 95.0)
                    .unwrap();
            let est = margins::estimates_scaled(&[PartEval { ..p1 }], Target::Mean(0), Some(&w1), &at, scale).unwrap();
            let tpe = TwoPartEval {
                first: PartEval { ..p1 },
                second: PartEval { ..p2 },
                second_on_all: PartEval { ..q2 },
                second_rows: &tp.second_rows_in_first,
                weights1: Some(&w1),
                weights2: Some(&w2),
            };
            let (z1, z2, zj) = (z(k1), z(k2), z(k1 + k2));
            let tfull =
                margins::compute_twopart_scaled(&tpe, &at, scale, [(&z1).into(), (&z2).into(), (&zj).into()], 95.0)
                    .unwrap();
            let test = margins::twopart_estimates_scaled(&tpe, &at, scale).unwrap();
            for (a, b, what) in
                std::iter::once((&full, &est, "single")).chain(tfull.iter().zip(&test).map(|(a, b)| (a, b, "two-part")))
            {
                assert_eq!(a.margins.len(), b.margins.len());
                assert!(a.margins.len() >= 3, "{scale:?} {what}");
                for (x, y) in a.margins.iter().zip(&b.margins) {
                    assert_eq!((&x.term, &x.contrast), (&y.term, &y.contrast));
                    assert_eq!(
                        x.contrast,
                        if x.term.starts_with("C(") { x.contrast.clone() } else { scale.name().to_string() }
                    );
                    assert!(
                        (x.estimate - y.estimate).abs() <= 1e-10 * x.estimate.abs().max(1e-8),
                        "{scale:?} {what} {}",
                        x.term
                    );
                }
            }
        }
    }
}
