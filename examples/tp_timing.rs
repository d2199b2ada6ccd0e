//! Phase timings of a two-part fit with every AME (n rows, default 200,000), and the
//! instruction-count driver for the margins work: `TP_FIT_ONLY=1` stops after the fit, so
//! `valgrind --tool=callgrind` of both runs gives the margins' share by difference. The effects
//! of both parts and the combined E[y] are one pass (`margins::compute_twopart`: m1 and m2 print
//! as 0 and comb is the whole); `TP_SEPARATE=1` times the three single-set passes instead.

use migfit::data::{Column, ColumnData, Dataset, Factor, Level};
use migfit::design::SampleOptions;
use migfit::formula::Formula;
use migfit::margins::{self, At, PartEval, Target};
use migfit::model::{self, ModelKind, ModelSpec};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(200_000);
    let mut s: u64 = 42;
    let mut u = || {
        s = s.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut ds = Dataset::new("sim", (0..n as u64).collect());
    let mut cols: Vec<Vec<f64>> = Vec::new();
    for _ in 0..20 {
        cols.push((0..n).map(|_| u() * 2.0 - 1.0).collect());
    }
    let mut fcodes: Vec<Vec<u32>> = Vec::new();
    for _ in 0..3 {
        fcodes.push((0..n).map(|_| (u() * 4.0) as u32).collect());
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut e1 = 0.2;
        let mut e2 = 1.0;
        for j in 0..20 {
            e1 += 0.05 * cols[j][i];
            e2 += 0.03 * cols[j][i];
        }
        for f in &fcodes {
            e1 += 0.1 * f[i] as f64;
            e2 += 0.05 * f[i] as f64;
        }
        let z = {
            let a = u();
            let b = u();
            (-2.0 * a.max(1e-300).ln()).sqrt() * (std::f64::consts::TAU * b).cos()
        };
        if e1 + z > 0.0 {
            y[i] = (e2).exp() * (-u().max(1e-300).ln()) + 0.01;
        }
    }
    for (j, c) in cols.into_iter().enumerate() {
        ds.push(Column { name: format!("x{j}"), data: ColumnData::Numeric(c), label: None, label_zh: None });
    }
    for (j, c) in fcodes.into_iter().enumerate() {
        ds.push(Column {
            name: format!("g{j}"),
            data: ColumnData::Categorical(Factor {
                codes: c,
                levels: (0..4).map(|l| Level::new(l.to_string())).collect(),
                reference: 0,
            }),
            label: None,
            label_zh: None,
        });
    }
    ds.push(Column { name: "y".into(), data: ColumnData::Numeric(y), label: None, label_zh: None });
    let rhs: Vec<String> = (0..20).map(|j| format!("x{j}")).chain((0..3).map(|j| format!("g{j}"))).collect();
    let f = Formula::parse(&format!("y ~ {}", rhs.join(" + "))).unwrap();
    let t0 = Instant::now();
    let req = model::twopart::TwoPartRequest {
        formula: &f,
        formula2: None,
        response2: None,
        first: ModelSpec::new(ModelKind::Probit, None, None).unwrap(),
        second: ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap(),
    };
    let tp = model::twopart::fit_twopart(&ds, &req, &SampleOptions::default()).unwrap();
    let t1 = Instant::now();
    if std::env::var_os("TP_FIT_ONLY").is_some() {
        // For instruction counts of the margins alone (total minus this).
        eprintln!("n={n} fit {:?}", t1 - t0);
        return;
    }
    let v1 = migfit::inference::vce::compute(&tp.first, migfit::inference::vce::VceKind::Oim).unwrap();
    let v2 = migfit::inference::vce::compute(&tp.second, migfit::inference::vce::VceKind::Oim).unwrap();
    let j = margins::block_diag(&[&v1.matrix, &v2.matrix]);
    let tpe = margins::TwoPartEval::of(&tp);
    let (p1, p2, q2) = (tpe.first, tpe.second, tpe.second_on_all);
    let (r1, r2, rc, t2, t3) = if std::env::var_os("TP_SEPARATE").is_some() {
        // The three single-set passes (before the one-pass two-part effects), for comparison.
        let r1 = margins::compute(&[PartEval { ..p1 }], Target::Mean(0), None, &At::Average, &v1.matrix, 95.0).unwrap();
        let t2 = Instant::now();
        let r2 = margins::compute(&[p2], Target::Mean(0), None, &At::Average, &v2.matrix, 95.0).unwrap();
        let t3 = Instant::now();
        let rc = margins::compute(&[p1, q2], Target::Product, None, &At::Average, &j, 95.0).unwrap();
        (r1, r2, rc, t2, t3)
    } else {
        let [r1, r2, rc] = margins::compute_twopart(&tpe, &At::Average, &v1.matrix, &v2.matrix, &j, 95.0).unwrap();
        (r1, r2, rc, t1, t1)
    };
    let t4 = Instant::now();
    eprintln!(
        "n={n} k={} fit {:?} (iters {} {}) m1 {:?} m2 {:?} comb {:?} total {:?}  effects {} {} {}",
        tp.first.beta.len(),
        t1 - t0,
        tp.first.iterations,
        tp.second.iterations,
        t2 - t1,
        t3 - t2,
        t4 - t3,
        t4 - t0,
        r1.margins.len(),
        r2.margins.len(),
        rc.margins.len()
    );
}
