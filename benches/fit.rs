//! Fitting benchmarks on a simulated 200,000 x 30 design (see `benches/support/simdata.rs`):
//! a probit fit, a gamma GLM with log link, the cluster-robust variance with 2,000 clusters,
//! one `X'WX` product and one Newton iteration (to compare the two).
//!
//! Run with `cargo bench --bench fit`; results and the comparison with statsmodels are in
//! BENCHMARKS.md. Sample sizes are small so the whole run takes a couple of minutes on a
//! shared 2-core machine.

#[path = "support/simdata.rs"]
mod simdata;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use migfit::data::{Column, ColumnData, Dataset};
use migfit::design::{Design, SampleOptions};
use migfit::formula::Formula;
use migfit::inference::vce::{self, VceKind};
use migfit::model::{self, ModelKind, ModelSpec};
use std::hint::black_box;
use std::time::Duration;

fn dataset() -> Dataset {
    let sim = simdata::generate(simdata::N_ROWS);
    let mut ds = Dataset::new("simulated", (2..simdata::N_ROWS as u64 + 2).collect());
    for (name, col) in sim.names.iter().zip(sim.columns) {
        ds.push(Column { name: name.clone(), data: ColumnData::Numeric(col), label: None, label_zh: None });
    }
    ds
}

fn design(ds: &Dataset, response: &str) -> Design {
    let formula = Formula::parse(&format!("{response} ~ {}", simdata::SimData::rhs())).unwrap();
    let opts = SampleOptions { cluster: Some("cl".into()), ..Default::default() };
    let d = Design::build(ds, &formula, &opts).unwrap();
    assert_eq!((d.n(), d.k()), (simdata::N_ROWS, 30));
    d
}

fn benches(c: &mut Criterion) {
    let ds = dataset();
    let d_probit = design(&ds, "yb");
    let d_gamma = design(&ds, "yg");
    drop(ds);
    let probit = ModelSpec::new(ModelKind::Probit, None, None).unwrap();
    let gamma = ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap();

    let fp = model::fit(d_probit.clone(), &probit).unwrap();
    let fg = model::fit(d_gamma.clone(), &gamma).unwrap();
    eprintln!(
        "probit: {} iterations ({}); gamma-log: {} iterations ({})",
        fp.iterations,
        fp.history.iter().map(|h| h.method).collect::<Vec<_>>().join(" "),
        fg.iterations,
        fg.history.iter().map(|h| h.method).collect::<Vec<_>>().join(" "),
    );

    let mut g = c.benchmark_group("fit");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    g.bench_function("probit 200000x30", |b| {
        b.iter_batched(|| d_probit.clone(), |d| model::fit(d, &probit).unwrap(), BatchSize::LargeInput)
    });
    g.bench_function("gamma-log GLM 200000x30", |b| {
        b.iter_batched(|| d_gamma.clone(), |d| model::fit(d, &gamma).unwrap(), BatchSize::LargeInput)
    });
    g.bench_function("cluster-robust VCE (2000 clusters)", |b| {
        b.iter(|| vce::compute(black_box(&fp), VceKind::Cluster).unwrap())
    });
    let x = d_probit.x.view();
    g.bench_function("X'WX product", |b| b.iter(|| migfit::linalg::xtwx(black_box(x), black_box(&fp.w))));
    g.bench_function("probit Newton iteration", |b| {
        b.iter(|| model::fit::newton_iteration(&fp.design, &probit, black_box(&fp.beta)).unwrap())
    });
    g.finish();
}

criterion_group!(fit, benches);
criterion_main!(fit);
