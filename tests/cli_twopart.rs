//! `migfit twopart` with bad input: one clear message, the right exit code, no panic.

use assert_cmd::Command;
use predicates::prelude::*;

fn run_on(data: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.csv");
    std::fs::write(&p, data).unwrap();
    let mut cmd = Command::cargo_bin("migfit").unwrap();
    cmd.arg("twopart").arg(&p).args(["-f", "y ~ x"]).args(extra);
    let a = cmd.assert();
    drop(dir);
    a
}

#[test]
fn no_zeros_in_y() {
    run_on("y,x\n1,1\n2,2\n3,1\n4,5\n", &["--margins"]).code(3).stderr(predicate::str::contains("no zeros"));
}

#[test]
fn no_positives() {
    run_on("y,x\n0,1\n0,2\n0,1\n0,5\n", &[]).code(3).stderr(predicate::str::contains("no positive values"));
}

#[test]
fn negative_y_with_gamma() {
    run_on("y,x\n0,1\n2,2\n-3,1\n4,5\n0,3\n", &["--family", "gamma"]).code(3).stderr(
        predicate::str::contains("negative")
            .and(predicate::str::contains("line 4"))
            .and(predicate::str::contains("gamma")),
    );
}

#[test]
fn undefined_response2_names_its_line_and_value() {
    // The first positive row is line 3 (y = 2); log(y - 3) is undefined there. The value shown
    // is that row's y (it used to be read from the row with the same index among all rows).
    run_on("y,x\n0,1\n2,2\n0,1\n4,5\n0,3\n5,2\n", &["--response2", "log(y - 3)"]).code(3).stderr(
        predicate::str::contains("--response2 'log(y - 3)' is undefined at line 3")
            .and(predicate::str::contains("value of 'y' there: 2)")),
    );
}

#[test]
fn unknown_first() {
    run_on("y,x\n0,1\n2,2\n", &["--first", "tobit"])
        .code(2)
        .stderr(predicate::str::contains("unknown --first 'tobit'"));
}

#[test]
fn json_has_both_parts_and_combined() {
    let out = Command::cargo_bin("migfit")
        .unwrap()
        .args([
            "twopart",
            "examples/mroz/mroz.csv",
            "-f",
            "hours ~ age + educ + kidslt6 + C(city)",
            "--margins",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["models"][0]["name"], "first");
    assert_eq!(v["models"][1]["name"], "second");
    assert_eq!(v["models"][0]["n_obs"], 753);
    assert_eq!(v["models"][1]["n_obs"], 428);
    let terms: Vec<&str> =
        v["combined"]["margins"].as_array().unwrap().iter().map(|m| m["term"].as_str().unwrap()).collect();
    assert_eq!(terms, vec!["age", "educ", "kidslt6", "C(city)[1]"]);
    assert_eq!(v["combined"]["margins"][3]["contrast"], "1 vs 0");
}
