//! The analytic delta-method Jacobian of every effect matches a numerical one: for a probit,
//! a gamma-log GLM and a two-part model's combined prediction, average, at-means and at-values.

use migfit::data::csv::{read_csv, CsvOptions};
use migfit::design::{Design, SampleOptions};
use migfit::formula::Formula;
use migfit::margins::{self, At, PartEval, Target};
use migfit::model::{self, ModelKind, ModelSpec};
use ndarray::Array2;

fn load() -> migfit::data::Dataset {
    read_csv(std::path::Path::new("examples/mroz/mroz.csv"), &CsvOptions::default()).unwrap()
}

/// Checks each effect's SE under an identity variance: sqrt(J J') with J numerical.
fn check(parts: &[PartEval], target: Target, weights: Option<&[f64]>, at: &At) {
    let k: usize = parts.iter().map(|p| p.beta.len()).sum();
    let eye = Array2::<f64>::eye(k);
    let analytic = margins::compute(parts, target, weights, at, &eye, 95.0).unwrap();
    assert!(!analytic.margins.is_empty());
    for m in &analytic.margins {
        let mut jj = 0.0;
        for idx in 0..k {
            let eval = |delta: f64| {
                let mut betas: Vec<Vec<f64>> = parts.iter().map(|p| p.beta.to_vec()).collect();
                let (mut p, mut j) = (0, idx);
                while j >= betas[p].len() {
                    j -= betas[p].len();
                    p += 1;
                }
                betas[p][j] += delta;
                let moved: Vec<PartEval> = parts
                    .iter()
                    .zip(&betas)
                    .map(|(q, b)| PartEval { x: q.x.view(), spec: q.spec, beta: b.as_slice(), link: q.link, eta: None })
                    .collect();
                margins::estimate_with(&moved, target, weights, at, &m.term).unwrap()
            };
            // Step relative to each coefficient (age squared has coefficients near 1e-3).
            let bj = parts.iter().flat_map(|p| p.beta.iter()).nth(idx).unwrap().abs();
            let h = 1e-6 * bj.max(1e-4);
            let d = (eval(h) - eval(-h)) / (2.0 * h);
            jj += d * d;
        }
        let num = jj.sqrt();
        assert!(
            (num - m.std_error).abs() <= 1e-5 * num.max(1e-8),
            "{}: analytic {} numerical {}",
            m.term,
            m.std_error,
            num
        );
    }
}

#[test]
fn probit_effects() {
    let ds = load();
    let f = Formula::parse("inlf ~ age + I(age^2) + educ + kidslt6 + C(city) + nwifeinc:educ").unwrap();
    let d = Design::build(&ds, &f, &SampleOptions::default()).unwrap();
    let fit = model::fit(d, &ModelSpec::new(ModelKind::Probit, None, None).unwrap()).unwrap();
    let p = PartEval {
        x: fit.design.x.view(),
        spec: &fit.design.spec,
        beta: &fit.beta,
        link: fit.spec.link,
        eta: Some(&fit.eta),
    };
    for at in [At::Average, At::Means, At::parse(Some("age=40,city=1")).unwrap()] {
        check(std::slice::from_ref(&p), Target::Mean(0), None, &at);
    }
    let w: Vec<f64> = (0..fit.design.n()).map(|i| 1.0 + (i % 3) as f64).collect();
    check(&[p], Target::Mean(0), Some(&w), &At::Average);
}

#[test]
fn twopart_combined_effects() {
    let ds = load();
    let f = Formula::parse("hours ~ age + I(age^2) + educ + kidslt6 + C(city)").unwrap();
    let req = model::twopart::TwoPartRequest {
        formula: &f,
        formula2: None,
        response2: None,
        first: ModelSpec::new(ModelKind::Probit, None, None).unwrap(),
        second: ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap(),
    };
    let tp = model::twopart::fit_twopart(&ds, &req, &SampleOptions::default()).unwrap();
    let p1 = PartEval {
        x: tp.first.design.x.view(),
        spec: &tp.first.design.spec,
        beta: &tp.first.beta,
        link: tp.first.spec.link,
        eta: Some(&tp.first.eta),
    };
    let p2 = PartEval {
        x: tp.second_on_all().x.view(),
        spec: &tp.second_on_all().spec,
        beta: &tp.second.beta,
        link: tp.second.spec.link,
        eta: None,
    };
    for at in [At::Average, At::Means] {
        check(&[PartEval { ..p1 }, PartEval { ..p2 }], Target::Product, None, &at);
    }
}
