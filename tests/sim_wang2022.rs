//! The synthetic wang2022 extract: determinism (the user-file path is tests/reproduce_user_files.rs), recovery of the true
//! AMEs (n = 200,000) and coverage of the scope AMEs' confidence intervals.
//!
//! The recovery and coverage tests are slow in debug builds: they are `#[ignore]`d and run in
//! release mode by `.ci/run` (`cargo test --release --test sim_wang2022 -- --ignored`).

use assert_cmd::Command;
use migfit::error::{Error, FitError};
use migfit::simulate::wang2022::{simulate, Dgp, SCOPE_TERMS};
use migfit::study::wang2022::{analysis_from_csv, estimate, Mode, Spec};

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

#[test]
fn simulate_is_byte_identical_across_runs_and_thread_counts() {
    let run = |threads: &str| {
        migfit()
            .env("RAYON_NUM_THREADS", threads)
            .args(["simulate", "--study", "wang2022", "--seed", "11", "--n", "3000"])
            .output()
            .unwrap()
    };
    let a = run("1");
    let b = run("2");
    assert!(a.status.success());
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
    let c = migfit().args(["simulate", "--study", "wang2022", "--seed", "12", "--n", "3000"]).output().unwrap();
    assert_ne!(a.stdout, c.stdout, "another seed gives another extract");
}

#[test]
fn simulate_stay2018_is_deterministic() {
    let run = |threads: &str| {
        migfit()
            .env("RAYON_NUM_THREADS", threads)
            .args(["simulate", "--study", "stay2018", "--seed", "3"])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn reproduce_is_byte_identical_across_runs() {
    let run = |threads: &str| {
        let o = migfit().env("RAYON_NUM_THREADS", threads).args(["reproduce", "wang2022"]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let a = run("1");
    assert_eq!(a, run("2"));
    let text = String::from_utf8(a).unwrap();
    assert!(text.contains("Table 3."));
    assert!(text.contains("Summary: "));
}

#[test]
fn reproduce_stay2018_is_byte_identical_across_thread_counts() {
    for format in ["text", "json"] {
        let run = |threads: &str| {
            let o = migfit()
                .env("RAYON_NUM_THREADS", threads)
                .args(["reproduce", "stay2018", "--format", format])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            o.stdout
        };
        let a = run("1");
        assert!(!a.is_empty());
        assert_eq!(a, run("2"), "{format}");
    }
}

#[test]
fn the_extract_has_the_schema_layout_and_the_universe_filter_bites() {
    let dgp = Dgp::embedded();
    let raw = simulate(&dgp, 2000, 5);
    assert_eq!(raw.header[0], "ID");
    assert!(raw.rows.len() > 2000, "out-of-universe rows are written too");
    let ds = analysis_from_csv(raw.to_csv().as_bytes(), "mem").unwrap();
    assert_eq!(ds.n_rows(), 2000);
    let recv = match &ds.column("received").unwrap().data {
        migfit::data::ColumnData::Numeric(v) => v.clone(),
        _ => unreachable!(),
    };
    let amt = match &ds.column("amount").unwrap().data {
        migfit::data::ColumnData::Numeric(v) => v.clone(),
        _ => unreachable!(),
    };
    let r = recv.iter().filter(|v| **v == 1.0).count() as f64;
    let usable = amt.iter().filter(|v| !v.is_nan()).count() as f64;
    // Paper: 663 of 778 recipients usable (85.2%).
    assert!((usable / r - 663.0 / 778.0).abs() < 0.04, "{usable} of {r}");
}

fn truth(dgp: &Dgp, sample: &str, part: &str, term: &str) -> f64 {
    dgp.file.truth[sample][part][term]
}

/// Every Table 3 AME (total sample) and every Table 4 scope AME estimated from a simulated
/// extract of 200,000 lies within a Bonferroni bound of its true value (the probability limit
/// of the paper's estimator under the DGP, recorded in dgp.toml): with m cells, |estimate -
/// truth| / SE <= z*, z* = Phi^-1(1 - alpha / (2m)), alpha = 0.01. Under a correct calibration
/// (each z asymptotically standard normal) the rule passes with probability at least 0.99,
/// whatever the correlation between cells (Bonferroni). The old rule (3 SE and 0.02 in all 90
/// cells at once) passed in only about 4 runs in 10 with a correct calibration; its 0.02
/// absolute bound is dropped (it was 1.4-3 SE in the amount GLM: a second, tighter test).
#[test]
#[ignore = "slow in debug builds; .ci/run runs it in release mode"]
fn recovery_n200000() {
    let dgp = Dgp::embedded();
    let spec = Spec::embedded();
    let seed: u64 = std::env::var("MIGFIT_RECOVERY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(424242);
    let raw = simulate(&dgp, 200_000, seed);
    let ds = analysis_from_csv(raw.to_csv().as_bytes(), "recovery").unwrap();
    let fits = estimate(&ds, &spec, Mode::Observed).unwrap();
    let mut worst: (f64, String) = (0.0, String::new());
    let mut cells = Vec::new();
    for s in &fits {
        for (part, f) in &s.parts {
            for term in spec.terms.values() {
                if s.sample != "total" && !SCOPE_TERMS.contains(&term.as_str()) {
                    continue;
                }
                let m = f.ame(term).unwrap_or_else(|| panic!("{} {part} {term}", s.sample));
                let t = truth(&dgp, &s.sample, part, term);
                let z = (m.estimate - t) / m.std_error;
                if z.abs() > worst.0 {
                    worst = (z.abs(), format!("{} {part} {term}", s.sample));
                }
                cells.push((
                    z,
                    format!(
                        "{} {part} {term}: estimate {:.4} (SE {:.4}), truth {t:.4}",
                        s.sample, m.estimate, m.std_error
                    ),
                ));
            }
        }
    }
    const ALPHA: f64 = 0.01;
    let m = cells.len();
    assert!(m >= 80, "only {m} cells compared");
    let bound = migfit::stats::norm_quantile(1.0 - ALPHA / (2.0 * m as f64));
    let failures: Vec<&String> = cells.iter().filter(|(z, _)| z.abs() > bound).map(|(_, c)| c).collect();
    eprintln!("{m} cells; largest |estimate - truth| / SE = {:.2} ({}); Bonferroni bound {bound:.3}", worst.0, worst.1);
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Over 400 extracts of the published size, the 95% CIs of the migration-scope AMEs (total
/// sample and both subsamples, three parts, two levels: 18 cells) cover the truth 92-98% of
/// the time pooled over cells; each cell within 90-99% (binomial SD of one cell's rate at
/// 400 replications is 1.1 points).
#[test]
#[ignore = "slow in debug builds; .ci/run runs it in release mode"]
fn coverage_of_scope_ames() {
    let dgp = Dgp::embedded();
    let spec = Spec::embedded();
    let reps = 400;
    let mut cover: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut separated = 0usize;
    for r in 0..reps {
        let raw = simulate(&dgp, 1165, 1_000_000 + r as u64);
        let ds = analysis_from_csv(raw.to_csv().as_bytes(), "coverage").unwrap();
        // An extract this small can separate (a scope level in a subsample whose outcome is
        // all 0 or all 1): the ML estimates do not exist and migfit refuses the fit, naming the
        // separation. Those extracts are counted, and the coverage is that of the extracts whose
        // estimates exist, as a Stata or R user's Monte Carlo study would report it.
        let fits = match estimate(&ds, &spec, Mode::Observed) {
            Ok(f) => f,
            Err(Error::Fit(FitError::Separation(msg))) => {
                eprintln!("extract {r}: {msg}");
                separated += 1;
                continue;
            }
            Err(e) => panic!("extract {r}: {e}"),
        };
        for s in &fits {
            for (part, f) in &s.parts {
                for term in SCOPE_TERMS {
                    let m = f.ame(term).unwrap();
                    let t = truth(&dgp, &s.sample, part, term);
                    let e = cover.entry(format!("{} {part} {term}", s.sample)).or_default();
                    e.1 += 1;
                    if m.conf_low <= t && t <= m.conf_high {
                        e.0 += 1;
                    }
                }
            }
        }
    }
    let (mut hit, mut all) = (0, 0);
    for (k, (h, n)) in &cover {
        eprintln!("{k:<45} {:.1}%", 100.0 * *h as f64 / *n as f64);
        hit += h;
        all += n;
    }
    let pooled = 100.0 * hit as f64 / all as f64;
    // Separation is rare at the published size (1 extract in 400 under seed 1,000,000+r);
    // more than 1% would mean the calibration drifted towards empty cells.
    assert!(separated * 100 <= reps, "{separated} of {reps} extracts separated");
    eprintln!("{separated} of {reps} extracts separated and were left out");
    eprintln!("pooled coverage over {} cells x {reps} extracts: {pooled:.2}%", cover.len());
    assert!((92.0..=98.0).contains(&pooled), "pooled coverage {pooled}");
    for (k, (h, n)) in &cover {
        let c = 100.0 * *h as f64 / *n as f64;
        assert!((90.0..=99.0).contains(&c), "{k}: {c}");
    }
}
