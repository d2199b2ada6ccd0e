//! Results do not depend on the number of threads: the row passes use fixed chunks whose
//! partial sums are added in chunk order, so a 1-thread and a 2-thread pool give the same bits.

use crate::simdata;
use migfit::data::{Column, ColumnData, Dataset};
use migfit::design::{Design, SampleOptions};
use migfit::formula::Formula;
use migfit::inference::vce::{self, VceKind};
use migfit::model::{self, ModelKind, ModelSpec};

/// Enough rows for many chunks (the chunk is 1,024 rows), few enough for a debug build.
const N: usize = 12_000;

fn design(response: &str) -> Design {
    let sim = simdata::generate(N);
    let mut ds = Dataset::new("simulated", (2..N as u64 + 2).collect());
    for (name, col) in sim.names.iter().zip(sim.columns) {
        ds.push(Column { name: name.clone(), data: ColumnData::Numeric(col), label: None, label_zh: None });
    }
    let formula = Formula::parse(&format!("{response} ~ {}", simdata::SimData::rhs())).unwrap();
    let opts = SampleOptions { cluster: Some("cl".into()), ..Default::default() };
    Design::build(&ds, &formula, &opts).unwrap()
}

/// Bits of the estimates, log likelihood and every kind of standard error.
fn fingerprint(d: &Design, spec: &ModelSpec, threads: usize) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let fit = model::fit(d.clone(), spec).unwrap();
        let mut bits: Vec<u64> = fit.beta.iter().map(|b| b.to_bits()).collect();
        bits.push(fit.log_likelihood.to_bits());
        bits.push(fit.dispersion.to_bits());
        for kind in [VceKind::Oim, VceKind::Eim, VceKind::Robust, VceKind::Cluster] {
            let v = vce::compute(&fit, kind).unwrap();
            bits.extend(v.std_errors().iter().map(|s| s.to_bits()));
        }
        bits
    })
}

#[test]
fn same_bits_with_one_and_two_threads() {
    let cases = [
        ("yb", ModelSpec::new(ModelKind::Probit, None, None).unwrap()),
        ("yb", ModelSpec::new(ModelKind::Logit, None, None).unwrap()),
        ("yg", ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap()),
    ];
    for (response, spec) in cases {
        let d = design(response);
        assert!(d.n() > 8 * 1024, "the test needs several chunks");
        let one = fingerprint(&d, &spec, 1);
        let two = fingerprint(&d, &spec, 2);
        assert_eq!(one, two, "{:?} differs between 1 and 2 threads", spec.kind);
    }
}
