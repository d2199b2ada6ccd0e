//! Load + schema + derive + design matrix for a 200,000-row, 40-column CMDS-style CSV.
//!
//! The file (39 MB, 37 MiB) is generated once, deterministically, at
//! `$CARGO_TARGET_DIR/bench-data/cmds_200k.csv` (or `target/bench-data/...`) by
//! `support/load_data.rs`: the 30 columns that data-schema/cmds2014.toml reads plus 10 columns
//! it does not (the loader skips them).
//! `benches/peers/load_peers.py` reads the same file with pandas and Python polars.
//!
//! The design matrix is the estimation core's (`Design::build` on the Table 3 regressors).
//!
//! `csv_schema_derive_design_200k_x40` measures the path `migfit fit` takes for the Table 3
//! model: column projection onto the model's variables (only the source columns they need are
//! parsed, only the needed variables derived and kept); `..._full` loads every variable.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use migfit::data::load::{load_with_schema, ReadOptions};
use migfit::data::schema::Schema;
use std::path::Path;
#[path = "support/load_data.rs"]
mod load_data;
use load_data::{design_matrix, ensure_data, model_columns, ROWS, TERMS};

fn bench(c: &mut Criterion) {
    let path = ensure_data();
    let bytes = std::fs::metadata(&path).unwrap().len();
    let schema = Schema::from_path(Path::new("data-schema/cmds2014.toml")).unwrap();
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    let projected = ReadOptions { columns: Some(model_columns(TERMS)), ..Default::default() };
    for (name, opts) in [
        ("csv_schema_derive_design_200k_x40", &projected),
        ("csv_schema_derive_design_200k_x40_full", &ReadOptions::default()),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let r = load_with_schema(&path, opts, &schema).unwrap();
                assert!(r.fast_path && r.violations.is_empty());
                let (x, n, p) = design_matrix(&r.dataset, TERMS);
                assert!(n > ROWS / 2 && p > 20);
                x.len()
            })
        });
    }
    g.bench_function("csv_precise_reader_200k_x40", |b| {
        b.iter(|| {
            let opts = ReadOptions { precise_only: true, ..Default::default() };
            let r = load_with_schema(&path, &opts, &schema).unwrap();
            r.dataset.n_rows()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
