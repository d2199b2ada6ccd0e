//! Two-part model benchmark (issue 3): probit + gamma-log on a simulated 200,000 x 30 extract
//! (`benches/support/twopart_data.rs`: 20 continuous regressors and 3 four-level factors),
//! fit plus every average marginal effect with delta-method SEs
//! for both parts and the combined E[y].
//!
//! Effects per prediction: 20 derivatives and 9 discrete changes (3 factors x 3 levels against
//! the reference); 87 in all.
//!
//! Run with `cargo bench --bench twopart`; the 2,000,000-row run (time and peak memory) is
//! `benches/twopart_large.sh`; results and the comparison with statsmodels are in
//! BENCHMARKS.md.

#[path = "support/simdata.rs"]
mod simdata;
#[path = "support/twopart_data.rs"]
mod twopart_data;
#[path = "support/twopart_run.rs"]
mod twopart_run;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;

fn benches(c: &mut Criterion) {
    let ds = twopart_run::generate_dataset(twopart_data::N_ROWS);
    let tp = twopart_run::fit(&ds);
    assert_eq!((tp.first.design.n(), tp.first.beta.len(), tp.second.beta.len()), (twopart_data::N_ROWS, 30, 30));
    let counts: Vec<usize> = twopart_run::effects(&tp).iter().map(|r| r.margins.len()).collect();
    assert_eq!(counts, vec![29, 29, 29], "every effect computed");
    eprintln!("two-part: {} rows, {} positive", tp.first.design.n(), tp.second.design.n());

    let mut g = c.benchmark_group("twopart_200k");
    g.sample_size(10).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(20));
    g.bench_function("fit_and_all_effects", |b| {
        b.iter(|| {
            let tp = twopart_run::fit(black_box(&ds));
            black_box(twopart_run::effects(&tp))
        })
    });
    g.bench_function("fit_only", |b| b.iter(|| black_box(twopart_run::fit(black_box(&ds)))));
    g.bench_function("all_effects_only", |b| b.iter(|| black_box(twopart_run::effects(black_box(&tp)))));
    // Issue 17: predictive margins by a 4-level factor with all 6 pairwise contrasts, for
    // Pr(y > 0), E[y | y > 0] and E[y]; the same at a 10-point grid of x1; AMEs at that grid.
    let v = twopart_run::variances(&tp);
    let pm = twopart_run::predictions(&tp, &v, None);
    assert_eq!(pm.iter().map(|r| (r.predictions.len(), r.contrasts.len())).collect::<Vec<_>>(), vec![(4, 6); 3]);
    const GRID: &str = "x1=-1(0.25)1.25";
    assert_eq!(twopart_run::predictions(&tp, &v, Some(GRID))[2].predictions.len(), 40);
    g.bench_function("predictive_margins_and_pairwise_contrasts", |b| {
        b.iter(|| black_box(twopart_run::predictions(black_box(&tp), &v, None)))
    });
    g.bench_function("predictive_margins_at_10_point_grid", |b| {
        b.iter(|| black_box(twopart_run::predictions(black_box(&tp), &v, Some(GRID))))
    });
    // Stata's `margins, at(x1=(...))`: the overall average prediction at 10 values (the
    // issue's "at-grid of 10 ages"), for Pr(y > 0), E[y | y > 0] and E[y].
    assert_eq!(twopart_run::predictions_of(&tp, &v, Some(GRID), "_cons")[2].predictions.len(), 10);
    g.bench_function("overall_predictive_margins_at_10_point_grid", |b| {
        b.iter(|| black_box(twopart_run::predictions_of(black_box(&tp), &v, Some(GRID), "_cons")))
    });
    g.bench_function("all_effects_at_10_point_grid", |b| {
        b.iter(|| black_box(twopart_run::effects_at_grid(black_box(&tp), &v, GRID)))
    });
    g.finish();
}

criterion_group!(twopart, benches);
criterion_main!(twopart);
