//! Separation, detected before the fit and named: migfit against Konis's linear program as
//! written independently in `tests/golden/scripts/separation.R` (R, lpSolve), for which terms
//! are infinite, in which direction, and how many observations the separation determines.
//! The data and the expected table are in `tests/separation/` (written by that script).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn migfit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_migfit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("failed to start the migfit binary")
}

/// The `+Inf`/`-Inf` table and the count of determined observations, read from the error.
fn parse(stderr: &str) -> (BTreeMap<String, String>, usize) {
    // The table ends at "Inf); " (a term name such as "(Intercept)" has a ')' of its own).
    let after = stderr.split("detectseparation's table: ").nth(1).expect("a table");
    let text = format!("{}Inf", after.split("Inf); ").next().expect("the end of the table"));
    let terms = text
        .split(", ")
        .map(|t| {
            let (name, dir) = t.rsplit_once(' ').expect("term and direction");
            (name.to_string(), dir.to_string())
        })
        .collect();
    let determined = stderr
        .split(" observations determined")
        .next()
        .and_then(|s| s.rsplit("; ").next())
        .and_then(|s| s.split(" of ").next())
        .and_then(|s| s.parse().ok())
        .expect("the number of determined observations");
    (terms, determined)
}

#[test]
fn separation_matches_konis_linear_program() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/separation");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap()).unwrap();
    let cases = expected["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let data = root.join(case["data"].as_str().unwrap());
        let formula = case["formula"].as_str().unwrap();
        // The binomial GLM has no indicator rule: the linear program sees every column.
        let out =
            migfit(&["fit", data.to_str().unwrap(), "--formula", formula, "--model", "glm", "--family", "binomial"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !case["separation"].as_bool().unwrap() {
            assert!(out.status.success(), "{name}: {stderr}");
            continue;
        }
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        let (terms, determined) = parse(&stderr);
        let want: BTreeMap<String, String> = case["betas"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, d)| d.as_str() != Some("0"))
            .map(|(t, d)| (t.clone(), d.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(terms, want, "{name}: {stderr}");
        assert_eq!(determined as f64, case["determined"].as_f64().unwrap(), "{name}: {stderr}");
        let complete = case["determined"] == case["n"];
        assert!(stderr.contains(if complete { "complete separation" } else { "quasi-complete separation" }));
    }
}

/// The cases: `y = (x >= 20)` with a continuous x names the separation in Stata's
/// words for logit and probit (exit 3), and a quasi-complete separation no longer fits with an
/// SE of 2e6 and exit 0.
#[test]
fn threshold_and_quasi_separation_are_named() {
    for model in ["logit", "probit"] {
        let out = migfit(&["fit", "tests/separation/threshold.csv", "--formula", "y ~ x", "--model", model]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{model}: {stderr}");
        assert!(stderr.contains("outcome = x > 19.5 predicts data perfectly"), "{stderr}");
        assert!(stderr.contains("(Intercept) -Inf, x +Inf"), "{stderr}");
        let out = migfit(&["fit", "tests/separation/quasi.csv", "--formula", "y ~ x + z", "--model", model]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{model}: {stderr}");
        assert!(stderr.contains("quasi-complete separation") && stderr.contains("39 of 42"), "{stderr}");
        assert!(stderr.contains("x > 20 predicts y != 0 perfectly"), "{stderr}");
        // With --firth the same data give finite estimates (exit 0).
        let out = migfit(&[
            "fit",
            "tests/separation/quasi.csv",
            "--formula",
            "y ~ x + z",
            "--model",
            model,
            "--firth",
            "--format",
            "json",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        for c in v["models"][0]["coefficients"].as_array().unwrap() {
            let (b, se) = (c["estimate"].as_f64().unwrap(), c["std_error"].as_f64().unwrap());
            assert!(b.is_finite() && se.is_finite() && se < 100.0, "{c}");
        }
    }
}

/// Stata's rule for indicators is kept: an indicator that predicts the outcome is dropped
/// with its rows and a note, and the rest is fitted (no separation error).
#[test]
fn indicator_rule_kept_for_logit() {
    let out =
        migfit(&["fit", "tests/separation/endometrial.csv", "--formula", "HG ~ NV + PI + EH", "--model", "logit"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("NV != 0 predicts success perfectly; NV dropped and 13 obs not used"), "{stderr}");
}

/// `--firth` reaches a two-part model's first part (the second part is not binomial and fits as
/// before); the batch key `firth = true` is checked in src/options/tests.rs.
#[test]
fn firth_in_twopart_and_batch() {
    let data = "tests/golden/twopart_mroz_hours/data.csv";
    let args = |firth: bool| {
        let mut a = vec!["twopart", data, "--formula", "hours ~ nwifeinc + educ + kidslt6", "--format", "json"];
        if firth {
            a.push("--firth");
        }
        let out = migfit(&a);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let coef = |m: usize| -> Vec<f64> {
            v["models"][m]["coefficients"].as_array().unwrap().iter().map(|c| c["estimate"].as_f64().unwrap()).collect()
        };
        (coef(0), coef(1))
    };
    let (ml_first, ml_second) = args(false);
    let (firth_first, firth_second) = args(true);
    assert_eq!(ml_second, firth_second, "the second part is not penalised");
    // Bias reduction shrinks the first part's estimates towards zero, by a little at N = 753.
    for (a, b) in ml_first.iter().zip(&firth_first) {
        assert!(a != b && (a - b).abs() < 0.05 * a.abs().max(0.1), "{a} {b}");
    }
}
