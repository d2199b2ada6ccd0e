//! `migfit mediate` against independent reference numbers: tests/golden/mediation/cases.json,
//! written by tests/golden/scripts/mediation.py (numpy/statsmodels KHB with the mediators'
//! joint covariance; closed-form and quadrature causal mediation checked against simulation)
//! on mroz. Estimates to 1e-6, standard errors to 1e-5 (relative).

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn compare(ours: &Value, theirs: &Value, path: &str, tol: (f64, f64), out: &mut Vec<String>) {
    match theirs {
        Value::Object(m) => {
            for (k, v) in m {
                compare(&ours[k.as_str()], v, &format!("{path}.{k}"), tol, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                compare(&ours[i], v, &format!("{path}[{i}]"), tol, out);
            }
        }
        Value::String(s) => {
            if ours.as_str() != Some(s) {
                out.push(format!("{path}: ours {ours}, theirs {s}"));
            }
        }
        Value::Number(n) => {
            let t = n.as_f64().unwrap();
            let tol = if path.ends_with("std_error") { tol.1 } else { tol.0 };
            match ours.as_f64() {
                Some(o) if (o - t).abs() <= tol * t.abs().max(1e-300) => {}
                _ => out.push(format!("{path}: ours {ours}, theirs {t}")),
            }
        }
        _ => {}
    }
}

#[test]
fn mediate_matches_independent_reference_numbers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/mediation");
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(root.join("cases.json")).unwrap()).unwrap();
    let data = root.join(meta["data"].as_str().unwrap());
    let tol = (meta["tolerance"]["estimate"].as_f64().unwrap(), meta["tolerance"]["std_error"].as_f64().unwrap());
    let cases = meta["cases"].as_object().unwrap();
    assert!(cases.len() >= 7, "{} cases", cases.len());
    let (mut khb, mut causal) = (0, 0);
    let mut problems = Vec::new();
    for (name, case) in cases {
        let args: Vec<&str> = case["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let o = Command::cargo_bin("migfit")
            .unwrap()
            .arg("mediate")
            .arg(&data)
            .args(&args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut out = Vec::new();
        compare(&v["mediation"], &case["expected"], name, tol, &mut out);
        problems.extend(out);
        match case["kind"].as_str().unwrap() {
            "khb" => khb += 1,
            _ => causal += 1,
        }
    }
    assert!(khb >= 3 && causal >= 4);
    assert!(problems.is_empty(), "{} mismatches:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_comparison_can_fail() {
    let mut out = Vec::new();
    let ours: Value = serde_json::json!({"a": {"estimate": 1.0, "std_error": 2.0}});
    let theirs: Value = serde_json::json!({"a": {"estimate": 1.000002, "std_error": 2.0}});
    compare(&ours, &theirs, "x", (1e-6, 1e-5), &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
}
