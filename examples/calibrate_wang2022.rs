//! Calibrates the wang2022 DGP and writes `examples/wang2022/dgp.toml`.
//!
//!     cargo run --release --example calibrate_wang2022 -- [N_POP] [ITERATIONS]
//!
//! See docs/calibration.md for the method.

use migfit::simulate::wang2022::population;
use migfit::study::wang2022::calibrate::calibrate;
use migfit::study::wang2022::Spec;

/// The calibration population's seed (fixed, so the committed parameters are reproducible).
const CALIBRATION_SEED: u64 = 2014_0501;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(300_000);
    let iters: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(12);
    let t0 = std::time::Instant::now();
    let people = population(n, CALIBRATION_SEED);
    let spec = Spec::embedded();
    let (mut dgp, log) = calibrate(&people, &spec, iters).expect("calibration");
    for (i, g) in log.max_gap.iter().enumerate() {
        eprintln!("iteration {:2}: largest |target - plim| before the step = {g:.6}", i + 1);
    }
    dgp.file.about.insert("method".into(), "docs/calibration.md".into());
    dgp.file.about.insert(
        "calibration".into(),
        format!("population n = {n}, seed = {CALIBRATION_SEED}, {iters} iterations; largest gap before the last step {:.2e}", log.max_gap.last().copied().unwrap_or(f64::NAN)),
    );
    let text = format!(
        "# Data-generating process of the synthetic wang2022 extract (migfit simulate --study wang2022).\n\
         # Written by `cargo run --release --example calibrate_wang2022`; see docs/calibration.md.\n\
         # Coefficients are on the index scale: probit for `received`, log link for the\n\
         # means of log(amount) and of the ratio. `truth` holds the probability limits of the\n\
         # paper's AMEs under this DGP (what the recovery tests compare with).\n\n{}",
        dgp.to_toml()
    );
    std::fs::write("examples/wang2022/dgp.toml", text).expect("write dgp.toml");
    eprintln!("done in {:.1} s", t0.elapsed().as_secs_f64());
}
