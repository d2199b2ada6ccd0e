//! Driver for profiling and checking the single-model fits on the benchmark data
//! (`benches/support/simdata.rs`, the design of `benches/fit.rs`).
//!
//! Usage: `fit_profile MODE [N_ROWS] [REPS]` with MODE one of `probit`, `gamma`, `xtwx`,
//! `newton`, `design` (build the design only: the baseline to subtract under callgrind) or
//! `dump` (fit both models once and print every estimate, information matrix entry and
//! standard error in full precision, to compare two versions bit for bit).
//!
//! Instruction counts: `valgrind --tool=callgrind target/release/examples/fit_profile probit 200000 1`
//! minus the same with `design`. Wall and CPU time per repetition go to stderr.

#[path = "../benches/support/simdata.rs"]
mod simdata;

use migfit::data::{Column, ColumnData, Dataset};
use migfit::design::{Design, SampleOptions};
use migfit::formula::Formula;
use migfit::inference::vce::{self, VceKind};
use migfit::model::{self, ModelKind, ModelSpec};
use std::time::Instant;

fn design(sim: &simdata::SimData, n: usize, response: &str) -> Design {
    let mut ds = Dataset::new("simulated", (2..n as u64 + 2).collect());
    for (name, col) in sim.names.iter().zip(&sim.columns) {
        ds.push(Column { name: name.clone(), data: ColumnData::Numeric(col.clone()), label: None, label_zh: None });
    }
    let formula = Formula::parse(&format!("{response} ~ {}", simdata::SimData::rhs())).unwrap();
    let opts = SampleOptions { cluster: Some("cl".into()), ..Default::default() };
    Design::build(&ds, &formula, &opts).unwrap()
}

fn dump(name: &str, f: &model::Fit) {
    println!("{name}: iterations {} converged {}", f.iterations, f.converged);
    println!("{name}: methods {}", f.history.iter().map(|h| h.method).collect::<Vec<_>>().join(" "));
    println!(
        "{name}: ll {:e} deviance {:e} pearson {:e} phi {:e}",
        f.log_likelihood, f.deviance, f.pearson_chi2, f.dispersion
    );
    for (j, b) in f.beta.iter().enumerate() {
        println!("{name}: beta[{j}] {b:e}");
    }
    for (label, m) in [("oim", &f.oim), ("eim", f.eim())] {
        for ((i, j), v) in m.indexed_iter() {
            if j <= i {
                println!("{name}: {label}[{i},{j}] {v:e}");
            }
        }
    }
    for kind in [VceKind::Oim, VceKind::Eim, VceKind::Robust, VceKind::Cluster] {
        let v = vce::compute(f, kind).unwrap();
        for (j, se) in v.std_errors().iter().enumerate() {
            println!("{name}: se_{}[{j}] {se:e}", kind.name());
        }
    }
    let s: f64 = f.score_eta.iter().sum();
    let e: f64 = f.eta.iter().sum();
    let m: f64 = f.mu.iter().sum();
    println!("{name}: sum score {s:e} sum eta {e:e} sum mu {m:e}");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "dump".into());
    let n: usize = args.next().map_or(simdata::N_ROWS, |s| s.parse().expect("N_ROWS"));
    let reps: usize = args.next().map_or(1, |s| s.parse().expect("REPS"));
    let sim = simdata::generate(n);
    let probit = ModelSpec::new(ModelKind::Probit, None, None).unwrap();
    let gamma = ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")).unwrap();
    let time = |label: &str, f: &mut dyn FnMut()| {
        for _ in 0..reps {
            let t = Instant::now();
            f();
            eprintln!("{label}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
    };
    match mode.as_str() {
        "design" => {
            let d = design(&sim, n, "yb");
            eprintln!("design {} x {}", d.n(), d.k());
        }
        "probit" | "gamma" => {
            let (resp, spec) = if mode == "probit" { ("yb", &probit) } else { ("yg", &gamma) };
            let d = design(&sim, n, resp);
            // As criterion's `iter_batched`: the copy of the design is not timed.
            for _ in 0..reps {
                let dc = d.clone();
                let t = Instant::now();
                let f = model::fit(dc, spec).unwrap();
                eprintln!("{mode}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(&f);
            }
        }
        "xtwx" => {
            let d = design(&sim, n, "yb");
            let w = vec![1.0; n];
            time("xtwx", &mut || {
                std::hint::black_box(migfit::linalg::xtwx(d.x.view(), &w));
            });
        }
        "newton" => {
            let f = model::fit(design(&sim, n, "yb"), &probit).unwrap();
            time("newton", &mut || {
                std::hint::black_box(model::fit::newton_iteration(&f.design, &probit, &f.beta).unwrap());
            });
        }
        "dump" => {
            dump("probit", &model::fit(design(&sim, n, "yb"), &probit).unwrap());
            dump("gamma", &model::fit(design(&sim, n, "yg"), &gamma).unwrap());
            let logit = ModelSpec::new(ModelKind::Logit, None, None).unwrap();
            dump("logit", &model::fit(design(&sim, n, "yb"), &logit).unwrap());
            let cll = ModelSpec::new(ModelKind::Glm, Some("binomial"), Some("cloglog")).unwrap();
            dump("cloglog", &model::fit(design(&sim, n, "yb"), &cll).unwrap());
            let ig = ModelSpec::new(ModelKind::Glm, Some("igaussian"), Some("log")).unwrap();
            dump("igaussian-log", &model::fit(design(&sim, n, "yg"), &ig).unwrap());
            let pois = ModelSpec::new(ModelKind::Glm, Some("poisson"), None).unwrap();
            dump("poisson", &model::fit(design(&sim, n, "yg"), &pois).unwrap());
            let gauss = ModelSpec::new(ModelKind::Glm, None, None).unwrap();
            dump("gaussian", &model::fit(design(&sim, n, "yg"), &gauss).unwrap());
            // Fails on these data (starting means outside the domain): the error must not change.
            let ginv = ModelSpec::new(ModelKind::Glm, Some("gamma"), None).unwrap();
            match model::fit(design(&sim, n, "yg"), &ginv) {
                Ok(f) => dump("gamma-inverse", &f),
                Err(e) => println!("gamma-inverse: error {e}"),
            }
        }
        other => panic!("unknown mode '{other}'"),
    }
}
