//! `migfit explain` and `--convention`: the factors of each difference multiply to each
//! package's SE, and that SE is the package's own (the golden numbers written by
//! tests/golden/scripts/conventions.R and conventions.py); bad profile names and overriding
//! options.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn golden(case: &str) -> (Vec<String>, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(case);
    let c: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let e: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut args = vec![dir.join("data.csv").display().to_string()];
    let mut it = c["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string());
    while let Some(a) = it.next() {
        if a == "--convention" {
            it.next();
        } else {
            args.push(a);
        }
    }
    (args, e)
}

fn explain(args: &[String]) -> Value {
    let out = migfit().arg("explain").arg("fit").args(args).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// For every row: Stata's SE times the product of each profile's factors is the profile's SE;
/// the profile's SE is the reference package's (`refs`: convention name -> golden case).
fn check(e: &Value, refs: &[(&str, &Value)]) -> usize {
    let mut checked = 0;
    for row in e["models"][0]["rows"].as_array().unwrap() {
        let ses = row["std_errors"].as_array().unwrap();
        let stata = ses.iter().find(|s| s["convention"] == "stata").unwrap()["std_error"].as_f64().unwrap();
        for s in ses {
            let se = s["std_error"].as_f64().unwrap();
            let product: f64 = s["factors"].as_array().unwrap().iter().map(|f| f["factor"].as_f64().unwrap()).product();
            assert!((stata * product - se).abs() <= 1e-12 * se, "{row}: {stata} x {product} != {se}");
            assert!((s["ratio"].as_f64().unwrap() - se / stata).abs() < 1e-14);
            if row["contrast"].is_null() {
                if let Some((_, exp)) = refs.iter().find(|(c, _)| s["convention"] == *c) {
                    let coefs = exp["models"][0]["coefficients"].as_array().unwrap();
                    let want = coefs.iter().find(|c| c["term"] == row["term"]).unwrap()["std_error"].as_f64().unwrap();
                    assert!((se - want).abs() <= 1e-6 * want, "{}: {se} vs the package's {want}", row["term"]);
                    checked += 1;
                }
            }
        }
    }
    checked
}

#[test]
fn explain_gamma_log_factors_reproduce_r_and_statsmodels() {
    for (r, sm) in
        [("conv_r_gamma_mroz", "conv_sm_gamma_mroz"), ("conv_r_gamma_mroz_robust", "conv_sm_gamma_mroz_robust")]
    {
        let (args, er) = golden(r);
        let (_, es) = golden(sm);
        let mut with_margins = args.clone();
        with_margins.push("--margins".into());
        let e = explain(&with_margins);
        assert_eq!(check(&e, &[("r", &er), ("statsmodels", &es)]), 12, "{r}");
        // Effects are decomposed too.
        assert!(e["models"][0]["rows"].as_array().unwrap().iter().any(|r| r["contrast"] == "dydx"));
    }
    // The plain gamma-log: R's step is the information (EIM vs OIM) alone.
    let (args, _) = golden("conv_r_gamma_mroz");
    let e = explain(&args);
    let educ = e["models"][0]["rows"].as_array().unwrap().iter().find(|r| r["term"] == "educ").unwrap().clone();
    let r = educ["std_errors"].as_array().unwrap().iter().find(|s| s["convention"] == "r").unwrap().clone();
    assert_eq!(r["factors"].as_array().unwrap().len(), 1);
    assert_eq!(r["factors"][0]["choice"], "information EIM vs OIM");
    let rp = e["models"][0]["profiles"].as_array().unwrap().iter().find(|p| p["convention"] == "r").unwrap().clone();
    assert_eq!(rp["df_r"], 422.0);
}

#[test]
fn explain_survey_probit_factors_reproduce_svyglm() {
    let (args, er) = golden("conv_r_svy_probit_apiclus1");
    let e = explain(&args);
    assert_eq!(check(&e, &[("r", &er)]), 4);
    let profiles = e["models"][0]["profiles"].as_array().unwrap();
    let sm = profiles.iter().find(|p| p["convention"] == "statsmodels").unwrap();
    assert!(sm["unavailable"].as_str().unwrap().contains("no survey"));
    let r = profiles.iter().find(|p| p["convention"] == "r").unwrap();
    assert_eq!(r["df_r"], er["models"][0]["df_r"]);
    // The text table prints the ratio and the factor of the survey bread.
    migfit()
        .arg("explain")
        .arg("fit")
        .args(&args)
        .assert()
        .success()
        .stdout(predicate::str::contains("survey bread EIM vs OIM: x"));
}

#[test]
fn unknown_convention_is_a_usage_error_listing_the_three() {
    let (args, _) = golden("conv_r_probit_mroz");
    migfit()
        .arg("fit")
        .args(&args)
        .args(["--convention", "spss"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown convention 'spss' (expected stata, r or statsmodels)"));
}

#[test]
fn an_explicit_vce_overrides_the_profile_with_a_note() {
    let (args, _) = golden("conv_r_probit_mroz");
    let run = |extra: &[&str]| -> Value {
        let out = migfit().arg("fit").args(&args).args(extra).args(["--format", "json"]).output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let stata = run(&[]);
    let r_oim = run(&["--convention", "r", "--vce", "oim"]);
    let r = run(&["--convention", "r"]);
    let se = |v: &Value| v["models"][0]["coefficients"][1]["std_error"].as_f64().unwrap();
    assert_eq!(se(&stata), se(&r_oim));
    assert_ne!(se(&stata), se(&r));
    let notes = r_oim["models"][0]["notes"].to_string();
    assert!(notes.contains("--vce oim overrides the r convention's EIM"), "{notes}");
    // A survey design under statsmodels: a usage error.
    let (svy, _) = golden("conv_r_svy_probit_apiclus1");
    migfit()
        .arg("fit")
        .args(&svy)
        .args(["--convention", "statsmodels"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no survey-design variance"));
}
