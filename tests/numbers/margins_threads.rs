//! Marginal effects do not depend on the number of threads: fixed row chunks, partial sums
//! added in chunk order. A two-part model on 10,000 simulated rows (5 chunks of the average
//! pass), with linear, squared, interacted and factor terms, fitted and differentiated on a
//! 1-thread and a 2-thread pool must give bit-identical estimates and SEs, through the
//! single-set passes and through the one-pass two-part effects (`margins::compute_twopart`).

use crate::twopart_data;
use migfit::data::{Column, ColumnData, Dataset};
use migfit::design::SampleOptions;
use migfit::formula::Formula;
use migfit::inference::vce::{self, VceKind};
use migfit::margins::{self, At, PartEval, Target};
use migfit::model::twopart::{fit_twopart, TwoPartRequest};
use migfit::model::{ModelKind, ModelSpec};

fn dataset(n: usize) -> Dataset {
    let data = twopart_data::generate(n);
    let mut ds = Dataset::new("simulated", (2..n as u64 + 2).collect());
    for (name, col) in data.names.into_iter().zip(data.columns) {
        ds.push(Column { name, data: ColumnData::Numeric(col), label: None, label_zh: None });
    }
    ds
}

/// (term, estimate bits, SE bits) of every effect of both parts and the combined prediction.
fn run(ds: &Dataset, at: &At) -> Vec<(String, u64, u64)> {
    let f = Formula::parse("y ~ x1 + x2 + I(x2^2) + x3:x4 + x3 + C(g1) + x5:C(g2) + C(g2) + C(g3)").unwrap();
    let req = TwoPartRequest {
        formula: &f,
        formula2: None,
        response2: None,
        first: ModelSpec::new(ModelKind::Probit, None, None).unwrap(),
        second: ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap(),
    };
    let tp = fit_twopart(ds, &req, &SampleOptions::default()).unwrap();
    let v1 = vce::compute(&tp.first, VceKind::Robust).unwrap();
    let v2 = vce::compute(&tp.second, VceKind::Robust).unwrap();
    let p1 = PartEval {
        x: tp.first.design.x.view(),
        spec: &tp.first.design.spec,
        beta: &tp.first.beta,
        link: tp.first.spec.link,
        eta: Some(&tp.first.eta),
    };
    let p2 = PartEval {
        x: tp.second.design.x.view(),
        spec: &tp.second.design.spec,
        beta: &tp.second.beta,
        link: tp.second.spec.link,
        eta: Some(&tp.second.eta),
    };
    let q2 = PartEval {
        x: tp.second_on_all().x.view(),
        spec: &tp.second_on_all().spec,
        beta: &tp.second.beta,
        link: tp.second.spec.link,
        eta: None,
    };
    let w: Vec<f64> = (0..tp.first.design.n()).map(|i| 1.0 + (i % 4) as f64 / 3.0).collect();
    let joint = margins::block_diag(&[&v1.matrix, &v2.matrix]);
    // The fitted linear indices passed in are x beta bit for bit: the same effects as
    // computing them from the design.
    let recomputed = [
        margins::compute(&[PartEval { eta: None, ..p1 }], Target::Mean(0), None, at, &v1.matrix, 95.0).unwrap(),
        margins::compute(&[PartEval { eta: None, ..p2 }], Target::Mean(0), None, at, &v2.matrix, 95.0).unwrap(),
    ];
    let results = [
        margins::compute(std::slice::from_ref(&p1), Target::Mean(0), None, at, &v1.matrix, 95.0).unwrap(),
        margins::compute(&[p2], Target::Mean(0), None, at, &v2.matrix, 95.0).unwrap(),
        margins::compute(&[PartEval { ..p1 }, PartEval { ..q2 }], Target::Product, None, at, &joint, 95.0).unwrap(),
        margins::compute(&[p1, q2], Target::Product, Some(&w), at, &joint, 95.0).unwrap(),
    ];
    for (given, computed) in results.iter().zip(&recomputed) {
        let bits = |r: &margins::MarginsResult| {
            r.margins.iter().map(|m| (m.estimate.to_bits(), m.std_error.to_bits())).collect::<Vec<_>>()
        };
        assert_eq!(bits(given), bits(computed), "fitted eta and x beta give the same effects");
    }
    // The one-pass effects of a two-part model: the same effects as the three passes, up to
    // the order of floating-point sums, and (below) bit-identical for any number of threads.
    let tpe = |weights1, weights2| margins::TwoPartEval {
        first: PartEval { ..p1 },
        second: PartEval { ..p2 },
        second_on_all: PartEval { ..q2 },
        second_rows: &tp.second_rows_in_first,
        weights1,
        weights2,
    };
    let w2: Vec<f64> = tp.second_rows_in_first.iter().map(|&i| w[i]).collect();
    let one_pass = [
        margins::compute_twopart(&tpe(None, None), at, &v1.matrix, &v2.matrix, &joint, 95.0).unwrap(),
        margins::compute_twopart(&tpe(Some(&w), Some(&w2)), at, &v1.matrix, &v2.matrix, &joint, 95.0).unwrap(),
    ];
    let weighted = [
        margins::compute(std::slice::from_ref(&p1), Target::Mean(0), Some(&w), at, &v1.matrix, 95.0).unwrap(),
        margins::compute(&[p2], Target::Mean(0), Some(&w2), at, &v2.matrix, 95.0).unwrap(),
    ];
    let separate = [[&results[0], &results[1], &results[2]], [&weighted[0], &weighted[1], &results[3]]];
    for (joint_pass, three) in one_pass.iter().zip(&separate) {
        for (a, b) in joint_pass.iter().zip(three) {
            assert_eq!(a.margins.len(), b.margins.len(), "{:?} {:?}", a.notes, b.notes);
            assert_eq!(a.notes, b.notes);
            for (x, y) in a.margins.iter().zip(&b.margins) {
                assert_eq!((&x.term, &x.contrast), (&y.term, &y.contrast));
                let close = |u: f64, v: f64| (u - v).abs() <= 1e-10 * v.abs().max(1e-8);
                assert!(close(x.estimate, y.estimate), "{}: {} vs {}", x.term, x.estimate, y.estimate);
                assert!(close(x.std_error, y.std_error), "{}: {} vs {}", x.term, x.std_error, y.std_error);
            }
        }
    }
    let mut out = Vec::new();
    for r in results.iter().chain(one_pass.iter().flatten()) {
        assert!(r.margins.len() >= 11, "every effect computed: {:?}", r.notes);
        for m in &r.margins {
            out.push((m.term.clone(), m.estimate.to_bits(), m.std_error.to_bits()));
        }
    }
    out
}

#[test]
fn effects_bit_identical_for_1_and_2_threads() {
    let ds = dataset(10_000);
    let pool = |t| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
    for at in [At::Average, At::parse(Some("x1=0.5,g1=2")).unwrap()] {
        let one = pool(1).install(|| run(&ds, &at));
        let two = pool(2).install(|| run(&ds, &at));
        assert_eq!(one, two, "{at:?}");
    }
}
