//! Post-estimation from the outside (issue #17): `--test`, `--lincom`, `--stats`. Bad
//! hypotheses get one clear message, exit 2 (usage) or 3 (estimation) and no output file;
//! results reach every table format as notes and summary rows. The numbers themselves are
//! checked against statsmodels and R's survey package in the golden cases
//! `tests/golden/postest_*`.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::PathBuf;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn mroz() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/postest_probit_mroz_oim/data.csv")
}

const PROBIT: [&str; 4] = ["-f", "inlf ~ educ + age + C(agegrp) + kidslt6", "-m", "probit"];

fn fails(args: &[&str], code: i32, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let mut a = migfit().arg("fit").arg(mroz()).args(PROBIT).args(args).arg("-o").arg(&out).assert().code(code);
    for n in needles {
        a = a.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file");
}

#[test]
fn unknown_coefficient_is_a_usage_error_naming_it() {
    fails(&["--test", "educ = nosuch"], 2, &["unknown coefficient 'nosuch'", "C(agegrp)[2]"]);
    fails(&["--lincom", "educ - nosuch"], 2, &["unknown coefficient 'nosuch'"]);
    fails(&["--test", "C(nosuch)"], 2, &["unknown coefficient 'C(nosuch)'"]);
}

#[test]
fn malformed_hypotheses_are_usage_errors() {
    fails(&["--test", "educ*age = 0"], 2, &["must be linear"]);
    fails(&["--test", "educ = 0 = 1"], 2, &["two '=' signs"]);
    fails(&["--test", ""], 2, &["empty --test"]);
    fails(&["--test", "educ = 0,"], 2, &["empty equation"]);
    fails(&["--lincom", "educ = age"], 2, &["one linear expression"]);
    fails(&["--stats", "N,foo"], 2, &["unknown --stats row 'foo'"]);
}

#[test]
fn a_test_of_a_dropped_term_is_an_estimation_error() {
    // educ2 duplicates educ: it is omitted as collinear.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    migfit()
        .arg("fit")
        .arg(mroz())
        .args(["-f", "inlf ~ educ + I(educ * 1) + age", "-m", "probit", "--test", "I(educ*1) = 0"])
        .arg("-o")
        .arg(&out)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("was omitted from the model (collinear)"));
    assert!(!out.exists());
}

#[test]
fn results_are_in_json_and_in_every_table_format() {
    let args = ["--test", "C(agegrp)", "--test", "educ = age", "--lincom", "educ - age"];
    let out = migfit().arg("fit").arg(mroz()).args(PROBIT).args(args).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["tests"][0]["test"], "C(agegrp)");
    assert_eq!(m["tests"][0]["df"], 2.0);
    assert_eq!(m["tests"][0]["kind"], "chi2");
    assert_eq!(m["tests"][1]["restrictions"][0], "educ - age = 0");
    assert_eq!(m["lincom"][0]["term"], "educ - age");
    assert_eq!(m["model_test"]["method"], "LR");
    let names: Vec<&str> = m["vcov"]["terms"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(names, ["(Intercept)", "educ", "age", "C(agegrp)[2]", "C(agegrp)[3]", "kidslt6"]);
    assert_eq!(m["vcov"]["matrix"].as_array().unwrap().len(), 6);
    // AIC = -2 ll + 2k with k = 6 coefficients.
    let ll = m["log_likelihood"].as_f64().unwrap();
    assert!((m["aic"].as_f64().unwrap() - (-2.0 * ll + 12.0)).abs() < 1e-9);
    // The tidy CSV is one line per model and term: it carries neither notes nor summary rows.
    for format in ["text", "md", "latex", "html", "summary"] {
        let out = migfit()
            .arg("fit")
            .arg(mroz())
            .args(PROBIT)
            .args(args)
            .args(["--format", format, "--stats", "N,aic,bic,chi2,p"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("C(agegrp)") && text.contains("chi2(2)"), "{format}: {text}");
        assert!(text.contains("educ - age"), "{format}: {text}");
        if format != "summary" {
            assert!(text.contains("AIC") && text.contains("BIC") && text.contains("LR chi2"), "{format}: {text}");
        }
    }
}

#[test]
fn survey_tests_are_adjusted_f_and_cluster_counts_reach_the_table() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/postest_svy_logit_nhanes/data.csv");
    let out = migfit()
        .arg("fit")
        .arg(&data)
        .args(["-f", "hi_chol ~ C(race) + female", "-m", "logit", "--strata", "stratum", "--psu", "psu"])
        .args(["--weights", "wt", "--weight-type", "pweight", "--test", "C(race)"])
        .args(["--stats", "N,clusters,strata,aic,chi2", "--format", "md"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("F(3, 14)"), "{text}");
    assert!(text.contains("Clusters") && text.contains("31") && text.contains("Strata"), "{text}");
    // No likelihood under a survey design: no AIC row at all.
    assert!(!text.contains("AIC"), "{text}");
    assert!(text.contains("*F*"), "{text}");
}

/// Tests and combinations of margins (`--test-margins`, `--lincom-margins`): names are the
/// margins', never the coefficients'; bad ones are usage errors with no output file. The
/// numbers are checked in the golden cases `tests/golden/mt_*`.
#[test]
fn margin_hypotheses_name_margins_not_coefficients() {
    let pm = ["--predict-margins", "agegrp"];
    // A coefficient name is not a margin: the message lists the margins.
    fails(&[&pm[..], &["--test-margins", "educ = 0"]].concat(), 2, &["unknown margin 'educ'", "C(agegrp)[1]"]);
    // A bare factor is not "all its levels" here (that is --test's testparm).
    fails(&[&pm[..], &["--test-margins", "agegrp"]].concat(), 2, &["unknown margin 'agegrp'"]);
    // Effects are dydx(...), and need --margins.
    fails(&[&pm[..], &["--lincom-margins", "dydx(educ)"]].concat(), 2, &["unknown margin 'dydx(educ)'"]);
    fails(&["--test-margins", "agegrp[2] = agegrp[3]"], 2, &["none; ask for them with --predict-margins or --margins"]);
    fails(&[&pm[..], &["--test-margins", ""]].concat(), 2, &["empty --test-margins"]);
    fails(&[&pm[..], &["--lincom-margins", "agegrp[2] = agegrp[3]"]].concat(), 2, &["one linear expression"]);
    // A grid point that was not asked for.
    fails(
        &[&pm[..], &["--at", "age=30 40", "--test-margins", "agegrp[2]@(age=50) = 0"]].concat(),
        2,
        &["unknown margin 'agegrp[2]@(age=50)'", "C(agegrp)[2]@(age=30)"],
    );
}

#[test]
fn margin_hypotheses_reach_json_and_tables() {
    let args = [
        "--margins",
        "--predict-margins",
        "agegrp",
        "--at",
        "kidslt6=0 1",
        "--test-margins",
        "agegrp[1]@(kidslt6=0) = agegrp[1]@(kidslt6=1)",
        "--lincom-margins",
        "agegrp[3]@(kidslt6=0) - agegrp[2]@(kidslt6=0)",
        "--lincom-margins",
        "dydx(educ)@(kidslt6=1)",
    ];
    let out = migfit().arg("fit").arg(mroz()).args(PROBIT).args(args).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["models"][0];
    assert_eq!(m["tests"][0]["on"], "margins");
    assert_eq!(m["tests"][0]["restrictions"][0], "C(agegrp)[1]@(kidslt6=0) - C(agegrp)[1]@(kidslt6=1) = 0");
    // The lincom of one margin is that margin, with its SE.
    let pm = |term: &str, at: f64| {
        m["predictions"].as_array().unwrap().iter().find(|p| p["term"] == term && p["at"]["kidslt6"] == at).unwrap()
    };
    let d =
        pm("C(agegrp)[3]", 0.0)["estimate"].as_f64().unwrap() - pm("C(agegrp)[2]", 0.0)["estimate"].as_f64().unwrap();
    assert!((m["lincom"][0]["estimate"].as_f64().unwrap() - d).abs() < 1e-12);
    let e = m["margins"].as_array().unwrap().iter().find(|x| x["term"] == "educ" && x["at"]["kidslt6"] == 1.0).unwrap();
    assert_eq!(m["lincom"][1]["estimate"], e["estimate"]);
    assert!((m["lincom"][1]["std_error"].as_f64().unwrap() / e["std_error"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    for format in ["text", "md", "summary"] {
        let out = migfit().arg("fit").arg(mroz()).args(PROBIT).args(args).args(["--format", format]).output().unwrap();
        assert!(out.status.success(), "{format}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Wald test of margins agegrp[1]@(kidslt6=0)"), "{format}: {text}");
        assert!(text.contains("dydx(educ)@(kidslt6=1)"), "{format}: {text}");
    }
}

/// A two-part model: a combination of margins is evaluated on each part's margins and on the
/// combined E[y]'s (joint variance); there it equals the contrast of predictive margins
/// (golden-tested in `pm_twopart_mroz_joint`).
#[test]
fn twopart_margin_lincom_equals_the_combined_contrast() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pm_twopart_mroz_joint/data.csv");
    let out = migfit()
        .arg("twopart")
        .arg(&data)
        .args(["--formula", "hours ~ nwifeinc + educ + exper + I(exper^2) + age + C(kids)", "--first", "probit"])
        .args(["--family", "gamma", "--link", "log", "--joint-vce", "--predict-margins", "kids"])
        .args(["--contrast", "kids:pairwise", "--lincom-margins", "kids[1] - kids[0]", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &v["combined"];
    let l = &c["lincom"][0];
    let k = c["contrasts"].as_array().unwrap().iter().find(|x| x["term"] == "C(kids)[1] - C(kids)[0]").unwrap();
    for f in ["estimate", "std_error"] {
        let (a, b) = (l[f].as_f64().unwrap(), k[f].as_f64().unwrap());
        assert!((a / b - 1.0).abs() < 1e-12, "{f}: {a} {b}");
    }
    assert_eq!(l["on"], "margins");
    assert_eq!(v["models"][0]["lincom"][0]["term"], "kids[1] - kids[0]");
}
