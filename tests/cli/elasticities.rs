//! `--margins-scale eyex|dyex|eydx` from the outside (issue #17, item 1): the scale in the
//! JSON, the factor rule, the at-means formula by hand, and bad requests with one clear
//! message, exit 2 (usage) or 3 (estimation) and no output file. The averaged numbers and their
//! SEs are checked by the golden cases `tests/golden/el_*` (numpy delta method, marginaleffects).

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn mroz() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/el_probit_mroz_eyex/data.csv")
}

const PROBIT: [&str; 4] = ["-f", "inlf ~ educ + age + C(kids)", "-m", "probit"];

fn json(command: &str, data: &Path, args: &[&str]) -> Value {
    let out = migfit().arg(command).arg(data).args(args).args(["--format", "json"]).assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn fails_on(data: &Path, command: &str, args: &[&str], code: i32, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let mut a = migfit().arg(command).arg(data).args(args).arg("-o").arg(&out).assert().code(code);
    for n in needles {
        a = a.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file");
}

fn margins(v: &Value) -> &Vec<Value> {
    v["models"][0]["margins"].as_array().unwrap()
}

#[test]
fn eyex_leaves_factors_out_and_names_the_scale() {
    let v = json("fit", &mroz(), &[&PROBIT[..], &["--margins-scale", "eyex"]].concat());
    let ms = margins(&v);
    let terms: Vec<(&str, &str)> =
        ms.iter().map(|m| (m["term"].as_str().unwrap(), m["contrast"].as_str().unwrap())).collect();
    assert_eq!(terms, [("educ", "eyex"), ("age", "eyex")]);
    let notes = v["models"][0]["notes"].to_string();
    assert!(notes.contains("not defined for a factor"), "{notes}");
    assert!(v["models"][0]["margins_description"].as_str().unwrap().contains("ey/ex"));
}

#[test]
fn eydx_keeps_factor_levels_as_log_changes() {
    let v = json("fit", &mroz(), &[&PROBIT[..], &["--margins-scale", "eydx"]].concat());
    let ms = margins(&v);
    assert_eq!(ms.len(), 4);
    assert_eq!(ms[2]["term"], "C(kids)[1]");
    assert_eq!(ms[2]["contrast"], "1 vs 0");
    // The average change of ln Pr is not the change of the average Pr (dydx).
    let d = json("fit", &mroz(), &[&PROBIT[..], &["--margins"]].concat());
    assert_ne!(ms[2]["estimate"], margins(&d)[2]["estimate"]);
}

/// At the means the one row's elasticity is phi(eta) b x / Phi(eta), by hand from the
/// reported coefficients and the data's means.
#[test]
fn eyex_at_means_is_the_formula_at_the_means_row() {
    let args = ["-f", "inlf ~ educ + age", "-m", "probit", "--margins-at", "means"];
    let text = std::fs::read_to_string(mroz()).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (ie, ia) = (head.iter().position(|h| *h == "educ").unwrap(), head.iter().position(|h| *h == "age").unwrap());
    let (mut se, mut sa, mut n) = (0.0, 0.0, 0.0);
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        se += f[ie].parse::<f64>().unwrap();
        sa += f[ia].parse::<f64>().unwrap();
        n += 1.0;
    }
    let (educ, age) = (se / n, sa / n);
    for scale in ["eyex", "dyex", "eydx"] {
        let v = json("fit", &mroz(), &[&args[..], &["--margins-scale", scale]].concat());
        let b: Vec<f64> = v["models"][0]["coefficients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["estimate"].as_f64().unwrap())
            .collect();
        let eta = b[0] + b[1] * educ + b[2] * age;
        let (pdf, cdf) = (migfit::stats::norm_pdf(eta), migfit::stats::norm_cdf(eta));
        let ms = margins(&v);
        for (m, (bk, x)) in ms.iter().zip([(b[1], educ), (b[2], age)]) {
            let d = pdf * bk;
            let want = match scale {
                "eyex" => d * x / cdf,
                "dyex" => d * x,
                _ => d / cdf,
            };
            let got = m["estimate"].as_f64().unwrap();
            assert!((got - want).abs() <= 1e-12 * want.abs(), "{scale} {}: {got} vs {want}", m["term"]);
        }
    }
}

#[test]
fn twopart_reports_each_part_and_the_combined_scale() {
    let v = json("twopart", &mroz(), &["-f", "hours ~ educ + age + nwifeinc", "--margins-scale", "eyex"]);
    for m in [&v["models"][0]["margins"], &v["models"][1]["margins"], &v["combined"]["margins"]] {
        let m = m.as_array().unwrap();
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|x| x["contrast"] == "eyex"));
    }
    // ln E[y] = ln Pr + ln E[y|y>0] row by row, so with a log-link second part, whose row-wise
    // eyex of educ is b2 educ_i, the combined eyex differs from the first part's by the
    // average of b2 educ_i over all rows: not a check of the numbers (the golden cases are), of
    // the sign convention only.
    let (c, f) = (&v["combined"]["margins"][0]["estimate"], &v["models"][0]["margins"][0]["estimate"]);
    assert_ne!(c, f);
}

#[test]
fn bad_scales_are_clear_errors() {
    let m = mroz();
    fails_on(
        &m,
        "fit",
        &[&PROBIT[..], &["--margins-scale", "elasticity"]].concat(),
        2,
        &["unknown scale 'elasticity'", "dydx, eyex, dyex or eydx"],
    );
    fails_on(
        &m,
        "fit",
        &[&PROBIT[..], &["--margins-scale", "eyex", "--dydx", "kids"]].concat(),
        2,
        &["'kids' is a factor", "eydx or dydx"],
    );
    fails_on(
        &m,
        "fit",
        &[&PROBIT[..], &["--margins-scale", "dyex", "--dydx", "C(kids)"]].concat(),
        2,
        &["is a factor"],
    );
    fails_on(
        &m,
        "fit",
        // Under the bootstrap the elasticities are recomputed in each replicate; a factor named
        // in --dydx is still refused before any replicate runs.
        &[&PROBIT[..], &["--margins-scale", "eyex", "--vce", "bootstrap", "--reps", "5", "--dydx", "kids"]].concat(),
        2,
        &["'kids' is a factor"],
    );
    fails_on(
        &m,
        "twopart",
        &["-f", "hours ~ educ + C(kids)", "--margins-scale", "eyex", "--dydx", "kids"],
        2,
        &["is a factor"],
    );
}

/// A linear model whose predictions go below zero: ln y is undefined, exit 3; dyex (no ln y)
/// is fine.
#[test]
fn ey_of_a_non_positive_prediction_is_an_estimation_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lin.csv");
    let mut s = String::from("y,x\n");
    for i in 0..40 {
        let x = i as f64 / 4.0;
        s.push_str(&format!("{},{x}\n", 2.0 - x + ((i * 7) % 5) as f64 * 0.1));
    }
    std::fs::write(&p, s).unwrap();
    let lin = ["-f", "y ~ x", "-m", "glm", "--family", "gaussian", "--link", "identity"];
    fails_on(
        &p,
        "fit",
        &[&lin[..], &["--margins-scale", "eyex"]].concat(),
        3,
        &["--margins-scale eyex", "zero or negative", "of the averaged rows"],
    );
    let v = json("fit", &p, &[&lin[..], &["--margins-scale", "dyex"]].concat());
    assert_eq!(margins(&v)[0]["contrast"], "dyex");
}
