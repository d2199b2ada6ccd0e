//! Predictive margins, contrasts and at-grids from the outside (issue 17): bad input is a usage
//! error (exit 2) naming the option and value, with no output file; the JSON has the documented
//! shape; the tables show the blocks.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

fn mroz() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mroz/mroz.csv").display().to_string()
}

const F: &str = "inlf ~ C(kidslt6) + age + I(age^2) + educ + nwifeinc";

/// A failing `fit` on mroz with `-o out.json`: exit code, message, no output file.
fn fails(args: &[&str], code: i32, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let mut cmd = migfit();
    cmd.arg("fit").arg(mroz()).args(["-f", F, "-m", "probit"]).args(args).arg("-o").arg(&out);
    let mut assert = cmd.assert().code(code);
    for n in needles {
        assert = assert.stderr(predicate::str::contains(*n));
    }
    assert!(!out.exists(), "no partial output file");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");
}

#[test]
fn unknown_variables_and_non_factors_are_usage_errors() {
    fails(&["--predict-margins", "kids"], 2, &["predict-margins", "'kids' is not a variable of the model"]);
    fails(&["--predict-margins", "age"], 2, &["'age' is not a factor of the model"]);
    fails(&["--contrast", "educ:pairwise"], 2, &["contrast", "'educ' is not a factor"]);
    fails(&["--contrast", "kidslt6:sideways"], 2, &["unknown kind 'sideways'"]);
    fails(&["--predict-margins", "kidslt6", "--at", "agee=30"], 2, &["'agee' is not a variable of the model"]);
    fails(&["--predict-margins", "kidslt6", "--at", "kidslt6=7"], 2, &["'7' is not a level of C(kidslt6)"]);
    fails(&["--margins", "--at", "educ=12; agee=30"], 2, &["'agee' is not a variable of the model"]);
    fails(&["--mcompare", "holm"], 2, &["--mcompare adjusts contrasts"]);
    fails(&["--predict-margins", "_cons,kidslt6"], 2, &["_cons (the overall predictive margin", "stands alone"]);
    fails(&["--predict-margins", "_cons", "--contrast", "_cons:pairwise"], 2, &["'_cons' is not a variable"]);
}

#[test]
fn malformed_numlists_are_usage_errors() {
    fails(&["--predict-margins", "kidslt6", "--at", "age=20(10"], 2, &["at", "age", "a(step)b"]);
    fails(&["--predict-margins", "kidslt6", "--at", "age=20(0)60"], 2, &["step must be non-zero"]);
    fails(&["--predict-margins", "kidslt6", "--at", "age=60/20"], 2, &["a/b takes integers a <= b"]);
    fails(&["--predict-margins", "kidslt6", "--at", "age"], 2, &["expected 'var=numlist'"]);
    fails(&["--predict-margins", "kidslt6", "--at", "age=x(1)3"], 2, &["'x' is not a number"]);
    fails(&["--predict-margins", "kidslt6", "--at", "age=thirty"], 2, &["'age=thirty': the value must be a number"]);
    fails(&["--predict-margins", "kidslt6", "--at", "means"], 2, &["--at means sets effects at the means"]);
    fails(&["--predict-margins", "kidslt6", "--at", "age=nan"], 2, &["'age=nan': the value must be a number"]);
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = migfit()
        .arg("fit")
        .arg(mroz())
        .args(["-f", F, "-m", "probit", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn predictions_contrasts_and_grid_have_the_documented_shape() {
    let v = json(&["--predict-margins", "kidslt6", "--contrast", "kidslt6:pairwise", "--at", "age=30(10)50"]);
    let m = &v["models"][0];
    let p = m["predictions"].as_array().unwrap();
    // Level 3 predicts failure perfectly: its rows are dropped, so it has no margin.
    assert_eq!(p.len(), 3 * 3);
    assert_eq!(p[0]["term"], "C(kidslt6)[0]");
    assert_eq!(p[0]["at"]["age"].as_f64(), Some(30.0));
    assert_eq!(p[0]["at"].as_object().unwrap().len(), 1);
    for f in ["estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"] {
        assert!(p[0][f].is_f64(), "{f}");
    }
    let c = m["contrasts"].as_array().unwrap();
    assert_eq!(c.len(), 3 * 3);
    assert_eq!(c[0]["term"], "C(kidslt6)[1] - C(kidslt6)[0]");
    // A contrast is the difference of the two predictive margins.
    let d = p[1]["estimate"].as_f64().unwrap() - p[0]["estimate"].as_f64().unwrap();
    assert!((c[0]["estimate"].as_f64().unwrap() - d).abs() < 1e-15);
    // No margins were asked for: none in the output.
    assert!(m.get("margins").is_none());
}

#[test]
fn effects_at_a_grid_are_tagged_and_match_margins_at() {
    let v = json(&["--margins", "--at", "age=30 40"]);
    let ms = v["models"][0]["margins"].as_array().unwrap();
    let at30: Vec<&serde_json::Value> = ms.iter().filter(|m| m["at"]["age"] == 30.0).collect();
    assert!(!at30.is_empty() && ms.len() == 2 * at30.len());
    let one = json(&["--margins-at", "age=30"]);
    let ref30 = one["models"][0]["margins"].as_array().unwrap();
    assert_eq!(ref30.len(), at30.len());
    for (a, b) in at30.iter().zip(ref30) {
        assert_eq!(a["term"], b["term"]);
        assert_eq!(a["estimate"], b["estimate"]);
        assert_eq!(a["std_error"], b["std_error"]);
    }
}

#[test]
fn multiple_comparisons_adjust_p_values() {
    let raw = json(&["--contrast", "kidslt6:pairwise"]);
    let bon = json(&["--contrast", "kidslt6:pairwise", "--mcompare", "bonferroni"]);
    let holm = json(&["--contrast", "kidslt6:pairwise", "--mcompare", "holm"]);
    let p = |v: &serde_json::Value| -> Vec<f64> {
        v["models"][0]["contrasts"].as_array().unwrap().iter().map(|c| c["p_value"].as_f64().unwrap()).collect()
    };
    let (r, b, h) = (p(&raw), p(&bon), p(&holm));
    assert_eq!(r.len(), 3);
    for i in 0..3 {
        assert!((b[i] - (3.0 * r[i]).min(1.0)).abs() < 1e-12);
        assert!(h[i] <= b[i] + 1e-15 && h[i] >= r[i]);
    }
    let notes = bon["models"][0]["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n.as_str().unwrap().contains("Bonferroni")));
}

#[test]
fn tables_show_the_predictive_margins_block() {
    let out = migfit()
        .arg("fit")
        .arg(mroz())
        .args(["-f", F, "-m", "probit", "--predict-margins", "kidslt6", "--contrast", "kidslt6:reference"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Predictive margins"), "{text}");
    assert!(text.contains("Contrasts of predictive margins"), "{text}");
    assert!(text.contains("C(kidslt6)[2] - C(kidslt6)[0]"), "{text}");
}

#[test]
fn twopart_predictions_for_each_part_and_the_combined_mean() {
    let out = migfit()
        .arg("twopart")
        .arg(mroz())
        .args(["-f", "hours ~ C(city) + age + educ", "--predict-margins", "city", "--contrast", "city:pairwise"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for m in v["models"].as_array().unwrap() {
        assert_eq!(m["predictions"].as_array().unwrap().len(), 2);
        assert_eq!(m["contrasts"].as_array().unwrap().len(), 1);
    }
    let c = &v["combined"];
    assert_eq!(c["predictions"].as_array().unwrap().len(), 2);
    // E[y] at a level is positive and below the sample's largest hours.
    let e = c["predictions"][0]["estimate"].as_f64().unwrap();
    assert!(e > 0.0 && e < 5000.0, "{e}");
}

#[test]
fn over_groups_average_back_to_the_sample_effect() {
    let all = json(&["--margins"]);
    let by = json(&["--over", "city"]);
    let ms = by["models"][0]["margins"].as_array().unwrap();
    let n1 = std::fs::read_to_string(mroz())
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| {
            // The estimation rows (kidslt6 = 3 predicts failure perfectly: dropped) in city 1.
            let f: Vec<&str> = l.split(',').collect();
            f[17] == "1" && f[2] != "3"
        })
        .count() as f64;
    let n = all["models"][0]["n_obs"].as_f64().unwrap();
    for m in all["models"][0]["margins"].as_array().unwrap() {
        let g = |c: f64| {
            ms.iter()
                .find(|x| x["term"] == m["term"] && x["over"]["city"].as_f64() == Some(c))
                .map(|x| x["estimate"].as_f64().unwrap())
                .unwrap_or_else(|| panic!("{} over city={c}", m["term"]))
        };
        let avg = (g(0.0) * (n - n1) + g(1.0) * n1) / n;
        assert!((avg - m["estimate"].as_f64().unwrap()).abs() < 1e-12, "{}", m["term"]);
    }
    fails(&["--over", "nosuch"], 2, &["nosuch"]);
}

#[test]
fn dydx_keeps_the_named_variables() {
    let all = json(&["--margins"]);
    let some = json(&["--dydx", "educ, kidslt6"]);
    let terms = |v: &serde_json::Value| -> Vec<String> {
        v["models"][0]["margins"].as_array().unwrap().iter().map(|m| m["term"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(terms(&some), vec!["educ", "C(kidslt6)[1]", "C(kidslt6)[2]"]);
    assert!(terms(&all).len() > terms(&some).len());
    fails(&["--dydx", "educ, agee"], 2, &["dydx: 'agee' is not a variable of the model"]);
}
