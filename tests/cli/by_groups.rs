//! `fit --by VAR --test-equal` from the outside (issue #17, item 5): one column per group,
//! the tests across groups in JSON and in the table notes; bad requests get one clear
//! message, exit 2 (usage) or 3 (estimation) and no output file. The numbers are checked by
//! the golden cases `tests/golden/by_*` (hand-coded numpy stacked sandwich).

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn mroz() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/by_logit_mroz_robust/data.csv")
}

const LOGIT: [&str; 4] = ["-f", "inlf ~ C(kids) + age + educ", "-m", "logit"];

fn fails_on(data: &Path, command: &str, args: &[&str], code: i32, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let mut a = migfit().arg(command).arg(data).args(args).arg("-o").arg(&out).assert().code(code);
    for n in needles {
        a = a.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file");
}

/// 30 rows in group "a" and `small` rows in group "b" of `g`, with a binary y and a regressor x.
fn two_groups(dir: &Path, small: usize, constant_b: bool) -> PathBuf {
    let mut s = String::from("y,x,z,g\n");
    for i in 0..30 {
        let x = (i as f64 * 0.37).sin() * 2.0;
        let y = u8::from((i * 7 + 3) % 5 < 2 + usize::from(x > 0.0));
        s.push_str(&format!("{y},{x:.4},{},a\n", i % 3));
    }
    for i in 0..small {
        let y = if constant_b { 1 } else { i % 2 };
        s.push_str(&format!("{y},{:.4},{},b\n", i as f64 * 0.5 - 1.0, i % 3));
    }
    let p = dir.join("groups.csv");
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn each_group_is_a_column_and_the_tests_are_reported() {
    let out = migfit()
        .arg("fit")
        .arg(mroz())
        .args(LOGIT)
        .args(["--by", "city", "--test-equal", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let names: Vec<&str> = v["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["city=0", "city=1"]);
    let n: Vec<u64> = v["models"].as_array().unwrap().iter().map(|m| m["n_obs"].as_u64().unwrap()).collect();
    assert_eq!(n.iter().sum::<u64>(), 753);
    let tests: Vec<&str> = v["tests"].as_array().unwrap().iter().map(|t| t["test"].as_str().unwrap()).collect();
    assert_eq!(
        tests,
        [
            "age equal across city",
            "educ equal across city",
            "C(kids)[1] equal across city",
            "C(kids)[2] equal across city",
            "all effects equal across city"
        ]
    );
    assert_eq!(v["tests"][4]["df"].as_f64(), Some(4.0));
    assert!(v["models"][0]["vce"].as_str().unwrap().contains("suest"));

    let md = migfit()
        .arg("fit")
        .arg(mroz())
        .args(LOGIT)
        .args(["--by", "city", "--test-equal", "--format", "md"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let md = String::from_utf8(md).unwrap();
    assert!(md.contains("city=0") && md.contains("city=1"), "{md}");
    assert!(md.contains("Wald test of all effects equal across city: chi2(4) = "), "{md}");
}

#[test]
fn dydx_limits_the_effects_tested() {
    let out = migfit()
        .arg("fit")
        .arg(mroz())
        .args(LOGIT)
        .args(["--by", "city", "--test-equal", "--dydx", "educ", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let tests: Vec<&str> = v["tests"].as_array().unwrap().iter().map(|t| t["test"].as_str().unwrap()).collect();
    assert_eq!(tests, ["educ equal across city"]);
}

#[test]
fn a_group_too_small_to_fit_is_an_estimation_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = two_groups(dir.path(), 2, false);
    fails_on(
        &data,
        "fit",
        &["-f", "y ~ x + C(z)", "-m", "probit", "--by", "g", "--test-equal"],
        3,
        &["group g=b has 2 estimation rows, too few to fit the model's 4 coefficients"],
    );
    // A group whose response does not vary: the fit's own error, naming the group.
    let data = two_groups(dir.path(), 12, true);
    fails_on(&data, "fit", &["-f", "y ~ x", "-m", "logit", "--by", "g"], 3, &["by: group g=b:"]);
}

#[test]
fn bad_by_requests_are_usage_errors() {
    let m = mroz();
    fails_on(
        &m,
        "fit",
        &[LOGIT[0], LOGIT[1], LOGIT[2], LOGIT[3], "--test-equal"],
        2,
        &["--test-equal compares groups"],
    );
    fails_on(&m, "fit", &[LOGIT[0], LOGIT[1], LOGIT[2], LOGIT[3], "--by", "nosuch"], 2, &["by: 'nosuch'"]);
    fails_on(&m, "fit", &[LOGIT[0], LOGIT[1], LOGIT[2], LOGIT[3], "--by", "city", "--vce", "hc2"], 2, &["suest"]);
    fails_on(
        &m,
        "fit",
        &[LOGIT[0], LOGIT[1], LOGIT[2], LOGIT[3], "-f", "inlf ~ age", "--by", "city"],
        2,
        &["--by fits one model in each group"],
    );
    fails_on(&m, "twopart", &["-f", "hours ~ age + educ", "--by", "city"], 2, &["--by fits a single-equation model"]);
}
