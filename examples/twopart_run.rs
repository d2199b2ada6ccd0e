//! Times the two-part benchmark job on N simulated rows (default 200,000), in memory, and
//! prints the phases: `cargo run --release --example twopart_run -- [N_ROWS]`.
//! `benches/twopart_large.sh` runs it at 2,000,000 rows under `/usr/bin/time -v`.

#[path = "../benches/support/simdata.rs"]
mod simdata;
#[path = "../benches/support/twopart_data.rs"]
mod twopart_data;
#[path = "../benches/support/twopart_run.rs"]
mod twopart_run;

use std::time::Instant;

fn main() {
    let n: usize = match std::env::args().nth(1) {
        Some(s) => s.parse().unwrap_or_else(|_| {
            eprintln!("twopart_run: N_ROWS must be a whole number, not '{s}'");
            std::process::exit(2)
        }),
        None => twopart_data::N_ROWS,
    };
    let t0 = Instant::now();
    let ds = twopart_run::generate_dataset(n);
    let t1 = Instant::now();
    let tp = twopart_run::fit(&ds);
    let t2 = Instant::now();
    let r = twopart_run::effects(&tp);
    let t3 = Instant::now();
    // Repeats of the effects alone (the fit is timed once above): min is the least disturbed.
    let reps: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(twopart_run::effects(&tp));
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!("effects repeated: {reps:.3?}");
    // Issue 17: predictive margins by C(g1) with pairwise contrasts (three predictions), the
    // same at a 10-point grid of x1, and every AME at that grid (min of 3).
    let v = twopart_run::variances(&tp);
    let min3 = |f: &dyn Fn()| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let pm = min3(&|| {
        std::hint::black_box(twopart_run::predictions(&tp, &v, None));
    });
    let pm_grid = min3(&|| {
        std::hint::black_box(twopart_run::predictions(&tp, &v, Some("x1=-1(0.25)1.25")));
    });
    let ame_grid = min3(&|| {
        std::hint::black_box(twopart_run::effects_at_grid(&tp, &v, "x1=-1(0.25)1.25"));
    });
    println!(
        "predictive margins + pairwise contrasts {:.1} ms; at a 10-point grid {:.1} ms; all AMEs at the grid {:.1} ms",
        pm * 1e3,
        pm_grid * 1e3,
        ame_grid * 1e3
    );
    println!(
        "rows {n} (positive {}), K {} + {}: simulate {:.3} s, fit {:.3} s, effects {:.3} s ({} + {} + {}), fit + effects {:.3} s, threads {}",
        tp.second.design.n(),
        tp.first.beta.len(),
        tp.second.beta.len(),
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        (t3 - t2).as_secs_f64(),
        r[0].margins.len(),
        r[1].margins.len(),
        r[2].margins.len(),
        (t3 - t1).as_secs_f64(),
        rayon::current_num_threads()
    );
}
