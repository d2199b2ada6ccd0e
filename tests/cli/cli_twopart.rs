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
        predicate::str::contains("the second part's response 'log(y - 3)' is undefined at line 3")
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

/// A deterministic two-part sample: `y` is zero or a positive amount, `x` and `z` continuous,
/// `a` an indicator with `y = 0` wherever it is 1 (so it predicts failure perfectly).
fn mapping_data(rows: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut u = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut text = String::from("y,x,z,a\n");
    for i in 0..rows {
        let (x, z) = (u() * 2.0 - 1.0, u() * 2.0 - 1.0);
        let a = u8::from(i % 10 == 0);
        let positive = a == 0 && u() < 0.55 + 0.2 * x - 0.1 * z;
        let y = if positive { (1.0 + 0.5 * x + 0.3 * z).exp() * (0.2 + 2.0 * u()) } else { 0.0 };
        text.push_str(&format!("{y:.6},{x:.6},{z:.6},{a}\n"));
    }
    text
}

fn twopart_json(data: &str, formula: &str, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.csv");
    std::fs::write(&p, data).unwrap();
    let out = Command::cargo_bin("migfit")
        .unwrap()
        .arg("twopart")
        .arg(&p)
        .args(["-f", formula, "--margins", "--format", "json"])
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn margins_of(part: &serde_json::Value) -> Vec<(String, f64, f64)> {
    part["margins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (m["term"].as_str().unwrap().to_string(), m["estimate"].as_f64().unwrap(), m["std_error"].as_f64().unwrap())
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

/// When the first part drops rows (an indicator predicting y = 0 perfectly) and the second
/// part drops that indicator (constant among the positives), the combined effects are those of
/// the model without the indicator on the rows it did not predict: the rows of the two parts
/// are matched through the dataset, not by position.
#[test]
fn first_part_dropping_rows_keeps_the_parts_rows_matched() {
    let data = mapping_data(600);
    let full = twopart_json(&data, "y ~ x + z + a", &[]);
    let notes = full["models"][0]["notes"].to_string();
    assert!(notes.contains("a != 0 predicts failure perfectly; a dropped and 60 obs not used"), "{notes}");
    let kept: String = data.lines().filter(|l| !l.ends_with(",1")).map(|l| format!("{l}\n")).collect();
    let reduced = twopart_json(&kept, "y ~ x + z", &[]);
    for part in ["combined"]
        .iter()
        .map(|p| (&full[p], &reduced[p]))
        .chain([(&full["models"][0], &reduced["models"][0]), (&full["models"][1], &reduced["models"][1])])
    {
        let (a, b) = (margins_of(part.0), margins_of(part.1));
        assert_eq!(a.len(), b.len(), "{a:?} {b:?}");
        for ((ta, ea, sa), (tb, eb, sb)) in a.iter().zip(&b) {
            assert_eq!(ta, tb);
            assert!(close(*ea, *eb) && close(*sa, *sb), "{ta}: {ea} ({sa}) against {eb} ({sb})");
        }
    }
}

/// A first-part indicator that predicts a positive outcome perfectly drops rows the second part
/// models: the combined prediction is not defined there, and the command says so.
#[test]
fn first_part_dropping_positive_rows_is_an_estimation_error() {
    let data: String =
        mapping_data(300)
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i > 0 && l.ends_with(",1") {
                    format!("5.0{}\n", &l[l.find(',').unwrap()..])
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.csv");
    std::fs::write(&p, &data).unwrap();
    Command::cargo_bin("migfit")
        .unwrap()
        .arg("twopart")
        .arg(&p)
        .args(["-f", "y ~ x + z + a", "--margins"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("rows of the second part were dropped from the first part"));
}

/// `--formula2`: the second part has its own regressors; its coefficients are those of the GLM
/// on the positive rows, and the combined average effect of a first-part-only variable is
/// mean(phi(x1'b1) b1_z exp(x2'b2)) over all rows (computed here from the printed estimates).
#[test]
fn formula2_gives_the_second_part_its_own_regressors() {
    let data = mapping_data(500);
    let tp = twopart_json(&data, "y ~ x + z", &["--formula2", "~ x"]);
    let coef = |m: usize, t: &str| -> f64 {
        tp["models"][m]["coefficients"].as_array().unwrap().iter().find(|c| c["term"] == t).unwrap()["estimate"]
            .as_f64()
            .unwrap()
    };
    let terms: Vec<&str> =
        tp["models"][1]["coefficients"].as_array().unwrap().iter().map(|c| c["term"].as_str().unwrap()).collect();
    assert_eq!(terms, ["(Intercept)", "x"]);
    // The second part alone: a gamma-log GLM on the positive rows.
    let positives: String = data.lines().filter(|l| !l.starts_with("0.000000,")).map(|l| format!("{l}\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pos.csv");
    std::fs::write(&p, &positives).unwrap();
    let out = Command::cargo_bin("migfit")
        .unwrap()
        .arg("fit")
        .arg(&p)
        .args(["-f", "y ~ x", "--model", "glm", "--family", "gamma", "--link", "log", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let glm: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for (c, t) in glm["models"][0]["coefficients"].as_array().unwrap().iter().zip(["(Intercept)", "x"]) {
        assert!(close(c["estimate"].as_f64().unwrap(), coef(1, t)), "{t}");
    }
    let (b0, bx, bz) = (coef(0, "(Intercept)"), coef(0, "x"), coef(0, "z"));
    let (c0, cx) = (coef(1, "(Intercept)"), coef(1, "x"));
    let mut sum = 0.0;
    let mut n = 0.0;
    for l in data.lines().skip(1) {
        let v: Vec<f64> = l.split(',').map(|s| s.parse().unwrap()).collect();
        let eta1 = b0 + bx * v[1] + bz * v[2];
        let phi = (-0.5 * eta1 * eta1).exp() / (2.0 * std::f64::consts::PI).sqrt();
        sum += phi * bz * (c0 + cx * v[1]).exp();
        n += 1.0;
    }
    let z = margins_of(&tp["combined"]).into_iter().find(|m| m.0 == "z").unwrap();
    assert!((z.1 - sum / n).abs() <= 1e-9 * z.1.abs(), "{} against {}", z.1, sum / n);
}
